"""PRG's fast paths against the previous numpy implementation, and ``observables=``.

``tests/coarse/_prg_reference.py`` holds the numpy code the numba kernels
replaced (float64 copies of every chunk, an FFT of every whole series); the
kernels must give the same numbers to round-off, the adaptive autocorrelation
lags the same numbers as the full ``T / 4`` lags, and a subset of observables
the same clusters and numbers as the full run.
"""

import warnings

import numpy as np
import pytest

import rgdata
from rgdata.coarse import _prg_levels, _prg_setup, _prg_stats, prg

from . import _prg_reference as ref


def ar1_spikes(rng, n, t, tau, p=0.1):
    """Binary units thresholding AR(1) inputs with correlation time *tau* (shared drive)."""
    a = np.exp(-1.0 / tau)
    drive = np.empty((4, t))
    drive[:, 0] = rng.normal(size=4)
    noise = rng.normal(size=(4, t)) * np.sqrt(1 - a * a)
    for s in range(1, t):
        drive[:, s] = a * drive[:, s - 1] + noise[:, s]
    own = rng.normal(size=(n, t))
    field = drive[rng.integers(0, 4, n)] + 0.7 * own
    return (field > np.quantile(field, 1 - p, axis=1, keepdims=True)).astype(np.int8)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int64, np.float64])
@pytest.mark.parametrize("max_lag", [3, 40])
def test_level_stats_match_numpy_reference(rng, dtype, max_lag):
    x = (rng.random((37, 3000)) < 0.2).astype(dtype) * 3
    x[5] = 0  # a constant row: no autocorrelation, counted out
    edges = np.array([0, 700, 1500, 2200, 3000])
    new = _prg_stats.level_stats(x, 0.0, edges, max_lag, True)
    old = ref.level_stats(x, 0.0, edges, max_lag, True)
    for key in ("var", "var_blocks"):
        np.testing.assert_allclose(new[key], old[key], rtol=1e-12, atol=0)
    for key in ("p0", "p0_blocks"):
        np.testing.assert_array_equal(new[key], old[key])
    for key in ("acf", "acf_blocks"):  # the reference's float32 FFT: ~1e-6
        np.testing.assert_allclose(new[key], old[key], rtol=0, atol=2e-6)


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_autocorrelation_rows_against_exact_sums(rng, method):
    x = rng.normal(size=(6, 800)).cumsum(axis=1)  # slow decay, wide range of values
    x[2] *= 1e20  # large values: the float32 path must not overflow
    lags = 25
    acf, ok = _prg_stats.autocorrelation_rows(x, lags, method=method)
    d = x - x.mean(axis=1, keepdims=True)
    exact = np.array([[(r[: r.size - t] * r[t:]).sum() for t in range(lags + 1)] for r in d])
    exact = exact / (800 - np.arange(lags + 1)) / (exact[:, :1] / 800)
    assert ok.all()
    np.testing.assert_allclose(acf, exact, rtol=0, atol=1e-12 if method == "direct" else 2e-6)


@pytest.mark.parametrize("dtype", [bool, np.int8, np.uint16, np.int64])
@pytest.mark.parametrize(("t0", "t1", "lags"), [(0, None, 40), (333, 1700, 25), (10, 30, 12)])
def test_sparse_autocorrelation_against_exact_sums(rng, dtype, t0, t1, lags):
    """Products of the non-zeros only: the direct sums of the centred rows, any segment."""
    x = (rng.random((9, 2000)) < 0.07) * rng.integers(1, 4, (9, 2000))
    x[1, :] = 0  # constant: no autocorrelation
    x[4, 1990:] = 3  # non-zeros at the end, inside the lag window
    x[5, t0 : t0 + 3] = 2  # and at the start of the segment
    x = x.astype(bool) if dtype is bool else x.astype(dtype)
    end = x.shape[1] if t1 is None else t1
    means = rng.random(9)  # any centre, not only the segment's mean
    prod = _prg_stats.sparse_lagged_rows(x, means, t0, end, lags)
    d = x[:, t0:end].astype(np.float64) - means[:, None]
    exact = np.array([[(r[: r.size - t] * r[t:]).sum() for t in range(lags + 1)] for r in d])
    np.testing.assert_allclose(prod, exact, rtol=1e-12, atol=1e-9)
    acf, ok = _prg_stats.autocorrelation_rows(x, lags, t0=t0, t1=t1, method="sparse")
    ref_acf, ref_ok = _prg_stats.autocorrelation_rows(x, lags, t0=t0, t1=t1, method="direct")
    np.testing.assert_array_equal(ok, ref_ok)
    np.testing.assert_allclose(acf, ref_acf, rtol=0, atol=1e-12)


def test_methods_are_chosen_row_by_row(rng):
    """Sparse and dense rows together: each row's numbers as if it were alone (any batching)."""
    sparse = (rng.random((5, 20_000)) < 0.03).astype(np.int16)
    dense = rng.integers(0, 4, (4, 20_000)).astype(np.int16)
    x = np.concatenate([sparse, dense])[rng.permutation(9)]
    chosen = _prg_stats.sparse_rows(x, 128)
    assert chosen.sum() == 5
    acf, ok = _prg_stats.autocorrelation_rows(x, 128)
    for i in range(9):
        alone, ok_i = _prg_stats.autocorrelation_rows(x[i : i + 1], 128)
        np.testing.assert_array_equal(acf[i], alone[0])
        assert ok[i] == ok_i[0]
    for method in ("sparse", "fft"):  # and each row by the method chosen for it
        forced, _ = _prg_stats.autocorrelation_rows(x, 128, method=method)
        rows = chosen if method == "sparse" else ~chosen
        np.testing.assert_array_equal(acf[rows], forced[rows])


def test_sparse_products_refuse_float_rows(rng):
    with pytest.raises(TypeError, match="integer rows"):
        _prg_stats.sparse_lagged_rows(rng.random((2, 50)), np.zeros(2), 0, 50, 3)


def test_acf_method_follows_density():
    """Sparse for the retina-like 4 % of spikes, FFT or direct once they are dense."""
    rng = np.random.default_rng(1)
    sparse = (rng.random((4, 50_000)) < 0.04).astype(np.int8)
    dense = (rng.random((4, 50_000)) < 0.6).astype(np.int8)
    assert _prg_stats.acf_method(sparse, 128) == "sparse"
    assert _prg_stats.acf_method(dense, 128) == "fft"
    assert _prg_stats.acf_method(dense, 8) == "direct"
    assert _prg_stats.acf_method(sparse.astype(np.float32), 128) == "fft"  # floats: never sparse


def test_direct_is_chosen_only_for_few_lags():
    assert _prg_stats.use_direct(283_041, 16)
    assert not _prg_stats.use_direct(283_041, 2000)


@pytest.mark.parametrize("how", ["nonzero_mean", "variance", "none"])
def test_normalizations_match_numpy_reference(rng, how):
    s = (rng.random((20, 4000)) < 0.1) * rng.integers(1, 4, (20, 4000))
    s = s.astype(np.float32) / 3  # non-integer sums, as after the first level
    s[3] = 0.5  # constant row
    out_new, out_old = np.empty_like(s), np.empty_like(s)
    const_new = _prg_stats.normalize_rows(s, how, out_new)
    const_old = ref.normalize_rows(s, how, out_old)
    np.testing.assert_array_equal(const_new, const_old)
    np.testing.assert_allclose(out_new, out_old, rtol=2e-7, atol=1e-7)
    z_new = _prg_stats.standardize_rows(s, np.dtype(np.float32))
    np.testing.assert_allclose(z_new, ref.standardize_rows(s, np.float32), rtol=2e-7, atol=1e-7)


def test_prg_with_reference_kernels_gives_the_same_result(rng, monkeypatch):
    """The whole prg with the previous numpy normalizations: same clusters and numbers."""
    x = ar1_spikes(rng, 64, 6000, tau=4.0)
    act = rgdata.as_activity(x, kind="spikes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        new = prg(act)
        monkeypatch.setattr(_prg_levels, "normalize_rows", ref.normalize_rows)
        monkeypatch.setattr(_prg_levels, "standardize_rows", ref.standardize_rows)
        old = prg(act)
    np.testing.assert_array_equal(new["membership"], old["membership"])
    for name in new.data_vars:
        np.testing.assert_allclose(new[name], old[name], rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("tau", [2.0, 60.0])
def test_adaptive_lags_equal_full_lags(rng, monkeypatch, tau):
    """Levels compute only the lags they need; the numbers are those of T / 4 lags.

    With tau = 60 the automatic max_lag (3 tau_c) and tau_int's window exceed
    the first 128 lags, so the lags must grow (and the top levels'
    max_lag is pushed down to every level).
    """
    x = ar1_spikes(rng, 32, 8000, tau=tau)
    act = rgdata.as_activity(x, kind="spikes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = {}
        for obs in ("all", ("variance", "silence")):
            fast = prg(act, observables=obs)
            with monkeypatch.context() as m:
                m.setattr(_prg_setup, "_FIRST_LAG", {True: 10**9, False: 10**9})
                full = prg(act, observables=obs)
            runs[obs] = fast
            assert fast.attrs["max_lag"] == full.attrs["max_lag"]
            np.testing.assert_array_equal(fast["membership"], full["membership"])
            for name in fast.data_vars:
                np.testing.assert_allclose(
                    fast[name], full[name], rtol=0, atol=2e-5, err_msg=f"{obs} {name}"
                )
    # tau = 60: more lags than the first 128 were needed (and computed)
    assert runs["all"].attrs["max_lag"] > 128 if tau > 10 else runs["all"].attrs["max_lag"] == 100


def test_lags_without_the_reported_autocorrelation_start_small(rng, monkeypatch):
    """alpha~/beta~ only: 16 direct lags where tau_int's window closes, else one jump to 128."""
    tried = []
    real = _prg_levels.cluster_mean_acf

    def spy(raw, max_lag):
        tried.append(max_lag)
        return real(raw, max_lag)

    monkeypatch.setattr(_prg_levels, "cluster_mean_acf", spy)
    ab = ("variance", "silence")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prg(rgdata.as_activity(ar1_spikes(rng, 32, 4000, tau=0.5), kind="spikes"), observables=ab)
        assert set(tried) == {16}
        tried.clear()
        prg(rgdata.as_activity(ar1_spikes(rng, 32, 8000, tau=60), kind="spikes"), observables=ab)
    assert tried[:2] == [16, _prg_setup.RETRY_LAG]  # not 64: straight to one FFT
    assert 64 not in tried and min(tried[1:]) >= _prg_setup.RETRY_LAG


def test_observables_subset_same_numbers_rest_nan(rng):
    x = ar1_spikes(rng, 64, 4000, tau=3.0)
    act = rgdata.as_activity(x, kind="spikes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = prg(act)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no eigenvalue warning: spectra were not asked for
        ab = prg(act, observables=["variance", "silence"])
    assert ab.attrs["observables"] == "variance, silence"
    assert full.attrs["observables"] == ", ".join(_prg_setup.OBSERVABLES)
    np.testing.assert_array_equal(ab["membership"], full["membership"])
    assert ab.attrs["n_blocks"] == full.attrs["n_blocks"]
    for name in ("variance", "variance_blocks", "silence_free_energy"):
        np.testing.assert_allclose(ab[name], full[name], rtol=1e-12, err_msg=name)
    # alpha~/beta~ only: tau_int from 16 direct float64 lagged products, the full run's from a
    # 128-lag float32 FFT (error ~1e-6 per lag, test_autocorrelation_rows_against_exact_sums)
    np.testing.assert_allclose(ab["tau_int"], full["tau_int"], rtol=2e-6, err_msg="tau_int")
    np.testing.assert_array_equal(
        ab["silence_free_energy_blocks"], full["silence_free_energy_blocks"]
    )
    for name in ("eigenvalues", "autocorrelation", "tau_c", "distribution", "zero_fraction"):
        assert np.isnan(ab[name].values).all(), name
        assert np.isfinite(full[name].values).any(), name
    only_spectra = prg(act, observables="spectra")
    np.testing.assert_array_equal(only_spectra["eigenvalues"], full["eigenvalues"])
    assert np.isnan(only_spectra["variance"]).all()


@pytest.mark.parametrize(
    "bad, err, words",
    [
        ("alpha", ValueError, "unknown 'alpha'"),
        (["variance", "spectrum"], ValueError, "unknown 'spectrum'"),
        ([], ValueError, "empty"),
        (3, TypeError, "int 3"),
        (["variance", 1], TypeError, "int 1"),
    ],
)
def test_observables_bad_input(rng, bad, err, words):
    act = rgdata.as_activity((rng.random((8, 400)) < 0.2).astype(np.int8), kind="spikes")
    with pytest.raises(err, match="observables") as info:
        prg(act, observables=bad)
    assert words in str(info.value)
    assert "autocorrelation" in str(info.value)  # what is accepted
