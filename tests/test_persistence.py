"""Keeping work safe: save/load, pickles, warm starts, checkpoints and interrupts."""

import pickle
import signal
import subprocess
import sys
import textwrap
from functools import partial

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback

import skvae
from golden_parts import Decoder, Encoder
from skvae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    BetaVAETransformer,
    ModelFileError,
    TrainingInterruptedWarning,
    VAETransformer,
)
from skvae.datasets import load_digits_images

# the plain models: with the neighbourhood term (2-D codes' default) a fit ends with a layout of its
# own, so two fits are not one long one (tests/test_neighbors.py tests its warm start)
FAST = dict(hidden_layer_sizes=(32,), max_epochs=4, random_state=0, neighbor_weight=0.0)


@pytest.fixture(scope="module")
def X():
    return load_digits().data[:400] / 16


def outputs(model, X):
    """Everything a loaded model must reproduce bit for bit."""
    codes = model.transform(X)
    return [codes, model.inverse_transform(codes), model.score_samples(X), model.sample(7, random_state=3)]


class InterruptAt(Callback):
    """Raise KeyboardInterrupt, as Ctrl-C would, in the middle of an epoch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


# ---------------------------------------------------------------- save / load


@pytest.mark.parametrize(
    "make",
    [
        lambda: VAETransformer(n_components=3, **FAST),
        lambda: AutoencoderTransformer(n_components=3, **FAST),  # its latent mixture is saved too
        lambda: BetaVAETransformer(n_components=2, architecture="conv", conv_channels=(4, 8), image_shape=(8, 8),
                                   optimizer="adamw", **FAST),
    ],
    ids=["vae", "ae", "beta-vae-conv"],
)
def test_save_load_gives_bit_identical_results(make, X, tmp_path):
    model = make().fit(X)
    path = model.save(tmp_path / "model.skvae")
    loaded = skvae.load(path)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    for got, expected in zip(outputs(loaded, X), outputs(model, X)):
        np.testing.assert_array_equal(got, expected)
    assert loaded.n_iter_ == 4 and loaded.history_[:, "train_loss"] == model.history_[:, "train_loss"]


def test_save_load_images_and_feature_names(tmp_path):
    import pandas as pd

    images, _ = load_digits_images()
    uint8 = (images[:300] * 255).astype(np.uint8)
    model = VAETransformer(architecture="conv", conv_channels=(4,), **FAST).fit(uint8)
    loaded = skvae.load(model.save(tmp_path / "images.skvae"))
    assert loaded.image_shape_ == (1, 8, 8) and loaded.input_scale_ == 255
    np.testing.assert_array_equal(loaded.as_images(loaded.sample(2, random_state=0)),
                                  model.as_images(model.sample(2, random_state=0)))
    frame = pd.DataFrame(images[:300].reshape(300, -1), columns=[f"px{i}" for i in range(64)])
    named = AutoencoderTransformer(**FAST).fit(frame)
    loaded = skvae.load(named.save(tmp_path / "named.skvae"))
    assert list(loaded.feature_names_in_) == list(frame.columns)
    np.testing.assert_array_equal(loaded.transform(frame), named.transform(frame))


def test_outlier_detector_saves_and_loads(X, tmp_path):
    detector = AutoencoderOutlierDetector(VAETransformer(n_components=4, **FAST), random_state=0).fit(X)
    loaded = skvae.load(detector.save(tmp_path / "detector.skvae"))
    noise = np.random.RandomState(0).uniform(size=(20, 64))
    data = np.concatenate([X, noise])
    np.testing.assert_array_equal(loaded.score_samples(data), detector.score_samples(data))
    assert loaded.offset_ == detector.offset_
    np.testing.assert_array_equal(loaded.predict(data), detector.predict(data))


def test_load_never_unpickles_and_runs_foreign_code_only_when_trusted(X, tmp_path, monkeypatch):
    model = VAETransformer(architecture=(partial(Encoder, width=8), Decoder), **FAST).fit(X)
    path = model.save(tmp_path / "custom.skvae")

    def refuse(*args, **kwargs):
        raise AssertionError("load unpickled something")

    for name in ("pickle.load", "pickle.loads", "pickle.Unpickler", "torch.load"):
        monkeypatch.setattr(name, refuse)
    with pytest.raises(ModelFileError, match=r"golden_parts.Encoder.*trusted=\["):
        skvae.load(path)
    loaded = skvae.load(path, trusted=["golden_parts.Encoder", "golden_parts.Decoder"])
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    np.testing.assert_array_equal(skvae.load(path, trusted=True).transform(X), model.transform(X))


def test_classes_without_an_import_path_are_refused_at_save(X, tmp_path):
    class LocalEncoder(Encoder):
        pass

    model = VAETransformer(architecture=(LocalEncoder, Decoder), **FAST).fit(X)
    with pytest.raises(TypeError, match="defined in a function.*pickle/joblib"):
        model.save(tmp_path / "local.skvae")
    assert not (tmp_path / "local.skvae").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_model_saved_for_a_gpu_loads_on_the_cpu(X, tmp_path):
    model = VAETransformer(**FAST).fit(X)
    path = model.set_params(device="cuda").save(tmp_path / "gpu.skvae")
    with pytest.warns(UserWarning, match="device='cuda', which this machine does not have"):
        loaded = skvae.load(path)
    assert loaded.device == "cpu" and loaded.net_.device == "cpu"
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))


def _rewrite(path, header_change):
    """A copy of an skvae file with its metadata changed, written as a valid safetensors file."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        metadata = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    header_change(metadata, tensors)
    out = path.with_name("changed.skvae")
    save_file(tensors, str(out), metadata=metadata)
    return out


def test_unreadable_files_get_clear_errors(X, tmp_path):
    path = VAETransformer(**FAST).fit(X).save(tmp_path / "good.skvae")
    raw = path.read_bytes()

    truncated = tmp_path / "truncated.skvae"
    truncated.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelFileError, match="is truncated.*use another copy"):
        skvae.load(truncated)
    short = tmp_path / "short.skvae"
    short.write_bytes(raw[:100])
    with pytest.raises(ModelFileError, match="is truncated"):
        skvae.load(short)

    corrupt = bytearray(raw)
    corrupt[-50] ^= 0xFF  # one flipped byte in a weight
    (tmp_path / "corrupt.skvae").write_bytes(bytes(corrupt))
    with pytest.raises(ModelFileError, match="corrupt.*checksum"):
        skvae.load(tmp_path / "corrupt.skvae")

    newer = _rewrite(path, lambda metadata, tensors: metadata.update(format_version="99", skvae_version="9.0"))
    with pytest.raises(ModelFileError, match="format version 99, written by skvae 9.0; this skvae reads version 1"):
        skvae.load(newer)

    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps(VAETransformer()))
    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(3)}, str(other))
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    for path in (pickled, other, text):
        with pytest.raises(ModelFileError, match="is not an skvae model file.*joblib.load"):
            skvae.load(path)


def test_a_failed_save_leaves_the_previous_file(X, tmp_path, monkeypatch):
    model = VAETransformer(**FAST).fit(X)
    path = model.save(tmp_path / "model.skvae")
    before = path.read_bytes()

    def broken_write(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("os.fsync", broken_write)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.skvae"]  # no temporary file left


# ----------------------------------------------------------------- pickles


def test_pickle_stores_each_weight_once(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(200, 784)).astype(np.float32)
    model = VAETransformer(max_epochs=1, random_state=0, neighbor_weight=0.0).fit(X)  # keeps no training rows
    weights = sum(t.numel() * t.element_size() for t in model.net_.module_.state_dict().values())
    restored = pickle.loads(pickle.dumps(model))
    assert restored.net_.module is restored.net_.module_
    np.testing.assert_array_equal(restored.transform(X), model.transform(X))
    # the weights once, plus Adam's two moment estimates per weight (so that warm_start goes on)
    assert len(pickle.dumps(model)) < 3.1 * weights
    assert model.save(tmp_path / "m.skvae").stat().st_size < 1.05 * weights
    assert model.save(tmp_path / "m.skvae", training_state=True).stat().st_size < 3.1 * weights


# ------------------------------------------------------- warm start, resume


@pytest.mark.parametrize("cls", [VAETransformer, AutoencoderTransformer])
def test_warm_start_equals_one_long_fit_bit_for_bit(cls, X):
    long = cls(**{**FAST, "max_epochs": 6}).fit(X)
    resumed = cls(**{**FAST, "max_epochs": 3}).fit(X)
    resumed.set_params(warm_start=True).fit(X)
    assert resumed.n_iter_ == 6 and len(resumed.history_) == 6
    assert resumed.history_[:, "epoch"] == list(range(1, 7))
    for name, weight in long.net_.module_.state_dict().items():
        assert torch.equal(resumed.net_.module_.state_dict()[name], weight), name
    # without warm_start, fit starts again
    assert cls(**{**FAST, "max_epochs": 3}).fit(X).set_params(warm_start=False).fit(X).n_iter_ == 3


def test_warm_start_refuses_a_changed_network_and_keeps_the_model(X):
    model = VAETransformer(n_components=3, **FAST).fit(X)
    codes = model.transform(X)
    with pytest.raises(ValueError, match="n_components, hidden_layer_sizes.*warm_start=False"):
        model.set_params(warm_start=True, n_components=5).fit(X)
    with pytest.raises(ValueError, match=r"reconstruction_loss_='bce' needs every value of X in \[0, 1\]"):
        model.set_params(n_components=3).fit(X * 16)
    np.testing.assert_array_equal(model.transform(X), codes)
    assert model.n_iter_ == 4


KILLED_FIT = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    from sklearn.datasets import load_digits
    from skorch.callbacks import Callback
    from skvae import {cls}

    class Die(Callback):  # the process dies as in a power cut: no cleanup, no handler
        def on_batch_end(self, net, **kwargs):
            if len(net.history) == 7:
                os.kill(os.getpid(), signal.SIGKILL)

    X = load_digits().data[:400] / 16
    {cls}(hidden_layer_sizes=(32,), max_epochs=10, random_state=0, neighbor_weight=0.0, checkpoint_path=sys.argv[1],
          checkpoint_every=5, callbacks=[Die()]).fit(X)
    """
)


@pytest.mark.parametrize("cls", [VAETransformer, AutoencoderTransformer])
def test_resume_after_the_process_was_killed_equals_the_uninterrupted_fit(cls, X, tmp_path):
    path = tmp_path / "checkpoint.skvae"
    script = tmp_path / "train.py"
    script.write_text(KILLED_FIT.format(cls=cls.__name__))
    done = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert "callbacks are not saved" in done.stderr  # Die lives in __main__: the file has no callbacks
    resumed = skvae.load(path)
    assert resumed.n_iter_ == 5 and resumed.callbacks == []
    if cls is AutoencoderTransformer:  # a checkpoint is a file write: the code density comes when fit ends
        with pytest.raises(NotFittedError, match="saved during training, at epoch 5.*warm_start=True"):
            resumed.sample(3)
    resumed.set_params(warm_start=True, max_epochs=5, checkpoint_path=None).fit(X)
    uninterrupted = cls(hidden_layer_sizes=(32,), max_epochs=10, random_state=0, neighbor_weight=0.0).fit(X)
    assert resumed.n_iter_ == 10
    for name, weight in uninterrupted.net_.module_.state_dict().items():
        assert torch.equal(resumed.net_.module_.state_dict()[name], weight), name
    np.testing.assert_array_equal(resumed.transform(X), uninterrupted.transform(X))
    np.testing.assert_array_equal(resumed.sample(3, random_state=0), uninterrupted.sample(3, random_state=0))


def test_checkpoint_holds_the_finished_model(X, tmp_path):
    path = tmp_path / "run.skvae"
    model = AutoencoderTransformer(**{**FAST, "checkpoint_path": str(path), "checkpoint_every": 3}).fit(X)
    loaded = skvae.load(path)
    assert loaded.n_iter_ == 4
    for got, expected in zip(outputs(loaded, X), outputs(model, X)):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_a_model_fitted_on_a_gpu_unpickles_on_the_cpu_with_one_warning(X):
    model = VAETransformer(**FAST).fit(X)
    codes = model.transform(X)
    model.device = model.net_.device = "cuda"  # as fitted on a GPU (a Dask worker's)
    with pytest.warns(UserWarning) as warned:
        moved = pickle.loads(pickle.dumps(model))
    assert len(warned) == 1 and "fitted with device='cuda'" in str(warned[0].message)
    assert moved.device == "cpu" and torch.device(moved.net_.device).type == "cpu"
    np.testing.assert_array_equal(moved.transform(X), codes)


def test_a_path_object_as_checkpoint_path_is_saved_as_a_path(X, tmp_path):
    path = tmp_path / "run.skvae"
    AutoencoderTransformer(**FAST, checkpoint_path=path).fit(X)
    assert skvae.load(path).checkpoint_path == path


# -------------------------------------------------------------- interrupts


def test_ctrl_c_propagates_and_keeps_the_last_finished_epoch(X, tmp_path):
    path = tmp_path / "run.skvae"
    model = VAETransformer(**{**FAST, "max_epochs": 10, "callbacks": [InterruptAt(3)], "checkpoint_path": str(path)})
    warning = pytest.warns(TrainingInterruptedWarning, match=r"epoch 3.*epoch 2.*warm_start=True")
    with pytest.raises(KeyboardInterrupt), warning:
        model.fit(X)
    assert model.n_iter_ == 2 and len(model.history_) == 2
    two_epochs = VAETransformer(**{**FAST, "max_epochs": 2}).fit(X)
    np.testing.assert_array_equal(model.transform(X), two_epochs.transform(X))  # epoch 2 exactly
    assert skvae.load(path, trusted=True).n_iter_ == 2  # the checkpoint has it (and the callback: trust)
    # and training goes on from there
    model.set_params(callbacks=None, warm_start=True, max_epochs=1).fit(X)
    assert model.n_iter_ == 3
    # exactly: the weights, the optimizer's state and the random state of epoch 2 came back
    # (each epoch's copy is written into the previous one's tensors)
    three_epochs = VAETransformer(**{**FAST, "max_epochs": 3}).fit(X)
    np.testing.assert_array_equal(model.transform(X), three_epochs.transform(X))


def test_ctrl_c_in_the_first_epoch_leaves_a_fitted_model_as_it_was(X):
    model = VAETransformer(**FAST).fit(X).set_params(callbacks=[InterruptAt(1)])
    before, codes = dict(vars(model)), model.transform(X)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X)
    assert vars(model).keys() == before.keys() and all(vars(model)[k] is before[k] for k in before)
    np.testing.assert_array_equal(model.transform(X), codes)


def test_ctrl_c_stops_a_grid_search(X):
    search = GridSearchCV(VAETransformer(**{**FAST, "callbacks": [InterruptAt(2)]}), {"n_components": [2, 3]}, cv=2)
    with pytest.raises(KeyboardInterrupt), pytest.warns(TrainingInterruptedWarning):
        search.fit(X)
    assert not hasattr(search, "best_estimator_")


def test_ctrl_c_keeps_a_usable_outlier_detector(X):
    detector = AutoencoderOutlierDetector(VAETransformer(**{**FAST, "max_epochs": 10, "callbacks": [InterruptAt(3)]}))
    with pytest.raises(KeyboardInterrupt), pytest.warns(TrainingInterruptedWarning):
        detector.fit(X)
    assert detector.estimator_.n_iter_ == 2
    assert detector.predict(X).shape == (len(X),)


def test_early_stopping_still_ends_fit_normally(X):
    model = VAETransformer(early_stopping=True, n_iter_no_change=2, max_epochs=300, lr=1e-2, random_state=0).fit(X)
    assert model.n_iter_ < 300
