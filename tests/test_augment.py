"""Random moves of images, which GaussianMixtureVAE's pretraining learns to ignore."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from skvae._augment import MIN_NEIGHBOR_TURN, neighbor_turn, principal_angles, random_moves, small_images


def centre_of_mass(images):
    """(row, column) of each image's centre of mass, ``images`` shaped (n, H, W)."""
    rows, columns = np.indices(images.shape[1:])
    mass = images.sum((1, 2))
    return np.stack([(images * rows).sum((1, 2)) / mass, (images * columns).sum((1, 2)) / mass], 1)


@pytest.mark.parametrize("shape", [(40, 3 * 16 * 24), (40, 3, 16, 24)])
def test_no_move_gives_the_images_back_in_their_shape(shape):
    x = torch.rand(shape)
    out = random_moves(x, (3, 16, 24), max_shift=0, max_turn=0, max_scale=0)
    assert out.shape == x.shape and out.dtype == x.dtype
    torch.testing.assert_close(out, x, atol=1e-5, rtol=0)


def test_shifts_move_an_image_by_up_to_the_given_pixels_along_each_side():
    # a blob in the middle of a wide image: a shift of s pixels must move it s
    # pixels along either side, not s in coordinates stretched by the sides' lengths
    torch.manual_seed(0)
    image = np.zeros((16, 32), np.float32)
    image[7:9, 15:17] = 1
    x = torch.from_numpy(np.repeat(image[None], 500, 0))
    out = random_moves(x.reshape(500, -1), (1, 16, 32), max_shift=2, max_turn=0, max_scale=0)
    moved = centre_of_mass(out.reshape(500, 16, 32).numpy()) - centre_of_mass(image[None])
    assert np.abs(moved).max() <= 2.01
    assert (moved.min(0) < -1.5).all() and (moved.max(0) > 1.5).all()  # each way, on both sides


def test_a_turn_keeps_a_point_at_its_distance_from_the_centre_of_a_wide_image():
    torch.manual_seed(0)
    image = np.zeros((16, 32), np.float32)
    image[7:9, 23:25] = 1  # 8 pixels right of the centre (7.5, 15.5)
    x = torch.from_numpy(np.repeat(image[None, None], 200, 0))
    out = random_moves(x, (1, 16, 32), max_shift=0, max_turn=60, max_scale=0).numpy()[:, 0]
    offset = centre_of_mass(out) - [7.5, 15.5]
    distance = np.hypot(*offset.T)
    np.testing.assert_allclose(distance, 8, atol=0.3)  # a turn, not a shear
    assert np.abs(offset[:, 0]).max() > 5  # turned by up to 60 degrees: up to 6.9 pixels up or down


def test_moves_are_drawn_from_torchs_random_state():
    x = torch.rand(8, 1, 16, 16)
    torch.manual_seed(3)
    first = random_moves(x, (1, 16, 16))
    torch.manual_seed(3)
    np.testing.assert_array_equal(first, random_moves(x, (1, 16, 16)))
    assert not torch.equal(first, random_moves(x, (1, 16, 16)))


def test_the_principal_angle_of_an_ellipse_is_its_turn(ellipses):
    images, turns = ellipses(200, 80, side=32)
    angles = np.degrees(principal_angles(images.reshape(200, 1, 32, 32)))
    np.testing.assert_allclose(angles, turns, atol=3)
    # an offset of the pixels' scale (images standardised, or dark on light) leaves it as it was
    np.testing.assert_allclose(principal_angles(images.reshape(200, 1, 32, 32) * 2 - 1),
                               principal_angles(images.reshape(200, 1, 32, 32)), atol=1e-9)


def test_neighbor_turn_tells_shapes_drawn_askew_from_shapes_drawn_upright(ellipses):
    # what pretrain_moves="auto" decides by: moves are taught where near neighbours lie at other angles
    upright, _ = ellipses(300, 0)
    askew, _ = ellipses(300, 45)
    assert neighbor_turn(upright, (1, 16, 16)) < MIN_NEIGHBOR_TURN < neighbor_turn(askew, (1, 16, 16))
    # an axis 179 degrees from another is 1 degree from it: bars either side of the vertical are near
    vertical, _ = ellipses(300, 3)
    vertical = vertical.reshape(300, 16, 16).transpose(0, 2, 1).reshape(300, -1)
    assert neighbor_turn(vertical, (1, 16, 16)) < MIN_NEIGHBOR_TURN


def test_large_images_are_measured_shrunk_a_batch_at_a_time_and_keep_their_turns(ellipses):
    askew, _ = ellipses(300, 45, side=64)
    batches = [sp.csr_matrix(askew[:100]), askew[100:]]  # sparse batches become dense
    small, shape = small_images(batches, (1, 64, 64))
    assert shape == (1, 32, 32) and small.shape == (300, 32 * 32) and isinstance(small, np.ndarray)
    np.testing.assert_allclose(small[0].reshape(32, 32), askew[0].reshape(32, 2, 32, 2).mean((1, 3)), atol=1e-6)
    assert neighbor_turn(small, shape) > MIN_NEIGHBOR_TURN
    upright, _ = ellipses(300, 0, side=64)
    assert neighbor_turn(*small_images([upright], (1, 64, 64))) < MIN_NEIGHBOR_TURN
    same, shape = small_images([askew[:10, :32 * 32]], (1, 32, 32))  # small images stay as they are
    assert shape == (1, 32, 32) and np.array_equal(same, askew[:10, :32 * 32])
