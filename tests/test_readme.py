"""The README's quick-start runs as written."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

README = Path(__file__).resolve().parents[1] / "README.md"


def test_quick_start_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples save figures
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no python code block"
    namespace = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert namespace["codes"].shape == (1797, 8)
    assert namespace["reconstructed"].shape == (1797, 64)
    assert namespace["search"].best_params_["n_components"] in (2, 8)
    assert namespace["new_images"].shape == (4, 8, 8)
    assert (tmp_path / "manifold.png").is_file()
    assert len(set(namespace["clusters"])) == 10
    assert namespace["tuned"].best_params_ == {"vaetransformer__n_components": 10}
    assert set(namespace["flags"]) == {-1, 1}
    is_normal = namespace["y"] != 0
    assert roc_auc_score(is_normal, namespace["normality"]) > 0.9
    assert namespace["sevens"].shape == (8, 64) and namespace["as_nines"].shape == (3, 64)
    assert namespace["tokens"].shape == (1797, 4) and namespace["perplexity"] > 16
    assert namespace["iwae"] > namespace["elbo"]
    assert namespace["vae"].n_iter_ == 40 and namespace["resumed"].n_iter_ == 20
    assert (tmp_path / "vae.skvae").is_file() and (tmp_path / "run.skvae").is_file()
    assert namespace["streamed"].input_scale_ == 255 and namespace["chunked"].n_iter_ == 20
    assert namespace["sparse_codes"].shape == (1797, 8) and np.isfinite(namespace["sparse_codes"]).all()
    assert namespace["on_cluster"].best_params_["n_components"] in (2, 8)
    assert namespace["incremental"].estimator_.n_iter_ == 3
    assert namespace["dask_codes"].shape == (1797, namespace["on_cluster"].best_params_["n_components"])


def test_a_clone_called_skvae_beside_the_working_folder_does_not_hide_the_package(tmp_path):
    clone = tmp_path / "skvae"  # what `git clone .../skvae` makes; its code is under src/
    (clone / "src" / "skvae").mkdir(parents=True)
    (clone / "README.md").write_text("a clone of skvae")
    result = subprocess.run(
        [sys.executable, "-c", "from skvae import VAETransformer; print(VAETransformer.__module__)"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "skvae._estimators"
