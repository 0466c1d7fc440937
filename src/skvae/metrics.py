"""How close generated rows are to real ones, in a feature space you choose.

The measures a user of generative models reaches for when Inception weights
are out of reach: the Fréchet distance between Gaussians fitted to the
features of real and generated rows (the "FID" when the features are
Inception's), and k-NN precision and recall (Kynkäänniemi et al., 2019),
which say separately whether generated rows look real (precision) and
whether the real rows' variety is covered (recall).

Each function takes two arrays of rows and, optionally, ``features``: a
fitted transformer (a classifier's hidden layer wrapped as a transformer, a
:class:`~sklearn.decomposition.PCA`, an skvae encoder) whose ``transform``
maps both arrays first. Pixels themselves are a poor feature space; a small
classifier trained on the real images is a good one.
"""

from numbers import Integral

import numpy as np
from sklearn.metrics import pairwise_distances_chunked
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import HasMethods, Interval, validate_params
from sklearn.utils.validation import check_array, check_is_fitted

__all__ = ["frechet_distance", "knn_precision_recall"]


def _feature_rows(X_real, X_generated, features, min_samples):
    """Both arrays mapped by ``features`` (if given) and validated as float64 rows of equal width."""
    if features is not None:
        if hasattr(features, "fit"):  # an estimator: say so if it was never fitted
            check_is_fitted(features)
        X_real, X_generated = features.transform(X_real), features.transform(X_generated)
    arrays = []
    for name, X in (("X_real", X_real), ("X_generated", X_generated)):
        arrays.append(check_array(X, dtype=np.float64, ensure_min_samples=min_samples, input_name=name))
    if arrays[0].shape[1] != arrays[1].shape[1]:
        raise ValueError(
            f"X_real has {arrays[0].shape[1]} features and X_generated {arrays[1].shape[1]}: both must "
            "be rows of the same feature space (pass features= to map both the same way)."
        )
    return arrays


@validate_params(
    {"X_real": ["array-like"], "X_generated": ["array-like"], "features": [HasMethods("transform"), None]},
    prefer_skip_nested_validation=True,
)
def frechet_distance(X_real, X_generated, *, features=None):
    """Fréchet distance between Gaussians fitted to real and generated rows; 0 is best.

    ``|m_r - m_g|^2 + Tr(C_r + C_g - 2 (C_r C_g)^(1/2))`` for the means and
    covariances (``np.cov``, ``ddof=1``) of the two sets of rows: the squared
    2-Wasserstein distance between the two Gaussians. With Inception
    features this is the FID. It is symmetric, and shifting one set by a
    vector ``c`` adds ``|c|^2``. It compares the first two moments only, and
    is biased upwards for small samples: compare models with the same
    numbers of rows (thousands, for tens of features).

    Parameters
    ----------
    X_real : array-like of shape (n_real, n_features)
        Real rows (or images, if ``features`` takes images).
    X_generated : array-like of shape (n_generated, n_features)
        Generated rows, e.g. from ``estimator.sample``.
    features : fitted transformer, default=None
        Maps both arrays before the distance (any object with a
        ``transform`` method); None uses them as they are.

    Returns
    -------
    distance : float

    See Also
    --------
    knn_precision_recall : whether generated rows look real, and cover the real ones.

    Examples
    --------
    >>> import numpy as np
    >>> from skvae.metrics import frechet_distance
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(2000, 3))
    >>> round(frechet_distance(real, real), 6)
    0.0
    >>> round(frechet_distance(real, real + [1.0, 0.0, 0.0]), 6)  # |shift|^2
    1.0
    """
    real, generated = _feature_rows(X_real, X_generated, features, min_samples=2)
    cov_real = np.atleast_2d(np.cov(real, rowvar=False))
    cov_generated = np.atleast_2d(np.cov(generated, rowvar=False))
    # Tr((C_r C_g)^(1/2)) = Tr((C_r^(1/2) C_g C_r^(1/2))^(1/2)), whose argument is symmetric
    # positive semi-definite: eigenvalues instead of scipy's general (and complex) sqrtm
    values, vectors = np.linalg.eigh(cov_real)
    root_real = (vectors * np.sqrt(values.clip(0))) @ vectors.T
    middle = root_real @ cov_generated @ root_real
    trace_root = np.sqrt(np.linalg.eigvalsh((middle + middle.T) / 2).clip(0)).sum()
    mean_gap = real.mean(0) - generated.mean(0)
    distance = mean_gap @ mean_gap + np.trace(cov_real) + np.trace(cov_generated) - 2 * trace_root
    return float(max(distance, 0.0))


def _covered(queries, centres, radii):
    """For each query row, whether it lies within ``radii[i]`` of some ``centres[i]``."""
    chunks = pairwise_distances_chunked(queries, centres, reduce_func=lambda D, start: (D <= radii).any(1))
    return np.concatenate(list(chunks))


def _kth_neighbour_distance(rows, n_neighbors):
    """Distance from each row to its ``n_neighbors``-th nearest other row."""
    distances, _ = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(rows).kneighbors(rows)
    return distances[:, -1]  # column 0 is the row itself


@validate_params(
    {
        "X_real": ["array-like"],
        "X_generated": ["array-like"],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "features": [HasMethods("transform"), None],
    },
    prefer_skip_nested_validation=True,
)
def knn_precision_recall(X_real, X_generated, *, n_neighbors=3, features=None):
    """k-NN precision and recall of generated rows against real ones (Kynkäänniemi et al., 2019).

    Each set of rows stands for its manifold: the union of balls around its
    rows, each reaching the row's ``n_neighbors``-th nearest neighbour in the
    same set. **Precision** is the share of generated rows inside the real
    manifold: generated rows that look real. **Recall** is the share of real
    rows inside the generated manifold: how much of the real variety the
    model produces. A model that draws one perfect image scores precision 1
    and recall near 0; blurry samples lower precision first. Both are in
    [0, 1], higher is better. Distances are Euclidean in the feature space,
    so the features matter more than for the Fréchet distance.

    Parameters
    ----------
    X_real : array-like of shape (n_real, n_features)
        Real rows (or images, if ``features`` takes images).
    X_generated : array-like of shape (n_generated, n_features)
        Generated rows.
    n_neighbors : int, default=3
        Which neighbour sets each ball's radius (the paper's k=3). Larger
        balls make both measures more lenient.
    features : fitted transformer, default=None
        Maps both arrays first; None uses them as they are.

    Returns
    -------
    precision : float
    recall : float

    See Also
    --------
    frechet_distance : one number for both, from means and covariances.

    Examples
    --------
    >>> import numpy as np
    >>> from skvae.metrics import knn_precision_recall
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(1000, 2))
    >>> knn_precision_recall(real, real)
    (1.0, 1.0)
    >>> one_corner = real[(real > 0).all(1)]  # real-looking, a quarter of the variety
    >>> precision, recall = knn_precision_recall(real, one_corner)
    >>> precision, bool(0.2 < recall < 0.4)
    (1.0, True)
    """
    real, generated = _feature_rows(X_real, X_generated, features, min_samples=1)
    for name, rows in (("X_real", real), ("X_generated", generated)):
        if len(rows) <= n_neighbors:
            raise ValueError(
                f"{name} has {len(rows)} rows: with n_neighbors={n_neighbors} each set needs at least "
                f"{n_neighbors + 1} (a row's radius is the distance to its {n_neighbors}th neighbour)."
            )
    precision = _covered(generated, real, _kth_neighbour_distance(real, n_neighbors)).mean()
    recall = _covered(real, generated, _kth_neighbour_distance(generated, n_neighbors)).mean()
    return float(precision), float(recall)
