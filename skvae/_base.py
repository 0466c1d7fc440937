"""The implementation shared by every skvae estimator.

``_BaseAutoencoder`` validates input, builds the torch module and the skorch net,
trains, and answers ``transform``, ``inverse_transform``, ``sample`` and ``score``.
A model says what differs in a few named steps: its torch module (which owns the
prior and its KL term), its loss, how its codes are drawn, and any training
before the main one.
"""

import copy
import math
import os
import warnings
from contextlib import contextmanager
from functools import partial
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils._set_output import _wrap_data_with_container
from sklearn.utils.metaestimators import available_if
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from skorch.callbacks import EarlyStopping
from skorch.history import History

from ._data import TrainingRows, iter_batches
from ._doc_links import DocLinkMixin
from ._distributed import broadcast, is_main_process, local_device, world
from ._images import images_to_rows, resolve_image_shape, rows_to_images
from ._losses import (
    ELBOLoss,
    decoder_mean,
    expected_reconstruction_nll,
    importance_draws,
    importance_weighted_log_likelihood,
    initial_output_offset,
    quasi_normal_points,
    reconstruction_nll,
)
from ._net import AutoencoderNet, EpochProgressBar, KLWarmup, SaveCheckpoint, StopOnDivergence
from .exceptions import TrainingInterruptedWarning
from .modules import (
    ConvDecoder,
    ConvEncoder,
    MLPDecoder,
    MLPEncoder,
    VariationalAutoencoder,
    auto_conv_channels,
)

_OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}

_DTYPES = (np.float64, np.float32)

# Posterior draws behind score_samples: fixed, so scores are deterministic.
_N_SCORE_POINTS = 64
_SCORE_ROWS = 16
# What a value outside [0, 1] costs under the Bernoulli likelihood, per unit of
# distance: more than any value inside can cost a confident model (~10 nats).
OUT_OF_RANGE_NATS = 100.0


class _BaseAutoencoder(DocLinkMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Base class of the skvae estimators; not for direct use."""

    # The torch module of the model: it owns the posterior, the prior and the
    # KL term between them. The loss weighs that term by `_kl_weight()`.
    _module_class = VariationalAutoencoder

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "architecture": [StrOptions({"mlp", "conv"}), tuple],
        "conv_channels": ["array-like", StrOptions({"auto"})],
        "image_shape": ["array-like", None],
        "reconstruction_loss": [StrOptions({"auto", "bce", "mse"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), callable],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "early_stopping": ["boolean"],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "checkpoint_path": [str, os.PathLike, None],
        "checkpoint_every": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "mixed_precision": ["boolean"],
        "compile": ["boolean"],
        "callbacks": [list, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "kl_warmup_epochs": [Interval(Integral, 0, None, closed="left")],
    }

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
        validation_fraction=0.1,
        early_stopping=False,
        n_iter_no_change=10,
        warm_start=False,
        checkpoint_path=None,
        checkpoint_every=1,
        device="auto",
        mixed_precision=False,
        compile=False,
        callbacks=None,
        random_state=None,
        verbose=0,
        kl_warmup_epochs=0,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.architecture = architecture
        self.conv_channels = conv_channels
        self.image_shape = image_shape
        self.reconstruction_loss = reconstruction_loss
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every
        self.device = device
        self.mixed_precision = mixed_precision
        self.compile = compile
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose
        self.kl_warmup_epochs = kl_warmup_epochs

    def _kl_weight(self):
        return 1.0

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder on X.

        ``X`` is not copied (unless it must be converted to float, as integers
        other than ``uint8`` are): training gathers each batch from it and
        makes the batch float, so a ``np.memmap`` streams from disk and a
        scipy sparse matrix (TF-IDF, one-hot) is made dense one batch at a
        time, in memory bounded by ``batch_size``. Run in
        every process of a ``torchrun`` launch, ``fit`` trains one model
        data-parallel over the processes (README, "Scaling out").

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or image array
            Training data: rows, or images shaped ``(n, H, W)`` or
            ``(n, C, H, W)``. Integers are converted to float; ``uint8`` data
            is read as 8-bit intensities and divided by 255.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._fit(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit to X and return its codes, validating X once.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or image array
            Training data, as for :meth:`fit`.
        y : None
            Ignored.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            Posterior means (the codes) of X.
        """
        X = self._fit(X)
        return self._encode(X)[0].astype(_output_dtype(X), copy=False)

    @available_if(lambda self: self._incremental)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one pass over X, on from the fitted state (a new model at the first call).

        scikit-learn's incremental convention (as ``IncrementalPCA`` and
        ``MLPRegressor``): call it once per chunk of data too large to hold at
        once, e.g. per block of ``dask_ml.wrappers.Incremental`` or per slice of
        a memory-mapped array. Each call is one epoch, in ``history_`` and
        ``n_iter_``, over all the rows of X: no validation rows are held out
        and ``early_stopping`` does not apply. ``max_epochs`` and ``warm_start``
        are not used. The optimizer's state carries over from call to call.
        ``fit`` starts afresh (unless ``warm_start``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or image array
            A chunk of training data, as for :meth:`fit`, shaped like the first.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The estimator, fitted.
        """
        self._fit(X, y, incremental=True)
        return self

    # Whether partial_fit is offered: a model that trains on state computed from all of
    # its training rows at once (GaussianMixtureVAE's map) sets this False.
    _incremental = True

    def _fit(self, X, y=None, *, incremental=False, **target_options):
        """Train on X, from scratch or (``warm_start``) on from the fitted state; return X validated.

        ``y`` goes to :meth:`_training_targets` with ``target_options``;
        unsupervised models ignore it. ``incremental``: one epoch on all of X,
        on from the fitted state if there is one (:meth:`partial_fit`).

        A failed fit leaves every attribute as it was. An interrupted one
        (Ctrl-C) keeps the last finished epoch, warns, and re-raises.
        """
        warm = (self.warm_start or incremental) and hasattr(self, "net_")
        interrupted = None
        with _unchanged_on_error(self):
            X = self._validate_input(X, reset=not warm)
            given = self._training_targets(y, X.shape[0], reset=not warm, **target_options)
            device = _resolve_device(self.device, self.mixed_precision)
            parallel = world() is not None  # one of several processes training one model
            if parallel:
                device = local_device(device)
            if not incremental:
                self._check_validation_rows(X.shape[0])
            data = self._training_rows(X, device)
            if warm:
                kind = self._check_warm_start(data)
                seed, rng_state = self.net_.split_seed, self.net_.rng_state_
            else:
                kind = self._resolve_reconstruction_loss(data)
                seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
                if parallel:  # every process draws the same initial weights, split and row order
                    seed = broadcast(seed)
                rng_state = None
            with _torch_random_state(seed, rng_state):
                if warm:  # copies: a fit that fails must leave the fitted model as it was
                    module = copy.deepcopy(self.net_.module_)
                    optimizer_state = copy.deepcopy(self.net_.optimizer_.state_dict())
                    history = copy.deepcopy(self.net_.history)
                    targets = self._warm_start_targets(data, given)
                else:
                    hidden = _positive_ints("hidden_layer_sizes", self.hidden_layer_sizes)
                    module = self._build_module(hidden, initial_output_offset(data.mean(), kind))
                    optimizer_state = history = None
                    targets = self._prepare_training(module, data, given, kind, seed, device)
                # in data-parallel training every process holds the same model: rank 0 writes it
                writes = self.checkpoint_path and is_main_process()
                checkpoint = self._write_checkpoint if writes else None
                net = self._make_net(
                    module, kind, seed, device, optimizer_state, history, checkpoint, incremental=incremental
                )
                try:
                    net.partial_fit(data, targets)
                except KeyboardInterrupt as error:
                    if not net.restore_last_epoch():
                        raise  # not one epoch finished: nothing new to keep
                    interrupted = error
            del data
            net.last_epoch_ = None
            if self.compile:  # inference calls encode/decode, which were never compiled
                net.module_ = getattr(net.module_, "_orig_mod", net.module_)
                net.criterion_ = getattr(net.criterion_, "_orig_mod", net.criterion_)
            net.module_.eval()
            self._attach_net(net, kind)
            self._fit_statistics(X)
        if writes:
            self.save(self.checkpoint_path, training_state=True)
        if interrupted is not None:
            warnings.warn(
                f"Training was interrupted during epoch {self.n_iter_ + 1}. {type(self).__name__} "
                f"keeps the model of epoch {self.n_iter_}, fitted and usable (n_iter_={self.n_iter_}). "
                "To train on from there, set warm_start=True and call fit again: it runs "
                "max_epochs more epochs.",
                TrainingInterruptedWarning,
                stacklevel=3,
            )
            raise interrupted
        return X

    def _training_targets(self, y, n_samples, reset):
        """The per-row tensor that ``fit(X, y)`` trains with besides X, from y; None (y ignored) here.

        ``reset``: a new model (else one trained on, which may update what it learnt of y).
        """
        return None

    def _prepare_training(self, module, data, targets, kind, seed, device):
        """Anything a model does before its main training, on a new module (e.g. pretraining).

        Returns the per-row targets that the module and the loss take besides
        the rows: here those of :meth:`_training_targets` (None for an
        autoencoder, whose target is its input).
        """
        return targets

    def _warm_start_targets(self, data, targets):
        """The per-row targets with which a warm start trains on (see :meth:`_prepare_training`)."""
        return targets

    def _criterion(self, kind):
        """The loss the network trains with (a skorch criterion returning a ``LossOutput``)."""
        return ELBOLoss(kind, self._kl_weight())

    def _training_rows(self, X, device):
        """The training data as batches take it: X itself, not copied, made float one batch at a time."""
        data = TrainingRows(X, self.input_scale_, self._module_input_shape())
        return _to_training_device(data, device)

    def _check_warm_start(self, data):
        """The fitted likelihood, after checking that the fitted network can go on training."""
        kind = self.reconstruction_loss_
        if self.reconstruction_loss not in ("auto", kind):
            raise ValueError(
                f"warm_start=True trains the fitted network on, whose reconstruction_loss_ is "
                f"{kind!r}, but reconstruction_loss={self.reconstruction_loss!r} now. Set "
                "warm_start=False to train a new network."
            )
        if kind == "bce":
            self._check_unit_range(data, "the fitted reconstruction_loss_='bce'")
        hidden = _positive_ints("hidden_layer_sizes", self.hidden_layer_sizes)
        with torch.random.fork_rng(devices=[]):
            shapes = {k: v.shape for k, v in self._build_module(hidden, None).state_dict().items()}
        fitted = {k: v.shape for k, v in self.net_.module_.state_dict().items() if k != "output_offset"}
        if shapes != fitted:
            raise ValueError(
                "warm_start=True trains the fitted network on, but the parameters that shape "
                "it (n_components, hidden_layer_sizes, architecture, conv_channels) have "
                "changed since it was fitted. Set them back, or set warm_start=False to "
                "train a new network."
            )
        return kind

    def _make_net(
        self,
        module,
        kind,
        seed,
        device,
        optimizer_state=None,
        history=None,
        checkpoint=None,
        criterion=None,
        incremental=False,
    ):
        """The initialized skorch net around ``module``, carrying on from a saved state if given.

        ``incremental``: for one epoch on all rows, without early stopping (:meth:`partial_fit`).
        """
        callbacks = self._training_callbacks(checkpoint)
        if incremental:
            callbacks = [(name, cb) for name, cb in callbacks if name != "early_stopping"]
        net = AutoencoderNet(
            module=module,
            criterion=self._criterion(kind) if criterion is None else criterion,
            optimizer=_OPTIMIZERS.get(self.optimizer, self.optimizer),
            lr=self.lr,
            max_epochs=1 if incremental else self.max_epochs,
            batch_size=self.batch_size,
            train_split=None,
            validation_fraction=0.0 if incremental else self.validation_fraction,
            split_seed=seed,
            record_kl=issubclass(self._module_class, VariationalAutoencoder),
            callbacks=callbacks,
            device=device,
            mixed_precision=self.mixed_precision,
            compile=self.compile,
            verbose=self.verbose if self.verbose >= 2 else 0,
        ).initialize()
        if history is not None:
            net.history = history
        if optimizer_state is not None:
            net.optimizer_.load_state_dict(optimizer_state)
            for group in net.optimizer_.param_groups:
                group["lr"] = self.lr  # the saved state holds the lr of its time
        return net

    def _attach_net(self, net, kind):
        """Set the fitted attributes that come with a net, trained or in training: all a checkpoint holds."""
        self.net_ = net
        self.history_ = net.history
        self.n_iter_ = len(net.history)
        self.reconstruction_loss_ = kind

    # Fitted attributes that take a pass over all training rows, computed once when
    # fit ends (by _fit_statistics): a checkpoint written during training has none.
    _statistics = ()

    def _fit_statistics(self, X):
        """Set the attributes of ``_statistics`` from the validated training rows X."""

    def _statistic(self, name):
        """The fitted statistic ``name``, or an error that says why a checkpoint has none."""
        check_is_fitted(self)
        if name not in vars(self):
            raise NotFittedError(
                f"This {type(self).__name__} was saved during training, at epoch {self.n_iter_} (a "
                f"checkpoint): {name} is computed from all training rows when fit ends. Set "
                "warm_start=True and call fit on the training data to finish the fit."
            )
        return vars(self)[name]

    def _write_checkpoint(self, net):
        """Save the fit in progress as a fitted estimator, with its training state: a file write, no inference."""
        snapshot = copy.copy(self)  # shallow: the fit in progress is not touched
        for name in self._statistics:  # those of an earlier fit do not describe this net
            vars(snapshot).pop(name, None)
        snapshot._attach_net(net, net.criterion_.reconstruction)
        snapshot.save(self.checkpoint_path, training_state=True)

    def _validate_input(self, X, reset):
        """Validate X as rows; on fit, learn its image shape and intensity scale."""
        X, shape = images_to_rows(X)
        is_uint8 = _is_uint8(X)
        # uint8 stays uint8 here and becomes float one batch at a time
        # scipy sparse rows (TF-IDF, one-hot) stay sparse and are made dense one batch at a time
        X = validate_data(self, X, accept_sparse="csr", dtype=None if is_uint8 else _DTYPES, reset=reset)
        if reset:
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

    def _build_module(self, hidden, output_offset):
        shape = self._module_input_shape()
        k = self.n_components
        n_outputs = 2 * k if issubclass(self._module_class, VariationalAutoencoder) else k
        n_inputs = self._decoder_n_inputs()
        if self.architecture == "mlp":
            encoder = MLPEncoder(shape[0], n_outputs, hidden)
            decoder = MLPDecoder(n_inputs, shape[0], hidden[::-1])
        elif self.architecture == "conv":
            channels = (
                auto_conv_channels(*shape[1:])
                if isinstance(self.conv_channels, str)
                else _positive_ints("conv_channels", self.conv_channels)
            )
            encoder = ConvEncoder(shape, n_outputs, channels, hidden)
            decoder = ConvDecoder(n_inputs, shape, channels[::-1], hidden[::-1])
        else:
            encoder, decoder = _custom_modules(self.architecture, shape, n_outputs, n_inputs)
        return self._make_module(encoder, decoder, output_offset)

    def _decoder_n_inputs(self):
        """Width of the decoder's input: the code (a conditional model appends its class)."""
        return self.n_components

    def _make_module(self, encoder, decoder, output_offset):
        """The model's torch module around an encoder and a decoder."""
        return self._module_class(encoder, decoder, output_offset)

    def _training_callbacks(self, checkpoint=None):
        callbacks = [("stop_on_divergence", StopOnDivergence())]
        if self.kl_warmup_epochs:
            callbacks.append(("kl_warmup", KLWarmup(self.kl_warmup_epochs)))
        if checkpoint is not None:
            callbacks.append(("save_checkpoint", SaveCheckpoint(checkpoint, self.checkpoint_every)))
        if self.early_stopping:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(monitor="valid_loss", patience=self.n_iter_no_change, load_best=True),
                )
            )
        if self.verbose == 1:
            callbacks.append(("progress_bar", EpochProgressBar()))
        # skorch initialises callbacks in place; the user's objects stay untouched
        return callbacks + copy.deepcopy(self.callbacks or [])

    def _resolve_reconstruction_loss(self, data):
        if self.reconstruction_loss == "auto":
            return "bce" if _in_unit_range(data) else "mse"
        if self.reconstruction_loss == "bce":
            self._check_unit_range(data, "reconstruction_loss='bce'")
        return self.reconstruction_loss

    @staticmethod
    def _check_unit_range(data, what):
        if not _in_unit_range(data):
            low, high = data.value_range()
            raise ValueError(
                f"{what} needs every value of X in [0, 1], but X spans [{low:.4g}, "
                f"{high:.4g}]. Scale X into [0, 1] (e.g. MinMaxScaler) or use "
                "reconstruction_loss='mse'."
            )

    def _check_validation_rows(self, n_samples):
        if self.early_stopping and math.floor(self.validation_fraction * n_samples) < 1:
            raise ValueError(
                f"early_stopping=True needs validation rows, but validation_fraction="
                f"{self.validation_fraction} of {n_samples} samples leaves none. "
                "Raise validation_fraction or set early_stopping=False."
            )

    # ---------------------------------------------------------- save / load

    def save(self, path, *, training_state=False):
        """Save the fitted estimator to one file, loadable with :func:`skvae.load`.

        The file is in the `safetensors <https://huggingface.co/docs/safetensors>`_
        format: the weights (and any other array) as tensors, the
        hyper-parameters, fitted attributes and training history as plain data,
        and the skvae and torch versions and a format version. Loading it
        builds only skvae's allow-list and runs no code from the file. Classes
        of your own (``architecture=(MyEncoder, MyDecoder)``, a custom
        callback) are stored by import path and imported on load only if the
        caller trusts them by name (see :func:`skvae.get_untrusted_types`). The
        file is replaced atomically.

        Parameters
        ----------
        path : str or path-like
            Where to write; an existing file is replaced.
        training_state : bool, default=False
            Also store the optimizer's state (Adam: two more tensors per
            weight) and the random state, so that ``warm_start=True`` trains on
            exactly as if training had never stopped. Without it the file holds
            each weight once, and a warm start begins with a fresh optimizer.

        Returns
        -------
        path : pathlib.Path
            The file written.
        """
        from ._serialization import save

        return save(self, path, training_state=training_state)

    def _saved_params(self):
        """Parameters as :meth:`save` stores them: callbacks it cannot store are left out, with a warning."""
        from ._serialization import can_save

        params = self.get_params(deep=False)
        if params["callbacks"]:
            kept = [cb for cb in params["callbacks"] if can_save(cb)]
            if len(kept) < len(params["callbacks"]):
                warnings.warn(
                    "Some callbacks are not saved: a file stores them by import path, and these "
                    "have none (defined in __main__ or in a function), or hold objects a file "
                    f"cannot: {[cb for cb in params['callbacks'] if cb not in kept]!r}. After "
                    "loading, pass them again with set_params(callbacks=...).",
                    UserWarning,
                    stacklevel=4,
                )
            params["callbacks"] = kept
        return params

    def _saved_state(self, training_state):
        """What :meth:`save` stores: fitted attributes, and the net as weights and plain data."""
        state = {k: v for k, v in vars(self).items() if k.endswith("_") and k not in ("net_", "history_")}
        if not hasattr(self, "net_"):
            return state
        net = self.net_
        state["net_"] = {
            "module": getattr(net.module_, "_orig_mod", net.module_).state_dict(),
            "history": list(net.history),
            "split_seed": net.split_seed,
        }
        if training_state:
            state["net_"]["optimizer"] = net.optimizer_.state_dict()
            state["net_"]["rng"] = net.rng_state_
        return state

    def _restore_state(self, state, device):
        """Inverse of :meth:`_saved_state`, on ``device`` (None: as fitted, or the CPU if that is gone)."""
        net_state = state.pop("net_", None)
        vars(self).update(state)
        if net_state is None:
            return
        device = self._loading_device(device)
        hidden = _positive_ints("hidden_layer_sizes", self.hidden_layer_sizes)
        with torch.random.fork_rng(devices=[]):  # building draws initial weights; loading overwrites them
            module = self._build_module(hidden, torch.zeros(self._module_input_shape()))
        module.load_state_dict(net_state["module"])
        net = self._make_net(
            module,
            self.reconstruction_loss_,
            net_state["split_seed"],
            device,
            net_state.get("optimizer"),
            History(net_state["history"]),
        )
        net.rng_state_ = net_state.get("rng")
        net.module_.eval()
        self.net_, self.history_ = net, net.history

    def _loading_device(self, device, stacklevel=2):
        if device is not None:
            return _resolve_device(device)
        try:
            return _resolve_device(self.device)
        except ValueError:
            warnings.warn(
                f"{type(self).__name__} was fitted with device={self.device!r}, which this machine "
                "does not have: it runs on the CPU, and its device parameter is set to 'cpu'. "
                "(skvae.load(path, device=...) chooses the device of a saved model.)",
                UserWarning,
                stacklevel=stacklevel + 1,
            )
            self.device = "cpu"
            return "cpu"

    def __setstate__(self, state):
        # A model fitted on a GPU and unpickled where there is none (a Dask client, a
        # laptop): skorch has mapped the net to the CPU; the parameter follows it.
        super().__setstate__(state)
        net = self.__dict__.get("net_")
        if net is not None and torch.device(net.device).type == "cpu" and self.device not in ("cpu", "auto"):
            self._loading_device(None, stacklevel=3)

    # ------------------------------------------------------------ inference

    def _run_batches(self, X, step, *, codes=False, batch_size=None):
        """Apply ``step(module, batch) -> tuple of tensors`` over row batches of X.

        Batches of data are scaled and shaped as in training; batches of codes
        (``codes=True``) go in as they are. Runs in eval mode without autograd
        and writes each batch's results into arrays allocated once, so memory
        is one batch plus the outputs. Every batch has the same number of rows
        (the last is padded), which makes each row's result bit-identical
        whatever rows it comes with.
        """
        module = self.net_.module_
        module.eval()
        shape = (self.n_components,) if codes else self._module_input_shape()
        if batch_size is None:
            # Without gradients an MLP's batch is small: 1024 rows ran ~20% faster than
            # 128 (measured on 2 CPU cores). A conv net's feature maps stop fitting in
            # cache beyond ~128 rows, so it keeps the training batch size.
            # Sparse rows are made dense one batch at a time: the training batch size bounds that memory.
            larger = self.architecture == "mlp" and not sp.issparse(X)
            batch_size = max(self.batch_size, 1024) if larger else self.batch_size
        outputs = None
        with torch.inference_mode():
            for rows, batch in iter_batches(X, batch_size, self.net_.device):
                if not codes and self.input_scale_ != 1:
                    batch = batch / self.input_scale_
                n_rows = rows.stop - rows.start
                results = [r[:n_rows].cpu().numpy() for r in step(module, batch.reshape(len(batch), *shape))]
                if outputs is None:
                    outputs = [np.empty((X.shape[0], *r.shape[1:]), r.dtype) for r in results]
                for out, result in zip(outputs, results):
                    if not np.isfinite(result).all():
                        raise ValueError(
                            f"The network's output overflowed float32 (it computes in float32) for "
                            f"rows {rows.start} to {rows.start + n_rows - 1} of X, whose values reach "
                            f"{abs(X[rows]).max():.3g}. Scale X as the training data was scaled."
                        )
                    out[rows] = result
        return outputs

    def _encode(self, X, *, return_std=False):
        """Posterior means of X, and the standard deviations if asked for."""

        def step(module, batch):
            mean, logvar = module.encode(batch)
            if not return_std:
                return (mean,)
            return mean, torch.zeros_like(mean) if logvar is None else torch.exp(0.5 * logvar)

        return self._run_batches(X, step)

    def transform(self, X, *, return_std=False):
        """Encode X to its latent codes (posterior means).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or image array
            Data to encode, shaped like the training data.
        return_std : bool, default=False
            Also return the posterior standard deviations (zeros for the
            deterministic autoencoder). A sampled code is then
            ``mean + std * rng.standard_normal(mean.shape)``.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            Posterior means; deterministic.
        Z_std : ndarray of shape (n_samples, n_components)
            Posterior standard deviations, only if ``return_std`` is True.
            Under ``set_output(transform="pandas")`` (or ``"polars"``) both
            are data frames, with the same columns and index.
        """
        check_is_fitted(self)
        rows = self._validate_input(X, reset=False)
        dtype = _output_dtype(rows)
        codes = [c.astype(dtype, copy=False) for c in self._encode(rows, return_std=return_std)]
        if not return_std:
            return codes[0]
        # scikit-learn's set_output wraps only the first of the outputs: the second is wrapped here
        return codes[0], _wrap_data_with_container("transform", codes[1], X, self)

    def inverse_transform(self, X):
        """Decode latent codes back to data space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent codes, e.g. from :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            The decoder's mean, as rows on the training data's scale:
            probabilities for ``reconstruction_loss_ == "bce"`` (times 255 for
            uint8 training data). :meth:`as_images` shapes them into images.
        """
        Z = self._check_codes(X)
        return self._decode_rows(Z).astype(Z.dtype, copy=False)

    def _check_codes(self, X):
        """Latent codes given to :meth:`inverse_transform`, checked: a float array of ``n_components`` columns."""
        check_is_fitted(self)
        Z = _check_rows(X, f"{type(self).__name__}.inverse_transform takes latent codes, as transform returns them")
        if Z.shape[1] != self.n_components:
            raise ValueError(
                f"X has {Z.shape[1]} features, but {type(self).__name__}."
                f"inverse_transform expects codes with n_components={self.n_components} "
                "columns, as returned by transform."
            )
        return Z

    def _decode_rows(self, Z, **condition):
        """Decoder means of validated codes, as rows on the training data's scale.

        ``condition`` is passed to the module's ``decode`` (a conditional
        model's class).
        """
        kind, scale = self.reconstruction_loss_, self.input_scale_

        def step(module, z):
            return (decoder_mean(module.decode(z, **condition), kind).flatten(1) * scale,)

        (X_rec,) = self._run_batches(Z, step, codes=True)
        return X_rec

    def as_images(self, X, *, channels_last=True):
        """Shape rows of data (inputs, reconstructions, samples) into images.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows on the training data's scale, e.g. from
            :meth:`inverse_transform` or :meth:`sample`.
        channels_last : bool, default=True
            ``(n, H, W, C)``, or ``(n, H, W)`` for one channel, as
            ``matplotlib.pyplot.imshow`` takes; ``False`` gives ``(n, C, H, W)``.

        Returns
        -------
        images : ndarray
            ``uint8`` if the training data was ``uint8``, otherwise floats,
            clipped to [0, 1] for the Bernoulli likelihood.
        """
        check_is_fitted(self)
        if self.image_shape_ is None:
            raise ValueError(
                f"{type(self).__name__} was fitted on tabular rows, not images: pass "
                "image-shaped X or image_shape=(H, W) / (C, H, W) to fit."
            )
        X = _check_rows(X, f"{type(self).__name__}.as_images takes rows of data, as inverse_transform returns them")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but images have {self.n_features_in_}.")
        if self.input_scale_ == 255:
            X = np.clip(np.rint(X), 0, 255).astype(np.uint8)
        elif self.reconstruction_loss_ == "bce":
            X = np.clip(X, 0, 1)
        return rows_to_images(X, self.image_shape_, channels_last=channels_last)

    def sample(self, n_samples=1, random_state=None):
        """Generate new rows in data space.

        Codes are drawn from the prior N(0, I) for the variational models, and
        from ``latent_density_`` (a Gaussian mixture fitted to the training
        codes) for the autoencoder, then decoded with :meth:`inverse_transform`.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        random_state : int, RandomState instance or None, default=None
            Seed of the draw; an int gives the same rows every call.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features), float32
            :meth:`as_images` shapes them into images.
        """
        _check_n_samples(self, n_samples)
        Z = self._sample_codes(n_samples, check_random_state(random_state))
        return self.inverse_transform(Z.astype(np.float32))

    def _sample_codes(self, n_samples, rng):
        """Codes drawn from the model's prior, shape (n_samples, n_components)."""
        return rng.standard_normal((n_samples, self.n_components))

    def interpolate(self, x_start, x_end, n_steps=10, *, method="linear"):
        """Decode evenly spaced points on the path between the codes of two inputs.

        Parameters
        ----------
        x_start, x_end : array-like
            One sample each (a row, or an image of the training shape).
        n_steps : int, default=10
            Number of points, both ends included.
        method : {"linear", "spherical"}, default="linear"
            A straight line between the two posterior means, or the great
            circle between them (spherical linear interpolation), which keeps
            intermediate codes at a typical distance from the origin of a
            Gaussian prior instead of cutting through its low-density centre.

        Returns
        -------
        X_path : ndarray of shape (n_steps, n_features)
            Rows in data space; the first and last are the reconstructions of
            ``x_start`` and ``x_end``.
        """
        check_is_fitted(self)
        if method not in ("linear", "spherical"):
            raise ValueError(f"method must be 'linear' or 'spherical', got {method!r}.")
        if not isinstance(n_steps, Integral) or n_steps < 2:
            raise ValueError(f"n_steps must be an integer of at least 2, got {n_steps!r}.")
        z_start, z_end = self._codes_of_samples(x_start=x_start, x_end=x_end)
        return self.inverse_transform(_latent_path(z_start, z_end, n_steps, method))

    def traverse(self, x, dim, values=None):
        """Decode the code of ``x`` with one latent dimension set to each of ``values``.

        This is the beta-VAE view of disentanglement: if dimension ``dim``
        captures one factor of variation, only that factor changes.

        Parameters
        ----------
        x : array-like
            One sample (a row, or an image of the training shape).
        dim : int
            The latent dimension to vary, from 0 to ``n_components - 1``.
        values : array-like of float, default=None
            Values given to that dimension. Default: 7 values from -3 to 3,
            i.e. +-3 standard deviations of the prior; for the autoencoder,
            +-3 standard deviations of that dimension in ``latent_density_``
            around its mean.

        Returns
        -------
        X_traversal : ndarray of shape (len(values), n_features)
            Rows in data space.
        """
        check_is_fitted(self)
        if not isinstance(dim, Integral) or not 0 <= dim < self.n_components:
            raise ValueError(f"dim must be an integer in [0, {self.n_components - 1}], got {dim!r}.")
        (z,) = self._codes_of_samples(x=x)
        if values is None:
            center, spread = self._latent_center_and_spread(dim)
            values = center + spread * np.linspace(-3, 3, 7)
        try:
            values = np.asarray(values, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise ValueError(f"values must be finite numbers, got {values!r}.") from None
        if not np.isfinite(values).all() or len(values) == 0:
            raise ValueError(f"values must be finite numbers, at least one, got {values!r}.")
        values = values.astype(z.dtype)
        Z = np.repeat(z[None], len(values), axis=0)
        Z[:, dim] = values
        return self.inverse_transform(Z)

    def _codes_of_samples(self, **samples):
        """Posterior means of single samples given by name (names go in error messages)."""
        rows = []
        for name, x in samples.items():
            x = np.asarray(x)
            if x.size != self.n_features_in_:
                raise ValueError(
                    f"{name} must be one sample of {self.n_features_in_} values, got {x.size}."
                )
            rows.append(x.reshape(1, -1))
        X = np.concatenate(rows)
        if hasattr(self, "feature_names_in_"):
            import pandas as pd

            X = pd.DataFrame(X, columns=self.feature_names_in_)
        return self._encode(self._validate_input(X, reset=False))[0]

    def _has_factorised_prior(self):
        return getattr(self._module_class, "kl_per_dimension", None) is not None

    @available_if(_has_factorised_prior)
    def kl_per_dimension(self, X):
        """Mean KL divergence of each latent dimension from the prior, over X, in nats.

        The VAE's counterpart of PCA's ``explained_variance_``: it says which
        latent dimensions the model uses. A dimension whose KL is near 0 has
        the prior as its posterior for every row (it is "collapsed"): it
        carries nothing about X, :meth:`transform` gives it about 0 for every
        row, and the decoder ignores it. The values sum to the mean KL term of
        the ELBO. :func:`skvae.plotting.plot_kl_per_dimension` draws them.

        Only for models whose prior factorises over dimensions (``N(0, I)``):
        the VAE, beta-VAE and conditional VAE.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or image array
            Data shaped like the training data (the training data itself, or
            held-out rows).

        Returns
        -------
        kl : ndarray of shape (n_components,)
            Mean ``KL(q(z_j | x) || N(0, 1))`` over the rows, per dimension.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from skvae import VAETransformer
        >>> X = load_digits().data / 16
        >>> vae = VAETransformer(n_components=8, max_epochs=10, random_state=0).fit(X)
        >>> kl = vae.kl_per_dimension(X)
        >>> kl.shape
        (8,)
        >>> active = kl > 0.01  # nats: the dimensions the model uses
        >>> bool(kl.min() >= 0)
        True
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)

        def step(module, batch):
            return (module.kl_per_dimension(*module.encode(batch)),)

        (kl,) = self._run_batches(X, step)
        return kl.mean(0, dtype=np.float64)

    def _latent_center_and_spread(self, dim):
        """Mean and standard deviation of one dimension of the prior (N(0, I) here)."""
        return 0.0, 1.0

    def score_samples(self, X, n_importance=None):
        """Per-sample evidence lower bound (ELBO), or its importance-weighted tightening, in nats.

        Higher means more typical of the training data, as for
        ``IsolationForest.score_samples``. For the variational models this is
        ``E_q[log p(x | z)] - KL(q(z | x) || p(z))`` with the KL weight 1 (also
        for :class:`BetaVAETransformer`). The KL term is exact; the expectation
        averages 64 fixed quasi-random posterior draws (scrambled Sobol points
        in antithetic pairs), the same for every row: the value is
        deterministic, a row's score does not depend on the rows scored with
        it, and it lies within about 1% of a many-draw Monte Carlo estimate.
        For :class:`AutoencoderTransformer` it is the
        reconstruction log-likelihood ``log p(x | z)``, i.e. minus the
        reconstruction loss.

        The Bernoulli likelihood (``reconstruction_loss_ == "bce"``) has no
        density outside [0, 1]: such values are scored at the nearest bound
        and cost 100 nats per unit beyond it, with a warning, so that a row
        never scores as more typical for leaving the range (as a test fold of
        a ``MinMaxScaler`` may, slightly).

        With ``n_importance=k`` it is instead the importance-weighted bound of
        IWAE, ``log (1/k) sum_i p(x | z_i) p(z_i) / q(z_i | x)`` over k
        posterior draws: k=1 estimates the ELBO, and the bound rises towards
        the log-likelihood ``log p(x)`` as k grows (k=100 or more, for
        comparing models by likelihood). The k draws are fixed standard-normal
        draws (seed 0), the same for every row, so this too is deterministic.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        n_importance : int, default=None
            Number of importance samples per row; None gives the ELBO as
            described above. Only for models with a posterior (not
            :class:`AutoencoderTransformer`).

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        X, bounded = self._scoring_input(X, n_importance)
        return self._bound_rows(X, n_importance, bounded).astype(_output_dtype(X), copy=False)

    def _scoring_input(self, X, n_importance):
        """X validated for scoring, and whether it leaves the Bernoulli likelihood's [0, 1] (with a warning)."""
        check_is_fitted(self)
        if n_importance is not None:
            if not isinstance(n_importance, Integral) or isinstance(n_importance, bool) or n_importance < 1:
                raise ValueError(f"n_importance must be None or a positive integer, got {n_importance!r}.")
            if not issubclass(self._module_class, VariationalAutoencoder):
                raise ValueError(
                    f"n_importance weighs posterior draws, but {type(self).__name__} has a "
                    "deterministic code and no prior: leave n_importance=None."
                )
        X = self._validate_input(X, reset=False)
        bounded = self.reconstruction_loss_ == "bce" and self.input_scale_ == 1 and not _in_unit_range(X)
        if bounded:
            warnings.warn(
                "X has values outside [0, 1], where the Bernoulli likelihood of this model "
                "(reconstruction_loss_='bce') has no density. Each value is scored at the "
                f"nearest bound and costs {OUT_OF_RANGE_NATS:g} nats per unit beyond it, so such "
                "rows score as less typical. Scale new data as the training data was (e.g. "
                "MinMaxScaler(clip=True)).",
                UserWarning,
                stacklevel=3,
            )
        return X, bounded

    def _bound_rows(self, X, n_importance, bounded, **condition):
        """:meth:`score_samples` of validated rows; ``condition`` goes to the module's ``decode``."""
        kind = self.reconstruction_loss_
        points = quasi_normal_points(_N_SCORE_POINTS, self.n_components)
        draws = None if n_importance is None else importance_draws(n_importance, self.n_components)

        def step(module, batch):
            penalty = 0.0
            if bounded:
                inside = batch.clamp(0, 1)
                penalty = OUT_OF_RANGE_NATS * (batch - inside).abs().flatten(1).sum(1)
                batch = inside
            decode = partial(module.decode, **condition)
            mean, logvar = module.encode(batch)
            if logvar is None:
                return (-reconstruction_nll(decode(mean), batch, kind) - penalty,)
            if draws is not None:
                bound = importance_weighted_log_likelihood(decode, module.log_prior, mean, logvar, batch, kind, draws)
                return (bound - penalty,)
            recon = expected_reconstruction_nll(decode, mean, logvar, batch, kind, points)
            return (-(recon + module.kl_divergence(mean, logvar)) - penalty,)

        # 16 rows x 64 posterior draws: one decoder call of 1024 rows per batch
        (scores,) = self._run_batches(X, step, batch_size=_SCORE_ROWS)
        return scores

    def score(self, X, y=None, n_importance=None):
        """Mean ELBO per sample in nats (higher is better).

        This is what ``GridSearchCV`` maximises when no ``scoring`` is given.
        See :meth:`score_samples`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : None
            Ignored.
        n_importance : int, default=None
            Importance samples per row: the mean IWAE bound instead of the ELBO.

        Returns
        -------
        score : float
        """
        return float(np.mean(self.score_samples(X, n_importance=n_importance)))

    @property
    def _n_features_out(self):
        return self.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.sparse = True
        return tags


def mixture_center_and_spread(weights, means, variances):
    """Mean and standard deviation of one dimension of a Gaussian mixture."""
    center = np.dot(weights, means)
    return center, float(np.sqrt(np.dot(weights, variances + means**2) - center**2))


def _latent_path(z_start, z_end, n_steps, method):
    """``n_steps`` codes from ``z_start`` to ``z_end``, linear or along the great circle."""
    t = np.linspace(0, 1, n_steps, dtype=z_start.dtype)[:, None]
    if method == "spherical":
        norms = np.linalg.norm(z_start) * np.linalg.norm(z_end)
        omega = np.arccos(np.clip(np.dot(z_start, z_end) / norms, -1, 1)) if norms > 0 else 0.0
        if np.sin(omega) > 1e-6:
            return (np.sin((1 - t) * omega) * z_start + np.sin(t * omega) * z_end) / np.sin(omega)
    return (1 - t) * z_start + t * z_end


def _check_n_samples(estimator, n_samples):
    """The checks of every ``sample`` method: a fitted estimator, a positive integer count."""
    check_is_fitted(estimator)
    if not isinstance(n_samples, Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")


def _check_rows(X, what):
    """``check_array`` for a 2-D float array, its errors saying what the method takes."""
    try:
        return check_array(X, dtype=_DTYPES, input_name="X")
    except (ValueError, TypeError) as error:
        raise type(error)(f"{what}: a 2-D array of finite numbers. {error}") from None


def _in_unit_range(data):
    """Whether every value of an array or ``TrainingRows`` lies in [0, 1] (True for no values)."""
    if isinstance(data, TrainingRows):
        extremes = data.value_range()
        return extremes is None or (extremes[0] >= 0 and extremes[1] <= 1)
    return data.shape[0] == 0 or bool(data.min() >= 0 and data.max() <= 1)


def _output_dtype(X):
    return np.float32 if X.dtype == np.uint8 else X.dtype


def _is_uint8(X):
    dtypes = getattr(X, "dtypes", None)  # a DataFrame
    if dtypes is not None:
        return len(dtypes) > 0 and all(dtype == np.uint8 for dtype in dtypes)
    return getattr(X, "dtype", None) == np.uint8


def _positive_ints(name, value):
    values = [value] if isinstance(value, Integral) else list(value)
    if not all(isinstance(v, Integral) and v > 0 for v in values):
        raise ValueError(f"{name} must be positive integers, got {value!r}.")
    return [int(v) for v in values]


def _custom_modules(architecture, shape, n_outputs, n_components):
    """Build and check a user's ``(encoder_class, decoder_class)``."""
    if len(architecture) != 2 or not all(callable(part) for part in architecture):
        raise ValueError(
            "architecture must be 'mlp', 'conv' or a pair (encoder_class, decoder_class), "
            f"got {architecture!r}."
        )
    encoder, decoder = architecture[0](shape, n_outputs), architecture[1](n_components, shape)
    with torch.no_grad():
        code = encoder(torch.zeros(2, *shape))
        out = decoder(torch.zeros(2, n_components))
    if tuple(code.shape) != (2, n_outputs) or tuple(out.shape) != (2, *shape):
        raise ValueError(
            f"The encoder must map (N, *{shape}) to (N, {n_outputs}) and the decoder "
            f"(N, {n_components}) to (N, *{shape}); for N=2 they gave {tuple(code.shape)} "
            f"and {tuple(out.shape)}."
        )
    return encoder, decoder


def _resolve_device(device, mixed_precision=False):
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(device).type
    except RuntimeError:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu', 'cuda' or e.g. 'cuda:1'."
        ) from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was asked for, but this PyTorch ({torch.__version__}) "
            "finds no CUDA GPU. Use device='cpu', or 'auto' to take a GPU when there is one."
        )
    if kind != "cpu":
        try:
            torch.zeros(1, device=device).cpu()  # a device that cannot hold and return data fails here
        except (RuntimeError, AssertionError, NotImplementedError) as error:
            reason = str(error).strip().split("\n")[0].split(". ")[0].rstrip(".")
            raise ValueError(
                f"device={device!r} is not usable on this machine ({reason}). Use device='cpu', "
                "or 'auto' to take a CUDA GPU when there is one."
            ) from None
    if mixed_precision and kind == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError(
            "mixed_precision=True trains in bfloat16, which this GPU does not support "
            "(it needs NVIDIA Ampere or newer). Set mixed_precision=False."
        )
    return device


def _to_training_device(data, device):
    """Move the training data to a GPU once, if it takes at most half the free memory.

    Batches are then gathered on the GPU and nothing crosses the bus per step;
    larger data stays on the host and moves one batch at a time.
    """
    if torch.device(device).type != "cuda":
        return data
    free, _ = torch.cuda.mem_get_info(torch.device(device))
    return data.to(device) if data.nbytes_on_device() < free / 2 else data


@contextmanager
def _torch_random_state(seed, state=None):
    """Seed torch for one fit, or set it to a state saved by an earlier one.

    The caller's random state is left as it was.
    """
    cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=cuda):
        if state is None:
            torch.manual_seed(seed)
        else:
            torch.set_rng_state(state["cpu"])
            if "cuda" in state and cuda:
                torch.cuda.set_rng_state(state["cuda"])
        yield


@contextmanager
def _unchanged_on_error(estimator):
    """Restore every attribute if the block fails, so a failed fit changes nothing."""
    state = estimator.__dict__.copy()
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(state)
        raise
