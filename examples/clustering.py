"""
Clustering with GaussianMixtureVAE
==================================

The digits (and Fashion-MNIST, when installed) clustered by a VAE with a
mixture prior, next to KMeans on raw pixels and on UMAP codes, then a row of
generated images per cluster.

    python examples/clustering.py
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
import umap
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from skvae import GaussianMixtureVAE
from skvae.datasets import load_digits_images, load_mnist_like
from skvae.plotting import plot_cluster_samples

data = {}
images, y = load_digits_images()
data["digits"] = (images, y)
try:
    _, X_test, _, y_test = load_mnist_like("fashion-mnist")
    data["Fashion-MNIST test"] = (X_test, y_test)
except (FileNotFoundError, OSError):
    print("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist): digits only.")

for name, (images, y) in data.items():
    rows = images.reshape(len(images), -1).astype(np.float32)
    rows /= 255 if images.dtype == np.uint8 else 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # UMAP's notes about threads and seeds
        kmeans_pixels = KMeans(10, n_init=10, random_state=0).fit_predict(rows)
        kmeans_umap = KMeans(10, n_init=10, random_state=0).fit_predict(
            umap.UMAP(n_components=10, random_state=0).fit_transform(rows))
    model = GaussianMixtureVAE(n_clusters=10, image_shape=images.shape[1:], random_state=0)
    labels = model.fit_predict(rows)
    print(f"{name}: ARI  KMeans on pixels {adjusted_rand_score(y, kmeans_pixels):.3f}  "
          f"KMeans on UMAP-10 {adjusted_rand_score(y, kmeans_umap):.3f}  "
          f"GaussianMixtureVAE {adjusted_rand_score(y, labels):.3f}")
    if name == "digits":
        digits_model = model

# %%
# Each row: new digits drawn from one component of the mixture prior.
fig = plot_cluster_samples(digits_model, n_per_cluster=12, random_state=0)
plt.show()
