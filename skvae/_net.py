"""The skorch NeuralNet that trains every skvae estimator, and its callbacks.

The net differs from skorch's in three small overrides: batches come from
tensors in memory, the validation rows are split off by the net itself, and
the loss's parts are recorded in the history next to the total.
"""

import math

from skorch import NeuralNet
from skorch.callbacks import Callback, PassthroughScoring
from tqdm.auto import tqdm

from ._data import TensorBatches, train_valid_split
from .exceptions import DivergenceError


class AutoencoderNet(NeuralNet):
    """skorch ``NeuralNet`` for autoencoders trained on an in-memory tensor.

    ``fit(X)`` takes one float tensor; the target is ``X`` itself. The
    criterion returns a ``LossOutput`` whose parts are recorded per batch as
    ``{train,valid}_recon_loss`` and ``{train,valid}_kl_loss`` and averaged per
    epoch like ``train_loss``.

    Parameters
    ----------
    validation_fraction : float
        Fraction of the rows held out for ``valid_loss``; 0 for none.
    record_kl : bool
        Whether the model has a KL term worth recording.
    **kwargs
        Passed to ``skorch.NeuralNet``.
    """

    def __init__(self, *args, validation_fraction=0.0, record_kl=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.validation_fraction = validation_fraction
        self.record_kl = record_kl

    @property
    def _default_callbacks(self):
        parts = ["recon_loss"] + (["kl_loss"] if self.record_kl else [])
        scorers = [
            (
                f"{prefix}_{part}",
                PassthroughScoring(f"{prefix}_{part}", lower_is_better=None, on_train=prefix == "train"),
            )
            for prefix in ("train", "valid")
            for part in parts
        ]
        return super()._default_callbacks[:-1] + scorers + super()._default_callbacks[-1:]

    def get_dataset(self, X, y=None):
        return X

    def get_split_datasets(self, X, y=None, **fit_params):
        return train_valid_split(X, self.validation_fraction)

    def get_iterator(self, dataset, training=False):
        return TensorBatches(dataset, self.batch_size, shuffle=training)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        parts = self.criterion_(y_pred, X)
        prefix = "train" if training else "valid"
        self.history.record_batch(f"{prefix}_recon_loss", parts.recon_loss.item())
        if self.record_kl:
            self.history.record_batch(f"{prefix}_kl_loss", parts.kl_loss.item())
        return parts.loss


class StopOnDivergence(Callback):
    """Raise :class:`~skvae.exceptions.DivergenceError` when the training loss is not finite.

    Without it, a diverged fit would return a model whose every output is NaN.
    """

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        loss = net.history[-1, "batches", -1, "train_loss"]
        if math.isfinite(loss):
            return
        epoch = len(net.history)
        batch_number = len(net.history[-1, "batches"])
        raise DivergenceError(
            f"Training diverged: the training loss became {loss} at epoch "
            f"{epoch}, batch {batch_number}. Lower the learning rate (lr="
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
