"""The skorch NeuralNet that trains every skvae estimator, and its callbacks.

The net overrides a few small skorch methods: batches are gathered from the
training array (see ``_data``), the net splits off its own validation rows,
each step returns the loss's parts, and losses stay on the device until the
end of the epoch. It keeps the state of the last finished epoch, so that an
interrupted fit can hand back a usable model, and lets a Ctrl-C reach the
caller. In a process group it trains data-parallel (see ``_distributed``).
"""

import contextlib
import copy
import math
import warnings

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, PassthroughScoring
from skorch.exceptions import DeviceWarning

from ._data import Sides, TensorBatches, train_valid_split
from ._distributed import broadcast_buffers, gather_rows, world
from .exceptions import DivergenceError


class _EarlyStop(Exception):
    """skorch's EarlyStopping ended training (it signals that with KeyboardInterrupt)."""


class AutoencoderNet(NeuralNet):
    """skorch ``NeuralNet`` for autoencoders, trained on rows gathered batch by batch.

    ``fit(X)`` takes ``TrainingRows``; the target is ``X`` itself. ``fit(X, y)``
    takes a :class:`~skvae._data.Sides` as ``y`` and batches its two per-row
    channels with X: ``condition`` goes to the module, as
    ``module(X_batch, condition_batch)``, for a model that decodes with more
    than the code; ``target`` goes to the loss, as
    ``criterion(output, X_batch, target_batch)``, for a model whose loss takes
    more than the row. The criterion returns a ``LossOutput``;
    besides ``train_loss`` and ``valid_loss``, each of the parts its class
    names in ``parts`` is recorded as ``{train,valid}_<part>`` (e.g.
    ``train_recon_loss``, ``train_kl_loss``), per batch and averaged per epoch.

    Run in each process of a ``torch.distributed`` group, ``partial_fit``
    wraps the module in ``DistributedDataParallel``, gives each process its
    share of the rows and records every process's batches, so that all
    processes keep the same history and stop at the same epoch.

    Batch records are written at the end of each epoch, in one transfer from
    the device, rather than with a host synchronisation after every step; a
    callback's ``on_batch_end`` receives the step's tensors but finds the
    batch's entry in ``history`` only after the epoch.

    Parameters
    ----------
    validation_fraction : float
        Fraction of the rows held out for ``valid_loss``; 0 for none.
    split_seed : int
        Seed of the validation split, which has a generator of its own.
    mixed_precision : bool
        Run forward passes under ``torch.autocast`` with bfloat16; the loss is
        computed in float32.
    **kwargs
        Passed to ``skorch.NeuralNet``.

    Attributes
    ----------
    rng_state_ : dict of str to Tensor
        Torch's random state at the end of the last finished epoch (``"cpu"``,
        and ``"cuda"`` when training on a GPU): where a resumed fit goes on.
    """

    def __init__(
        self, *args, validation_fraction=0.0, split_seed=0, mixed_precision=False, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.validation_fraction = validation_fraction
        self.split_seed = split_seed
        self.mixed_precision = mixed_precision
        self.rng_state_ = None
        self.last_epoch_ = None
        self.world_ = self._parallel_forward = None

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train for ``max_epochs`` more epochs.

        Unlike skorch's, a KeyboardInterrupt (Ctrl-C) is not swallowed: it
        reaches the caller, so that it stops a script or a grid search, and
        :meth:`restore_last_epoch` can then bring back the last finished epoch.
        skorch's ``EarlyStopping``, which stops training by raising
        KeyboardInterrupt, still ends the fit normally.
        """
        if not self.initialized_:
            self.initialize()
        self.epochs_at_start_ = len(self.history)
        self._start_data_parallel()
        self.notify("on_train_begin", X=X, y=y)
        try:
            self.fit_loop(X, y, **fit_params)
        except _EarlyStop:
            pass
        finally:
            self.world_ = self._parallel_forward = None
            self.notify("on_train_end", X=X, y=y)
        return self

    def _start_data_parallel(self):
        """Wrap the module for data-parallel training if this process is one of a group.

        The wrapper averages gradients across processes after each backward
        pass; it is dropped after training, so the fitted net holds only the
        module and pickles as usual.
        """
        self.world_ = world()
        self._parallel_forward = None
        if self.world_ is None:
            return
        device = torch.device(self.device)
        wrapper = torch.nn.parallel.DistributedDataParallel(
            self.module_,
            device_ids=[device.index] if device.type == "cuda" else None,
        )
        # its bound call, not the wrapper: skorch would register a module attribute as a
        # part of the net (to pickle, move between devices and set parameters of)
        self._parallel_forward = wrapper.__call__

    def notify(self, method_name, **cb_kwargs):
        try:
            acting = self.__dict__.get("_acting_callbacks")
            if acting is not None and method_name in acting:
                # three calls a batch: only to the callbacks that do something then
                getattr(self, method_name)(self, **cb_kwargs)
                for cb in acting[method_name]:
                    getattr(cb, method_name)(self, **cb_kwargs)
            else:
                super().notify(method_name, **cb_kwargs)
        except KeyboardInterrupt:
            stopping = any(
                isinstance(cb, EarlyStopping) and cb.misses_ == cb.patience for _, cb in self.callbacks_
            )
            if method_name == "on_epoch_end" and stopping:
                raise _EarlyStop() from None
            raise

    def on_epoch_end(self, net, **kwargs):
        # Runs before any callback. Copies of the weights and the optimizer's
        # state are what an interrupted fit keeps. They are written into the
        # previous epoch's copies: a deepcopy allocated them anew each epoch,
        # a quarter of the fit's time for a small network on small data.
        self.rng_state_ = current_rng_state(self.device)
        previous = self.__dict__.get("last_epoch_") or (None, None, None, None)
        self.last_epoch_ = (
            len(self.history),
            _copy_into(self.module_.state_dict(), previous[1]),
            _copy_into(self.optimizer_.state_dict(), previous[2]),
            self.rng_state_,
        )

    def restore_last_epoch(self):
        """Bring back the weights, optimizer and random state of the last finished epoch.

        Returns False, changing nothing, if no epoch finished since ``partial_fit`` began.
        """
        if self.last_epoch_ is None or self.last_epoch_[0] <= self.epochs_at_start_:
            return False
        n_epochs, module_state, optimizer_state, self.rng_state_ = self.last_epoch_
        self.module_.load_state_dict(module_state)
        self.optimizer_.load_state_dict(optimizer_state)
        # the optimizer may now hold the copy's tensors themselves: the next
        # epoch's copy must not be written into them
        self.last_epoch_ = None
        del self.history[n_epochs:]
        return True

    def __getstate__(self):
        state = super().__getstate__()  # module_, optimizer_, criterion_ go into one torch blob
        # `module` and `criterion` are the very objects behind module_ and
        # criterion_; pickling them again would store every weight twice.
        for name in ("module", "criterion"):
            if state.get(name) is getattr(self, f"{name}_", None):
                state[name] = _SAME_AS_INITIALIZED
        state["last_epoch_"] = None  # a copy for interrupts, useless once fitted
        return state

    def __setstate__(self, state):
        with warnings.catch_warnings():
            # a GPU net unpickled without a GPU goes to the CPU; the estimator says so once
            warnings.simplefilter("ignore", DeviceWarning)
            super().__setstate__(state)
        for name in ("module", "criterion"):
            if isinstance(getattr(self, name), _SameAsInitialized):
                setattr(self, name, getattr(self, f"{name}_"))

    @property
    def _loss_parts(self):
        # the criterion parameter: an instance, known before initialize builds the callbacks
        return ["loss", *self.criterion.parts]

    @property
    def _default_callbacks(self):
        scorers = [
            (
                f"{prefix}_{part}",
                PassthroughScoring(f"{prefix}_{part}", lower_is_better=None, on_train=prefix == "train"),
            )
            for prefix in ("train", "valid")
            for part in self._loss_parts[1:]
        ]
        return super()._default_callbacks[:-1] + scorers + super()._default_callbacks[-1:]

    def _set_training(self, training=True):
        # skorch calls this every batch; walking the module tree each time costs
        # ~2% of a small network's epoch, so only switch when the mode changes
        if self.module_.training != training:
            super()._set_training(training)

    def get_dataset(self, X, y=None):
        return X, Sides() if y is None else y

    def get_split_datasets(self, X, y=None, **fit_params):
        data, sides = self.get_dataset(X, y)
        return train_valid_split(data, self.validation_fraction, self.split_seed, sides)

    def get_iterator(self, dataset, training=False):
        data, sides = dataset
        return TensorBatches(
            data, self.batch_size, shuffle=training, device=self.device, sides=sides, world=self.world_
        )

    def _forward(self, Xi, sides, training=False):
        autocast = (
            torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16)
            if self.mixed_precision
            else contextlib.nullcontext()
        )
        with autocast:
            module = self._parallel_forward if training and self._parallel_forward is not None else self.module_
            y_pred = module(Xi) if sides.condition is None else module(Xi, sides.condition)
        if self.mixed_precision:  # the loss (exp, sums over pixels) wants float32
            y_pred = type(y_pred)(*(None if t is None else t.float() for t in y_pred))
        return y_pred, self.criterion_(y_pred, Xi, sides.target)

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, sides = batch
        y_pred, parts = self._forward(Xi, sides, training=True)
        parts.loss.backward()
        return {"y_pred": y_pred, **parts}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, sides = batch
        with torch.no_grad():
            y_pred, parts = self._forward(Xi, sides)
        return {"y_pred": y_pred, **parts}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        # y_true is a batch's Sides: the loss takes its target channel
        target = y_true.target if isinstance(y_true, Sides) else y_true
        return self.criterion_(y_pred, X, target).loss

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        sizes = []
        # One tensor for the epoch's losses, written in place: a small tensor kept per
        # batch would pin freed batch memory in the C heap (it grew ~100 KB a batch).
        losses = torch.empty(len(iterator), len(self._loss_parts), device=self.device)
        # skorch's own callbacks do nothing per batch: calling them ~30 times a batch
        # cost ~1% of an MLP epoch. For this epoch, notify calls only those that act.
        self._acting_callbacks = {
            name: [cb for _, cb in self.callbacks_ if getattr(type(cb), name) is not getattr(Callback, name)]
            for name in ("on_batch_begin", "on_grad_computed", "on_batch_end")
        }
        try:
            for i, batch in enumerate(iterator):
                self.notify("on_batch_begin", batch=batch, training=training)
                step = step_fn(batch, **fit_params)
                sizes.append(len(batch[0]))
                torch.stack([step[part].detach() for part in self._loss_parts], out=losses[i])
                self.notify("on_batch_end", batch=batch, training=training, **step)
        finally:
            del self._acting_callbacks
        if training and self.world_ is not None:
            # each process updated its batch-norm statistics on its last batch: take rank 0's
            broadcast_buffers(self.module_)
        sizes_column = torch.tensor(sizes, dtype=losses.dtype, device=losses.device)[:, None]
        rows = torch.cat([sizes_column, losses[: len(sizes)]], 1)
        if self.world_ is not None:
            # every process records every process's batches: the same history, and the
            # same decisions (divergence, early stopping) everywhere
            n_local = len(sizes)
            rows = gather_rows(rows)
            for _ in range(len(rows) - n_local):
                self.history.new_batch()
        values = rows.tolist()
        for record, row in zip(self.history[-1, "batches"][len(self.history[-1, "batches"]) - len(values) :], values):
            record[f"{prefix}_batch_size"] = int(row[0])
            record.update({f"{prefix}_{part}": value for part, value in zip(self._loss_parts, row[1:])})
        self.history.record(f"{prefix}_batch_count", len(values))


class _SameAsInitialized:
    """Pickled in place of a parameter that is its initialized attribute."""


_SAME_AS_INITIALIZED = _SameAsInitialized()


def current_rng_state(device):
    """Torch's random state that training draws from on ``device``."""
    state = {"cpu": torch.get_rng_state()}
    if torch.device(device).type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


class StopOnDivergence(Callback):
    """Raise :class:`~skvae.exceptions.DivergenceError` when the training loss is not finite.

    Checked at the end of each epoch. Without it, a diverged fit would return
    a model whose every output is NaN.
    """

    def on_epoch_end(self, net, **kwargs):
        losses = net.history[-1, "batches", :, "train_loss"]
        bad = next((i for i, loss in enumerate(losses) if not math.isfinite(loss)), None)
        if bad is None:
            return
        raise DivergenceError(
            f"Training diverged: the training loss became {losses[bad]} at epoch "
            f"{len(net.history)}, batch {bad + 1}. Lower the learning rate (lr="
            f"{net.lr} now), or scale the data first (StandardScaler for "
            "reconstruction_loss='mse', MinMaxScaler for 'bce')."
        )


class PhaseHeader(Callback):
    """Print which phase of training starts (``verbose=2``), above skorch's table of its epochs."""

    def __init__(self, text):
        self.text = text

    def on_train_begin(self, net, **kwargs):
        print(f"{self.text} ({net.max_epochs} epochs)", flush=True)


def _copy_into(state, previous=None):
    """A copy of a (nested) state dict, its tensors written into ``previous``'s where they match.

    ``previous`` is an earlier copy of the same state (or None): a tensor of
    the same shape, dtype and device is overwritten in place instead of
    allocated; anything else is copied anew.
    """
    if isinstance(state, torch.Tensor):
        if (
            isinstance(previous, torch.Tensor)
            and previous.shape == state.shape
            and previous.dtype == state.dtype
            and previous.device == state.device
        ):
            return previous.copy_(state)
        return state.detach().clone()
    if isinstance(state, dict):
        previous = previous if isinstance(previous, dict) else {}
        copied = {key: _copy_into(value, previous.get(key)) for key, value in state.items()}
        # a state_dict keeps its metadata (parameter versions) on the dict
        if hasattr(state, "_metadata"):
            copied = type(state)(copied)
            copied._metadata = copy.deepcopy(state._metadata)
        return copied
    if isinstance(state, (list, tuple)):
        same = isinstance(previous, (list, tuple)) and len(previous) == len(state)
        return type(state)(_copy_into(value, previous[i] if same else None) for i, value in enumerate(state))
    return copy.deepcopy(state)


class EpochProgressBar(Callback):
    """A tqdm bar over the epochs, showing the latest losses; ``desc`` names the phase."""

    def __init__(self, desc="training"):
        self.desc = desc

    def on_train_begin(self, net, **kwargs):
        # imported here: tqdm.auto warns at import in a notebook without ipywidgets,
        # and `import skvae` must print nothing
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=net.max_epochs, unit="epoch", desc=self.desc, leave=True)

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        self.bar_.set_postfix(
            {key: f"{row[key]:.4g}" for key in ("train_loss", "valid_loss") if key in row},
            refresh=False,
        )
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        self.bar_.close()

    def __getstate__(self):
        # a tqdm bar holds a file handle and cannot be pickled; it lives for one fit
        state = self.__dict__.copy()
        state.pop("bar_", None)
        return state


class SaveCheckpoint(Callback):
    """Call ``write(net)`` at the end of every ``every``-th epoch (counted over all fits).

    Runs after the divergence check, so a diverged epoch is never written.
    """

    def __init__(self, write, every=1):
        self.write = write
        self.every = every

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) % self.every == 0:
            self.write(net)

    def on_train_end(self, net, **kwargs):
        self.write = None  # it holds the estimator and the training data: not past the fit


class KLWarmup(Callback):
    """Raise the loss's KL weight linearly over the first ``epochs`` epochs (KL annealing).

    Epoch ``e`` (counted over all fits of a warm start, so a resumed fit
    carries on the schedule) trains with ``min(1, e / epochs)`` times the
    criterion's full weight, recorded in ``history`` as ``kl_weight``. Early
    epochs then learn to reconstruct before the prior pulls the posteriors
    together, which keeps more latent dimensions in use (Bowman et al., 2016).
    A criterion whose weight is 0 (pretraining) is left alone.
    """

    def __init__(self, epochs):
        self.epochs = epochs

    def on_train_begin(self, net, **kwargs):
        # the criterion is built with the full weight; a fresh net is made for every fit
        self.full_weight_ = net.criterion_.kl_weight

    def on_epoch_begin(self, net, **kwargs):
        weight = self.full_weight_ * min(1.0, len(net.history) / self.epochs)
        net.criterion_.kl_weight = weight
        net.history.record("kl_weight", weight)
