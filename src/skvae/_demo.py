"""The demo behind ``python -m skvae demo``: train, print test metrics, write figures.

It uses only the public estimator, dataset and plotting APIs, as a user's script would.
"""

import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import train_test_split

from . import plotting
from ._cvae import ConditionalVAETransformer
from ._estimators import AutoencoderTransformer, BetaVAETransformer, VAETransformer
from ._vqvae import VQVAETransformer
from .datasets import load_digits_images, load_image_folder, load_mnist_like

MODELS = {
    "vae": VAETransformer,
    "beta-vae": BetaVAETransformer,
    "ae": AutoencoderTransformer,
    "cvae": ConditionalVAETransformer,
    "vq-vae": VQVAETransformer,
}

# data: (default epochs, default architecture)
DEFAULTS = {"digits": (100, "mlp"), "fashion-mnist": (10, "mlp"), "folder": (50, "conv")}


def load_demo_data(data, random_state=0):
    """Train and test images (and labels, None for a folder) for a --data value."""
    if data == "digits":
        images, target = load_digits_images()
        return train_test_split(images, target, test_size=0.2, stratify=target, random_state=random_state)
    if data == "fashion-mnist":
        return load_mnist_like("fashion-mnist")
    folder = Path(data)
    if not folder.is_dir():
        raise SystemExit(
            f"--data {data!r}: expected 'digits', 'fashion-mnist' or a folder of images, "
            "and there is no such folder."
        )
    images, _ = load_image_folder(folder, image_size=(64, 64))
    X_train, X_test = train_test_split(images, test_size=0.2, random_state=random_state)
    return X_train, X_test, None, None


def run_demo(
    model="vae",
    data="digits",
    epochs=None,
    n_components=2,
    architecture=None,
    out="skvae-demo",
    random_state=0,
    verbose=1,
    echo=print,
):
    """Train ``model`` on ``data``, report test metrics, write the figures to ``out``.

    Returns
    -------
    metrics : dict
        ``test_score`` (the estimator's ``score`` on the test images, in
        nats per image, higher is better), ``score_name`` (what that score
        is: ``"ELBO"``, or ``"reconstruction log-likelihood"`` for a model
        without a posterior, which is not comparable), ``test_mse`` (mean
        squared reconstruction error of pixel intensities in [0, 1]),
        ``kmeans_ari`` (adjusted Rand index of KMeans on the test codes, None
        without labels) and ``figures`` (the paths written).
    """
    kind = data if data in DEFAULTS else "folder"
    default_epochs, default_architecture = DEFAULTS[kind]
    X_train, X_test, y_train, y_test = load_demo_data(data, random_state)
    supervised = MODELS[model]().__sklearn_tags__().target_tags.required
    if supervised and y_train is None:
        raise SystemExit(f"--model {model} trains on class labels, and a folder of images has none.")
    estimator = MODELS[model](
        n_components=n_components,
        architecture=architecture or default_architecture,
        max_epochs=default_epochs if epochs is None else epochs,
        validation_fraction=0.1,  # for the validation curve of the learning-curve figure
        random_state=random_state,
        verbose=verbose,
    )
    shape = "x".join(map(str, X_train.shape[1:]))
    echo(f"Training {estimator!r}\n  on {len(X_train)} images of {shape} from {data}")
    start = time.perf_counter()
    estimator.fit(X_train, y_train)  # the unsupervised models ignore y
    seconds = time.perf_counter() - start

    codes = estimator.transform(X_test)
    scale = estimator.input_scale_
    rows = X_test.reshape(len(X_test), -1) / scale
    reconstructions = estimator.inverse_transform(codes) / scale
    metrics = {
        "test_score": estimator.score(X_test),
        # a deterministic code has no KL term: its score is log p(x | code) alone, higher than an ELBO
        "score_name": "ELBO" if estimator._module_class.stochastic else "reconstruction log-likelihood",
        "test_mse": float(((rows - reconstructions) ** 2).mean()),
        "kmeans_ari": None,
    }
    if y_test is not None:
        clusters = KMeans(n_clusters=len(np.unique(y_test)), n_init=10, random_state=random_state)
        metrics["kmeans_ari"] = adjusted_rand_score(y_test, clusters.fit_predict(codes))
    echo(f"Trained {estimator.n_iter_} epochs in {seconds:.1f} s. On {len(X_test)} held-out images:")
    if metrics["score_name"] == "ELBO":
        echo(f"  test ELBO            {metrics['test_score']:9.3f} nats per image (higher is better)")
    else:
        echo(f"  test reconstruction log-likelihood {metrics['test_score']:.3f} nats per image (higher is "
             "better; no KL term, so not comparable with a VAE's ELBO)")
    echo(f"  reconstruction MSE   {metrics['test_mse']:9.4f} (intensities in [0, 1])")
    if metrics["kmeans_ari"] is not None:
        echo(f"  KMeans-on-codes ARI  {metrics['kmeans_ari']:9.3f} (clusters vs. true labels)")

    metrics["figures"] = write_figures(estimator, X_test, y_test, Path(out), random_state)
    echo(f"Wrote {len(metrics['figures'])} figures to {Path(out).resolve()}:")
    for path in metrics["figures"]:
        echo(f"  {path.name}")
    return metrics


def write_figures(estimator, X_test, y_test, out, random_state=0):
    """Save every plot that applies to the model as a PNG in ``out``."""
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    # interpolate between the first test image and the first of another class
    other = 1 if y_test is None else int(np.flatnonzero(y_test != y_test[0])[0])
    figures = {
        "reconstructions": lambda: plotting.plot_reconstructions(estimator, X_test),
        "samples": lambda: plotting.plot_samples(estimator, random_state=random_state),
        "interpolation": lambda: plotting.plot_interpolation(estimator, X_test[0], X_test[other]),
        "latent_space": lambda: plotting.plot_latent_space(estimator, X_test, y_test),
        "traversal": lambda: plotting.plot_traversal(estimator, X_test[0]),
        "learning_curve": lambda: plotting.plot_learning_curve(estimator),
    }
    if hasattr(estimator, "classes_"):
        figures["class_samples"] = lambda: plotting.plot_class_samples(estimator, random_state=random_state)
    if hasattr(estimator, "kl_per_dimension"):  # a prior that factorises over the dimensions
        figures["kl_per_dimension"] = lambda: plotting.plot_kl_per_dimension(estimator, X_test)
    if estimator.n_components == 2:
        figures["latent_manifold"] = lambda: plotting.plot_latent_manifold(estimator)
    written = []
    for name, draw in figures.items():
        fig = draw()
        path = out / f"{name}.png"
        fig.savefig(path, dpi=120, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    return written
