"""Training: fit, partial_fit and warm starts, the skorch net, checkpoints, and the module a model builds.

``_TrainingMixin`` owns the loop around skorch: validating and batching the
rows, building the torch module and the net, resuming from a fitted state,
writing checkpoints, and keeping a fitted model unchanged when a fit fails.
"""

import copy
import math
import warnings
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.base import _fit_context
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import BatchScoring, EarlyStopping, EpochScoring

from ._checks import _in_unit_range, _output_dtype, _positive_ints
from ._data import Sides, TrainingRows, train_valid_split
from ._distributed import broadcast, is_main_process, local_device, world
from ._layout import lay_out
from ._losses import ELBOLoss, initial_output_offset
from ._neighbors import (
    ANCHOR_EPOCHS,
    LayoutLoss,
    NeighborhoodLoss,
    check_graph_rows,
    encoded_rows,
    neighbor_graph,
)
from ._net import AutoencoderNet, EpochProgressBar, KLWarmup, PhaseHeader, SaveCheckpoint, StopOnDivergence
from ._placement import PLACEMENT_EPOCHS, PLACEMENT_NEGATIVES, search_projection
from ._placement_network import fit_network
from ._threads import torch_threads, training_threads
from .exceptions import TrainingInterruptedWarning
from .modules import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder, auto_conv_channels


_OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}


class _TrainingMixin:
    """Training, for :class:`skvae._base._BaseAutoencoder`; see the hooks it lists."""

    def _kl_weight(self):
        return 1.0

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
        return self._codes(X).astype(_output_dtype(X), copy=False)

    @available_if(lambda self: self._trains_incrementally())
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

    # Whether placement="neighbors" can place rows among this model's codes: a
    # model whose codes are a codebook's (VQ-VAE) sets this False.
    _placeable = True

    # neighbor_weight="auto" trains codes of at most this many dimensions (maps to look at) with
    # the neighbourhood term, and placement="auto" places new rows among the training rows of a
    # model that trained with it (benchmarks/README.md, "On by default for 2-D and 3-D codes")
    _MAP_MAX_COMPONENTS = 3

    def _neighbor_weight(self):
        """``neighbor_weight``, with "auto" resolved: 1.0 for codes of at most 3 dimensions, else 0."""
        if isinstance(self.neighbor_weight, str):  # "auto"
            return 1.0 if self.n_components <= self._MAP_MAX_COMPONENTS else 0.0
        return self.neighbor_weight

    # placement="auto" maps new rows with a network (placement="network") from this many training
    # rows of such a model. Below it UMAP's transform measures exact distances to every training row
    # (umap-learn's small-data path, under 4,096 rows), which placement's search beats 50 to 120
    # times (10,000 rows, the digits' 898 and 2,500 MNIST digits); from it UMAP searches an index
    # and the search is only 3 to 6 times faster on images (5,000 to 20,000 Fashion-MNIST rows), the
    # network 84 to 107. The network's fit (at least 6,000 steps, 40 to 60 s on 2 cores) then adds
    # two thirds to a quarter to the fit (benchmarks/README.md, "placement='auto' from 10,000 rows"
    # and "A cheaper network for small training sets").
    _NETWORK_MIN_ROWS = 4_096

    def _placement(self, n_rows, incremental=False):
        """``placement`` for a fit on ``n_rows`` rows, with "auto" resolved.

        "neighbors" where the fit trains with the term and the model's codes
        can be placed among, "network" instead from ``_NETWORK_MIN_ROWS``
        rows, else "encoder".
        """
        if self.placement != "auto":
            return self.placement
        if not (self._neighbor_weight() and self._placeable and not incremental):
            return "encoder"
        return "network" if n_rows >= self._NETWORK_MIN_ROWS else "neighbors"

    # What the main training is called in the progress that verbose shows; a model that
    # trains in phases (GaussianMixtureVAE) names its main one and passes the others' names.
    _training_phase = "training"

    def _fit(self, X, y=None, *, incremental=False, **target_options):
        """Train on X, from scratch or (``warm_start``) on from the fitted state; return X validated.

        ``y`` goes to :meth:`_training_condition` with ``target_options``;
        unsupervised models ignore it. ``incremental``: one epoch on all of X,
        on from the fitted state if there is one (:meth:`partial_fit`).

        A failed fit leaves every attribute as it was. An interrupted one
        (Ctrl-C) keeps the last finished epoch, warns, and re-raises.
        """
        warm = (self.warm_start or incremental) and hasattr(self, "net_")
        interrupted = None
        self._check_placement()
        with _unchanged_on_error(self):
            X = self._validate_input(X, reset=not warm)
            placement = self._placement(X.shape[0], incremental)
            condition = self._training_condition(y, X.shape[0], reset=not warm, **target_options)
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
            with _torch_random_state(seed, rng_state), torch_threads(training_threads(self.n_jobs)):
                if warm:  # copies: a fit that fails must leave the fitted model as it was
                    module = copy.deepcopy(self.net_.module_)
                    optimizer_state = copy.deepcopy(self.net_.optimizer_.state_dict())
                    history = copy.deepcopy(self.net_.history)
                    target = self._warm_start_target(data)
                else:
                    hidden = _positive_ints("hidden_layer_sizes", self.hidden_layer_sizes)
                    module = self._build_module(hidden, initial_output_offset(data.mean(), kind))
                    optimizer_state = history = None
                    target = self._prepare_training(module, data, kind, seed, device)
                    vars(self).pop("neighbor_graph_", None)  # of an earlier fit's data
                criterion = self._criterion(kind)
                if self._neighbor_weight() and not incremental:
                    criterion, target = self._with_neighborhood(criterion, module, data, seed, target, warm)
                # in data-parallel training every process holds the same model: rank 0 writes it
                writes = self.checkpoint_path and is_main_process()
                checkpoint = self._write_checkpoint if writes else None
                net = self._make_net(
                    module, kind, seed, device, optimizer_state, history, checkpoint, criterion=criterion,
                    incremental=incremental,
                )
                try:
                    net.partial_fit(data, Sides(condition, target))
                except KeyboardInterrupt as error:
                    if not net.restore_last_epoch():
                        raise  # not one epoch finished: nothing new to keep
                    interrupted = error
                layout = None
                if placement in ("neighbors", "network") and interrupted is None:
                    layout = self._lay_out_placement(module, data, kind, seed, device, condition)
            del data
            net.last_epoch_ = None
            if self.compile:  # inference calls encode/decode, which were never compiled
                net.module_ = getattr(net.module_, "_orig_mod", net.module_)
                net.criterion_ = getattr(net.criterion_, "_orig_mod", net.criterion_)
            if isinstance(net.criterion_, NeighborhoodLoss):
                # the graph is neighbor_graph_, and the bank of codes is of no use after training
                net.criterion = net.criterion_ = net.criterion_.loss
            net.module_.eval()
            self._attach_net(net, kind)
            self._fit_statistics(X)
            self._keep_placement_rows(X, placement, layout)
            if placement == "network" and interrupted is None:
                self._fit_placement_network()
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

    def _trains_incrementally(self):
        """Whether partial_fit is there; an AttributeError that says why where it is not for a parameter."""
        if self._incremental and self.placement in ("neighbors", "network"):
            raise AttributeError(
                f"partial_fit is not available with placement={self.placement!r}: it sees one chunk of rows at a "
                "time, and new rows are placed among all the training rows. Use fit, or placement='encoder'."
            )
        return self._incremental

    def _check_placement(self):
        """Refuse placement="neighbors" where it cannot be given, before anything trains.

        (partial_fit is not there with it: see :meth:`_trains_incrementally`.)
        """
        if self.placement not in ("neighbors", "network"):  # "auto" places only where it can
            return
        why = None
        if not self._placeable:
            why = f"{type(self).__name__}'s codes are quantised to a codebook, which placing does not keep"
        elif not self._neighbor_weight():
            why = ("it places rows among codes trained to keep their neighbourhoods, which needs "
                   "neighbor_weight > 0 (try 1.0)")
        if why:
            raise ValueError(f"placement={self.placement!r} cannot be used here: {why}. Set placement='encoder' "
                             "to encode rows with the network.")

    def _lay_out_placement(self, module, data, kind, seed, device, condition):
        """The training rows' codes laid out as UMAP lays out its map, with the model trained on to agree.

        The network's codes place new rows less well than UMAP's map of the
        same graph (``benchmarks/README.md``), so placement="neighbors" moves
        them with UMAP's own layout optimisation, from where the network put
        them (:func:`~skvae._layout.lay_out`). The model then trains on
        with its own loss and an anchor that holds each row's code near its
        laid-out one and decodes the laid-out codes too (:class:`~skvae._neighbors.LayoutLoss`),
        so that those decode and the encoder's codes (which the model's score reads) follow them.
        """
        codes = encoded_rows(module, data).cpu().numpy()
        layout = lay_out(self.neighbor_graph_, codes, seed=seed)
        loss = LayoutLoss(self._criterion(kind), module.decode, self.n_components, conditioned=condition is not None)
        net = self._make_net(module, kind, seed, device, criterion=loss,
                             phase="moving the codes onto the map laid out for placement")
        net.max_epochs = min(ANCHOR_EPOCHS, self.max_epochs)
        given = torch.as_tensor(layout, device=data.device)
        target = given if condition is None else torch.cat([given, condition.to(given)], 1)
        net.partial_fit(data, Sides(condition, target))
        return layout

    def _keep_placement_rows(self, X, placement, layout=None):
        """Keep the training rows (wide ones projected) and their codes for placement="neighbors", or drop them.

        The codes are ``layout`` where it was laid out (:meth:`_lay_out_placement`; float32, as
        the encoder's codes are), else the encoder's.
        """
        for name in ("placement_rows_", "placement_codes_", "placement_projection_", "placement_epochs_",
                     "placement_negatives_", "placement_network_"):
            vars(self).pop(name, None)
        if placement == "encoder":
            return
        rows = self._flat_rows(X)
        projection = search_projection(rows, seed=self.net_.split_seed)
        if projection is not None:
            self.placement_projection_ = projection
        self.placement_rows_ = self._rows_to_place(rows)
        self.placement_codes_ = self._encode(X)[0] if layout is None else layout
        self.placement_epochs_, self.placement_negatives_ = PLACEMENT_EPOCHS, PLACEMENT_NEGATIVES

    def _fit_placement_network(self):
        """Fit placement="network"'s network to the laid-out training codes (``placement_network_``)."""

        def progress(epochs):
            from tqdm.auto import tqdm  # here: tqdm.auto warns at import in a notebook without ipywidgets

            return tqdm(total=epochs, unit="epoch", desc="fitting the network that maps new rows", leave=True)

        with torch_threads(training_threads(self.n_jobs)):
            self.placement_network_ = fit_network(
                self.placement_rows_, self.placement_codes_, seed=self.net_.split_seed % 2**32,
                device=self.net_.device, progress=progress if self.verbose else None,
            )

    def _training_condition(self, y, n_samples, reset):
        """The per-row condition that the module takes besides X, from ``y``; None (y ignored) here.

        ``reset``: a new model (else one trained on, which may update what it learnt of y).
        """
        return None

    def _prepare_training(self, module, data, kind, seed, device):
        """Anything a model does before its main training, on a new module (e.g. pretraining).

        Returns the per-row target that the loss takes besides the rows: None
        here (an autoencoder's target is its input).
        """
        return None

    def _warm_start_target(self, data):
        """The per-row target with which a warm start trains on (see :meth:`_prepare_training`)."""
        return None

    def _criterion(self, kind):
        """The loss the network trains with (a skorch criterion returning a ``LossOutput`` of its ``parts``)."""
        return ELBOLoss(kind, self._kl_weight())

    def _with_neighborhood(self, criterion, module, data, seed, target, warm):
        """``criterion`` with the neighbourhood term added, and the per-row target the net then batches.

        The graph of the training rows (those not held out for validation) is
        built once per fit and kept as ``neighbor_graph_``; a warm start trains
        on with the one it has. The net then batches each row's number, and
        the term gives the model's loss its own target by it.
        """
        graph = vars(self).get("neighbor_graph_") if warm else None
        if graph is None:
            (training, _), _ = train_valid_split(data, self._validation_fraction(), seed)
            rows = np.arange(len(data)) if training.rows is None else training.rows.cpu().numpy()
            graph = neighbor_graph(data, rows, seed=seed)
        check_graph_rows(graph, len(data))
        self.neighbor_graph_ = graph
        bank = encoded_rows(module.to(data.device), data)
        loss = NeighborhoodLoss(criterion, graph, self._neighbor_weight(), bank, target)
        return loss, torch.arange(len(data), device=data.device)

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
        phase=None,
    ):
        """The initialized skorch net around ``module``, carrying on from a saved state if given.

        ``incremental``: for one epoch on all rows, without early stopping (:meth:`partial_fit`).
        ``phase`` names what this net trains for the progress shown (the model's
        ``_training_phase`` by default); a model that trains in several phases
        names each.
        """
        callbacks = self._training_callbacks(checkpoint, phase or self._training_phase)
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
            validation_fraction=0.0 if incremental else self._validation_fraction(),
            split_seed=seed,
            callbacks=callbacks,
            device=device,
            mixed_precision=self.mixed_precision,
            compile=self.compile,
            verbose=self.verbose if self.verbose >= 2 else 0,
            # skorch's table of the epoch is built even when nothing prints it: half a
            # millisecond an epoch, a tenth of a small fit
            **({} if self.verbose >= 2 else {"callbacks__print_log": None}),
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

    def _build_module(self, hidden, output_offset):
        shape = self._module_input_shape()
        k = self.n_components
        n_outputs = 2 * k if self._module_class.stochastic else k  # means, then log-variances
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

    def _training_callbacks(self, checkpoint=None, phase="training"):
        callbacks = [("stop_on_divergence", StopOnDivergence())]
        if self.kl_warmup_epochs and self._module_class.stochastic:  # a KL term to weigh
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
            callbacks.append(("progress_bar", EpochProgressBar(phase)))
        elif self.verbose >= 2:
            callbacks.append(("phase_header", PhaseHeader(f"{type(self).__name__}: {phase}")))
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

    def _validation_fraction(self):
        """The fraction of rows held out: ``validation_fraction``, or for None, 0.1 if anything reads them."""
        if self.validation_fraction is not None:
            return self.validation_fraction
        reads = self.early_stopping or any(_reads_validation(callback) for callback in self.callbacks or [])
        return DEFAULT_VALIDATION_FRACTION if reads else 0.0

    def _check_validation_rows(self, n_samples):
        fraction = self._validation_fraction()
        if self.early_stopping and math.floor(fraction * n_samples) < 1:
            raise ValueError(
                f"early_stopping=True needs validation rows, but validation_fraction="
                f"{fraction} of {n_samples} samples leaves none. "
                "Raise validation_fraction or set early_stopping=False."
            )


# validation_fraction=None holds out this fraction when something reads the validation rows
DEFAULT_VALIDATION_FRACTION = 0.1


def _reads_validation(callback):
    """Whether a skorch callback (or ``(name, callback)``) reads the validation rows or their loss.

    skorch's convention: ``monitor`` names a history key (``"valid_loss"``,
    ``"valid_loss_best"``), and a scoring callback with ``on_train=False``
    scores the validation rows.
    """
    if isinstance(callback, tuple):
        callback = callback[1]
    monitor = getattr(callback, "monitor", None)
    if isinstance(monitor, str) and monitor.startswith("valid"):
        return True
    return isinstance(callback, (EpochScoring, BatchScoring)) and not callback.on_train


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
