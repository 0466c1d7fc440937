"""Small random moves of images: what a network is taught to ignore.

An encoder that is given each image moved a little at random (shifted,
turned and scaled), and whose decoder must give back the image as it was,
learns codes in which the same thing drawn a little aside or askew lies
together: a denoising autoencoder whose noise is a move. GaussianMixtureVAE
pretrains so on images large enough to move (sides of 16 pixels or more,
as ``skvae._transformations.can_transform`` tells), where a move
of a pixel or two keeps what an image shows.
"""

import math

import torch
import torch.nn.functional as F

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
