"""From validated arrays to tensor batches.

Training batches are sliced from one tensor held in memory (no Dataset, no
collation item by item); inference batches are views of the caller's array, so
memory grows with the batch size, not with the number of rows.
"""

import math

import numpy as np
import torch


class TensorBatches:
    """Mini-batches ``(X[idx], None)`` of an in-memory tensor, for skorch.

    skorch's default DataLoader builds every batch item by item through a
    Dataset and a collate function; gathering rows of one tensor gives the same
    batches at the cost of a single indexing operation.

    Parameters
    ----------
    data : Tensor of shape (n_samples, ...)
    batch_size : int
    shuffle : bool
        Draw a new permutation (from torch's global generator) every epoch.
    """

    def __init__(self, data, batch_size, shuffle=False):
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __len__(self):
        return math.ceil(len(self.data) / self.batch_size)

    def __iter__(self):
        if not self.shuffle:
            for batch in self.data.split(self.batch_size):
                yield batch, None
            return
        order = torch.randperm(len(self.data), device=self.data.device)
        for idx in order.split(self.batch_size):
            yield self.data[idx], None


def train_valid_split(data, validation_fraction):
    """Split rows at random into training and validation tensors.

    Returns ``(train, None)`` when the fraction is 0 or leaves either side
    without a row. Randomness comes from torch's global generator, which the
    caller seeds.
    """
    n_valid = math.floor(validation_fraction * len(data))
    if n_valid < 1 or n_valid >= len(data):
        return data, None
    order = torch.randperm(len(data), device=data.device)
    return data[order[n_valid:]], data[order[:n_valid]]


def as_float_tensor(X, device="cpu"):
    """One float32 tensor of ``X`` on ``device``, sharing memory when it can."""
    X = np.asarray(X, dtype=np.float32)
    if not X.flags.writeable:
        # torch warns about, and must never write into, read-only buffers
        X = X.copy()
    return torch.from_numpy(X).to(device)


def iter_batches(X, batch_size, device="cpu"):
    """Yield ``(slice, tensor)`` for consecutive row batches of ``X``."""
    for start in range(0, len(X), batch_size):
        rows = slice(start, min(start + batch_size, len(X)))
        yield rows, as_float_tensor(X[rows], device)
