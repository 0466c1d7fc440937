"""Anomaly detection with an autoencoder, on scikit-learn's outlier-detector API.

``AutoencoderOutlierDetector`` fits any skvae estimator and turns it into
``score_samples`` / ``decision_function`` / ``predict`` like ``IsolationForest``.
"""

from numbers import Real

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context, clone
from sklearn.mixture import GaussianMixture
from sklearn.utils import _safe_indexing, check_random_state, indexable
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _num_samples, check_is_fitted

from ._base import _unchanged_on_error
from ._data import apply_in_fixed_batches
from ._doc_links import DocLinkMixin
from ._estimators import VAETransformer

SCORES = ("density", "scaled_reconstruction", "reconstruction", "latent", "elbo")
PRIOR_ROWS = 100
MIN_CALIBRATION_ROWS = 200
BATCH_ROWS = 4096  # a multiple of apply_in_fixed_batches' 256: scores do not depend on the batching


class AutoencoderOutlierDetector(DocLinkMixin, OutlierMixin, BaseEstimator):
    """Outlier detection with an autoencoder, like ``IsolationForest``.

    The autoencoder is trained on data assumed to be mostly normal; new rows
    that it cannot explain get low scores. ``score_samples`` is higher for
    more normal rows, ``decision_function`` is negative for outliers and
    ``predict`` returns +1 for inliers and -1 for outliers.

    Parameters
    ----------
    estimator : skvae estimator, default=None
        The (unfitted) model to train; it is cloned. Default:
        ``VAETransformer(n_components=16)``.

    contamination : "auto" or float in (0, 0.5], default="auto"
        Expected share of outliers in the training data, which sets the
        threshold ``offset_``: the ``contamination`` quantile of the
        calibration scores. With "auto", the threshold is Tukey's lower fence
        of the calibration scores (first quartile minus 1.5 interquartile
        ranges).

    calibration_fraction : float in [0, 0.5), default=0.1
        Share of the rows held out from training, at random, to calibrate
        the scores: the typical error of each feature, the mixture of the
        codes and the threshold are measured on rows the model has not seen,
        as new normal rows will be. Statistics taken on the training rows
        describe what the model memorised, which makes new normal rows look
        rarer than they are. When the held-out share would be fewer than 200
        rows (data sets under 2,000 rows with the default), or with 0, the
        model trains on every row and is calibrated on them all.

    anomaly_score : {"density", "scaled_reconstruction", "reconstruction", "latent", "elbo"}, \
            default="density"
        What makes a row normal (named so as not to shadow scikit-learn's
        ``score`` method). All are computed on the data as the model
        sees it (uint8 images divided by 255):

        - ``"reconstruction"``: minus the mean squared reconstruction error.
          Simple, but it weighs every feature alike.
        - ``"scaled_reconstruction"``: each feature's squared error divided
          by its mean on the training data, so that a feature the model
          always reconstructs well (a background pixel) counts for more when
          it is wrong. On images of 16x16 pixels or more (a model that knows
          its ``image_shape_``), the residuals are first averaged over 2x2
          blocks, which forgives strokes drawn a pixel off and keeps wrong
          shapes. Best when anomalies differ in appearance.
        - ``"latent"``: log-density of the code (posterior mean) under a
          Gaussian mixture fitted to the training codes. Sees anomalies that
          reconstruct well but sit where no training data does.
        - ``"density"``: ``"scaled_reconstruction"`` and ``"latent"`` as one
          log-likelihood: ``x = decoder(z) + noise`` with ``z`` from the
          mixture and independent Gaussian noise per feature. The default.
        - ``"elbo"``: the estimator's own ``score_samples``. A known trap on
          images: a Bernoulli or Gaussian likelihood rates simple images
          (a mostly dark sandal) as likely whatever the training class, so
          the ELBO ranks them as normal; see benchmarks/README.md.

    random_state : int, RandomState instance or None, default=None
        Seeds the estimator (overriding its own ``random_state``) and the
        mixture of ``latent_density_``; an int makes ``fit`` reproducible.

    Attributes
    ----------
    estimator_ : fitted skvae estimator
    offset_ : float
        ``decision_function = score_samples - offset_``.
    feature_error_ : ndarray of shape (n_features,) or (n_blocks,)
        Mean squared reconstruction error of each feature (of each 2x2 block
        for images of 16x16 or more) on the calibration rows, shrunk towards the
        mean over all features as if 100 more rows had it; for the scaled
        scores.
    latent_density_ : sklearn.mixture.GaussianMixture
        Mixture fitted to the codes of the calibration rows (10 components, or one per 50
        rows when fewer than 500), for ``"latent"`` and ``"density"``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Only when X has feature names that are all strings.

    See Also
    --------
    sklearn.ensemble.IsolationForest : The same API with a tree ensemble.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skvae import AutoencoderOutlierDetector, VAETransformer
    >>> X = load_digits().data / 16
    >>> noise = np.random.RandomState(0).uniform(size=(5, 64))
    >>> detector = AutoencoderOutlierDetector(
    ...     VAETransformer(n_components=8, max_epochs=20, random_state=0)).fit(X)
    >>> detector.predict(noise).tolist()
    [-1, -1, -1, -1, -1]
    >>> float((detector.predict(X) == 1).mean()) > 0.9
    True
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "transform", "inverse_transform", "score_samples"]), None],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "anomaly_score": [StrOptions(set(SCORES))],
        "calibration_fraction": [Interval(Real, 0, 0.5, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, contamination="auto", calibration_fraction=0.1, anomaly_score="density",
                 random_state=None):
        self.estimator = estimator
        self.contamination = contamination
        self.calibration_fraction = calibration_fraction
        self.anomaly_score = anomaly_score
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Train the autoencoder on X and set the threshold from its scores.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or image array
            Training data, mostly normal.
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        default = VAETransformer(n_components=16, validation_fraction=0)
        estimator = clone(self.estimator if self.estimator is not None else default)
        random_state = check_random_state(self.random_state)
        seed = random_state.randint(np.iinfo(np.int32).max)
        if self.random_state is not None and "random_state" in estimator.get_params():
            estimator.set_params(random_state=seed)
        (X,) = indexable(X)  # rows can be sliced: a sparse matrix of any format becomes CSR
        train, calibration = self._split(X, random_state)
        interrupted = None
        with _unchanged_on_error(self):
            try:
                estimator.fit(train)
            except KeyboardInterrupt as error:
                # the estimator kept its last finished epoch if it finished one (and
                # warned): finish the detector around it, then let the interrupt stop the caller
                if not hasattr(estimator, "net_"):
                    raise
                interrupted = error
            self._fit_around(estimator, calibration, seed)
        if interrupted is not None:
            raise interrupted
        return self

    def _split(self, X, random_state):
        """(training rows, calibration rows): the same rows twice when too few would be held out."""
        n_samples = _num_samples(X)
        n_calibration = int(self.calibration_fraction * n_samples)
        if n_calibration < MIN_CALIBRATION_ROWS:
            return X, X
        order = random_state.permutation(n_samples)  # each side kept in X's order: a memmap reads forward
        return _safe_indexing(X, np.sort(order[n_calibration:])), _safe_indexing(X, np.sort(order[:n_calibration]))

    def _fit_around(self, estimator, X, seed):
        """Set the threshold and scaling attributes around a fitted estimator, calibrated on X."""
        self.estimator_ = estimator
        self.n_features_in_ = estimator.n_features_in_
        if hasattr(estimator, "feature_names_in_"):
            self.feature_names_in_ = estimator.feature_names_in_
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        codes, error_sums, n_rows = [], 0.0, 0
        for _, batch_codes, residuals in self._batches(X):
            codes.append(batch_codes)
            error_sums = error_sums + self._pooled_squares(residuals).sum(0, dtype=np.float64)
            n_rows += len(residuals)
        codes = np.concatenate(codes)
        # The scores need feature_error_ and the mixture, so they take a second pass over the
        # calibration rows: keeping every residual instead would unbind memory from the batch size.
        # Each feature's mean error, shrunk towards the overall mean as if 100
        # more rows had it: with a few hundred rows, the features that happen
        # to be reconstructed perfectly would otherwise get weights near infinity.
        self.feature_error_ = (error_sums + PRIOR_ROWS * error_sums.mean() / n_rows) / (n_rows + PRIOR_ROWS) + 1e-12
        n_mixture = max(1, min(10, len(codes) // 50))  # at least 50 codes per component
        self.latent_density_ = GaussianMixture(n_mixture, random_state=seed).fit(codes.astype(np.float64))
        scores = self._score_rows(X)
        if self.contamination == "auto":
            q1, q3 = np.percentile(scores, [25, 75])
            self.offset_ = float(q1 - 1.5 * (q3 - q1))
        else:
            self.offset_ = float(np.percentile(scores, 100 * self.contamination))

    def _batches(self, X):
        """``(rows, codes, residuals)`` for consecutive batches of X's rows.

        Residuals are per feature, on the model's scale of the data. One batch
        at a time keeps memory bounded by the batch, not by X: a sparse X is
        made dense a batch at a time, and a memmap is read as batches need it.
        """
        estimator = self.estimator_
        (X,) = indexable(X)
        n_samples = _num_samples(X)
        for start in range(0, max(n_samples, 1), BATCH_ROWS):  # no rows: one empty batch, which fails validation
            rows = _safe_indexing(X, slice(start, start + BATCH_ROWS))
            codes = estimator.transform(rows)
            reconstructions = estimator.inverse_transform(codes)
            dense = rows.toarray() if sp.issparse(rows) else np.asarray(rows)
            yield rows, codes, (dense.reshape(len(reconstructions), -1) - reconstructions) / estimator.input_scale_

    def _score_rows(self, X):
        return np.concatenate([self._scores(*batch) for batch in self._batches(X)])

    def _pooled_squares(self, residuals):
        """Squared residuals, averaged over 2x2 pixel blocks first for images of 16x16 or more.

        A slightly shifted stroke leaves residuals of opposite sign side by side
        that cancel in the block mean, while a wrong shape leaves a block of one
        sign: pooling keeps the second and forgives the first.
        """
        shape = getattr(self.estimator_, "image_shape_", None)
        if shape is None or min(shape[1:]) < 16:
            return residuals**2
        images = torch.from_numpy(np.ascontiguousarray(residuals)).view(len(residuals), *shape)
        return F.avg_pool2d(images, 2, ceil_mode=True).flatten(1).numpy() ** 2

    def _scores(self, X, codes, residuals):
        if self.anomaly_score == "elbo":
            return self.estimator_.score_samples(X)
        if self.anomaly_score == "reconstruction":
            return -(residuals**2).mean(1)
        scaled = -0.5 * (self._pooled_squares(residuals) / self.feature_error_).sum(1)
        if self.anomaly_score == "scaled_reconstruction":
            return scaled
        latent = apply_in_fixed_batches(self.latent_density_.score_samples, codes.astype(np.float64))
        return latent if self.anomaly_score == "latent" else scaled + latent

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def save(self, path, *, training_state=False):
        """Save the fitted detector to one file, loadable with :func:`skvae.load`.

        The same safetensors format as :meth:`VAETransformer.save`, with the
        threshold, the feature scaling and the latent mixture besides the model.

        Parameters
        ----------
        path : str or path-like
        training_state : bool, default=False
            Also store the model's optimizer and random state.

        Returns
        -------
        path : pathlib.Path
        """
        from ._serialization import save

        return save(self, path, training_state=training_state)

    def score_samples(self, X):
        """How normal each row is: higher is more normal.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or image array

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self._score_rows(X)

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or image array

        Returns
        -------
        decision : ndarray of shape (n_samples,)
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for inliers, -1 for outliers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or image array

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return np.where(self.decision_function(X) < 0, -1, 1)
