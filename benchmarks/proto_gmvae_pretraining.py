"""Prototype for issue 27: does pretraining on moved images give GaussianMixtureVAE a better start?

    python benchmarks/proto_gmvae_pretraining.py --data mnist-5k --seeds 0 1 2 3 4 --variants shift2 affine

Each fit is the default ``GaussianMixtureVAE(10, random_state=seed)`` given
images, stopped once the five maps are laid out and their consensus found
(the mixture's start; the last phases add about 0.01 ARI to it on MNIST-5k,
benchmarks/README.md, "Where MNIST-5k's fits end"). Only the pretraining is
changed, through the built ``pretrain_moves`` with ``random_moves`` at the
variant's strength: the encoder is given each image moved at random, and the decoder
must give back the image as it was (a denoising autoencoder whose noise is
a move), so that codes of the same digit drawn a little aside or askew fall
together:

- ``base``: no move (``pretrain_moves=None``, as built until the fourteenth session);
- ``shiftN``: a shift of up to N pixels in each direction (uniform, sub-pixel);
- ``affine``: a shift of up to 2 pixels, a turn of up to 10 degrees and a
  scaling by up to 10 %;
- ``affine15``: a shift of up to 2 pixels, a turn of up to 15 degrees and a
  scaling by up to 15 % (built, ``skvae._augment.random_moves``);
- ``turn15``, ``scale15``: a shift of up to 2 pixels and only the turn, or
  only the scaling, of ``affine15``;
- ``full=1`` (``+``-joined to the others): also run the fit to its end.
- ``moved_steps=N`` (``+``-joined): only the first N pretraining steps see
  moved images, the rest the images as they are (the built pretraining takes
  2,000 steps on 5,000 and on 10,000 images).

ARI, NMI and accuracy after Hungarian matching of the consensus start, of
KMeans on the kept map and (``full=1``) of the final ``labels_``.
"""

import argparse
import functools
import os
import sys
import time
import warnings

from sklearn.cluster import KMeans

sys.path.insert(0, os.path.dirname(__file__))
import bench_usecases as b  # noqa: E402
import skvae._gmvae as gmvae  # noqa: E402
from proto_gmvae_partitions import cells, scores  # noqa: E402
from skvae import GaussianMixtureVAE  # noqa: E402


class _Stop(Exception):
    pass


def fit(X, y, seed, opts):
    move = {"base": None, "shift1": (1, 0, 0), "shift2": (2, 0, 0), "shift3": (3, 0, 0),
            "affine": (2, 10, 0.1), "affine15": (2, 15, 0.15),
            "turn15": (2, 15, 0), "scale15": (2, 0, 0.15)}[opts["variant"]]  # shift px, turn deg, scale
    moves = gmvae.random_moves
    if move:  # the built pretraining, its moves at this strength
        gmvae.random_moves = functools.partial(moves, max_shift=move[0], max_turn=move[1], max_scale=move[2])
    if "moved_steps" in opts:  # only the first so many optimizer steps see moved images
        strength, calls = gmvae.random_moves, [0]

        def first_steps(x, image_shape):
            calls[0] += 1
            return strength(x, image_shape) if calls[0] <= int(opts["moved_steps"]) else x

        gmvae.random_moves = first_steps

    seen = {}
    consensus = gmvae._consensus

    def spy(maps, n_clusters, seed):
        seen["maps"], seen["result"] = maps, consensus(maps, n_clusters, seed)
        if not opts.get("full"):
            raise _Stop
        return seen["result"]

    gmvae._consensus = spy
    model = None
    try:
        model = GaussianMixtureVAE(10, random_state=seed, pretrain_moves="auto" if move else None).fit(X)
    except _Stop:
        pass
    finally:
        gmvae.random_moves, gmvae._consensus = moves, consensus
    labels, nearest = seen["result"]
    out = {"consensus start": scores(y, labels),
           "KMeans on the kept map": scores(y, KMeans(10, n_init=10, random_state=seed).fit_predict(
               seen["maps"][nearest]))}
    if model is not None:
        out["final labels_"] = scores(y, model.labels_)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", nargs="+", default=["mnist-5k"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=["base", "shift2"])
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    for name in args.data:
        X, y = b.clustering_data(name)
        X = b.as_square_images(X)
        for variant in args.variants:
            parts = variant.split("+")
            opts = {"variant": parts[0], **dict(kv.split("=") for kv in parts[1:])}
            results = {}
            for seed in args.seeds:
                start = time.perf_counter()
                for stage, row in fit(X, y, seed, opts).items():
                    results.setdefault(stage, []).append(row)
                    print(f"  [{name} {variant} seed {seed}] {stage}: ARI {row[0]:.3f} NMI {row[1]:.3f} "
                          f"ACC {row[2]:.3f}", flush=True)
                print(f"  [{name} {variant} seed {seed}] {time.perf_counter() - start:.0f} s", flush=True)
            for stage, rows in results.items():
                print(f"| {name} | {variant} | {stage} | {cells(rows)} |", flush=True)


if __name__ == "__main__":
    main()
