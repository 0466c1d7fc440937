"""
Latent traversals of a beta-VAE against a plain VAE
===================================================

A beta-VAE (KL weight beta > 1) is pushed towards codes whose dimensions
vary independently; a traversal sets one latent dimension at a time to
values from -3 to 3 around a digit's code. With beta=2 the beta-VAE leaves
one of its five dimensions unused (a flat row) and gives each of the others a
broader change of shape; the plain VAE uses all five. The digits are
binarised: 1,797 grey 8x8 images give a Bernoulli likelihood too little to
gain from a code, and beta=4 switches the code off altogether (KL near 0).

Run it as ``python examples/plot_beta_vae_traversal.py``.
"""

import matplotlib.pyplot as plt

from skvae import BetaVAETransformer, VAETransformer, plotting
from skvae.datasets import load_digits_images

images, _ = load_digits_images()
binary = (images > 0.4).astype("float32")
models = {
    "VAE": VAETransformer(n_components=5, max_epochs=200, random_state=0),
    "beta-VAE, beta=2": BetaVAETransformer(n_components=5, beta=2.0, max_epochs=200, random_state=0),
}
for name, model in models.items():
    model.fit(binary)
    kl = model.history_[-1, "train_kl_loss"]
    print(f"{name}: ELBO {model.score(binary):.2f} nats, KL {kl:.2f} nats per digit")

# %%
# One latent dimension per row, from -3 to 3, the others held at the digit's code.
for name, model in models.items():
    fig = plotting.plot_traversal(model, binary[0])
    fig.axes[0].set_title(f"{name}: one latent dimension per row, -3 to 3")

# %%
# Which dimensions each model uses: the KL of each from the prior (a flat
# traversal row is a dimension with a KL near 0).
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
for ax, (name, model) in zip(axes, models.items()):
    plotting.plot_kl_per_dimension(model, binary, ax=ax)
    ax.set_title(name)
fig.tight_layout()
plt.show()
