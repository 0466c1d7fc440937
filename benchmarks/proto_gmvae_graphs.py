"""Prototype for issue 27: now that the codes are pretrained on moved images, how much should their graph weigh?

    python benchmarks/proto_gmvae_graphs.py --data fashion-mnist mnist-5k --seeds 0 1 2 \
        --variants w=0.5 w=0.67 w=0.8 w=1 w=0.33 w=0.5+maps=10

Each seed runs the default ``GaussianMixtureVAE(10, random_state=seed)`` as
built (given images, so they are moved while pretraining), stopped where it
lays out its maps; the pretrained codes, the rows and the layouts' seed are
kept in ``--store``. Each variant then makes the maps again through the built
``skvae._gmvae._umap_maps`` and finds their consensus (the partition the
mixture starts from) with the built ``_consensus``; only the graph changes:

- ``w=``: the codes' graph weighs ``w`` and the rows' ``1 - w`` (built: the
  mean, 0.5; 1 is the codes' graph alone);
- ``maps=``: the number of layouts (built: 5).

ARI, NMI and accuracy after Hungarian matching, mean ± std over the seeds.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import bench_usecases as b  # noqa: E402
import skvae._gmvae as gmvae  # noqa: E402
from proto_gmvae_partitions import cells, scores, until_maps  # noqa: E402
from skvae._neighbors import fuzzy_graph  # noqa: E402


def capture(path, X, seed):
    """The pretrained codes, the rows as the map reads them, and the layouts' seed, of the fit as built."""
    if not os.path.exists(path):
        made = until_maps(X, seed)
        np.savez(path, codes=made["codes"], rows=made["rows"], seed=made["seed"],
                 image_shape=np.asarray(made["image_shape"]))
    return dict(np.load(path))


def consensus(kept, graphs, w, n_maps):
    """The built maps and consensus, with the codes' graph at weight ``w`` and the rows' at ``1 - w``."""
    weighted = iter([2 * w * graphs[0], 2 * (1 - w) * graphs[1]])  # the built graph is the mean of the two
    original = gmvae.fuzzy_graph
    gmvae.fuzzy_graph = lambda *args, **kwargs: next(weighted)
    try:
        maps = gmvae._umap_maps(kept["codes"], kept["rows"], 10, int(kept["seed"]),
                                image_shape=tuple(kept["image_shape"]), n_maps=n_maps)
    finally:
        gmvae.fuzzy_graph = original
    maps = [gmvae._standardised(m) for m in maps]
    return gmvae._consensus(maps, 10, int(kept["seed"]))[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", nargs="+", default=["fashion-mnist"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=["w=0.5", "w=1"])
    parser.add_argument("--store", default="/tmp/gmvae_graphs")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    os.makedirs(args.store, exist_ok=True)
    for name in args.data:
        X, y = b.clustering_data(name)
        X = b.as_square_images(X)
        results = {}
        for seed in args.seeds:
            start = time.perf_counter()
            kept = capture(f"{args.store}/{name}_{seed}.npz", X, seed)
            k = max(2, min(gmvae.UMAP_NEIGHBORS, len(X) - 1))
            shape = tuple(kept["image_shape"])
            graphs = (fuzzy_graph(kept["codes"], k, int(kept["seed"])),
                      fuzzy_graph(kept["rows"], k, int(kept["seed"]), image_shape=shape))
            print(f"  [{name} seed {seed}] codes and graphs, {time.perf_counter() - start:.0f} s", flush=True)
            for variant in args.variants:
                start = time.perf_counter()
                opts = dict(kv.split("=") for kv in variant.split("+"))
                labels = consensus(kept, graphs, float(opts.get("w", 0.5)), int(opts.get("maps", gmvae.N_MAPS)))
                row = scores(y, labels)
                results.setdefault(variant, []).append(row)
                print(f"  [{name} {variant} seed {seed}] ARI {row[0]:.3f} NMI {row[1]:.3f} ACC {row[2]:.3f}, "
                      f"{time.perf_counter() - start:.0f} s", flush=True)
        for variant, rows in results.items():
            print(f"| {name} | {variant} | {cells(rows)} |", flush=True)


if __name__ == "__main__":
    main()
