"""The fast exact pairing paths give the reference path's numbers.

* co-occurrences counted from bit planes equal the BLAS product bit for bit;
* after the first step of binary spikes under ``"nonzero_mean"`` the float32
  variables are exact positive multiples of the integer cluster sums, which
  are then paired on the exact integer path;
* the first step's normalized pair sums computed straight from the integers
  equal the stored level-0 variables summed, bit for bit;
* ``prg`` with the fast paths gives the clusters and every statistic of the
  reference path (bit planes off, the float64 path after the first step, the
  level-0 variables stored).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

from rgdata.coarse import _prg_levels, _prg_similarity, prg
from rgdata.coarse._prg_bits import bit_planes, n_planes, plane_gram, plane_moments
from rgdata.coarse._prg_kernels import (
    finish_rows,
    normalize_into,
    pair_sums,
    proportional_rows,
    row_scales,
    scaled_pair_sums,
    scaled_pair_sums_bytes,
)
from rgdata.coarse._prg_similarity import (
    TIE_DECIMALS,
    dense_similarity,
    finish_correlations,
    pairing_rows,
    scratch_view,
)
from rgdata.coarse._prg_stats import scaled_pair_rows

from ._data import tied_spikes


def _tied_spikes(n, t, seed):
    return tied_spikes(n, t, seed, np.int8)


@pytest.mark.parametrize("top", [1, 2, 3])
@pytest.mark.parametrize("t_len", [1, 63, 64, 65, 300])
def test_plane_gram_equals_the_blas_product(top, t_len, rng):
    x = rng.integers(0, top + 1, size=(37, t_len)).astype(np.int8)
    planes = bit_planes(x, n_planes(x))
    xi = x.astype(np.int64)
    want = xi @ xi.T  # exact int64 products
    np.testing.assert_array_equal(plane_gram(planes, "float64"), want)
    np.testing.assert_array_equal(plane_gram(planes, "float32"), want.astype(np.float32))
    sums, squares = plane_moments(planes)
    np.testing.assert_array_equal(sums, xi.sum(1))
    np.testing.assert_array_equal(squares, (xi * xi).sum(1))


def test_n_planes_refuses_negative_and_large_values():
    assert n_planes(np.array([[0, 1, 1]])) == 1
    assert n_planes(np.array([[0.0, 3.0]])) == 2
    assert n_planes(np.array([[-1, 1]])) is None
    assert n_planes(np.array([[0, 4]])) is None
    assert n_planes(np.zeros((0, 3))) is None


@pytest.mark.parametrize("dtype", [np.int8, np.float32, np.float64])
def test_packed_rows_give_the_blas_path_correlations_bit_for_bit(dtype):
    x = _tied_spikes(256, 1000, 2).astype(dtype)
    x[5] = 0  # a constant row
    packed = pairing_rows(x, packed=True)
    assert packed.planes is not None and packed.values is None
    blas = pairing_rows(x)
    assert blas.planes is None
    for out in ("float32", "float64"):
        np.testing.assert_array_equal(dense_similarity(packed, out), dense_similarity(blas, out))
    # any split into row chunks: the same numbers
    part = packed.take(slice(10, 40))
    np.testing.assert_array_equal(
        dense_similarity(part, "float64"), dense_similarity(blas.take(slice(10, 40)), "float64")
    )


def test_packing_is_skipped_where_it_does_not_apply():
    counts = np.array([[0, 4, 1, 2], [1, 0, 0, 5]], dtype=np.int16)
    assert pairing_rows(counts, packed=True).planes is None  # values above 3: BLAS product
    floats = np.array([[0.5, 1.0, 0.0], [1.0, 0.0, 1.0]])
    assert not pairing_rows(floats, packed=True).exact  # not integers: float64 z-scores


def _first_step(x):
    """Level-1 integer sums and nonzero_mean variables of binary *x* (pairs 2k, 2k+1)."""
    a, b = np.arange(0, x.shape[0], 2), np.arange(1, x.shape[0], 2)
    raw = pair_sums(x, a, b, np.empty((a.size, x.shape[1]), np.int8))
    y0 = np.empty(x.shape, np.float32)
    normalize_into(x, 0, y0)
    y1 = np.empty(raw.shape, np.float32)
    normalize_into(y0[a] + y0[b], 0, y1)
    return raw, y1


def test_first_step_variables_are_exact_multiples_of_the_sums():
    x = _tied_spikes(64, 500, 3)
    raw, y1 = _first_step(x)
    assert proportional_rows(y1, raw)
    assert _prg_levels._proportional(y1, raw)
    # one sample off by one float32 step, a negative factor, a constant row that is not
    bad = y1.copy()
    k = int(np.flatnonzero(raw[7])[0])
    bad[7, k] = np.nextafter(bad[7, k], np.float32(np.inf))
    assert not proportional_rows(bad, raw)
    assert not proportional_rows(-y1, raw)
    zero_raw = raw.copy()
    zero_raw[3] = 0
    assert not proportional_rows(y1, zero_raw)  # y1[3] is not constant
    flat = y1.copy()
    flat[3] = 0.25
    assert proportional_rows(flat, zero_raw)  # all-zero sums, constant variables
    # not float32 variables, or sums that are not integers: never
    assert not _prg_levels._proportional(y1.astype(np.float64), raw)
    assert not _prg_levels._proportional(y1, raw.astype(np.float32))


def test_the_next_step_is_not_proportional():
    x = _tied_spikes(64, 500, 4)
    raw, y1 = _first_step(x)
    a, b = np.arange(0, 32, 2), np.arange(1, 32, 2)
    raw2 = pair_sums(raw, a, b, np.empty((16, raw.shape[1]), np.int8))
    y2 = np.empty(raw2.shape, np.float32)
    normalize_into(y1[a] + y1[b], 0, y2)
    assert not proportional_rows(y2, raw2)  # weighted sums: the float64 path


@pytest.mark.parametrize("how", [0, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["binary", "counts", "float counts"])
def test_scaled_pair_sums_equal_the_stored_variables_summed(how, dtype, kind, rng):
    x = _tied_spikes(64, 700, 8)
    if kind != "binary":
        x = (x * rng.integers(1, 9, size=x.shape)).astype(np.int16)
        x[3] = 5  # a constant row
        x[4] = 0  # an all-zero row
    if kind == "float counts":
        x = x.astype(np.float64)
    stored = np.empty(x.shape, dtype)
    const = normalize_into(x, how, stored)
    scale, const_fused = row_scales(x, how)
    np.testing.assert_array_equal(const_fused, const)
    a, b = rng.permutation(64).reshape(2, 32)
    want = pair_sums(stored, a, b, np.empty((32, x.shape[1]), dtype))
    got = scaled_pair_sums(x, scale, a, b, np.empty((32, x.shape[1]), dtype))
    np.testing.assert_array_equal(got, want)
    # normalizing in place (as run_levels does with these sums) equals out of place
    out = np.empty_like(want)
    normalize_into(want, how, out)
    normalize_into(got, how, got)
    np.testing.assert_array_equal(got, out)


def test_first_step_fused_only_where_level_0_is_not_needed(monkeypatch):
    fused = []
    real = _prg_levels.fuse_first_step
    monkeypatch.setattr(
        _prg_levels, "fuse_first_step", lambda d, o: fused.append(real(d, o)) or fused[-1]
    )
    x = _tied_spikes(64, 500, 9)
    _run(x, observables=("variance", "silence"))
    _run(x, observables=("variance", "silence"), normalization="variance")
    _run(x)  # the distribution reads level 0's variables
    _run(x + 0.5 * np.random.default_rng(1).random(x.shape), observables=("variance",))
    assert fused == [True, False, False, False]


def _reference(monkeypatch):
    """Switch the fast paths off: no bit planes, no integer sums after the first step,
    level 0's variables stored and summed."""
    monkeypatch.setattr(_prg_similarity, "n_planes", lambda x: None)
    monkeypatch.setattr(_prg_levels, "_proportional", lambda y, sums: False)
    monkeypatch.setattr(_prg_levels, "fuse_first_step", lambda data, opts: False)
    monkeypatch.setattr(_prg_similarity, "scratch_view", lambda buffer, shape: None)


def _run(x, **kw):
    act = xr.DataArray(x, dims=("unit", "time"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prg(act, random_state=0, **kw)


@pytest.mark.parametrize(
    "kind, kw",
    [
        ("tied binary", {}),
        ("tied binary", {"observables": ("variance", "silence")}),
        ("tied binary", {"normalization": "none", "observables": ("variance", "silence")}),
        ("counts", {"observables": ("variance", "silence", "spectra")}),
        ("tied binary", {"normalization": "none"}),
        ("tied binary", {"corr_dtype": "float64"}),
        ("counts", {}),
        ("continuous", {}),
    ],
)
def test_prg_fast_paths_equal_the_reference(kind, kw, monkeypatch):
    x = _tied_spikes(256, 2000, 5)
    if kind == "counts":
        x = x * np.random.default_rng(6).integers(1, 3, size=x.shape).astype(np.int8)
    elif kind == "continuous":
        x = x + 0.1 * np.random.default_rng(7).standard_normal(x.shape)
    calls = []
    real = _prg_levels._proportional
    monkeypatch.setattr(
        _prg_levels, "_proportional", lambda y, s: calls.append(real(y, s)) or calls[-1]
    )
    fast = _run(x, **kw)
    if kind == "tied binary" and kw.get("normalization") is None and "corr_dtype" not in kw:
        assert calls[0] and not any(calls[1:])  # the first step's sums were paired exactly
    _reference(monkeypatch)
    ref = _run(x, **kw)
    np.testing.assert_array_equal(fast.membership.values, ref.membership.values)
    for name, var in ref.data_vars.items():
        if var.dtype.kind == "f":
            np.testing.assert_allclose(fast[name].values, var.values, rtol=1e-12, atol=0)
        else:
            np.testing.assert_array_equal(fast[name].values, var.values)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, bool, np.float32])
@pytest.mark.parametrize("t_len", [1, 64, 65, 1000])
def test_bit_planes_are_numpys_packed_bits(dtype, t_len, rng):
    top = 1 if dtype is bool else 3
    x = rng.integers(0, top + 1, size=(40, t_len + 7)).astype(dtype)[:, 3 : 3 + t_len]  # strided
    planes = bit_planes(x, n_planes(x))
    for a in range(planes.shape[0]):
        bits = (x.astype(np.int64) >> a) & 1
        want = np.packbits(bits.astype(np.uint8), axis=1, bitorder="little")
        padded = np.zeros((x.shape[0], planes.shape[2] * 8), np.uint8)
        padded[:, : want.shape[1]] = want
        np.testing.assert_array_equal(planes[a], padded.view("<u8"))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, bool])
@pytest.mark.parametrize("out_dtype", [np.float32, np.float64])
def test_one_byte_rows_take_the_table_and_give_the_divisions(dtype, out_dtype, rng):
    low = -128 if dtype is np.int8 else 0
    high = 2 if dtype is bool else 256 + low
    x = rng.integers(low, high, size=(30, 500)).astype(dtype)
    scale = rng.uniform(0.3, 3.0, size=30)
    a, b = rng.permutation(30).reshape(2, 15)
    want = scaled_pair_sums(x, scale, a, b, np.empty((15, 500), out_dtype))
    got = scaled_pair_rows(x, scale, a, b, np.empty((15, 500), out_dtype))
    np.testing.assert_array_equal(got, want)
    table = scaled_pair_sums_bytes(
        x.view(np.uint8), dtype is np.int8, scale, a, b, np.empty_like(want)
    )
    np.testing.assert_array_equal(table, want)


@pytest.mark.parametrize("exact", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finish_kernel_gives_numpys_rounded_correlations_bit_for_bit(exact, dtype, rng):
    m, t_len = 300, 997
    if exact:
        x = rng.integers(0, 3, size=(m, t_len)).astype(np.float64)
        x[7] = 1.0  # a constant row: spread 0
    else:
        x = rng.standard_normal((m, t_len))
    rows = pairing_rows(x, exact="float64" if exact else None)
    prod = (x @ x.T if exact else rows.values @ rows.values.T).astype(dtype)
    if not exact:  # products that land on the 6th decimal's rounding boundaries
        halves = rng.integers(-(10**6), 10**6, size=(5, m)) + 0.5
        prod[:5] = halves * 1e-6 * t_len
    want = finish_correlations(prod.copy(), rows, rows).astype(dtype)
    sums = rows.sums if exact else np.zeros(0)
    spread = rows.spread if exact else np.zeros(0)
    got = finish_rows(prod.copy(), 0, m, sums, spread, t_len, exact, TIE_DECIMALS)
    np.testing.assert_array_equal(got, want)
    part = prod.copy()  # a range of rows only, the rest untouched
    finish_rows(part, 40, 90, sums, spread, t_len, exact, TIE_DECIMALS)
    np.testing.assert_array_equal(part[40:90], want[40:90])
    np.testing.assert_array_equal(part[:40], prod[:40])


@pytest.mark.parametrize("kw", [{}, {"normalization": "variance"}, {"holdout": True}])
def test_z_scores_go_to_the_free_rows_of_the_variables(kw, monkeypatch):
    x = _tied_spikes(256, 2000, 14)
    given = []
    real = _prg_similarity.standardize_rows

    def spy(y, dtype, out=None):
        given.append(out is not None)
        return real(y, dtype, out=out)

    monkeypatch.setattr(_prg_similarity, "standardize_rows", spy)
    fast = _run(x, **kw)
    assert given and all(given[1:])  # from level 2 on (level 1: no free rows below y)
    monkeypatch.setattr(_prg_similarity, "scratch_view", lambda buffer, shape: None)
    given.clear()
    plain = _run(x, **kw)
    assert given and not any(given)
    assert fast.identical(plain)


def test_scratch_view_refuses_what_does_not_fit():
    buf = np.zeros((4, 6), dtype=np.float32)
    assert scratch_view(buf, (2, 6)).base is not None
    assert np.shares_memory(scratch_view(buf, (2, 6)), buf)
    assert scratch_view(buf, (2, 7)) is None  # too large
    assert scratch_view(buf[:, :5], (1, 5)) is None  # not contiguous
    assert scratch_view(buf.reshape(-1)[1:], (1, 4)) is None  # not 8-byte aligned
    assert scratch_view(None, (1, 1)) is None
