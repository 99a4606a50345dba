"""momentum(solver="randomized") on a dask-backed activity: lazy, and the in-memory numbers.

What the dask path is checked against:

* the in-memory randomized path on the same data: both draw the same random test matrix
  from the seed and span the same subspaces (QR- here, LU-normalized power iterations
  there), so every number agrees to round-off (float64: 1e-9 relative; float32: the
  float32 resolution the in-memory path itself has, below);
* the exact path (numpy ``eigh``, another LAPACK driver) on planted data with a known
  spectrum: within the Davis-Kahan bounds built from the residuals the result records
  (the bounds of tests/coarse/test_momentum_randomized.py);
* itself under other chunkings, a zarr store and a LocalCluster of 2 workers;
* the input is never loaded: ``dask.array.Array.__array__`` refuses, no task returns
  more than a quarter of the values, and the bytes read are counted.
"""

import warnings

import numpy as np
import pytest

import rgdata
from rgdata.coarse import momentum

from .test_momentum_randomized import _exact_modes, _kurtosis_bound, _planted

da = pytest.importorskip("dask.array")

FRACTIONS = [1.0, 0.2, 0.1, 0.05]
KEYS = (
    "eigenvalues",
    "eigen_residual",
    "captured_variance",
    "fourth_moment",
    "fourth_moment_median",
    "fourth_moment_median_ci_low",
    "fourth_moment_median_ci_high",
    "fourth_moment_median_jackknife",
    "retained_variance",
    "distribution",
    "outside_fraction",
    "tau_int",
)


def _lazy(act, chunks):
    return act.copy(data=da.from_array(act.values, chunks=chunks))


def _assert_same(got, ref, rtol, atol_scale=None):
    """Every variable of *ref* in *got* (same dims), equal within *rtol* of its own scale."""
    assert set(got.variables) == set(ref.variables)
    assert set(got.attrs) == set(ref.attrs)
    for name in ref.data_vars:
        assert got[name].dims == ref[name].dims, name
    for name in KEYS:
        a, b = np.asarray(got[name], dtype=float), np.asarray(ref[name], dtype=float)
        # residuals of converged modes are round-off of C itself: compared on C's scale
        of = ref["eigenvalues"] if name == "eigen_residual" else b
        scale = np.nanmax(np.abs(of)) if atol_scale is None else atol_scale
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale, err_msg=name)
    np.testing.assert_array_equal(got.block_start, ref.block_start)
    np.testing.assert_array_equal(got.n_modes, ref.n_modes)


def _strong_modes(n=150, t=2000, seed=0):
    """Five strong modes (variances 40, 25, 15, 8, 5; Laplace sources) plus white noise 0.25."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, 5)))
    lam = np.array([40.0, 25.0, 15.0, 8.0, 5.0])
    sources = rng.laplace(size=(5, t)) / np.sqrt(2)
    return (q * np.sqrt(lam)) @ sources + 0.5 * rng.standard_normal((n, t))


@pytest.mark.parametrize(
    ("n", "t", "chunks"),
    [
        (120, 1500, (40, 400)),  # N < T: the range finder works on z.T
        pytest.param(120, 1500, (120, 97), marks=pytest.mark.slow),  # chunked along time only
        (150, 120, (37, -1)),  # N > T: on z
        pytest.param(200, 3000, (64, 700), marks=pytest.mark.slow),
        pytest.param(300, 240, (300, 50), marks=pytest.mark.slow),
    ],
)
def test_dask_equals_in_memory_randomized_to_round_off(n, t, chunks):
    x, _ = _planted(n=n, t=t)
    act = rgdata.as_activity(x)
    kw = {"matrix": "covariance", "solver": "randomized", "n_iter": 4, "random_state": 5}
    with warnings.catch_warnings():
        # rank < N when T < N, and 4 iterations leave the last modes' residuals high:
        # said in warnings, the same on both paths (not what is tested here)
        warnings.simplefilter("ignore", UserWarning)
        ref = momentum(act, FRACTIONS, **kw)
        got = momentum(_lazy(act, chunks), FRACTIONS, **kw)
    _assert_same(got, ref, rtol=1e-9)
    assert got.attrs["method"] == "randomized_range_finder_dask"
    assert "kept lazy" in got.attrs["input_storage"]
    assert ref.attrs["input_storage"] == "memory"
    assert got.attrs["warnings"] == ref.attrs["warnings"]


def _check_against_exact(x, rand, exact):
    """The Davis-Kahan bounds of test_momentum_randomized.py, from the recorded residuals."""
    t = x.shape[1]
    z, c, lam, u = _exact_modes(x)
    res = rand.eigen_residual.values
    k_max = rand.sizes["mode"]
    assert np.all(np.abs(rand.eigenvalues.values - lam[:k_max]) <= res + 1e-12 * lam[0])
    np.testing.assert_allclose(rand.captured_variance, lam[:k_max].sum() / lam.sum(), rtol=1e-8)
    for level in range(1, rand.sizes["level"]):
        k = int(rand.n_modes[level])
        s = np.linalg.norm(res[:k]) / (rand.eigenvalues.values[k - 1] - lam[k])
        assert s < 1e-8  # so that the bounds below are tight
        phi = u[:, :k] @ (u[:, :k].T @ z)
        m2, m4 = np.mean(phi**2, axis=1), np.mean(phi**4, axis=1)
        tol_k = _kurtosis_bound(m2, m4, np.sqrt(lam[0]) * s, t) + 1e-9
        tol_ret = 2 * lam[0] * s / np.diag(c) + 1e-12
        got, ref = rand.isel(level=level), exact.isel(level=level)
        assert np.all(np.abs(got.fourth_moment - m4 / m2**2) <= tol_k)
        assert np.all(np.abs(got.fourth_moment - ref.fourth_moment) <= tol_k)
        assert np.all(np.abs(got.retained_variance - ref.retained_variance) <= tol_ret)
        assert abs(float(got.fourth_moment_median - ref.fourth_moment_median)) <= tol_k.max()
        np.testing.assert_allclose(got.distribution, ref.distribution, atol=1e-12)
    # level 0 is the data on both paths (summed in another order here)
    np.testing.assert_allclose(rand.fourth_moment[0], exact.fourth_moment[0], rtol=1e-12)
    np.testing.assert_array_equal(rand.block_start, exact.block_start)


def test_dask_matches_exact_on_strong_modes_plus_noise():
    x = _strong_modes()
    act = rgdata.as_activity(x)
    fractions = [1.0, 5 / 150, 3 / 150]  # keep the 5 and the 3 strongest modes
    exact = momentum(act, fractions, matrix="covariance")
    rand = momentum(
        _lazy(act, (50, 700)), fractions, matrix="covariance", solver="randomized"
    )  # the defaults: n_iter=7, n_oversamples=max(10, n_modes)
    assert rand.n_modes.values.tolist() == [150, 5, 3]
    _check_against_exact(x, rand, exact)
    # the planted variances are found (to the sampling error of 2000 samples, ~5%)
    np.testing.assert_allclose(rand.eigenvalues, [40, 25, 15, 8, 5], rtol=0.15)


@pytest.mark.slow
def test_dask_matches_exact_on_a_power_law_within_residual_bounds():
    # covariance eigenvalues 10 k^-1.5 (no gap): 30 power iterations for tight bounds
    x, _ = _planted(n=200, t=4000)
    act = rgdata.as_activity(x)
    exact = momentum(act, FRACTIONS, matrix="covariance")
    rand = momentum(
        _lazy(act, (50, 1000)),
        FRACTIONS,
        matrix="covariance",
        solver="randomized",
        n_iter=30,
        random_state=1,
    )
    _check_against_exact(x, rand, exact)


def test_float32_correlation_matches_in_memory():
    # float32 working data: the two paths round differently (products summed over other
    # chunks); the fourth moments move by a few float32 eps times the moments' sums
    x, _ = _planted(n=160, t=2000, seed=3)
    x = (x + 5.0).astype(np.float32)  # an offset: the means are removed in float64 on both
    act = rgdata.as_activity(x)
    kw = {"dtype": "float32", "solver": "randomized", "n_iter": 5, "random_state": 2}
    ref = momentum(act, [1.0, 0.1, 0.05], **kw)
    got = momentum(_lazy(act, (40, 800)), [1.0, 0.1, 0.05], **kw)
    assert got.attrs["dtype"] == "float32"
    np.testing.assert_allclose(got.eigenvalues, ref.eigenvalues, rtol=1e-5)
    np.testing.assert_allclose(got.fourth_moment, ref.fourth_moment, rtol=1e-4)
    np.testing.assert_allclose(got.retained_variance, ref.retained_variance, atol=1e-5)
    # the residuals carry float32 round-off of C (~ eps32 * lambda_1 per product term)
    eps32 = np.finfo(np.float32).eps
    lam1 = float(ref.eigenvalues[0])
    np.testing.assert_allclose(got.eigen_residual, ref.eigen_residual, atol=100 * eps32 * lam1)


def test_never_loaded_and_reads_counted(monkeypatch):
    from dask.callbacks import Callback

    x, _ = _planted(n=256, t=4000)

    class Source:
        """A read-only array that counts the values read from it."""

        def __init__(self, values):
            self.values, self.shape, self.dtype, self.ndim = values, values.shape, values.dtype, 2
            self.read = 0

        def __getitem__(self, key):
            out = self.values[key]
            self.read += out.size
            return out

    src = Source(x)
    lazy = rgdata.as_activity(x).copy(data=da.from_array(src, chunks=(64, 500)))
    largest = [0]

    def posttask(key, result, dsk, state, worker_id):
        if isinstance(result, np.ndarray):
            largest[0] = max(largest[0], result.size)

    def refuse(*a, **k):
        raise AssertionError("the whole dask array was loaded")

    n_iter = 4
    with monkeypatch.context() as m, Callback(posttask=posttask):
        m.setattr(da.Array, "__array__", refuse)
        ds = momentum(lazy, [1.0, 0.05, 0.02], solver="randomized", n_iter=n_iter)
    # the largest thing any task returns is a range-finder matrix, T x (13 + 13) here
    n_modes, t = 13, x.shape[1]
    assert ds.sizes["mode"] == n_modes and ds.attrs["n_oversamples"] == n_modes
    assert largest[0] == t * 2 * n_modes < x.size / 8
    # 2 n_iter + 7 passes (docstring of rgdata.coarse._momentum_lazy) and one per widening
    # of the lags: white-in-time sources close the window at the first 128 lags
    assert src.read == (2 * n_iter + 7) * x.size
    assert "kept lazy" in ds.attrs["input_storage"]
    # the guard can fail: the exact path loads the data
    largest[0] = 0
    with Callback(posttask=posttask), pytest.warns(UserWarning, match="read into memory"):
        exact = momentum(lazy, [1.0, 0.05, 0.02])
    assert largest[0] == x.size
    assert "read into memory" in exact.attrs["input_storage"]


def test_slow_data_widen_the_lags_as_far_as_the_in_memory_path():
    # AR(1) sources with lag-1 correlation 0.995 (tau_int ~ 400 > 128 lags / 5): the lags
    # are widened until Sokal's window closes, and the blocks equal the in-memory ones
    rng = np.random.default_rng(4)
    n, t = 60, 8000
    e = rng.standard_normal((n, t))
    s = np.empty_like(e)
    s[:, 0] = e[:, 0]
    for i in range(1, t):
        s[:, i] = 0.995 * s[:, i - 1] + e[:, i]
    x = rng.standard_normal((n, n)) @ s
    act = rgdata.as_activity(x)
    kw = {"solver": "randomized", "n_iter": 6, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # too few blocks for an interval
        ref = momentum(act, [1.0, 0.1], **kw)
        got = momentum(_lazy(act, (30, 1000)), [1.0, 0.1], **kw)
    assert float(ref.tau_int[0]) > 128 / 5
    np.testing.assert_allclose(got.tau_int, ref.tau_int, rtol=1e-9)
    np.testing.assert_array_equal(got.block_start, ref.block_start)
    assert got.attrs["median_ci_note"] == ref.attrs["median_ci_note"]


def test_zarr_store_and_round_trip(tmp_path):
    zarr = pytest.importorskip("zarr")
    import xarray as xr

    x, _ = _planted(n=96, t=2000, seed=1)
    store = zarr.open_array(
        str(tmp_path / "a.zarr"), mode="w", shape=x.shape, chunks=(32, 400), dtype="f8"
    )
    store[:] = x
    lazy = rgdata.as_activity(x).copy(data=da.from_zarr(str(tmp_path / "a.zarr")))
    kw = {"solver": "randomized", "n_modes": 12, "random_state": 7}
    got = momentum(lazy, **kw)
    ref = momentum(rgdata.as_activity(x), **kw)
    _assert_same(got, ref, rtol=1e-9)
    got.to_netcdf(tmp_path / "r.nc", engine="h5netcdf")
    back = xr.open_dataset(tmp_path / "r.nc", engine="h5netcdf").load()
    xr.testing.assert_allclose(back.set_xindex("fraction"), got)
    assert back.attrs["input_storage"] == got.attrs["input_storage"]


def test_seeded_reproducible():
    x, _ = _planted(n=120, t=1500)
    lazy = _lazy(rgdata.as_activity(x), (40, 500))
    kw = {"solver": "randomized", "n_iter": 1, "n_oversamples": 2}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # one iteration: residual warned
        a = momentum(lazy, [1, 0.25], random_state=3, **kw)
        b = momentum(lazy, [1, 0.25], random_state=3, **kw)
        c = momentum(lazy, [1, 0.25], random_state=4, **kw)
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
    np.testing.assert_array_equal(a.fourth_moment, b.fourth_moment)
    assert not np.array_equal(a.eigenvalues, c.eigenvalues)


@pytest.mark.slow
def test_local_cluster_two_workers_equals_serial():
    distributed = pytest.importorskip("distributed")
    x, _ = _planted(n=200, t=3000, seed=2)
    lazy = _lazy(rgdata.as_activity(x), (50, 600))
    kw = {"matrix": "covariance", "solver": "randomized", "n_iter": 8, "random_state": 0}
    serial = momentum(lazy, FRACTIONS, **kw)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        got = momentum(lazy, FRACTIONS, client=client, **kw)
    _assert_same(got, serial, rtol=1e-12)
    assert "dask client" in got.attrs["input_storage"]


def test_closed_client_raises_clear_error():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    )
    client = distributed.Client(cluster)
    client.close()
    cluster.close()
    x, _ = _planted(n=40, t=400)
    with pytest.raises(RuntimeError, match="momentum: the dask client was closed"):
        lazy = _lazy(rgdata.as_activity(x), (20, 200))
        momentum(lazy, [1, 0.1], solver="randomized", client=client)


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"solver": "lanczos"}, ValueError, "solver"),
        ({"solver": "randomized", "n_modes": 61}, ValueError, "n_modes"),
        ({"solver": "randomized", "fractions": [1, 0.5], "n_modes": 10}, ValueError, r"\[0\.5\]"),
        ({"solver": "randomized", "client": "tcp://x:8786"}, TypeError, "client must be None"),
    ],
)
def test_bad_input(kwargs, err, match):
    x = np.random.default_rng(0).standard_normal((60, 200))
    lazy = _lazy(rgdata.as_activity(x), (30, 100))
    kwargs = {"fractions": [1, 0.1], **kwargs}
    with pytest.raises(err, match=match):
        momentum(lazy, **kwargs)


def test_bad_values_raise_like_in_memory():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 300))
    bad = x.copy()
    bad[3, 7] = np.nan
    with pytest.raises(ValueError, match="1 NaN/inf"):
        momentum(_lazy(rgdata.as_activity(bad), (10, 100)), [1, 0.5], solver="randomized")
    const = x.copy()
    const[5] = 2.5
    for act in (rgdata.as_activity(const, allow_constant=True),):
        with pytest.raises(ValueError, match="constant") as in_memory:
            momentum(act, [1, 0.5], solver="randomized")
        with pytest.raises(ValueError, match="constant") as lazy:
            momentum(_lazy(act, (10, 100)), [1, 0.5], solver="randomized")
        assert str(lazy.value) == str(in_memory.value)
    with pytest.raises(ValueError, match="at least 10"):
        momentum(_lazy(rgdata.as_activity(x[:, :8]), (10, 4)), [1, 0.5], solver="randomized")


def test_client_with_in_memory_data_is_warned():
    distributed = pytest.importorskip("distributed")
    x = np.random.default_rng(0).standard_normal((30, 300))
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        pytest.warns(UserWarning, match="client was not used"),
    ):
        ds = momentum(rgdata.as_activity(x), [1, 0.5], solver="randomized", client=client)
    assert ds.attrs["input_storage"] == "memory"


def test_exact_on_dask_refused_when_it_would_not_fit(monkeypatch):
    from rgdata.coarse import _memory

    monkeypatch.setattr(_memory, "available_memory", lambda: 2**20)  # 1 MiB
    x = np.random.default_rng(0).standard_normal((100, 2000))
    lazy = _lazy(rgdata.as_activity(x), (50, 500))
    with pytest.raises(MemoryError, match="solver='randomized'"):
        momentum(lazy, [1, 0.5])
    # the randomized path does not need it
    assert momentum(lazy, [1, 0.05], solver="randomized").sizes["mode"] == 5
