"""The numpy implementations of PRG's per-level statistics before the numba kernels.

Kept (test-only) as the reference the fast paths are compared with: same
definitions, computed the slow way (float64 copies of every chunk, an FFT of
every whole series).
"""

from __future__ import annotations

import numpy as np
import scipy.fft

_CHUNK = 256
_CHUNK_ELEMENTS = 8_000_000
INV_E = float(np.exp(-1.0))


def rows_per_chunk(n_time: int) -> int:
    """Rows processed at once so that a float64 chunk stays around 64 MB."""
    return max(1, min(_CHUNK, _CHUNK_ELEMENTS // max(n_time, 1)))


def normalize_rows(s: np.ndarray, how: str, out: np.ndarray) -> np.ndarray:
    """Normalize each row of *s* into *out*; return a bool array of constant rows.

    ``"nonzero_mean"`` divides each row by the mean of its non-zero values
    (Meshulam et al. 2019); ``"variance"`` z-scores each row (mean 0,
    variance 1); ``"none"`` copies. Constant rows are left centred (or as is).
    """
    n = s.shape[0]
    const = np.zeros(n, bool)
    chunk = rows_per_chunk(s.shape[1])
    for r0 in range(0, n, chunk):
        r1 = min(n, r0 + chunk)
        blk = s[r0:r1].astype(np.float64)
        sd = blk.std(axis=1)
        const[r0:r1] = sd == 0
        if how == "nonzero_mean":
            nz = blk != 0
            cnt = nz.sum(axis=1)
            tot = np.where(nz, blk, 0.0).sum(axis=1)
            scale = np.where(cnt > 0, tot / np.maximum(cnt, 1), 1.0)
            scale[scale == 0] = 1.0
            blk /= scale[:, None]
        elif how == "variance":
            blk -= blk.mean(axis=1, keepdims=True)
            blk /= np.where(sd > 0, sd, 1.0)[:, None]
        out[r0:r1] = blk
    return const


def standardize_rows(y: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Rows centred and scaled to unit variance (constant rows become zeros)."""
    z = np.empty(y.shape, dtype=dtype)
    chunk = rows_per_chunk(y.shape[1])
    for r0 in range(0, y.shape[0], chunk):
        blk = y[r0 : r0 + chunk].astype(np.float64)
        blk -= blk.mean(axis=1, keepdims=True)
        sd = blk.std(axis=1)
        blk /= np.where(sd > 0, sd, np.inf)[:, None]
        z[r0 : r0 + chunk] = blk
    return z


def autocorrelation_rows(x: np.ndarray, max_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalized autocorrelation of each row (mean removed), lags ``0..max_lag``.

    ``C(t) = [sum_s dx_s dx_{s+t} / (T - t)] / [sum_s dx_s^2 / T]``, via a
    float32 FFT (relative error ~1e-6, ample for C and tau_c). Returns
    ``(acf, ok)`` where rows with zero variance have ``ok`` false.
    """
    n, t_len = x.shape
    dx = x - x.mean(axis=1, keepdims=True)
    # scale each row by a power of two (exact: the ratio C is unchanged bit for bit) so that
    # the float32 squares below cannot overflow for large values (counts beyond ~1e17)
    top = np.maximum(dx.max(axis=1), -dx.min(axis=1)) if dx.size else np.zeros(n)
    scale = np.ldexp(1.0, -np.frexp(top)[1])
    dx *= scale[:, None]
    dx = dx.astype(np.float32)
    nfft = scipy.fft.next_fast_len(t_len + max_lag + 1, real=True)
    f = scipy.fft.rfft(dx, n=nfft, axis=1)
    power = f.real**2 + f.imag**2
    del f
    raw = scipy.fft.irfft(power, n=nfft, axis=1)[:, : max_lag + 1].astype(np.float64)
    var = (dx.astype(np.float64) ** 2).sum(axis=1) / t_len
    raw[:, 0] = var * t_len
    ok = var > 1e-12 * (np.maximum(1.0, np.abs(x).max(axis=1)) * scale) ** 2
    raw /= (t_len - np.arange(max_lag + 1))[None, :]
    acf = np.full_like(raw, np.nan)
    acf[ok] = raw[ok] / var[ok, None]
    return acf, ok


def tau_from_acf(acf: np.ndarray) -> float:
    """Lag at which ``acf`` first drops below ``1/e``, linearly interpolated.

    NaN when it never does within the computed lags.
    """
    below = np.flatnonzero(acf < INV_E)
    if below.size == 0 or not np.isfinite(acf[0]):
        return float("nan")
    k = int(below[0])
    if k == 0:
        return 0.0
    c0, c1 = acf[k - 1], acf[k]
    return float(k - 1 + (c0 - INV_E) / (c0 - c1))


def level_stats(
    raw: np.ndarray,
    silent_value: float | None,
    block_edges: np.ndarray | None,
    max_lag: int,
    with_acf: bool,
    full: bool = True,
) -> dict[str, np.ndarray]:
    """Variance, silence probability and autocorrelation of each row of *raw*.

    Returns per-cluster arrays: ``var`` (n,), ``var_blocks`` (n, B) (mean
    squared deviation in each block from the whole-recording mean), ``p0``
    and ``p0_blocks`` (probability that the row equals *silent_value*; NaN
    when it is None), and cluster-averaged ``acf`` (L+1,), ``acf_blocks``
    (L+1, B) with the number of non-constant rows averaged. ``block_edges``
    None: no blocks (B = 0); ``full`` False: the whole-recording statistics
    are skipped (NaN), for a pass that only needs the blocks.
    """
    n = raw.shape[0]
    chunk = rows_per_chunk(raw.shape[1])
    if block_edges is None:
        block_edges = np.zeros(1, dtype=np.int64)
    n_blocks = block_edges.size - 1
    var = np.full(n, np.nan)
    var_b = np.empty((n, n_blocks))
    p0 = np.full(n, np.nan)
    p0_b = np.full((n, n_blocks), np.nan)
    acf_sum = np.zeros(max_lag + 1)
    acf_cnt = 0
    acfb_sum = np.zeros((max_lag + 1, n_blocks))
    acfb_cnt = np.zeros(n_blocks)
    for r0 in range(0, n, chunk):
        r1 = min(n, r0 + chunk)
        blk = raw[r0:r1].astype(np.float64)
        if full:
            var[r0:r1] = blk.var(axis=1)
        if full and silent_value is not None:
            p0[r0:r1] = (blk == silent_value).mean(axis=1)
        if full and with_acf:
            acf, ok = autocorrelation_rows(blk, max_lag)
            acf_sum += acf[ok].sum(axis=0)
            acf_cnt += int(ok.sum())
        row_mean = blk.mean(axis=1, keepdims=True)
        for b in range(n_blocks):
            part = blk[:, block_edges[b] : block_edges[b + 1]]
            # around the whole-recording mean: the block values then average to the
            # full value, and short blocks lose no between-block variance
            var_b[r0:r1, b] = ((part - row_mean) ** 2).mean(axis=1)
            if silent_value is not None:
                p0_b[r0:r1, b] = (part == silent_value).mean(axis=1)
            if with_acf:
                acf, ok = autocorrelation_rows(part, max_lag)
                acfb_sum[:, b] += acf[ok].sum(axis=0)
                acfb_cnt[b] += ok.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        acf_mean = acf_sum / acf_cnt if acf_cnt else np.full(max_lag + 1, np.nan)
        acfb_mean = np.where(acfb_cnt > 0, acfb_sum / np.maximum(acfb_cnt, 1), np.nan)
    return {
        "var": var,
        "var_blocks": var_b,
        "p0": p0,
        "p0_blocks": p0_b,
        "acf": acf_mean,
        "acf_blocks": acfb_mean,
    }
