"""The README's code runs as a reader runs it: pasted into a script, in a new Python process.

The blocks read as one session, top to bottom (later blocks use ``X01`` and
the imports of the first), so they run as one script. A block that is a script
of its own (it has ``if __name__ == "__main__":``, as a Dask ``LocalCluster``
needs, since its workers import the script) runs alone. Run with ``exec``, an
unguarded ``LocalCluster`` block passed here and failed for readers.
"""

import re
import subprocess
import sys
from pathlib import Path

import skvae

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
MAIN_GUARD = 'if __name__ == "__main__":'

# What each part of the session must have made, checked at the end of its script.
SESSION_CHECKS = """
from sklearn.metrics import roc_auc_score
assert codes.shape == (1797, 8)
assert reconstructed.shape == (1797, 64)
assert search.best_params_["n_components"] in (2, 8)
assert new_images.shape == (4, 8, 8)
assert len(set(clusters)) == 10
assert tuned.best_score_ > 0.8
assert set(flags) == {-1, 1}
assert roc_auc_score(y != 0, normality) > 0.9
assert sevens.shape == (8, 64) and as_nines.shape == (3, 64)
assert tokens.shape == (1797, 4) and perplexity > 16
assert iwae > elbo
assert vae.n_iter_ == 40 and resumed.n_iter_ == 20
assert streamed.input_scale_ == 255 and chunked.n_iter_ == 20
assert sparse_codes.shape == (1797, 8) and np.isfinite(sparse_codes).all()
print("README session: every check held")
"""
DASK_CHECKS = f"""
{MAIN_GUARD}
    assert on_cluster.best_params_["n_components"] in (2, 8)
    assert incremental.estimator_.n_iter_ == 3
    assert dask_codes.shape == (1797, on_cluster.best_params_["n_components"])
    print("README Dask script: every check held")
"""


def run_as_script(code, tmp_path, name):
    script = tmp_path / name
    script.write_text(code)
    done = subprocess.run([sys.executable, script.name], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"{name} failed:\n{done.stderr[-4000:]}"
    return done.stdout


def test_the_readme_blocks_run_as_one_script(tmp_path):
    session = [block for block in BLOCKS if MAIN_GUARD not in block]
    assert len(session) >= 6, "the README lost its code blocks"
    printed = run_as_script("\n".join(session) + SESSION_CHECKS, tmp_path, "readme_session.py")
    assert "README session: every check held" in printed
    for path in ("manifold.png", "vae.skvae", "run.skvae"):  # figures and files the blocks save
        assert (tmp_path / path).is_file(), path


def test_the_readme_dask_block_runs_as_a_script_of_its_own(tmp_path):
    (dask_block,) = [block for block in BLOCKS if "LocalCluster" in block]
    assert MAIN_GUARD in dask_block  # without it the cluster's workers fail to start
    printed = run_as_script(dask_block + DASK_CHECKS, tmp_path, "readme_dask.py")
    assert "README Dask script: every check held" in printed


def test_a_clone_called_skvae_beside_the_working_folder_does_not_hide_the_package(tmp_path):
    clone = tmp_path / "skvae"  # what `git clone .../skvae` makes; its code is under src/
    (clone / "src" / "skvae").mkdir(parents=True)
    (clone / "README.md").write_text("a clone of skvae")
    # where a new Python in the parent folder finds the package (without importing it)
    result = subprocess.run(
        [sys.executable, "-c", "import importlib.util; print(importlib.util.find_spec('skvae').origin)"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == Path(skvae.__file__)  # not the clone: a namespace package has none
