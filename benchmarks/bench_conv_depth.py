"""Conv VAEs whose depth follows the image (conv_channels="auto") against the old fixed (32, 64).

For 8x8 digits, 28x28 Fashion-MNIST and 64x64 colour images, prints the
parameter count, the seconds per training epoch (the two settings interleaved
in one process, one epoch each in turn), and, with ``--quality``, the test
ELBO after ``--epochs`` epochs; it writes reconstructions and samples of the
64x64 models to ``--out``.

The 64x64 colour images are built from Fashion-MNIST, since no colour data set
ships here: each test image is resized to 64x64 with Pillow and painted in two
random colours (garment and background), then written as PNG files to a
folder and read back with ``skvae.datasets.load_image_folder``, as a user's
own folder would be.

    python benchmarks/bench_conv_depth.py                       # sizes and epoch times
    python benchmarks/bench_conv_depth.py --quality --epochs 20 --out conv-depth
"""

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from skvae import VAETransformer
from skvae.datasets import load_digits_images, load_image_folder, load_mnist_like

SETTINGS = {"fixed (32, 64)": (32, 64), "auto": "auto"}


def colour_folder(folder, n_images=2000, seed=0):
    """Write ``n_images`` 64x64 colour PNGs made from Fashion-MNIST test images to ``folder``."""
    from PIL import Image

    folder = Path(folder)
    if len(list(folder.glob("*.png"))) >= n_images:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    _, X_test, _, _ = load_mnist_like("fashion-mnist")
    rng = np.random.RandomState(seed)
    for i in range(n_images):
        garment_shape = Image.fromarray(X_test[i]).resize((64, 64), Image.BICUBIC)
        shape = np.asarray(garment_shape, dtype=np.float32)[..., None] / 255
        garment, background = rng.randint(0, 256, 3), rng.randint(0, 256, 3)
        pixels = shape * garment + (1 - shape) * background
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(folder / f"{i:05d}.png")
    return folder


def data_sets(folder):
    digits, _ = load_digits_images()
    _, fashion, _, _ = load_mnist_like("fashion-mnist")
    colour, _ = load_image_folder(colour_folder(folder), image_size=(64, 64), verbose=False)
    return {
        "8x8 digits": (digits[:1500], digits[1500:]),
        "28x28 Fashion-MNIST": (fashion[:2000], fashion[8000:]),
        "64x64 colour": (colour[:1600], colour[1600:]),
    }


def model(channels, epochs):
    return VAETransformer(n_components=16, architecture="conv", conv_channels=channels, max_epochs=epochs,
                          validation_fraction=0, random_state=0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timing-epochs", type=int, default=3, help="epochs timed per setting (interleaved)")
    parser.add_argument("--quality", action="store_true", help="also train --epochs epochs and report test ELBO")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--folder", default=os.path.expanduser("~/.cache/skvae/colour-fashion-64"))
    parser.add_argument("--out", default="conv-depth")
    args = parser.parse_args(argv)
    print(f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}")
    for name, (train, test) in data_sets(args.folder).items():
        nets = {label: model(channels, 1).fit(train[:64]) for label, channels in SETTINGS.items()}
        times = {label: [] for label in SETTINGS}
        for _ in range(args.timing_epochs):
            for label, net in nets.items():  # interleaved: both see the same machine load
                net.set_params(warm_start=True, max_epochs=1)
                start = time.perf_counter()
                net.fit(train)
                times[label].append(time.perf_counter() - start)
        for label, net in nets.items():
            n_params = sum(p.numel() for p in net.net_.module_.parameters())
            channels = [m for m in net.net_.module_.encoder.conv if isinstance(m, torch.nn.Conv2d)][-1].out_channels
            line = (f"{name:22s} {label:15s} params {n_params / 1e6:6.2f} M  last map {channels} channels  "
                    f"epoch {np.median(times[label]):6.2f} s on {len(train)} images")
            if args.quality:
                trained = model(SETTINGS[label], args.epochs).fit(train)
                line += f"  test ELBO after {args.epochs} epochs {trained.score(test):9.1f}"
                if name.startswith("64"):
                    from skvae.plotting import plot_reconstructions, plot_samples

                    out = Path(args.out)
                    out.mkdir(exist_ok=True)
                    tag = "auto" if label == "auto" else "fixed"
                    plot_reconstructions(trained, test).savefig(out / f"reconstructions_{tag}.png", dpi=100)
                    plot_samples(trained, random_state=0).savefig(out / f"samples_{tag}.png", dpi=100)
            print(line, flush=True)


if __name__ == "__main__":
    main()
