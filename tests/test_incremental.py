"""Training on data too large for memory: partial_fit, and fit on a memory-mapped array."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn

from skvae import (
    AutoencoderTransformer,
    ConditionalVAETransformer,
    GaussianMixtureVAE,
    VAETransformer,
)
from skvae._data import Sides, TrainingRows, train_valid_split
from skvae._losses import ReconstructionLoss
from skvae._net import AutoencoderNet
from skvae.modules import Autoencoder

# the plain models: fit trains 3-D codes with the neighbourhood term by default, partial_fit never does
SMALL = dict(n_components=3, hidden_layer_sizes=(16,), batch_size=64, random_state=0, neighbor_weight=0.0)


@pytest.fixture(scope="module")
def X():
    return (load_digits().data / 16).astype(np.float32)


@pytest.mark.parametrize("cls", [AutoencoderTransformer, VAETransformer])
def test_partial_fit_calls_on_all_rows_equal_fit_epochs(cls, X):
    fitted = cls(**SMALL, max_epochs=5, validation_fraction=0).fit(X)
    partial = cls(**SMALL)
    for _ in range(5):
        partial.partial_fit(X)
    assert partial.n_iter_ == 5
    for name, weight in fitted.net_.module_.state_dict().items():
        assert torch.equal(partial.net_.module_.state_dict()[name], weight), name
    assert partial.history_[:, "train_loss"] == fitted.history_[:, "train_loss"]


def test_partial_fit_over_chunks_is_one_epoch_each_and_learns(X):
    vae = VAETransformer(**SMALL, lr=3e-3)
    chunks = np.array_split(X, 6)
    for _ in range(4):
        for chunk in chunks:
            vae.partial_fit(chunk)
    assert vae.n_iter_ == 24
    assert [len(epoch["batches"]) for epoch in vae.history_] == [5] * 24  # 300 rows, no validation rows held out
    first = VAETransformer(**SMALL).partial_fit(chunks[0])
    assert vae.score(X) > first.score(X) + 0.3


def test_partial_fit_refuses_rows_of_another_width_and_keeps_the_model(X):
    vae = VAETransformer(**SMALL).partial_fit(X)
    codes = vae.transform(X)
    with pytest.raises(ValueError, match="features"):
        vae.partial_fit(X[:, :10])
    assert vae.n_iter_ == 1
    np.testing.assert_array_equal(vae.transform(X), codes)


def test_the_clusterer_offers_no_partial_fit():
    # its mixture starts from a map of all its training rows at once
    assert not hasattr(GaussianMixtureVAE(), "partial_fit")


def test_conditional_partial_fit_takes_the_classes_at_the_first_call(X):
    y = load_digits().target
    cvae = ConditionalVAETransformer(**SMALL)
    cvae.partial_fit(X[y < 5], y[y < 5], classes=np.arange(10))
    cvae.partial_fit(X[y >= 5], y[y >= 5])
    np.testing.assert_array_equal(cvae.classes_, np.arange(10))
    np.testing.assert_array_equal(cvae.class_count_, np.bincount(y))
    with pytest.raises(ValueError, match="labels not seen"):
        cvae.partial_fit(X[:5], np.full(5, 11))


def test_fit_on_a_uint8_memmap_equals_fit_in_memory(tmp_path):
    images = np.round(load_digits().images * 255 / 16).astype(np.uint8)  # (n, 8, 8) intensities
    path = tmp_path / "images.u8"
    stored = np.memmap(path, np.uint8, "w+", shape=images.shape)
    stored[:] = images
    stored.flush()
    on_disk = np.memmap(path, np.uint8, "r", shape=images.shape)  # read-only, as a data set is opened
    in_memory = VAETransformer(**SMALL, max_epochs=3).fit(images)
    streamed = VAETransformer(**SMALL, max_epochs=3).fit(on_disk)
    for name, weight in in_memory.net_.module_.state_dict().items():
        assert torch.equal(streamed.net_.module_.state_dict()[name], weight), name
    assert streamed.input_scale_ == 255


def test_training_rows_share_the_callers_memory_and_convert_by_batch():
    values = np.arange(24, dtype=np.uint8).reshape(6, 4)
    rows = TrainingRows(values, scale=255.0, shape=(1, 2, 2))
    assert np.shares_memory(rows.values.numpy(), values)
    train, valid = train_valid_split(rows, 0.5, seed=0)
    assert np.shares_memory(train[0].values.numpy(), values)  # the split is an index, not a copy
    batch = train[0][torch.tensor([0, 2])]
    assert batch.dtype == torch.float32 and batch.shape == (2, 1, 2, 2)
    expected = values[train[0].rows[[0, 2]].numpy()].reshape(2, 1, 2, 2) / 255
    np.testing.assert_allclose(batch.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(rows.mean().numpy(), values.mean(0).reshape(1, 2, 2) / 255, rtol=1e-6)


class _RecordsCondition(Autoencoder):
    """An autoencoder that keeps every condition it was called with, next to the rows."""

    def __init__(self):
        super().__init__(nn.Linear(2, 1), nn.Linear(1, 2))
        self.seen = []

    def forward(self, x, condition):
        self.seen.append((x.detach().clone(), condition.clone()))
        return super().forward(x)


class _RecordsTarget(ReconstructionLoss):
    """A reconstruction loss that keeps every target it was called with, next to the rows."""

    seen = []

    def forward(self, output, x, target=None):
        self.seen.append((x.clone(), target))
        return super().forward(output, x)


@pytest.mark.parametrize("validation_fraction", [0.0, 0.25])
def test_the_net_gives_the_condition_to_the_module_and_the_target_to_the_loss(validation_fraction):
    # the conditional VAE decodes with a per-row condition; GaussianMixtureVAE's loss takes a per-row map
    X = torch.arange(40, dtype=torch.float32).reshape(20, 2)
    sides = Sides(condition=10 * X[:, :1], target=100 * X[:, :1])
    module, criterion = _RecordsCondition(), _RecordsTarget("mse")
    criterion.seen = []
    net = AutoencoderNet(
        module, criterion=criterion, max_epochs=2, batch_size=6, train_split=None,
        validation_fraction=validation_fraction, verbose=0,
    )
    net.fit(TrainingRows(X), sides)
    assert sum(len(x) for x, _ in module.seen) == 2 * 20  # training and validation rows, 2 epochs
    for x, condition in module.seen:
        torch.testing.assert_close(condition, 10 * x[:, :1])
    assert sum(len(x) for x, _ in criterion.seen) == 2 * 20  # training and validation rows, 2 epochs
    for x, target in criterion.seen:
        torch.testing.assert_close(target, 100 * x[:, :1])


def test_a_model_without_a_condition_is_called_with_the_rows_alone():
    X = torch.arange(40, dtype=torch.float32).reshape(20, 2)
    criterion = _RecordsTarget("mse")
    criterion.seen = []
    # Autoencoder.forward takes x alone: a condition passed to it would fail
    net = AutoencoderNet(Autoencoder(nn.Linear(2, 1), nn.Linear(1, 2)), criterion=criterion, max_epochs=1,
                         batch_size=8, train_split=None, verbose=0)
    net.fit(TrainingRows(X), Sides(target=X[:, 1]))
    assert [len(x) for x, _ in criterion.seen] == [8, 8, 4]
    for x, target in criterion.seen:
        torch.testing.assert_close(target, x[:, 1])
