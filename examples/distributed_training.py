"""
Training over several processes with DDP
========================================

Train one VAE over several processes with PyTorch DistributedDataParallel.

Launch it the standard way; every process runs this whole script::

    torchrun --nproc_per_node=2 examples/distributed_training.py
    torchrun --nproc_per_node=4 examples/distributed_training.py --fashion --epochs 20  # one per GPU

(``accelerate launch --multi_gpu`` starts its GPU processes through torchrun,
so the same applies; on CPUs accelerate starts one process unless configured
for MPI, so use torchrun there.) Nothing in the script is parallel: each
process loads the same data and calls ``fit``, and skvae, finding itself one of
several processes, joins them into a process group (``gloo`` on CPUs, ``nccl``
on GPUs, one GPU per process) and trains one model. Each process takes its
share of every epoch's rows, with ``batch_size`` rows per step, so one step of
N processes covers N * batch_size rows; gradients are averaged across the
processes after each step. Every process ends with the same fitted estimator.
Only rank 0 writes files: the model, which then loads anywhere, on a CPU-only
machine too, with ``skvae.load``. Run without torchrun, the script trains in
one process.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch.distributed as dist
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skvae import VAETransformer


def load_data(fashion):
    if fashion:
        from skvae.datasets import load_mnist_like

        X_train, X_test, _, _ = load_mnist_like("fashion-mnist")
        return X_train, X_test  # uint8 images: divided by 255 as batches are drawn
    X = load_digits().data / 16
    return train_test_split(X, test_size=0.2, random_state=0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--fashion", action="store_true", help="Fashion-MNIST instead of the digits")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", default="skvae-distributed", help="folder for the model (rank 0 writes it)")
    args = parser.parse_args(argv)

    X_train, X_test = load_data(args.fashion)
    vae = VAETransformer(
        n_components=16 if args.fashion else 8,
        architecture="conv" if args.fashion else "mlp",
        max_epochs=args.epochs,
        random_state=0,
    )
    start = time.perf_counter()
    vae.fit(X_train)  # data-parallel under torchrun: every process calls fit
    seconds = time.perf_counter() - start

    rank = dist.get_rank() if dist.is_initialized() else 0
    processes = dist.get_world_size() if dist.is_initialized() else 1
    if rank == 0:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        path = vae.save(Path(args.out) / "vae.safetensors")
        print(f"{processes} process(es), {vae.n_iter_} epochs in {seconds:.1f} s")
        print(f"training loss: {vae.history_[0, 'train_loss']:.2f} -> {vae.history_[-1, 'train_loss']:.2f}")
        print(f"test ELBO per row: {vae.score(X_test):.2f}")
        print(f"saved {path}; load it anywhere with skvae.load")
    if dist.is_initialized():
        # every process waits for rank 0's writing: gloo aborts a process that
        # tears the group down while a peer still holds its connection
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
