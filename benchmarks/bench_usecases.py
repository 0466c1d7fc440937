"""The three use-cases, skvae against what users would pick instead.

Every method runs in this one process on the same data and split:

  clustering   KMeans (10 clusters, 10 inits) on raw pixels, PCA, UMAP (when
               umap-learn is installed) and skvae codes of the same dimension;
               adjusted Rand index and normalised mutual information. Each
               embedding is fitted on the images it clusters.
  reduction    k-NN accuracy (k=5, fitted on the training codes, scored on
               the test codes) and trustworthiness (5 neighbours, on up to
               2,000 test images) of PCA and skvae at 2 and 10 dimensions.
  anomaly      the one-class protocol: train on the training images of one
               class, score every test image, normal = that class; ROC-AUC
               per class and its mean, for IsolationForest, PCA-20
               reconstruction error, PyOD's AutoEncoder and VAE with their
               defaults (when pyod is installed) and every skvae score.

    python benchmarks/bench_usecases.py clustering reduction anomaly --data digits fashion-mnist

Data: the embedded digits (split 50/50, stratified, for reduction and
anomaly; all 1,797 for clustering) and Fashion-MNIST's 60,000 training and
10,000 test images (clustering: the test images), when installed.
"""

import argparse
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
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

from skvae import AutoencoderOutlierDetector, AutoencoderTransformer, VAETransformer
from skvae._outlier import SCORES
from skvae.datasets import load_digits_images, load_mnist_like

SEED = 0
IMAGE_SHAPES = {"digits": (8, 8), "fashion-mnist": (28, 28), "mnist": (28, 28)}


def load(name):
    """(X_train, X_test, y_train, y_test) as flat rows in [0, 1] (float32)."""
    if name == "digits":
        images, target = load_digits_images()
        rows = images.reshape(len(images), -1)
        return train_test_split(rows, target, test_size=0.5, stratify=target, random_state=SEED)
    X_train, X_test, y_train, y_test = load_mnist_like(name)
    scale = np.float32(255)
    return X_train.reshape(len(X_train), -1) / scale, X_test.reshape(len(X_test), -1) / scale, y_train, y_test


# ------------------------------------------------------------------ models
# The skvae settings each use-case uses; the same for both data sets.


def clustering_model(dim):
    # the encoder of the deep clustering literature (DEC, IDEC): d-500-500-2000-dim
    return AutoencoderTransformer(n_components=dim, hidden_layer_sizes=(500, 500, 2000), max_epochs=100,
                                  random_state=SEED)


def reduction_model(dim):
    return VAETransformer(n_components=dim, max_epochs=100, random_state=SEED)


def anomaly_model(image_shape):
    # the image shape lets the scaled scores pool residuals over 2x2 blocks (28x28 only)
    return VAETransformer(n_components=16, image_shape=image_shape, max_epochs=100, random_state=SEED)


# -------------------------------------------------------------- use-cases


def umap_or_none(dim):
    try:
        import umap
    except ImportError:
        return None
    return umap.UMAP(n_components=dim, random_state=SEED)


def bench_clustering(name, dim=10):
    X_train, X_test, y_train, y_test = load(name)
    X, y = (np.concatenate([X_train, X_test]), np.concatenate([y_train, y_test])) if name == "digits" \
        else (X_test, y_test)
    embeddings = {"raw pixels": lambda: X, f"PCA-{dim}": lambda: PCA(dim, random_state=SEED).fit_transform(X)}
    if umap_or_none(dim) is not None:
        embeddings[f"UMAP-{dim}"] = lambda: umap_or_none(dim).fit_transform(X)
    embeddings[f"skvae-{dim}"] = lambda: clustering_model(dim).fit_transform(X)
    rows = []
    for method, embed in embeddings.items():
        start = time.perf_counter()
        codes = embed()
        labels = KMeans(10, n_init=10, random_state=SEED).fit_predict(codes)
        rows.append((name, len(X), method, adjusted_rand_score(y, labels), normalized_mutual_info_score(y, labels),
                     time.perf_counter() - start))
    return rows


def bench_reduction(name, dims=(2, 10)):
    X_train, X_test, y_train, y_test = load(name)
    sub = np.random.RandomState(SEED).permutation(len(X_test))[:2000]
    rows = []
    for dim in dims:
        for method, model in ((f"PCA", PCA(dim, random_state=SEED)), ("skvae", reduction_model(dim))):
            start = time.perf_counter()
            Z_train = model.fit_transform(X_train)
            Z_test = model.transform(X_test)
            seconds = time.perf_counter() - start
            accuracy = KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test)
            trust = trustworthiness(X_test[sub], Z_test[sub], n_neighbors=5)
            rows.append((name, dim, method, accuracy, trust, seconds))
    return rows


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


def bench_anomaly(name):
    """ROC-AUC per class (rows: method, columns: class) for the one-class protocol."""
    X_train, X_test, y_train, y_test = load(name)
    classes = np.unique(y_train)
    aucs = {}

    def record(method, c, normality):
        aucs.setdefault(method, {})[c] = roc_auc_score(y_test == c, normality)

    for c in classes:
        X_c = X_train[y_train == c]
        start = time.perf_counter()
        record("IsolationForest", c, IsolationForest(random_state=SEED).fit(X_c).score_samples(X_test))
        pca = PCA(20, random_state=SEED).fit(X_c)
        record("PCA-20 reconstruction", c, -((X_test - pca.inverse_transform(pca.transform(X_test))) ** 2).sum(1))
        for method, make in pyod_detectors().items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                record(method, c, -make().fit(X_c).decision_function(X_test))
        detector = AutoencoderOutlierDetector(anomaly_model(IMAGE_SHAPES[name])).fit(X_c)
        for score in SCORES:
            # every score's statistics are fitted at once; only the choice changes
            record(f"skvae {score}", c, detector.set_params(anomaly_score=score).score_samples(X_test))
        print(f"  [{name}] class {c} done in {time.perf_counter() - start:.0f} s", flush=True)
    return classes, aucs


# ------------------------------------------------------------------- main


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("usecases", nargs="+", choices=["clustering", "reduction", "anomaly"])
    parser.add_argument("--data", nargs="+", default=["digits", "fashion-mnist"])
    args = parser.parse_args(argv)
    print(f"# skvae use-case benchmarks, {time.strftime('%Y-%m-%d')}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads); random_state={SEED}\n")
    tables = {
        "clustering": ("Clustering: KMeans(10 clusters, n_init=10)", bench_clustering,
                       ["data", "images", "embedding", "ARI", "NMI", "seconds"]),
        "reduction": ("Dimensionality reduction", bench_reduction,
                      ["data", "dims", "method", "5-NN accuracy", "trustworthiness (5)", "fit+transform s"]),
    }
    for usecase, (title, bench, header) in tables.items():
        if usecase in args.usecases:
            print(f"## {title}\n")
            print("| " + " | ".join(header) + " |\n" + "|---" * len(header) + "|")
            for name in args.data:
                for row in bench(name):
                    print("| {} | {} | {} | {:.3f} | {:.3f} | {:.0f} |".format(*row), flush=True)
            print()
    if "anomaly" in args.usecases:
        for name in args.data:
            classes, aucs = bench_anomaly(name)
            print(f"## Anomaly detection, one-class protocol, {name}: ROC-AUC\n")
            print("| method | mean | " + " | ".join(f"class {c}" for c in classes) + " |")
            print("|---|---|" + "---|" * len(classes))
            for method, per_class in sorted(aucs.items(), key=lambda item: -np.mean(list(item[1].values()))):
                values = [per_class[c] for c in classes]
                print(f"| {method} | **{np.mean(values):.3f}** | " + " | ".join(f"{v:.3f}" for v in values) + " |",
                      flush=True)
            print()


if __name__ == "__main__":
    main()
