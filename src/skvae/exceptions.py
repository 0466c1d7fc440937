"""Errors that skvae raises besides scikit-learn's own."""

__all__ = ["DataRangeWarning", "DivergenceError", "TrainingInterruptedWarning", "ModelFileError"]


class DivergenceError(FloatingPointError):
    """Training stopped because the loss became NaN or infinite.

    The message names the epoch and batch and what to change (a lower ``lr``,
    scaled data). The estimator keeps whatever it had fitted before.
    """


class TrainingInterruptedWarning(UserWarning):
    """Training was interrupted (Ctrl-C); the model of the last finished epoch is kept.

    The interrupt itself is re-raised after the warning, so that it stops the
    caller (a script, a grid search). Continue with ``warm_start=True``.
    """


class DataRangeWarning(UserWarning):
    """Rows to score hold values where the model's likelihood has no density.

    A model with the Bernoulli likelihood (pixel values in [0, 1]) scores a
    value beyond [0, 1] at the nearest bound, with a penalty. In a grid search
    the test folds of a ``MinMaxScaler`` without ``clip=True`` do this in
    every fold, so skvae shows this warning once per process instead of once
    per scoring call. An ``"always"`` or ``"error"`` filter still applies to
    every call: ``warnings.simplefilter("always", skvae.DataRangeWarning)``.
    """


class ModelFileError(ValueError):
    """A file is not a readable skvae model: not one at all, truncated, corrupt, or of another format version."""
