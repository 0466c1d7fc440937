"""placement="network": a small network fitted to the laid-out training codes, that maps new rows in one pass.

placement="neighbors" places each new row among the training rows as UMAP's
``transform`` does: a neighbour search and 120 epochs of optimisation per
call, which with 60,000 Fashion-MNIST training images took 1.7 s for 10,000
rows, 60% of UMAP's own (2.8 s). Here
:func:`fit_network` fits, once at the end of ``fit``, an MLP from the rows
as placement keeps them (their first 50 principal components for wide
rows) to the codes laid out for placement, with noise on its inputs. It gives a
row ``PLACES`` candidate places, each with a weight and a spread, fitted
as a mixture (the likelihood of the row's laid-out code), and a new row
takes the place of the highest density: where rows like it were laid out
at two places, one of them, not the gap between them.
:func:`network_step` then maps new rows with it, a few matrix products
on each batch that the estimator's batched inference hands it
(benchmarks/README.md, "A network fitted to the laid-out codes").

The network is kept as plain arrays, ``[weight, bias, weight, bias, ...]``
of ``torch.nn.Linear`` layers with ReLU between them, its inputs'
standardisation and its outputs' scale folded into the first and last
layers, so that a model file holds nothing but arrays (:func:`check_network`
validates them on use). The last layer gives the places, then one score
for each (the log of its weight less ``k`` times the log of its spread),
or, in a model that skvae fitted until 2026-12-03, the codes alone.
"""

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.neighbors import NearestNeighbors

from .modules import MLPEncoder

# the network's hidden layers, Adam's learning rate, rows per step, the decay a step of the
# average of the weights that is kept (about 4 epochs of 60,000 rows), and the noise on the inputs
# as a fraction of the median distance from a row to its nearest other row (spread over the
# features: noise of that norm). Four hidden layers of 256 units: new rows' held-out 5-NN accuracy
# / trustworthiness with three / four / five were 0.756 / 0.9702, 0.759 / 0.9708 and 0.760 /
# 0.9702 on Fashion-MNIST (mean of seeds 0-2; UMAP 0.758 / 0.9724), 0.955 / 0.968, 0.963 / 0.973
# and 0.967 / 0.976 on the digits (seeds 0-2; placement 0.962 / 0.977, UMAP 0.958 / 0.976), and
# 0.856 / 0.928, 0.862 / 0.936 and 0.874 / 0.939 on 2,500 MNIST digits (seed 0; placement 0.859 /
# 0.947). Each layer adds about 0.008 s to a transform of 10,000 rows (0.032, 0.039 and 0.049 s,
# interleaved, against UMAP's 3.0): the fifth gained nothing on the large training set the network
# is for, and left too little of the budget of 50 times UMAP's speed (59 times in another run).
# Two hidden layers gave 0.746 / 0.964 where three gave 0.751 / 0.969 on Fashion-MNIST (least
# squares), and 384 units no more than 256. The noise is 1.5 times the gap to the nearest row:
# with three hidden layers, new rows' maps, mean of seeds, fraction 0.35 / 1.0 / 1.5 / 2.5, were
# 0.943 / 0.959, 0.954 / 0.967, 0.955 / 0.968 and 0.941 / 0.964 on the digits (seeds 0-2); 0.754 /
# 0.9685, 0.758 / 0.9696, 0.760 / 0.9706 and - on Fashion-MNIST (seeds 0, 1; 2.5 at seed 0 only:
# 0.754 / 0.9707; UMAP 0.758 / 0.9717); and 0.831 / 0.912, 0.849 / 0.926, 0.856 / 0.928 and - on
# 2,500 MNIST digits (benchmarks/README.md, "A network fitted to the laid-out codes", "The
# placement network's loss and noise" and "The placement network's depth").
HIDDEN = (256, 256, 256, 256)
RATE = 1e-3
BATCH_SIZE = 256
AVERAGE_DECAY = 0.999
NOISE_FRACTION = 1.5
# The candidate places a row is given, and the bounds on the log of each one's spread in training
# (codes scaled to unit spread). A row's laid-out code has, under place j of weight w_j and spread
# s_j, the density w_j exp(-d_j / s_j) / s_j^k (d_j its distance from the place); the loss is the
# negative log of the sum over places, and a new row takes the place of the highest w_j / s_j^k. A
# single place of fixed spread is the mean distance below. New rows' held-out 5-NN accuracy /
# trustworthiness with one place / three: Fashion-MNIST 0.761 / 0.9724 and 0.765 / 0.9732 (seed 0),
# 0.758 / 0.9693 and 0.762 / 0.9710 (seed 1; five places 0.760 / 0.9711); the digits 0.967 / 0.9714
# and 0.971 / 0.9769 (mean of seeds 0-2; placement 0.961 / 0.9766); 2,500 MNIST digits 0.866 /
# 0.9359 and 0.875 / 0.9440 (seed 0; placement 0.864 / 0.9436). The mean of the places, weighed,
# mapped as one place did (0.753 / 0.9682 at Fashion-MNIST's seed 1). They add about 0.002 s to a
# transform of 10,000 rows (benchmarks/README.md, "Several places for a row").
PLACES = 3
_LOG_SPREAD = (-7.0, 3.0)
# The loss is the mean distance from a row's code to its target, not its square: least squares
# aims at the mean of the places that rows like it were laid out at, which for a row between two
# clusters is the gap between them; the distance aims at their spatial median. With the same
# network and budget, at the earlier noise (0.35), it mapped new rows better on every fit
# measured: Fashion-MNIST 0.759 / 0.9689 and 0.750 / 0.9681 (seeds 0, 1) against 0.751 / 0.9686
# and 0.747 / 0.9659, and the digits 0.940-0.948 against 0.930-0.943 (seeds 0-2). _TINY keeps
# its gradient finite at a perfect fit.
_TINY = 1e-8
# training runs this many epochs, and at least MIN_STEPS steps on small training sets (the
# digits' map: 0.78-0.83 in 150 epochs, 0.93-0.94 in 6,000 steps, 0.95-0.96 in 15,000, which
# took a minute). On Fashion-MNIST the map gained little after 100 epochs. Fewer steps at a
# higher rate decaying on a cosine lost map (the digits, mean of seeds 0-2: 0.932 / 0.958 in
# 1,500 steps from 3e-3, 0.950 / 0.971 in 3,000, against 0.971 / 0.977 in 6,000), and so did
# half the width for a third less time (0.969 / 0.976; 2,500 MNIST digits 0.868 / 0.941 against
# 0.876 / 0.943): benchmarks/README.md, "A cheaper network for small training sets".
EPOCHS = 150
MIN_STEPS = 6_000
# rows per batch when new rows are mapped: every batch is padded to this many rows (or to a small
# batch, where the products give a row the same bits in both), so that a row's code has the same
# bits whatever rows are mapped with it
MAP_BATCH = 1024
# rows whose nearest-neighbour distance sets the noise
_NOISE_SAMPLE = 1000


def fit_network(rows, codes, *, seed, device="cpu", progress=None):
    """The network's layers, fitted to map ``rows`` (n, d; dense or CSR) to ``codes`` (n, k).

    ``progress``: a callable given the number of epochs, returning an object
    with ``update(1)`` and ``close()`` (a tqdm bar), or None.
    """
    n, k = codes.shape
    mean, std = _feature_moments(rows)
    target = np.asarray(codes, np.float32)
    center = target.mean(0)
    scale = np.float32(np.sqrt(((target - center) ** 2).sum(1).mean() / k)) or np.float32(1)
    noise = np.float32(NOISE_FRACTION * _nearest_distance(rows, seed) / np.sqrt(rows.shape[1]))
    epochs = max(EPOCHS, -(-MIN_STEPS // -(-n // BATCH_SIZE)))
    device = torch.device(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        # Linear and ReLU layers, then a Linear that gives the places, their weights' logits and spreads' logs
        net = MLPEncoder(rows.shape[1], sum(_parts(k)), HIDDEN).to(device)
        average = torch.optim.swa_utils.AveragedModel(
            net, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(AVERAGE_DECAY))
        optimizer = torch.optim.Adam(net.parameters(), RATE)
        generator = torch.Generator().manual_seed(seed)
        goal = torch.from_numpy((target - center) / scale).to(device)
        shift, spread = torch.from_numpy(mean).to(device), torch.from_numpy(std).to(device)
        bar = progress(epochs) if progress is not None else None
        for _ in range(epochs):
            for batch in torch.randperm(n, generator=generator).split(BATCH_SIZE):
                x = _dense(rows, batch.numpy()).to(device)
                x = x + noise * torch.randn(x.shape, generator=generator).to(device)
                loss = _mixture_loss(net((x - shift) / spread), goal[batch.to(device)])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                average.update_parameters(net)
            if not np.isfinite(loss.item()):
                raise FloatingPointError(f"fitting placement's network diverged (loss {loss.item()})")
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
    layers = [p.detach().cpu().numpy().astype(np.float64) for p in average.module.parameters()]
    # fold the input standardisation into the first layer; in the last, the places' scale and centre,
    # and each place's score: the log of its weight less k times the log of its spread (the softmax's
    # normaliser is the same for every place of a row, and the spread's bounds guard training only)
    layers[0], layers[1] = layers[0] / std, layers[1] - (layers[0] / std) @ mean
    places, logits, log_spreads = np.split(np.arange(sum(_parts(k))), np.cumsum(_parts(k))[:-1])
    to_center = np.tile(center, PLACES)
    for i, shifted in ((-2, 0), (-1, to_center)):
        scores = layers[i][logits] - k * layers[i][log_spreads]
        layers[i] = np.concatenate([layers[i][places] * scale + shifted, scores])
    return [np.ascontiguousarray(layer, np.float32) for layer in layers]


def _parts(k):
    """How many of the fitted network's outputs are the places (k numbers each), their logits and their log-spreads."""
    return PLACES * k, PLACES, PLACES


def _mixture_loss(output, goal):
    """The mean negative log density of the targets ``goal`` (n, k) under each row's places (``PLACES``)."""
    n, k = goal.shape
    places, logits, log_spreads = output.split(_parts(k), 1)
    log_spreads = log_spreads.clamp(*_LOG_SPREAD)
    distances = (places.reshape(n, PLACES, k) - goal[:, None]).pow(2).sum(2).add(_TINY).sqrt()
    log_density = torch.log_softmax(logits, 1) - distances / log_spreads.exp() - k * log_spreads
    return -torch.logsumexp(log_density, 1).mean()


def network_step(layers, n_codes, projection=None, device="cpu"):
    """``step(module, batch) -> (codes,)``, the network's codes of a batch, for ``_run_batches``.

    Each row's code (``n_codes`` numbers) is the place of its highest score
    where the last layer gives places and scores, else what it gives. The
    batch's rows (any shape; flattened) are first projected on
    ``projection`` (d, m; placement's ``placement_projection_``) where there
    is one, by torch as the layers are: a NumPy product in between left BLAS
    threads spinning on the cores that torch's then waited for (10,000
    Fashion-MNIST rows took 0.07 s instead of 0.03 s). ``module``, the
    model's own network, is not used.
    """
    device = torch.device(device)
    params = [torch.from_numpy(layer).to(device) for layer in layers]
    if projection is not None:
        projection = torch.from_numpy(np.ascontiguousarray(projection, np.float32)).to(device)

    places = _places(layers, n_codes)

    def step(module, batch):
        x = batch.reshape(len(batch), -1)
        if projection is not None:
            x = x @ projection
        for i in range(0, len(params), 2):
            x = torch.nn.functional.linear(x, params[i], params[i + 1])
            if i + 2 < len(params):
                x = x.relu_()
        if places > 1:  # the place of the highest score
            best = x[:, places * n_codes:].argmax(1)[:, None, None].expand(-1, 1, n_codes)
            x = x[:, : places * n_codes].reshape(len(x), places, n_codes).gather(1, best)[:, 0]
        return (x,)

    return step


def check_network(layers, n_inputs, n_outputs):
    """A ValueError unless ``layers`` are weights and biases that chain ``n_inputs`` to ``n_outputs`` codes.

    The last layer gives the codes, or two or more places of ``n_outputs``
    numbers and a score for each.
    """
    ok = isinstance(layers, (list, tuple)) and len(layers) >= 2 and len(layers) % 2 == 0
    width = n_inputs
    for i in range(0, len(layers) if ok else 0, 2):
        weight, bias = layers[i], layers[i + 1]
        ok = (
            isinstance(weight, np.ndarray) and isinstance(bias, np.ndarray)
            and weight.dtype == np.float32 and bias.dtype == np.float32
            and weight.ndim == 2 and weight.shape[1] == width and bias.shape == (weight.shape[0],)
            and np.isfinite(weight).all() and np.isfinite(bias).all()
        )
        if not ok:
            break
        width = weight.shape[0]
    if not ok or not _places(layers, n_outputs):
        raise ValueError(
            f"The model's placement_network_ is not a network from {n_inputs} inputs to {n_outputs} codes "
            "(float32 weights and biases of chained layers, finite): the model file was altered. Fit the "
            "model again."
        )


def _places(layers, n_codes):
    """How many places the last of ``layers`` gives rows (1: the codes alone; 0: neither shape)."""
    width = layers[-1].shape[0]
    places = width // (n_codes + 1)
    return 1 if width == n_codes else places if places > 1 and width == places * (n_codes + 1) else 0


def _dense(rows, index):
    """Rows ``index`` of ``rows`` (dense or CSR) as a dense float32 tensor."""
    part = rows[index]
    return torch.from_numpy(np.ascontiguousarray(part.toarray() if sp.issparse(part) else part, np.float32))


def _feature_moments(rows):
    """Each feature's mean and standard deviation (1 where it is constant), float32."""
    if sp.issparse(rows):
        from sklearn.utils.sparsefuncs import mean_variance_axis

        mean, var = mean_variance_axis(sp.csr_matrix(rows, dtype=np.float64), axis=0)
    else:
        rows = np.asarray(rows, np.float64)
        mean, var = rows.mean(0), rows.var(0)
    std = np.sqrt(var)
    return mean.astype(np.float32), np.where(std > 0, std, 1).astype(np.float32)


def _nearest_distance(rows, seed):
    """The median distance from a row (of up to ``_NOISE_SAMPLE`` drawn) to its nearest other row (1 if 0)."""
    n = rows.shape[0]
    if n < 2:
        return 1.0
    sample = np.random.RandomState(seed).permutation(n)[:_NOISE_SAMPLE]
    distances, _ = NearestNeighbors(n_neighbors=2).fit(rows).kneighbors(rows[sample])
    median = float(np.median(distances[:, 1]))
    return median if median > 0 else 1.0
