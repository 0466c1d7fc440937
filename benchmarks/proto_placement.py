"""Prototype for issue 27: what placing new rows as UMAP does would give skvae's 2-D maps.

    python benchmarks/proto_placement.py --data digits --batch-sizes 128 32

Trains ``VAETransformer(2, neighbor_weight=1)`` on the training rows, then
places the test rows three ways and prints held-out 5-NN accuracy (fitted on
the training codes) and trustworthiness (10 neighbours):

- the encoder (``transform``);
- UMAP's start for new rows: the weighted mean of the training codes of their
  15 input-space neighbours (umap-learn's ``init_graph_transform``);
- UMAP's whole ``transform``: that start, then its optimisation of the new
  points against the fixed training layout, here skvae's training codes
  (times the neighbourhood term's code scale, the units UMAP's curve expects).

The last two run umap-learn's own code on a UMAP fitted to the same rows,
whose ``embedding_`` is replaced by skvae's codes: they measure the quality a
UMAP-style ``transform`` would reach, not its speed.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.manifold import trustworthiness
from sklearn.neighbors import KNeighborsClassifier

from skvae import VAETransformer
from skvae._neighbors import CODE_SCALE


def scores(Z_train, y_train, Z_test, y_test, X_test):
    accuracy = KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test)
    sub = np.random.RandomState(0).permutation(len(X_test))[:2000]
    return accuracy, trustworthiness(X_test[sub], Z_test[sub], n_neighbors=10)


def main():
    import umap
    from umap.umap_ import init_graph_transform

    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="digits")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[128])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--n-train", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--conv", action="store_true", help="a convolutional VAE (square images)")
    args = parser.parse_args()
    import bench_usecases

    X_train, X_test, y_train, y_test = bench_usecases.load(args.data)
    if args.n_train:
        X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reducer = umap.UMAP(n_components=2, random_state=args.seed).fit(X_train)
        print(f"UMAP | | {'%.3f / %.3f' % scores(reducer.embedding_, y_train, reducer.transform(X_test), y_test, X_test)}")
        umap_layout = reducer.embedding_
        for batch in args.batch_sizes:
            start = time.perf_counter()
            side = int(round(X_train.shape[1] ** 0.5))
            conv = dict(architecture="conv", image_shape=(side, side)) if args.conv else {}
            vae = VAETransformer(2, neighbor_weight=1.0, batch_size=batch, max_epochs=args.epochs,
                                 random_state=args.seed, **conv).fit(X_train)
            fit = time.perf_counter() - start
            Z_train = vae.transform(X_train)
            rows = {"encoder": vae.transform(X_test)}
            reducer.embedding_ = (Z_train * CODE_SCALE).astype(np.float32)
            reducer.transform_mode = "graph"
            graph = reducer.transform(X_test).tocsr()
            rows["UMAP's start (neighbours' codes)"] = init_graph_transform(graph, reducer.embedding_) / CODE_SCALE
            reducer.transform_mode = "embedding"
            rows["UMAP's transform on skvae's codes"] = reducer.transform(X_test) / CODE_SCALE
            for name, Z_test in rows.items():
                accuracy, trust = scores(Z_train, y_train, Z_test, y_test, X_test)
                print(f"batch {batch} ({fit:.0f} s) | {name} | {accuracy:.3f} / {trust:.3f}", flush=True)
            reducer.embedding_ = umap_layout


if __name__ == "__main__":
    main()
