"""Anomaly detection with an autoencoder, on scikit-learn's outlier-detector API.

``AutoencoderOutlierDetector`` fits any skvae estimator and turns it into
``score_samples`` / ``decision_function`` / ``predict`` like ``IsolationForest``.
"""

import warnings
from numbers import Real

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context, clone
from sklearn.mixture import GaussianMixture
from sklearn.utils import _safe_indexing, check_random_state, get_tags, indexable
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _num_samples, check_is_fitted

from ._base import _BaseAutoencoder
from ._data import apply_in_fixed_batches
from ._doc_links import DocLinkMixin
from ._estimators import VAETransformer
from ._persistence import network_from_state, network_state
from ._transformations import TransformationNet, can_transform, fit_transformation_net, transformation_scores
from ._training import _torch_random_state, _unchanged_on_error
from .exceptions import TrainingInterruptedWarning


class _TrainsOnXAlone(HasMethods):
    """What the detector relies on: an skvae estimator (its input scaling, images, batched
    encoding and decoding) that fits on X alone, as the detector fits it.

    A ``HasMethods`` because scikit-learn's parameter validation takes no other kind of
    constraint object; the methods are only the start of what it checks.
    """

    def __init__(self):
        super().__init__(["fit", "transform", "inverse_transform", "score_samples"])

    def is_satisfied_by(self, val):
        return isinstance(val, _BaseAutoencoder) and not get_tags(val).target_tags.required

    def __str__(self):
        return ("an skvae estimator that trains on X alone (AutoencoderTransformer, VAETransformer, "
                "BetaVAETransformer, VQVAETransformer or GaussianMixtureVAE; not one that needs y)")


# Posterior draws per row behind anomaly_score="elbo": ranking rows needs each row's ELBO
# within a fraction of a percent, which one draw is not (benchmarks/README.md, "Scoring").
ELBO_DRAWS = 64
SCORES = ("combined", "transformations", "density", "scaled_reconstruction", "reconstruction", "latent", "elbo")
IMAGE_SCORES = ("combined", "transformations")  # need the transformation classifier, so images
NEEDS_TRANSFORMATIONS = ("auto", *IMAGE_SCORES)
TRANSFORMATION_EPOCHS = 20
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
        The (unfitted) model to train; it is cloned. Any skvae estimator
        that trains on X alone (not ``ConditionalVAETransformer``, which
        needs labels). Default: ``VAETransformer(n_components=16)``. Its
        ``neighbor_weight`` and ``placement``, where left at ``"auto"``, are
        taken as 0 and ``"encoder"``: placing rows among the training rows
        draws every row, outliers too, onto the training rows' map (a grid
        over 2-D codes scored 0.88 ROC-AUC with them, above 0.9 without).

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

    anomaly_score : {"auto", "combined", "transformations", "density", "scaled_reconstruction", "reconstruction", "latent", "elbo"}, default="auto"
        What makes a row normal (named so as not to shadow scikit-learn's
        ``score`` method). All are computed on the data as the model
        sees it (uint8 images divided by 255):

        - ``"auto"``: ``"combined"`` for images of at least 16x16 pixels,
          ``"density"`` for anything else (rows, smaller images).
        - ``"transformations"``: images only. A small convolutional network,
          trained besides the autoencoder, learns which of 20 transformations
          (quarter turns, each alone or with a shift by a quarter of the
          image; upright and upside down only for images that are not square)
          was applied to a training image. The score is the mean
          log-probability it gives the right answer: it learns which way up
          and where a normal image is, which a different kind of image does
          not follow (the GeoTrans idea). 20 epochs over the training rows.
        - ``"combined"``: images only. ``"density"`` plus
          ``"transformations"``, each first centred on its median and divided
          by its interquartile range on the calibration rows. Its two parts
          miss different anomalies: the best score on image benchmarks.
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
          mixture and independent Gaussian noise per feature. The default
          for rows, and the cheap choice for images: fitting with it skips
          the transformation classifier.
        - ``"elbo"``: the estimator's own ``score_samples``, with 64
          posterior draws per row (``n_draws=64``). A known trap on
          images: a Bernoulli or Gaussian likelihood rates simple images
          (a mostly dark sandal) as likely whatever the training class, so
          the ELBO ranks them as normal; see benchmarks/README.md.

        ``fit`` trains the transformation classifier only when this is
        "auto", "combined" or "transformations" and X holds images of at
        least 16x16 pixels; every other score can then be chosen with
        ``set_params`` without fitting again.

    random_state : int, RandomState instance or None, default=None
        Seeds the estimator (overriding its own ``random_state``), the
        transformation classifier and the mixture of ``latent_density_``; an
        int makes ``fit`` reproducible.

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
    transformation_net_ : torch.nn.Module or None
        The transformation classifier, in evaluation mode; None when ``fit``
        did not train one (see ``anomaly_score``).
    combined_center_, combined_scale_ : ndarray of shape (2,)
        Median and interquartile range of ``"density"`` and
        ``"transformations"`` on the calibration rows, for ``"combined"``.
        Only with ``transformation_net_``.
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
        "estimator": [_TrainsOnXAlone(), None],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "anomaly_score": [StrOptions({"auto", *SCORES})],
        "calibration_fraction": [Interval(Real, 0, 0.5, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, contamination="auto", calibration_fraction=0.1, anomaly_score="auto",
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
        default = VAETransformer(n_components=16)
        estimator = clone(self.estimator if self.estimator is not None else default)
        random_state = check_random_state(self.random_state)
        seed = random_state.randint(np.iinfo(np.int32).max)
        if self.random_state is not None and "random_state" in estimator.get_params():
            estimator.set_params(random_state=seed)
        # "auto" trains 2-D and 3-D codes with the neighbourhood term and places new rows among
        # the training rows, which draws every row, outliers too, onto the training rows' map:
        # the detector scores the model's own codes and reconstructions, without either
        params = estimator.get_params()
        estimator.set_params(**{name: plain for name, plain in (("neighbor_weight", 0.0), ("placement", "encoder"))
                                if isinstance(params.get(name), str) and params[name] == "auto"})
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
            self.transformation_net_ = None
            if interrupted is None:
                self.transformation_net_, finished = self._fit_transformations(estimator, train, seed)
                if finished < TRANSFORMATION_EPOCHS:
                    warnings.warn(
                        f"Training of the transformation classifier was interrupted after {finished} of "
                        f"{TRANSFORMATION_EPOCHS} epochs. The detector is fitted with it as it is; "
                        "fit again to train it fully.",
                        TrainingInterruptedWarning,
                        stacklevel=2,
                    )
                    interrupted = KeyboardInterrupt()
            self._fit_around(estimator, calibration, seed)
        if interrupted is not None:
            raise interrupted
        return self

    def _fit_transformations(self, estimator, X, seed):
        """The transformation classifier, when the score needs one and X holds images that allow it."""
        shape = getattr(estimator, "image_shape_", None)
        if self.anomaly_score not in NEEDS_TRANSFORMATIONS or not can_transform(shape):
            if self.anomaly_score in IMAGE_SCORES:
                raise ValueError(
                    f"anomaly_score={self.anomaly_score!r} needs images of at least 16x16 pixels, "
                    f"but the estimator saw {'rows' if shape is None else f'images of shape {shape}'}. "
                    "Pass X as images (n, H, W) or (n, C, H, W), or use anomaly_score='density'."
                )
            return None, TRANSFORMATION_EPOCHS
        params = estimator.get_params()
        with _torch_random_state(seed):
            return fit_transformation_net(
                X, shape, estimator.input_scale_, max_epochs=TRANSFORMATION_EPOCHS,
                batch_size=params.get("batch_size", 128), device=next(estimator.net_.module_.parameters()).device,
                seed=seed, verbose=params.get("verbose", 0),
            )

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
        scores = None
        if self.transformation_net_ is not None:
            parts = np.concatenate([self._parts(*batch) for batch in self._batches(X)])
            q1, median, q3 = np.percentile(parts, [25, 50, 75], axis=0)
            self.combined_center_, self.combined_scale_ = median, q3 - q1 + 1e-12
            if self._score_name == "combined":  # the calibration scores are these parts combined: no third pass
                scores = self._combine(parts)
        else:
            for name in ("combined_center_", "combined_scale_"):  # from an earlier fit on images
                vars(self).pop(name, None)
        if scores is None:
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

    @property
    def _score_name(self):
        if self.anomaly_score != "auto":
            return self.anomaly_score
        return "density" if getattr(self, "transformation_net_", None) is None else "combined"

    def _scores(self, X, codes, residuals):
        name = self._score_name
        if name == "combined":
            return self._combine(self._parts(X, codes, residuals))
        if name == "transformations":
            return self._transformation_scores(X)
        if name == "elbo":
            return self.estimator_.score_samples(X, n_draws=ELBO_DRAWS)
        if name == "reconstruction":
            return -(residuals**2).mean(1)
        if name == "scaled_reconstruction":
            return self._scaled_reconstruction(residuals)
        if name == "latent":
            return self._latent(codes)
        return self._scaled_reconstruction(residuals) + self._latent(codes)

    def _scaled_reconstruction(self, residuals):
        return -0.5 * (self._pooled_squares(residuals) / self.feature_error_).sum(1)

    def _latent(self, codes):
        return apply_in_fixed_batches(self.latent_density_.score_samples, codes.astype(np.float64))

    def _parts(self, X, codes, residuals):
        """``(density, transformations)`` per row: the two scores ``"combined"`` adds once standardised."""
        density = self._scaled_reconstruction(residuals) + self._latent(codes)
        return np.column_stack([density, self._transformation_scores(X)])

    def _combine(self, parts):
        return ((parts - self.combined_center_) / self.combined_scale_).sum(1)

    def _transformation_scores(self, X):
        if getattr(self, "transformation_net_", None) is None:
            raise ValueError(
                f"anomaly_score={self.anomaly_score!r} needs the transformation classifier, which fit "
                "trains only for images of at least 16x16 pixels and anomaly_score 'auto', 'combined' "
                "or 'transformations'. Set anomaly_score to one of those and fit again."
            )
        estimator = self.estimator_
        dense = X.toarray() if sp.issparse(X) else np.asarray(X)
        images = dense.reshape(len(dense), *estimator.image_shape_).astype(np.float32) / np.float32(
            estimator.input_scale_)
        return transformation_scores(self.transformation_net_, images)

    def _saved_state(self, training_state):
        """The fitted attributes for :func:`skvae.save`, the transformation classifier as its weights."""
        from ._serialization import fitted_attributes

        state = fitted_attributes(self)
        net = state.get("transformation_net_")
        if net is not None:
            state["transformation_net_"] = network_state(net, ("in_channels", "n_transformations", "width"))
        return state

    def _restore_state(self, state, device):
        saved = state.get("transformation_net_")
        if saved is not None:
            state["transformation_net_"] = network_from_state(TransformationNet, saved, device)
        vars(self).update(state)

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
