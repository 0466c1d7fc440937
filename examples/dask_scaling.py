"""
skvae on a Dask cluster
=======================

Grid search, incremental training and batched inference on a Dask cluster.

    python examples/dask_scaling.py                  # starts a LocalCluster of 2 workers
    python examples/dask_scaling.py --scheduler tcp://host:8786   # or joins your cluster

Needs ``pip install "skvae[dask]"`` (dask.distributed and dask-ml). Three things:

1. ``GridSearchCV`` runs its fits on the workers through joblib's Dask backend:
   nothing changes but the ``with joblib.parallel_backend("dask")`` around it.
   Each fit is an ordinary skvae fit; with the same ``random_state`` the scores
   equal those of a local search.
2. ``dask_ml.wrappers.Incremental`` trains on a Dask array one block at a time
   with :meth:`partial_fit` (one epoch per block), so the array never has to fit
   in one process's memory. The model travels from worker to worker pickled,
   optimizer state included.
3. ``dask_ml.wrappers.ParallelPostFit`` (or ``map_blocks``) encodes and scores a
   Dask array block by block on the workers.

A model fitted on a GPU worker unpickles on a CPU-only client: its network is
mapped to the CPU and its ``device`` parameter set to "cpu", with one warning.
"""

import argparse
import time

import dask.array as da
import joblib
import numpy as np
from dask_ml.wrappers import Incremental, ParallelPostFit
from distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split

from skvae import VAETransformer


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--scheduler", help="address of a running Dask scheduler (default: a LocalCluster)")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster workers")
    args = parser.parse_args(argv)

    if args.scheduler:
        client = Client(args.scheduler)
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
    print(f"Dask cluster: {len(client.scheduler_info()['workers'])} workers")

    X = (load_digits().data / 16).astype(np.float32)
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)

    # 1. Grid search: the fits run on the workers.
    grid = {"n_components": [2, 4, 8], "kl_warmup_epochs": [0, 10]}
    search = GridSearchCV(VAETransformer(max_epochs=30, random_state=0), grid, cv=3)
    start = time.perf_counter()
    with joblib.parallel_backend("dask"):
        search.fit(X_train)
    print(f"grid search: {len(search.cv_results_['params'])} candidates x 3 folds in "
          f"{time.perf_counter() - start:.1f} s; best {search.best_params_}, "
          f"ELBO per row {search.best_score_:.2f}")

    # 2. Incremental training on a Dask array, one block (one epoch) at a time.
    blocks = da.from_array(X_train, chunks=(300, X.shape[1]))
    incremental = Incremental(VAETransformer(n_components=8, random_state=0), shuffle_blocks=False)
    for _ in range(10):  # ten passes over the blocks
        incremental.partial_fit(blocks)
    vae = incremental.estimator_
    print(f"incremental: {vae.n_iter_} partial_fit calls over {blocks.numblocks[0]} blocks; "
          f"test ELBO per row {vae.score(X_test):.2f}")

    # 3. Batched inference of a Dask array on the workers.
    test_blocks = da.from_array(X_test, chunks=(100, X.shape[1]))
    codes = ParallelPostFit(search.best_estimator_).transform(test_blocks)
    scores = test_blocks.map_blocks(search.best_estimator_.score_samples, drop_axis=1, dtype=np.float64)
    codes, scores = client.compute([codes, scores], sync=True)
    print(f"encoded {codes.shape[0]} rows to {codes.shape[1]} dimensions on the workers; "
          f"mean log-likelihood bound {scores.mean():.2f}")
    client.close()


if __name__ == "__main__":
    main()
