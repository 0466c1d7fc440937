"""Small random moves of images: what a network is taught to ignore.

An encoder that is given each image moved a little at random (shifted,
turned and scaled), and whose decoder must give back the image as it was,
learns codes in which the same thing drawn a little aside or askew lies
together: a denoising autoencoder whose noise is a move. GaussianMixtureVAE
pretrains so on images large enough to move (sides of 16 pixels or more,
as ``skvae._transformations.can_transform`` tells), where a move
of a pixel or two keeps what an image shows, and only where the data's
own near neighbours lie at different angles (:func:`neighbor_turn`):
handwriting is written askew, clothes are photographed upright.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.neighbors import NearestNeighbors

# The largest move: a shift of up to 2 pixels in each direction, a turn of up
# to 15 degrees, a scaling by up to 15 %, each drawn uniformly per image. On
# 5,000 MNIST images, shifts alone (up to 2 pixels) did not move the clusters
# that GaussianMixtureVAE's mixture starts from (ARI 0.759 against 0.752 with
# no move, seeds 0-4); a turn of up to 10 degrees and a scaling by up to 10 %
# with them raised it to 0.831, and 15 to 0.869 (seeds 0-2, against 0.811 at
# 10): benchmarks/README.md, "Pretraining on moved images".
MAX_SHIFT = 2.0
MAX_TURN = 15.0
MAX_SCALE = 0.15


def random_moves(x, image_shape, max_shift=MAX_SHIFT, max_turn=MAX_TURN, max_scale=MAX_SCALE):
    """``x`` with each image moved by its own random affine map, in ``x``'s shape.

    ``x`` holds images of ``image_shape`` ``(C, H, W)``, flat ``(n, C*H*W)``
    or not ``(n, C, H, W)``. Each is shifted by up to ``max_shift`` pixels
    along each side, turned by up to ``max_turn`` degrees about its centre
    and scaled by a factor within ``1 ± max_scale``, all drawn uniformly from
    torch's random state (bilinear interpolation; zeros fill in what moves in).
    """
    n = len(x)
    channels, height, width = image_shape
    images = x.reshape(n, channels, height, width)

    def draw():  # uniform on [-1, 1], one per image
        return torch.rand(n, device=x.device, dtype=torch.float32) * 2 - 1

    angle = draw() * math.radians(max_turn)
    factor = 1 + draw() * max_scale
    cos, sin = torch.cos(angle) / factor, torch.sin(angle) / factor
    # affine_grid reads where each output pixel comes from, in coordinates that run from -1 to 1 along each
    # side: a turn of pixels becomes this matrix there, and a shift of one pixel 2 / side
    theta = torch.stack([
        torch.stack([cos, -sin * height / width, draw() * max_shift * 2 / width], 1),
        torch.stack([sin * width / height, cos, draw() * max_shift * 2 / height], 1),
    ], 1)
    grid = F.affine_grid(theta, (n, channels, height, width), align_corners=False)
    moved = F.grid_sample(images.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return moved.to(x.dtype).reshape(x.shape)


# Whether to move at all. A move teaches the codes to ignore what near
# neighbours in the data already differ by; where they do not differ by a
# turn, it teaches them what the data never shows. The median angle between an
# image's principal axis and those of its 10 nearest images (Euclidean, on
# 2,500 images drawn at random, so that it does not shrink as data sets grow)
# was 5.5-5.7 degrees on MNIST, where moves raised GaussianMixtureVAE's ARI
# from 0.767 to 0.862, and 1.5-1.6 on Fashion-MNIST, where they lowered its
# NMI from 0.653 to 0.644; 3.05 on scikit-learn's 8x8 handwritten digits
# (benchmarks/README.md, "Which images to move").
TURN_SAMPLE = 2500
TURN_NEIGHBORS = 10
MIN_NEIGHBOR_TURN = 2.5
# Larger images are measured shrunk to this many pixels a side, so that 2,500
# of them never sit in memory at full size.
TURN_SIDE = 32


def principal_angles(images):
    """The angle, in radians within (-pi/2, pi/2], of each image's principal axis, from its second moments.

    ``images`` has shape ``(n, C, H, W)``; the channels are summed, and each
    image's smallest value is its zero, so that any offset of the pixels'
    scale leaves the angle as it was.
    """
    images = np.asarray(images, dtype=np.float64).sum(axis=1)
    mass = images - images.min(axis=(1, 2), keepdims=True)
    total = mass.sum(axis=(1, 2)) + 1e-12
    ys, xs = np.mgrid[0:images.shape[1], 0:images.shape[2]]

    def mean(f):
        return np.einsum("nhw,nhw->n", mass, np.broadcast_to(f, mass.shape)) / total

    dx, dy = xs - mean(xs)[:, None, None], ys - mean(ys)[:, None, None]
    mu20, mu02, mu11 = mean(dx ** 2), mean(dy ** 2), mean(dx * dy)
    return 0.5 * np.arctan2(2 * mu11, mu20 - mu02)


def neighbor_turn(rows, image_shape):
    """The median angle, in degrees, between an image's principal axis and those of its nearest images.

    ``rows``: flat images of ``image_shape`` ``(C, H, W)`` (callers pass
    ``TURN_SAMPLE`` drawn at random), each measured against its
    ``TURN_NEIGHBORS`` nearest among them. An angle is an axis's, so 179
    degrees from another is 1 degree from it.
    """
    if len(rows) < 2:
        return 0.0
    angles = principal_angles(rows.reshape(len(rows), *image_shape))
    n_neighbors = min(TURN_NEIGHBORS, len(rows) - 1)
    neighbors = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(rows).kneighbors(rows, return_distance=False)
    turn = np.abs(angles[neighbors[:, 1:]] - angles[:, None])
    return float(np.degrees(np.median(np.minimum(turn, np.pi - turn))))


def small_images(batches, image_shape, side=TURN_SIDE):
    """Flat images of at most ``side`` pixels a side, from ``batches`` of flat images of ``image_shape``.

    Larger images are shrunk by averaging areas, one batch at a time; sparse
    batches become dense. Returns the images and their shape ``(C, H, W)``.
    """
    channels, height, width = image_shape
    size = (min(height, side), min(width, side))
    parts = []
    for part in batches:
        part = np.asarray(part.toarray() if hasattr(part, "toarray") else part, dtype=np.float32)
        if size != (height, width):
            images = torch.from_numpy(part).reshape(len(part), channels, height, width)
            part = F.adaptive_avg_pool2d(images, size).reshape(len(part), -1).numpy()
        parts.append(part)
    return np.concatenate(parts), (channels, *size)
