"""ThreadChooser: threads only where they are measured faster (fake clock and kernels)."""

import numpy as np
import pytest

from rgdata import _threads
from rgdata._threads import EXPLORE_FRACTION, ThreadChooser
from rgdata.lattice.sampling import sample_ising, sample_ising_replicas


class FakeMachine:
    """A clock advanced by fake kernels: *serial* and *parallel* seconds per unit of work."""

    def __init__(self, serial, parallel):
        self.now = 0.0
        self.rate = {"serial": serial, "parallel": parallel}
        self.calls = {"serial": 0, "parallel": 0}

    def clock(self):
        return self.now

    def kernel(self, mode):
        def run(work):
            self.now += self.rate[mode] * work
            self.calls[mode] += 1
            return mode

        return run


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setattr(_threads, "available_cores", lambda: 2)
    monkeypatch.setattr(_threads.numba.config, "NUMBA_NUM_THREADS", 2)
    monkeypatch.setattr(_threads, "run_with_threads", lambda n, kernel, *args: kernel(*args))
    monkeypatch.setattr(_threads, "free_cores_now", lambda: 1)  # the other core is free


def run_calls(chooser, machine, n_calls, work=1000.0):
    for _ in range(n_calls):
        chooser.run(work, machine.kernel("serial"), machine.kernel("parallel"), work)


def test_slow_threads_fall_back_to_one(two_cores):
    # busy machine: the parallel kernel is 4x slower than the serial one
    machine = FakeMachine(serial=1.0, parallel=4.0)
    chooser = ThreadChooser(2, clock=machine.clock)
    run_calls(chooser, machine, 2000)
    summary = chooser.summary()
    assert summary["n_threads_used"] == 1
    assert summary["thread_speedup"] == pytest.approx(0.25)
    # time lost to timing and re-timing the threads stays within the exploration budget
    serial_only = 2000 * 1000.0
    calibration = 3 * 1000.0 * 3.0
    assert machine.now <= serial_only * (1 + EXPLORE_FRACTION) + calibration
    # ... but the threads are re-timed now and then (the machine may become idle)
    assert machine.calls["parallel"] > 3


def test_clearly_slow_threads_are_timed_once(two_cores):
    # 16x slower threads (measured with a busy-loop process on a loaded 2-core machine)
    machine = FakeMachine(serial=1.0, parallel=16.0)
    chooser = ThreadChooser(2, clock=machine.clock)
    run_calls(chooser, machine, 10)
    assert machine.calls == {"serial": 9, "parallel": 1}


def test_fast_threads_are_used(two_cores):
    machine = FakeMachine(serial=1.0, parallel=0.55)
    chooser = ThreadChooser(2, clock=machine.clock)
    run_calls(chooser, machine, 500)
    summary = chooser.summary()
    assert summary["n_threads_used"] == 2
    assert summary["thread_speedup"] == pytest.approx(1 / 0.55)
    assert summary["threaded_work_fraction"] > 0.95


def test_machine_becoming_idle_is_noticed(two_cores):
    machine = FakeMachine(serial=1.0, parallel=4.0)
    chooser = ThreadChooser(2, clock=machine.clock)
    run_calls(chooser, machine, 500)
    machine.rate["parallel"] = 0.5
    run_calls(chooser, machine, 3000)
    assert chooser.summary()["n_threads_used"] == 2


def test_request_capped_at_available_cores(monkeypatch):
    monkeypatch.setattr(_threads, "available_cores", lambda: 1)
    machine = FakeMachine(serial=1.0, parallel=0.1)
    chooser = ThreadChooser(4, clock=machine.clock)
    run_calls(chooser, machine, 20)
    assert machine.calls["parallel"] == 0
    summary = chooser.summary()
    assert (summary["n_threads"], summary["n_threads_available"]) == (4, 1)
    assert (summary["n_threads_used"], summary["thread_speedup"]) == (1, 1.0)


def test_samplers_record_thread_use():
    kw = dict(algorithm="metropolis", burn_in=50, spacing=2, random_state=4)
    cfg = sample_ising(16, 2.5, 20, n_threads=2, **kw)
    for key in ("n_threads", "n_threads_available", "n_threads_used", "thread_speedup"):
        assert key in cfg.attrs
    assert cfg.attrs["n_threads"] == 2
    assert cfg.attrs["n_threads_used"] in (1, 2)
    assert np.array_equal(cfg.values, sample_ising(16, 2.5, 20, n_threads=1, **kw).values)
    rep = sample_ising_replicas(8, 2.5, 4, n_threads=2, burn_in=10, spacing=2, random_state=4)
    assert rep.attrs["n_threads"] == 2 and rep.attrs["n_threads_used"] in (1, 2)


def test_busy_cores_keep_one_thread_without_timing_the_threads(two_cores):
    # a busy-loop process on the other core: one parallel call would cost ~20 serial ones
    machine = FakeMachine(serial=1.0, parallel=20.0)
    chooser = ThreadChooser(2, clock=machine.clock, free_cores=lambda: 0)
    run_calls(chooser, machine, 1000)
    assert machine.calls["parallel"] == 0
    assert machine.now == 1000 * 1000.0  # exactly the serial run: nothing lost
    # asked again every 1 / EXPLORE_FRACTION serial calls, not at every call
    assert chooser.busy_checks == pytest.approx(1000 * EXPLORE_FRACTION, abs=2)
    assert chooser.summary()["n_threads_used"] == 1


def test_core_freed_later_is_used(two_cores):
    machine = FakeMachine(serial=1.0, parallel=20.0)
    free = {"now": 0}
    chooser = ThreadChooser(2, clock=machine.clock, free_cores=lambda: free["now"])
    run_calls(chooser, machine, 300)
    assert machine.calls["parallel"] == 0
    free["now"], machine.rate["parallel"] = 1, 0.55  # the busy process ended
    run_calls(chooser, machine, 300)
    assert machine.calls["parallel"] > 240  # asked again within ~50 calls, then threads
    assert chooser.summary()["thread_speedup"] == pytest.approx(1 / 0.55)


def test_unknown_free_cores_leave_the_timing_to_decide(two_cores):
    machine = FakeMachine(serial=1.0, parallel=0.55)
    chooser = ThreadChooser(2, clock=machine.clock, free_cores=lambda: None)  # not Linux
    run_calls(chooser, machine, 100)
    assert chooser.summary()["n_threads_used"] == 2


@pytest.mark.parametrize(
    ("content", "cores", "free"),
    [("0.50 0.40 0.30 1/120 999\n", 2, 1), ("3.1 2.0 1.0 3/150 42\n", 2, 0), ("1 1 1 2/9 1", 8, 6)],
)
def test_free_cores_now_reads_the_running_tasks(tmp_path, monkeypatch, content, cores, free):
    path = tmp_path / "loadavg"
    path.write_text(content)
    monkeypatch.setattr(_threads, "LOADAVG_PATH", str(path))
    monkeypatch.setattr(_threads, "available_cores", lambda: cores)
    assert _threads.free_cores_now() == free


def test_free_cores_now_unknown_without_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(_threads, "LOADAVG_PATH", str(tmp_path / "missing"))
    assert _threads.free_cores_now() is None
    (tmp_path / "garbled").write_text("not a loadavg line")
    monkeypatch.setattr(_threads, "LOADAVG_PATH", str(tmp_path / "garbled"))
    assert _threads.free_cores_now() is None
