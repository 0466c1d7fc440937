"""
The classic VAE figures on the digits
=====================================

A VAE with a 2-D latent space, trained on the 8x8 digits that ship with
scikit-learn, and the five figures every VAE tutorial shows: the decoded
latent manifold (as in the Keras VAE example), reconstructions of held-out
digits, samples from the prior, an interpolation between two real digits,
and the learning curve. Each is one call to :mod:`skvae.plotting`, which
returns a matplotlib figure.

Run it as ``python examples/plot_digits_vae.py``.
"""

import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split

from skvae import VAETransformer, plotting
from skvae.datasets import load_digits_images

images, labels = load_digits_images()
X_train, X_test, y_train, y_test = train_test_split(images, labels, test_size=0.2, stratify=labels, random_state=0)
vae = VAETransformer(n_components=2, max_epochs=150, random_state=0).fit(X_train)
print(f"test ELBO: {vae.score(X_test):.2f} nats per digit")

# %%
# The decoder's mean over a grid of the 2-D latent space, at the quantiles of
# the prior: neighbouring codes decode to similar digits.
fig = plotting.plot_latent_manifold(vae, n_per_side=20)

# %%
# Held-out digits (top) and their reconstructions (bottom).
fig = plotting.plot_reconstructions(vae, X_test, n_images=12)

# %%
# New digits: codes drawn from the prior ``N(0, I)``, decoded.
fig = plotting.plot_samples(vae, n_samples=64, random_state=0)

# %%
# From a 7 to a 1 along a great circle of the latent space (``method="spherical"``).
seven, one = X_test[y_test == 7][0], X_test[y_test == 1][0]
fig = plotting.plot_interpolation(vae, seven, one, n_steps=12, method="spherical")

# %%
# The loss (negative ELBO) per epoch, its reconstruction part and its KL part.
fig = plotting.plot_learning_curve(vae)
plt.show()
