"""Prototype for issue 27: refine the training rows' codes as UMAP lays out its map, then place new rows.

    python benchmarks/proto_refine.py --data fashion-mnist --n-train 10000 --seeds 0

Fits ``VAETransformer(2, neighbor_weight=1, placement="neighbors", **setting)``
(without the epochs that the built estimator trains after its own layout),
then moves the training codes that placement places new rows among
(``placement_codes_``) with umap-learn's own layout optimisation
(``optimize_layout_euclidean``, both ends of each edge move, as in
``UMAP.fit``), starting from the codes the network gave them, on the graph the
model trained with (``neighbor_graph_``). Optionally the decoder alone is then
trained on (refined code, row) pairs so that the moved codes still decode.
Prints held-out 5-NN accuracy / trustworthiness (10) of the placed test rows,
the training map's own 5-fold 5-NN accuracy and test MSE, before and after.
"""

import argparse
import ast
import sys
import time

import numpy as np
import torch

sys.path.insert(0, "benchmarks")
import bench_usecases as b  # noqa: E402
from proto_map_settings import evaluate  # noqa: E402
import skvae._training  # noqa: E402
from skvae import VAETransformer  # noqa: E402
from skvae._neighbors import CODE_SCALE  # noqa: E402


def blended(graph, codes, weight, seed):
    """The network's ``codes`` with ``weight`` of the graph's spectral layout blended in.

    The spectral layout (UMAP's own start) is rotated and reflected onto the
    codes (orthogonal Procrustes) and scaled to their spread first, so that the
    two agree on which way is which before they are averaged.
    """
    from scipy.linalg import orthogonal_procrustes
    from umap.spectral import spectral_layout

    spectral = spectral_layout(None, graph.tocsr(), codes.shape[1], np.random.RandomState(seed))
    c, s = codes - codes.mean(0), spectral - spectral.mean(0)
    s = s * (np.linalg.norm(c) / max(np.linalg.norm(s), 1e-12))
    rotation, _ = orthogonal_procrustes(s, c)
    return codes.mean(0) + (1 - weight) * c + weight * (s @ rotation)


def refine(graph, codes, n_epochs, seed, alpha=1.0, box=None, spectral=False, blend=0.0):
    """UMAP's layout optimisation of ``codes`` (scaled as the term sees them) on ``graph``."""
    from umap.layouts import optimize_layout_euclidean
    from umap.umap_ import find_ab_params, make_epochs_per_sample

    graph = graph.tocoo(copy=True)  # the pruning below must not reach the model's own graph
    graph.data[graph.data < graph.data.max() / float(n_epochs)] = 0.0
    graph.eliminate_zeros()
    a, b_ = find_ab_params(1.0, 0.1)
    if blend:
        codes = blended(graph, codes, blend, seed)
    if spectral:  # UMAP's own start, the graph's spectral layout, instead of the network's codes
        from umap.spectral import spectral_layout

        codes = spectral_layout(None, graph.tocsr(), codes.shape[1], np.random.RandomState(seed))
        box = box or 10.0
    if box:  # UMAP's start: the layout fitted into a box of this width, centred here
        layout = np.ascontiguousarray((codes - codes.mean(0)) * (box / np.ptp(codes, 0).max()), dtype=np.float32)
    else:
        layout = (codes * CODE_SCALE).astype(np.float32)
    rng_state = np.random.RandomState(seed).randint(np.iinfo(np.int32).min + 1, np.iinfo(np.int32).max - 1, 3)
    layout = optimize_layout_euclidean(
        layout, layout, graph.row, graph.col, n_epochs, graph.shape[1],
        make_epochs_per_sample(graph.data, n_epochs), a, b_, rng_state.astype(np.int64),
        initial_alpha=alpha, move_other=True,
    )
    return layout / CODE_SCALE


def cross_entropy(graph, codes, n_pairs=1_000_000, seed=0):
    """UMAP's fuzzy-set cross-entropy of ``graph`` and the layout ``codes`` (scaled as the term sees them).

    Exact over the edges; the pairs without an edge (weight 0, so only
    ``-log(1 - q)``) estimated from ``n_pairs`` random pairs.
    """
    from umap.umap_ import find_ab_params

    a, b_ = find_ab_params(1.0, 0.1)
    Z = codes * CODE_SCALE
    g = graph.tocoo()
    w = g.data.astype(np.float64)

    def q(i, j):
        d2 = ((Z[i] - Z[j]) ** 2).sum(1)
        return np.clip(1.0 / (1.0 + a * d2**b_), 1e-6, 1 - 1e-6)

    qe = q(g.row, g.col)
    edges = (w * np.log(w / qe) + np.where(w < 1, (1 - w) * np.log(np.clip(1 - w, 1e-12, 1) / (1 - qe)), 0)).sum()
    rng = np.random.RandomState(seed)
    i, j = rng.randint(len(Z), size=n_pairs), rng.randint(len(Z), size=n_pairs)
    keep = i != j
    others = -np.log(1 - q(i[keep], j[keep])).mean() * (len(Z) ** 2 - len(Z) - g.nnz)
    return (edges + others) / len(Z)


def tune_decoder(model, X, codes, epochs, seed, batch_size=128, lr=1e-3):
    """Train the decoder alone to give the rows back from their refined codes, with the model's own loss."""
    torch.manual_seed(seed)
    module = model.net_.module_
    optimizer = torch.optim.Adam(module.decoder.parameters(), lr=lr)
    target = torch.as_tensor(np.asarray(X, dtype=np.float32) / model.input_scale_)
    Z = torch.as_tensor(codes, dtype=torch.float32)
    bce = model.reconstruction_loss_ == "bce"
    for _ in range(epochs):
        order = torch.randperm(len(Z))
        for start in range(0, len(Z), batch_size):
            idx = order[start:start + batch_size]
            out = module.decode(Z[idx]).reshape(len(idx), -1)
            if bce:
                loss = torch.nn.functional.binary_cross_entropy_with_logits(out, target[idx])
            else:
                loss = ((out - target[idx]) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="digits")
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--setting", default="{}", help="a Python dict of parameters")
    parser.add_argument("--epochs", type=int, nargs="+", default=[200])
    parser.add_argument("--alphas", type=float, nargs="+", default=[1.0])
    parser.add_argument("--spectral", action="store_true", help="start from UMAP's spectral layout instead")
    parser.add_argument("--blends", type=float, nargs="+", default=[0.0],
                        help="weights of the spectral layout blended into the network's codes")
    parser.add_argument("--boxes", type=float, nargs="+", default=[0.0])
    parser.add_argument("--refine-seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--decoder-epochs", type=int, default=0)
    args = parser.parse_args()
    X_train, X_test, y_train, y_test = b.load(args.data)
    if args.n_train:
        X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    sub = np.random.RandomState(0).permutation(len(X_test))[:2000]
    params = ast.literal_eval(args.setting)
    for seed in args.seeds:
        t0 = time.perf_counter()
        # the built estimator lays its codes out and trains on with them: without those epochs
        # (ANCHOR_EPOCHS 0) it keeps the encoder and decoder as its main training left them
        skvae._training.ANCHOR_EPOCHS = 0
        model = VAETransformer(2, **{"neighbor_weight": 1.0, "placement": "neighbors", "random_state": seed,
                                     **params}).fit(X_train)
        print(f"seed {seed}, {params}: fitted in {time.perf_counter() - t0:.0f} s", flush=True)
        fitted = model._encode(X_train)[0]  # the encoder's codes, before any layout
        model.placement_codes_ = fitted  # placed among as the encoder put them ("as fitted")
        knn, trust, own, mse = evaluate(model, X_train, y_train, X_test, y_test, sub)
        print(f"  as fitted: placed {knn:.3f} / {trust:.3f}, training map {own:.3f}, MSE {mse:.4f}", flush=True)
        state = {k: v.clone() for k, v in model.net_.module_.state_dict().items()}
        for n_epochs in args.epochs:
            for alpha, box, blend in [(a, x, w) for a in args.alphas for x in args.boxes for w in args.blends]:
                rows = []
                for refine_seed in args.refine_seeds:
                    model.net_.module_.load_state_dict(state)
                    t0 = time.perf_counter()
                    model.placement_codes_ = refine(model.neighbor_graph_, fitted, n_epochs, refine_seed,
                                                    alpha, box, args.spectral, blend).astype(fitted.dtype)
                    refine_s = time.perf_counter() - t0
                    print(f"      cross-entropy per row {cross_entropy(model.neighbor_graph_, model.placement_codes_):.2f}",
                          flush=True)
                    knn, trust, own, mse = evaluate(model, X_train, y_train, X_test, y_test, sub)
                    if args.decoder_epochs:
                        tune_decoder(model, X_train, model.placement_codes_, args.decoder_epochs, seed)
                        mse = evaluate(model, X_train, y_train, X_test, y_test, sub)[3]
                    rows.append((knn, trust, own, mse, refine_s))
                    print(f"    {n_epochs} epochs, alpha {alpha}, box {box}, blend {blend}, refine seed {refine_seed}: placed {knn:.3f} / "
                          f"{trust:.3f}, training map {own:.3f}, MSE {mse:.4f} ({refine_s:.1f} s)", flush=True)
                mean, std = np.mean(rows, 0), np.std(rows, 0)
                print(f"  refined {n_epochs} epochs, alpha {alpha}, box {box}, blend {blend}: placed {mean[0]:.3f} ± {std[0]:.3f} / "
                      f"{mean[1]:.3f} ± {std[1]:.3f}, training map {mean[2]:.3f}, MSE {mean[3]:.4f}, "
                      f"{mean[4]:.1f} s", flush=True)

if __name__ == "__main__":
    main()
