"""A fit on a busy machine: torch's default threads against skvae's n_jobs=None.

Times the same fit idle, then while other processes keep the cores busy, with
n_jobs=-1 (torch's thread count whatever the load: what skvae did before
n_jobs existed) and with the default n_jobs=None; then inside
GridSearchCV(n_jobs=2), whose two workers load the machine themselves.

    python benchmarks/bench_threads.py                 # MLP and conv
    python benchmarks/bench_threads.py --load torch    # the other work is a torch training loop

Load: "spin" runs one pure-Python busy loop per core; "torch" runs a second
skvae fit in a loop with torch's default threads (two spinning thread pools).
"""

import argparse
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
from sklearn.model_selection import GridSearchCV

from skvae import VAETransformer
from skvae.datasets import load_mnist_like

SPIN = "while True: pass"
TORCH = """
import numpy as np, skvae
X = np.random.default_rng(0).random((2000, 784), dtype=np.float32)
while True:
    skvae.VAETransformer(n_components=20, hidden_layer_sizes=(400,), max_epochs=1, random_state=0).fit(X)
"""


def model(arch, **params):
    if arch == "mlp":  # pytorch/examples' VAE, 784-400-20
        return VAETransformer(n_components=20, hidden_layer_sizes=(400,), max_epochs=3, random_state=0, **params)
    return VAETransformer(n_components=20, architecture="conv", max_epochs=1, random_state=0, **params)


def timed(arch, X, repeats, **params):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(arch, **params).fit(X)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", choices=["mlp", "conv", "both"], default="both")
    parser.add_argument("--load", choices=["spin", "torch"], default="spin")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    X_all = load_mnist_like("fashion-mnist")[0]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load: {args.load}")
    print("| network | rows | idle (s) | busy, n_jobs=-1 (before) | busy, n_jobs=None (after) | GridSearchCV(n_jobs=2), per fit |")
    print("|---|---|---|---|---|---|")
    for arch in ["mlp", "conv"] if args.arch == "both" else [args.arch]:
        X = X_all[: 10000 if arch == "mlp" else 3000]
        timed(arch, X[:500], 1)  # warm up
        idle = timed(arch, X, args.repeats)
        code = SPIN if args.load == "spin" else TORCH
        hogs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
                for _ in range(torch.get_num_threads() if args.load == "spin" else 1)]
        try:
            time.sleep(3)
            before = timed(arch, X, args.repeats, n_jobs=-1)
            after = timed(arch, X, args.repeats)
        finally:
            for hog in hogs:
                hog.kill()
        time.sleep(1)
        search = GridSearchCV(model(arch), {"lr": [1e-3, 2e-3]}, cv=2, n_jobs=2, refit=False).fit(X)
        per_fit = float(np.median(search.cv_results_["mean_fit_time"]))
        print(f"| {arch} | {len(X)} | {idle:.2f} | {before:.2f} ({before / idle:.2f}x) | {after:.2f} "
              f"({after / idle:.2f}x) | {per_fit:.2f} ({per_fit / idle:.2f}x) |", flush=True)


if __name__ == "__main__":
    main()
