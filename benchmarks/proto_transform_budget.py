"""Prototype for issue 27: what fits in Fashion-MNIST's 50x transform budget on this machine?

    python benchmarks/proto_transform_budget.py forward
    python benchmarks/proto_transform_budget.py parametric --width 256 --epochs 80
    python benchmarks/proto_transform_budget.py parametric --width 512 --epochs 80
    python benchmarks/proto_transform_budget.py parametric --conv --images --epochs 25

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


def parametric(args):
    torch.manual_seed(args.seed)
    rng = np.random.RandomState(args.seed)
    X_train, X_test, y_train, y_test = b.load(args.data)
    X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    side = int(round(np.sqrt(X_train.shape[1])))
    start = time.perf_counter()
    graph = sp.coo_matrix(fuzzy_graph(X_train, image_shape=(1, side, side) if args.images else None))
    print(f"graph: {time.perf_counter() - start:.1f} s, {graph.nnz} directed edges", flush=True)
    head, tail = graph.row, graph.col
    weights = graph.data.astype(np.float64)
    chance = weights / weights.sum()
    net = conv(side, args.width) if args.conv else MLPEncoder(X_train.shape[1], 2, (args.width,) * 3)
    rows = torch.from_numpy(X_train)
    draws_per_epoch = graph.nnz // 2  # as many draws as undirected edges
    optimizer = torch.optim.Adam(net.parameters(), args.lr)
    steps = args.epochs * -(-draws_per_epoch // args.edge_batch)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps) if args.cosine else None
    sub = np.random.RandomState(b.SEED).permutation(len(X_test))[:2000]

    def held_out():
        with torch.no_grad():
            Z_train, Z_test = net(rows).numpy(), net(torch.from_numpy(X_test)).numpy()
        accuracy = KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test)
        return accuracy, trustworthiness(X_test[sub], Z_test[sub], n_neighbors=10)

    for epoch in range(1, args.epochs + 1):
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
        line = f"epoch {epoch}: loss {total / draws_per_epoch:.3f}, {time.perf_counter() - start:.1f} s"
        if epoch % 5 == 0 or epoch == args.epochs:
            accuracy, trust = held_out()
            line += f"; held-out 5-NN accuracy {accuracy:.3f}, trustworthiness {trust:.4f}"
        print(line, flush=True)


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("forward")
    train = commands.add_parser("parametric")
    train.add_argument("--data", default="fashion-mnist")
    train.add_argument("--n-train", type=int, default=10_000)
    train.add_argument("--epochs", type=int, default=80)
    train.add_argument("--width", type=int, default=256)
    train.add_argument("--conv", action="store_true")
    train.add_argument("--images", action="store_true")
    train.add_argument("--edge-batch", type=int, default=1024)
    train.add_argument("--negatives", type=int, default=5)
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--cosine", action="store_true", help="the learning rate decays to 0 on a cosine")
    train.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    {"forward": forward, "parametric": parametric}[args.command](args)


if __name__ == "__main__":
    main()
