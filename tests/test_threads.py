"""How many threads a fit uses: n_jobs, and the cores that other processes leave free."""

import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback
from sklearn.datasets import load_digits

from skvae import VAETransformer, _threads


class RecordThreads(Callback):
    def on_epoch_begin(self, net, **kwargs):
        net.history.record("threads", torch.get_num_threads())


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("n_jobs, used", [(1, 1), (2, 2), (-1, 2), (-2, 1)])
def test_a_fit_trains_on_n_jobs_threads_and_gives_torch_its_setting_back(n_jobs, used, two_threads):
    X = load_digits().data[:100] / 16
    model = VAETransformer(hidden_layer_sizes=(8,), max_epochs=2, n_jobs=n_jobs, callbacks=[RecordThreads()]).fit(X)
    assert model.history_[:, "threads"] == [used, used]
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize("others, used", [(0.0, 2), (0.3, 2), (0.8, 1), (1.0, 1), (2.0, 1), (None, 2)])
def test_by_default_a_fit_takes_the_cores_that_others_leave_free(others, used, two_threads, monkeypatch):
    # what the machine is doing is stood in for: the rule that follows from it is under test
    monkeypatch.setattr(_threads, "cores_in_use_by_others", lambda: others)
    monkeypatch.setattr(_threads.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(_threads, "_last_reading", (-float("inf"), None))
    assert _threads.training_threads(None) == used


def test_a_reading_of_the_machine_serves_the_fits_of_the_next_seconds(two_threads, monkeypatch):
    readings = []
    monkeypatch.setattr(_threads, "cores_in_use_by_others", lambda: readings.append(1) or 2.0)
    monkeypatch.setattr(_threads, "_last_reading", (-float("inf"), None))
    assert [_threads.training_threads(None) for _ in range(3)] == [1, 1, 1]
    assert len(readings) == 1
    monkeypatch.setattr(_threads, "_last_reading", (time.monotonic() - 11, 2.0))  # stale
    _threads.training_threads(None)
    assert len(readings) == 2


def test_the_machine_is_watched_only_when_there_is_a_choice(monkeypatch):
    def watched():
        raise AssertionError("watched the machine with one thread to give")

    monkeypatch.setattr(_threads, "cores_in_use_by_others", watched)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert _threads.training_threads(None) == 1
    finally:
        torch.set_num_threads(before)


def test_another_process_spinning_shows_as_a_busy_core():
    spin = "import time\nend = time.time() + 5\nwhile time.time() < end: pass"
    spinner = subprocess.Popen([sys.executable, "-c", spin])
    try:
        time.sleep(0.3)  # started
        busy = _threads.cores_in_use_by_others(0.2)
    finally:
        spinner.kill()
    if busy is None:
        pytest.skip("this platform does not say how busy it is")
    assert busy > 0.5, busy


def test_n_jobs_zero_is_refused_with_the_parameter_named():
    with pytest.raises(ValueError, match="n_jobs"):
        VAETransformer(n_jobs=0).fit(np.random.rand(20, 4))


def test_placing_new_rows_leaves_torch_on_the_threads_it_had():
    # numba, which places rows, shares OpenMP's thread count with torch: it once left torch on all
    # the cores after a transform, whatever the user (or OMP_NUM_THREADS) had set
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        X = load_digits().data[:200] / 16
        model = VAETransformer(n_components=2, hidden_layer_sizes=(8,), max_epochs=1, random_state=0).fit(X)
        assert model.placement_codes_ is not None  # the 2-D default places new rows among the training rows
        model.transform(X[:20])
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


SAME_BITS_ON_ANY_THREADS = """
import numpy as np
from sklearn.datasets import load_digits
from skvae import VAETransformer

# 32x32 images: on an AVX-512 CPU, MKL's products of this width give other bits on 2 threads than on 1
X = np.kron(load_digits().data[:300].reshape(-1, 8, 8) / 16, np.ones((4, 4))).reshape(300, -1)
fits = [VAETransformer(n_components=2, hidden_layer_sizes=(64,), max_epochs=3, random_state=0, n_jobs=n).fit(X)
        for n in (1, 2)]
codes = [m.transform(X[:50]) for m in fits]
decoded = [m.inverse_transform(codes[0]) for m in fits]
print(np.array_equal(*codes) and np.array_equal(*decoded))
"""


@pytest.mark.skipif(not torch.backends.mkl.is_available(), reason="MKL_CBWR is MKL's switch")
def test_with_strict_mkl_a_fit_gives_the_same_bits_on_any_number_of_threads(run_python):
    # What the n_jobs docs tell users who want a fit bit for bit whatever the machine's load. Torch's
    # matrix products split their sums by thread (without the switch, these two fits' 2-D codes
    # differed by 2 units on this project's AVX-512 machine); skvae itself (training, the map's
    # layout, placing new rows) must add nothing that depends on the thread count.
    assert run_python(SAME_BITS_ON_ANY_THREADS, MKL_CBWR="AUTO,STRICT").strip() == "True"
