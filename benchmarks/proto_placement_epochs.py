"""Prototype for issue 27: does placement="neighbors" need its 100 epochs, or would fewer buy transform speed?

    python benchmarks/proto_placement_epochs.py --data digits --seeds 0 1 2
    python benchmarks/proto_placement_epochs.py --data fashion-mnist --n-train 10000 --seeds 0

Fits the default 2-D ``VAETransformer`` (``bench_usecases.reduction_model``)
for each seed, then places the test rows with 20 to 100 epochs of
placement's optimisation (the same fitted model, only the epochs change) and
prints held-out 5-NN accuracy (fitted on the training codes of
``fit_transform``) and trustworthiness (10 neighbours, 2,000 test rows), and
the best of three timings of ``transform`` of 10,000 rows, the epochs
interleaved.
"""

import argparse
import sys
import time

import numpy as np
from sklearn.manifold import trustworthiness
from sklearn.neighbors import KNeighborsClassifier

sys.path.insert(0, "benchmarks")
import bench_usecases as b  # noqa: E402
from skvae import _placement  # noqa: E402

EPOCHS = (20, 30, 50, 70, 100)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="digits")
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    X_train, X_test, y_train, y_test = b.load(args.data)
    if args.n_train:
        X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    sub = np.random.RandomState(b.SEED).permutation(len(X_test))[:2000]
    X_timed = np.resize(X_test, (b.TRANSFORM_ROWS, X_test.shape[1]))
    defaults = _placement.place_rows.__defaults__  # (seed, n_neighbors, n_epochs)
    results = {epochs: [] for epochs in EPOCHS}
    try:
        for seed in args.seeds:
            model = b.reduction_model(2).set_params(random_state=seed)
            Z_train = model.fit_transform(X_train)
            times = {epochs: [] for epochs in EPOCHS}
            for _ in range(3):
                for epochs in EPOCHS:
                    _placement.place_rows.__defaults__ = (*defaults[:2], epochs)
                    start = time.perf_counter()
                    model.transform(X_timed)
                    times[epochs].append(time.perf_counter() - start)
            for epochs in EPOCHS:
                _placement.place_rows.__defaults__ = (*defaults[:2], epochs)
                Z_test = model.transform(X_test)
                accuracy = KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test)
                trust = trustworthiness(X_test[sub], Z_test[sub], n_neighbors=10)
                results[epochs].append((accuracy, trust, min(times[epochs])))
                print(f"  [seed {seed}] {epochs} epochs: {accuracy:.3f} / {trust:.3f}, "
                      f"{min(times[epochs]):.3f} s", flush=True)
    finally:
        _placement.place_rows.__defaults__ = defaults
    print("| epochs | 5-NN accuracy | trustworthiness (10) | transform of 10,000 rows s |\n|---|---|---|---|")
    for epochs, rows in results.items():
        rows = np.array(rows)
        print(f"| {epochs} | {rows[:, 0].mean():.3f} ± {rows[:, 0].std():.3f} | "
              f"{rows[:, 1].mean():.3f} ± {rows[:, 1].std():.3f} | {rows[:, 2].mean():.2f} |")


if __name__ == "__main__":
    main()
