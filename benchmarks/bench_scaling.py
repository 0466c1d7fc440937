"""Training on a memory-mapped image set larger than the model needs in memory (issue 13).

    python benchmarks/bench_scaling.py [--gigabytes 2] [--rounds 2] [--file PATH]

Builds (once) a uint8 ``np.memmap`` of at least ``--gigabytes`` GB of 28x28
images by repeating Fashion-MNIST's 70,000 (random images without it), opens
it read-only, and trains the default ``VAETransformer`` (MLP, n_components=16)
for one epoch in three ways, interleaved in one process over ``--rounds``
rounds (the order reversed every other round):

- ``fit(memmap)``: batches are gathered from the file as training draws them;
- ``partial_fit`` over chunks of 100,000 rows (slices of the memmap), one call each;
- ``fit(array)`` on the same images read into memory first (the in-memory baseline).

For each it prints the epoch's seconds and the peak rise of the process's
anonymous memory (``RssAnon`` from /proc, sampled every 10 ms) over its value
before the run: memory the process itself allocated. Pages of the file that
the kernel caches are not in it: they are shared and dropped under pressure.
"""

import argparse
import gc
import os
import platform
import threading
import time
from pathlib import Path

import numpy as np
import torch

from skvae import VAETransformer
from skvae.datasets import load_mnist_like

CHUNK = 100_000


def anon_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no RssAnon in /proc/self/status (Linux only)")


class PeakMemory:
    """Peak rise of RssAnon over its value on entry, sampled in a thread."""

    def __enter__(self):
        gc.collect()
        self.start = self.peak = anon_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, anon_mb())
            time.sleep(0.01)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, anon_mb())
        self.rise = self.peak - self.start


def build(path, gigabytes):
    try:
        X_train, X_test, _, _ = load_mnist_like("fashion-mnist")
        images, source = np.concatenate([X_train, X_test]), "Fashion-MNIST (70,000 images) repeated"
    except FileNotFoundError:
        images = np.random.RandomState(0).randint(0, 256, (70000, 28, 28), dtype=np.uint8)
        source = "random 28x28 images"
    repeats = int(np.ceil(gigabytes * 1e9 / images.nbytes))
    shape = (repeats * len(images), 28, 28)
    if not (path.exists() and path.stat().st_size == np.prod(shape)):
        stored = np.memmap(path, np.uint8, "w+", shape=shape)
        for i in range(repeats):
            stored[i * len(images) : (i + 1) * len(images)] = images
        stored.flush()
        del stored
    return np.memmap(path, np.uint8, "r", shape=shape), f"{source} {repeats} times"


def model():
    return VAETransformer(n_components=16, max_epochs=1, random_state=0)


def run_fit(X):
    vae = model().fit(X)
    return vae.history_[-1, "train_loss"]


def run_partial_fit(X):
    vae = model()
    for start in range(0, len(X), CHUNK):
        vae.partial_fit(X[start : start + CHUNK])
    return float(np.mean(vae.history_[:, "train_loss"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gigabytes", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--file", type=Path, default=Path.home() / ".cache" / "skvae" / "fashion-repeated.u8")
    args = parser.parse_args()
    args.file.parent.mkdir(parents=True, exist_ok=True)

    on_disk, source = build(args.file, args.gigabytes)
    threads = torch.get_num_threads()
    print(f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} ({threads} threads)")
    print(f"memmap: {on_disk.shape[0]:,} images ({source}), {on_disk.nbytes / 1e9:.2f} GB uint8, read-only")
    in_memory = np.array(on_disk)  # read before the runs: the baseline's data is not counted in its rise
    print(f"in-memory copy read: process RssAnon {anon_mb():.0f} MB")

    methods = {
        "fit(memmap)": lambda: run_fit(on_disk),
        f"partial_fit(memmap[i:i+{CHUNK:,}]) per chunk": lambda: run_partial_fit(on_disk),
        "fit(in-memory uint8 array)": lambda: run_fit(in_memory),
    }
    results = {name: [] for name in methods}
    for round_ in range(args.rounds):
        order = list(methods) if round_ % 2 == 0 else list(methods)[::-1]
        for name in order:
            with PeakMemory() as memory:
                start = time.perf_counter()
                loss = methods[name]()
                seconds = time.perf_counter() - start
            results[name].append((seconds, memory.rise, loss))
            print(f"  round {round_ + 1}: {name}: {seconds:.1f} s, peak RssAnon rise {memory.rise:.0f} MB, "
                  f"train loss {loss:.2f}", flush=True)

    print("\n| one epoch over the memmap | epoch (s), per round | peak memory rise (MB), per round | train loss |")
    print("|---|---|---|---|")
    for name, rows in results.items():
        print(f"| {name} | {' / '.join(f'{s:.1f}' for s, _, _ in rows)} "
              f"| {' / '.join(f'{m:.0f}' for _, m, _ in rows)} | {rows[-1][2]:.2f} |")


if __name__ == "__main__":
    main()
