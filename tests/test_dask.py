"""skvae estimators on a dask.distributed cluster: grid search, incremental fits, batched inference."""

import dask.array as da
import joblib
import numpy as np
import pytest
import torch
from dask_ml.wrappers import Incremental, ParallelPostFit
from distributed import Client, LocalCluster, get_task_stream
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from skvae import AutoencoderTransformer, VAETransformer

SMALL = dict(hidden_layer_sizes=(16,), max_epochs=3, batch_size=32, random_state=0)


@pytest.fixture(scope="module")
def client():
    # worker processes, as on a real cluster: models and data travel pickled
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            yield client


@pytest.fixture(scope="module")
def X():
    return (load_digits().data[:400] / 16).astype(np.float32)


def test_grid_search_on_the_cluster_scores_as_the_local_one(client, X):
    def search():
        grid = {"n_components": [2, 4], "lr": [1e-3, 3e-3]}
        return GridSearchCV(VAETransformer(**SMALL), grid, cv=2).fit(X)

    # Dask workers compute with one thread (OMP_NUM_THREADS=1); so does the local run,
    # for float32 sums that round alike
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        local = search()
    finally:
        torch.set_num_threads(threads)
    with get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
        remote = search()
    assert len({task["worker"] for task in tasks.data}) == 2  # the fits ran on both workers
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        np.testing.assert_allclose(remote.cv_results_[key], local.cv_results_[key], rtol=1e-6)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(remote.best_estimator_.transform(X), local.best_estimator_.transform(X), rtol=1e-5)


def test_incremental_fits_block_by_block_as_partial_fit_does(client, X):
    blocks = da.from_array(X, chunks=(100, X.shape[1]))
    remote = Incremental(AutoencoderTransformer(**SMALL), shuffle_blocks=False).fit(blocks).estimator_
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        local = AutoencoderTransformer(**SMALL)
        for start in range(0, len(X), 100):
            local.partial_fit(X[start : start + 100])
    finally:
        torch.set_num_threads(threads)
    assert remote.n_iter_ == local.n_iter_ == 4  # one epoch a block
    assert remote.history_[:, "train_loss"] == pytest.approx(local.history_[:, "train_loss"], rel=1e-6)
    np.testing.assert_allclose(remote.transform(X), local.transform(X), rtol=1e-5, atol=1e-6)


def test_transform_and_score_samples_of_a_dask_array_run_block_by_block(client, X):
    vae = VAETransformer(n_components=3, **SMALL).fit(X)
    blocks = da.from_array(X, chunks=(150, X.shape[1]))
    codes = ParallelPostFit(vae).transform(blocks)
    scores = blocks.map_blocks(vae.score_samples, drop_axis=1, dtype=np.float64)
    assert isinstance(codes, da.Array)
    codes, scores = client.compute([codes, scores], sync=True)
    np.testing.assert_allclose(codes, vae.transform(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scores, vae.score_samples(X), rtol=1e-5)
