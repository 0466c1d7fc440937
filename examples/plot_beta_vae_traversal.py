"""Latent traversals of a beta-VAE against a plain VAE.

A beta-VAE (KL weight beta > 1) is pushed towards codes whose dimensions
vary independently; a traversal sets one latent dimension at a time to
values from -3 to 3 around a digit's code. With beta=2 the beta-VAE leaves
one of its five dimensions unused (a flat row) and gives each of the others a
broader change of shape; the plain VAE uses all five. The digits are
binarised: 1,797 grey 8x8 images give a Bernoulli likelihood too little to
gain from a code, and beta=4 switches the code off altogether (KL near 0).

    python examples/plot_beta_vae_traversal.py --out figures/
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skvae import BetaVAETransformer, VAETransformer, plotting  # noqa: E402
from skvae.datasets import load_digits_images  # noqa: E402


def main(out):
    out.mkdir(parents=True, exist_ok=True)
    images, _ = load_digits_images()
    binary = (images > 0.4).astype("float32")
    for name, model in {
        "vae": VAETransformer(n_components=5, max_epochs=200, random_state=0),
        "beta_vae": BetaVAETransformer(n_components=5, beta=2.0, max_epochs=200, random_state=0),
    }.items():
        model.fit(binary)
        kl = model.history_[-1, "train_kl_loss"]
        print(f"{name}: ELBO {model.score(binary):.2f} nats, KL {kl:.2f} nats per digit")
        fig = plotting.plot_traversal(model, binary[0])
        fig.axes[0].set_title(f"{name}: one latent dimension per row, -3 to 3")
        fig.savefig(out / f"traversal_{name}.png", dpi=120, bbox_inches="tight")
        plt.close(fig)
        print(f"wrote {out}/traversal_{name}.png")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("examples-output"))
    main(parser.parse_args().out)
