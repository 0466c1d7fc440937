"""Checks and small facts of user input that several of the estimators' methods share."""

from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_array

from ._data import TrainingRows

_DTYPES = (np.float64, np.float32)


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
