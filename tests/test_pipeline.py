"""skvae inside scikit-learn's composition tools: Pipeline and GridSearchCV."""

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from skvae import BetaVAETransformer, VAETransformer


def test_scaler_vae_kmeans_pipeline_on_digits():
    X, y = load_digits(return_X_y=True)
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("vae", VAETransformer(n_components=8, max_epochs=20, random_state=0)),
            ("kmeans", KMeans(10, n_init=10, random_state=0)),
        ]
    )
    labels = pipe.fit(X).predict(X)
    assert pipe.named_steps["vae"].reconstruction_loss_ == "mse"
    assert set(labels) == set(range(10))
    assert adjusted_rand_score(y, labels) > 0.3  # chance is 0


def test_grid_search_with_default_scoring_in_parallel():
    X = load_digits().data[:900] / 16
    search = GridSearchCV(
        BetaVAETransformer(max_epochs=10, random_state=0),
        {"n_components": [2, 8], "beta": [1.0, 4.0]},
        cv=3,
        n_jobs=2,
    ).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and len(scores) == 4
    assert search.best_score_ == scores.max()
    assert search.best_params_ == search.cv_results_["params"][int(np.argmax(scores))]
    check_is_fitted(search.best_estimator_)
    assert search.best_estimator_.n_components == search.best_params_["n_components"]
    # the default scoring is the estimator's own score, the mean ELBO
    assert search.score(X) == search.best_estimator_.score(X)
