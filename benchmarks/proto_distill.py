"""Prototype for issue 27: teach the encoder where placement puts rows it has not seen (distillation).

    python benchmarks/proto_distill.py --data digits --seeds 0 1 2

The held-out gap of the 2-D maps is in new rows: placing them among the
training codes (``placement="neighbors"``) keeps their neighbourhoods far
better than the encoder does, but costs a neighbour search per call. Here a
fitted ``VAETransformer(2, neighbor_weight=1, placement="neighbors")``'s
encoder is trained further, alone, to give (a) the training rows their own
codes and (b) synthetic rows, each a training row mixed with one of its graph
neighbours (``(1 - t) x_i + t x_j``, t uniform in [0, T]), the codes that
placement gives them. Prints held-out 5-NN accuracy and trustworthiness (10)
of the encoder before and after, and of placement.
"""

import argparse
import sys
import time

import numpy as np
import torch
from sklearn.manifold import trustworthiness
from sklearn.neighbors import KNeighborsClassifier

sys.path.insert(0, "benchmarks")
import bench_usecases as b  # noqa: E402
from skvae import VAETransformer  # noqa: E402


def measure(model, X_train, X_test, y_train, y_test, sub):
    Z_train, Z_test = model.transform(X_train), model.transform(X_test)
    knn = KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test)
    return round(knn, 3), round(float(trustworthiness(X_test[sub], Z_test[sub], n_neighbors=10)), 3)


def synthetic_rows(model, rows, n_rows, t_max, noise, rng):
    graph = model.neighbor_graph_.tocsr()
    i = rng.randint(len(rows), size=n_rows)
    j = np.empty_like(i)
    for k, r in enumerate(i):
        lo, hi = graph.indptr[r], graph.indptr[r + 1]
        w = graph.data[lo:hi]
        j[k] = graph.indices[lo + rng.choice(hi - lo, p=w / w.sum())] if hi > lo else r
    t = rng.uniform(0, t_max, size=(n_rows, 1)).astype(np.float32)
    X = (1 - t) * rows[i] + t * rows[j]
    if noise:
        X = X + noise * rng.randn(*X.shape).astype(np.float32) * rows.std(0)
    return np.clip(X, 0, 1).astype(np.float32)


def distill(model, X_train, X_syn, Z_syn, epochs, lr, batch_size=256, seed=0):
    module = model.net_.module_
    X = torch.from_numpy(np.concatenate([X_train, X_syn]))
    Z = torch.from_numpy(np.concatenate([model.placement_codes_, Z_syn]).astype(np.float32))
    optimizer = torch.optim.Adam(module.encoder.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    module.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(X), generator=generator).split(batch_size):
            mean, _ = module.encode(X[batch])
            loss = (mean - Z[batch]).pow(2).sum(-1).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    module.eval()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="digits")
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--multiples", type=int, nargs="+", default=[10])
    parser.add_argument("--t-max", type=float, nargs="+", default=[0.5])
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--oracle", action="store_true",
                        help="distil on the test rows themselves (a ceiling: can the encoder fit placement at all?)")
    args = parser.parse_args()
    X_train, X_test, y_train, y_test = b.load(args.data)
    if args.n_train:
        X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    sub = np.random.RandomState(0).permutation(len(X_test))[:2000]
    for seed in args.seeds:
        t0 = time.perf_counter()
        model = VAETransformer(2, neighbor_weight=1.0, placement="neighbors", batch_size=args.batch_size,
                               random_state=seed).fit(X_train)
        fit_s = time.perf_counter() - t0
        placed = measure(model, X_train, X_test, y_train, y_test, sub)
        model.set_params(placement="encoder")
        encoded = measure(model, X_train, X_test, y_train, y_test, sub)
        print(f"seed {seed}: fit {fit_s:.0f} s; encoder {encoded}, placement {placed}", flush=True)
        state = {k: v.clone() for k, v in model.net_.module_.state_dict().items()}
        for multiple in args.multiples:
            for t_max in args.t_max:
                model.net_.module_.load_state_dict(state)
                rng = np.random.RandomState(seed)
                t0 = time.perf_counter()
                X_syn = X_test if args.oracle else synthetic_rows(model, X_train, multiple * len(X_train), t_max,
                                                                  args.noise, rng)
                Z_syn = model.set_params(placement="neighbors").transform(X_syn) if multiple else \
                    np.zeros((0, 2), np.float32)
                model.set_params(placement="encoder")
                distill(model, X_train, X_syn, Z_syn, args.epochs, args.lr, seed=seed)
                s = time.perf_counter() - t0
                print(f"  distilled x{multiple}, t<={t_max}, noise {args.noise}: encoder "
                      f"{measure(model, X_train, X_test, y_train, y_test, sub)} ({s:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
