"""Prototype for issue 27: what moves GaussianMixtureVAE's clusters beyond its map, and the images' shifted neighbours.

    python benchmarks/proto_gmvae_partitions.py capture --data digits fashion-mnist --seeds 0 1 2
    python benchmarks/proto_gmvae_partitions.py partitions --data digits fashion-mnist
    python benchmarks/proto_gmvae_partitions.py maps --data digits --variants base k=10 k=30 k=50 ep=1500 g=sum
    python benchmarks/proto_gmvae_partitions.py maps --images --data mnist-5k --variants base g=codes g=sum
    python benchmarks/proto_gmvae_partitions.py maps --images --data mnist-5k --variants g=inter+w=0.3
    python benchmarks/proto_gmvae_partitions.py merges --data digits fashion-mnist
    python benchmarks/proto_gmvae_partitions.py shifts --data digits fashion-mnist --variants base shift1 pixels-shift1
    python benchmarks/proto_gmvae_partitions.py elbo --data digits --variants base std=0.2 std=0.05 max_epochs=60
    python benchmarks/proto_gmvae_partitions.py start --data mnist-5k --seeds 0 1 2 3 4
    python benchmarks/proto_gmvae_partitions.py ensemble --images --data mnist-5k digits --seeds 0 1 2 3 4 --n-maps 5

``capture`` pretrains the default ``GaussianMixtureVAE(10)`` on the rows the
clustering benchmark gives it (the digits' 1,797, Fashion-MNIST's 10,000 test
images), stops the fit when its map is made and keeps the pretrained codes
and the map in ``--store``. The others read them back:

- ``partitions``: KMeans (10 and 100 inits), GaussianMixtures (full and
  diagonal) and Ward on the standardised map.
- ``maps``: KMeans on maps made again with other settings: ``k=`` neighbours,
  ``ep=`` epochs, ``g=`` the graph (union, codes, rows, their mean ``sum``,
  or umap-learn's intersection ``inter`` with weight ``w=`` on the rows'
  graph); with ``--images``, the rows are neighbours up to a pixel's shift,
  as when the model is given images.
- ``merges``: KMeans into 15, 20 and 30 clusters on the map, merged two at a
  time by Ward's cost (the rise in the within-cluster sum of squares) in the
  map, the pretrained codes or the pixels, until 10 are left.
- ``shifts``: KMeans on the map of the union with the pixels' graph when
  images are neighbours by their smallest distance over shifts of up to 1
  pixel (``shift1``, as ``skvae._neighbors.image_neighbors``), or of that
  graph alone (``pixels-shift1``).
- ``ensemble``: ``--n-maps`` maps of the graph built until the thirteenth
  session (the mean of the codes' and the rows' graphs; ``--images`` as in
  ``maps``), laid out from different random states, each split by KMeans,
  and one partition made of them: the first map's, the medoid's, the
  tightest's, KMeans on the maps side by side, and the consensus (KMeans on
  the partitions' one-hot columns), as GaussianMixtureVAE now starts from.
- ``start``: full fits as built, given images, scored at the consensus the
  mixture starts from, on the kept map, and at the end.
- ``elbo``: full fits whose pretraining, map, alignment and mixture start
  are the captured run's (kept in ``--store`` on the first fit, for the flat
  rows, or with ``--images`` for the images), with the ELBO phase changed:
  the anchor's ``std=``, ``max_epochs=``. Only a seed's first fit is the
  fit as built: the cached ones start the last phase from another random
  state, which alone moves the scores a little (``base`` again shows how much).

ARI, NMI and accuracy after Hungarian matching, mean ± std over the seeds.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
import torch
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.mixture import GaussianMixture

sys.path.insert(0, os.path.dirname(__file__))
import bench_usecases as b  # noqa: E402
import skvae._gmvae as gmvae  # noqa: E402
from skvae import GaussianMixtureVAE  # noqa: E402
from skvae._neighbors import fuzzy_graph, fuzzy_union, image_neighbors  # noqa: E402


class _Stop(Exception):
    pass


def scores(y, labels):
    return adjusted_rand_score(y, labels), normalized_mutual_info_score(y, labels), b.hungarian_accuracy(y, labels)


def umap_map(graph, seed, n_epochs=None, min_dist=0.0):
    from umap.umap_ import find_ab_params, reset_local_connectivity, simplicial_set_embedding

    a, b_ = find_ab_params(1.0, min_dist)
    embedding, _ = simplicial_set_embedding(
        None, reset_local_connectivity(graph, True), 10, initial_alpha=1.0, a=a, b=b_, gamma=1.0,
        negative_sample_rate=5, n_epochs=n_epochs, init="spectral", random_state=np.random.RandomState(seed),
        metric="euclidean", metric_kwds={}, densmap=False, densmap_kwds={}, output_dens=False)
    return gmvae._standardised(embedding)


def until_maps(X, seed):
    """What the default ``GaussianMixtureVAE(10, random_state=seed)`` fitted on X lays its maps out from.

    The fit is stopped there; returns ``_umap_maps``'s arguments: the pretrained
    ``codes``, the ``rows`` as the map reads them, ``n_components``, the layouts'
    ``seed`` (drawn from ``random_state``) and ``image_shape``.
    """
    made = {}

    def spy(codes, rows, n_components, seed, image_shape=None):
        made.update(codes=codes, rows=rows, n_components=n_components, seed=seed, image_shape=image_shape)
        raise _Stop

    original = gmvae._umap_maps
    gmvae._umap_maps = spy
    try:
        GaussianMixtureVAE(10, random_state=seed).fit(X)
    except _Stop:
        pass
    finally:
        gmvae._umap_maps = original
    return made


def cells(rows):
    """Table cells of the columns of ``rows`` (one row a seed): mean ± std of each."""
    rows = np.array(rows)
    return " | ".join(f"{m:.3f} ± {s:.3f}" for m, s in zip(rows.mean(0), rows.std(0)))


def by_seed(data, seeds, step):
    """``step(name, seed, X, y)`` (a dict of (ARI, NMI, ACC) by method) on each clustering data set and seed.

    Prints each seed's scores and time as they come, then a table row of each
    method's mean ± std over the seeds.
    """
    for name in data:
        X, y = b.clustering_data(name)
        results = {}
        for seed in seeds:
            start = time.perf_counter()
            for method, row in step(name, seed, X, y).items():
                results.setdefault(method, []).append(row)
                print(f"  [{name} seed {seed}] {method}: ARI {row[0]:.3f} NMI {row[1]:.3f} ACC {row[2]:.3f}",
                      flush=True)
            print(f"  [{name} seed {seed}] {time.perf_counter() - start:.0f} s", flush=True)
        for method, rows in results.items():
            print(f"| {name} | {method} | {cells(rows)} |")


def capture(args, name, seed, X, y):
    made = until_maps(X, seed)
    # the first of the maps (until the thirteenth session, the only one)
    embedding = gmvae._umap_maps(made["codes"], made["rows"], made["n_components"], made["seed"], n_maps=1)[0]
    np.savez(f"{args.store}/{name}_{seed}.npz", codes=made["codes"], embedding=embedding)
    return {}


def partitions(args, name, seed, X, y):
    E = gmvae._standardised(np.load(f"{args.store}/{name}_{seed}.npz")["embedding"])
    methods = {
        "KMeans, 10 inits (the mixture's start)": lambda: KMeans(10, n_init=10, random_state=seed).fit_predict(E),
        "KMeans, 100 inits": lambda: KMeans(10, n_init=100, random_state=seed).fit_predict(E),
        "GaussianMixture, full": lambda: GaussianMixture(10, random_state=seed, n_init=3).fit_predict(E),
        "GaussianMixture, diagonal": lambda: GaussianMixture(10, covariance_type="diag", random_state=seed,
                                                             n_init=3).fit_predict(E),
        "Ward": lambda: AgglomerativeClustering(10).fit_predict(E),
    }
    return {method: scores(y, fit()) for method, fit in methods.items()}


def maps(args, name, seed, X, y):
    from umap.umap_ import general_simplicial_set_intersection, general_simplicial_set_union

    codes = np.load(f"{args.store}/{name}_{seed}.npz")["codes"]
    shape = (1, *b.as_square_images(X).shape[1:]) if args.images else None
    graphs = {}  # k: the codes' and the rows' graphs, built once for all the variants with that k
    out = {}
    for variant in args.variants:
        opts = dict(kv.split("=") for kv in variant.split("+")) if variant != "base" else {}
        k = int(opts.get("k", gmvae.UMAP_NEIGHBORS))
        if k not in graphs:
            graphs[k] = fuzzy_graph(codes, k, seed), fuzzy_graph(X, k, seed, image_shape=shape)
        of_codes, of_rows = graphs[k]
        graph = {"union": lambda: general_simplicial_set_union(of_codes, of_rows), "codes": lambda: of_codes,
                 "rows": lambda: of_rows, "sum": lambda: (of_codes + of_rows) / 2,
                 "inter": lambda: general_simplicial_set_intersection(of_codes, of_rows, float(opts.get("w", 0.5))),
                 }[opts.get("g", "union")]()
        E = umap_map(graph, seed, n_epochs=int(opts["ep"]) if "ep" in opts else None)
        out[variant] = scores(y, KMeans(10, n_init=10, random_state=seed).fit_predict(E))
    return out


def ensemble(args, name, seed, X, y):
    """Several maps of the built graph (the mean of the two), their layouts seeded apart, and one partition of them."""
    codes = np.load(f"{args.store}/{name}_{seed}.npz")["codes"]
    shape = (1, *b.as_square_images(X).shape[1:]) if args.images else None
    k = gmvae.UMAP_NEIGHBORS
    graph = (fuzzy_graph(codes, k, seed) + fuzzy_graph(X, k, seed, image_shape=shape)) / 2
    maps_, labels, inertia = [], [], []
    for m in range(args.n_maps):
        start = time.perf_counter()
        E = umap_map(graph, 1000 * seed + m)
        kmeans = KMeans(10, n_init=10, random_state=seed).fit(E)
        maps_.append(E), labels.append(kmeans.labels_), inertia.append(kmeans.inertia_)
        print(f"  [{name} seed {seed}] map {m}: ARI {adjusted_rand_score(y, kmeans.labels_):.3f} "
              f"inertia {kmeans.inertia_:.0f}, {time.perf_counter() - start:.0f} s", flush=True)
    agreement = np.array([[adjusted_rand_score(a, c) for c in labels] for a in labels])
    medoid = int(np.argmax(agreement.sum(1)))
    consensus, nearest = gmvae._consensus(maps_, 10, seed)  # as built (it splits each map again, as above)
    out = {"one map (the first)": scores(y, labels[0]),
           "the map nearest the consensus, its own KMeans": scores(y, labels[nearest]),
           "each map (mean of their scores)": tuple(np.mean([scores(y, lab) for lab in labels], axis=0)),
           "the medoid partition (most agreement with the others)": scores(y, labels[medoid]),
           "the tightest KMeans (least inertia)": scores(y, labels[int(np.argmin(inertia))]),
           "KMeans on the partitions' one-hot columns (co-association)": scores(y, consensus),
           "KMeans on the maps side by side": scores(y, KMeans(10, n_init=10, random_state=seed).fit_predict(
               np.concatenate(maps_, axis=1)))}
    print(f"  [{name} seed {seed}] agreement between maps: {agreement[np.triu_indices(len(labels), 1)].mean():.3f}",
          flush=True)
    return out


def start(args, name, seed, X, y):
    """A full fit as built, given images: the consensus it starts from, the kept map's own KMeans, and the end."""
    seen = {}
    consensus = gmvae._consensus

    def spy(maps, n_clusters, seed):
        seen["maps"], seen["result"] = maps, consensus(maps, n_clusters, seed)
        return seen["result"]

    gmvae._consensus = spy
    try:
        model = GaussianMixtureVAE(10, random_state=seed).fit(b.as_square_images(X))
    finally:
        gmvae._consensus = consensus
    labels, nearest = seen["result"]
    return {"the consensus of the maps (the mixture's start)": scores(y, labels),
            "KMeans on the kept map": scores(y, KMeans(10, n_init=10, random_state=seed).fit_predict(
                seen["maps"][nearest])),
            "the final labels_": scores(y, model.labels_)}


def ward_merged(labels, features, k):
    """``labels`` with the two clusters of least Ward cost in ``features`` merged until ``k`` are left."""
    labels = labels.copy()
    while len(clusters := np.unique(labels)) > k:
        sizes = np.array([np.sum(labels == c) for c in clusters])
        centres = np.array([features[labels == c].mean(0) for c in clusters])
        cost = np.outer(sizes, sizes) / np.add.outer(sizes, sizes) * ((centres[:, None] - centres[None]) ** 2).sum(-1)
        np.fill_diagonal(cost, np.inf)
        i, j = np.unravel_index(np.argmin(cost), cost.shape)
        labels[labels == clusters[j]] = clusters[i]
    return labels


def merges(args, name, seed, X, y):
    stored = np.load(f"{args.store}/{name}_{seed}.npz")
    E = gmvae._standardised(stored["embedding"])
    out = {}
    for over in (15, 20, 30):
        labels = KMeans(over, n_init=10, random_state=seed).fit_predict(E)
        for space, features in (("map", E), ("codes", stored["codes"]), ("pixels", X)):
            out[f"KMeans {over}, merged by Ward in the {space}"] = scores(y, ward_merged(labels, features, 10))
    return out


def shifts(args, name, seed, X, y):
    from umap.umap_ import general_simplicial_set_union

    codes = np.load(f"{args.store}/{name}_{seed}.npz")["codes"]
    of_codes, k = fuzzy_graph(codes, gmvae.UMAP_NEIGHBORS, seed), gmvae.UMAP_NEIGHBORS
    out = {}
    for variant in args.variants:
        if variant == "base":
            graph = general_simplicial_set_union(of_codes, fuzzy_graph(X, k, seed))
        else:
            shifted = fuzzy_union(*image_neighbors(X, (1, *b.as_square_images(X).shape[1:]), k, seed,
                                                        max_shift=int(variant[-1])))
            graph = shifted if variant.startswith("pixels") else general_simplicial_set_union(of_codes, shifted)
        out[variant] = scores(y, KMeans(10, n_init=10, random_state=seed).fit_predict(umap_map(graph, seed)))
    return out


def elbo(args, name, seed, X, y):
    prepare = GaussianMixtureVAE._prepare_training
    path = f"{args.store}/prepared_{name}{'_images' if args.images else ''}_{seed}.pt"
    if args.images:
        X = b.as_square_images(X)

    def cached(self, module, data, kind, seed, device):
        if not os.path.exists(path):
            target = prepare(self, module, data, kind, seed, device)
            torch.save({"module": module.state_dict(), "embedding": torch.from_numpy(self.embedding_)}, path)
            return target
        saved = torch.load(path)  # written by this script above
        module.load_state_dict(saved["module"])
        self.embedding_ = saved["embedding"].numpy()
        return saved["embedding"]

    out = {}
    GaussianMixtureVAE._prepare_training = cached
    criterion = GaussianMixtureVAE._criterion
    try:
        for variant in args.variants:
            opts = dict(kv.split("=") for kv in variant.split("+")) if variant != "base" else {}
            std = float(opts.pop("std", gmvae.ANCHOR_STD))
            GaussianMixtureVAE._criterion = lambda self, kind, std=std: gmvae.AnchoredELBOLoss(
                kind, self._kl_weight(), anchor_std=std)
            model = GaussianMixtureVAE(10, random_state=seed, **{key: int(v) for key, v in opts.items()}).fit(X)
            out[variant] = scores(y, model.labels_)
    finally:
        GaussianMixtureVAE._prepare_training, GaussianMixtureVAE._criterion = prepare, criterion
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=["capture", "partitions", "maps", "merges", "shifts", "elbo", "ensemble",
                                         "start"])
    parser.add_argument("--data", nargs="+", default=["digits"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=["base"])
    parser.add_argument("--store", default="/tmp/gmvae_maps")
    parser.add_argument("--images", action="store_true",
                        help="elbo: give the model images, not flat rows; maps: compare the rows as images")
    parser.add_argument("--n-maps", type=int, default=5, help="ensemble: maps a seed")
    args = parser.parse_args()
    os.makedirs(args.store, exist_ok=True)
    warnings.simplefilter("ignore")
    step = globals()[args.step]
    by_seed(args.data, args.seeds, lambda name, seed, X, y: step(args, name, seed, X, y))


if __name__ == "__main__":
    main()
