"""Convolutional against fully connected VAE on Fashion-MNIST, at equal epochs.

Both are ``VAETransformer`` with default settings apart from ``architecture``
(and ``n_components`` where given). For each listed number of epochs a model
is fitted with ``max_epochs`` set to it, and its test ELBO (``score`` on the
10,000 test images, nats per image, higher is better) is reported with the
training time.

    python benchmarks/bench_images.py                        # defaults: n_components=2
    python benchmarks/bench_images.py --n-components 2 16 --epochs 1 3 10

Needs the Fashion-MNIST files (``apt-get install dataset-fashion-mnist`` on
Debian, or see skvae.datasets.load_mnist_like).
"""

import argparse
import os
import platform
import time

import torch

from skvae import VAETransformer
from skvae.datasets import load_mnist_like


def run(architecture, n_components, epochs, X_train, X_test):
    results = []
    for n_epochs in epochs:
        model = VAETransformer(n_components=n_components, architecture=architecture, max_epochs=n_epochs,
                               random_state=0)
        model.fit(X_train)
        results.append((sum(model.history_[:, "dur"]), model.score(X_test)))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-components", type=int, nargs="+", default=[2])
    parser.add_argument("--epochs", type=int, nargs="+", default=[1, 3, 10])
    args = parser.parse_args(argv)
    X_train, X_test, _, _ = load_mnist_like("fashion-mnist")
    epochs = sorted(args.epochs)
    print(f"# Conv vs MLP VAE on Fashion-MNIST, {time.strftime('%Y-%m-%d')}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}; "
          f"60,000 training and 10,000 test images (uint8, scaled by skvae); random_state=0\n")
    header = " | ".join(f"epoch {e}: test ELBO (train s)" for e in epochs)
    print(f"| n_components | architecture | {header} |")
    print("|---|---|" + "---|" * len(epochs))
    for k in args.n_components:
        for architecture in ("mlp", "conv"):
            results = run(architecture, k, epochs, X_train, X_test)
            cells = " | ".join(f"{elbo:.2f} ({seconds:.0f} s)" for seconds, elbo in results)
            print(f"| {k} | {architecture} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
