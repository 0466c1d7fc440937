"""placement="neighbors" at fit: the training rows' codes laid out as UMAP lays out its map.

:func:`lay_out` moves the network's codes with UMAP's layout optimisation
(``umap.layouts.optimize_layout_euclidean`` with both ends of each edge
moving, as ``UMAP.fit`` runs it) on the graph the neighbourhood term trained
with. The loop is umap-learn's, written again here and compiled with numba's
disk cache: importing umap-learn and compiling its loop took about 2 s on the
first fit in every Python process (each worker of a grid search), and loading
this one from the cache takes a fraction of that. It gives umap-learn's
layout bit for bit: the same edge schedule, random numbers (umap-learn's
Tausworthe generator, seeded per row as umap-learn seeds it), float32
distances and float64 gradients, in the same order.
"""

import functools

import numpy as np
import scipy.sparse as sp

from ._neighbors import CODE_SCALE, CURVE_A, CURVE_B, NEGATIVES_PER_POSITIVE

# Epochs of the layout, as many as UMAP's fit takes: 500 up to LAYOUT_SMALL_ROWS
# rows, 200 above. On 10,000 Fashion-MNIST images the placed map went from 0.699
# to 0.733 5-NN accuracy (200 epochs: 0.731; UMAP 0.737), on the digits from
# 0.953 to 0.961 (200: 0.958).
LAYOUT_EPOCHS = (500, 200)
LAYOUT_SMALL_ROWS = 10_000


def lay_out(graph, codes, seed=0, n_epochs=None):
    """``codes`` moved as UMAP lays out its map of ``graph``, starting where they are.

    UMAP's layout optimisation (umap-learn's ``optimize_layout_euclidean``,
    both ends of each edge moving, as in ``UMAP.fit``), on the codes times
    ``CODE_SCALE`` with the term's curve, for ``n_epochs`` epochs (None: as
    many as UMAP's fit, ``LAYOUT_EPOCHS``); edges too weak to be sampled once
    in ``n_epochs`` are dropped, as UMAP drops them. Rows without edges
    (validation rows) stay where they are.

    Returns
    -------
    layout : ndarray of shape codes.shape, float32
    """
    if n_epochs is None:
        n_epochs = LAYOUT_EPOCHS[graph.shape[0] > LAYOUT_SMALL_ROWS]
    graph = sp.coo_matrix(graph, dtype=np.float32, copy=True)
    layout = np.ascontiguousarray(codes, dtype=np.float32) * np.float32(CODE_SCALE)
    if graph.nnz:
        graph.data[graph.data < graph.data.max() / float(n_epochs)] = 0.0
        graph.eliminate_zeros()
        int32 = np.iinfo(np.int32)
        seeds = np.random.RandomState(seed).randint(int32.min + 1, int32.max - 1, 3).astype(np.int64)
        # umap-learn's seeds per row: the run's three, plus the bits of the row's first coordinate
        # (int64 additions that wrap, as numpy's do)
        with np.errstate(over="ignore"):
            states = np.full((len(layout), 3), seeds, np.int64) + layout[:, :1].astype(np.float64).view(np.int64)
        # an edge is sampled every epochs_per_sample epochs, in float64 of float32 weights (umap-learn's
        # make_epochs_per_sample); the learning rate falls linearly, computed here as umap-learn does
        # (fast-math division in the compiled loop rounded some epochs' rates differently)
        samples = n_epochs * (graph.data / graph.data.max())
        epochs_per_sample = np.full(graph.nnz, -1.0)
        epochs_per_sample[samples > 0] = float(n_epochs) / np.float64(samples[samples > 0])
        rates = np.array([1.0] + [1.0 - float(n) / float(n_epochs) for n in range(n_epochs - 1)])
        _compiled()(
            layout, graph.row.astype(np.int32), graph.col.astype(np.int32), epochs_per_sample, rates,
            CURVE_A, CURVE_B, float(NEGATIVES_PER_POSITIVE), states,
        )
    return layout / np.float32(CODE_SCALE)


def _random_int(state):
    """umap-learn's ``tau_rand_int``: the next int32 of a Tausworthe generator with ``state`` (3 int64s)."""
    state[0] = (((state[0] & 4294967294) << 12) & 0xFFFFFFFF) ^ ((((state[0] << 13) & 0xFFFFFFFF) ^ state[0]) >> 19)
    state[1] = (((state[1] & 4294967288) << 4) & 0xFFFFFFFF) ^ ((((state[1] << 2) & 0xFFFFFFFF) ^ state[1]) >> 25)
    state[2] = (((state[2] & 4294967280) << 17) & 0xFFFFFFFF) ^ ((((state[2] << 3) & 0xFFFFFFFF) ^ state[2]) >> 11)
    return state[0] ^ state[1] ^ state[2]


@functools.cache
def _compiled():
    """:func:`_optimize`, compiled by numba on the first layout in a process (once: numba caches it on disk)."""
    import numba

    global _random_int
    _random_int = numba.njit("i4(i8[:])", cache=True)(_random_int)
    return numba.njit(cache=True, fastmath=True)(_optimize)


def _optimize(layout, head, tail, epochs_per_sample, rates, a, b, per_positive, states):
    """umap-learn's ``optimize_layout_euclidean`` with ``move_other=True``, in place on ``layout``.

    Each epoch visits the edges in order: an edge whose turn it is pulls
    both its ends together, then pushes its head away from random rows (as
    many as it is owed, ``per_positive`` per sample), with UMAP's gradient
    clipping at 4 and learning rate ``rates[epoch]``.
    """
    n_vertices, dim = layout.shape
    epochs_per_negative = epochs_per_sample / per_positive
    next_negative = epochs_per_negative.copy()
    next_sample = epochs_per_sample.copy()
    for epoch in range(rates.shape[0]):
        alpha = rates[epoch]
        for i in range(epochs_per_sample.shape[0]):
            if next_sample[i] > epoch:
                continue
            j, k = head[i], tail[i]
            d2 = np.float32(0.0)
            for d in range(dim):
                diff = np.float32(layout[j, d] - layout[k, d])
                d2 += diff * diff
            coeff = 0.0
            if d2 > 0.0:
                coeff = -2.0 * a * b * pow(d2, b - 1.0)
                coeff /= a * pow(d2, b) + 1.0
            for d in range(dim):
                grad = min(max(coeff * (layout[j, d] - layout[k, d]), -4.0), 4.0)
                layout[j, d] += grad * alpha
                layout[k, d] += -grad * alpha
            next_sample[i] += epochs_per_sample[i]
            n_negative = int((epoch - next_negative[i]) / epochs_per_negative[i])
            for _ in range(n_negative):
                k = _random_int(states[j]) % n_vertices
                d2 = np.float32(0.0)
                for d in range(dim):
                    diff = np.float32(layout[j, d] - layout[k, d])
                    d2 += diff * diff
                if d2 > 0.0:
                    coeff = 2.0 * b
                    coeff /= (0.001 + d2) * (a * pow(d2, b) + 1)
                elif j == k:
                    continue
                else:
                    coeff = 0.0
                if coeff > 0.0:
                    for d in range(dim):
                        layout[j, d] += min(max(coeff * (layout[j, d] - layout[k, d]), -4.0), 4.0) * alpha
            next_negative[i] += n_negative * epochs_per_negative[i]
