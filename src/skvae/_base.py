"""The base class of the skvae estimators: the scikit-learn contract, and the hooks a model implements.

What the estimators share lives in one module per concern, as mixins of
``_BaseAutoencoder``: ``_training`` (fit, warm starts, checkpoints),
``_inference`` (batched transform and inverse_transform), ``_scoring``
(score_samples, kl_per_dimension), ``_generation`` (sample, interpolate,
traverse), ``_images`` (as_images) and ``_persistence`` (save, load, pickles).
"""

import warnings

from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import validate_data

from ._checks import _DTYPES, _check_float32_range, _is_uint8, _plain_float_rows
from ._doc_links import DocLinkMixin
from ._generation import _GenerationMixin
from ._images import _ImagesMixin, images_to_rows, resolve_image_shape
from ._inference import _InferenceMixin
from ._params import SHARED_CONSTRAINTS, store_parameters
from ._persistence import _PersistenceMixin
from ._scoring import _ScoringMixin
from ._training import _TrainingMixin
from .modules import VariationalAutoencoder


class _BaseAutoencoder(
    _TrainingMixin,
    _InferenceMixin,
    _ScoringMixin,
    _GenerationMixin,
    _ImagesMixin,
    _PersistenceMixin,
    DocLinkMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Base class of the skvae estimators; not for direct use.

    It holds the scikit-learn contract (parameters, input validation, tags);
    the mixins hold the rest. Its defaults are the plain VAE's. A model is a
    subclass that sets ``_module_class`` and overrides the hooks it needs:

    =============================== =================== =====================================================
    hook                            default             what a model says with it
    =============================== =================== =====================================================
    ``_module_class``               VAE module          its torch module: posterior, prior and KL term
    ``_make_module``                ``_module_class``   building that module around an encoder and decoder
    ``_decoder_n_inputs``           ``n_components``    the decoder's input width (a condition appended)
    ``_kl_weight``                  1.0                 the weight of the KL term in the loss
    ``_criterion``                  ``ELBOLoss``        the loss it trains with; its ``parts`` are history_'s
    ``_training_callbacks``         divergence, ...     callbacks of its own (codebook usage, mixture EM)
    ``_training_phase``             "training"          the main training's name in progress (verbose)
    ``_training_condition``         None                a per-row condition from ``y``, for the module
    ``_prepare_training``           None                work before the main training (pretraining); a
                                                        per-row target for the loss
    ``_warm_start_target``          None                the loss's per-row target when training on
    ``_incremental``                True                whether it offers ``partial_fit``
    ``_attach_net``                 net, history, ...   fitted attributes that come with the net
    ``_statistics``,                none                fitted attributes from all training rows, computed
    ``_fit_statistics``                                 once when fit ends (not in checkpoints)
    ``_sample_condition``           none                ``sample``'s own arguments (a class, clusters)
    ``_prior``                      ``StandardNormal``  its prior as an object (``_priors``): sampling, log_prob,
                                                        centre and spread, quantiles
    ``_decode_samples``             inverse_transform   drawn codes decoded (under the condition)
    =============================== =================== =====================================================
    """

    # scikit-learn's set_output wraps only the transform methods that a class defines
    # itself: these two are named here, so that it wraps them.
    transform = _InferenceMixin.transform
    fit_transform = _TrainingMixin.fit_transform

    # The torch module of the model: it owns the posterior, the prior and the
    # KL term between them. The loss weighs that term by `_kl_weight()`.
    _module_class = VariationalAutoencoder

    _parameter_constraints = {**SHARED_CONSTRAINTS}

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(256, 128),
        architecture="mlp",
        conv_channels="auto",
        image_shape=None,
        reconstruction_loss="auto",
        max_epochs=100,
        batch_size=128,
        lr=1e-3,
        optimizer="adam",
        validation_fraction=None,
        early_stopping=False,
        n_iter_no_change=10,
        warm_start=False,
        checkpoint_path=None,
        checkpoint_every=1,
        device="auto",
        n_jobs=None,
        mixed_precision=False,
        compile=False,
        callbacks=None,
        random_state=None,
        verbose=0,
        kl_warmup_epochs=0,
        neighbor_weight="auto",
        placement="auto",
    ):
        store_parameters(self, locals())

    def _validate_input(self, X, reset):
        """Validate X as rows; on fit, learn its image shape and intensity scale."""
        if not reset and self.input_scale_ == 1 and _plain_float_rows(self, X):
            return X  # what validate_data would return, checked in microseconds (one-row calls)
        X, shape = images_to_rows(X)
        is_uint8 = _is_uint8(X)
        # uint8 stays uint8 here and becomes float one batch at a time
        # scipy sparse rows (TF-IDF, one-hot) stay sparse and are made dense one batch at a time
        X = validate_data(self, X, accept_sparse="csr", dtype=None if is_uint8 else _DTYPES, reset=reset)
        if reset:
            _check_float32_range(X)  # at inference the output's check names such rows, without a pass over X first
            requested = self.image_shape if self.image_shape is not None else shape
            self.image_shape_ = None if requested is None else resolve_image_shape(requested, X.shape[1])
            if shape is not None and self.image_shape_ != shape:
                raise ValueError(
                    f"X holds images of shape {shape}, but image_shape={self.image_shape!r}."
                )
            self.input_scale_ = 255.0 if is_uint8 else 1.0
            return X
        if shape is not None and shape != self.image_shape_:
            raise ValueError(
                f"X holds images of shape {shape}, but {type(self).__name__} was fitted "
                f"on {'rows' if self.image_shape_ is None else f'images of shape {self.image_shape_}'}."
            )
        if is_uint8 != (self.input_scale_ == 255):
            warnings.warn(
                f"X is {'' if is_uint8 else 'not '}uint8, but the training data "
                f"{'was' if self.input_scale_ == 255 else 'was not'}; X is divided by "
                f"{self.input_scale_:g} either way, as the training data was.",
                UserWarning,
                stacklevel=3,
            )
        return X

    def _module_input_shape(self):
        """Shape of one row as the torch module takes it."""
        if self.architecture == "mlp" or self.image_shape_ is None:
            if self.architecture == "conv":
                raise ValueError(
                    "architecture='conv' needs images: pass X shaped (n, H, W) or "
                    "(n, C, H, W), or set image_shape=(H, W) or (C, H, W) for flat rows."
                )
            return (self.n_features_in_,)
        return self.image_shape_

    @property
    def _n_features_out(self):
        return self.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.sparse = True
        return tags
