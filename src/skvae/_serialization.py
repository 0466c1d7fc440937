"""Saving fitted estimators to one safetensors file, and loading them without unpickling or running code.

Every array or tensor becomes a named tensor of the file; everything else
(hyper-parameters, scalars, training history, optimizer settings) becomes JSON
in the file's metadata, with a small typed notation for tuples, dicts with
non-string keys, estimators and classes. Classes and functions are stored by
import path; on load each name is looked up in the exact allow-list of
``_trust``, and a name off it is imported only if the caller trusts it.
"""

import functools
import hashlib
import json
import os
import struct
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save_file
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ._trust import ANY_OBJECT, ESTIMATOR, PLACES, Trust, import_path, untrusted_names
from .exceptions import ModelFileError

FORMAT = "skvae"
FORMAT_VERSION = 1


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
    path = Path(path)
    # a crash while writing must never leave a truncated file in the place of a good one
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.close(handle)
        save_file(tensors, tmp, metadata=metadata)  # straight to disk: no copy of the file in memory
        handle = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load(path, *, trusted=False, device=None):
    """Read an estimator written by ``save``; see :func:`skvae.load`."""
    trust = Trust(trusted, Path(path))
    tree, tensors = _read(path)
    try:
        obj = _Decoder(tensors, trust, device).decode(tree, ESTIMATOR, "the model")
        if not isinstance(obj, ESTIMATOR):
            raise ValueError("it holds no estimator")
    except ModelFileError:
        raise
    except Exception as error:
        raise ModelFileError(
            f"{path} is an skvae model file with a valid checksum, but skvae cannot rebuild the model "
            f"it holds ({type(error).__name__}: {error}). It was not written by skvae's save, or was "
            "altered after; use another copy, or refit."
        ) from error
    return obj


def get_untrusted_types(path):
    """The names a file gives outside skvae's allow-list; see :func:`skvae.get_untrusted_types`."""
    tree, _ = _read(path)
    return untrusted_names(tree)


def _read(path):
    """The JSON tree and the tensors of an skvae file, checked against its format version and checksum."""
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
        # A checksum detects a damaged copy, not an attacker: anyone can compute one.
        if metadata.get("checksum") != _checksum(payload, tensors):
            raise ValueError("checksum mismatch")
        tree = json.loads(payload)
    except Exception as error:
        raise ModelFileError(
            f"{path} is an skvae model file, but it is corrupt ({error}): its contents do not "
            "match the checksum written with them. Use another copy, or refit."
        ) from None
    return tree, tensors


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
        digest.update(tensor.contiguous().view(-1).view(torch.uint8).numpy())  # hashed in place, not copied
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
    if sp.issparse(value) and value.format == "csr":  # a neighbour graph
        return {
            "__csr__": [
                list(value.shape),
                *(_encode(getattr(value, part), f"{path}/{part}", tensors, training_state)
                  for part in ("data", "indices", "indptr")),
            ]
        }
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
    return import_path(obj)


# ------------------------------------------------------------------ decoding


class _Decoder:
    """Rebuilds the objects of one file's tree, resolving every name it gives through ``trust``."""

    def __init__(self, tensors, trust, device):
        self.tensors, self.trust, self.device = tensors, trust, device

    def decode(self, value, need=None, place="a value"):
        """The object ``value`` encodes. ``need``: the type a class named here must subclass."""
        if isinstance(value, list):
            return [self.decode(v, need, place) for v in value]
        if not isinstance(value, dict):
            return value
        (kind,) = [k for k in value if k.startswith("__")]
        content = value[kind]
        if kind == "__tensor__":
            return self.tensors[content]
        if kind == "__ndarray__":
            return self.tensors[content].numpy()
        if kind == "__strings__":
            return _strings(content, value["dtype"])
        if kind == "__csr__":
            return _csr_matrix(*content, decode=self.decode)
        if kind == "__tuple__":
            return tuple(self.decode(v, need, place) for v in content)
        if kind == "__dict__":
            return {self.decode(k): self.decode(v) for k, v in content}
        if kind == "__path__":
            return Path(content)
        if kind == "__random_state__":
            rng = np.random.RandomState()
            rng.set_state(self.decode(content))
            return rng
        if kind == "__partial__":
            func, args, kwargs = content
            return functools.partial(self.decode(func, need, place), *self.decode(args), **self.decode(kwargs))
        if kind == "__import__":
            return self.trust.resolve(content, need, place)
        if kind == "__object__":
            return self._object(value, need or ANY_OBJECT, place)
        raise ValueError(f"unknown entry {kind!r}")

    def _object(self, value, need, place):
        cls = self.trust.resolve(value["__object__"], need, place, build=True)
        params = self.decode_dict(value["params"])
        # a class named where an estimator calls it (architecture, optimizer, callbacks,
        # estimator) must be of the kind it calls
        places = PLACES if issubclass(cls, ESTIMATOR) else {}
        # a file from an earlier skvae has no value for a parameter added since: what the model did then
        earlier = cls._parameters_missing_from(params) if hasattr(cls, "_parameters_missing_from") else {}
        obj = cls(**earlier, **{k: self.decode(v, places.get(k), k) for k, v in params.items()})
        if isinstance(obj, BaseEstimator):
            obj._validate_params()  # the file's parameters meet the constraints that fit checks
        if "state" in value:
            state = {k: self.decode(v) for k, v in self.decode_dict(value["state"]).items()}
            bad = [k for k in state if not (k.isidentifier() and k.endswith("_") and not k.startswith("_"))]
            if bad:
                raise ValueError(f"{bad[0]!r} is not the name of a fitted attribute")
            if hasattr(obj, "_restore_state"):
                obj._restore_state(state, self.device)
            else:
                vars(obj).update(state)
        return obj

    @staticmethod
    def decode_dict(value):
        """A ``__dict__`` entry with string keys, its values left encoded."""
        pairs = value.get("__dict__") if isinstance(value, dict) and len(value) == 1 else None
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str)
                                                  for p in pairs):
            raise ValueError("parameters and state must be a dict with string keys")
        return dict(pairs)


def _csr_matrix(shape, data, indices, indptr, decode):
    """A CSR matrix from a file's parts, checked in full: its indices must lie within its shape."""
    data, indices, indptr = (decode(part) for part in (data, indices, indptr))
    if not (
        isinstance(shape, list) and len(shape) == 2 and all(isinstance(n, int) and n >= 0 for n in shape)
        and all(isinstance(part, np.ndarray) and part.ndim == 1 for part in (data, indices, indptr))
        and data.dtype.kind == "f" and indices.dtype.kind == "i" and indptr.dtype.kind == "i"
    ):
        raise ValueError("a sparse matrix must be a shape of two counts, float data and integer indices")
    matrix = sp.csr_matrix((data, indices, indptr), shape=tuple(shape))
    matrix.check_format(full_check=True)  # indices beyond the shape, an indptr out of order
    return matrix


def _strings(content, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind not in "OUS":
        raise ValueError(f"{dtype} is not a dtype of strings")
    array = np.array(content, dtype=dtype)
    if dtype.kind == "O" and not all(isinstance(x, (str, int, float, bool, type(None))) for x in array.flat):
        raise ValueError("an array of strings holds other objects")
    return array
