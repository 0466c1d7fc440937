"""Shared test setup: figures render off screen; a fresh interpreter for what one process cannot show."""

import os
import subprocess
import sys

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")


@pytest.fixture
def run_python(tmp_path):
    """Run ``code`` in a fresh Python with ``env`` added to this environment; assert it succeeds, return stdout."""

    def run(code, **env):
        script = tmp_path / "script.py"
        script.write_text(code)
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                              env={**os.environ, **env})
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    return run


# `make test` hands whole files to its workers in collection order
# (--no-loadscope-reorder). The files that take longest go first, so that no
# worker is still running one of them long after the others are done.
LONGEST_FIRST = (
    "tests/test_readme.py",
    "tests/test_estimator_checks.py",
    "tests/test_outlier.py",
    "tests/test_estimators.py",
    "src/skvae/_gmvae.py",
    "tests/test_gmvae.py",
    "tests/test_dask.py",
    "tests/test_images.py",
    "tests/test_distributed.py",
    "tests/test_persistence.py",
)


@pytest.fixture
def ellipses():
    """``make(n, max_turn, side=16)``: ``n`` flat images of filled ellipses, each of its own size, up to a
    pixel off the centre, its long axis turned by up to ``max_turn`` degrees from the horizontal (uniform),
    and their turns in degrees."""

    def make(n, max_turn, side=16, seed=0):
        rng = np.random.default_rng(seed)
        ys, xs = np.mgrid[0:side, 0:side] + 0.5
        long = rng.uniform(4, 7, (n, 1, 1)) * side / 16
        short = long * 0.4
        turn = rng.uniform(-max_turn, max_turn, n)
        dx = xs - side / 2 - rng.uniform(-1, 1, (n, 1, 1))
        dy = ys - side / 2 - rng.uniform(-1, 1, (n, 1, 1))
        cos, sin = np.cos(np.radians(turn))[:, None, None], np.sin(np.radians(turn))[:, None, None]
        inside = ((cos * dx + sin * dy) / long) ** 2 + ((cos * dy - sin * dx) / short) ** 2 <= 1
        return inside.astype(np.float32).reshape(n, -1), turn

    return make


def pytest_collection_modifyitems(config, items):
    def rank(item):
        path = item.nodeid.split("::")[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the rest keep their order
