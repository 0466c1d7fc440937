"""Saving fitted estimators to one safetensors file, and loading them without unpickling.

Every array or tensor becomes a named tensor of the file; everything else
(hyper-parameters, scalars, training history, optimizer settings) becomes JSON
in the file's metadata, with a small typed notation for tuples, dicts with
non-string keys, estimators and classes. Classes are stored by import path and
imported on load only from skvae, scikit-learn, skorch and torch, unless the
caller trusts the file.
"""

import functools
import hashlib
import importlib
import json
import os
import struct
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .exceptions import ModelFileError

FORMAT = "skvae"
FORMAT_VERSION = 1

# Code that loading may import without being told to trust the file.
TRUSTED_PREFIXES = ("skvae.", "sklearn.", "skorch.", "torch.", "functools.partial")


def save(obj, path, *, training_state=False):
    """Write the fitted ``obj`` to ``path`` atomically and return the path; see ``_BaseAutoencoder.save``."""
    from . import __version__

    check_is_fitted(obj)

    tensors = {}
    payload = json.dumps(_encode(obj, "", tensors, training_state))
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "skvae_version": __version__,
        "torch_version": torch.__version__,
        "payload": payload,
        "checksum": _checksum(payload, tensors),
    }
    data = save_tensors(tensors, metadata=metadata)
    path = Path(path)
    # a crash while writing must never leave a truncated file in the place of a good one
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load(path, *, trusted=False, device=None):
    """Read an estimator written by ``save``; see :func:`skvae.load`."""
    path = Path(path)
    data = path.read_bytes()
    metadata = _read_metadata(path, data)
    if metadata.get("format_version") != str(FORMAT_VERSION):
        raise ModelFileError(
            f"{path} is an skvae model in format version {metadata.get('format_version')}, written by "
            f"skvae {metadata.get('skvae_version')}; this skvae reads version {FORMAT_VERSION}. Load it "
            f"with skvae {metadata.get('skvae_version')} and save it again from there, or refit."
        )
    try:
        tensors = load_tensors(data)
        payload = metadata["payload"]
        if metadata.get("checksum") != _checksum(payload, tensors):
            raise ValueError("checksum mismatch")
        tree = json.loads(payload)
    except Exception as error:
        raise ModelFileError(
            f"{path} is an skvae model file, but it is corrupt ({error}): its contents do not "
            "match the checksum written with them. Use another copy, or refit."
        ) from None
    return _decode(tree, tensors, _Trust(trusted), device)


def _read_metadata(path, data):
    """The skvae metadata of a safetensors file, or a ModelFileError saying what the file is not."""
    not_skvae = (
        f"{path} is not an skvae model file: skvae.load reads the safetensors files that "
        "est.save(path) writes. A pickle or joblib file loads with joblib.load (only if you "
        "trust it)."
    )
    if len(data) < 8:
        raise ModelFileError(not_skvae)
    (n_header,) = struct.unpack("<Q", data[:8])
    try:
        header = json.loads(data[8 : 8 + n_header])
        metadata = header["__metadata__"]
        is_skvae = metadata["format"] == FORMAT
    except Exception:
        is_skvae = False
    if 8 + n_header > len(data) and data[8:9] == b"{":
        raise ModelFileError(
            f"{path} is truncated: it ends after {len(data)} bytes, inside its header. The "
            "write did not finish; use another copy, or refit."
        )
    if not is_skvae:
        raise ModelFileError(not_skvae)
    end = max((entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"), default=0)
    if 8 + n_header + end > len(data):
        raise ModelFileError(
            f"{path} is truncated: it holds {len(data)} bytes of the {8 + n_header + end} its "
            "header announces. The write did not finish; use another copy, or refit."
        )
    return metadata


def _checksum(payload, tensors):
    digest = hashlib.sha256(payload.encode())
    for name in sorted(tensors):
        tensor = tensors[name]
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


# ------------------------------------------------------------------ encoding


def _encode(value, path, tensors, training_state):
    """``value`` as JSON-able data; its arrays and tensors go into ``tensors``, named by path."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float, np.integer, np.floating, np.bool_)):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, torch.Tensor):
        tensors[path] = value.detach().to("cpu", copy=True).contiguous()
        return {"__tensor__": path}
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "OUS":
            return {"__strings__": value.tolist(), "dtype": str(value.dtype)}
        tensors[path] = torch.from_numpy(np.ascontiguousarray(value).copy())
        return {"__ndarray__": path}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{path}/{i}", tensors, training_state) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{path}/{i}", tensors, training_state) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {
            "__dict__": [
                [_encode(k, f"{path}/key", tensors, training_state), _encode(v, f"{path}/{k}", tensors, training_state)]
                for k, v in value.items()
            ]
        }
    if isinstance(value, os.PathLike):  # e.g. checkpoint_path=Path(...)
        return {"__path__": os.fspath(value)}
    if isinstance(value, np.random.RandomState):
        return {"__random_state__": _encode(value.get_state(), path, tensors, training_state)}
    if isinstance(value, functools.partial):
        return {
            "__partial__": [
                _encode(value.func, path, tensors, training_state),
                _encode(value.args, f"{path}/args", tensors, training_state),
                _encode(value.keywords, f"{path}/kwargs", tensors, training_state),
            ]
        }
    if isinstance(value, type) or callable(value) and hasattr(value, "__qualname__"):
        return {"__import__": _import_path(value)}
    if hasattr(value, "get_params"):  # an estimator, a skorch callback
        params = value._saved_params() if hasattr(value, "_saved_params") else value.get_params(deep=False)
        encoded = {
            "__object__": _import_path(type(value)),
            "params": _encode(params, f"{path}/params", tensors, training_state),
        }
        if isinstance(value, BaseEstimator):
            state = (
                value._saved_state(training_state)
                if hasattr(value, "_saved_state")
                else fitted_attributes(value)
            )
            encoded["state"] = _encode(state, path, tensors, training_state)
        return encoded
    raise TypeError(
        f"skvae cannot save {type(value).__name__} objects ({value!r} at {path or 'the top'}). "
        "Set that parameter to a value made of numbers, strings, arrays, classes or "
        "estimators, or keep the model with pickle/joblib instead."
    )


def fitted_attributes(estimator):
    """The public attributes ending in an underscore: what a fitted scikit-learn estimator learned."""
    return {k: v for k, v in vars(estimator).items() if k.endswith("_") and not k.startswith("_")}


def can_save(value):
    """Whether :func:`save` can store ``value``."""
    try:
        _encode(value, "", {}, False)
    except TypeError:
        return False
    return True


def _import_path(obj):
    module, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not name or "<" in name or module == "__main__":
        raise TypeError(
            f"skvae cannot save {obj!r}: a file stores classes and functions by import path, and "
            f"this one has none that another process could import (defined in "
            f"{'__main__' if module == '__main__' else 'a function'}). Define it at module level "
            "in an importable module, or keep the model with pickle/joblib instead."
        )
    return f"{module}:{name}"


# ------------------------------------------------------------------ decoding


class _Trust:
    """Which import paths may be imported: ours, or also those the caller trusts."""

    def __init__(self, trusted):
        if not isinstance(trusted, (bool, list, tuple, set)):
            raise TypeError(f"trusted must be True, False or a list of import paths, got {trusted!r}.")
        self.trusted = trusted

    def check(self, path):
        dotted = path.replace(":", ".")
        if self.trusted is True or dotted.startswith(TRUSTED_PREFIXES) or dotted in set(self.trusted or ()):
            return
        raise ModelFileError(
            f"The file names code outside skvae, scikit-learn, skorch and torch: {dotted}. Loading "
            "imports it, which runs its code. If you trust the file, pass "
            f"trusted=[{dotted!r}] (or trusted=True)."
        )


def _decode(value, tensors, trust, device):
    if isinstance(value, list):
        return [_decode(v, tensors, trust, device) for v in value]
    if not isinstance(value, dict):
        return value
    (kind,) = [k for k in value if k.startswith("__")]
    content = value[kind]
    if kind == "__tensor__":
        return tensors[content]
    if kind == "__ndarray__":
        return tensors[content].numpy()
    if kind == "__strings__":
        return np.array(content, dtype=value["dtype"])
    if kind == "__tuple__":
        return tuple(_decode(v, tensors, trust, device) for v in content)
    if kind == "__dict__":
        return {_decode(k, tensors, trust, device): _decode(v, tensors, trust, device) for k, v in content}
    if kind == "__path__":
        return Path(content)
    if kind == "__random_state__":
        rng = np.random.RandomState()
        rng.set_state(_decode(content, tensors, trust, device))
        return rng
    if kind == "__partial__":
        func, args, kwargs = (_decode(v, tensors, trust, device) for v in content)
        return functools.partial(func, *args, **kwargs)
    if kind == "__import__":
        return _import(content, trust)
    if kind == "__object__":
        cls = _import(content, trust)
        obj = cls(**_decode(value["params"], tensors, trust, device))
        if "state" in value:
            state = _decode(value["state"], tensors, trust, device)
            if hasattr(obj, "_restore_state"):
                obj._restore_state(state, device)
            else:
                vars(obj).update(state)
        return obj
    raise ModelFileError(f"Unknown entry {kind!r} in the file: it was written by a newer skvae.")


def _import(path, trust):
    trust.check(path)
    module, _, name = path.partition(":")
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj
