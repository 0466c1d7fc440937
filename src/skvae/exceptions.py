"""Errors that skvae raises besides scikit-learn's own."""

__all__ = ["DivergenceError", "TrainingInterruptedWarning", "ModelFileError"]


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


class ModelFileError(ValueError):
    """A file is not a readable skvae model: not one at all, truncated, corrupt, or of another format version."""
