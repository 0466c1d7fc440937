"""Each model's prior is an object that sample, traverse and the plots ask: it draws what sample decodes."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skvae import AutoencoderTransformer, GaussianMixtureVAE, VAETransformer, VQVAETransformer

FAST = dict(hidden_layer_sizes=(16,), max_epochs=2, random_state=0)
MODELS = {
    "vae": lambda: VAETransformer(n_components=2, **FAST),
    "ae": lambda: AutoencoderTransformer(n_components=2, **FAST),
    "vqvae": lambda: VQVAETransformer(n_components=4, n_embeddings=8, **FAST),
    # the prior is the same object whatever the mixture starts from; init="gmm" spares
    # this file UMAP's compilation (~8 s in each process that first uses it)
    "gmvae": lambda: GaussianMixtureVAE(n_clusters=3, n_components=2, pretrain_epochs=1, init="gmm", **FAST),
}


@pytest.fixture(scope="module", params=list(MODELS))
def fitted(request):
    return MODELS[request.param]().fit(load_digits().data[:300] / 16)


def test_sample_decodes_what_the_prior_draws(fitted):
    drawn = fitted.prior_.sample(6, np.random.RandomState(3)).astype(np.float32)
    np.testing.assert_array_equal(fitted.sample(6, random_state=3), fitted.inverse_transform(drawn))


def test_the_prior_s_centre_spread_log_prob_and_quantiles_describe_its_draws(fitted):
    prior = fitted.prior_
    Z = prior.sample(20000, np.random.RandomState(0))
    for dim in range(Z.shape[1]):
        center, spread = prior.center_and_spread(dim)
        assert Z[:, dim].mean() == pytest.approx(center, abs=0.05 * spread + 1e-6)
        assert Z[:, dim].std() == pytest.approx(spread, rel=0.05, abs=1e-6)
    assert np.isfinite(prior.log_prob(Z[:100])).all()
    low, high = prior.quantiles([0.05, 0.95])
    inside = ((Z >= low) & (Z <= high)).mean(0)
    assert np.all(inside > 0.8) and np.all(inside <= 1.0)
