"""Behaviour of the three estimators that users rely on beyond sklearn's checks."""

import math
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback, EarlyStopping, GradientNormClipping

from skvae import (
    AutoencoderTransformer,
    BetaVAETransformer,
    DivergenceError,
    GaussianMixtureVAE,
    VAETransformer,
    VQVAETransformer,
)
from skvae._losses import gaussian_kl, reconstruction_nll
from skvae.modules import reparameterize

ESTIMATORS = [AutoencoderTransformer, VAETransformer, BetaVAETransformer]
# the plain models (2-D codes get the neighbourhood term by default: tests/test_neighbors.py)
FAST = dict(hidden_layer_sizes=(32,), max_epochs=10, random_state=0, neighbor_weight=0.0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16, y[:600]


@pytest.fixture(scope="module")
def fitted(digits):
    X, _ = digits
    return {cls: cls(n_components=4, **FAST).fit(X) for cls in ESTIMATORS}


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_same_seed_gives_bit_identical_model(cls, digits, fitted):
    X, _ = digits
    again = cls(n_components=4, **FAST).fit(X)
    np.testing.assert_array_equal(again.transform(X), fitted[cls].transform(X))
    other = cls(n_components=4, **{**FAST, "random_state": 1}).fit(X)
    assert not np.array_equal(other.transform(X), fitted[cls].transform(X))


def test_fit_leaves_torch_global_random_state_alone(digits):
    X, _ = digits
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    VAETransformer(max_epochs=1, random_state=0).fit(X)
    np.testing.assert_array_equal(torch.rand(3), expected)


def test_auto_loss_is_bce_only_for_unit_range(digits):
    X, _ = digits
    assert VAETransformer(max_epochs=1).fit(X).reconstruction_loss_ == "bce"
    standardized = StandardScaler().fit_transform(X)
    assert VAETransformer(max_epochs=1).fit(standardized).reconstruction_loss_ == "mse"
    with pytest.raises(ValueError, match=r"needs every value of X in \[0, 1\].*MinMaxScaler"):
        VAETransformer(reconstruction_loss="bce", max_epochs=1).fit(standardized)


def test_loss_weighs_kl_by_beta_and_ae_has_none(fitted):
    beta = fitted[BetaVAETransformer]
    last = beta.history_[-1]
    assert last["train_loss"] == pytest.approx(last["train_recon_loss"] + 4.0 * last["train_kl_loss"])
    vae = fitted[VAETransformer].history_[-1]
    assert vae["train_loss"] == pytest.approx(vae["train_recon_loss"] + vae["train_kl_loss"])
    ae = fitted[AutoencoderTransformer].history_[-1]
    assert "train_kl_loss" not in ae
    assert ae["train_loss"] == pytest.approx(ae["train_recon_loss"])


def test_history_records_the_parts_each_model_s_loss_names(digits):
    X, _ = digits
    vq = VQVAETransformer(n_components=4, n_embeddings=8, validation_fraction=0.1,
                          **{**FAST, "max_epochs": 2}).fit(X).history_[-1]
    assert vq["train_loss"] == pytest.approx(vq["train_recon_loss"] + vq["train_commitment_loss"])
    assert vq["valid_commitment_loss"] > 0 and "train_kl_loss" not in vq
    gm = GaussianMixtureVAE(n_clusters=3, n_components=2, pretrain_epochs=1, **{**FAST, "max_epochs": 2}).fit(X)
    last = gm.history_[-1]
    assert last["train_loss"] == pytest.approx(last["train_recon_loss"] + last["train_kl_loss"]
                                               + last["train_anchor_loss"])
    assert last["train_anchor_loss"] > 0


def test_history_reads_like_skorch(fitted):
    history = fitted[VAETransformer].history_
    assert len(history[:, "train_loss"]) == fitted[VAETransformer].n_iter_ == 10
    # training lowers the loss
    assert history[-1, "train_loss"] < history[0, "train_loss"]


def test_rows_are_held_out_only_when_something_reads_their_loss(digits):
    X = digits[0][:500]

    def rows_per_epoch(model):
        batches = model.history_[-1, "batches"]
        return (sum(b.get("train_batch_size", 0) for b in batches), sum(b.get("valid_batch_size", 0) for b in batches))

    small = dict(hidden_layer_sizes=(8,), max_epochs=2, random_state=0)
    plain = VAETransformer(**small).fit(X)
    assert rows_per_epoch(plain) == (500, 0) and "valid_loss" not in plain.history_[-1]  # as MLPRegressor
    stopping = VAETransformer(early_stopping=True, **small).fit(X)
    assert rows_per_epoch(stopping) == (450, 50) and math.isfinite(stopping.history_[-1, "valid_loss"])
    # a callback of the user's that reads valid_loss gets its rows too
    watched = VAETransformer(callbacks=[EarlyStopping(monitor="valid_loss", patience=5)], **small).fit(X)
    assert rows_per_epoch(watched) == (450, 50)
    # a callback that reads only the training loss does not
    assert rows_per_epoch(VAETransformer(callbacks=[EarlyStopping(monitor="train_loss")], **small).fit(X)) == (500, 0)
    # a number holds rows out in any case, for the validation curve
    assert rows_per_epoch(VAETransformer(validation_fraction=0.2, **small).fit(X)) == (400, 100)


def test_beta_one_is_exactly_the_vae(digits):
    X, _ = digits
    vae = VAETransformer(**FAST).fit(X)
    beta_one = BetaVAETransformer(beta=1.0, **FAST).fit(X)
    np.testing.assert_array_equal(beta_one.transform(X), vae.transform(X))
    assert beta_one.history_[:, "train_loss"] == vae.history_[:, "train_loss"]


def test_kl_warmup_raises_the_weight_it_trains_with_and_resumes(digits):
    X, _ = digits
    model = BetaVAETransformer(beta=2.0, kl_warmup_epochs=4, **{**FAST, "max_epochs": 3}).fit(X)
    assert model.history_[:, "kl_weight"] == pytest.approx([0.5, 1.0, 1.5])
    for row in model.history_:  # the weight recorded is the one the loss used
        assert row["train_loss"] == pytest.approx(row["train_recon_loss"] + row["kl_weight"] * row["train_kl_loss"])
    model.set_params(warm_start=True, max_epochs=2).fit(X)
    assert model.history_[:, "kl_weight"] == pytest.approx([0.5, 1.0, 1.5, 2.0, 2.0])
    assert "kl_weight" not in VAETransformer(**{**FAST, "max_epochs": 1}).fit(X).history_[-1]


def test_beta_vae_score_is_the_true_elbo():
    """score weighs the KL by 1 whatever beta is: compare with a 4000-draw estimate (standard error ~0.1 nats)."""
    # a 2-D manifold in 20-D, so that even beta=4 keeps a KL term worth weighing
    rng = np.random.RandomState(0)
    X = 3 * np.tanh(rng.randn(300, 2) @ rng.randn(2, 20)) + 0.1 * rng.randn(300, 20)
    model = BetaVAETransformer(beta=4.0, max_epochs=30, random_state=0, neighbor_weight=0.0).fit(X)
    module = model.net_.module_.eval()
    x = torch.tensor(X[:50], dtype=torch.float32)
    with torch.no_grad():
        mean, logvar = module.encode(x)
        draws = torch.randn(4000, 1, mean.shape[1], generator=torch.Generator().manual_seed(0))
        z = reparameterize(mean, logvar, draws)
        decoded = module.decode(z.flatten(0, 1)).unflatten(0, z.shape[:2])
        recon = reconstruction_nll(decoded, x, "mse").mean(0)
        kl = gaussian_kl(mean, logvar)
    elbo = -(recon + kl).numpy()
    beta_weighted = -(recon + 4.0 * kl).numpy()
    assert elbo.mean() - beta_weighted.mean() > 3  # nats: the two are far apart
    # 64 draws a row: each row within 2.4-4.3% (max over rows, data seeds 0-2) of this wide posterior's ELBO
    np.testing.assert_allclose(model.score_samples(X[:50], n_draws=64), elbo, rtol=0.05)
    # one draw a row (the default): rows are off by up to 80%, but each row's estimate is
    # unbiased, so their mean is within 0.25-0.8 nats (seeds 0-2), well inside the beta gap
    assert model.score(X[:50]) == pytest.approx(elbo.mean(), abs=1.5)
    assert abs(model.score(X[:50]) - beta_weighted.mean()) > 3


@pytest.mark.parametrize("cls", [VAETransformer, BetaVAETransformer])
def test_importance_weighted_bound_tightens_with_k(cls, fitted):
    # a 2-D manifold in 20-D: posteriors narrow enough for the bound to have room to tighten
    rng = np.random.RandomState(0)
    X = 3 * np.tanh(rng.randn(400, 2) @ rng.randn(2, 20)) + 0.1 * rng.randn(400, 20)
    model = cls(n_components=2, max_epochs=30, random_state=0).fit(X)
    elbo = model.score(X[:200])
    bounds = [model.score(X[:200], n_importance=k) for k in (1, 10, 100)]
    assert bounds[0] < bounds[1] < bounds[2]
    assert bounds[2] > elbo + 0.2  # nats: at least the ELBO, and visibly tighter
    rows = model.score_samples(X[:20], n_importance=5)
    np.testing.assert_array_equal(rows[:3], model.score_samples(X[:3], n_importance=5))  # batch-independent
    with pytest.raises(ValueError, match="positive integer"):
        model.score(X, n_importance=0)
    with pytest.raises(ValueError, match="deterministic code"):
        fitted[AutoencoderTransformer].score(X, n_importance=5)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_scores_are_deterministic_and_rank_noise_low(cls, digits, fitted):
    X, _ = digits
    model = fitted[cls]
    scores = model.score_samples(X)
    np.testing.assert_array_equal(scores, model.score_samples(X))
    noise = np.random.RandomState(0).uniform(size=X.shape)
    assert np.median(model.score_samples(noise)) < np.percentile(scores, 5)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_a_row_does_not_depend_on_its_batch(cls, digits, fitted):
    X, _ = digits
    model = fitted[cls]
    full_codes, full_scores = model.transform(X), model.score_samples(X)
    order = np.random.RandomState(0).permutation(len(X))[:37]
    np.testing.assert_allclose(model.transform(X[order]), full_codes[order], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.score_samples(X[order]), full_scores[order], rtol=1e-5)


@pytest.mark.parametrize("cls", [AutoencoderTransformer, VAETransformer])
def test_reconstructions_beat_the_mean_image(cls, digits):
    X, _ = digits
    model = cls(n_components=8, max_epochs=40, random_state=0).fit(X)
    X_rec = model.inverse_transform(model.transform(X))
    assert X_rec.shape == X.shape and X_rec.min() >= 0 and X_rec.max() <= 1
    baseline = ((X - X.mean(0)) ** 2).mean()
    assert ((X - X_rec) ** 2).mean() < 0.6 * baseline


def test_mse_reconstructions_are_not_squashed(digits):
    X, _ = digits
    model = VAETransformer(n_components=8, max_epochs=20, random_state=0).fit(X * 16)
    assert model.reconstruction_loss_ == "mse"
    assert model.inverse_transform(model.transform(X * 16)).max() > 8  # far beyond a Sigmoid's 1


def test_transform_return_std(fitted, digits):
    X, _ = digits
    mean, std = fitted[VAETransformer].transform(X, return_std=True)
    assert mean.shape == std.shape == (len(X), 4) and (std > 0).all()
    np.testing.assert_array_equal(mean, fitted[VAETransformer].transform(X))
    _, ae_std = fitted[AutoencoderTransformer].transform(X, return_std=True)
    assert (ae_std == 0).all()


def test_inverse_transform_checks_code_width(fitted):
    with pytest.raises(ValueError, match="n_components=4"):
        fitted[VAETransformer].inverse_transform(np.zeros((2, 3)))


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_sample(cls, fitted):
    model = fitted[cls]
    first = model.sample(5, random_state=0)
    assert first.shape == (5, 64) and first.min() >= 0 and first.max() <= 1
    np.testing.assert_array_equal(first, model.sample(5, random_state=0))
    assert not np.array_equal(first, model.sample(5, random_state=1))
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        model.sample(0)


def test_divergence_names_the_epoch_and_keeps_the_old_model(digits):
    X, _ = digits
    model = VAETransformer(max_epochs=2, random_state=0).fit(X)
    codes = model.transform(X)
    huge = np.full((50, 64), 1e30)
    with pytest.raises(DivergenceError, match=r"at epoch 1, batch 1.*lr=0.001.*StandardScaler"):
        model.fit(huge)
    np.testing.assert_array_equal(model.transform(X), codes)
    assert model.reconstruction_loss_ == "bce"


def test_invalid_fit_keeps_the_fitted_state(digits):
    X, _ = digits
    columns = [f"pixel{i}" for i in range(64)]
    model = VAETransformer(max_epochs=2, random_state=0).fit(pd.DataFrame(X, columns=columns))
    before = dict(vars(model))
    codes = model.transform(pd.DataFrame(X, columns=columns))
    bad = pd.DataFrame(np.where(X > 0.5, np.nan, X)[:, :10], columns=[f"c{i}" for i in range(10)])
    with pytest.raises(ValueError, match="NaN"):
        model.fit(bad)
    assert vars(model) == before
    np.testing.assert_array_equal(model.transform(pd.DataFrame(X, columns=columns)), codes)


def test_pandas_in_and_out(digits):
    X, _ = digits
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(64)], index=np.arange(len(X)) + 1000)
    model = VAETransformer(n_components=3, max_epochs=2, random_state=0).set_output(transform="pandas")
    codes = model.fit_transform(frame)
    assert isinstance(codes, pd.DataFrame)
    assert list(codes.columns) == ["vaetransformer0", "vaetransformer1", "vaetransformer2"]
    assert codes.index.equals(frame.index)
    assert list(model.feature_names_in_) == list(frame.columns)
    # the standard deviations come as a frame too, aligned with the means: a sampled code is a frame sum
    # (from the encoder: 3-D codes are placed among the training rows by default, and those have none)
    model.set_params(placement="encoder")
    means, stds = model.transform(frame, return_std=True)
    assert isinstance(stds, pd.DataFrame)
    assert stds.columns.equals(means.columns) and stds.index.equals(frame.index)
    as_arrays = model.set_output(transform="default").transform(frame, return_std=True)
    np.testing.assert_array_equal(stds.to_numpy(), as_arrays[1])
    assert ((stds > 0) & (stds <= 10)).all().all()


@pytest.mark.parametrize(
    "dtype, expected",
    [(np.float32, np.float32), (np.float64, np.float64), (np.int64, np.float64), (np.uint8, np.float32)],
)
def test_output_dtypes(dtype, expected, digits):
    X, _ = digits
    data = (X * 16).astype(dtype)
    model = VAETransformer(max_epochs=1, random_state=0)
    codes = model.fit_transform(data)
    assert codes.dtype == expected and np.isfinite(codes).all()
    assert model.score_samples(data).dtype == expected


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_clone_pickle_joblib_are_bit_identical(cls, digits, fitted, tmp_path):
    X, _ = digits
    model = fitted[cls]
    codes = model.transform(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).transform(X), codes)
    joblib.dump(model, tmp_path / "model.joblib")
    restored = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(restored.transform(X), codes)
    np.testing.assert_array_equal(restored.sample(3, random_state=0), model.sample(3, random_state=0))
    np.testing.assert_array_equal(clone(model).fit(X).transform(X), codes)


def test_early_stopping(digits):
    X, _ = digits
    model = VAETransformer(early_stopping=True, n_iter_no_change=2, max_epochs=500, lr=1e-2,
                           random_state=0).fit(X)
    assert model.n_iter_ < 500
    stopper = dict(model.net_.callbacks_)["early_stopping"]
    assert model.n_iter_ - stopper.best_epoch_ == 2  # stopped after the patience ran out
    with pytest.raises(ValueError, match="validation_fraction"):
        VAETransformer(early_stopping=True, validation_fraction=0.0).fit(X)


def test_user_callbacks_run_and_stay_untouched(digits):
    X, _ = digits

    class CountEpochs(Callback):
        def initialize(self):
            self.epochs_ = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs_ += 1

    counter = CountEpochs()
    model = VAETransformer(max_epochs=3, callbacks=[counter], random_state=0).fit(X)
    assert not hasattr(counter, "epochs_")  # the estimator's params are never modified
    assert dict(model.net_.callbacks_)["CountEpochs"].epochs_ == 3


def test_callbacks_hear_every_batch_and_gradient(digits):
    X, _ = digits

    class CountBatches(Callback):
        def initialize(self):
            self.calls_ = {"on_batch_begin": 0, "on_grad_computed": 0, "on_batch_end": 0}
            self.largest_gradient_ = 0.0
            return self

        def on_batch_begin(self, net, **kwargs):
            self.calls_["on_batch_begin"] += 1

        def on_grad_computed(self, net, named_parameters, **kwargs):
            self.calls_["on_grad_computed"] += 1
            norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for _, p in named_parameters]))
            self.largest_gradient_ = max(self.largest_gradient_, float(norm))

        def on_batch_end(self, net, **kwargs):
            self.calls_["on_batch_end"] += 1

    model = VAETransformer(max_epochs=2, batch_size=300, validation_fraction=0.1, callbacks=[CountBatches()],
                           random_state=0).fit(X)
    counter = dict(model.net_.callbacks_)["CountBatches"]
    # 540 training rows in 2 batches and 60 validation rows in 1, each epoch
    assert counter.calls_ == {"on_batch_begin": 6, "on_grad_computed": 4, "on_batch_end": 6}
    assert sum(len(epoch["batches"]) for epoch in model.history_) == 6
    assert counter.largest_gradient_ > 1e-2
    # skorch's gradient clipping acts in on_grad_computed, before the callbacks after it
    clipped = VAETransformer(max_epochs=1, callbacks=[GradientNormClipping(1e-6), CountBatches()]).fit(X)
    assert 0 < dict(clipped.net_.callbacks_)["CountBatches"].largest_gradient_ <= 1.01e-6


def test_verbose_shows_progress(digits, capsys):
    X, _ = digits
    VAETransformer(max_epochs=2, verbose=0).fit(X)
    assert capsys.readouterr() == ("", "")
    VAETransformer(max_epochs=2, verbose=1).fit(X)
    assert "2/2" in capsys.readouterr().err
    VAETransformer(max_epochs=2, verbose=2).fit(X)
    assert "train_loss" in capsys.readouterr().out


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_gpu_says_what_to_do(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="finds no CUDA GPU. Use device='cpu'"):
        VAETransformer(device="cuda").fit(X)
    with pytest.raises(ValueError, match="is not a torch device"):
        VAETransformer(device="gpu0").fit(X)


def test_kl_per_dimension_tells_the_used_dimensions_from_the_collapsed(digits):
    X, _ = digits
    used = VAETransformer(n_components=6, batch_size=32, **dict(FAST, max_epochs=30)).fit(X)
    kl = used.kl_per_dimension(X)
    mean, std = used.transform(X, return_std=True)
    # the KL of the posteriors that transform returns, dimension by dimension
    np.testing.assert_allclose(kl, (0.5 * (mean**2 + std**2 - 1 - 2 * np.log(std))).mean(0), rtol=1e-3, atol=1e-5)
    assert kl.shape == (6,) and kl.max() > 0.1
    # a KL weight far above 1 pushes every posterior onto the prior: no dimension carries anything
    collapsed = BetaVAETransformer(beta=100.0, n_components=6, **FAST).fit(X)
    assert (collapsed.kl_per_dimension(X) < 0.01).all()
    codes, spread = collapsed.transform(X, return_std=True)
    assert np.abs(codes).max() < 0.25 and spread.min() > 0.9  # every posterior is about N(0, 1)


def test_kl_per_dimension_exists_only_for_a_factorised_prior():
    from skvae import ConditionalVAETransformer, GaussianMixtureVAE, VQVAETransformer

    assert hasattr(VAETransformer(), "kl_per_dimension") and hasattr(ConditionalVAETransformer(), "kl_per_dimension")
    for model in (AutoencoderTransformer(), VQVAETransformer(), GaussianMixtureVAE()):
        assert not hasattr(model, "kl_per_dimension")


def test_the_gmm_sampler_draws_where_the_training_codes_are(digits, tmp_path):
    from sklearn.base import clone

    import skvae
    from skvae.metrics import frechet_distance

    X, _ = digits
    prior = VAETransformer(n_components=4, hidden_layer_sizes=(32,), max_epochs=15, random_state=0).fit(X)
    gmm = clone(prior).set_params(sampler="gmm").fit(X)
    assert "latent_density_" not in vars(prior) and gmm.latent_density_.n_components == 10
    np.testing.assert_array_equal(gmm.transform(X), prior.transform(X))  # the same training
    np.testing.assert_array_equal(gmm.sample(5, random_state=0), gmm.sample(5, random_state=0))
    # it draws codes distributed as the training codes are, which N(0, I) is not
    rng = np.random.RandomState(1)
    training_codes = gmm.transform(X)
    from_mixture = frechet_distance(training_codes, gmm.prior_.sample(600, rng))
    from_prior = frechet_distance(training_codes, prior.prior_.sample(600, rng))
    assert from_mixture < 0.2 * from_prior
    # part of the saved model
    gmm.save(tmp_path / "gmm.skvae")
    loaded = skvae.load(tmp_path / "gmm.skvae")
    np.testing.assert_array_equal(loaded.sample(5, random_state=0), gmm.sample(5, random_state=0))
    with pytest.raises(ValueError, match='fitted with sampler="prior"'):
        prior.set_params(sampler="gmm").sample(3)
