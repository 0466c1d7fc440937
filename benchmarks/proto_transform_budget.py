"""Prototype for issue 27: what fits in Fashion-MNIST's 50x transform budget on this machine?

    python benchmarks/proto_transform_budget.py forward
    python benchmarks/proto_transform_budget.py parametric --width 256 --epochs 80
    python benchmarks/proto_transform_budget.py parametric --width 512 --epochs 80
    python benchmarks/proto_transform_budget.py parametric --conv --images --epochs 25
    python benchmarks/proto_transform_budget.py regress --n-train 60000 --epochs 60 [--cosine --noise 0.1 ...]
    python benchmarks/proto_transform_budget.py network [--data digits --seed 1 --min-steps 15000 ...]

The issue asks for a 2-D ``transform`` at least 50 times faster than
UMAP's, with a map at UMAP's level. UMAP transforms 10,000 Fashion-MNIST
rows in 2.4 to 2.7 s here, so the budget is about 0.05 s for 10,000 rows.

``forward`` times, best and median of five interleaved rounds, what an
encoder costs on 10,000 rows of 784 features: the projection onto 50
principal axes that placement searches in, MLPs of several widths (the
default ``VAETransformer`` encoder is 784-256-128), and a small conv net.
The weights are random: only the time is measured.

``parametric`` trains such a network alone as parametric UMAP does (Sainburg
et al., 2021): edges of the training rows' fuzzy graph
(``skvae._neighbors.fuzzy_graph``, with ``--images`` the graph of images up
to a pixel's shift that GaussianMixtureVAE uses) are drawn in proportion to
their weights, both ends are encoded afresh, and UMAP's cross-entropy pulls
them together and pushes each head from ``--negatives`` tails of other edges
of the batch (Adam at ``--lr``, constant or, with ``--cosine``, decaying to
0 over the run on a cosine). Every five epochs it prints the held-out map:
5-NN accuracy (fitted on the network's training codes) and trustworthiness
(10 neighbours, 2,000 test rows), as ``bench_usecases.py reduction`` scores
it.
Trained on the first 10,000 Fashion-MNIST training images, where UMAP's map
is 0.737 / 0.973 (seed 0).

``network`` fits skvae's own placement network (``placement="network"``'s
``fit_network``, its defaults or ``--hidden``, ``--epochs``,
``--min-steps`` and ``--noise-fraction``) to the teacher's map, and prints its held-out map.

``regress`` fits the network instead to UMAP's own map of the training rows
(umap-learn, seed ``--seed``; cached in /tmp), or with ``--teacher skvae``
to the laid-out training codes of the default 2-D ``VAETransformer`` (100
epochs, seed ``--seed``; cached too), by the squared distance of
each row's code to its place in that map (Adam, batches of ``--batch``
rows), with optionally: noise added to the rows (``--noise``), rows mixed
with a graph neighbour and their targets mixed alike (``--mixup T``, t in
[0, T]), images moved by up to a pixel with the same target (``--shift``),
a cosine-decayed rate, an exponential average of the weights scored beside
the network (``--ema DECAY``), and then ``--graph-epochs`` of the ``parametric``
training at ``--graph-lr``. It prints the teacher's own held-out map first
(its test rows placed by ``UMAP.transform``, or by skvae's placement), then
the network's every five epochs.
"""

import argparse
import sys
import time

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.manifold import trustworthiness
from sklearn.neighbors import KNeighborsClassifier

sys.path.insert(0, "benchmarks")
import bench_usecases as b  # noqa: E402
from skvae._neighbors import _similarity, fuzzy_graph  # noqa: E402
import skvae._placement_network  # noqa: E402
from skvae.modules import MLPEncoder  # noqa: E402


def conv(side, width):
    flat = 64 * ((side + 3) // 4) ** 2
    return torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, side, side)), torch.nn.Conv2d(1, 32, 3, 2, 1), torch.nn.ReLU(),
        torch.nn.Conv2d(32, 64, 3, 2, 1), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(flat, width),
        torch.nn.ReLU(), torch.nn.Linear(width, 2))


def forward(args):
    torch.manual_seed(0)
    X = torch.rand(b.TRANSFORM_ROWS, 784)
    projection = torch.rand(784, 50)
    nets = {
        "PCA-50 projection (placement's search space)": lambda x: x @ projection,
        "MLP 784-128-128-2": MLPEncoder(784, 2, (128, 128)),
        "MLP 784-256-128-4 (the default VAE encoder: mean and log-variance)": MLPEncoder(784, 4, (256, 128)),
        "MLP 784-256-256-256-2": MLPEncoder(784, 2, (256, 256, 256)),
        "MLP 784-512-512-512-2": MLPEncoder(784, 2, (512, 512, 512)),
        "conv 32-64, 256": conv(28, 256),
    }
    for width in (256, 384, 512):  # the network of --pca: the projection, then an MLP on 50 components
        mlp = MLPEncoder(50, 2, (width,) * 3)
        nets[f"PCA-50 projection, then MLP 50-{width}-{width}-{width}-2"] = lambda x, mlp=mlp: mlp(x @ projection)
    times = {name: [] for name in nets}
    with torch.inference_mode():
        for _ in range(5):
            for name, net in nets.items():
                start = time.perf_counter()
                net(X)
                times[name].append(time.perf_counter() - start)
    print(f"torch threads: {torch.get_num_threads()}")
    print("| encoder | 10,000 rows, best s | median s |\n|---|---|---|")
    for name, seconds in times.items():
        print(f"| {name} | {min(seconds):.4f} | {np.median(seconds):.4f} |")


def map_score(Z_train, Z_test, X_test, y_train, y_test):
    """The held-out map as ``bench_usecases.py reduction`` scores it: 5-NN accuracy, trustworthiness (10)."""
    sub = np.random.RandomState(b.SEED).permutation(len(X_test))[:2000]
    accuracy = KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test)
    return accuracy, trustworthiness(X_test[sub], Z_test[sub], n_neighbors=10)


def held_out_scorer(net, X_train, X_test, y_train, y_test, read=None):
    """A function scoring the network's held-out map; ``read(rows)``: the rows as the network reads them
    (the test rows' trustworthiness is always of their own neighbours, as given)."""
    read = read or (lambda rows: rows)
    rows, test_rows = torch.from_numpy(read(X_train)), torch.from_numpy(read(X_test))

    def held_out():
        with torch.no_grad():
            Z_train, Z_test = net(rows).numpy(), net(test_rows).numpy()
        return map_score(Z_train, Z_test, X_test, y_train, y_test)

    return held_out


def graph_epochs(net, X_train, graph, args, rng, held_out, epochs, lr):
    """Parametric UMAP: ``epochs`` passes over the graph's edges, scored every five."""
    head, tail = graph.row, graph.col
    weights = graph.data.astype(np.float64)
    chance = weights / weights.sum()
    rows = torch.from_numpy(X_train)
    draws_per_epoch = graph.nnz // 2  # as many draws as undirected edges
    optimizer = torch.optim.Adam(net.parameters(), lr)
    steps = epochs * -(-draws_per_epoch // args.edge_batch)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps) if args.cosine else None
    for epoch in range(1, epochs + 1):
        start, total = time.perf_counter(), 0.0
        draws = rng.choice(len(chance), draws_per_epoch, p=chance)
        for first in range(0, draws_per_epoch, args.edge_batch):
            edges = draws[first : first + args.edge_batch]
            n = len(edges)
            codes = net(rows[torch.from_numpy(np.concatenate([head[edges], tail[edges]]))])
            heads, tails = codes[:n], codes[n:]
            others = torch.randint(n, (n, args.negatives))
            near = (heads - tails).pow(2).sum(-1)
            far = (heads[:, None] - tails[others]).pow(2).sum(-1)
            q_near, q_far = _similarity(near), _similarity(far)
            loss = -(q_near.clamp_min(1e-4).log().mean() + (1 - q_far).clamp_min(1e-4).log().sum(1).mean())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if schedule is not None:
                schedule.step()
            total += loss.item() * n
        line = f"graph epoch {epoch}: loss {total / draws_per_epoch:.3f}, {time.perf_counter() - start:.1f} s"
        if epoch % 5 == 0 or epoch == epochs:
            accuracy, trust = held_out()
            line += f"; held-out 5-NN accuracy {accuracy:.3f}, trustworthiness {trust:.4f}"
        print(line, flush=True)


def build_graph(X_train, images):
    side = int(round(np.sqrt(X_train.shape[1])))
    start = time.perf_counter()
    graph = sp.coo_matrix(fuzzy_graph(X_train, image_shape=(1, side, side) if images else None))
    print(f"graph: {time.perf_counter() - start:.1f} s, {graph.nnz} directed edges", flush=True)
    return graph


def hidden_sizes(args):
    """The hidden widths ``--hidden`` names, or three of ``--width``."""
    return tuple(int(h) for h in args.hidden.split(",")) if args.hidden else (args.width,) * 3


def network(args, X_train):
    side = int(round(np.sqrt(X_train.shape[1])))
    if args.conv:
        return conv(side, args.width)
    return MLPEncoder(X_train.shape[1], 2, hidden_sizes(args))


def parametric(args):
    torch.manual_seed(args.seed)
    rng = np.random.RandomState(args.seed)
    X_train, X_test, y_train, y_test = b.load(args.data)
    X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    graph = build_graph(X_train, args.images)
    net = network(args, X_train)
    held_out = held_out_scorer(net, X_train, X_test, y_train, y_test)
    graph_epochs(net, X_train, graph, args, rng, held_out, args.epochs, args.lr)


def shifted(x, rng):
    """Each image (a flat square row) moved by up to a pixel in each direction, zeros coming in."""
    side = int(round(np.sqrt(x.shape[1])))
    padded = torch.nn.functional.pad(x.view(-1, side, side), (1, 1, 1, 1))
    dy, dx = rng.randint(0, 3, (2, len(x)))
    rows = torch.arange(len(x))[:, None, None]
    ys = torch.from_numpy(dy)[:, None, None] + torch.arange(side)[None, :, None]
    xs = torch.from_numpy(dx)[:, None, None] + torch.arange(side)[None, None, :]
    return padded[rows, ys, xs].reshape(len(x), -1)


def fit_umap(X_train, X_test, seed):
    """UMAP's maps of the training rows and of the test rows (``transform``)."""
    import umap

    reducer = umap.UMAP(n_components=2, random_state=seed).fit(X_train)
    return reducer.embedding_.astype(np.float32), reducer.transform(X_test)


def fit_skvae(X_train, X_test, seed):
    """The default 2-D VAETransformer's laid-out training codes (in UMAP's units) and its placed test rows."""
    from skvae import VAETransformer
    from skvae._neighbors import CODE_SCALE

    # placement named: "auto" maps rows with a network from 10,000 training rows, and the teacher's own
    # held-out map is placement's
    model = VAETransformer(n_components=2, max_epochs=100, placement="neighbors", random_state=seed).fit(X_train)
    return model.placement_codes_ * np.float32(CODE_SCALE), model.transform(X_test) * np.float32(CODE_SCALE)


TEACHERS = {"umap": fit_umap, "skvae": fit_skvae}


def teacher_map(teacher, name, X_train, X_test, y_train, y_test, seed):
    """The teacher's map of the training rows, cached in /tmp by teacher, data set, size and seed.

    Prints the teacher's own held-out map: its test rows placed (UMAP's ``transform``, or skvae's).
    """
    import os

    cache = f"/tmp/proto_transform_budget_{teacher}_{name}_{len(X_train)}_{seed}.npz"
    if os.path.exists(cache):
        saved = np.load(cache)
        target, Z_test = saved["train"], saved["test"]
    else:
        start = time.perf_counter()
        target, Z_test = TEACHERS[teacher](X_train, X_test, seed)
        print(f"{teacher} fit: {time.perf_counter() - start:.1f} s", flush=True)
        np.savez(cache, train=target, test=Z_test)
    accuracy, trust = map_score(target, Z_test, X_test, y_train, y_test)
    print(f"{teacher}'s own held-out map: 5-NN accuracy {accuracy:.3f}, trustworthiness {trust:.4f}", flush=True)
    return target


def placed_rows(X_train, target, args, rng):
    """``--placed`` synthetic rows per training row, each ``(1 - t) x_i + t x_j`` with x_j one of x_i's 15
    nearest training rows (t uniform in [0, ``--placed-t``]), and where skvae's placement puts each
    among the training rows and their codes ``target`` (in UMAP's units): the teacher's own transform."""
    from skvae._neighbors import CODE_SCALE
    from skvae._placement import _nearest, place_rows, search_projection

    start = time.perf_counter()
    projection = search_projection(X_train, seed=args.seed)
    searched = X_train @ projection
    neighbors, _ = _nearest(searched, searched, 16)
    n = len(X_train)
    i = np.tile(np.arange(n), args.placed)
    j = neighbors[i, rng.randint(1, 16, len(i))]
    t = rng.uniform(0, args.placed_t, (len(i), 1)).astype(np.float32)
    synthetic = (1 - t) * X_train[i] + t * X_train[j]
    codes = place_rows(synthetic @ projection, searched, target / CODE_SCALE, seed=args.seed) * CODE_SCALE
    print(f"{len(i)} synthetic rows placed: {time.perf_counter() - start:.1f} s", flush=True)
    return synthetic.astype(np.float32), codes.astype(np.float32)


def pca_network(args, X_train):
    """A network that reads the rows projected on their first 50 principal axes (placement's search space)
    and standardises them before its MLP, and the projection; ``--noise`` is then added in the projected
    space (the same as isotropic noise on the rows, the axes being orthonormal)."""
    from skvae._placement import search_projection

    projection = search_projection(X_train, seed=args.seed)
    projected = X_train @ projection
    mean, std = projected.mean(0), projected.std(0)
    mlp = MLPEncoder(X_train.shape[1], 2, hidden_sizes(args))

    class Standardised(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.mlp = mlp
            self.register_buffer("mean", torch.from_numpy(mean))
            self.register_buffer("std", torch.from_numpy(std))

        def forward(self, x):
            return self.mlp((x - self.mean) / self.std)

    return Standardised(), lambda rows: rows @ projection


def regress(args):
    """Fit the network to a finished map of the training rows, then (``--graph-epochs``) to the graph."""
    torch.manual_seed(args.seed)
    rng = np.random.RandomState(args.seed)
    X_train, X_test, y_train, y_test = b.load(args.data)
    X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    target = teacher_map(args.teacher, args.data, X_train, X_test, y_train, y_test, args.seed)
    if args.pca and args.placed:
        raise SystemExit("--pca and --placed do not combine: the synthetic rows are made of the raw rows")
    read = None
    if args.pca:  # the network reads the rows' first 50 principal components, each standardised
        net, read = pca_network(args, X_train)
    else:
        net = network(args, X_train)
    held_out = held_out_scorer(net, X_train, X_test, y_train, y_test, read)
    if args.ema:  # an exponential average of the weights, scored beside the network
        average = torch.optim.swa_utils.AveragedModel(
            net, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(args.ema))
        held_out_average = held_out_scorer(average, X_train, X_test, y_train, y_test, read)
    if read is not None:
        X_train = read(X_train)
    rows, goal = torch.from_numpy(X_train), torch.from_numpy(target)
    if args.placed:  # synthetic rows near the training rows, where the teacher's placement puts them
        synthetic, placed = placed_rows(X_train, target, args, rng)
        rows, goal = torch.cat([rows, torch.from_numpy(synthetic)]), torch.cat([goal, torch.from_numpy(placed)])
    if args.mixup:
        graph = sp.csr_matrix(build_graph(X_train, args.images))  # a row mixes with any of its neighbours
        indptr, indices = graph.indptr, graph.indices
        degree = np.diff(indptr)
    optimizer = torch.optim.Adam(net.parameters(), args.lr)
    steps = args.epochs * -(-len(rows) // args.batch)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps) if args.cosine else None
    for epoch in range(1, args.epochs + 1):
        start, total = time.perf_counter(), 0.0
        for batch in torch.randperm(len(rows)).split(args.batch):
            x, z = rows[batch], goal[batch]
            if args.mixup:
                i = batch.numpy()
                j = indices[indptr[i] + (rng.rand(len(i)) * degree[i]).astype(int)]
                t = torch.from_numpy(rng.uniform(0, args.mixup, (len(i), 1)).astype(np.float32))
                x = torch.cat([x, (1 - t) * x + t * rows[j]])
                z = torch.cat([z, (1 - t) * z + t * goal[j]])
            if args.noise:
                x = x + args.noise * torch.randn_like(x)
            if args.shift:
                x = shifted(x, rng)
            loss = (net(x) - z).pow(2).sum(-1).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if schedule is not None:
                schedule.step()
            if args.ema:
                average.update_parameters(net)
            total += loss.item() * len(batch)
        line = f"regression epoch {epoch}: mse {total / len(rows):.3f}, {time.perf_counter() - start:.1f} s"
        if epoch % 5 == 0 or epoch == args.epochs:
            accuracy, trust = held_out()
            line += f"; held-out 5-NN accuracy {accuracy:.3f}, trustworthiness {trust:.4f}"
            if args.ema:
                accuracy, trust = held_out_average()
                line += f"; averaged weights {accuracy:.3f}, {trust:.4f}"
        print(line, flush=True)
    if args.graph_epochs:
        graph_epochs(net, X_train, build_graph(X_train, args.images), args, rng, held_out, args.graph_epochs,
                     args.graph_lr)


def leave_one_out_placement(rows, codes, seed):
    """Each training row placed, as placement places a new row, among the other training rows and their
    codes: what the teacher's transform gives a row it has not seen, at every training row."""
    import skvae._placement as placement

    start = time.perf_counter()
    nearest = placement._nearest

    def among_the_others(X, rows, k):
        indices, distances = nearest(X, rows, k + 1)
        own = indices == np.arange(len(X))[:, None]
        keep = np.where(own.any(1, keepdims=True), ~own, np.arange(k + 1) < k)  # drop the row itself
        return indices[keep].reshape(len(X), k), distances[keep].reshape(len(X), k)

    placement._nearest = among_the_others
    try:
        placed = placement.place_rows(rows, rows, codes, seed=seed).astype(np.float32)
    finally:
        placement._nearest = nearest
    moved = np.linalg.norm(placed - codes, axis=1)
    print(f"training rows placed among the others: {time.perf_counter() - start:.1f} s; moved from their laid-out "
          f"codes by a median {np.median(moved):.3f} (the map spans {np.ptp(codes, 0).max():.1f})", flush=True)
    return placed


def refine(network_maps, rows, X_test, y_train, y_test, target, projection, k):
    """The network's test codes moved to the weighted mean of the codes of the ``k`` training rows whose
    codes lie nearest to them, weighed by UMAP's membership strengths of those rows' distances to the
    test row (in the 50 components): a search among k candidates the network chose, not among all rows.
    ``rows``: the training rows as placement keeps them. The refined codes are scored against the
    network's map of the training rows, which is the teacher's codes only once the network has learnt
    them (a network of a few epochs scores nonsense here)."""
    from scipy.spatial import cKDTree
    from skvae._placement import membership_strengths

    Z_train, Z_test = network_maps
    start = time.perf_counter()
    test_rows = X_test if projection is None else X_test @ projection
    candidates = cKDTree(target).query(Z_test, k, workers=-1)[1]
    distances = np.linalg.norm(test_rows[:, None, :] - rows[candidates], axis=2)
    order = np.argsort(distances, 1)  # nearest first, as the membership strengths read them
    candidates, distances = np.take_along_axis(candidates, order, 1), np.take_along_axis(distances, order, 1)
    weights = membership_strengths(distances, k)
    weights /= weights.sum(1, keepdims=True)
    snapped = (weights[:, :, None] * target[candidates]).sum(1)
    seconds = time.perf_counter() - start
    for blend in (1.0, 0.5):
        accuracy, trust = map_score(Z_train, (1 - blend) * Z_test + blend * snapped, X_test, y_train, y_test)
        print(f"refined among {k} candidates, blend {blend}: held-out 5-NN accuracy {accuracy:.3f}, trustworthiness "
              f"{trust:.4f} ({seconds:.3f} s for {len(X_test)} rows, tree included)", flush=True)


def network_codes(built, layers, X, projection):
    """The network's codes of X, all rows in one batch (a benchmark needs no row's bits fixed)."""
    step = built.network_step(layers, 2, projection)  # the 2-D codes of the teachers here
    with torch.inference_mode():
        return step(None, torch.from_numpy(np.ascontiguousarray(X, np.float32)))[0].numpy()


def library_network(args):
    """skvae's own placement network (``skvae._placement_network.fit_network``, as ``placement="network"``
    fits it) fitted to the teacher's map of the training rows, its held-out map scored."""
    import skvae._placement_network as built
    from skvae._neighbors import CODE_SCALE
    from skvae._placement import search_projection

    X_train, X_test, y_train, y_test = b.load(args.data)
    X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    target = teacher_map(args.teacher, args.data, X_train, X_test, y_train, y_test, args.seed) / CODE_SCALE
    if args.hidden:
        built.HIDDEN = tuple(int(h) for h in args.hidden.split(","))
    built.EPOCHS, built.MIN_STEPS = args.epochs, args.min_steps
    if args.noise_fraction is not None:
        built.NOISE_FRACTION = args.noise_fraction
    if args.rate is not None:
        built.RATE = args.rate
    if args.average_decay is not None:
        built.AVERAGE_DECAY = args.average_decay
    projection = search_projection(X_train, seed=args.seed)
    rows = X_train if projection is None else X_train @ projection  # the rows as placement keeps them
    if args.leave_one_out:
        target = leave_one_out_placement(rows, target, args.seed)
    maps = []
    for member in range(args.members):  # --members: networks from other seeds, and their mean map
        start = time.perf_counter()
        layers = built.fit_network(rows, target, seed=args.seed + member)
        seconds = time.perf_counter() - start
        maps.append([network_codes(built, layers, X, projection) for X in (X_train, X_test)])
        accuracy, trust = map_score(*maps[-1], X_test, y_train, y_test)
        print(f"network {built.HIDDEN}, {args.epochs} epochs, at least {args.min_steps} steps, rate {built.RATE}"
              f", average decay {built.AVERAGE_DECAY}, seed "
              f"{args.seed + member}, fitted in {seconds:.1f} s: held-out 5-NN accuracy {accuracy:.3f}, "
              f"trustworthiness {trust:.4f}", flush=True)
    if args.refine:
        refine(maps[-1], rows, X_test, y_train, y_test, target, projection, args.refine)
    if args.members > 1:
        accuracy, trust = map_score(*(np.mean(parts, 0) for parts in zip(*maps)), X_test, y_train, y_test)
        print(f"the mean of the {args.members} networks' maps: held-out 5-NN accuracy {accuracy:.3f}, "
              f"trustworthiness {trust:.4f}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("forward")
    for name in ("parametric", "regress"):
        train = commands.add_parser(name)
        train.add_argument("--data", default="fashion-mnist")
        train.add_argument("--n-train", type=int, default=10_000)
        train.add_argument("--epochs", type=int, default=80)
        train.add_argument("--width", type=int, default=256)
        train.add_argument("--hidden", default="", help="hidden widths, e.g. 256,128 (the default VAE encoder's)")
        train.add_argument("--conv", action="store_true")
        train.add_argument("--images", action="store_true")
        train.add_argument("--edge-batch", type=int, default=1024)
        train.add_argument("--negatives", type=int, default=5)
        train.add_argument("--lr", type=float, default=1e-3)
        train.add_argument("--cosine", action="store_true", help="the learning rate decays to 0 on a cosine")
        train.add_argument("--seed", type=int, default=0)
    train.add_argument("--batch", type=int, default=256, help="rows per regression step")
    train.add_argument("--graph-epochs", type=int, default=0, help="parametric UMAP epochs after the regression")
    train.add_argument("--graph-lr", type=float, default=1e-4)
    train.add_argument("--mixup", type=float, default=0.0, help="also rows mixed with a graph neighbour, t in [0, T]")
    train.add_argument("--noise", type=float, default=0.0, help="Gaussian noise added to the input rows")
    train.add_argument("--shift", action="store_true", help="images moved by up to a pixel, same target")
    train.add_argument("--ema", type=float, default=0.0,
                       help="also score an exponential moving average of the weights with this decay per step")
    train.add_argument("--pca", action="store_true", help="the network reads the rows' PCA-50 projection")
    train.add_argument("--placed", type=int, default=0,
                       help="also this many synthetic rows per training row, placed by skvae's placement")
    train.add_argument("--placed-t", type=float, default=0.5, help="how far they go towards a neighbour")
    train.add_argument("--teacher", choices=tuple(TEACHERS), default="umap",
                       help="the map learnt: UMAP's, or the default 2-D VAETransformer's laid-out codes")
    built = commands.add_parser("network")
    built.add_argument("--data", default="fashion-mnist")
    built.add_argument("--n-train", type=int, default=60_000)
    built.add_argument("--seed", type=int, default=0)
    built.add_argument("--teacher", choices=tuple(TEACHERS), default="skvae")
    built.add_argument("--hidden", default="", help="hidden widths (the library's: "
                       f"{','.join(map(str, skvae._placement_network.HIDDEN))})")
    built.add_argument("--epochs", type=int, default=150)
    built.add_argument("--min-steps", type=int, default=6000)
    built.add_argument("--rate", type=float, help="Adam's learning rate (the library's: "
                       f"{skvae._placement_network.RATE})")
    built.add_argument("--average-decay", type=float, help="the decay of the weights' moving average")
    built.add_argument("--noise-fraction", type=float, default=None,
                       help="the inputs' noise as a fraction of the median nearest-row distance (the library's: "
                       f"{skvae._placement_network.NOISE_FRACTION})")
    built.add_argument("--leave-one-out", action="store_true",
                       help="fit each training row's placement among the other rows instead of its laid-out code")
    built.add_argument("--refine", type=int, default=0, help="also the test codes refined among this many candidates")
    built.add_argument("--members", type=int, default=1, help="networks from seeds seed, seed + 1, ...; and their mean")
    args = parser.parse_args()
    {"forward": forward, "parametric": parametric, "regress": regress, "network": library_network}[args.command](args)


if __name__ == "__main__":
    main()
