"""
A 2-D map that keeps neighbourhoods, and still decodes
=======================================================

UMAP draws the 2-D maps users look at first: garments of a kind sit together.
A VAE's 2-D codes keep less of that, but they decode: any point of the map is
an image. For 2-D and 3-D codes skvae's defaults give both: the neighbourhood
term (``neighbor_weight="auto"``) trains the VAE with UMAP's own objective
beside its ELBO (the cross-entropy between the training rows' fuzzy neighbour
graph and their codes, as parametric UMAP does), so that its map keeps more of
the neighbourhoods while every point still decodes; and placement
(``placement="auto"``) lays the training images' codes out as UMAP lays out
its map, from where the encoder put them, and trains the model on to decode
them. New images are then placed among them as UMAP's own ``transform`` does,
instead of being encoded; from 4,096 training images (here 10,000), a small
network fitted to the laid-out codes maps them instead, tens of times faster.

This example draws the two maps of held-out Fashion-MNIST images side by side
(the digits when Fashion-MNIST is not installed), prints how well each keeps
neighbourhoods (5-NN accuracy of the held-out images' classes, and
trustworthiness with 10 neighbours) and how long each takes to transform
10,000 new images, then decodes the images along a straight path across the
skvae map, from one kind of garment to another.

Run it as ``python examples/plot_neighborhood_map.py`` (5 minutes on 2 CPU
cores). On 2026-12-04 it printed, for the 2,000 held-out images: UMAP 5-NN
accuracy 0.742, trustworthiness 0.975, 10,000 new images transformed in
4.07 s; skvae 0.730, 0.971, in 0.04 s (with placement's search instead of
the network, 2026-12-02: 0.722, 0.974, in 0.57 s). UMAP's map keeps classes
together and neighbourhoods a little better here (skvae's layout starts from
the codes its encoder drew, a weaker map of Fashion-MNIST than UMAP's own
start), skvae's transforms 100 times faster, and it decodes every point of
the path. See benchmarks/README.md, "Placing new rows as UMAP does",
"Laying the training codes out as UMAP lays out its map" and
"placement='auto' from 10,000 rows", for the measurements behind both
parameters: on the digits they bring the VAE's held-out 5-NN accuracy from
0.70 to 0.96, UMAP's level, and on 10,000 Fashion-MNIST images to 0.733
against UMAP's 0.737.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
import umap
from sklearn.datasets import load_digits
from sklearn.manifold import trustworthiness
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

from skvae import VAETransformer, plotting
from skvae.datasets import load_mnist_like

N_TRAIN, N_TEST = 10_000, 2_000
try:
    X_train, X_test, y_train, y_test = load_mnist_like("fashion-mnist")
    X_train, y_train, X_test, y_test = X_train[:N_TRAIN], y_train[:N_TRAIN], X_test[:N_TEST], y_test[:N_TEST]
    names = ["T-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]
    start_class, end_class = 1, 9  # from trousers to ankle boots
except FileNotFoundError:
    digits = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        (digits.images * 255 / 16).astype(np.uint8), digits.target, test_size=0.5, stratify=digits.target,
        random_state=0,
    )
    names = [str(d) for d in range(10)]
    start_class, end_class = 0, 7
rows_train = X_train.reshape(len(X_train), -1) / np.float32(255)
rows_test = X_test.reshape(len(X_test), -1) / np.float32(255)

# %%
# Fit both maps on the training images
# ------------------------------------
vae = VAETransformer(n_components=2, random_state=0).fit(X_train)  # the term and placement: the defaults for 2-D codes
reducer = umap.UMAP(n_components=2, random_state=0).fit(rows_train)
maps = {
    "UMAP": (reducer, rows_test, rows_train),
    "skvae VAE (defaults: neighbour term, laid out)": (vae, X_test, X_train),
}

fig, axes = plt.subplots(1, 2, figsize=(12, 5.5))
for ax, (title, (model, new, seen)) in zip(axes, maps.items()):
    codes = model.transform(new)
    accuracy = KNeighborsClassifier(5).fit(model.transform(seen), y_train).score(codes, y_test)
    trust = trustworthiness(rows_test, codes, n_neighbors=10)
    many = np.resize(new, (10_000, *new.shape[1:]))
    start = time.perf_counter()
    model.transform(many)
    seconds = time.perf_counter() - start
    print(f"{title}: 5-NN accuracy {accuracy:.3f}, trustworthiness {trust:.3f}, "
          f"10,000 new images transformed in {seconds:.2f} s")
    scatter = ax.scatter(codes[:, 0], codes[:, 1], c=y_test, cmap="tab10", s=4)
    ax.set_title(f"{title}\nheld-out 5-NN accuracy {accuracy:.3f}")
    ax.set_xticks([])
    ax.set_yticks([])
handles = [plt.Line2D([], [], marker="o", ls="", color=plt.cm.tab10(c / 9)) for c in range(10)]
fig.legend(handles, names, loc="center right")

# %%
# Decode along a path across the skvae map
# ----------------------------------------
# A straight line from the middle of one kind of garment to the middle of
# another: every point of it decodes to an image, which UMAP's map cannot do
# without its slow ``inverse_transform``.
codes = vae.transform(X_test)
start, end = (np.median(codes[y_test == c], axis=0) for c in (start_class, end_class))
path = np.linspace(start, end, 12)
axes[1].plot(path[:, 0], path[:, 1], "k.-", lw=1)
images = vae.as_images(vae.inverse_transform(path))
fig_path, ax_path = plt.subplots(figsize=(12, 1.6))
ax_path.imshow(plotting.mosaic(images, n_cols=len(path), fill=0), cmap="gray_r")
ax_path.set_title(f"decoded along the path on the skvae map: {names[start_class]} to {names[end_class]}")
ax_path.axis("off")
plt.show()
