"""Checks and small facts of user input that several of the estimators' methods share."""

import warnings
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.utils.validation import check_array

from ._data import TrainingRows

_DTYPES = (np.float64, np.float32)


def _plain_float_rows(estimator, X):
    """Whether scikit-learn's ``validate_data(estimator, X, reset=False)`` would return X itself, unchecked here.

    True for a float32 or float64 ``ndarray`` of at least one row, of the
    fitted width and all finite, given to an estimator fitted without feature
    names: what validation accepts as it is. It costs a few microseconds where
    ``validate_data`` costs about 47, a quarter of one row's ``transform``.
    Anything else (other types, names to check, bad values) goes to
    scikit-learn, which says what is wrong.
    """
    return (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in _DTYPES
        and X.shape[0] >= 1
        and X.shape[1] == getattr(estimator, "n_features_in_", None)
        and not hasattr(estimator, "feature_names_in_")
        and (get_config()["assume_finite"] or bool(np.isfinite(X).all()))
    )


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


_SHOWN_ONCE = set()


def _warn_once_per_process(message, category, stacklevel=2):
    """``warnings.warn``, but a message already shown in this process is not shown again.

    Python's own ``"once"`` action forgets what it showed whenever the filters
    change, and scikit-learn's cross-validation changes them around every
    fold. A filter that asks for every warning (``"always"``, ``"error"``)
    still gets every one.
    """
    key = (category, message)
    if key in _SHOWN_ONCE and _filter_action(message, category) not in ("always", "error"):
        return
    _SHOWN_ONCE.add(key)
    warnings.warn(message, category, stacklevel=stacklevel + 1)


def _filter_action(message, category):
    """The action of the first filter for every module that matches the warning."""
    filters = getattr(warnings, "_get_filters", lambda: warnings.filters)()  # free-threaded 3.14
    for action, text, kind, module, lineno in filters:
        if issubclass(category, kind) and module is None and not lineno and (text is None or text.match(message)):
            return action
    return warnings.defaultaction


FLOAT32_MAX = float(np.finfo(np.float32).max)


SCALE_ADVICE = "Scale X first, e.g. with StandardScaler, or MinMaxScaler(clip=True) for values in [0, 1]."


def _check_float32_range(X, advice=SCALE_ADVICE):
    """Refuse float64 values that float32, which the networks compute in, cannot hold.

    Cast to float32 they become infinite, and the error would come later, from
    the loss or the output, naming the learning rate or a whole batch of rows.
    """
    bad_rows = _rows_beyond_float32(X)
    if not len(bad_rows):
        return
    first = np.asarray(X[bad_rows[0]].todense() if sp.issparse(X) else X[bad_rows[0]]).ravel()
    column = int(np.flatnonzero(np.abs(first) > FLOAT32_MAX)[0])
    raise ValueError(
        f"X has values beyond float32's range (+-{FLOAT32_MAX:.3g}), which the network computes "
        f"in: {_name_rows(bad_rows)} (the first at column {column}: {first[column]:.3g}). {advice}"
    )


def _rows_beyond_float32(X):
    """The indices of the rows of X (float64, dense or CSR) with values float32 cannot hold; often none."""
    if X.dtype != np.float64:
        return np.array([], dtype=int)
    values = X.data if sp.issparse(X) else X
    if values.size == 0 or (values.max() <= FLOAT32_MAX and values.min() >= -FLOAT32_MAX):
        return np.array([], dtype=int)
    if sp.issparse(X):
        row_of = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        return np.unique(row_of[np.abs(values) > FLOAT32_MAX])
    return np.flatnonzero((np.abs(X) > FLOAT32_MAX).any(axis=1))


def _name_rows(indices, shown=5):
    """``"row 3"``, ``"rows 3, 8 and 9"``, ``"rows 3, 8, 9, 10, 12 and 40 more"``."""
    indices = [int(i) for i in indices]
    if len(indices) == 1:
        return f"row {indices[0]}"
    if len(indices) <= shown:
        return f"rows {', '.join(map(str, indices[:-1]))} and {indices[-1]}"
    return f"rows {', '.join(map(str, indices[:shown]))} and {len(indices) - shown} more"


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
