"""Data-parallel training against one process, on this machine's cores.

    python benchmarks/bench_ddp.py [--processes 2] [--rounds 2] [--epochs 2] [--fashion]

Runs ``examples/distributed_training.py`` alone (one process, torch's default
threads) and under ``torchrun --nproc_per_node=N`` (one thread per process, as
torchrun sets), interleaved over ``--rounds`` rounds with the order reversed
every other round, and prints each run's training time and final training
loss as the example reports them. Both share the same cores: on a CPU machine
this measures what DDP costs, not what N machines or GPUs would gain.
"""

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "distributed_training.py"


def run(processes, args, out):
    command = [sys.executable, str(EXAMPLE), "--epochs", str(args.epochs), "--out", out]
    if args.fashion:
        command.append("--fashion")
    if processes > 1:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   f"--nproc_per_node={processes}", *command[1:]]
    printed = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    seconds = float(re.search(r"epochs in ([\d.]+) s", printed).group(1))
    loss = float(re.search(r"-> ([\d.]+)", printed).group(1))
    elbo = float(re.search(r"test ELBO per row: ([-\d.]+)", printed).group(1))
    return seconds, loss, elbo


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--fashion", action="store_true")
    args = parser.parse_args()
    modes = [1, args.processes]
    print("| processes | training time (s), per round | final training loss | test ELBO |")
    print("|---|---|---|---|")
    results = {mode: [] for mode in modes}
    with tempfile.TemporaryDirectory() as out:
        for round_ in range(args.rounds):
            for mode in modes if round_ % 2 == 0 else modes[::-1]:
                results[mode].append(run(mode, args, out))
    for mode, rows in results.items():
        print(f"| {mode} | {' / '.join(f'{s:.1f}' for s, _, _ in rows)} | {rows[-1][1]:.2f} | {rows[-1][2]:.2f} |")


if __name__ == "__main__":
    main()
