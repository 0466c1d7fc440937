"""The models beyond the three, on Fashion-MNIST: likelihoods, class control, discrete codes.

  likelihood  test ELBO and the IWAE bound (k=--k, default 100) of
              VAETransformer as MLP and as conv net, trained on the 60,000
              training images with defaults apart from n_components and
              max_epochs; nats per image, higher is better.
  cvae        ConditionalVAETransformer: for every class, --n-per-class
              images generated for it and classified by a LogisticRegression
              trained on the real training images; the fraction assigned to
              the class asked for (chance 0.1), with that classifier's own
              accuracy on the real test images as the ceiling.
  vqvae       VQVAETransformer: test reconstruction MSE (intensities in
              [0, 1]) and the codebook's perplexity and codes in use in the
              last epoch, next to an AutoencoderTransformer with the same code
              width.

    python benchmarks/bench_models.py likelihood cvae vqvae --epochs 10

Needs the Fashion-MNIST files (``apt-get install dataset-fashion-mnist`` on
Debian, or see skvae.datasets.load_mnist_like).
"""

import argparse
import platform
import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from skvae import AutoencoderTransformer, ConditionalVAETransformer, VAETransformer, VQVAETransformer
from skvae.datasets import load_mnist_like


def likelihood(data, args):
    X_train, X_test, _, _ = data
    for architecture in ("mlp", "conv"):
        start = time.perf_counter()
        model = VAETransformer(n_components=args.n_components, architecture=architecture, max_epochs=args.epochs,
                               random_state=0).fit(X_train)
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        iwae = model.score(X_test, n_importance=args.k)
        print(f"VAE {architecture:4s}  test ELBO {model.score(X_test):8.2f}  IWAE k={args.k} {iwae:8.2f}  "
              f"(fit {fit_seconds:.0f} s, IWAE {time.perf_counter() - start:.0f} s)", flush=True)


def cvae(data, args):
    X_train, X_test, y_train, y_test = data
    rows = lambda X: X.reshape(len(X), -1) / 255  # noqa: E731
    classifier = LogisticRegression(max_iter=300).fit(rows(X_train), y_train)
    print(f"classifier on real test images: accuracy {classifier.score(rows(X_test), y_test):.3f}", flush=True)
    start = time.perf_counter()
    model = ConditionalVAETransformer(n_components=args.n_components, max_epochs=args.epochs, random_state=0)
    model.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    per_class = []
    for label in model.classes_:
        samples = model.sample(args.n_per_class, y=label, random_state=int(label))
        per_class.append(np.mean(classifier.predict(samples / 255) == label))
    print(f"CVAE  per-class generation accuracy {np.mean(per_class):.3f} (min {min(per_class):.3f}, by class "
          f"{' '.join(f'{a:.2f}' for a in per_class)}); test ELBO given y {model.score(X_test, y_test):.2f}, "
          f"marginal {model.score(X_test):.2f} (fit {fit_seconds:.0f} s)", flush=True)


def vqvae(data, args):
    X_train, X_test, _, _ = data
    truth = X_test.reshape(len(X_test), -1) / 255
    for name, model in [
        ("VQ-VAE", VQVAETransformer(n_components=args.n_components, max_epochs=args.epochs, random_state=0)),
        ("AE", AutoencoderTransformer(n_components=args.n_components, max_epochs=args.epochs, random_state=0)),
    ]:
        start = time.perf_counter()
        model.fit(X_train)
        seconds = time.perf_counter() - start
        mse = np.mean((model.inverse_transform(model.transform(X_test)) / 255 - truth) ** 2)
        line = f"{name:6s} test MSE {mse:.4f} (fit {seconds:.0f} s)"
        if name == "VQ-VAE":
            line += (f"  perplexity {model.history_[-1, 'perplexity']:.1f} of {model.n_embeddings}, "
                     f"{model.history_[-1, 'codes_used']} codes used, "
                     f"{model.n_components // model.codebook_.shape[1]} tokens per image")
        print(line, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="+", choices=["likelihood", "cvae", "vqvae"])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--n-components", type=int, default=16)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--n-per-class", type=int, default=500)
    args = parser.parse_args(argv)
    print(f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}; Fashion-MNIST, {args.epochs} epochs, n_components={args.n_components}")
    data = load_mnist_like("fashion-mnist")
    for part in args.parts:
        globals()[part](data, args)


if __name__ == "__main__":
    main()
