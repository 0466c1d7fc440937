"""placement="neighbors": new rows placed among the training rows' laid-out codes, as UMAP's transform places them.

:func:`search_projection` is what wide training rows are kept and searched as;
:func:`place_rows` finds each new row's nearest training rows, weighs its
edges to them with UMAP's fuzzy membership strengths
(:func:`membership_strengths`) and moves it from the weighted mean of their
codes along those edges and away from random training codes, as
``UMAP.transform`` does. That optimisation is a compiled loop (numba, which
umap-learn brings), one row at a time: a row's code depends on that row
alone, not on the others placed with it.
"""

import functools
import math
import threading

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.neighbors import NearestNeighbors

from ._neighbors import CODE_SCALE, CURVE_A, CURVE_B, MIN_K_DIST_SCALE, N_NEIGHBORS, NEGATIVES_PER_POSITIVE, bandwidths

# placement="neighbors": epochs that move each new row (UMAP's transform runs
# 100 up to 10,000 rows and 30 above, which would make a row's code depend on
# how many rows are placed with it; with 100, at batch 32, the digits' placed
# map reached UMAP's, 0.960 5-NN accuracy against 0.954 with 30), UMAP's
# transform learning rate (a quarter of its fit's), negative samples per
# positive one, and negative draws per edge sample that a table holds.
# More epochs sample the weak edges and the negatives more evenly, and fewer
# negatives pay for them: 120 epochs with 3 negatives, against UMAP's 100
# with 5, raised MNIST-5k's held-out trustworthiness from 0.9444 to 0.9463
# (UMAP 0.9462) and the digits' from 0.9758 to 0.9769 (UMAP 0.9755), with
# 5-NN accuracy level, and placed 10,000 digits in 0.26 s instead of 0.30 s
# (benchmarks/README.md, "The 2-D map's placement", seeds 0-2).
PLACEMENT_EPOCHS = 120
PLACEMENT_RATE = 0.25
PLACEMENT_NEGATIVES = 3
_NEGATIVE_DRAWS = 2 * NEGATIVES_PER_POSITIVE
# the most that a model (a file) may ask placement for: its table of negative draws is epochs x
# neighbours x draws, allocated up front, and an edge is owed at most _NEGATIVE_DRAWS a sample
MAX_PLACEMENT_EPOCHS = 10_000
MAX_NEGATIVES = _NEGATIVE_DRAWS
# placement keeps rows wider than twice this many features as their first
# SEARCH_COMPONENTS principal components, and finds and weighs new rows'
# neighbours there (UMAP's search is approximate too). On 10,000 Fashion-MNIST
# images: 5-NN accuracy 0.697 and 0.705 (seeds 0, 1) against 0.703 and 0.702
# with the 784 pixels, a model file 16 times smaller, and a third of the time.
SEARCH_COMPONENTS = 50


def search_projection(rows, seed=0):
    """The projection (n_features, SEARCH_COMPONENTS) that placement keeps and searches ``rows`` in, or None.

    Their first principal axes, for dense rows wider than twice
    ``SEARCH_COMPONENTS`` features; narrower rows gain little from it, and
    sparse ones are kept whole. The rows are not centred first: a
    translation changes no distance.
    """
    from sklearn.decomposition import PCA

    if sp.issparse(rows) or rows.shape[1] <= 2 * SEARCH_COMPONENTS or rows.shape[0] <= SEARCH_COMPONENTS:
        return None
    pca = PCA(SEARCH_COMPONENTS, random_state=int(seed)).fit(rows)
    return np.ascontiguousarray(pca.components_.T, dtype=np.float32)


def place_rows(X, rows, codes, seed=0, n_neighbors=N_NEIGHBORS, n_epochs=PLACEMENT_EPOCHS,
               negative_sample_rate=PLACEMENT_NEGATIVES):
    """Codes of the rows of ``X`` placed among training ``rows`` with codes ``codes``, as UMAP's transform does.

    Each row starts at the mean of its nearest training rows' codes,
    weighted by UMAP's fuzzy membership strengths
    (:func:`membership_strengths`), then takes
    ``n_epochs`` epochs of UMAP's optimisation against the fixed training
    codes (``optimize_layout_euclidean`` with the training layout fixed):
    each edge pulls as often as its weight says, and repels from
    ``negative_sample_rate`` random training codes each time (at most
    ``2 * NEGATIVES_PER_POSITIVE``). One epoch's updates are applied at once, and the random
    training codes come from a table drawn from ``seed`` alone, indexed by
    the neighbour's rank: a row's code depends on that row only, not on the
    others placed with it or their order.

    The optimisation runs compiled (:func:`_place_rows`, and
    :func:`_place_rows_2d` for 2-D codes), on as many threads as torch uses
    (``OMP_NUM_THREADS``, ``torch.set_num_threads``).
    """
    k = min(n_neighbors, rows.shape[0])
    indices, distances = _nearest(X, rows, k)
    # float64: a row's code then rounds the same placed alone or among others (float32 sums did not)
    weights = membership_strengths(distances, k).astype(np.float64)
    weights[weights < 1 / n_epochs] = 0  # too weak to be sampled once (a weight is at most 1)
    layout = np.ascontiguousarray(codes, dtype=np.float64) * CODE_SCALE
    generator = torch.Generator().manual_seed(int(seed))
    negatives = torch.randint(len(layout), (n_epochs, k, _NEGATIVE_DRAWS), generator=generator).numpy()
    numba, place = _numba()
    # one placement at a time in a process: numba's "workqueue" threading layer (where OpenMP and
    # TBB are missing) aborts when two threads (a Dask worker's, joblib's) run parallel code at once
    with _ONE_AT_A_TIME:
        torch_threads = torch.get_num_threads()  # first: numba's first call launches its threads, setting libgomp's count
        threads = numba.get_num_threads()
        numba.set_num_threads(max(1, min(numba.config.NUMBA_NUM_THREADS, torch_threads)))
        try:
            placed = place(
                layout, indices.astype(np.int64), weights, negatives,
                PLACEMENT_RATE, CURVE_A, CURVE_B, float(negative_sample_rate),
            )
        finally:
            numba.set_num_threads(threads)
            # numba's OpenMP layer sets the count in the libgomp that torch shares: without this, a
            # placement left torch on numba's count (all the cores), whatever the user had set
            torch.set_num_threads(torch_threads)
    return placed / CODE_SCALE


def membership_strengths(distances, k, n_iter=64):
    """UMAP's fuzzy membership strengths of new rows' edges to their nearest training rows, row by row.

    What umap-learn's ``transform`` computes with ``smooth_knn_dist``
    (``local_connectivity=0``) and ``compute_membership_strengths``
    (``bipartite=True``): each row's bandwidth sigma is found by bisection so
    that ``sum_{j >= 1} exp(-d_j / sigma) = log2(k)`` (as umap-learn, the sum
    leaves out the nearest), and an edge weighs ``exp(-d / sigma)``, or 1 at
    distance 0. Written again with numpy, vectorised over rows, for two
    reasons: umap-learn's numba functions take seconds to compile on the
    first call in a process, which a one-row ``transform`` would pay; and
    its smallest bandwidth is a fraction of the mean distance
    of all the rows in the call, so a row's weights could depend on the
    others placed with it. Here that floor is the row's own mean distance.
    """
    d = np.asarray(distances, dtype=np.float64)
    sigma = bandwidths(d, np.zeros(len(d)), MIN_K_DIST_SCALE * d.mean(1), k, n_iter).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = np.where((d > 0) & (sigma[:, None] > 0), np.exp(-d / sigma[:, None]), 1.0)
    return weights.astype(np.float32)


# placement searches this many neighbours beyond the k it keeps, and keeps the k nearest by distances
# computed pair by pair: a search's distances round by how many rows it was given and how many
# threads it had, so its k-th neighbour could change at a near-tie with the rows placed alongside
# (a Dask worker placed 6 of 400 digits otherwise than the whole array did)
_SPARE_NEIGHBORS = 5


def _nearest(X, rows, k):
    """Each row of X's ``k`` nearest ``rows`` (indices, float32 distances, nearest first), whatever rows come with it."""
    spare = min(k + _SPARE_NEIGHBORS, rows.shape[0])
    indices = NearestNeighbors(n_neighbors=spare).fit(rows).kneighbors(X, return_distance=False)
    distances = _distances(X, rows, indices, batch_size=256)  # 256 x 20 neighbours x 784 pixels: 16 MB
    order = np.lexsort((indices, distances), axis=-1)[:, :k]  # by distance, then by index
    return np.take_along_axis(indices, order, 1), np.take_along_axis(distances, order, 1)


def _distances(X, rows, indices, batch_size):
    """Euclidean distances of each row of X to its neighbours ``indices`` among ``rows``, as float32.

    Computed pair by pair (a search's matrix products round by how many rows
    they were given), so that a row's distances do not depend on the rows
    placed with it.
    """
    out = np.empty(indices.shape, np.float32)
    for start in range(0, X.shape[0], batch_size):
        part = slice(start, start + batch_size)
        x, index = X[part], indices[part]
        if sp.issparse(X):
            x = x.toarray()
        neighbors = rows[index.ravel()]
        neighbors = neighbors.toarray() if sp.issparse(neighbors) else neighbors
        diff = x[:, None, :] - neighbors.reshape(*index.shape, -1)
        out[part] = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))  # a sum over each pair's own features
    return out


# the rows' loops of the placement kernels: numba's prange once _numba has imported numba (prange is
# range to Python), so that the compiled loops run their rows in parallel
_row_range = range
# numba's fast-math flags that leave comparisons with inf and NaN alone (an edge never sampled waits
# an infinite number of epochs); with the powers of distances taken in float32 the loop took 0.17 s
# instead of 0.25 s (at an early model's edges)
_FASTMATH = {"afn", "arcp", "contract", "nsz", "reassoc"}
_ONE_AT_A_TIME = threading.Lock()


@functools.cache
def _numba():
    """numba, imported on the first placement in a process, not on ``import skvae`` (it takes 0.2 s),
    and the placement kernel compiled by it (once: numba caches it on disk)."""
    import numba

    global _row_range, _start, _schedule, _pull, _push, _pushes_due
    _row_range = numba.prange  # the kernels' helpers, compiled into them (read as globals when they compile)
    inline = numba.njit(inline="always", fastmath=_FASTMATH)
    _start, _schedule, _pull, _push, _pushes_due = map(inline, (_start, _schedule, _pull, _push, _pushes_due))
    compile_ = numba.njit(parallel=True, cache=True, fastmath=_FASTMATH)
    any_dim, two_dim = compile_(_place_rows), compile_(_place_rows_2d)

    def place(layout, *args):
        return (two_dim if layout.shape[1] == 2 else any_dim)(layout, *args)

    return numba, place


def _start(layout, neighbors, weights):
    """Where a row starts: the mean of its neighbours' codes, weighted by its edges (equal where all weigh 0)."""
    total, code = weights.sum(), np.zeros(layout.shape[1])
    for j in range(len(neighbors)):
        code += (weights[j] / total if total > 0 else 1.0 / len(neighbors)) * layout[neighbors[j]]
    return code


def _schedule(weights, per_positive):
    """The sampling state of a row's edges: every how many epochs each is sampled (1 / its weight,
    never for a weight of 0), when each is next pulled, every how many epochs it is owed a push
    (``per_positive`` per sample), when next, and which were sampled this epoch."""
    every = np.full(len(weights), np.inf)
    for j in range(len(weights)):
        if weights[j] > 0:
            every[j] = 1.0 / weights[j]
    every_push = every / per_positive
    return every, every.copy(), every_push, every_push.copy(), np.zeros(len(weights), np.bool_)


def _pull(d2, a, b):
    """The factor of UMAP's attraction along an edge whose ends are ``d2`` apart (squared), before clipping."""
    if not d2 > 0:  # at distance 0 (or NaN), no force
        return 0.0
    power = float(np.float32(d2) ** np.float32(b))
    return -2.0 * a * b * power / (d2 * (a * power + 1.0))


def _push(d2, a, b):
    """The factor of UMAP's repulsion from a negative sample ``d2`` away (squared), before clipping."""
    if not d2 > 0:  # at distance 0 (or NaN), no force
        return 0.0
    return 2.0 * b / ((0.001 + d2) * (a * float(np.float32(d2) ** np.float32(b)) + 1.0))


def _pushes_due(epoch, j, next_push, every_push, draws):
    """How many negative samples edge ``j``, sampled at ``epoch``, is owed (at most ``draws``); books them."""
    count = min(max(math.floor((epoch - next_push[j]) / every_push[j]), 0), draws)
    next_push[j] += count * every_push[j]
    return count


def _place_rows(layout, indices, weights, negatives, rate, a, b, per_positive):
    """UMAP's transform optimisation of each row with neighbours ``indices`` (weights ``weights``) on ``layout``.

    Row by row (numba runs the rows in parallel): the row starts at the
    weighted mean of its neighbours' codes; each epoch samples the edges
    whose turn it is (an edge of weight w about every 1 / w epochs), sums
    their pulls and applies them at once, then sums and applies the pushes
    away from the draws of ``negatives[epoch, rank]`` that those edges are
    owed (``per_positive`` per sample), as umap-learn's
    ``optimize_layout_euclidean`` with the training layout fixed, with
    UMAP's gradient clipping at 4 and a learning rate falling linearly from
    ``rate``. :func:`_place_rows_2d` is the same loop for 2-D codes.
    """
    n, k = indices.shape
    dim = layout.shape[1]
    n_epochs, draws = negatives.shape[0], negatives.shape[2]
    out = np.empty((n, dim))
    for row in _row_range(n):
        code, step, diff = _start(layout, indices[row], weights[row]), np.zeros(dim), np.zeros(dim)
        every, next_pull, every_push, next_push, sampled = _schedule(weights[row], per_positive)
        for epoch in range(n_epochs):
            alpha = rate * (1.0 - epoch / n_epochs)
            step[:] = 0.0
            for j in range(k):
                sampled[j] = next_pull[j] <= epoch
                if sampled[j]:
                    d2 = 0.0
                    for c in range(dim):
                        diff[c] = code[c] - layout[indices[row, j], c]
                        d2 += diff[c] * diff[c]
                    pull = _pull(d2, a, b)
                    for c in range(dim):
                        step[c] += min(max(pull * diff[c], -4.0), 4.0) * alpha
            code += step
            step[:] = 0.0
            for j in range(k):
                if not sampled[j]:
                    continue
                next_pull[j] += every[j]
                for draw in range(_pushes_due(epoch, j, next_push, every_push, draws)):
                    other = negatives[epoch, j, draw]
                    d2 = 0.0
                    for c in range(dim):
                        diff[c] = code[c] - layout[other, c]
                        d2 += diff[c] * diff[c]
                    push = _push(d2, a, b)
                    for c in range(dim):
                        step[c] += min(max(push * diff[c], -4.0), 4.0) * alpha
            code += step
        out[row] = code
    return out


def _place_rows_2d(layout, indices, weights, negatives, rate, a, b, per_positive):
    """:func:`_place_rows` for 2-D codes, the common map: the code and its steps held as scalars.

    On 2 cores its loop places 10,000 digits of the default 2-D model in
    0.33 s, where :func:`_place_rows` takes 0.45 s, its arrays of a code
    and its steps kept in memory; the two agree to rounding (a test).
    """
    n, k = indices.shape
    n_epochs, draws = negatives.shape[0], negatives.shape[2]
    out = np.empty((n, 2))
    for row in _row_range(n):
        start = _start(layout, indices[row], weights[row])
        x, y = start[0], start[1]
        every, next_pull, every_push, next_push, sampled = _schedule(weights[row], per_positive)
        for epoch in range(n_epochs):
            alpha = rate * (1.0 - epoch / n_epochs)
            step_x = step_y = 0.0
            for j in range(k):
                sampled[j] = next_pull[j] <= epoch
                if sampled[j]:
                    dx, dy = x - layout[indices[row, j], 0], y - layout[indices[row, j], 1]
                    pull = _pull(dx * dx + dy * dy, a, b)
                    step_x += min(max(pull * dx, -4.0), 4.0) * alpha
                    step_y += min(max(pull * dy, -4.0), 4.0) * alpha
            x, y = x + step_x, y + step_y
            step_x = step_y = 0.0
            for j in range(k):
                if not sampled[j]:
                    continue
                next_pull[j] += every[j]
                for draw in range(_pushes_due(epoch, j, next_push, every_push, draws)):
                    other = negatives[epoch, j, draw]
                    dx, dy = x - layout[other, 0], y - layout[other, 1]
                    push = _push(dx * dx + dy * dy, a, b)
                    step_x += min(max(push * dx, -4.0), 4.0) * alpha
                    step_y += min(max(push * dy, -4.0), 4.0) * alpha
            x, y = x + step_x, y + step_y
        out[row, 0], out[row, 1] = x, y
    return out
