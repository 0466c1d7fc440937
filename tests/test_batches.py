"""Inference in batches: a row's result never depends on the rows it comes with, and one row is cheap."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn

from skvae import VAETransformer
from skvae._inference import SMALL_BATCH, _small_batch_answers


@pytest.fixture(scope="module")
def X():
    return (load_digits().data / 16).astype(np.float32)


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_a_few_rows_give_the_bits_they_give_among_many(X, architecture):
    model = VAETransformer(n_components=3, hidden_layer_sizes=(16,), architecture=architecture, image_shape=(8, 8),
                           conv_channels=(4,), max_epochs=2, random_state=0).fit(X)
    codes, scores = model.transform(X[:300]), model.score_samples(X[:40])
    rebuilt = model.inverse_transform(codes)
    for n in (1, 3, SMALL_BATCH):
        np.testing.assert_array_equal(model.transform(X[5:5 + n]), codes[5:5 + n])
        np.testing.assert_array_equal(model.inverse_transform(codes[5:5 + n]), rebuilt[5:5 + n])
        np.testing.assert_array_equal(model.score_samples(X[5:5 + n]), scores[5:5 + n])


class BatchDependentEncoder(nn.Module):
    """An encoder whose output for a row depends on the other rows of its batch (by design)."""

    def __init__(self, input_shape, n_outputs):
        super().__init__()
        self.linear = nn.Linear(input_shape[0], n_outputs)

    def forward(self, x):
        out = self.linear(x)
        return out + 1e-3 * out.mean(0, keepdim=True)


class Decoder(nn.Module):
    def __init__(self, n_components, output_shape):
        super().__init__()
        self.linear = nn.Linear(n_components, output_shape[0])

    def forward(self, z):
        return self.linear(z)


def test_a_module_whose_rows_depend_on_the_batch_keeps_full_batches(X):
    model = VAETransformer(n_components=2, architecture=(BatchDependentEncoder, Decoder), max_epochs=1,
                           random_state=0).fit(X)
    one = model.transform(X[:1])
    # in a small batch the row would come out otherwise: the check says so, and it is padded
    # to the full batch (the training batch size, 128, for a network of one's own), as
    # every call was before small batches
    assert list(_small_batch_answers[model.net_.module_].values()) == [False]
    padded = torch.zeros(128, 64)
    padded[0] = torch.from_numpy(X[0])
    with torch.no_grad():
        np.testing.assert_array_equal(one[0], model.net_.module_.encode(padded)[0][0].numpy())


def test_a_standard_network_answers_one_row_in_a_small_batch(X):
    # kept with the module, not saved: a loaded model asks again on its machine
    model = VAETransformer(n_components=2, hidden_layer_sizes=(16,), max_epochs=1, random_state=0).fit(X)
    model.transform(X[:1])
    answers = _small_batch_answers[model.net_.module_]
    assert list(answers) == [("encode, std=False", "cpu", torch.get_num_threads())]
    assert "_small_batch" not in str(vars(model))


def test_n_draws_trades_accuracy_for_decoder_passes(X):
    model = VAETransformer(n_components=3, hidden_layer_sizes=(16,), max_epochs=3, random_state=0).fit(X)
    np.testing.assert_array_equal(model.score_samples(X[:20]), model.score_samples(X[:20], n_draws=64))
    coarse = model.score_samples(X[:20], n_draws=2)
    assert not np.array_equal(coarse, model.score_samples(X[:20]))
    np.testing.assert_allclose(coarse, model.score_samples(X[:20]), rtol=0.2)  # the same ELBO, coarser
    for bad in (0, 3, 2.0, True):
        with pytest.raises(ValueError, match="n_draws must be an even integer"):
            model.score_samples(X[:2], n_draws=bad)
