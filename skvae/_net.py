"""The skorch NeuralNet that trains every skvae estimator, and its callbacks.

The net overrides a few small skorch methods: batches are sliced from tensors
in memory, the net splits off its own validation rows, each step returns the
loss's parts, and losses stay on the device until the end of the epoch.
"""

import contextlib
import math

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, PassthroughScoring
from tqdm.auto import tqdm

from ._data import TensorBatches, train_valid_split
from .exceptions import DivergenceError


class AutoencoderNet(NeuralNet):
    """skorch ``NeuralNet`` for autoencoders trained on an in-memory tensor.

    ``fit(X)`` takes one float tensor; the target is ``X`` itself. The
    criterion returns a ``LossOutput``; besides ``train_loss`` and
    ``valid_loss``, its parts are recorded as ``{train,valid}_recon_loss`` and
    ``{train,valid}_kl_loss``, per batch and averaged per epoch.

    Batch records are written at the end of each epoch, in one transfer from
    the device, rather than with a host synchronisation after every step; a
    callback's ``on_batch_end`` receives the step's tensors but finds the
    batch's entry in ``history`` only after the epoch.

    Parameters
    ----------
    validation_fraction : float
        Fraction of the rows held out for ``valid_loss``; 0 for none.
    record_kl : bool
        Whether the model has a KL term worth recording.
    mixed_precision : bool
        Run forward passes under ``torch.autocast`` with bfloat16; the loss is
        computed in float32.
    **kwargs
        Passed to ``skorch.NeuralNet``.
    """

    def __init__(self, *args, validation_fraction=0.0, record_kl=True, mixed_precision=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.validation_fraction = validation_fraction
        self.record_kl = record_kl
        self.mixed_precision = mixed_precision

    @property
    def _loss_parts(self):
        return ["loss", "recon_loss"] + (["kl_loss"] if self.record_kl else [])

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
        return X

    def get_split_datasets(self, X, y=None, **fit_params):
        return train_valid_split(X, self.validation_fraction)

    def get_iterator(self, dataset, training=False):
        return TensorBatches(dataset, self.batch_size, shuffle=training, device=self.device)

    def _forward(self, Xi):
        autocast = (
            torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16)
            if self.mixed_precision
            else contextlib.nullcontext()
        )
        with autocast:
            y_pred = self.infer(Xi)
        if self.mixed_precision:  # the loss (exp, sums over pixels) wants float32
            y_pred = type(y_pred)(*(None if t is None else t.float() for t in y_pred))
        return y_pred, self.criterion_(y_pred, Xi)

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, _ = batch
        y_pred, parts = self._forward(Xi)
        parts.loss.backward()
        return {"y_pred": y_pred, **parts._asdict()}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, _ = batch
        with torch.no_grad():
            y_pred, parts = self._forward(Xi)
        return {"y_pred": y_pred, **parts._asdict()}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return self.criterion_(y_pred, X).loss

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        sizes, losses = [], []
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            sizes.append(len(batch[0]))
            losses.append(torch.stack([step[part].detach() for part in self._loss_parts]))
            self.notify("on_batch_end", batch=batch, training=training, **step)
        values = torch.stack(losses).tolist() if losses else []
        for record, size, row in zip(self.history[-1, "batches"][-len(sizes):], sizes, values):
            record[f"{prefix}_batch_size"] = size
            record.update({f"{prefix}_{part}": value for part, value in zip(self._loss_parts, row)})
        self.history.record(f"{prefix}_batch_count", len(sizes))


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


class EpochProgressBar(Callback):
    """A tqdm bar over the epochs, showing the latest losses."""

    def on_train_begin(self, net, **kwargs):
        self.bar_ = tqdm(total=net.max_epochs, unit="epoch", desc="training", leave=True)

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
