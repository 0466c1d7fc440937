"""Prototype for issue 27: which training settings give placement="neighbors" a 2-D map at UMAP's level.

    python benchmarks/proto_map_settings.py --data digits --seeds 0 1 2

Fits ``VAETransformer(2, neighbor_weight=1, placement="neighbors", **setting)``
for each setting below and prints, per seed and as mean ± std: held-out 5-NN
accuracy and trustworthiness (10 neighbours) of the placed test rows, the
5-fold 5-NN accuracy of the training map itself, test MSE, test ELBO, the
held-out 5-NN accuracy of the same model's encoder (``placement="encoder"``)
and fit seconds.
"""

import argparse
import ast
import pickle
import sys
import time

import numpy as np
from sklearn.manifold import trustworthiness
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

sys.path.insert(0, "benchmarks")
import bench_usecases as b  # noqa: E402
from skvae import VAETransformer  # noqa: E402

SETTINGS = {
    "defaults (batch 128, lr 1e-3, 100 epochs)": {},
    "batch 32": {"batch_size": 32},
    "lr 3e-3": {"lr": 3e-3},
    "200 epochs": {"max_epochs": 200},
}


def evaluate(model, X_train, y_train, X_test, y_test, sub, Z_train=None):
    """Held-out 5-NN accuracy and trustworthiness (10) of ``model``'s map, its training map's own 5-fold
    5-NN accuracy, and the test MSE of the test rows decoded; ``Z_train``: the training rows' codes, if
    already computed (``fit_transform``)."""
    Z_train = model.transform(X_train) if Z_train is None else Z_train
    Z_test = model.transform(X_test)
    knn = KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test)
    trust = trustworthiness(X_test[sub], Z_test[sub], n_neighbors=10)
    own = cross_val_score(KNeighborsClassifier(5), model.placement_codes_, y_train, cv=5).mean()
    mse = float(((model.inverse_transform(Z_test) - X_test) ** 2).mean())
    return knn, trust, own, mse


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="digits")
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS),
                        help="names above, or Python dicts of parameters")
    parser.add_argument("--umap", action="store_true", help="also UMAP (umap-learn's defaults) with each seed")
    args = parser.parse_args()
    X_train, X_test, y_train, y_test = b.load(args.data)
    if args.n_train:
        X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    sub = np.random.RandomState(0).permutation(len(X_test))[:2000]
    if args.umap:
        from umap import UMAP

        rows = []
        for seed in args.seeds:
            umap = UMAP(random_state=seed)
            Z_train = umap.fit_transform(X_train)
            Z_test = umap.transform(X_test)
            rows.append((KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test),
                         trustworthiness(X_test[sub], Z_test[sub], n_neighbors=10)))
        mean, std = np.mean(rows, 0), np.std(rows, 0)
        print(f"UMAP: {mean[0]:.3f} ± {std[0]:.3f} / {mean[1]:.3f} ± {std[1]:.3f} "
              f"({', '.join(f'{a:.3f} / {t:.3f}' for a, t in rows)})", flush=True)
    for name in args.settings:
        params = SETTINGS[name] if name in SETTINGS else ast.literal_eval(name)
        rows = []
        for seed in args.seeds:
            t0 = time.perf_counter()
            model = VAETransformer(2, **{"neighbor_weight": 1.0, "placement": "neighbors", "random_state": seed,
                                         **params})
            Z_train = model.fit_transform(X_train)
            fit_s = time.perf_counter() - t0
            knn, trust, own, mse = evaluate(model, X_train, y_train, X_test, y_test, sub, Z_train)
            elbo = model.score(X_test)
            encoder = pickle.loads(pickle.dumps(model)).set_params(placement="encoder")
            encoded = KNeighborsClassifier(5).fit(encoder.transform(X_train), y_train).score(
                encoder.transform(X_test), y_test)
            rows.append((knn, trust, own, mse, fit_s, elbo, encoded))
            print(f"  {name}, seed {seed}: placed {knn:.3f} / {trust:.3f}, training map {own:.3f}, "
                  f"MSE {mse:.4f}, test ELBO {elbo:.2f}, encoder {encoded:.3f}, {fit_s:.0f} s", flush=True)
        mean, std = np.mean(rows, 0), np.std(rows, 0)
        print(f"{name}: placed {mean[0]:.3f} ± {std[0]:.3f} / {mean[1]:.3f} ± {std[1]:.3f}, training map "
              f"{mean[2]:.3f}, MSE {mean[3]:.4f}, test ELBO {mean[5]:.2f}, encoder {mean[6]:.3f} ± {std[6]:.3f}, "
              f"{mean[4]:.0f} s", flush=True)


if __name__ == "__main__":
    main()
