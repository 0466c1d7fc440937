"""The classic VAE figures on the embedded digits, in one script.

Trains a VAE with a 2-D latent space and writes five figures: the decoded
latent manifold (as in the Keras VAE example), reconstructions of held-out
digits, samples from the prior, an interpolation between two real digits, and
the learning curve.

    python examples/plot_digits_vae.py --out figures/
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from skvae import VAETransformer, plotting  # noqa: E402
from skvae.datasets import load_digits_images  # noqa: E402


def main(out):
    out.mkdir(parents=True, exist_ok=True)
    images, labels = load_digits_images()
    X_train, X_test, y_train, y_test = train_test_split(images, labels, test_size=0.2, stratify=labels,
                                                        random_state=0)
    vae = VAETransformer(n_components=2, max_epochs=150, random_state=0, verbose=1).fit(X_train)
    print(f"test ELBO: {vae.score(X_test):.2f} nats per digit")

    seven, one = X_test[y_test == 7][0], X_test[y_test == 1][0]
    figures = {
        "latent_manifold": plotting.plot_latent_manifold(vae, n_per_side=20),
        "reconstructions": plotting.plot_reconstructions(vae, X_test, n_images=12),
        "prior_samples": plotting.plot_samples(vae, n_samples=64, random_state=0),
        "interpolation": plotting.plot_interpolation(vae, seven, one, n_steps=12, method="spherical"),
        "learning_curve": plotting.plot_learning_curve(vae),
    }
    for name, fig in figures.items():
        fig.savefig(out / f"{name}.png", dpi=120, bbox_inches="tight")
        plt.close(fig)
        print(f"wrote {out / name}.png")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("examples-output"))
    main(parser.parse_args().out)
