"""Data-parallel training over the processes of a ``torch.distributed`` group.

A script launched with ``torchrun --nproc_per_node=N script.py`` (or any
launcher that sets ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and
``MASTER_PORT``, as ``accelerate launch --multi_gpu`` does) runs N copies of
itself. When every copy
calls ``fit`` on the same data, skvae trains one model with PyTorch's
``DistributedDataParallel``: each process takes its share of every epoch's
rows, gradients are averaged across processes after each step, and every
process ends with the same fitted estimator. The group is the caller's if one
is initialised, or else started here from the launcher's environment with the
``nccl`` backend on GPUs and ``gloo`` on CPUs.
"""

import math
import os

import torch
import torch.distributed as dist


def world():
    """``(rank, world_size)`` of the process group that fit trains over; None for one process.

    Initialises the default group from a launcher's environment (``torchrun``
    sets ``WORLD_SIZE``) when none is yet.
    """
    if not dist.is_available():
        return None
    if not dist.is_initialized():
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            return None
        local_gpu = torch.cuda.is_available() and torch.cuda.device_count() > 0
        dist.init_process_group("nccl" if local_gpu else "gloo")
    if dist.get_world_size() <= 1:
        return None
    return dist.get_rank(), dist.get_world_size()


def is_main_process():
    """Whether this process writes files: rank 0 of a group, or the only process."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def local_device(device):
    """The device this process trains on: a CUDA device without an index becomes ``cuda:LOCAL_RANK``."""
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        return f"cuda:{int(os.environ.get('LOCAL_RANK', dist.get_rank() % torch.cuda.device_count()))}"
    return str(device)


def broadcast(value):
    """Rank 0's ``value`` (any picklable object), on every process."""
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def shard(order, rank, world_size):
    """This rank's share of the row order, as ``DistributedSampler`` deals it.

    The order is padded by repeating its start to a multiple of ``world_size``,
    so that every process runs the same number of steps, and dealt out in turn.
    """
    padding = -len(order) % world_size
    if padding:
        order = torch.cat([order, order.repeat(math.ceil(padding / len(order)))[:padding]])
    return order[rank::world_size]


def gather_rows(values):
    """Every process's rows of a 2-d tensor (they may hold different numbers), concatenated in rank order."""
    counts = [torch.zeros((), dtype=torch.int64, device=values.device) for _ in range(dist.get_world_size())]
    dist.all_gather(counts, torch.tensor(len(values), device=values.device))
    longest = int(max(counts))
    padded = torch.zeros(longest, *values.shape[1:], dtype=values.dtype, device=values.device)
    padded[: len(values)] = values
    gathered = [torch.empty_like(padded) for _ in counts]
    dist.all_gather(gathered, padded)
    return torch.cat([rows[: int(n)] for rows, n in zip(gathered, counts)])


def sum_across_processes(*tensors):
    """The tensors summed over the processes of a data-parallel fit (in place); as they are alone.

    For statistics a module keeps outside its gradients (a VQ-VAE's codebook
    averages), so that every process updates them with every process's batch.
    """
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        for tensor in tensors:
            dist.all_reduce(tensor)
    return tensors


def broadcast_buffers(module):
    """Set the module's buffers (batch-norm statistics, ...) to rank 0's on every process."""
    for buffer in module.buffers():
        dist.broadcast(buffer, src=0)
