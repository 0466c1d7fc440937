"""Command line: ``python -m skvae demo`` (also installed as the ``skvae`` command)."""

import argparse
import sys

from ._demo import MODELS, run_demo


def _versions():
    """``skvae X (torch Y, skorch Z, scikit-learn W)``: what a bug report needs."""
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    def installed(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    libraries = ", ".join(f"{name} {installed(name)}" for name in ("torch", "skorch", "scikit-learn"))
    return f"skvae {__version__} ({libraries}; Python {sys.version.split()[0]})"


class _PrintVersions(argparse.Action):
    """``--version``, looked up only when asked for and printed whole.

    argparse's own version action needs the text when the parser is built (a
    metadata scan on every command) and wraps it at the terminal's width.
    """

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(_versions())
        parser.exit()


def _positive_int(text):
    """argparse type: an integer of at least 1 (``--epochs 0`` would otherwise mean the default)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(prog="skvae", description="skvae: autoencoders for scikit-learn.")
    parser.add_argument("--version", action=_PrintVersions,
                        help="print the versions of skvae and of the libraries it runs on, and exit")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="train a model, print test metrics and write figures",
        description="Train a model on images, print its test score (the ELBO, or for the ae and "
        "vq-vae models the reconstruction log-likelihood), reconstruction error and the "
        "adjusted Rand index of KMeans on the codes, and write the figures of skvae.plotting "
        "as PNG files.",
    )
    demo.add_argument("--model", choices=sorted(MODELS), default="vae", help="which estimator (default: vae)")
    demo.add_argument(
        "--data",
        default="digits",
        help="'digits' (embedded, the default), 'fashion-mnist' (needs its files, see "
        "skvae.datasets.load_mnist_like) or a folder of images (resized to 64x64 RGB)",
    )
    demo.add_argument("--epochs", type=_positive_int, default=None,
                      help="training epochs (default: 100 for digits, 10 for fashion-mnist, 50 for a folder)")
    demo.add_argument("--n-components", type=_positive_int, default=2,
                      help="latent dimensions (default: 2, which also draws the latent manifold)")
    demo.add_argument("--architecture", choices=["mlp", "conv"], default=None,
                      help="network (default: mlp, or conv for a folder of images)")
    demo.add_argument("--out", default="skvae-demo", help="folder for the figures (default: ./skvae-demo)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")  # files only; no display needed
    try:
        run_demo(
            model=args.model,
            data=args.data,
            epochs=args.epochs,
            n_components=args.n_components,
            architecture=args.architecture,
            out=args.out,
            random_state=args.seed,
            verbose=0 if args.quiet else 1,
        )
    except FileNotFoundError as error:  # e.g. Fashion-MNIST is not installed
        parser.exit(2, f"skvae demo: {error}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
