"""VQVAETransformer: discrete codes that reconstruct, a codebook in use, and exact save/load."""

import numpy as np
import pytest
import torch
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


def test_samples_draw_tokens_that_go_together_as_the_training_rows_do(fitted, digits):
    samples = fitted.sample(2000, random_state=0)
    assert samples.shape == (2000, 64)
    np.testing.assert_array_equal(samples[:50], fitted.sample(2000, random_state=0)[:50])
    drawn = fitted._prior().sample(2000, np.random.RandomState(1)).reshape(2000, 4, 4)
    drawn = ((drawn[:, :, None, :] - fitted.codebook_) ** 2).sum(-1).argmin(-1)  # the drawn tokens
    training = fitted.set_params(code_output="indices").transform(digits)
    fitted.set_params(code_output="continuous")
    independent = np.stack([np.random.RandomState(t).choice(fitted.n_embeddings, 2000, p=p)
                            for t, p in enumerate(fitted.code_frequencies_)], axis=1)
    # pairs of a row's first two tokens that a training row has: the learned prior draws them
    # far more often than tokens drawn each on its own from its frequency
    seen = set(map(tuple, training[:, :2]))
    learned_share = np.mean([tuple(row) in seen for row in drawn[:, :2]])
    independent_share = np.mean([tuple(row) in seen for row in independent[:, :2]])
    assert learned_share > independent_share + 0.2, (learned_share, independent_share)
    # and each position still uses its vectors about as often as the training rows do
    for t in range(4):
        assert np.abs(np.bincount(drawn[:, t], minlength=128) / 2000 - fitted.code_frequencies_[t]).sum() < 0.5


def test_the_token_prior_is_autoregressive():
    from skvae.modules import TokenPrior

    prior = TokenPrior(n_tokens=4, n_embeddings=8, width=16)
    tokens = torch.randint(8, (5, 4), generator=torch.Generator().manual_seed(0))
    logits = prior(tokens)
    for changed in range(4):
        other = tokens.clone()
        other[:, changed] = (other[:, changed] + 1) % 8
        moved = (prior(other) - logits).abs().amax(dim=(0, 2))
        assert (moved[: changed + 1] == 0).all()  # a token's logits see only the tokens before it
    assert prior.nll(tokens).shape == (5,) and (prior.nll(tokens) > 0).all()


def test_a_model_saved_before_the_token_prior_draws_from_the_frequencies(fitted, tmp_path):
    old = skvae.load(fitted.save(tmp_path / "vq.skvae"))
    del old.token_prior_  # what a file written before it existed loads as
    rows = old.sample(400, random_state=0)
    tokens = old.set_params(code_output="indices").transform(rows)
    top = old.code_frequencies_.argmax(1)
    assert np.mean(tokens == top) > np.mean(old.code_frequencies_.max(1)) / 4


def test_save_load_and_warm_start(fitted, digits, tmp_path):
    path = fitted.save(tmp_path / "vq.skvae", training_state=True)
    before = torch.get_rng_state()
    loaded = skvae.load(path)
    assert torch.equal(torch.get_rng_state(), before)  # building the networks to load into draws nothing
    np.testing.assert_array_equal(loaded.codebook_, fitted.codebook_)
    np.testing.assert_array_equal(loaded.transform(digits[:30]), fitted.transform(digits[:30]))
    np.testing.assert_array_equal(loaded.sample(5, random_state=2), fitted.sample(5, random_state=2))
    loaded.set_params(warm_start=True, max_epochs=2).fit(digits)
    assert loaded.n_iter_ == fitted.n_iter_ + 2
    assert len(loaded.history_[:, "perplexity"]) == loaded.n_iter_


def test_embedding_dim_must_divide_the_code(digits):
    with pytest.raises(ValueError, match="embedding_dim=3 must divide n_components=16"):
        VQVAETransformer(embedding_dim=3, max_epochs=1).fit(digits)
