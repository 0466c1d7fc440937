"""The neighbourhood term: UMAP's edge cross-entropy between the training rows' neighbour graph and their codes.

Any skvae model can train with it (``neighbor_weight > 0``). The fuzzy k-NN
graph of the training rows is built once per fit as UMAP builds it
(:func:`neighbor_graph`: exact or NN-descent neighbours, then UMAP's fuzzy
union, computed with numpy to umap-learn's weights), and
:class:`NeighborhoodLoss` adds, to whatever loss the model has, the
cross-entropy of UMAP (McInnes et al., 2018) between that graph and the codes
of each batch, as parametric UMAP does (Sainburg et al., 2021): each row of
the batch is drawn towards neighbours sampled in proportion to their edge
weights and pushed away from rows drawn at random. The other end of each edge
is read from a memory bank of every training row's latest code, refreshed with
every batch, so that a step encodes only its own batch.
"""

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.neighbors import NearestNeighbors
from torch import nn

from ._losses import LossOutput, _batch_mean_nll

# UMAP's default neighbourhood size.
N_NEIGHBORS = 15
# Above this many rows the neighbours come from NN-descent (pynndescent, as UMAP
# does), not an exact search, whose cost grows with the square of the rows.
EXACT_NEIGHBORS_MAX_ROWS = 20_000
# For each row of a batch: neighbours drawn (in proportion to edge weight), and
# rows drawn at random to push away per neighbour (UMAP's negative_sample_rate).
POSITIVES = 32
NEGATIVES_PER_POSITIVE = 5
# The codes enter the term multiplied by this: UMAP's maps span tens of units,
# a VAE's codes a few (its prior is N(0, I)).
CODE_SCALE = 10.0
# UMAP's curve 1 / (1 + a d^(2b)) for min_dist=0.1, spread=1 (umap.umap_.find_ab_params).
CURVE_A, CURVE_B = 1.5769434602697652, 0.8950608778515733
# Probabilities are kept this far from 0 and 1 in the logarithms (as UMAP clips its gradients).
_EPS = 1e-4


def neighbor_graph(data, rows, n_neighbors=N_NEIGHBORS, seed=0, batch_size=4096):
    """UMAP's fuzzy k-NN graph of the training rows ``rows`` of ``data``, in ``data``'s numbering.

    Parameters
    ----------
    data : TrainingRows
        All the rows given to fit, as the module takes them (flattened here).
    rows : ndarray of int
        The rows that train (the others, held out for validation, get no edges).
    n_neighbors : int
        Neighbours of each row, counting itself as UMAP does.
    seed : int
        Seed of NN-descent on large data (an exact search draws nothing).

    Returns
    -------
    graph : scipy.sparse.csr_matrix of shape (len(data), len(data)), float32
        Symmetric; weights in (0, 1]; rows outside ``rows`` are empty.
    """
    if min(n_neighbors, len(rows)) < 2:  # one row has no neighbours
        return sp.csr_matrix((len(data), len(data)), dtype=np.float32)
    graph = sp.coo_matrix(fuzzy_graph(flat_rows(data, rows, batch_size), n_neighbors, seed))
    rows = np.asarray(rows)
    full = sp.csr_matrix(
        (graph.data.astype(np.float32), (rows[graph.row], rows[graph.col])), shape=(len(data), len(data))
    )
    full.eliminate_zeros()
    return full


def fuzzy_graph(X, n_neighbors=N_NEIGHBORS, seed=0, image_shape=None):
    """UMAP's fuzzy k-NN graph of the rows of ``X`` (an array or sparse matrix of at least 2 rows).

    Exact neighbours from scikit-learn up to ``EXACT_NEIGHBORS_MAX_ROWS``
    rows, NN-descent (pynndescent, seeded by ``seed``) above; then what
    umap-learn's ``fuzzy_simplicial_set`` makes of them
    (:func:`fuzzy_union`). Dense rows that are images of ``image_shape``
    ``(C, H, W)`` are compared as :func:`image_neighbors` compares them,
    where both sides have at least ``MIN_SHIFTED_SIDE`` pixels. Returns a
    symmetric CSR matrix with weights in (0, 1].
    """
    k = min(n_neighbors, X.shape[0])
    if image_shape is not None and min(image_shape[1:]) >= MIN_SHIFTED_SIDE and not sp.issparse(X):
        indices, distances = image_neighbors(X, image_shape, k, seed)
    elif X.shape[0] <= EXACT_NEIGHBORS_MAX_ROWS:
        distances, indices = NearestNeighbors(n_neighbors=k).fit(X).kneighbors(X)
    else:
        indices, distances = _nn_descent(X, k, seed).neighbor_graph
    return fuzzy_union(indices, distances)


def _nn_descent(X, k, seed):
    from pynndescent import NNDescent

    return NNDescent(X, n_neighbors=k, random_state=seed, low_memory=True, n_jobs=1)


# Images are neighbours by the smallest distance between one and the other
# moved by up to IMAGE_SHIFT pixels along each side (the strip that moves in is
# 0), so that the same stroke drawn a pixel further left is near, not far. On
# GaussianMixtureVAE's map this raised KMeans's ARI from 0.834 to 0.849 on the
# digits (8x8), and its accuracy from 0.574 to 0.594 on 10,000 Fashion-MNIST
# images (28x28), seeds 0-2 (benchmarks/README.md, "Neighbours up to a pixel's
# shift"); shifts of up to 2 pixels gave no more.
# Images with a side under MIN_SHIFTED_SIDE pixels are compared as they are: a
# pixel is too much of them.
IMAGE_SHIFT = 1
MIN_SHIFTED_SIDE = 8


def shift_images(images, dy, dx):
    """Images ``(n, C, H, W)`` moved ``dy`` pixels down and ``dx`` right, with zeros moved in."""
    if dy == dx == 0:
        return images
    height, width = images.shape[-2:]
    moved = torch.zeros_like(images)
    moved[..., max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = images[
        ..., max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)
    ]
    return moved


def image_neighbors(rows, image_shape, k, seed=0, max_shift=IMAGE_SHIFT, batch_size=1024):
    """Each image's ``k`` nearest images (itself first) when it may be moved by up to ``max_shift`` pixels.

    The distance from image i to image j is the smallest Euclidean distance
    between i moved by any of the ``(2 max_shift + 1)^2`` shifts of
    :func:`shift_images` and j as it is. Exact up to ``EXACT_NEIGHBORS_MAX_ROWS``
    rows (every pair, a batch of rows at a time); above, each shift of every
    row queries an NN-descent index of the rows (pynndescent, seeded by
    ``seed``), as UMAP's search is approximate there too.

    Returns
    -------
    indices : ndarray of shape (n, k), int64
    distances : ndarray of shape (n, k), float32
        Ascending in each row; each row's own distance is 0.
    """
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    n = len(rows)
    shifts = [(dy, dx) for dy in range(-max_shift, max_shift + 1) for dx in range(-max_shift, max_shift + 1)]
    index = None if n <= EXACT_NEIGHBORS_MAX_ROWS else _nn_descent(rows, k, seed)
    everyone = torch.from_numpy(rows)
    squares = everyone.pow(2).sum(1)
    indices, distances = [], []
    for start in range(0, n, batch_size):
        batch = everyone[start : start + batch_size]
        own = torch.arange(start, start + len(batch))
        images = batch.reshape(len(batch), *image_shape)
        if index is None:
            nearest = torch.full((len(batch), n), torch.inf)
            for dy, dx in shifts:
                moved = shift_images(images, dy, dx).reshape(len(batch), -1)
                squared = moved.pow(2).sum(1, keepdim=True) + squares - 2 * moved @ everyone.T
                torch.minimum(nearest, squared, out=nearest)
            nearest.clamp_min_(0)
            nearest[torch.arange(len(batch)), own] = -1  # itself first, even beside an exact twin
            squared, found = torch.topk(nearest, k, largest=False)
            squared.clamp_min_(0)
        else:
            found, squared = _queried_neighbors(index, images, shifts, own, k)
        indices.append(found.numpy())
        distances.append(squared.sqrt().numpy())
    return np.concatenate(indices).astype(np.int64), np.concatenate(distances).astype(np.float32)


def _queried_neighbors(index, images, shifts, own, k):
    """:func:`image_neighbors` of a batch above the exact search's size: candidates from the index, per shift."""
    candidates, squared = [own[:, None]], [torch.zeros(len(own), 1)]
    for dy, dx in shifts:
        found, distances = index.query(shift_images(images, dy, dx).reshape(len(own), -1).numpy(), k=k)
        candidates.append(torch.from_numpy(found.astype(np.int64)))
        squared.append(torch.from_numpy(distances.astype(np.float32)).pow(2))
    candidates, squared = torch.cat(candidates, 1), torch.cat(squared, 1)
    # a candidate found by several shifts keeps its smallest distance: sort by distance, drop later repeats
    squared, order = squared.sort(dim=1, stable=True)
    candidates = candidates.gather(1, order)
    repeated = (candidates[:, :, None] == candidates[:, None, :]).tril(-1).any(2)
    squared = squared.masked_fill(repeated, torch.inf)
    squared, order = squared.sort(dim=1, stable=True)
    return candidates.gather(1, order)[:, :k], squared[:, :k]


# umap-learn's tolerance of its search for each row's bandwidth, and the
# smallest bandwidth it allows, as a fraction of the mean distance.
_SMOOTH_K_TOLERANCE = 1e-5
MIN_K_DIST_SCALE = 1e-3


def bandwidths(distances, rho, floor, k, n_iter=64):
    """Each row's bandwidth sigma, as umap-learn's ``smooth_knn_dist`` finds it, vectorised over rows.

    Bisection (``n_iter`` steps at most, to within ``_SMOOTH_K_TOLERANCE``)
    for ``sum_{j >= 1} exp(-max(d_j - rho, 0) / sigma) = log2(k)`` over each
    row of ``distances`` (float32, a row's neighbours nearest first; the sum
    leaves out the first, as umap-learn's does), then at least ``floor``.
    Returns float32.
    """
    d = np.asarray(distances, dtype=np.float32)[:, 1:] - np.asarray(rho, dtype=np.float32)[:, None]
    beyond = np.maximum(d, 0)  # up to rho (a duplicate row's zero distance) a term is 1: exp would overflow
    target = np.log2(k)
    lo, hi, mid = np.zeros(len(d)), np.full(len(d), np.inf), np.ones(len(d))
    searching = np.ones(len(d), bool)
    for _ in range(n_iter):
        psum = np.where(d > 0, np.exp(-beyond / mid[:, None]), 1.0).sum(1)
        searching &= np.abs(psum - target) >= _SMOOTH_K_TOLERANCE
        if not searching.any():
            break
        above = searching & (psum > target)
        below = searching & ~(psum > target)
        hi = np.where(above, mid, hi)
        lo = np.where(below, mid, lo)
        mid = np.where(above | (below & np.isfinite(hi)), (lo + hi) / 2, np.where(below, mid * 2, mid))
    return np.maximum(mid.astype(np.float32), floor).astype(np.float32)


def fuzzy_union(indices, distances):
    """UMAP's fuzzy simplicial set of a k-NN graph: ``fuzzy_simplicial_set``'s result, with its defaults.

    Each row's distance to its nearest other row is rho (local
    connectivity 1) and its bandwidth sigma comes from :func:`bandwidths`;
    an edge weighs ``exp(-(d - rho) / sigma)``, 1 up to rho, 0 to the row
    itself; and the graph is the fuzzy union ``W + W.T - W * W.T``. Written
    with numpy rather than called from umap-learn, whose numba functions
    took 6 of the 9.6 s of the first fit in every process (a notebook, each
    worker of a grid search); the weights agree with umap-learn's to float32
    rounding (``tests/test_neighbors.py``).
    """
    d = np.asarray(distances, dtype=np.float32)
    n, k = d.shape
    nonzero = d > 0
    rho = np.where(nonzero.any(1), d[np.arange(n), nonzero.argmax(1)], np.float32(0))
    floor = MIN_K_DIST_SCALE * np.where(rho > 0, d.mean(1), d.mean())
    sigma = bandwidths(d, rho, floor, k)
    beyond = d - rho[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        # exp in float64, rounded to float32: all but about 1 in 1,500 weights are then umap-learn's
        # to the bit (numpy's float32 exp differed from it in the last bit in a third of them)
        # (up to rho the weight is 1: exp of those would only overflow float32)
        strength = np.exp(-(np.maximum(beyond, 0) / sigma[:, None]).astype(np.float64)).astype(np.float32)
        weights = np.where((beyond <= 0) | (sigma[:, None] == 0), np.float32(1), strength)
    weights[indices == np.arange(n)[:, None]] = 0
    graph = sp.coo_matrix(
        (weights.astype(np.float32).ravel(), (np.repeat(np.arange(n), k), np.asarray(indices).ravel())),
        shape=(n, n),
    )
    graph.eliminate_zeros()
    transpose = graph.transpose()
    graph = (graph + transpose - graph.multiply(transpose)).tocsr()
    graph.eliminate_zeros()
    return graph


def flat_rows(data, rows, batch_size=4096):
    """The rows ``rows`` of ``TrainingRows`` as one float32 array of flat rows (sparse input stays sparse)."""
    if data.sparse:
        values = data.values[np.asarray(data.rows)[rows] if data.rows is not None else rows]
        return values.astype(np.float32) / data.scale
    index = torch.as_tensor(rows, dtype=torch.int64)
    return torch.cat(
        [data[part].reshape(len(part), -1).cpu() for part in index.split(batch_size)]
    ).numpy()


def encoded_rows(module, data, batch_size=1024):
    """The codes (posterior means) of all of ``data``'s rows, shape (n, k), on the module's device."""
    training = module.training
    module.eval()
    with torch.no_grad():
        codes = torch.cat([module.encode(batch)[0] for batch in data.split(batch_size)])
    module.train(training)
    return codes.float()


class _AddedTerm(nn.Module):
    """A model's loss, reachable as ``loss``, with a term added; its ``kl_weight`` and ``reconstruction``
    are read and set through this one (KL warm-up sets the weight)."""

    def __init__(self, loss):
        super().__init__()
        self.loss = loss

    @property
    def kl_weight(self):
        return self.loss.kl_weight

    @kl_weight.setter
    def kl_weight(self, value):
        self.loss.kl_weight = value

    @property
    def reconstruction(self):
        return self.loss.reconstruction


class NeighborhoodLoss(_AddedTerm):
    """A model's loss plus ``weight`` times UMAP's cross-entropy of the neighbour graph and the codes.

    The net gives it each batch's row numbers (the ``target`` channel); it
    passes the model's own loss that loss's target (``targets[rows]``, or
    None) and adds ``neighbor_loss``, in nats per row: for each training row
    of the batch, ``POSITIVES`` neighbours drawn by edge weight contribute
    ``-log q`` and, per neighbour, ``NEGATIVES_PER_POSITIVE`` random training
    rows contribute ``-log(1 - q)``, where ``q = 1 / (1 + a d^(2b))`` of the
    distance between scaled codes. Rows without edges (validation rows) add
    nothing. In training, the batch's codes are written to the bank.

    The loss it wraps is reachable as ``loss``; its ``kl_weight`` and
    ``reconstruction`` are read and set through this one (KL warm-up).

    Parameters
    ----------
    loss : nn.Module
        The model's own criterion (returns a ``LossOutput``).
    graph : scipy.sparse.csr_matrix of shape (n, n)
        :func:`neighbor_graph` of the rows given to fit.
    weight : float
        Weight of the term.
    bank : Tensor of shape (n, k)
        The rows' codes at the start (:func:`encoded_rows`).
    targets : Tensor of shape (n, ...) or None
        The per-row target of the model's own loss.
    """

    def __init__(self, loss, graph, weight, bank, targets=None):
        super().__init__(loss)
        self.parts = (*loss.parts, "neighbor_loss")
        self.weight = weight
        indptr = torch.from_numpy(graph.indptr.astype(np.int64))
        degree = indptr[1:] - indptr[:-1]
        values = torch.from_numpy(graph.data.astype(np.float64))
        row_of_edge = torch.repeat_interleave(torch.arange(len(degree)), degree)
        # Inverse-CDF sampling of an edge of row i in proportion to its weight:
        # ``cumulative`` runs from i to i + 1 over row i's edges (monotone over all
        # edges), so searchsorted(cumulative, i + u) is row i's edge for uniform u.
        running = torch.cumsum(values, 0)
        before = torch.cat([torch.zeros(1, dtype=values.dtype), running])[indptr[:-1]]
        totals = torch.zeros(len(degree), dtype=values.dtype).index_add_(0, row_of_edge, values)
        self.register_buffer("cumulative", row_of_edge + (running - before[row_of_edge]) / totals[row_of_edge])
        self.register_buffer("neighbors", torch.from_numpy(graph.indices.astype(np.int64)))
        self.register_buffer("has_edges", degree > 0)
        self.register_buffer("training_rows", torch.nonzero(degree > 0).flatten())
        self.register_buffer("bank", bank.detach().clone())
        self.register_buffer("targets", targets)

    def forward(self, output, x, target=None):
        rows = target
        own = self.loss(output, x, None if self.targets is None else self.targets[rows])
        term = self._cross_entropy(output.mean, rows)
        return LossOutput(own, loss=own.loss + self.weight * term, neighbor_loss=term)

    def _cross_entropy(self, codes, rows):
        keep = self.has_edges[rows]
        codes, rows = codes[keep], rows[keep]
        if len(rows) == 0:
            return codes.sum() * 0.0
        device = codes.device
        uniform = torch.rand(len(rows), POSITIVES, dtype=torch.float64, device=device)
        edges = torch.searchsorted(self.cumulative, rows[:, None] + uniform).clamp(max=len(self.neighbors) - 1)
        positives = self.bank[self.neighbors[edges]]
        picks = torch.randint(len(self.training_rows), (len(rows), POSITIVES * NEGATIVES_PER_POSITIVE), device=device)
        negatives = self.bank[self.training_rows[picks]]
        scaled = codes[:, None] * CODE_SCALE
        near = _similarity((scaled - positives * CODE_SCALE).pow(2).sum(-1))
        far = _similarity((scaled - negatives * CODE_SCALE).pow(2).sum(-1))
        term = -(near.clamp_min(_EPS).log().sum(1) + (1 - far).clamp_min(_EPS).log().sum(1)).sum() / len(keep)
        if self.training and torch.is_grad_enabled():
            self.bank[rows] = codes.detach().to(self.bank.dtype)
        return term


def _similarity(squared_distance):
    """UMAP's low-dimensional similarity ``1 / (1 + a d^(2b))`` of squared distances."""
    return 1.0 / (1.0 + CURVE_A * squared_distance.clamp_min(1e-12).pow(CURVE_B))


def check_graph_rows(graph, n_rows):
    """Raise if a saved neighbour graph is not of ``n_rows`` rows (warm start on other data)."""
    if graph.shape[0] != n_rows:
        raise ValueError(
            f"warm_start=True trains on with the neighbour graph of the training data "
            f"(neighbor_graph_, {graph.shape[0]} rows), but X has {n_rows} rows. Train on the "
            "same data, or set warm_start=False to fit anew."
        )


# placement="neighbors" first lays the training rows' codes out as UMAP lays
# out its map (:func:`skvae._layout.lay_out`). The whole model then trains on,
# for at most ANCHOR_EPOCHS epochs, with its codes held near the laid-out ones
# (a Gaussian anchor of ANCHOR_STD, as GaussianMixtureVAE's) and the laid-out
# codes decoded as well (:class:`LayoutLoss`). Training the decoder alone on
# them decoded them (digits test MSE 0.049) but cost 4.5 nats of test ELBO,
# which the encoder's codes score; the anchor alone kept the ELBO (-26.8
# against -26.9 before) but left Fashion-MNIST's laid-out codes decoding badly
# (MSE 0.046 to 0.050 against 0.028), where the encoder cannot follow them
# closely.
ANCHOR_EPOCHS = 20
ANCHOR_STD = 0.1


class LayoutLoss(_AddedTerm):
    """A model's loss, plus holding its codes near the laid-out ones and decoding those as well.

    The net gives it each row's laid-out code (the ``target`` channel; for a
    model that decodes with a condition, that condition in the columns after
    the code). ``layout_loss`` adds, per row, ``||mean - laid_out||^2 /
    (2 anchor_std^2)``, which brings the encoder's codes to the laid-out ones
    (a Gaussian anchor, as GaussianMixtureVAE's), and the negative
    log-likelihood of the row decoded from its laid-out code, so that the
    codes placement gives decode even where the encoder cannot follow them
    closely. The model's own loss (which it wraps, reachable as ``loss``)
    keeps the rest of the model, its ELBO among it, as it was.

    Parameters
    ----------
    loss : nn.Module
        The model's own criterion (returns a ``LossOutput``).
    decode : callable
        The model's ``decode``: ``decode(z)``, or ``decode(z, condition)``.
    n_components : int
        Columns of the code in each target row.
    conditioned : bool
        Whether ``decode`` takes the condition in the columns after the code.
    """

    def __init__(self, loss, decode, n_components, conditioned=False, anchor_std=ANCHOR_STD):
        super().__init__(loss)
        self.parts = (*loss.parts, "layout_loss")
        self.decode, self.n_components = decode, n_components
        self.conditioned, self.anchor_std = conditioned, anchor_std

    def forward(self, output, x, target=None):
        own = self.loss(output, x)
        laid_out = target[:, : self.n_components]
        extra = (target[:, self.n_components:],) if self.conditioned else ()
        anchor = (output.mean - laid_out).pow(2).sum(-1).mean() / (2 * self.anchor_std**2)
        decoded = _batch_mean_nll(self.decode(laid_out, *extra), x, self.reconstruction)
        term = anchor + decoded
        return LossOutput(own, loss=own.loss + term, layout_loss=term)
