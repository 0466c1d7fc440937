"""Model files and pickles written by an earlier skvae still load and give what the model gave when it was saved."""

from pathlib import Path

import joblib
import numpy as np
import pytest
import torch

import skvae
from golden.make_golden import (
    GOLDEN_THREADS,
    MLP,
    PLAIN,
    TRAINED,
    data,
    fit_golden,
    machine_record_path,
    models,
    outputs,
    resume_checkpoint,
)

GOLDEN = Path(__file__).parent / "golden"
TRUSTED = {
    "custom-architecture": ["golden_parts.Encoder", "golden_parts.Decoder"],
    "callbacks": ["golden_parts.CountEpochs"],
}


@pytest.fixture(scope="module")
def expected():
    with np.load(GOLDEN / "outputs.npz") as saved:
        return dict(saved)


@pytest.fixture(scope="module")
def exact():
    """The bits this machine gave when its record was made, or None: a machine without a record."""
    path = machine_record_path()
    if not path.exists():
        return None
    with np.load(path) as saved:
        return dict(saved)


def check_outputs(name, got, expected, exact):
    """``got`` is what the file gave when saved, to float32 rounding, and bit for bit what this machine gave before."""
    for key, value in got.items():
        np.testing.assert_allclose(value, expected[f"{name}/{key}"], rtol=1e-4, atol=1e-5, err_msg=key)
        if exact is not None:
            np.testing.assert_array_equal(value, exact[f"{name}/{key}"], err_msg=key)


def check_loaded(name, model, expected, exact):
    X, y = data()
    got = outputs(name, model, X[:40], y[:40])
    assert sorted(got) == sorted(key.split("/")[1] for key in expected if key.startswith(f"{name}/"))
    check_outputs(name, got, expected, exact)


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("*.skvae")))
def test_a_golden_file_gives_the_outputs_it_was_saved_with(name, expected, exact):
    check_loaded(name, skvae.load(GOLDEN / f"{name}.skvae", trusted=TRUSTED.get(name, False)), expected, exact)


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("*.joblib")))
def test_a_golden_pickle_gives_the_outputs_it_was_saved_with(name, expected, exact):
    check_loaded(name, joblib.load(GOLDEN / f"{name}.joblib"), expected, exact)  # our own pickles: trusted


def test_a_golden_checkpoint_trains_on_as_if_never_stopped(exact):
    resumed = resume_checkpoint()
    # the file holds the validation_fraction of its time (0.1, the default then)
    params = {**MLP, **PLAIN, "max_epochs": 3, "validation_fraction": resumed.validation_fraction}
    straight = skvae.VAETransformer(n_components=3, n_jobs=GOLDEN_THREADS, **params).fit(data()[0])
    assert resumed.n_iter_ == 3
    for name, weight in straight.net_.module_.state_dict().items():
        # the file's first epochs ran on another machine's kernels: the same to rounding
        torch.testing.assert_close(resumed.net_.module_.state_dict()[name], weight, msg=name)
        if exact is not None:
            np.testing.assert_array_equal(resumed.net_.module_.state_dict()[name].numpy(), exact[f"resume:{name}"])


def test_golden_files_name_only_the_users_own_code():
    for path in GOLDEN.glob("*.skvae"):
        assert skvae.get_untrusted_types(path) == sorted(TRUSTED.get(path.stem, [])), path.stem


@pytest.mark.parametrize("name", TRAINED)
def test_training_today_gives_the_golden_models(name, exact):
    """Refactors keep training itself: the same fit gives the bits this machine's fit gave when recorded."""
    if exact is None:
        pytest.skip(f"no record of this machine's bits ({machine_record_path().name}): training is exact only there")
    X, y = data()
    model = fit_golden(name, models()[name])
    for key, value in outputs(name, model, X[:40], y[:40]).items():
        np.testing.assert_array_equal(value, exact[f"fit:{name}/{key}"], err_msg=key)


def test_a_pickle_from_before_a_parameter_existed_takes_its_default():
    # vae-mlp.joblib was written before n_jobs (issue 26) and sampler (issue 28) existed
    model = joblib.load(GOLDEN / "vae-mlp.joblib")
    params = model.get_params()
    assert params["n_jobs"] is None and params["sampler"] == "prior"
    # and neighbor_weight and placement (issue 27), whose defaults became "auto" later, what it did then
    assert params["neighbor_weight"] == 0.0 and params["placement"] == "encoder"
    assert skvae.VAETransformer(**params).get_params() == params  # clone-able, as any estimator


@pytest.mark.parametrize("suffix", [".joblib", ".skvae"])
def test_a_mixture_saved_before_pretrain_moves_existed_loads_with_none_what_it_did(suffix):
    # gmvae-conv was written before pretrain_moves (issue 27, fourteenth session) existed
    path = GOLDEN / f"gmvae-conv{suffix}"
    model = joblib.load(path) if suffix == ".joblib" else skvae.load(path)
    assert model.get_params()["pretrain_moves"] is None
    assert skvae.GaussianMixtureVAE().pretrain_moves == "auto"  # what a new model gets
