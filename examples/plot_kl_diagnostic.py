"""
How many latent dimensions does a VAE use?
==========================================

PCA tells how much of the variance each component explains
(``explained_variance_ratio_``); a VAE tells how much each latent dimension
departs from the prior, ``kl_per_dimension(X)``, the mean
``KL(q(z_j | x) || N(0, 1))`` in nats. A dimension with a KL near 0 has
collapsed onto the prior: it carries nothing about the data, and the decoder
ignores it. Asking for more dimensions than the data needs is therefore
harmless, and this plot shows how many the model chose to use.

Run it as ``python examples/plot_kl_diagnostic.py``.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from skvae import VAETransformer
from skvae.plotting import plot_kl_per_dimension

X = load_digits().data / 16
vae = VAETransformer(n_components=16, max_epochs=100, random_state=0).fit(X)
kl = vae.kl_per_dimension(X)
print(f"{(kl > 0.01).sum()} of 16 latent dimensions active; KL per digit {kl.sum():.2f} nats")

# %%
# The KL of each latent dimension, active ones in blue.
fig = plot_kl_per_dimension(vae, X)

# %%
# The same question asked of PCA: the share of variance of each component.
# PCA ranks its components; the VAE's active dimensions can be any of them.
pca = PCA(n_components=16).fit(X)
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.bar(np.arange(16), pca.explained_variance_ratio_, color="tab:green")
ax.set_xticks(np.arange(16))
ax.set_xlabel("principal component")
ax.set_ylabel("explained variance ratio")
ax.set_title("PCA: explained variance per component")
fig.tight_layout()
plt.show()
