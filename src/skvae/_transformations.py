"""Which transformation was applied to an image? A self-supervised anomaly score.

A small convolutional network learns to tell which of a fixed set of
transformations (rotations by quarter turns, each alone or with a shift by a
quarter of the image) was applied to a normal image. On a new image, the
score is the mean log-probability it gives the right answer over all the
transformations: it knows which way up a shirt is, but not which way up a
shoe is, when it has only seen shirts. This is the idea of GeoTrans (Golan
and El-Yaniv, 2018), with fewer transformations and a network small enough
for a CPU. It needs images: no transformation keeps a tabular row what it is.
"""

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from skorch import NeuralNetClassifier
from torch import nn
from torch.utils.data import Dataset

MIN_IMAGE_SIDE = 16


def image_transformations(image_shape):
    """The transformations, as ``(quarter_turns, shift_rows, shift_columns)``.

    Four quarter turns for square images, two (upright and upside down)
    otherwise, since a quarter turn would change the shape; each alone and
    with a circular shift by a quarter of the height or width in each of the
    four directions.
    """
    _, height, width = image_shape
    turns = range(4) if height == width else (0, 2)
    dy, dx = height // 4, width // 4
    shifts = ((0, 0), (dy, 0), (-dy, 0), (0, dx), (0, -dx))
    return [(k, sy, sx) for sy, sx in shifts for k in turns]


def can_transform(image_shape):
    """Whether the data are images large enough to shift and turn: ``(C, H, W)`` with both sides >= 16."""
    return image_shape is not None and min(image_shape[1:]) >= MIN_IMAGE_SIDE


def transform_images(images, transformation):
    """Apply one transformation to a batch ``(n, C, H, W)`` of images."""
    turns, shift_y, shift_x = transformation
    if shift_y or shift_x:
        images = torch.roll(images, (shift_y, shift_x), (-2, -1))
    return torch.rot90(images, turns, (-2, -1)) if turns else images


class TransformationNet(nn.Module):
    """Three strided convolutions and a hidden layer: ``(n, C, H, W)`` to one logit per transformation."""

    def __init__(self, in_channels, n_transformations, width=16):
        super().__init__()
        self.in_channels, self.n_transformations, self.width = in_channels, n_transformations, width
        layers, channels = [], in_channels
        for out, kernel in ((width, 4), (2 * width, 4), (4 * width, 3)):
            layers += [nn.Conv2d(channels, out, kernel, stride=2, padding=1), nn.BatchNorm2d(out), nn.ReLU()]
            channels = out
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(4), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(channels * 16, 128), nn.ReLU(), nn.Linear(128, n_transformations))

    def forward(self, X):
        return self.head(self.features(X))


class _RandomlyTransformed(Dataset):
    """Each row of X as an image, with a transformation index drawn at random each time it is read.

    Rows are read one at a time, so a memory-mapped X stays on disk; the
    transformations are applied a batch at a time by ``collate``.
    """

    def __init__(self, X, image_shape, scale, n_transformations, seed):
        self.X, self.image_shape, self.scale = X, image_shape, scale
        self.n_transformations = n_transformations
        self.random = np.random.default_rng(seed)

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, i):
        row = self.X[i]
        row = row.toarray() if sp.issparse(row) else np.asarray(row)
        image = torch.from_numpy(row.astype(np.float32).reshape(self.image_shape) / np.float32(self.scale))
        return image, int(self.random.integers(self.n_transformations))


def _collate(transformations):
    def collate(items):
        images = torch.stack([image for image, _ in items])
        labels = torch.tensor([label for _, label in items])
        out = torch.empty_like(images)
        for index, transformation in enumerate(transformations):
            chosen = labels == index
            if chosen.any():
                out[chosen] = transform_images(images[chosen], transformation)
        return out, labels

    return collate


def fit_transformation_net(X, image_shape, scale, *, max_epochs, batch_size, device, seed, verbose=0):
    """Train a ``TransformationNet`` on the rows of X (images of ``image_shape``, divided by ``scale``).

    Each epoch shows every image once, under a transformation drawn at random.
    Returns the trained ``TransformationNet`` in evaluation mode and the number
    of epochs it finished: fewer than ``max_epochs`` when Ctrl-C stopped it
    (skorch ends training quietly then). The caller seeds torch.
    """
    transformations = image_transformations(image_shape)
    net = NeuralNetClassifier(
        TransformationNet,
        module__in_channels=image_shape[0],
        module__n_transformations=len(transformations),
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=max_epochs,
        batch_size=batch_size,
        train_split=None,
        iterator_train__shuffle=True,
        iterator_train__collate_fn=_collate(transformations),
        device=device,
        verbose=verbose,
    )
    net.fit(_RandomlyTransformed(X, image_shape, scale, len(transformations), seed), y=None)
    finished = sum("train_loss" in epoch for epoch in net.history)
    return net.module_.eval(), finished


def transformation_scores(module, images, batch_size=1024):
    """Mean log-probability the module gives the right transformation, over all of them, per image.

    ``images`` is a float array ``(n, C, H, W)`` on the model's scale.
    """
    transformations = image_transformations(images.shape[1:])
    device = next(module.parameters()).device
    scores = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = torch.as_tensor(images[start:start + batch_size], dtype=torch.float32, device=device)
            total = torch.zeros(len(batch), dtype=torch.float64)
            for index, transformation in enumerate(transformations):
                logits = module(transform_images(batch, transformation))
                total += F.log_softmax(logits.cpu().double(), dim=1)[:, index]
            scores.append(total / len(transformations))
    return torch.cat(scores).numpy() if scores else np.zeros(0)
