"""VQVAETransformer: discrete codes that reconstruct, a codebook in use, and exact save/load."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

import skvae
from skvae import VQVAETransformer


@pytest.fixture(scope="module")
def digits():
    X, _ = load_digits(return_X_y=True)
    return X / 16


@pytest.fixture(scope="module", params=["ema", "gradient"])
def fitted(request, digits):
    return VQVAETransformer(max_epochs=15, codebook_update=request.param, random_state=0).fit(digits)


def test_reconstructs_and_uses_the_codebook(fitted, digits):
    X = digits
    reconstructed = fitted.inverse_transform(fitted.transform(X))
    # an untrained decoder outputs the mean image (its output offset): training must beat it by far
    assert np.mean((reconstructed - X) ** 2) < 0.4 * np.mean((X - X.mean(0)) ** 2)
    assert fitted.history_[-1, "codes_used"] > 64  # of 128: far more than a handful
    assert fitted.history_[-1, "perplexity"] > 32
    assert fitted.history_[-1, "perplexity"] > fitted.history_[0, "perplexity"]
    assert (fitted.code_frequencies_ > 0).sum(1).min() > 16  # every token position uses many vectors


def test_indices_are_the_nearest_codebook_vectors(fitted, digits):
    X = digits[:50]
    continuous = fitted.transform(X)
    indices = fitted.set_params(code_output="indices").transform(X)
    fitted.set_params(code_output="continuous")
    assert indices.shape == (50, 4) and indices.dtype == np.int64
    tokens = continuous.reshape(50, 4, 4)
    distances = ((tokens[:, :, None, :] - fitted.codebook_) ** 2).sum(-1)
    np.testing.assert_array_equal(indices, distances.argmin(-1))
    quantized = fitted.codebook_[indices].reshape(50, 16)
    np.testing.assert_allclose(fitted.inverse_transform(quantized), fitted.inverse_transform(continuous), atol=1e-6)


def test_samples_follow_the_code_frequencies(fitted):
    samples = fitted.sample(500, random_state=0)
    assert samples.shape == (500, 64)
    np.testing.assert_array_equal(samples, fitted.sample(500, random_state=0))
    codes = fitted.set_params(code_output="indices").transform(samples)
    fitted.set_params(code_output="continuous")
    # decoding then encoding returns mostly the drawn codes: the most frequent ones come back often
    top = fitted.code_frequencies_.argmax(1)
    assert np.mean(codes == top) > np.mean(fitted.code_frequencies_.max(1)) / 4


def test_save_load_and_warm_start(fitted, digits, tmp_path):
    loaded = skvae.load(fitted.save(tmp_path / "vq.skvae", training_state=True))
    np.testing.assert_array_equal(loaded.codebook_, fitted.codebook_)
    np.testing.assert_array_equal(loaded.transform(digits[:30]), fitted.transform(digits[:30]))
    np.testing.assert_array_equal(loaded.sample(5, random_state=2), fitted.sample(5, random_state=2))
    loaded.set_params(warm_start=True, max_epochs=2).fit(digits)
    assert loaded.n_iter_ == fitted.n_iter_ + 2
    assert len(loaded.history_[:, "perplexity"]) == loaded.n_iter_


def test_embedding_dim_must_divide_the_code(digits):
    with pytest.raises(ValueError, match="embedding_dim=3 must divide n_components=16"):
        VQVAETransformer(embedding_dim=3, max_epochs=1).fit(digits)
