"""Command line: ``python -m skvae demo`` (also installed as the ``skvae`` command)."""

import argparse
import sys

from ._demo import MODELS, run_demo


def main(argv=None):
    parser = argparse.ArgumentParser(prog="skvae", description="skvae: autoencoders for scikit-learn.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train a model on the digits and print test metrics")
    demo.add_argument("--model", choices=sorted(MODELS), default="vae", help="which estimator (default: vae)")
    demo.add_argument("--epochs", type=int, default=100, help="training epochs (default: 100)")
    demo.add_argument("--n-components", type=int, default=2, help="latent dimensions (default: 2)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    run_demo(
        model=args.model,
        epochs=args.epochs,
        n_components=args.n_components,
        random_state=args.seed,
        verbose=0 if args.quiet else 1,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
