"""Prototype for issue 27: does placement="neighbors" need its 100 epochs, or would fewer buy transform speed?

    python benchmarks/proto_placement_epochs.py --data digits --seeds 0 1 2
    python benchmarks/proto_placement_epochs.py --data fashion-mnist --n-train 10000 --seeds 0
    python benchmarks/proto_placement_epochs.py --data digits --umap --settings 100/5 200/5 100/3 200/2 150/2.5

Fits the default 2-D ``VAETransformer`` (``bench_usecases.reduction_model``)
for each seed, then places the test rows with 20 to 120 epochs of
placement's optimisation (the same fitted model, its ``placement_epochs_``
set to each) and
prints held-out 5-NN accuracy (fitted on the training codes of
``fit_transform``) and trustworthiness (10 neighbours, 2,000 test rows), and
the best of three timings of ``transform`` of 10,000 rows, the epochs
interleaved. A setting is ``EPOCHS`` or ``EPOCHS/NEGATIVES``: negative
samples per positive one (``placement_negatives_``; built: 3, and 120
epochs; until the fifteenth session 100 and 5, as UMAP's transform).
``--umap``: also ``UMAP(random_state=seed)`` fitted on the same rows, its
map scored alike and its ``transform`` timed in the same rounds.
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

EPOCHS = ("20", "30", "50", "70", "100", "120")


def placing(model, setting):
    """``model``, set to place with ``setting``'s epochs and negative samples per positive one."""
    epochs, _, negatives = setting.partition("/")
    model.placement_epochs_ = int(epochs)
    model.placement_negatives_ = float(negatives or _placement.PLACEMENT_NEGATIVES)
    return model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="digits")
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--settings", nargs="+", default=list(EPOCHS))
    parser.add_argument("--umap", action="store_true")
    args = parser.parse_args()
    X_train, X_test, y_train, y_test = b.load(args.data)
    if args.n_train:
        X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    sub = np.random.RandomState(b.SEED).permutation(len(X_test))[:2000]
    X_timed = np.resize(X_test, (b.TRANSFORM_ROWS, X_test.shape[1]))
    settings = (["UMAP"] if args.umap else []) + args.settings
    results = {setting: [] for setting in settings}
    for seed in args.seeds:
        umap = None
        if args.umap:
            from umap import UMAP

            umap = UMAP(random_state=seed)
            Z_umap = umap.fit_transform(X_train)
            umap.transform(X_test[:10])  # compiles umap-learn's transform
        model = b.reduction_model(2).set_params(random_state=seed)
        Z_fit = model.fit_transform(X_train)
        fitted = (model.placement_epochs_, model.placement_negatives_)
        times = {setting: [] for setting in settings}
        for _ in range(3):
            for setting in settings:
                placer = umap if setting == "UMAP" else placing(model, setting)
                start = time.perf_counter()
                placer.transform(X_timed)
                times[setting].append(time.perf_counter() - start)
        for setting in settings:
            if setting == "UMAP":
                Z_train, Z_test = Z_umap, umap.transform(X_test)
            else:
                Z_train, Z_test = Z_fit, placing(model, setting).transform(X_test)
            accuracy = KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test)
            trust = trustworthiness(X_test[sub], Z_test[sub], n_neighbors=10)
            results[setting].append((accuracy, trust, min(times[setting])))
            print(f"  [seed {seed}] {setting}: {accuracy:.3f} / {trust:.4f}, "
                  f"{min(times[setting]):.3f} s", flush=True)
        model.placement_epochs_, model.placement_negatives_ = fitted
    print("| epochs[/negatives] | 5-NN accuracy | trustworthiness (10) | transform of 10,000 rows s |\n|---|---|---|---|")
    for setting, rows in results.items():
        rows = np.array(rows)
        print(f"| {setting} | {rows[:, 0].mean():.3f} ± {rows[:, 0].std():.3f} | "
              f"{rows[:, 1].mean():.4f} ± {rows[:, 1].std():.4f} | {rows[:, 2].mean():.3f} |")


if __name__ == "__main__":
    main()
