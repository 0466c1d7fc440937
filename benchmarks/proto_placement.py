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


def place(graph, layout, seed, n_epochs=None, negatives=5, alpha=0.25):
    """UMAP's transform optimisation in torch: rows of ``graph`` (new rows x training rows) against ``layout``.

    Starts at the weighted mean of each row's neighbours' places, then, for
    ``n_epochs`` (UMAP's: 100 up to 10,000 new rows, else 30), moves each new
    row along its edges (each edge as often as its weight says) and away
    from ``negatives`` random training places per edge, as umap-learn's
    ``optimize_layout_euclidean`` does with the training layout fixed, but
    one epoch's updates at once (vectorised) instead of one edge at a time.
    """
    import torch
    from umap.umap_ import make_epochs_per_sample

    from skvae._neighbors import CURVE_A as a, CURVE_B as b

    n_epochs = n_epochs or (100 if graph.shape[0] <= 10_000 else 30)
    graph = graph.tocoo()
    graph.data[graph.data < graph.data.max() / n_epochs] = 0
    graph.eliminate_zeros()
    normalised = graph.tocsr().multiply(1 / graph.tocsr().sum(1)).tocsr()
    E = torch.from_numpy(np.asarray(normalised @ layout, dtype=np.float32))
    L = torch.from_numpy(layout.astype(np.float32))
    head, tail = torch.from_numpy(graph.row).long(), torch.from_numpy(graph.col).long()
    every = torch.from_numpy(make_epochs_per_sample(graph.data, n_epochs)).float()
    next_edge, every_negative = every.clone(), every / negatives
    next_negative = every_negative.clone()
    generator = torch.Generator().manual_seed(seed)
    for n in range(n_epochs):
        step = alpha * (1 - n / n_epochs)
        edges = torch.nonzero(next_edge <= n).squeeze(1)
        h = head[edges]
        diff = E[h] - L[tail[edges]]
        d2 = diff.pow(2).sum(1, keepdim=True)
        pull = torch.where(d2 > 0, -2 * a * b * d2.clamp_min(1e-12).pow(b - 1) / (a * d2.pow(b) + 1), 0)
        E.index_add_(0, h, (pull * diff).clamp(-4, 4) * step)
        next_edge[edges] += every[edges]
        count = ((n - next_negative[edges]) / every_negative[edges]).floor().clamp_min(0).long()
        next_negative[edges] += count * every_negative[edges]
        h = h.repeat_interleave(count)
        diff = E[h] - L[torch.randint(len(L), (len(h),), generator=generator)]
        d2 = diff.pow(2).sum(1, keepdim=True)
        push = torch.where(d2 > 0, 2 * b / ((0.001 + d2) * (a * d2.pow(b) + 1)), 0)
        E.index_add_(0, h, (push * diff).clamp(-4, 4) * step)
    return E.numpy()


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
            start = time.perf_counter()
            rows["UMAP's transform on skvae's codes"] = reducer.transform(X_test) / CODE_SCALE
            umap_seconds = time.perf_counter() - start
            start = time.perf_counter()
            rows["the same, optimised in torch"] = place(graph, reducer.embedding_, args.seed) / CODE_SCALE
            torch_seconds = time.perf_counter() - start
            for epochs in (30, 10):
                rows[f"the same in torch, {epochs} epochs"] = place(graph, reducer.embedding_, args.seed,
                                                                    n_epochs=epochs) / CODE_SCALE
            print(f"placing {len(X_test)} rows (neighbour search not counted for torch): UMAP's transform "
                  f"{umap_seconds:.2f} s, torch {torch_seconds:.2f} s")
            X_timed = np.resize(X_test, (10_000, X_test.shape[1]))
            reducer.transform_mode = "graph"
            timed_graph = reducer.transform(X_timed).tocsr()
            reducer.transform_mode = "embedding"
            start = time.perf_counter()
            reducer.transform(X_timed)
            umap_seconds = time.perf_counter() - start
            for epochs in (100, 30, 10):
                start = time.perf_counter()
                place(timed_graph, reducer.embedding_, args.seed, n_epochs=epochs)
                print(f"placing 10,000 rows: UMAP's transform {umap_seconds:.2f} s (search included), "
                      f"torch's optimisation, {epochs} epochs, {time.perf_counter() - start:.2f} s (search not "
                      "included)")
            for name, Z_test in rows.items():
                accuracy, trust = scores(Z_train, y_train, Z_test, y_test, X_test)
                print(f"batch {batch} ({fit:.0f} s) | {name} | {accuracy:.3f} / {trust:.3f}", flush=True)
            reducer.embedding_ = umap_layout


if __name__ == "__main__":
    main()
