"""Prototype for issue 27: which neighbour graph GaussianMixtureVAE's map should be built from.

    python benchmarks/proto_gmvae_maps.py --data digits --seeds 0 1 2
    python benchmarks/proto_gmvae_maps.py --data fashion-mnist --seeds 0 1

Pretrains GaussianMixtureVAE as its defaults do (the fit is stopped when it
asks for the map), then builds UMAP maps (N2D's settings: 20 neighbours,
min_dist 0, 10-D) from several fuzzy graphs and prints KMeans's ARI on each
standardised map: the alignment's target, which the final labels follow to
within 0.01 to 0.03 (benchmarks/README.md, "What GaussianMixtureVAE's map
should be of"). Graphs: the pretrained codes' (the default), the pixels',
their intersection and their union (umap-learn's own set operations, as in
``UMAP.__mul__`` and ``__add__``).
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from skvae import GaussianMixtureVAE, _gmvae
from skvae._neighbors import fuzzy_graph as skvae_fuzzy_graph
from skvae.datasets import load_digits_images, load_mnist_like


class _Stop(Exception):
    pass


def pretrained_codes(X, seed, k=10):
    """The codes GaussianMixtureVAE maps, after its default pretraining."""
    seen = {}

    def capture(codes, rows, n_components, seed, **kwargs):
        seen["codes"] = codes
        raise _Stop

    original, _gmvae._umap_maps = _gmvae._umap_maps, capture
    try:
        GaussianMixtureVAE(k, random_state=seed).fit(X)
    except _Stop:
        pass
    finally:
        _gmvae._umap_maps = original
    return seen["codes"]


def fuzzy_graph(X, seed):
    """The graph of X that GaussianMixtureVAE builds (skvae's own builder, with N2D's 20 neighbours)."""
    return skvae_fuzzy_graph(X, _gmvae.UMAP_NEIGHBORS, seed)


def embed(graph, seed, dim=10):
    import scipy.sparse.csgraph
    from umap.umap_ import find_ab_params, simplicial_set_embedding

    a, b = find_ab_params(1.0, _gmvae.UMAP_MIN_DIST)
    init = "spectral" if scipy.sparse.csgraph.connected_components(graph)[0] == 1 else "random"
    embedding, _ = simplicial_set_embedding(
        None, graph.tocoo(), dim, 1.0, a, b, 1.0, 5, None, init, np.random.RandomState(seed),
        "euclidean", {}, False, {}, False)
    return (embedding - embedding.mean(0)) / embedding.std()


def graphs(codes, pixels, seed):
    from umap.umap_ import general_simplicial_set_intersection, general_simplicial_set_union, \
        reset_local_connectivity

    g_codes, g_pixels = fuzzy_graph(codes, seed), fuzzy_graph(pixels, seed)
    both = reset_local_connectivity(general_simplicial_set_intersection(g_codes, g_pixels, 0.5), True)
    either = reset_local_connectivity(general_simplicial_set_union(g_codes, g_pixels), True)
    return {"codes": g_codes, "pixels": g_pixels, "codes ∩ pixels": both, "codes ∪ pixels": either}


def load(name):
    if name in ("wine", "iris", "breast_cancer"):  # small tabular data sets, scaled to [0, 1]
        import sklearn.datasets
        from sklearn.preprocessing import MinMaxScaler

        X, y = getattr(sklearn.datasets, f"load_{name}")(return_X_y=True)
        return MinMaxScaler().fit_transform(X).astype(np.float32), y
    if name == "digits":
        images, y = load_digits_images()
        return images.reshape(len(images), -1).astype(np.float32), y
    _, X, _, y = load_mnist_like(name)
    return (X.reshape(len(X), -1) / 255).astype(np.float32), y


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="digits")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    X, y = load(args.data)
    k = len(np.unique(y))
    scores = {}
    for seed in args.seeds:
        start = time.perf_counter()
        codes = pretrained_codes(X, seed, k)
        print(f"[seed {seed}] pretrained in {time.perf_counter() - start:.0f} s", flush=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, graph in graphs(codes, X, seed).items():
                start = time.perf_counter()
                labels = KMeans(k, n_init=10, random_state=seed).fit_predict(embed(graph, seed))
                ari = adjusted_rand_score(y, labels)
                scores.setdefault(name, []).append(ari)
                print(f"[seed {seed}] {name}: KMeans ARI {ari:.3f} ({time.perf_counter() - start:.0f} s, "
                      f"{graph.nnz} edges)", flush=True)
    for name, values in scores.items():
        print(f"{args.data} | {name} | {np.mean(values):.3f} ± {np.std(values):.3f} | "
              f"{', '.join(f'{v:.3f}' for v in values)}")


if __name__ == "__main__":
    main()
