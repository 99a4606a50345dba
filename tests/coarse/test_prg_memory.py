"""prg on any machine: memory estimate and budget, overflow guards, the left-out warning."""

import json
import tracemalloc
import warnings

import numpy as np
import pytest

import rgdata
from rgdata.coarse import _memory, _prg_stats, prg
from rgdata.coarse._memory import available_memory, prg_peak_bytes


def spikes(rng, n, t, p=0.1):
    return rgdata.as_activity((rng.random((n, t)) < p).astype(np.int8), kind="spikes")


def test_tiny_max_memory_refused_before_any_work(rng):
    act = spikes(rng, 64, 1000)
    with pytest.raises(MemoryError) as err:
        prg(act, max_memory=1000)
    msg = str(err.value)
    assert "GiB" in msg and "max_memory (0.00 GiB)" in msg
    assert "corr_dtype='float32'" in msg and "fewer units" in msg and "subsample" in msg
    needed = prg_peak_bytes(
        64,
        1000,
        1000,
        input_itemsize=1,
        copies_input=False,
        corr_itemsize=4,
        sum_itemsize=1,
        max_eigen_size=256,
        prepared_itemsize=1 / 8,  # binary spikes packed into bits for exact co-occurrences
        product_itemsize=4,
        second_itemsize=2 / 8,  # then their pair sums (0-2), multiples of the variables
        second_product_itemsize=4,
    )
    assert f"{needed / 2**30:.2f} GiB" in msg
    # a budget above the estimate runs, and the estimate is recorded
    res = prg(act, max_memory=needed + 1)
    assert res.attrs["peak_memory_estimate_gib"] == pytest.approx(needed / 2**30, abs=1e-4)
    prg(act, max_memory=float("inf"))


def test_default_budget_is_the_available_memory(rng, monkeypatch):
    act = spikes(rng, 64, 1000)
    monkeypatch.setattr(_memory, "available_memory", lambda: 4096)
    with pytest.raises(MemoryError, match="the memory available now"):
        prg(act)
    monkeypatch.setattr(_memory, "available_memory", lambda: None)  # unknown: no check
    prg(act)


def test_available_memory_reads_the_machine():
    avail = available_memory()
    assert avail is None or avail > 0


def test_meminfo_parsing(tmp_path):
    path = tmp_path / "meminfo"
    path.write_text("MemTotal: 100 kB\nMemFree: 10 kB\nMemAvailable:   2048 kB\n")
    assert _memory._meminfo_available(path) == 2048 * 1024
    path.write_text("MemTotal: 100 kB\n")
    assert _memory._meminfo_available(path) is None
    assert _memory._meminfo_available(tmp_path / "missing") is None
    cg = tmp_path / "cg"
    cg.mkdir()
    (cg / "memory.max").write_text("1000\n")
    (cg / "memory.current").write_text("300\n")
    assert _memory._cgroup_available(cg) == 700
    (cg / "memory.max").write_text("max\n")
    assert _memory._cgroup_available(cg) is None


def test_bad_max_memory(rng):
    act = spikes(rng, 16, 400)
    with pytest.raises(TypeError, match="max_memory must be None or a number of bytes, got str"):
        prg(act, max_memory="8GB")
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="max_memory must be a positive number of bytes"):
            prg(act, max_memory=bad)


@pytest.mark.parametrize(
    ("kind", "corr_dtype", "shuffle", "sparse_acf"),
    [
        ("spikes", "float32", False, False),
        ("spikes", "float32", False, True),
        ("gauss64", "float32", True, False),
        ("spikes", "float64", True, False),
        ("spikes", "float64", True, True),
    ],
)
def test_estimate_bounds_the_measured_peak(rng, monkeypatch, kind, corr_dtype, shuffle, sparse_acf):
    """The estimate bounds the peak, within a factor 2 when the autocorrelations take the FFT.

    The estimate reserves the FFT's row chunks whatever the data (the lags,
    and with them the method, are chosen during the run); sparse spikes take
    the sparse products instead and may then peak lower than half of it.
    """
    if not sparse_acf:  # floats never take the sparse products
        monkeypatch.setattr(_prg_stats, "sparse_cost", lambda density, max_lag: np.inf)
    n, t = 600, 3000
    if kind == "spikes":
        act = spikes(rng, n, t, p=0.05)  # binary: tied correlations
    else:
        act = rgdata.as_activity(rng.normal(size=(n, t)))
    if shuffle:  # unsorted labels: prg reorders (copies) the input
        act = act.isel(unit=rng.permutation(n))
    prg(act.isel(unit=slice(0, 16), time=slice(0, 400)), corr_dtype=corr_dtype)  # compile
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tracemalloc.start()
        try:
            res = prg(act, corr_dtype=corr_dtype)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    estimate = res.attrs["peak_memory_estimate_gib"] * 2**30
    assert peak <= estimate
    if not sparse_acf:
        assert estimate <= 2.0 * peak


def test_int64_sums_that_overflow_are_computed_in_float64(rng):
    # sums of two values near 2**62 wrap around in int64
    x = rng.integers(2**61, 2**62, size=(8, 400), dtype=np.int64)
    with pytest.warns(UserWarning, match="never silent"):
        res = prg(
            rgdata.as_activity(x),
            n_levels=2,
            normalization="none",
            pairing="random",
            random_state=0,
        )
    assert res.attrs["sum_dtype"] == "float64"
    member = res["membership"].sel(level=2).values
    sums = np.stack([x[member == c].astype(np.float64).sum(axis=0) for c in range(2)])
    np.testing.assert_allclose(res["variance"].sel(level=2), sums.var(axis=1).mean(), rtol=1e-9)
    assert float(res["variance"].sel(level=2)) > 0
    # within int64 the narrowest integer dtype stays
    small = prg(spikes(rng, 8, 400), n_levels=2)
    assert small.attrs["sum_dtype"] == "int8"


def test_values_too_large_to_square_are_refused(rng):
    x = rng.normal(size=(8, 400)) * 1e149
    with pytest.raises(ValueError, match=r"activity values are too large: max \|activity\| = 3.7"):
        prg(rgdata.as_activity(x))
    with pytest.raises(ValueError, match=r"Accepted: max \|activity\| <= 6.25e\+147"):
        prg(rgdata.as_activity(x))
    res = prg(rgdata.as_activity(x * 1e-2), n_levels=2)  # ~4e147: accepted, finite results
    assert np.all(np.isfinite(res["variance"])) and np.all(np.isfinite(res["tau_c"]))
    with pytest.raises(ValueError, match="normalization='none' with corr_dtype='float32'"):
        prg(rgdata.as_activity(x * 1e-110), normalization="none")
    prg(rgdata.as_activity(x * 1e-110), normalization="none", corr_dtype="float64", n_levels=2)


def test_left_out_recorded_always_warned_once_above_a_quarter(rng):
    # 40 units, 4 levels: 8 (20 %) left out of level 4 -> recorded, no warning
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        res = prg(spikes(rng, 40, 2000), random_state=0)
    assert not [x for x in w if "odd numbers of clusters" in str(x.message)]
    assert list(res["n_left_out"].values) == [0, 0, 0, 0, 8]
    assert "left out" in res.attrs["left_out"]
    # 47 units: odd at four levels, 15 (32 %) left out of level 4 -> one warning, at our line
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        res = prg(spikes(rng, 47, 2000), n_levels=4, random_state=0)
    left = [x for x in w if "odd numbers of clusters" in str(x.message)]
    assert len(left) == 1
    assert left[0].filename == __file__
    assert "15 of 47 units (32%)" in str(left[0].message)
    assert "n_levels=3" in str(left[0].message)
    assert list(res["n_left_out"].values) == [0, 1, 3, 7, 15]
    assert len(json.loads(res.attrs["left_out"])) == 4


def test_warning_names_the_user_line_through_library_code(rng):
    # a wrapper whose code lives (by its filename) inside the rgdata package, as a report
    # section or a null model does: the warning must still name this file, not the wrapper
    import os

    inside = os.path.join(os.path.dirname(rgdata.__file__), "diagnostics", "_fake_wrapper.py")
    scope = {"prg": prg}
    exec(compile("def wrapper(act):\n    return prg(act, n_levels=4)\n", inside, "exec"), scope)
    act = spikes(rng, 47, 2000)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        scope["wrapper"](act)
    left = [x for x in w if "odd numbers of clusters" in str(x.message)]
    assert len(left) == 1 and left[0].filename == __file__


def test_estimate_counts_the_spectra_of_threads_beyond_two(monkeypatch):
    from rgdata.coarse import _memory

    def estimate(threads):
        monkeypatch.setattr(_memory, "chunk_threads", lambda: threads)
        return prg_peak_bytes(
            1024,
            1_000_000,
            1_000_000,
            input_itemsize=1,
            copies_input=False,
            corr_itemsize=4,
            sum_itemsize=2,
            max_eigen_size=256,
            prepared_itemsize=1 / 8,  # binary spikes: packed bits, so the spectra can dominate
            product_itemsize=4,
            second_itemsize=2 / 8,
            second_product_itemsize=4,
        )

    # two threads share what one counts (three copies); four hold two roots' worth more
    assert estimate(1) == estimate(2) < estimate(4)
