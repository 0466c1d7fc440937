"""``ConditionalVAETransformer``: a VAE whose decoder is told the class, for class-controlled generation.

What this model owns: the labels (checked and encoded once, as ``classes_``),
its module (:class:`skvae.modules.ConditionalVariationalAutoencoder`), and
decoding, sampling and scoring by class. The encoder sees X alone, so
``transform`` needs no labels and works inside a Pipeline.
"""

import numpy as np
import torch
from scipy.special import logsumexp
from sklearn.base import _fit_context
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_consistent_length, column_or_1d

from ._base import _BaseAutoencoder
from ._losses import LabelFreeELBOLoss
from ._checks import _output_dtype
from ._params import fill_docstring
from ._samplers import ExPostSamplerMixin, document_sampler
from ._scoring import N_DRAWS
from .modules import ConditionalVariationalAutoencoder

# Hidden units of the head that gives the posterior the class (q(z | x, y)); small,
# since it only adjusts the encoder's own output
LABEL_HEAD_WIDTH = 128


@document_sampler
@fill_docstring
class ConditionalVAETransformer(ExPostSamplerMixin, _BaseAutoencoder):
    """Conditional variational autoencoder (CVAE) as a supervised scikit-learn transformer.

    ``fit(X, y)`` trains a VAE whose decoder is given each row's class,
    ``p(x | z, y)``, and whose posterior in training is given it too,
    ``q(z | x, y)``. The code then holds what the class does not tell
    (style: slant, thickness), the decoder must heed the class, and
    :meth:`sample` generates the classes asked for. :meth:`transform` needs
    no labels, so the estimator works as a step of a Pipeline: it gives the
    means of a second posterior, ``q(z | x)``, trained alongside to match
    ``q(z | x, y)`` of each row's class (``encoder_match_loss`` in
    ``history_``). Labels come in again where decoding needs them:
    :meth:`inverse_transform` and :meth:`sample` take ``y``, and without it
    average over the classes in their training proportions.

    Parameters
    ----------
{parameters}

{sampler}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels seen in :meth:`fit`, sorted; the decoder's one-hot
        input ``j`` stands for ``classes_[j]``.

    class_count_ : ndarray of shape (n_classes,)
        Rows of each class trained on, over every fit of a warm start and
        every ``partial_fit``.

    class_prior_ : ndarray of shape (n_classes,)
        Fraction of the training rows in each class: the class distribution
        of :meth:`sample` and of the marginal likelihood in
        :meth:`score_samples` when no ``y`` is given.

    encoder_sees_labels_ : bool
        Whether training encoded each row with its class, ``q(z | x, y)``.
        True for every fit; False only for a model saved by an skvae before
        this existed, which loads and trains on as it was.

{latent_density}

{attributes}

    See Also
    --------
    VAETransformer : The unconditional VAE.
    GaussianMixtureVAE : Classes found without labels, as mixture components.

    References
    ----------
    Sohn, K., Lee, H. and Yan, X. (2015). Learning Structured Output
    Representation using Deep Conditional Generative Models. NeurIPS.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skvae import ConditionalVAETransformer
    >>> X, y = load_digits(return_X_y=True)
    >>> cvae = ConditionalVAETransformer(n_components=4, max_epochs=5, random_state=0)
    >>> cvae.fit(X / 16, y).transform(X[:3] / 16).shape
    (3, 4)
    >>> cvae.sample(6, y=7, random_state=0).shape
    (6, 64)
    >>> cvae.classes_
    array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    """

    _module_class = ConditionalVariationalAutoencoder

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the CVAE on X with its class labels y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or image array
            Training data, as for :meth:`VAETransformer.fit`.
        y : array-like of shape (n_samples,)
            Class labels: any that scikit-learn classifiers take (integers,
            strings, ...). A warm start takes labels among ``classes_``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._fit(X, y)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y):
        """Fit to X and y and return the codes of X, validating X once.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or image array
        y : array-like of shape (n_samples,)

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            Posterior means (the codes) of X.
        """
        X = self._fit(X, y)
        return self._codes(X).astype(_output_dtype(X), copy=False)

    @available_if(lambda self: self._trains_incrementally())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Train for one pass over X and its labels y, on from the fitted state.

        As :meth:`VAETransformer.partial_fit`; ``class_prior_`` counts the
        labels of every call.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or image array
            A chunk of training data.
        y : array-like of shape (n_samples,)
            Its class labels.
        classes : array-like of shape (n_classes,), default=None
            Every label there will be, needed at the first call when its y
            lacks some (as for scikit-learn's incremental classifiers);
            ignored later.

        Returns
        -------
        self : object
            The estimator, fitted.
        """
        self._fit(X, y, incremental=True, classes=classes)
        return self

    def _training_condition(self, y, n_samples, reset, classes=None):
        """The one-hot classes (the module's condition) the decoder trains with; ``classes``: all labels, on a reset."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None: "
                "fit(X, y) takes the class label of every row."
            )
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        check_consistent_length(np.empty(n_samples), y)
        if reset:
            self.classes_ = np.unique(y if classes is None else column_or_1d(classes))
            self.class_count_ = np.zeros(len(self.classes_))
            self.encoder_sees_labels_ = True
        codes = self._class_indices(y)
        self.class_count_ = self.class_count_ + np.bincount(codes, minlength=len(self.classes_))
        self.class_prior_ = self.class_count_ / self.class_count_.sum()
        return torch.nn.functional.one_hot(torch.as_tensor(codes), len(self.classes_)).float()

    def _class_indices(self, y, name="y"):
        """Positions in ``classes_`` of labels ``y`` (a 1-d array), with an error naming unknown ones."""
        try:
            indices = np.minimum(np.searchsorted(self.classes_, y), len(self.classes_) - 1)
            unknown = self.classes_[indices] != y
        except TypeError:  # labels that do not compare with the classes (str against int)
            unknown = np.ones(len(y), dtype=bool)
        if np.any(unknown):
            raise ValueError(
                f"{name} holds labels not seen in fit: {np.unique(np.asarray(y)[unknown])[:5].tolist()}; "
                f"the classes are {self.classes_.tolist()}."
            )
        return indices

    def _decoder_n_inputs(self):
        return self.n_components + len(self.classes_)

    def _make_module(self, encoder, decoder, output_offset):
        head = {}
        # a model saved before the label head existed lacks the attribute: it is rebuilt as it was
        if getattr(self, "encoder_sees_labels_", False):
            head = {"n_components": self.n_components, "label_head_width": LABEL_HEAD_WIDTH}
        return self._module_class(encoder, decoder, output_offset, n_classes=len(self.classes_), **head)

    def _criterion(self, kind):
        if getattr(self, "encoder_sees_labels_", False):
            return LabelFreeELBOLoss(kind, self._kl_weight())
        return super()._criterion(kind)

    def _one_hot(self, index):
        return torch.nn.functional.one_hot(torch.tensor([index]), len(self.classes_)).float()

    def _labels_for(self, y, n_samples, name):
        """Class positions for ``n_samples`` rows from y: one label for all, or one per row."""
        y = np.asarray(y)
        if y.ndim == 0:
            y = np.repeat(y[None], n_samples)
        y = column_or_1d(y)
        if len(y) != n_samples:
            raise ValueError(
                f"{name} must be one label or one per row ({n_samples}), got {len(y)} labels."
            )
        return self._class_indices(y, name)

    def _decode_by_class(self, Z, classes):
        """Decoder means of codes ``Z`` for the class positions ``classes`` (one per row)."""
        X = None
        for index in np.unique(classes):
            rows = classes == index
            decoded = self._decode_rows(Z[rows], y=self._one_hot(index))
            if X is None:
                X = np.empty((len(Z), decoded.shape[1]), decoded.dtype)
            X[rows] = decoded
        return X

    # ------------------------------------------------------------ inference

    def inverse_transform(self, X, y=None):
        """Decode latent codes, each with its class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent codes, e.g. from :meth:`transform`.
        y : label or array-like of shape (n_samples,), default=None
            The class to decode each code as (one label for all rows, or one
            per row). None decodes with every class and averages the results
            in the proportions of ``class_prior_``: the decoder's mean given
            the code alone, which is what a Pipeline's ``inverse_transform``
            gets.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Rows on the training data's scale; :meth:`as_images` shapes them.
        """
        Z = self._check_codes(X)
        if y is not None:
            return self._decode_by_class(Z, self._labels_for(y, len(Z), "y")).astype(Z.dtype, copy=False)
        X = sum(
            weight * self._decode_rows(Z, y=self._one_hot(index))
            for index, weight in enumerate(self.class_prior_)
            if weight > 0
        )
        return np.asarray(X).astype(Z.dtype, copy=False)

    def sample(self, n_samples=1, *, y=None, random_state=None):
        """Generate rows of the classes asked for.

        Codes are drawn from the prior N(0, I) (or, with ``sampler="gmm"``,
        from ``latent_density_``: the codes hold style, not class) and
        decoded with the class.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        y : label or array-like of shape (n_samples,), default=None
            The class of the rows: one label for all, or one per row. None
            draws the classes in the proportions of ``class_prior_``.
        random_state : int, RandomState instance or None, default=None
            Seed of the draw; an int gives the same rows every call.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features), float32
        """
        return self._sample(n_samples, random_state, y=y)

    def _sample_condition(self, n_samples, rng, y=None):
        if y is None:  # drawn before the codes
            return {"classes": rng.choice(len(self.classes_), size=n_samples, p=self.class_prior_)}
        return {"classes": self._labels_for(y, n_samples, "y")}

    def _decode_samples(self, Z, classes):
        return self._decode_by_class(Z, classes)

    def score_samples(self, X, y=None, n_importance=None, *, n_draws=N_DRAWS):
        """Per-sample lower bound on ``log p(x | y)``, or on ``log p(x)`` without y, in nats.

        With ``y``, the ELBO (or the IWAE bound with ``n_importance``) of
        each row under its class, as :meth:`VAETransformer.score_samples`.
        Without, the bound on the marginal likelihood
        ``log sum_c p(c) p(x | c) >= logsumexp_c(log p(c) + bound_c(x))``
        with ``p(c)`` = ``class_prior_``, so that a Pipeline can score rows
        with no labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), default=None
        n_importance : int, default=None
            Importance samples per row (see :meth:`VAETransformer.score_samples`).
        n_draws : int, default=1
            Posterior draws per row behind the ELBO (see
            :meth:`VAETransformer.score_samples`: one suffices for a mean
            over rows; ranking rows needs more).

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        X, bounded = self._scoring_input(X, n_importance, n_draws)
        if y is not None:
            classes = self._labels_for(y, X.shape[0], "y")
            scores = np.empty(X.shape[0], np.float32)
            for index in np.unique(classes):
                rows = classes == index
                scores[rows] = self._bound_rows(X[rows], n_importance, bounded, n_draws, y=self._one_hot(index))
            return scores.astype(_output_dtype(X), copy=False)
        per_class = [
            np.log(weight) + self._bound_rows(X, n_importance, bounded, n_draws, y=self._one_hot(index))
            for index, weight in enumerate(self.class_prior_)
            if weight > 0
        ]
        return logsumexp(np.stack(per_class), axis=0).astype(_output_dtype(X), copy=False)

    def score(self, X, y=None, n_importance=None, *, n_draws=N_DRAWS):
        """Mean of :meth:`score_samples`, in nats per sample (higher is better).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), default=None
        n_importance : int, default=None
        n_draws : int, default=1

        Returns
        -------
        score : float
        """
        return float(np.mean(self.score_samples(X, y, n_importance=n_importance, n_draws=n_draws)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

