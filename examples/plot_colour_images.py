"""
Colour images at 64x64, from a folder, with the samples measured
================================================================

The convolutional VAE on 64x64 colour images, judged as its samples and
interpolations are judged, and measured. The pictures come from a folder this
example makes: Fashion-MNIST garments (the digits when Fashion-MNIST is not
installed) enlarged to 64x64 and painted, each garment in a colour of its own
on a background of another. The folder is read as any folder of pictures is,
with :func:`skvae.datasets.load_image_folder`.

Beside the figures, :mod:`skvae.metrics` says how good the samples are: the
Fréchet distance between the features of real and generated images (lower is
better), and k-NN precision (how many samples look like some real image) and
recall (how much of the real images' variety the samples cover). The features
are 32 principal components of the real training images, which need no
pretrained network; held-out real images against the training images give the
best that a model could reach.

Run it as ``python examples/plot_colour_images.py`` (two and a half minutes
on 2 CPU cores). On 2026-12-01 it printed a Fréchet distance of 95.5 for the
samples against 4.3 for real images, precision 0.986 and recall 0.284: the
samples look like garments (blurred), and cover about a quarter of the real
images' variety after 25 epochs on 3,000 images.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import hsv_to_rgb
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from skvae import VAETransformer, plotting
from skvae.datasets import load_image_folder, load_mnist_like
from skvae.metrics import frechet_distance, knn_precision_recall

N_TRAIN, N_TEST, EPOCHS = 3000, 500, 25


def paint_folder(folder, n_images, seed=0):
    """Write ``n_images`` painted 64x64 PNG files into ``folder``."""
    try:
        shapes = load_mnist_like("fashion-mnist")[0]  # (60000, 28, 28) uint8
    except FileNotFoundError:
        shapes = (load_digits().images * 255 / 16).astype(np.uint8)
    rng = np.random.default_rng(seed)
    for i, index in enumerate(rng.choice(len(shapes), n_images, replace=False)):
        alpha = np.asarray(Image.fromarray(shapes[index]).resize((64, 64), Image.BICUBIC), dtype=float)[..., None] / 255
        garment = hsv_to_rgb([rng.uniform(), rng.uniform(0.6, 1.0), rng.uniform(0.7, 1.0)])
        background = hsv_to_rgb([rng.uniform(), rng.uniform(0.1, 0.5), rng.uniform(0.1, 0.5)])
        painted = np.clip(alpha * garment + (1 - alpha) * background, 0, 1)
        Image.fromarray((painted * 255).astype(np.uint8)).save(Path(folder) / f"{i:05d}.png")


with tempfile.TemporaryDirectory() as folder:
    paint_folder(folder, N_TRAIN + N_TEST)
    images, _ = load_image_folder(folder, verbose=False)  # (n, 3, 64, 64) uint8
X_train, X_test = images[:N_TRAIN], images[N_TRAIN:]

vae = VAETransformer(n_components=32, architecture="conv", max_epochs=EPOCHS, batch_size=32, validation_fraction=0.1,
                     random_state=0).fit(X_train)
print(f"trained {vae.n_iter_} epochs on {N_TRAIN} images; test ELBO {vae.score(X_test):.0f} nats per image")

# %%
# The samples, measured against held-out real images in the features of a PCA
# of the real training images. Rows are compared in [0, 1].
real_train = X_train.reshape(N_TRAIN, -1) / 255
real_test = X_test.reshape(N_TEST, -1) / 255
samples = vae.sample(N_TEST, random_state=0) / 255
features = PCA(32, random_state=0).fit(real_train)
floor = frechet_distance(real_test, real_train[:N_TEST], features=features)
floor_precision, floor_recall = knn_precision_recall(real_test, real_train[:N_TEST], features=features)
fd = frechet_distance(real_test, samples, features=features)
precision, recall = knn_precision_recall(real_test, samples, features=features)
print(f"samples:           Frechet distance {fd:7.2f}, precision {precision:.3f}, recall {recall:.3f}")
print(f"real images (best): Frechet distance {floor:7.2f}, precision {floor_precision:.3f}, "
      f"recall {floor_recall:.3f}")

# %%
# The loss per epoch, for the training rows and the tenth held out
# (``validation_fraction=0.1``): the two curves together mean no overfitting.
fig = plotting.plot_learning_curve(vae)

# %%
# Held-out images (top) and their reconstructions (bottom).
fig = plotting.plot_reconstructions(vae, X_test, n_images=10)

# %%
# New images: codes drawn from the prior, decoded. Their Fréchet distance,
# precision and recall are the figures printed above.
fig = plotting.plot_samples(vae, n_samples=36, random_state=0)

# %%
# From one held-out image to another along a great circle of the code space.
fig = plotting.plot_interpolation(vae, X_test[0], X_test[1], n_steps=10, method="spherical")
plt.show()
