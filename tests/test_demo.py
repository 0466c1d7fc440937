"""The main job, end to end: python -m skvae demo."""

import pytest
from PIL import Image

from skvae.__main__ import main

FIGURES = {"reconstructions", "samples", "interpolation", "latent_space", "traversal", "learning_curve",
           "latent_manifold"}


def test_demo_prints_metrics_and_writes_every_figure(tmp_path, capsys):
    assert main(["demo", "--epochs", "3", "--quiet", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    for metric in ("test ELBO", "reconstruction MSE", "KMeans-on-codes ARI"):
        assert metric in printed
    assert {p.stem for p in tmp_path.glob("*.png")} == FIGURES | {"kl_per_dimension"}
    for path in tmp_path.glob("*.png"):
        with Image.open(path) as image:
            assert image.size[0] > 100 and image.size[1] > 50


def test_demo_on_a_missing_data_set_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SKVAE_DATA", str(tmp_path))
    monkeypatch.setattr("skvae.datasets.SYSTEM_DATA_DIR", tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--data", "fashion-mnist", "--out", str(tmp_path)])
    assert exit_.value.code == 2
    assert "fashion-mnist was not found" in capsys.readouterr().err


@pytest.mark.parametrize(("model", "name", "extra", "score"), [
    ("cvae", "ConditionalVAETransformer", {"class_samples", "kl_per_dimension"}, "test ELBO"),
    ("vq-vae", "VQVAETransformer", set(), "test reconstruction log-likelihood"),
    ("ae", "AutoencoderTransformer", set(), "test reconstruction log-likelihood"),
])
def test_demo_of_each_model_names_what_its_score_is(model, name, extra, score, tmp_path, capsys):
    assert main(["demo", "--model", model, "--epochs", "2", "--quiet", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert name in printed and "Trained 2 epochs" in printed
    assert score in printed and ("test ELBO" in printed) == (score == "test ELBO")
    assert {p.stem for p in tmp_path.glob("*.png")} == FIGURES | extra


@pytest.mark.parametrize("epochs", ["0", "-3", "two"])
def test_demo_refuses_an_epoch_count_that_is_not_positive(epochs, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--epochs", epochs, "--out", str(tmp_path)])
    assert exit_.value.code == 2
    assert "--epochs: expected a positive integer" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing trained, nothing written


def test_version_names_skvae_and_the_libraries_it_runs_on(capsys):
    import skorch
    import sklearn
    import torch

    import skvae

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"skvae {skvae.__version__} (") and printed.count("\n") == 1  # one line
    for name, module in (("torch", torch), ("skorch", skorch), ("scikit-learn", sklearn)):
        assert f"{name} {module.__version__}" in printed
