"""The demo behind ``python -m skvae demo``: train on digits, print metrics.

It uses only the public estimator API, as a user's script would.
"""

import time

from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import train_test_split

from ._estimators import AutoencoderTransformer, BetaVAETransformer, VAETransformer

MODELS = {
    "vae": VAETransformer,
    "beta-vae": BetaVAETransformer,
    "ae": AutoencoderTransformer,
}


def run_demo(model="vae", epochs=100, n_components=2, random_state=0, verbose=1, echo=print):
    """Train ``model`` on the digits, report test metrics and return them.

    Returns
    -------
    metrics : dict
        ``test_elbo`` (nats per image, higher is better), ``test_mse`` (mean
        squared reconstruction error of pixels in [0, 1]) and ``kmeans_ari``
        (adjusted Rand index of KMeans with 10 clusters on the test codes).
    """
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16, y, test_size=0.2, stratify=y, random_state=random_state
    )
    estimator = MODELS[model](
        n_components=n_components, max_epochs=epochs, random_state=random_state, verbose=verbose
    )
    echo(f"Training {estimator!r} on {len(X_train)} digits (8x8 pixels in [0, 1])")
    start = time.perf_counter()
    estimator.fit(X_train)
    seconds = time.perf_counter() - start

    codes = estimator.transform(X_test)
    reconstructions = estimator.inverse_transform(codes)
    clusters = KMeans(n_clusters=10, n_init=10, random_state=random_state).fit_predict(codes)
    metrics = {
        "test_elbo": estimator.score(X_test),
        "test_mse": float(((X_test - reconstructions) ** 2).mean()),
        "kmeans_ari": adjusted_rand_score(y_test, clusters),
    }
    echo(f"Trained {estimator.n_iter_} epochs in {seconds:.1f} s. On {len(X_test)} held-out digits:")
    echo(f"  test ELBO            {metrics['test_elbo']:9.3f} nats per image (higher is better)")
    echo(f"  reconstruction MSE   {metrics['test_mse']:9.4f} (pixels in [0, 1])")
    echo(f"  KMeans-on-codes ARI  {metrics['kmeans_ari']:9.3f} (10 clusters vs. true digits)")
    return metrics
