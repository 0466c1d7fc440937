"""What a saved model costs on disk, and whether save/load cycles leak memory.

    python benchmarks/bench_persistence.py sizes          # pickle and save-file sizes vs the state_dict
    python benchmarks/bench_persistence.py soak --cycles 200

``sizes`` fits (one epoch, random data: sizes do not depend on it) the default
``VAETransformer`` on rows of 784 features and the default convolutional one on
64x64 RGB images, and reports the ``state_dict``'s bytes against a pickle, a
joblib file, ``save(path)`` and ``save(path, training_state=True)``.

``soak`` runs fit / transform / save / load / transform cycles on the digits in
one process and prints its resident memory (from /proc) at the start, every
50 cycles and at the end.
"""

import argparse
import gc
import os
import pickle
import platform
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
import torch
from sklearn.datasets import load_digits

import skvae
from skvae import VAETransformer


def state_dict_bytes(model):
    return sum(t.numel() * t.element_size() for t in model.net_.module_.state_dict().values())


def sizes(folder):
    rng = np.random.RandomState(0)
    cases = {
        "MLP, 784 features (default)": (VAETransformer(max_epochs=1, random_state=0),
                                        rng.uniform(size=(256, 784)).astype(np.float32)),
        "conv, 64x64 RGB (default conv)": (VAETransformer(architecture="conv", max_epochs=1, random_state=0),
                                           rng.randint(0, 256, size=(64, 3, 64, 64), dtype=np.uint8)),
    }
    print("| network | parameters | state_dict (MB) | pickle (MB) | joblib (MB) | save (MB) "
          "| save, training_state (MB) | save+load (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (model, X) in cases.items():
        model.fit(X)
        weights = state_dict_bytes(model)
        n_params = sum(p.numel() for p in model.net_.module_.parameters())
        pickled = len(pickle.dumps(model))
        joblib.dump(model, folder / "model.joblib")
        start = time.perf_counter()
        saved = model.save(folder / "model.skvae").stat().st_size
        loaded = skvae.load(folder / "model.skvae")
        seconds = time.perf_counter() - start
        assert np.array_equal(loaded.transform(X[:8]), model.transform(X[:8]))
        full = model.save(folder / "full.skvae", training_state=True).stat().st_size
        mb = lambda n: f"{n / 1e6:.1f} ({n / weights:.2f}x)"  # noqa: E731
        print(f"| {name} | {n_params:,} | {weights / 1e6:.1f} | {mb(pickled)} | "
              f"{mb((folder / 'model.joblib').stat().st_size)} | {mb(saved)} | {mb(full)} | {seconds:.2f} |")


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def soak(folder, cycles):
    X = load_digits().data / 16
    path = folder / "soak.skvae"
    print(f"| cycle | resident memory (MB) |\n|---|---|\n| start | {rss_mb():.1f} |")
    start = time.perf_counter()
    for cycle in range(1, cycles + 1):
        model = VAETransformer(n_components=4, max_epochs=2, random_state=cycle).fit(X)
        codes = model.transform(X)
        model.save(path, training_state=cycle % 2 == 0)
        loaded = skvae.load(path)
        assert np.array_equal(loaded.transform(X), codes)
        del model, loaded, codes
        gc.collect()
        if cycle == 1 or cycle % 50 == 0:
            print(f"| {cycle} | {rss_mb():.1f} |")
    print(f"\n{cycles} cycles in {time.perf_counter() - start:.0f} s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="+", choices=["sizes", "soak"])
    parser.add_argument("--cycles", type=int, default=200)
    args = parser.parse_args(argv)
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, skvae {skvae.__version__}\n")
    with tempfile.TemporaryDirectory() as folder:
        for what in args.what:
            sizes(Path(folder)) if what == "sizes" else soak(Path(folder), args.cycles)
            print()


if __name__ == "__main__":
    main()
