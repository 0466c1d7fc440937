"""From validated arrays to tensor batches.

Training batches are gathered from the caller's array itself (no Dataset, no
collation item by item) and made float one batch at a time; inference batches
are views of the caller's array. Memory grows with the batch size, not with the
number of rows, and a memory-mapped array is read from disk as batches need it.
"""

import math
import warnings
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import torch

from ._distributed import shard


class TrainingRows:
    """The training rows as the module takes them, made float one batch at a time.

    Wraps the caller's array without copying it (a ``uint8`` array stays
    ``uint8``, a memory-mapped one stays on disk, a sparse one stays sparse
    and on the host); ``rows[idx]`` gathers rows
    and returns them as a float32 tensor divided by ``scale`` and shaped
    ``(len, *shape)``. A subset (the training or validation rows) is a view
    through an index.

    Parameters
    ----------
    values : ndarray, Tensor or scipy sparse CSR matrix of shape (n_samples, n_features)
        The data, any real dtype.
    scale : float
        What each value is divided by (255 for ``uint8`` intensities).
    shape : tuple of int
        Shape of one row as the module takes it.
    rows : Tensor of int64 or None
        The rows of ``values`` in this subset, in order; None for all.
    """

    def __init__(self, values, scale=1.0, shape=None, rows=None):
        if isinstance(values, np.ndarray):
            if any(stride < 0 for stride in values.strides):  # torch cannot wrap reversed views
                values = np.ascontiguousarray(values)
            with warnings.catch_warnings():
                # a read-only array (a memmap opened with mode="r"): never written to
                warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
                values = torch.from_numpy(values)
        self.values = values
        self.scale = scale
        self.shape = tuple(shape) if shape is not None else tuple(values.shape[1:])
        self.rows = rows

    def __len__(self):
        return self.values.shape[0] if self.rows is None else len(self.rows)

    @property
    def sparse(self):
        return sp.issparse(self.values)

    @property
    def device(self):
        return torch.device("cpu") if self.sparse else self.values.device

    def __getitem__(self, idx):
        """Rows ``idx`` (a slice or an index tensor) of this subset, as a float32 tensor."""
        if self.rows is not None:
            idx = self.rows[idx]
        if self.sparse:  # densified here, one batch at a time
            batch = torch.from_numpy(self.values[idx.numpy() if torch.is_tensor(idx) else idx].toarray())
        elif torch.is_tensor(idx):
            # ~15 us a batch faster than values[idx] (128 rows of 784 bytes)
            batch = torch.index_select(self.values, 0, idx.to(self.values.device))
        else:
            batch = self.values[idx]
        batch = batch.to(torch.float32)
        if self.scale != 1:
            batch = batch / self.scale
        return batch.reshape(len(batch), *self.shape)

    def subset(self, rows):
        """The rows at positions ``rows`` (an index tensor) of this subset."""
        return TrainingRows(self.values, self.scale, self.shape, rows if self.rows is None else self.rows[rows])

    def split(self, batch_size):
        """Consecutive batches, as ``Tensor.split`` would give them."""
        return (self[start : start + batch_size] for start in range(0, len(self), batch_size))

    def mean(self, batch_size=4096):
        """Mean row, shaped for the module, accumulated in float64 over batches."""
        if self.sparse:  # summed where it is stored, never made dense
            values = self.values if self.rows is None else self.values[self.rows.numpy()]
            total = torch.from_numpy(np.asarray(values.sum(0, dtype=np.float64)).reshape(self.shape)) / self.scale
            return (total / max(len(self), 1)).float()
        total = torch.zeros(self.shape, dtype=torch.float64, device=self.device)
        for batch in self.split(batch_size):
            total += batch.sum(0, dtype=torch.float64)
        return (total / max(len(self), 1)).float()

    def value_range(self):
        """Smallest and largest value, after scaling (None for no rows)."""
        if len(self) == 0:
            return None
        values = self.values if self.rows is None else self.values[self.rows.numpy() if self.sparse else self.rows]
        return float(values.min()) / self.scale, float(values.max()) / self.scale

    def to(self, device):
        """These rows with their array on ``device``: float32 there, unless it is uint8.

        Sparse rows stay on the host: each batch is made dense there and then moved.
        """
        if self.sparse:
            return self
        values = self.values if self.rows is None else self.values[self.rows]
        dtype = torch.uint8 if values.dtype == torch.uint8 else torch.float32
        return TrainingRows(values.to(device, dtype), self.scale, self.shape)

    def nbytes_on_device(self):
        """Bytes that :meth:`to` would place on a device."""
        return len(self) * math.prod(self.values.shape[1:]) * (1 if self.values.dtype == torch.uint8 else 4)


class Sides(NamedTuple):
    """Per-row values that come with the training rows, one entry per row, or None.

    Two channels with two readers: the net passes ``condition`` to the module
    (``module(X, condition)``: the conditional VAE decodes with its one-hot
    class) and ``target`` to the loss (``criterion(output, X, target)``:
    GaussianMixtureVAE pulls its codes towards their map).
    """

    condition: torch.Tensor | None = None
    target: torch.Tensor | None = None

    def index(self, idx):
        """These values at rows ``idx`` (a slice or an index tensor)."""
        return Sides(*(None if values is None else values[idx] for values in self))

    def to(self, device, **kwargs):
        return Sides(*(None if values is None else values.to(device, **kwargs) for values in self))


class TensorBatches:
    """Mini-batches ``(X[idx], sides[idx])`` of training rows, for skorch.

    skorch's default DataLoader builds every batch item by item through a
    Dataset and a collate function; gathering rows of one array gives the same
    batches at the cost of a single indexing operation.

    Parameters
    ----------
    data : TrainingRows or Tensor of shape (n_samples, ...)
    batch_size : int
    shuffle : bool
        Draw a new permutation (from torch's global generator) every epoch.
    device : str or torch.device
        Where batches go; a no-op when ``data`` already lives there.
    sides : Sides
        Per-row values batched with the rows: a condition for the module, a
        target for the loss (both None for most models: an autoencoder's
        target is its input).
    world : tuple of (int, int) or None
        ``(rank, world_size)`` in data-parallel training: only this process's
        share of the rows (see :func:`skvae._distributed.shard`); validation
        rows are dealt out without padding.
    """

    def __init__(self, data, batch_size, shuffle=False, device="cpu", sides=Sides(), world=None):
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.device = device
        self.sides = sides
        self.world = world

    def __len__(self):
        return math.ceil(self._n_rows() / self.batch_size)

    def _n_rows(self):
        if self.world is None:
            return len(self.data)
        rank, size = self.world
        if self.shuffle:  # padded: every process takes as many steps
            return math.ceil(len(self.data) / size)
        return len(range(rank, len(self.data), size))

    def __iter__(self):
        if self.world is not None:
            rank, size = self.world
            if self.shuffle:  # the same permutation on every process: they share torch's random state
                order = shard(torch.randperm(len(self.data), device=self.data.device), rank, size)
            else:
                order = torch.arange(rank, len(self.data), size, device=self.data.device)
            batches = order.split(self.batch_size)
        elif self.shuffle:
            order = torch.randperm(len(self.data), device=self.data.device)
            batches = order.split(self.batch_size)
        else:
            batches = (slice(start, start + self.batch_size) for start in range(0, len(self.data), self.batch_size))
        for idx in batches:
            sides = self.sides.index(idx).to(self.device, non_blocking=True)
            yield self.data[idx].to(self.device, non_blocking=True), sides


def train_valid_split(data, validation_fraction, seed, sides=Sides()):
    """Split ``TrainingRows`` at random into training and validation ``(rows, sides)`` pairs.

    Returns ``((data, sides), None)`` when the fraction is 0 or leaves either
    side without a row; ``sides`` (a :class:`Sides`) is split with the rows.
    The split has a generator of its own, seeded with ``seed``, so
    that a fit resumed from a checkpoint splits exactly as the first one did
    without replaying the training's random draws. Both sides are views of
    ``data`` through an index: nothing is copied.
    """
    n_valid = math.floor(validation_fraction * len(data))
    if n_valid < 1 or n_valid >= len(data):
        return (data, sides), None
    generator = torch.Generator(device=data.device).manual_seed(seed)
    order = torch.randperm(len(data), device=data.device, generator=generator)
    train, valid = order[n_valid:], order[:n_valid]
    sides = sides.to(data.device)
    return (data.subset(train), sides.index(train)), (data.subset(valid), sides.index(valid))


def as_float_tensor(X, device="cpu"):
    """``X`` (a numpy array) as a float32 tensor on ``device``.

    Shares X's memory when X already is float32 on the CPU, so the result must
    not be written to. Conversion runs in torch, about twice as fast as numpy's
    for uint8 batches.
    """
    if not X.flags.writeable:
        X = X.copy()  # torch cannot wrap read-only memory
    return torch.from_numpy(X).to(device=device, dtype=torch.float32)


def pad_rows(rows, n_rows):
    """``rows`` with zero rows appended up to ``n_rows`` (the array itself if it has them).

    A fixed row count keeps matrix products on one code path, and float32 (or
    BLAS's float64) rounds differently for different row counts: padding is
    what makes a row's result bit-identical whatever rows it is passed with.
    """
    if len(rows) >= n_rows:
        return rows
    return np.concatenate([rows, np.zeros((n_rows - len(rows), *rows.shape[1:]), rows.dtype)])


def iter_batches(X, batch_size, device="cpu"):
    """Yield ``(slice, float32 tensor)`` for consecutive row batches of ``X``.

    Every tensor has exactly ``batch_size`` rows: the last batch is padded
    (:func:`pad_rows`), and the slice says which of its rows are ``X``'s. A
    scipy sparse ``X`` is made dense one batch at a time.
    """
    n_rows = X.shape[0]
    for start in range(0, n_rows, batch_size):
        rows = slice(start, min(start + batch_size, n_rows))
        batch = X[rows].toarray() if sp.issparse(X) else X[rows]
        yield rows, as_float_tensor(pad_rows(batch, batch_size), device)


def apply_in_fixed_batches(func, X, batch_size=256):
    """``func(X)`` for a numpy function of rows, computed on padded batches of ``batch_size`` rows."""
    results = []
    for start in range(0, len(X), batch_size):
        batch = X[start : start + batch_size]
        results.append(func(pad_rows(batch, batch_size))[: len(batch)])
    return np.concatenate(results) if results else func(X)
