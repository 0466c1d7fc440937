"""What a checkpoint every epoch costs, against the epoch it follows.

    python benchmarks/bench_checkpoint.py [--rows 20000] [--epochs 3]

Fits each model with its defaults on ``--rows`` Fashion-MNIST images (flattened
to 784 values in [0, 1]; uniform noise of that shape if the files are not
installed) with ``checkpoint_path`` set and ``checkpoint_every=1``. Each
checkpoint write inside ``fit`` is timed on its own and set against the
epoch's duration from ``history_`` (skorch's ``dur``, which ends before the
checkpoint starts). GaussianMixtureVAE pretrains for one epoch only, to keep
the run short: its pretraining is not what is measured.
"""

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from skvae import AutoencoderTransformer, GaussianMixtureVAE, VAETransformer, VQVAETransformer
from skvae._base import _BaseAutoencoder


def rows(n):
    try:
        from skvae.datasets import load_mnist_like

        X, _, _, _ = load_mnist_like("fashion-mnist")
        return X[:n].reshape(n, -1).astype(np.float32) / 255, "Fashion-MNIST"
    except (FileNotFoundError, OSError):
        return np.random.RandomState(0).uniform(size=(n, 784)).astype(np.float32), "uniform noise"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    X, source = rows(args.rows)
    print(f"{args.rows} rows of {source}, {args.epochs} epochs, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")

    spent = []
    write = _BaseAutoencoder._write_checkpoint

    def timed(self, *a, **k):
        start = time.perf_counter()
        write(self, *a, **k)
        spent.append(time.perf_counter() - start)

    _BaseAutoencoder._write_checkpoint = timed
    models = {
        "AutoencoderTransformer": lambda: AutoencoderTransformer(),
        "VAETransformer": lambda: VAETransformer(),
        "VQVAETransformer": lambda: VQVAETransformer(),
        "GaussianMixtureVAE": lambda: GaussianMixtureVAE(pretrain_epochs=1),
    }
    print("| model | epoch (s) | checkpoint (s) | checkpoint / epoch |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name, make in models.items():
            spent.clear()
            model = make().set_params(max_epochs=args.epochs, random_state=0, checkpoint_every=1,
                                      checkpoint_path=Path(folder) / "run.skvae")
            model.fit(X)
            epoch = float(np.mean(model.history_[:, "dur"]))
            checkpoint = float(np.mean(spent))
            print(f"| {name} | {epoch:.2f} | {checkpoint:.3f} | {100 * checkpoint / epoch:.1f}% |")


if __name__ == "__main__":
    main()
