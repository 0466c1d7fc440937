"""The torch networks in skvae.modules work as plain PyTorch, without skvae's estimators."""

import torch

from skvae._losses import ELBOLoss
from skvae.modules import (
    LOGVAR_MAX,
    LOGVAR_MIN,
    Autoencoder,
    MLPDecoder,
    MLPEncoder,
    VariationalAutoencoder,
)


def test_vae_module_trains_with_a_plain_torch_loop():
    torch.manual_seed(0)
    prototypes = torch.rand(4, 10).round()
    x = prototypes[torch.randint(4, (64,))]  # four kinds of row: worth encoding
    model = VariationalAutoencoder(MLPEncoder(10, 2 * 3, (16,)), MLPDecoder(3, 10, (16,)))
    out = model(x)
    assert out.reconstruction.shape == (64, 10)
    assert out.z.shape == out.mean.shape == out.logvar.shape == (64, 3)
    loss_fn = ELBOLoss("bce")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = loss_fn(model(x), x).loss.item()
    for _ in range(100):
        optimizer.zero_grad()
        loss_fn(model(x), x).loss.backward()
        optimizer.step()
    assert loss_fn(model(x), x).loss.item() < first - 1.0


def test_autoencoder_module_is_deterministic_with_an_offset():
    offset = torch.full((5,), 7.0)
    model = Autoencoder(MLPEncoder(5, 2, ()), MLPDecoder(2, 5, ()), output_offset=offset)
    torch.nn.init.zeros_(model.decoder.net[-1].weight)
    torch.nn.init.zeros_(model.decoder.net[-1].bias)
    out = model(torch.randn(4, 5))
    assert out.logvar is None and torch.equal(out.z, out.mean)
    assert torch.equal(out.reconstruction, offset.expand(4, 5))  # unbounded, no Sigmoid


def test_log_variance_stays_finite_for_extreme_inputs():
    model = VariationalAutoencoder(MLPEncoder(3, 4, ()), MLPDecoder(2, 3, ()))
    mean, logvar = model.encode(torch.tensor([[1e6, -1e6, 1e6], [-1e6, 1e6, -1e6]]))
    assert logvar.min() >= LOGVAR_MIN and logvar.max() <= LOGVAR_MAX
    loss = ELBOLoss("mse")(model(torch.zeros(2, 3)), torch.zeros(2, 3))
    assert torch.isfinite(loss.kl_loss)


def test_each_module_declares_what_it_is_and_behaves_so():
    from skvae.modules import (
        ConditionalVariationalAutoencoder,
        GaussianMixtureVariationalAutoencoder,
        VectorQuantizedAutoencoder,
    )

    torch.manual_seed(0)
    x, k = torch.rand(6, 10), 4
    made = {
        Autoencoder: lambda n: Autoencoder(MLPEncoder(10, n, ()), MLPDecoder(k, 10, ())),
        VariationalAutoencoder: lambda n: VariationalAutoencoder(MLPEncoder(10, n, ()), MLPDecoder(k, 10, ())),
        GaussianMixtureVariationalAutoencoder: lambda n: GaussianMixtureVariationalAutoencoder(
            MLPEncoder(10, n, ()), MLPDecoder(k, 10, ()), n_clusters=3, n_components=k),
        ConditionalVariationalAutoencoder: lambda n: ConditionalVariationalAutoencoder(
            MLPEncoder(10, n, ()), MLPDecoder(k + 2, 10, ()), n_classes=2),
        VectorQuantizedAutoencoder: lambda n: VectorQuantizedAutoencoder(
            MLPEncoder(10, n, ()), MLPDecoder(k, 10, ()), n_embeddings=8, embedding_dim=2),
    }
    for cls, make in made.items():
        module = make(2 * k if cls.stochastic else k)
        mean, logvar = module.encode(x)
        kl = module.kl_divergence(mean, logvar)
        if cls.stochastic:  # a posterior with a variance, under a prior
            assert logvar.shape == mean.shape and kl.shape == (6,) and module.log_prior(mean).shape == (6,)
        else:
            assert logvar is None and kl is None, cls.__name__
        if cls.factorised_prior:  # the KL term splits over the dimensions
            torch.testing.assert_close(module.kl_per_dimension(mean, logvar).sum(1), kl)
        else:
            assert getattr(module, "kl_per_dimension", None) is None, cls.__name__
