"""Prototype for issue 27: a VAE trained with UMAP's edge cross-entropy on its codes.

    python benchmarks/proto_neighbors.py --data digits --weights 0 1 10

A hand-written loop (the skvae default MLP, 256-128, Adam 1e-3, batch 128) so
that variants are cheap to try: the reconstruction + KL loss, plus ``weight``
times UMAP's cross-entropy between the fuzzy k-NN graph of the training rows
(umap-learn's ``fuzzy_simplicial_set``, 15 neighbours) and the codes
(posterior means, times ``scale``): for each row of a batch one neighbour
drawn in proportion to its edge weight (attraction) and 5 uniform rows
(repulsion), whose codes come from a memory bank refreshed with every batch.
Prints 5-NN accuracy and trustworthiness (10 neighbours) of the test codes.
"""

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.manifold import trustworthiness
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
from torch import nn

from skvae.datasets import load_digits_images, load_mnist_like


def load(name, n_train=None):
    if name == "digits":
        images, target = load_digits_images()
        rows = images.reshape(len(images), -1).astype(np.float32)
        return train_test_split(rows, target, test_size=0.5, stratify=target, random_state=0)
    X_train, X_test, y_train, y_test = load_mnist_like(name)
    X_train = (X_train.reshape(len(X_train), -1) / 255).astype(np.float32)
    X_test = (X_test.reshape(len(X_test), -1) / 255).astype(np.float32)
    if n_train:
        X_train, y_train = X_train[:n_train], y_train[:n_train]
    return X_train, X_test[:5000], y_train, y_test[:5000]


def graph(X, n_neighbors=15, seed=0):
    """UMAP's fuzzy simplicial set of X, as CSR (symmetric, weights in (0, 1])."""
    from umap.umap_ import fuzzy_simplicial_set

    knn = NearestNeighbors(n_neighbors=n_neighbors).fit(X)
    dists, idx = knn.kneighbors(X)
    P, _, _ = fuzzy_simplicial_set(X, n_neighbors, np.random.RandomState(seed), "euclidean",
                                   knn_indices=idx, knn_dists=dists.astype(np.float32))
    return P.tocsr()


class Net(nn.Module):
    def __init__(self, d, k, hidden=(256, 128)):
        super().__init__()
        layers, width = [], d
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.enc = nn.Sequential(*layers, nn.Linear(width, 2 * k))
        layers, width = [], k
        for h in hidden[::-1]:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.dec = nn.Sequential(*layers, nn.Linear(width, d))

    def encode(self, x):
        mean, logvar = self.enc(x).chunk(2, -1)
        return mean, logvar.clamp(-20, 10)


def fit(X, k, weight, scale, epochs, seed=0, kl=1.0, negatives=5, ae=False, recon_weight=1.0, positives=8, fresh=False, batch=128, lr=1e-3, anchor=0.0, input_dropout=0.0, weight_decay=0.0):
    torch.manual_seed(seed)
    Xt = torch.from_numpy(X)
    n, d = X.shape
    net = Net(d, k)
    opt = torch.optim.AdamW(net.parameters(), lr, weight_decay=weight_decay)
    if weight:
        from umap.umap_ import find_ab_params

        a, b = find_ab_params(1.0, 0.1)
        P = graph(X, seed=seed)
        indptr, indices, values = (torch.from_numpy(P.indptr).long(), torch.from_numpy(P.indices).long(),
                                   torch.from_numpy(P.data).float())
        row_of_edge = torch.repeat_interleave(torch.arange(n), indptr[1:] - indptr[:-1])
        totals = torch.zeros(n, dtype=torch.float64).index_add_(0, row_of_edge, values.double())
        csum = torch.cumsum(values.double(), 0)
        row_start_csum = torch.cat([torch.zeros(1, dtype=torch.float64), csum])[indptr[:-1]]
        cum = row_of_edge.double() + (csum - row_start_csum[row_of_edge]) / totals[row_of_edge]
        with torch.no_grad():
            bank = net.encode(Xt)[0].clone()
    if anchor:  # regress the codes onto UMAP's map of the training rows, standardised
        import umap

        T = umap.UMAP(n_components=k, random_state=seed).fit_transform(X)
        T = torch.from_numpy(((T - T.mean(0)) / T.std(0)).astype(np.float32))
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        order = torch.randperm(n, generator=gen)
        for ids in order.split(batch):
            x = Xt[ids]
            # denoising: the encoder sees the row with a random share of its features zeroed
            seen = x * (torch.rand(x.shape, generator=gen) >= input_dropout) if input_dropout else x
            mean, logvar = net.encode(seen)
            z = mean if ae else mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
            logits = net.dec(z)
            recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
            loss = recon_weight * recon
            if not ae:
                loss = loss + kl * 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).sum() / len(x)
            if anchor:
                loss = loss + anchor * (mean - T[ids]).pow(2).sum() / len(x)
            if weight:
                # `positives` neighbours per row, drawn in proportion to its edge weights:
                # inverse CDF on the row-offset cumulative weights (monotone over all edges)
                u = torch.rand(len(ids), positives, generator=gen)
                edge = torch.searchsorted(cum, ids[:, None].double() + u.double()).clamp(max=len(indices) - 1)
                pos = indices[edge]
                neg = torch.randint(0, n, (len(ids), positives * negatives), generator=gen)
                zi = mean * scale
                if fresh:  # the neighbours' codes from the encoder as it is now, with gradients
                    zpos = net.encode(Xt[pos.reshape(-1)])[0].reshape(len(ids), -1, k) * scale
                    dp = (zi[:, None] - zpos).pow(2).sum(-1)
                else:
                    dp = (zi[:, None] - bank[pos] * scale).pow(2).sum(-1)
                if fresh:  # negatives: the batch's neighbour codes, shuffled (parametric UMAP's recipe)
                    flat = zpos.reshape(-1, k)
                    shuffled = flat[torch.randint(0, len(flat), (len(ids) * positives * negatives,), generator=gen)]
                    dn = (zi.repeat_interleave(positives * negatives, 0) - shuffled).pow(2).sum(-1)
                else:
                    dn = (zi[:, None] - bank[neg] * scale).pow(2).sum(-1)
                q_pos = 1 / (1 + a * dp.clamp_min(1e-12).pow(b))
                q_neg = 1 / (1 + a * dn.clamp_min(1e-12).pow(b))
                ce = -(torch.log(q_pos.clamp_min(1e-4)).sum() + torch.log((1 - q_neg).clamp_min(1e-4)).sum()) / len(x)
                loss = loss + weight * ce
                with torch.no_grad():
                    bank[ids] = mean.detach()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net


def evaluate(net, X_train, X_test, y_train, y_test, knn_transform=0):
    with torch.no_grad():
        Z_train = net.encode(torch.from_numpy(X_train))[0].numpy()
        Z_test = net.encode(torch.from_numpy(X_test))[0].numpy()
    if knn_transform:
        # a non-parametric transform: the mean training code of the row's input-space neighbours,
        # averaged with the encoder's own code (UMAP's transform starts from the former)
        _, idx = NearestNeighbors(n_neighbors=knn_transform).fit(X_train).kneighbors(X_test)
        Z_test = 0.5 * Z_train[idx].mean(1) + 0.5 * Z_test
    acc = KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test)
    from sklearn.model_selection import cross_val_score

    print("  training map, 5-fold 5-NN accuracy:",
          round(cross_val_score(KNeighborsClassifier(5), Z_train, y_train, cv=5).mean(), 3), flush=True)
    sub = np.random.RandomState(0).permutation(len(X_test))[:2000]
    trust = trustworthiness(X_test[sub], Z_test[sub], n_neighbors=10)
    return acc, trust


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="digits")
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--weights", type=float, nargs="+", default=[0, 1, 10])
    parser.add_argument("--scales", type=float, nargs="+", default=[10])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--dim", type=int, default=2)
    parser.add_argument("--kl", type=float, default=1.0)
    parser.add_argument("--ae", action="store_true")
    parser.add_argument("--umap", action="store_true")
    parser.add_argument("--recon", type=float, default=1.0)
    parser.add_argument("--positives", type=int, default=8)
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--anchor", type=float, default=0.0)
    parser.add_argument("--knn-transform", type=int, default=0)
    parser.add_argument("--input-dropout", type=float, default=0.0)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    args = parser.parse_args()
    X_train, X_test, y_train, y_test = load(args.data, args.n_train)
    if args.umap:
        import umap

        t = time.perf_counter()
        u = umap.UMAP(n_components=args.dim, random_state=0).fit(X_train)
        acc = KNeighborsClassifier(5).fit(u.embedding_, y_train).score(u.transform(X_test), y_test)
        sub = np.random.RandomState(0).permutation(len(X_test))[:2000]
        trust = trustworthiness(X_test[sub], u.transform(X_test)[sub], n_neighbors=10)
        print(f"| {args.data} | UMAP | | | {acc:.3f} | {trust:.3f} | {time.perf_counter() - t:.0f} |", flush=True)
    for scale in args.scales:
        for weight in args.weights:
            t = time.perf_counter()
            net = fit(X_train, args.dim, weight, scale, args.epochs, kl=args.kl, ae=args.ae, recon_weight=args.recon, positives=args.positives, fresh=args.fresh, batch=args.batch, lr=args.lr, anchor=args.anchor, input_dropout=args.input_dropout, weight_decay=args.weight_decay)
            acc, trust = evaluate(net, X_train, X_test, y_train, y_test, args.knn_transform)
            print(f"| {args.data} | {'AE' if args.ae else 'VAE'} kl={args.kl} | weight {weight:g} | scale {scale:g} | "
                  f"{acc:.3f} | {trust:.3f} | {time.perf_counter() - t:.0f} |", flush=True)


if __name__ == "__main__":
    main()
