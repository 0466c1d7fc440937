"""Shared test setup: figures render off screen."""

import matplotlib

matplotlib.use("Agg")


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


def pytest_collection_modifyitems(config, items):
    def rank(item):
        path = item.nodeid.split("::")[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the rest keep their order
