"""Prototype for issue 27: where GaussianMixtureVAE's accuracy on the digits goes, and whether merging by the graph helps.

    python benchmarks/proto_cluster_merge.py --seeds 0 1
    python benchmarks/proto_cluster_merge.py --gmvae --seeds 2 0
    python benchmarks/proto_cluster_merge.py --gmvae --images --seeds 0

Without ``--gmvae``: UMAP-10 of the 1,797 digits' pixels (N2D's settings: 20
neighbours, min_dist 0), clustered into 10 by KMeans and a GaussianMixture,
and into 15, 20 and 30 KMeans clusters that are then merged, two at a time,
along the most graph weight between them (the pixels' fuzzy 15-NN graph;
divided by the smaller cluster's size, by the geometric mean of the two
volumes, or by the smaller volume) until 10 are left. With ``--gmvae``: the
default ``GaussianMixtureVAE(10)``'s final labels against KMeans and
GaussianMixtures on its map (``embedding_``; ``--images``: fitted on the
images, whose neighbours are found up to a pixel's shift) and on its codes after the
alignment step, and its clusters against the classes. ARI and accuracy after
Hungarian matching, as ``bench_usecases.py clustering`` reports them.
"""

import argparse
import sys

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

sys.path.insert(0, "benchmarks")
import bench_usecases as b  # noqa: E402
import skvae._gmvae as gmvae  # noqa: E402
from skvae import GaussianMixtureVAE  # noqa: E402
from skvae._neighbors import fuzzy_graph  # noqa: E402


def merged(labels, graph, k, norm):
    """``labels`` with the two clusters of most graph weight between them merged until ``k`` are left."""
    labels = labels.copy()
    while len(np.unique(labels)) > k:
        clusters, index = np.unique(labels, return_inverse=True)
        members = sp.csr_matrix((np.ones(len(labels)), (index, np.arange(len(labels)))))
        between = (members @ graph @ members.T).toarray()
        volume, size = between.sum(1), np.bincount(index)
        np.fill_diagonal(between, 0)
        scale = {"size": np.minimum.outer(size, size), "volume": np.sqrt(np.outer(volume, volume)),
                 "smaller volume": np.minimum.outer(volume, volume)}[norm]
        i, j = np.unravel_index(np.argmax(between / scale), between.shape)
        labels[labels == clusters[j]] = clusters[i]
    return labels


def report(name, y, labels):
    print(f"  {name}: ARI {adjusted_rand_score(y, labels):.3f} ACC {b.hungarian_accuracy(y, labels):.3f}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--gmvae", action="store_true")
    parser.add_argument("--images", action="store_true", help="give GaussianMixtureVAE the 8x8 images, not rows")
    args = parser.parse_args()
    X, y = b.clustering_data("digits")
    if args.gmvae:
        aligned = {}
        prepare = GaussianMixtureVAE._prepare_training

        def keep_aligned(self, module, data, kind, seed, device):
            target = prepare(self, module, data, kind, seed, device)
            aligned["codes"] = gmvae._posteriors(module, data)[0]
            return target

        GaussianMixtureVAE._prepare_training = keep_aligned
    for seed in args.seeds:
        print(f"seed {seed}")
        if args.gmvae:
            model = GaussianMixtureVAE(10, random_state=seed).fit(b.as_square_images(X) if args.images else X)
            report("final labels", y, model.labels_)
            report("KMeans on the map", y, KMeans(10, n_init=10, random_state=seed).fit_predict(model.embedding_))
            report("KMeans on the aligned codes (the mixture's start)", y,
                   KMeans(10, n_init=10, random_state=seed).fit_predict(aligned["codes"]))
            report("GaussianMixture (diagonal) on the aligned codes", y,
                   GaussianMixture(10, covariance_type="diag", random_state=seed).fit_predict(aligned["codes"]))
            counts = np.zeros((10, 10), int)
            np.add.at(counts, (model.labels_, y), 1)
            print("  clusters (rows) against classes (columns):\n" + str(counts))
            continue
        import umap

        embedding = umap.UMAP(n_components=10, n_neighbors=20, min_dist=0.0, random_state=seed).fit_transform(X)
        graph = fuzzy_graph(X, 15, seed)
        report("KMeans 10", y, KMeans(10, n_init=10, random_state=seed).fit_predict(embedding))
        report("GaussianMixture 10", y, GaussianMixture(10, random_state=seed).fit_predict(embedding))
        for over in (15, 20, 30):
            labels = KMeans(over, n_init=10, random_state=seed).fit_predict(embedding)
            for norm in ("size", "volume", "smaller volume"):
                report(f"KMeans {over}, merged by graph weight per {norm}", y, merged(labels, graph, 10, norm))


if __name__ == "__main__":
    main()
