"""How many CPU threads torch trains with: ``n_jobs``, and the cores other processes leave free.

Torch's CPU kernels run on an OpenMP pool of one thread per core, whose threads
spin while they wait for each other. When other processes hold the cores (a
second notebook, the workers of a parallel grid search, a build), a spinning
thread waits for one that has no core, and a fit runs several times, on some
machines tens of times, slower than on one thread. ``n_jobs=None`` counts the
cores that are idle when ``fit`` starts (at most once every ten seconds) and
trains on that many threads.
"""

import contextlib
import os
import time

import torch

# How long fit watches the machine before it starts: a few clock ticks per core.
_SAMPLE_SECONDS = 0.05
# A reading serves the fits that start within this many seconds of it: the other
# processes' load changes slowly, and a loop of small fits (a grid search, a test
# suite) would otherwise spend 50 ms of each fit watching.
_READING_LASTS = 10.0
_last_reading = (-float("inf"), None)


def _busy_seconds():
    """CPU time the whole machine has spent busy, in seconds (Linux's /proc/stat), or None."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    guest = sum(fields[8:10]) if len(fields) > 9 else 0  # already counted in user and nice
    return (sum(fields) - idle - guest) / os.sysconf("SC_CLK_TCK")


def _own_seconds():
    times = os.times()
    return times.user + times.system


def cores_in_use_by_others(seconds=_SAMPLE_SECONDS):
    """How many cores other processes kept busy over the next ``seconds`` (a float), or None if unknown.

    Reads the machine's busy time before and after, minus this process's own.
    Where /proc/stat is missing (macOS, Windows), the one-minute load average
    stands in for it, and failing that the answer is None.
    """
    start, own = _busy_seconds(), _own_seconds()
    if start is None:
        try:
            return os.getloadavg()[0]
        except (AttributeError, OSError):
            return None
    began = time.perf_counter()
    time.sleep(seconds)
    busy = _busy_seconds() - start - (_own_seconds() - own)
    return max(0.0, busy / (time.perf_counter() - began))


def training_threads(n_jobs):
    """The number of threads a fit uses for ``n_jobs`` (see the parameter's documentation)."""
    most = torch.get_num_threads()
    if n_jobs is None:
        if most == 1:  # nothing to choose (a worker of a parallel search, OMP_NUM_THREADS=1)
            return 1
        global _last_reading
        taken, others = _last_reading
        if time.monotonic() - taken > _READING_LASTS:
            others = cores_in_use_by_others()
            _last_reading = (time.monotonic(), others)
        if others is None:
            return most
        free = (os.cpu_count() or most) - others
        return max(1, min(most, int(free + 0.5)))
    if n_jobs < 0:  # scikit-learn's convention: -1 all, -2 all but one
        return max(1, most + 1 + n_jobs)
    return n_jobs


@contextlib.contextmanager
def torch_threads(n_threads):
    """Run the block with torch on ``n_threads`` threads; torch's own setting comes back afterwards."""
    before = torch.get_num_threads()
    if n_threads != before:
        torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
