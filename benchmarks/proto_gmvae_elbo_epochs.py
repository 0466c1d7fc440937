"""Prototype for issue 27: where GaussianMixtureVAE's clusters go, epoch by epoch, in its ELBO phase.

    python benchmarks/proto_gmvae_elbo_epochs.py --data fashion-mnist --seeds 0 1 2 --max-epochs 60

One fit a seed: the default ``GaussianMixtureVAE(10, random_state=seed)``
given images, with ``max_epochs`` raised to ``--max-epochs`` (nothing in the
phase depends on how many epochs follow, so its first 30 are the built
fit's). A callback keeps the training rows' responsibilities at the end of
every ELBO epoch. Scored against the classes (ARI / NMI / accuracy after
Hungarian matching): the maps' consensus that the mixture starts from, the
labels after chosen epochs, and ways to read one partition from several
epochs: the consensus of the last epochs' partitions (KMeans on their
one-hot columns, as ``_consensus`` joins maps) and the argmax of their mean
responsibilities.
"""

import argparse
import os
import sys
import warnings

import numpy as np
import torch
from sklearn.cluster import KMeans
from skorch.callbacks import Callback

sys.path.insert(0, os.path.dirname(__file__))
import bench_usecases as b  # noqa: E402
import skvae._gmvae as gmvae  # noqa: E402
from proto_gmvae_partitions import by_seed, scores  # noqa: E402
from skvae import GaussianMixtureVAE  # noqa: E402


class Track(Callback):
    """Keep every ELBO epoch's responsibilities of the training rows (in ``kept``, shared across copies)."""

    def __init__(self, kept):
        self.kept = kept

    def __deepcopy__(self, memo):  # the estimator deep-copies its callbacks; the list must stay shared
        return Track(self.kept)

    def on_epoch_end(self, net, dataset_train=None, **kwargs):
        if net.criterion_.kl_weight == 0 or dataset_train is None:
            return
        data, _ = dataset_train
        means, variances = gmvae._posteriors(net.module_, data, to_numpy=False)
        with torch.no_grad():
            self.kept.append(net.module_.cluster_posterior(means, variances.log()).cpu().numpy())


def fit(X, y, seed, max_epochs, at, last):
    seen, kept = {}, []
    consensus = gmvae._consensus

    def spy(maps, n_clusters, seed):
        seen["result"] = consensus(maps, n_clusters, seed)
        return seen["result"]

    gmvae._consensus = spy
    try:
        model = GaussianMixtureVAE(10, random_state=seed, max_epochs=max_epochs,
                                   callbacks=[("track", Track(kept))]).fit(b.as_square_images(X))
    finally:
        gmvae._consensus = consensus
    labels = [r.argmax(1) for r in kept]
    out = {"the consensus of the maps (the mixture's start)": scores(y, seen["result"][0])}
    for epoch in at:
        if epoch <= len(labels):
            out[f"after ELBO epoch {epoch}"] = scores(y, labels[epoch - 1])
    for end in at:
        if end > len(labels) or end < last:
            continue
        window = slice(end - last, end)
        onehot = np.concatenate([np.eye(10)[lab] for lab in labels[window]], axis=1)
        joined = KMeans(10, n_init=gmvae.MIXTURE_INITS, random_state=seed).fit(onehot).labels_
        out[f"consensus of epochs {end - last + 1}-{end}"] = scores(y, joined)
        out[f"mean responsibilities of epochs {end - last + 1}-{end}"] = scores(
            y, np.mean(kept[window], axis=0).argmax(1))
    out["the final labels_"] = scores(y, model.labels_)
    changed = [np.mean(labels[i] != labels[i - 1]) for i in range(1, len(labels))]
    print(f"  [seed {seed}] share of rows that change cluster, epoch by epoch: "
          + " ".join(f"{c:.3f}" for c in changed), flush=True)
    print(f"  [seed {seed}] ARI epoch by epoch: "
          + " ".join(f"{scores(y, lab)[0]:.3f}" for lab in labels), flush=True)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", nargs="+", default=["fashion-mnist"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-epochs", type=int, default=60)
    parser.add_argument("--at", type=int, nargs="+", default=[1, 5, 10, 20, 30, 40, 50, 60])
    parser.add_argument("--last", type=int, default=10, help="epochs that the joined partitions read")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    by_seed(args.data, args.seeds, lambda name, seed, X, y: fit(X, y, seed, args.max_epochs, args.at, args.last))


if __name__ == "__main__":
    main()
