"""Errors that skvae raises besides scikit-learn's own."""

__all__ = ["DivergenceError"]


class DivergenceError(FloatingPointError):
    """Training stopped because the loss became NaN or infinite.

    The message names the epoch and batch and what to change (a lower ``lr``,
    scaled data). The estimator keeps whatever it had fitted before.
    """
