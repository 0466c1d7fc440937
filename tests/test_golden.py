"""Model files and pickles written by an earlier skvae still load and give what the model gave when it was saved."""

from pathlib import Path

import joblib
import numpy as np
import pytest
import torch

import skvae
from golden.make_golden import MLP, PLAIN, data, models, outputs

GOLDEN = Path(__file__).parent / "golden"
TRUSTED = {
    "custom-architecture": ["golden_parts.Encoder", "golden_parts.Decoder"],
    "callbacks": ["golden_parts.CountEpochs"],
}


@pytest.fixture(scope="module")
def expected():
    with np.load(GOLDEN / "outputs.npz") as saved:
        return dict(saved)


def same_machine(expected, output=None, name=None):
    """Bit-identical results are promised on the machine (torch build, CPU kernels) a model was saved on.

    ``machine/<output>`` names another machine for an output recorded again
    later (``score_samples``, whose estimate issue 26 changed on purpose), and
    ``machine/<name>`` the machine of a model added later (all its outputs).
    """
    recorded = expected.get(f"machine/{name}", expected.get(f"machine/{output}", expected["machine"]))
    return str(recorded) == f"{torch.__version__} {torch.backends.cpu.get_cpu_capability()}"


def check_outputs(name, got, expected):
    for key, value in got.items():
        if same_machine(expected, key, name):
            np.testing.assert_array_equal(value, expected[f"{name}/{key}"], err_msg=key)
        else:
            np.testing.assert_allclose(value, expected[f"{name}/{key}"], rtol=1e-4, atol=1e-5, err_msg=key)


def check_loaded(name, model, expected):
    X, y = data()
    got = outputs(name, model, X[:40], y[:40])
    assert sorted(got) == sorted(key.split("/")[1] for key in expected if key.startswith(f"{name}/"))
    check_outputs(name, got, expected)


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("*.skvae")))
def test_a_golden_file_gives_the_outputs_it_was_saved_with(name, expected):
    check_loaded(name, skvae.load(GOLDEN / f"{name}.skvae", trusted=TRUSTED.get(name, False)), expected)


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("*.joblib")))
def test_a_golden_pickle_gives_the_outputs_it_was_saved_with(name, expected):
    check_loaded(name, joblib.load(GOLDEN / f"{name}.joblib"), expected)  # our own pickles: trusted


# torch threads the golden files were trained on (make_golden.py, on 2 idle cores, n_jobs=None): sums
# split over another number of threads round differently. Given as n_jobs, not as torch's setting,
# which n_jobs=None narrows to the cores other processes leave free (one, under pytest-xdist)
GOLDEN_THREADS = 2


def test_a_golden_checkpoint_trains_on_as_if_never_stopped(expected):
    resumed = skvae.load(GOLDEN / "vae-mlp.skvae")
    resumed.set_params(warm_start=True, max_epochs=1, n_jobs=GOLDEN_THREADS).fit(data()[0])
    # the file holds the validation_fraction of its time (0.1, the default then)
    params = {**MLP, **PLAIN, "max_epochs": 3, "validation_fraction": resumed.validation_fraction}
    straight = skvae.VAETransformer(n_components=3, n_jobs=GOLDEN_THREADS, **params).fit(data()[0])
    assert resumed.n_iter_ == 3
    exact = same_machine(expected, name="vae-mlp")  # the file's first epochs ran on other kernels elsewhere
    for name, weight in straight.net_.module_.state_dict().items():
        if exact:
            assert torch.equal(resumed.net_.module_.state_dict()[name], weight), name
        else:
            torch.testing.assert_close(resumed.net_.module_.state_dict()[name], weight, msg=name)


def test_golden_files_name_only_the_users_own_code():
    for path in GOLDEN.glob("*.skvae"):
        assert skvae.get_untrusted_types(path) == sorted(TRUSTED.get(path.stem, [])), path.stem


@pytest.mark.parametrize("name", ["vae-mlp", "ae-conv", "vqvae-mlp", "gmvae-mlp", "cvae-conv"])
def test_training_today_gives_the_golden_models(name, expected):
    """Refactors keep training itself: the same fit gives the recorded outputs, bit for bit."""
    # a model whose training changed on purpose is compared with today's fit, recorded apart
    recorded = f"refit:{name}" if f"machine/refit:{name}" in expected else name
    machine = expected.get(f"machine/{recorded}", expected["machine"])
    if str(machine) != f"{torch.__version__} {torch.backends.cpu.get_cpu_capability()}":
        pytest.skip(f"the outputs were recorded on {machine}: training is exact only there")
    X, y = data()
    model = models()[name]
    model.fit(X, y) if name.startswith("cvae") else model.fit(X)
    got = outputs(name, model, X[:40], y[:40])
    if recorded == name:
        check_outputs(name, got, expected)
    else:
        for key, value in got.items():
            np.testing.assert_array_equal(value, expected[f"{recorded}/{key}"], err_msg=key)


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
