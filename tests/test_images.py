"""Images: convolutional models, image-shaped and uint8 input, and the loaders."""

import gzip
import struct
import warnings
import zlib

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from skvae import AutoencoderTransformer, VAETransformer
from skvae.datasets import SYSTEM_DATA_DIR, load_digits_images, load_image_folder, load_mnist_like
from skvae.modules import ConvDecoder, ConvEncoder

TINY_CONV = dict(architecture="conv", conv_channels=(8, 16), hidden_layer_sizes=(32,))


@pytest.fixture(scope="module")
def digit_images():
    images, target = load_digits_images()
    return images[:500], target[:500]


class TinyEncoder(nn.Module):
    def __init__(self, input_shape, n_outputs):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(input_shape)), n_outputs))

    def forward(self, x):
        return self.net(x)


class TinyDecoder(nn.Module):
    def __init__(self, n_components, input_shape):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_components, int(np.prod(input_shape))), nn.Unflatten(1, input_shape))

    def forward(self, z):
        return self.net(z)


ARCHITECTURES = {
    "mlp": dict(architecture="mlp"),
    "conv": dict(architecture="conv"),
    "custom": dict(architecture=(TinyEncoder, TinyDecoder)),
}


@pytest.mark.parametrize("cls", [AutoencoderTransformer, VAETransformer])
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_training_lowers_the_reconstruction_loss_on_digits(cls, name):
    X, _ = load_digits_images()
    model = cls(n_components=8, max_epochs=30, random_state=0, **ARCHITECTURES[name]).fit(X)
    before = model.history_[0, "batches", 0, "train_recon_loss"]  # computed before any update
    after = model.history_[-1, "train_recon_loss"]
    assert after < 0.9 * before
    assert model.inverse_transform(model.transform(X)).shape == (len(X), 64)


@pytest.mark.parametrize("size", [(8, 8), (28, 28), (31, 31), (64, 64), (9, 20)])
@pytest.mark.parametrize("channels", [1, 3])
def test_conv_output_shape_equals_input_shape(size, channels):
    shape = (channels, *size)
    encoder = ConvEncoder(shape, 4, conv_channels=(4, 8, 8), hidden_layer_sizes=(16,))
    decoder = ConvDecoder(2, shape, conv_channels=(8, 8, 4), hidden_layer_sizes=(16,))
    x = torch.rand(3, *shape)
    assert encoder(x).shape == (3, 4)
    assert decoder(encoder(x)[:, :2]).shape == x.shape


@pytest.mark.parametrize("channels", [1, 3])
def test_conv_estimator_round_trips_odd_sized_images(channels):
    X = np.random.RandomState(0).rand(40, channels, 31, 31).astype(np.float32)
    model = VAETransformer(max_epochs=1, random_state=0, **TINY_CONV).fit(X)
    assert model.image_shape_ == (channels, 31, 31)
    rows = model.inverse_transform(model.transform(X))
    assert rows.shape == (40, channels * 31 * 31)
    images = model.as_images(rows)
    assert images.shape == ((40, 31, 31) if channels == 1 else (40, 31, 31, 3))
    assert model.as_images(rows, channels_last=False).shape == X.shape


def test_three_ways_to_pass_images_give_one_model(digit_images):
    X, _ = digit_images
    params = dict(max_epochs=2, random_state=0, **TINY_CONV)
    from_3d = VAETransformer(**params).fit(X)
    from_4d = VAETransformer(**params).fit(X[:, None])
    from_rows = VAETransformer(image_shape=(8, 8), **params).fit(X.reshape(len(X), -1))
    codes = from_3d.transform(X)
    np.testing.assert_array_equal(from_4d.transform(X[:, None]), codes)
    np.testing.assert_array_equal(from_rows.transform(X.reshape(len(X), -1)), codes)
    np.testing.assert_array_equal(from_rows.transform(X), codes)  # images also fit a rows model


def test_image_input_errors_say_what_to_do(digit_images):
    X, _ = digit_images
    with pytest.raises(ValueError, match="needs images.*image_shape"):
        VAETransformer(architecture="conv", max_epochs=1).fit(X.reshape(len(X), -1))
    with pytest.raises(ValueError, match="does not fit rows of 64 features"):
        VAETransformer(image_shape=(7, 7), max_epochs=1).fit(X.reshape(len(X), -1))
    rgb = np.zeros((4, 16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match=r"channels-last.*np.moveaxis\(X, -1, 1\)"):
        VAETransformer(max_epochs=1).fit(rgb)
    model = VAETransformer(max_epochs=1, random_state=0, **TINY_CONV).fit(X)
    with pytest.raises(ValueError, match=r"fitted on images of shape \(1, 8, 8\)"):
        model.transform(np.zeros((2, 4, 16)))
    tabular = VAETransformer(max_epochs=1).fit(X.reshape(len(X), -1))
    with pytest.raises(ValueError, match="fitted on tabular rows"):
        tabular.as_images(tabular.sample(2))


def test_uint8_images_are_scaled_in_and_out(digit_images):
    X, _ = digit_images
    X8 = np.round(X * 255).astype(np.uint8)
    model = VAETransformer(max_epochs=5, random_state=0, **TINY_CONV).fit(X8)
    assert model.input_scale_ == 255 and model.reconstruction_loss_ == "bce"
    float_model = VAETransformer(max_epochs=5, random_state=0, **TINY_CONV).fit(X8 / 255)
    np.testing.assert_allclose(model.transform(X8), float_model.transform(X8 / 255), atol=1e-4)
    samples = model.sample(6, random_state=0)
    assert samples.max() > 1 and samples.min() >= 0 and samples.max() <= 255  # back on 0..255
    images = model.as_images(samples)
    assert images.dtype == np.uint8 and images.shape == (6, 8, 8)
    with pytest.warns(UserWarning, match="X is not uint8"):
        model.transform(X)


def test_custom_modules_with_wrong_shapes_are_named(digit_images):
    X, _ = digit_images

    class WrongDecoder(TinyDecoder):
        def forward(self, z):
            return super().forward(z)[:, :, :4]

    with pytest.raises(ValueError, match=r"decoder.*gave \(2, 8\) and \(2, 1, 4, 8\)"):
        VAETransformer(n_components=4, architecture=(TinyEncoder, WrongDecoder), max_epochs=1).fit(X)


def _write_idx(path, array):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">HBB", 0, 0x08, array.ndim))
        f.write(struct.pack(f">{array.ndim}I", *array.shape))
        f.write(array.astype(np.uint8).tobytes())


def test_load_mnist_like_reads_idx_files_from_data_home_or_env(tmp_path, monkeypatch):
    rng = np.random.RandomState(0)
    images = {"train": rng.randint(0, 256, (6, 28, 28)), "t10k": rng.randint(0, 256, (4, 28, 28))}
    for split, array in images.items():
        _write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", array)
        _write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", np.arange(len(array)))
    X_train, X_test, y_train, y_test = load_mnist_like("mnist", data_home=tmp_path)
    np.testing.assert_array_equal(X_train, images["train"])
    np.testing.assert_array_equal(y_test, np.arange(4))
    assert X_train.flags.writeable and X_test.dtype == np.uint8 and y_train.dtype == np.int64
    monkeypatch.setenv("SKVAE_DATA", str(tmp_path))
    np.testing.assert_array_equal(load_mnist_like("mnist")[1], images["t10k"])


def test_missing_mnist_says_where_it_looked_and_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SKVAE_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setattr("skvae.datasets.SYSTEM_DATA_DIR", tmp_path / "system")
    with pytest.raises(FileNotFoundError) as error:
        load_mnist_like("fashion-mnist", data_home=tmp_path / "mine")
    message = str(error.value)
    assert str(tmp_path / "mine") in message and str(tmp_path / "nowhere" / "fashion-mnist") in message
    assert "apt-get install dataset-fashion-mnist" in message and "download=True" in message


@pytest.mark.skipif(
    not (SYSTEM_DATA_DIR / "fashion-mnist").is_dir(), reason="Debian's dataset-fashion-mnist is not installed"
)
def test_debian_fashion_mnist_loads():
    X_train, X_test, y_train, y_test = load_mnist_like("fashion-mnist")
    assert X_train.shape == (60000, 28, 28) and X_test.shape == (10000, 28, 28)
    assert np.bincount(y_test).tolist() == [1000] * 10


def decompression_bomb():
    """A PNG of a few bytes that claims 60000 x 60000 pixels: 10 GB once decoded."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")


def test_image_folder_with_a_corrupt_file_trains_a_colour_vae(tmp_path):
    rng = np.random.RandomState(0)
    (tmp_path / "sub").mkdir()
    for i in range(24):
        pixels = (rng.rand(48 + i, 40, 3) * 255).astype(np.uint8)
        pixels[:, :20, i % 3] = 255  # a coloured half, so colour carries information
        suffix = "png" if i % 2 else "jpg"
        Image.fromarray(pixels).save(tmp_path / ("sub" if i % 3 == 0 else ".") / f"face{i:02d}.{suffix}")
    (tmp_path / "broken.jpg").write_bytes(b"not an image at all")
    (tmp_path / "bomb.png").write_bytes(decompression_bomb())
    with pytest.warns(UserWarning, match=r"Skipped 2 of 26 files.*bomb.png: DecompressionBombError.*broken.jpg"):
        images, names = load_image_folder(tmp_path, image_size=(64, 64))
    assert images.shape == (24, 3, 64, 64) and images.dtype == np.uint8 and len(names) == 24
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a grey version reads without complaint
        grey, _ = load_image_folder(tmp_path / "sub", image_size=(32, 32), mode="L")
    assert grey.shape == (8, 1, 32, 32)

    model = VAETransformer(n_components=4, max_epochs=3, random_state=0, **TINY_CONV).fit(images)
    generated = model.as_images(model.sample(5, random_state=0))
    assert generated.shape == (5, 64, 64, 3) and generated.dtype == np.uint8
