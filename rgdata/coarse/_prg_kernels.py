"""numba kernels of real-space PRG's per-level statistics: one pass per row, no dtype copies.

The level loop of :func:`rgdata.coarse.prg` used to convert every
``(clusters, time)`` chunk to float64 several times per level (moments,
silence, histogram, autocorrelation, each in its own numpy pass). These
kernels read the rows in their own dtype (int8 ... int64 cluster sums, float32
normalized variables, float64 continuous data) and accumulate in float64:

* :func:`row_moments` -- per row, the sum, the sum of squared deviations from
  the row mean, the number of silent samples, and the same per time block
  (block deviations around the *whole-recording* mean, as ``prg`` defines
  them): every variance and silence statistic of a level in one call;
* :func:`lagged_products` -- ``sum_s d_s d_{s+t}`` for ``t = 0..L`` with ``d``
  the row minus its mean, within each block: the direct autocorrelation, which
  beats an FFT of the whole series when ``L`` is small;
* :func:`centered_f32` -- ``(x - mean) * 2**-e`` as float32 for the FFT path
  (the power-of-two scale keeps float32 squares from overflowing and leaves
  the normalized autocorrelation unchanged);
* :func:`pair_sums` -- ``raw[a] + raw[b]`` in the sums' dtype;
* :func:`normalize_into` / :func:`standardize_into` -- the normalizations of
  the pairing variables, written straight into their float32/float64 output;
* :func:`row_scales` / :func:`scaled_pair_sums` -- the first step's
  normalized pair sums straight from integer rows (the same float32 values as
  :func:`normalize_into` then :func:`pair_sums`, without the ``N x T``
  variables of level 0); :func:`scaled_pair_sums_bytes` the same for one-byte
  rows by table look-up;
* :func:`value_flags` -- what kind of values the data hold, in one pass;
* :func:`finish_rows` -- products to rounded correlations in place (the
  numpy formula's operations, element by element, no temporaries);
* :func:`proportional_rows` -- whether each normalized row is exactly a
  positive multiple of its integer cluster sum (then the sums are paired on
  the exact integer path: a correlation does not see a positive row scale).

Accumulating in float64 (sequentially, where numpy sums pairwise) changes
results by float64 round-off only; integer data give exact sums.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: reassociation lets the float64 reductions vectorize (round-off changes only); no
#: assumptions about NaN/inf and no reciprocal divisions
_FM = {"reassoc", "nsz", "contract"}
#: kernels that take maxima: the inputs hold no NaN (prg refuses them), so min/max vectorize
_FM_NO_NAN = _FM | {"nnan"}

__all__ = [
    "row_moments",
    "lagged_products",
    "centered_f32",
    "pair_sums",
    "normalize_into",
    "standardize_into",
    "proportional_rows",
    "row_scales",
    "scaled_pair_sums",
    "scaled_pair_sums_bytes",
    "finish_rows",
    "value_flags",
]


@njit(cache=True, nogil=True, fastmath=_FM)
def row_moments(raw, silent, has_silent, edges):  # pragma: no cover - compiled
    """Per-row moments and silence counts, whole recording and per block.

    Returns ``(mean, m2, n_silent, bmean, bm2, bsilent)``: ``m2`` the sum of
    squared deviations from the row mean (whole recording), ``bm2[:, b]``
    the same within block ``b`` around the whole-recording mean, ``bmean``
    the block means; counts as float64. ``edges`` has ``B + 1`` entries
    (``B`` may be 0); the blocks must tile ``[0, T)`` (``edges[0] = 0``,
    ``edges[-1] = T``).
    """
    n, t_len = raw.shape
    n_b = edges.size - 1
    mean = np.empty(n)
    m2 = np.empty(n)
    n_sil = np.zeros(n)
    bmean = np.empty((n, max(n_b, 0)))
    bm2 = np.empty((n, max(n_b, 0)))
    bsil = np.zeros((n, max(n_b, 0)))
    for i in range(n):
        row = raw[i]
        tot = 0.0
        for s in range(t_len):
            tot += row[s]
        m = tot / t_len
        mean[i] = m
        if n_b == 0:
            acc = 0.0
            cnt = 0.0
            for s in range(t_len):
                d = row[s] - m
                acc += d * d
                cnt += 1.0 if row[s] == silent else 0.0
            m2[i] = acc
            n_sil[i] = cnt if has_silent else 0.0
            continue
        # blocks tile the recording: the whole-recording sums are the sums over blocks
        acc_all = 0.0
        cnt_all = 0.0
        for b in range(n_b):
            t0, t1 = edges[b], edges[b + 1]
            acc = 0.0
            tot = 0.0
            cnt = 0.0
            for s in range(t0, t1):
                v = row[s]
                tot += v
                d = v - m
                acc += d * d
                cnt += 1.0 if v == silent else 0.0
            bmean[i, b] = tot / (t1 - t0)
            bm2[i, b] = acc
            bsil[i, b] = cnt if has_silent else 0.0
            acc_all += acc
            cnt_all += cnt
        m2[i] = acc_all
        n_sil[i] = cnt_all if has_silent else 0.0
    return mean, m2, n_sil, bmean, bm2, bsil


@njit(cache=True, nogil=True, fastmath=_FM)
def lagged_products(raw, means, t0, t1, max_lag):  # pragma: no cover - compiled
    """``out[i, t] = sum_{s=t0}^{t1-1-t} d_s d_{s+t}``, ``d = raw[i] - means[i]``."""
    n = raw.shape[0]
    out = np.zeros((n, max_lag + 1))
    length = t1 - t0
    d = np.empty(length)
    acc = np.empty(max_lag + 1)
    for i in range(n):
        m = means[i]
        for s in range(length):
            d[s] = raw[i, t0 + s] - m
        # one dot product per lag over the whole row: the long loop vectorizes
        for t in range(min(max_lag, length - 1) + 1):
            tot = 0.0
            for s in range(length - t):
                tot += d[s] * d[s + t]
            acc[t] = tot
        for t in range(min(max_lag, length - 1) + 1, max_lag + 1):
            acc[t] = 0.0
        out[i] = acc
    return out


@njit(cache=True, nogil=True, fastmath=_FM_NO_NAN)
def centered_f32(raw, means, t0, t1, out):  # pragma: no cover - compiled
    """``out[i] = (raw[i, t0:t1] - means[i]) * 2**-e_i`` (float32).

    Returns the scales ``2**-e_i`` and the float64 sums of squared
    deviations ``sum_s (raw[i, s] - means[i])**2``.

    ``2**e_i`` is the smallest power of two above ``max |raw[i] - means[i]|``
    (``frexp``), so the float32 squares cannot overflow and ratios of lagged
    products are unchanged.
    """
    n = raw.shape[0]
    scales = np.empty(n)
    p0 = np.empty(n)
    for i in range(n):
        m = means[i]
        top = 0.0
        acc = 0.0
        for s in range(t0, t1):
            d = raw[i, s] - m
            acc += d * d
            top = max(top, abs(d))
        e = math.frexp(top)[1]
        sc = math.ldexp(1.0, -e)
        scales[i] = sc
        p0[i] = acc
        for s in range(t0, t1):
            out[i, s - t0] = (raw[i, s] - m) * sc
    return scales, p0


@njit(cache=True, nogil=True, fastmath=_FM)
def pair_sums(raw, a, b, out):  # pragma: no cover - compiled
    """``out[k] = raw[a[k]] + raw[b[k]]`` in ``out``'s dtype."""
    t_len = raw.shape[1]
    for k in range(a.size):
        ra = raw[a[k]]
        rb = raw[b[k]]
        o = out[k]
        for s in range(t_len):
            o[s] = ra[s] + rb[s]
    return out


@njit(cache=True, nogil=True, fastmath=_FM)
def _spread_nonzero(row):  # pragma: no cover - compiled
    """``(sum |v - v[0]|, sum of v, count of v != 0)`` over a row, in float64.

    The spread is a sum of non-negative terms: zero only when every value
    equals the first (a constant row).
    """
    first = np.float64(row[0]) if row.shape[0] else 0.0
    spread = 0.0
    nz_tot = 0.0
    nz_cnt = 0
    for t in range(row.shape[0]):
        v = np.float64(row[t])
        spread += abs(v - first)
        nz_tot += v
        nz_cnt += 1 if v != 0.0 else 0
    return spread, nz_tot, nz_cnt


@njit(cache=True, nogil=True, fastmath=_FM)
def normalize_into(s, how, out):  # pragma: no cover - compiled
    """Normalize each row of *s* into *out*; return the constant rows.

    ``how`` 0: divide by the mean of the non-zero values; 1: z-score;
    2: copy. Statistics in float64; constant rows (zero variance; all values
    equal for ``how`` 0 and 2) are left centred (``how`` 1) or as they are.
    """
    n, t_len = s.shape
    const = np.zeros(n, np.bool_)
    for i in range(n):
        row = s[i]
        if how == 1:  # z-score: mean and standard deviation
            tot = 0.0
            for t in range(t_len):
                tot += row[t]
            m = tot / t_len
            acc = 0.0
            for t in range(t_len):
                d = np.float64(row[t]) - m
                acc += d * d
            sd = np.sqrt(acc / t_len)
            const[i] = sd == 0.0
        else:  # constant rows (all values equal) and the mean of the non-zero values
            spread, nz_tot, nz_cnt = _spread_nonzero(row)
            const[i] = spread == 0.0
        o = out[i]
        if how == 0:
            scale = nz_tot / nz_cnt if nz_cnt > 0 else 1.0
            if scale == 0.0:
                scale = 1.0
            for t in range(t_len):
                o[t] = np.float64(row[t]) / scale
        elif how == 1:
            div = sd if sd > 0 else 1.0
            for t in range(t_len):
                o[t] = (np.float64(row[t]) - m) / div
        else:
            for t in range(t_len):
                o[t] = row[t]
    return const


@njit(cache=True, nogil=True, fastmath=_FM)
def standardize_into(y, out):  # pragma: no cover - compiled
    """Rows of *y* centred and scaled to unit variance into *out* (constant rows: zeros)."""
    n, t_len = y.shape
    for i in range(n):
        row = y[i]
        tot = 0.0
        for t in range(t_len):
            tot += row[t]
        m = tot / t_len
        acc = 0.0
        for t in range(t_len):
            d = np.float64(row[t]) - m
            acc += d * d
        sd = np.sqrt(acc / t_len)
        o = out[i]
        if sd > 0:
            for t in range(t_len):
                o[t] = (np.float64(row[t]) - m) / sd
        else:
            for t in range(t_len):
                o[t] = 0.0
    return out


@njit(cache=True, nogil=True)
def proportional_rows(y, raw):  # pragma: no cover - compiled
    """Whether every row of *y* is a positive multiple of the same row of *raw*, exactly.

    ``y`` float32, ``raw`` integers below ``2**29`` (checked by the caller):
    the cross products ``y[t] raw[t0] == y[t0] raw[t]`` are then exact in
    float64, so a True answer means exact proportionality. A row whose *raw*
    is all zero must be constant in *y* (both have correlation 0 with
    everything). Stops at the first row that fails.
    """
    n, t_len = y.shape
    for i in range(n):
        yr = y[i]
        rr = raw[i]
        t0 = -1
        for t in range(t_len):
            if rr[t] != 0:
                t0 = t
                break
        if t0 < 0:
            for t in range(t_len):
                if yr[t] != yr[0]:
                    return False
            continue
        y0 = np.float64(yr[t0])
        r0 = np.float64(rr[t0])
        if not y0 * r0 > 0.0:
            return False
        for t in range(t_len):
            if np.float64(yr[t]) * r0 != y0 * np.float64(rr[t]):
                return False
    return True


@njit(cache=True, nogil=True, fastmath=_FM)
def row_scales(s, how):  # pragma: no cover - compiled
    """The divisors and constant rows of :func:`normalize_into` (``how`` 0 or 2).

    ``scale[i]``: the mean of the non-zero values of row *i* (``how`` 0; 1
    where there are none) or 1 (``how`` 2); ``const[i]``: all values equal.
    For integer-valued rows (every sum exact in any order) these are the
    divisors :func:`normalize_into` uses, bit for bit.
    """
    n = s.shape[0]
    scale = np.ones(n)
    const = np.zeros(n, np.bool_)
    for i in range(n):
        spread, nz_tot, nz_cnt = _spread_nonzero(s[i])
        const[i] = spread == 0.0
        if how == 0:
            sc = nz_tot / nz_cnt if nz_cnt > 0 else 1.0
            scale[i] = sc if sc != 0.0 else 1.0
    return scale, const


@njit(cache=True, nogil=True, fastmath=_FM)
def scaled_pair_sums(s, scale, a, b, out):  # pragma: no cover - compiled
    """``out[k] = v(a[k]) + v(b[k])`` with ``v(i) = s[i] / scale[i]`` rounded to ``out``'s dtype.

    The values :func:`normalize_into` (with :func:`row_scales`' divisors) then
    :func:`pair_sums` give: each quotient is rounded to ``out``'s dtype before
    the sum, which is taken in that dtype.
    """
    t_len = s.shape[1]
    tmp = np.empty(t_len, out.dtype)
    for k in range(a.size):
        ra = s[a[k]]
        rb = s[b[k]]
        sa = scale[a[k]]
        sb = scale[b[k]]
        o = out[k]
        for t in range(t_len):
            o[t] = np.float64(ra[t]) / sa
        for t in range(t_len):
            tmp[t] = np.float64(rb[t]) / sb
        for t in range(t_len):
            o[t] = o[t] + tmp[t]
    return out


@njit(cache=True, nogil=True, fastmath=_FM)
def scaled_pair_sums_bytes(s, signed, scale, a, b, out):  # pragma: no cover - compiled
    """:func:`scaled_pair_sums` of one-byte integer rows *s* (``uint8``; ``int8`` viewed as such).

    Each row's 256 possible quotients ``v / scale`` are tabulated in ``out``'s
    dtype (the same divisions, the same rounding), then looked up: the
    values of :func:`scaled_pair_sums` bit for bit, without a division per
    sample. *signed*: the bytes hold ``int8`` values (``u - 256`` above 127).
    """
    t_len = s.shape[1]
    table_a = np.empty(256, out.dtype)
    table_b = np.empty(256, out.dtype)
    for k in range(a.size):
        sa = scale[a[k]]
        sb = scale[b[k]]
        for u in range(256):
            v = u - 256 if signed and u > 127 else u
            table_a[u] = np.float64(v) / sa
            table_b[u] = np.float64(v) / sb
        ra = s[a[k]]
        rb = s[b[k]]
        o = out[k]
        for t in range(t_len):
            o[t] = table_a[ra[t]] + table_b[rb[t]]
    return out


@njit(cache=True, nogil=True)
def finish_rows(prod, r0, r1, sums, spread, n_time, exact, decimals):  # pragma: no cover
    """Rows ``r0 .. r1`` of the product matrix *prod* to rounded correlations, in place.

    The operations of
    :func:`rgdata.coarse._prg_similarity.finish_correlations` (``outer=True``),
    element by element and in the same order, without fastmath (no fused
    multiply-adds, no reassociation): ``(T G_ij - S_i S_j) / (P_i P_j)`` on the
    exact path (0 where ``P_i P_j = 0``), ``G_ij / T`` otherwise, then
    ``rint(v * 10**d) / 10**d`` (numpy's ``round``), computed in float64 and
    stored in *prod*'s dtype. *sums* and *spread* are ``S`` and ``P`` (unused
    when not *exact*).
    """
    m = prod.shape[1]
    t = np.float64(n_time)
    inv = 1.0 / t
    scale = 1.0
    for _ in range(decimals):
        scale *= 10.0
    for i in range(r0, r1):
        row = prod[i]
        for j in range(m):
            v = np.float64(row[j])
            if exact:
                v = v * t
                v = v - sums[i] * sums[j]
                d = spread[i] * spread[j]
                if d > 0:
                    v = v / d
                elif d == 0:
                    v = 0.0
            else:
                v = v * inv
            row[j] = np.rint(v * scale) / scale
    return prod


@njit(cache=True, nogil=True)
def value_flags(x):  # pragma: no cover - compiled
    """``(has_negative, all_integral, only_0_1, only_minus1_1)`` over every value of *x*.

    One pass, no temporaries; stops once every flag is settled. Integral
    means ``floor(v) == v`` (NaN is not, infinities are), as numpy's
    ``v == round(v)``; meaningful for float data only (``floor`` of a large
    int64 goes through float64).
    """
    has_neg = False
    integral = True
    only01 = True
    onlypm1 = True
    n, t_len = x.shape
    for i in range(n):
        row = x[i]
        neg = False
        frac = False
        not01 = False
        notpm1 = False
        for t in range(t_len):
            v = row[t]
            neg |= v < 0
            frac |= math.floor(v) != v
            not01 |= (v != 0) & (v != 1)
            notpm1 |= (v != -1) & (v != 1)
        has_neg |= neg
        integral &= not frac
        only01 &= not not01
        onlypm1 &= not notpm1
        if has_neg and not integral and not only01 and not onlypm1:
            break
    return has_neg, integral, only01, onlypm1
