"""One process of the data-parallel test (tests/test_distributed.py); torchrun starts two.

Usage: torchrun --standalone --nproc_per_node=2 tests/ddp_worker.py OUT_DIR
Each rank fits the same VAE on the same rows and pickles its estimator to
OUT_DIR/rank{R}.pkl, for the test to compare.
"""

import pickle
import sys
from pathlib import Path

import torch.distributed as dist
from sklearn.datasets import load_digits

from skvae import VAETransformer, VQVAETransformer


def main(out):
    X = load_digits().data[:600] / 16
    vae = VAETransformer(
        n_components=4,
        hidden_layer_sizes=(32,),
        max_epochs=4,
        batch_size=64,
        lr=3e-3,
        validation_fraction=0.1,  # validation rows are dealt out across the processes too
        random_state=None,  # every rank draws its own seed: fit must agree on rank 0's
        checkpoint_path=out / f"checkpoint-rank{dist.get_rank() if dist.is_initialized() else 0}.safetensors",
    ).fit(X)
    rank = dist.get_rank()  # fit joined the group that torchrun's environment describes
    small = dict(n_components=4, hidden_layer_sizes=(16,), max_epochs=2, batch_size=64, validation_fraction=0.1,
                 random_state=0)
    others = {
        # batch-norm statistics are buffers that each process updates on its own rows
        "conv": VAETransformer(architecture="conv", image_shape=(8, 8), conv_channels=(4,), **small).fit(X),
        # the codebook follows averages of every process's tokens
        "vq": VQVAETransformer(**small).fit(X),
    }
    with open(out / f"rank{rank}.pkl", "wb") as file:
        pickle.dump({"vae": vae, **others}, file)
    dist.barrier()  # both ranks tear the group down together: gloo aborts one that leaves early
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
