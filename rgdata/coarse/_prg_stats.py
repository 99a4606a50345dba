"""Per-level statistics for real-space PRG, on bare numpy arrays.

The rows are read in their own dtype by the numba kernels of
``_prg_kernels`` (float64 accumulators), so a ``(clusters, time)`` array is
never converted to float64; only the FFT path of the autocorrelation works on
float32 row-chunks.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from .._threads import map_chunks
from ._acf_sparse import sparse_cost, sparse_lagged_products
from ._prg_kernels import (
    centered_f32,
    lagged_products,
    normalize_into,
    pair_sums,
    row_moments,
    scaled_pair_sums,
    scaled_pair_sums_bytes,
    standardize_into,
    value_flags,
)
from ._prg_parallel import map_rows, n_threads_for

__all__ = [
    "rows_per_chunk",
    "data_coding",
    "normalize_rows",
    "standardize_rows",
    "moments_rows",
    "lagged_rows",
    "sparse_lagged_rows",
    "pair_rows",
    "scaled_pair_rows",
    "level_stats",
    "autocorrelation_rows",
    "use_direct",
    "acf_method",
    "sparse_rows",
    "tau_from_acf",
    "cluster_spectra",
    "root_spectra_rows",
]

_CHUNK = 256
_CHUNK_ELEMENTS = 8_000_000  # rows per chunk shrink for long recordings
INV_E = float(np.exp(-1.0))
_NO_EDGES = np.zeros(1, dtype=np.int64)


def rows_per_chunk(n_time: int) -> int:
    """Rows processed at once so that a float64 chunk stays around 64 MB."""
    return max(1, min(_CHUNK, _CHUNK_ELEMENTS // max(n_time, 1)))


def data_coding(x: np.ndarray) -> str:
    """Classify the values: ``"01"``, ``"pm1"``, ``"counts"`` or ``"continuous"``."""
    if x.dtype == bool:
        return "01"
    # one pass of a numba kernel per row chunk, on numba's threads; the flags do not
    # depend on the order of the values, so an F-ordered array is read as its transpose
    if not x.flags.c_contiguous:
        x = x.T if x.flags.f_contiguous else np.ascontiguousarray(x)
    flags = map_rows(lambda r0, r1: value_flags(x[r0:r1]), *_size(x))
    has_neg = any(f[0] for f in flags)
    integral = x.dtype.kind != "f" or all(f[1] for f in flags)  # (the kernel's floor is float)
    only01 = all(f[2] for f in flags)
    onlypm1 = all(f[3] for f in flags)
    if only01:
        return "01"
    if onlypm1:
        return "pm1"
    if integral and not has_neg:
        return "counts"
    return "continuous"


_HOW = {"nonzero_mean": 0, "variance": 1, "none": 2}
#: the direct lagged products are used while ``max_lag + 1 <= _DIRECT_PER_LOG * log2(nfft)``
#: (their cost grows with the lags, an FFT's with log2 of its length; on the retina's
#: 160 x 283,041 spikes direct products cost 0.6 s at 16 lags and 0.9 s at 64, the FFT 1.1-1.3 s)
_DIRECT_PER_LOG = 4.0


def normalize_rows(s: np.ndarray, how: str, out: np.ndarray) -> np.ndarray:
    """Normalize each row of *s* into *out*; return a bool array of constant rows.

    ``"nonzero_mean"`` divides each row by the mean of its non-zero values
    (Meshulam et al. 2019); ``"variance"`` z-scores each row (mean 0,
    variance 1); ``"none"`` copies. Constant rows are left centred (or as is).
    Statistics are accumulated in float64 without converting *s* (a numba
    kernel, one row at a time; row chunks on numba's threads). *out* may be
    *s* itself.
    """
    s = np.ascontiguousarray(s)
    how_code = _HOW[how]
    parts = map_rows(lambda r0, r1: normalize_into(s[r0:r1], how_code, out[r0:r1]), *_size(s))
    return np.concatenate(parts)


def standardize_rows(y: np.ndarray, dtype: np.dtype, out: np.ndarray | None = None) -> np.ndarray:
    """Rows centred and scaled to unit variance (constant rows become zeros).

    Written into *out* (shape ``y.shape``, *dtype*) when given, else into a new array.
    """
    y = np.ascontiguousarray(y)
    z = np.empty(y.shape, dtype=dtype) if out is None else out
    map_rows(lambda r0, r1: standardize_into(y[r0:r1], z[r0:r1]), *_size(y))
    return z


def moments_rows(
    raw: np.ndarray, silent: float, has_silent: bool, edges: np.ndarray
) -> tuple[np.ndarray, ...]:
    """:func:`~rgdata.coarse._prg_kernels.row_moments` of *raw*, row chunks on numba's threads."""
    parts = map_rows(lambda r0, r1: row_moments(raw[r0:r1], silent, has_silent, edges), *_size(raw))
    return tuple(np.concatenate(arrays) for arrays in zip(*parts, strict=True))


def lagged_rows(x: np.ndarray, means: np.ndarray, t0: int, t1: int, max_lag: int) -> np.ndarray:
    """:func:`~rgdata.coarse._prg_kernels.lagged_products` of contiguous *x*, on numba's threads."""
    n = x.shape[0]
    work = n * (t1 - t0) * (max_lag + 1)
    parts = map_rows(
        lambda r0, r1: lagged_products(x[r0:r1], means[r0:r1], t0, t1, max_lag), n, work
    )
    return np.concatenate(parts)


def sparse_lagged_rows(
    x: np.ndarray, means: np.ndarray, t0: int, t1: int, max_lag: int
) -> np.ndarray:
    """:func:`~rgdata.coarse._acf_sparse.sparse_lagged_products` of integer *x*, on threads."""
    if x.dtype.kind not in "iub":
        raise TypeError(f"sparse lagged products need integer rows; got dtype {x.dtype}")
    x = x.view(np.uint8) if x.dtype == bool else x
    n = x.shape[0]
    work = n * (t1 - t0)
    parts = map_rows(
        lambda r0, r1: sparse_lagged_products(x[r0:r1], means[r0:r1], t0, t1, max_lag), n, work
    )
    return np.concatenate(parts)


def pair_rows(raw: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out[k] = raw[a[k]] + raw[b[k]]`` (:func:`~rgdata.coarse._prg_kernels.pair_sums`).

    Row chunks of *out* on numba's threads.
    """
    map_rows(lambda r0, r1: pair_sums(raw, a[r0:r1], b[r0:r1], out[r0:r1]), *_size(out))
    return out


def scaled_pair_rows(
    s: np.ndarray, scale: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray
) -> np.ndarray:
    """:func:`~rgdata.coarse._prg_kernels.scaled_pair_sums` of contiguous *s*, on threads.

    One-byte integer rows take the look-up kernel
    (:func:`~rgdata.coarse._prg_kernels.scaled_pair_sums_bytes`, the same values).
    """
    if s.dtype.itemsize == 1 and s.dtype.kind in "iub":
        signed = s.dtype.kind == "i"
        u8 = s.view(np.uint8)
        map_rows(
            lambda r0, r1: scaled_pair_sums_bytes(
                u8, signed, scale, a[r0:r1], b[r0:r1], out[r0:r1]
            ),
            *_size(out),
        )
        return out
    map_rows(lambda r0, r1: scaled_pair_sums(s, scale, a[r0:r1], b[r0:r1], out[r0:r1]), *_size(out))
    return out


def _size(x: np.ndarray) -> tuple[int, int]:
    """Rows and element count of *x*: the arguments of :func:`map_rows` for a row-wise pass."""
    return x.shape[0], x.size


def _row_top(x: np.ndarray) -> np.ndarray:
    """``max(1, max |x|)`` per row, without converting *x*."""
    if x.shape[1] == 0:
        return np.ones(x.shape[0])
    top = np.maximum(x.max(axis=1).astype(np.float64), -x.min(axis=1).astype(np.float64))
    return np.maximum(top, 1.0)


def use_direct(length: int, max_lag: int) -> bool:
    """Whether direct lagged products beat an FFT for *max_lag* lags of *length* samples."""
    return max_lag + 1 <= _fft_cost(length, max_lag)


def _fft_cost(length: int, max_lag: int) -> float:
    """An FFT's cost per sample in units of one direct lagged multiply-add."""
    import scipy.fft  # here, not at import: scipy.fft costs ~0.1-0.4 s to import

    nfft = scipy.fft.next_fast_len(length + max_lag + 1, real=True)
    return _DIRECT_PER_LOG * np.log2(max(nfft, 2))


def sparse_rows(x: np.ndarray, max_lag: int, t0: int = 0, t1: int | None = None) -> np.ndarray:
    """Rows of ``x[:, t0:t1]`` whose lagged products are cheapest from their non-zeros.

    Integer rows whose density of non-zeros makes the sparse products
    (:func:`~rgdata.coarse._acf_sparse.sparse_lagged_products`,
    :func:`~rgdata.coarse._acf_sparse.sparse_cost`) cheaper than both the
    direct products and an FFT; float rows never are. The choice is made row
    by row, so it does not depend on how the rows are batched.
    """
    t1 = x.shape[1] if t1 is None else t1
    length = t1 - t0
    if x.dtype.kind not in "iub" or length <= 0 or not x.shape[0]:
        return np.zeros(x.shape[0], dtype=bool)
    cost = min(max_lag + 1.0, _fft_cost(length, max_lag))
    density = np.count_nonzero(x[:, t0:t1], axis=1) / length
    return sparse_cost(density, max_lag) < cost


def acf_method(x: np.ndarray, max_lag: int, t0: int = 0, t1: int | None = None) -> str:
    """How most rows of ``x[:, t0:t1]`` get their lagged products: sparse, direct or FFT."""
    t1 = x.shape[1] if t1 is None else t1
    if 2 * sparse_rows(x, max_lag, t0, t1).sum() > x.shape[0]:
        return "sparse"
    return "direct" if use_direct(t1 - t0, max_lag) else "fft"


def autocorrelation_rows(
    x: np.ndarray,
    max_lag: int,
    means: np.ndarray | None = None,
    t0: int = 0,
    t1: int | None = None,
    method: str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """Normalized autocorrelation of the rows of ``x[:, t0:t1]``, lags ``0..max_lag``.

    ``C(t) = [sum_s dx_s dx_{s+t} / (T - t)] / [sum_s dx_s^2 / T]`` with
    ``dx`` the row minus *means* (default: the mean of the segment). The
    lagged products are summed directly in float64 when *max_lag* is small
    (``method="direct"``), from the non-zero entries of sparse integer rows
    (``method="sparse"``, exact integer sums), else via a float32 FFT of the
    segment (relative error ~1e-6, ample for C and tau_c; ``method="fft"``);
    ``"auto"`` picks by cost, row by row (:func:`sparse_rows`, then
    :func:`use_direct`), so a row's numbers do not depend on the rows it is
    computed with. *x* is read in its own dtype. Returns ``(acf, ok)`` where
    rows with zero variance have ``ok`` false.
    """
    n = x.shape[0]
    t1 = x.shape[1] if t1 is None else t1
    length = t1 - t0
    x = np.ascontiguousarray(x)
    if means is None:
        means = moments_rows(x[:, t0:t1], 0.0, False, _NO_EDGES)[0] if n else np.zeros(0)
    means = np.asarray(means, dtype=np.float64)
    prod = np.empty((n, max_lag + 1))
    if method == "auto":
        sparse = sparse_rows(x, max_lag, t0, t1)
        base = "direct" if use_direct(length, max_lag) else "fft"
    else:
        sparse = np.full(n, method == "sparse")
        base = method
    lagged = _lagged_direct if base == "direct" else _lagged_fft
    if sparse.all():
        prod[:] = sparse_lagged_rows(x, means, t0, t1, max_lag)
    elif not sparse.any():
        prod[:] = lagged(x, means, t0, t1, max_lag)
    else:
        rows = np.flatnonzero(sparse)
        prod[rows] = sparse_lagged_rows(x[rows], means[rows], t0, t1, max_lag)
        rest = np.flatnonzero(~sparse)
        step = rows_per_chunk(length)  # row chunks of the others: no copy of them all is held
        for c0 in range(0, rest.size, step):
            rows = rest[c0 : c0 + step]
            prod[rows] = lagged(x[rows], means[rows], t0, t1, max_lag)
    var = prod[:, 0] / length
    ok = var > 1e-12 * _row_top(x[:, t0:t1]) ** 2
    prod /= (length - np.arange(max_lag + 1))[None, :]
    acf = np.full_like(prod, np.nan)
    acf[ok] = prod[ok] / var[ok, None]
    return acf, ok


def _lagged_direct(x: np.ndarray, means: np.ndarray, t0: int, t1: int, max_lag: int) -> np.ndarray:
    """Direct float64 lagged products of the centred rows (:func:`lagged_rows`)."""
    if x.dtype == bool:
        x = x.view(np.uint8)
    return lagged_rows(x, means, t0, t1, max_lag)


def _lagged_fft(x: np.ndarray, means: np.ndarray, t0: int, t1: int, max_lag: int) -> np.ndarray:
    """Lagged products of the centred rows by float32 FFTs of row chunks; lag 0 in float64."""
    import scipy.fft

    n = x.shape[0]
    length = t1 - t0
    prod = np.empty((n, max_lag + 1))
    p0 = np.empty(n)
    nfft = scipy.fft.next_fast_len(length + max_lag + 1, real=True)
    chunk = rows_per_chunk(length)
    # each row transformed alone, whichever thread (scipy's workers) takes it
    workers = n_threads_for(n * nfft * np.log2(nfft))
    for r0 in range(0, n, chunk):
        r1 = min(n, r0 + chunk)
        dx = np.zeros((r1 - r0, nfft), dtype=np.float32)  # zero-padded in place
        scale, p0[r0:r1] = _centered_rows(x[r0:r1], means[r0:r1], t0, t1, dx)
        f = scipy.fft.rfft(dx, axis=1, workers=workers)
        del dx
        power = f.real**2 + f.imag**2
        del f
        part = scipy.fft.irfft(power, n=nfft, axis=1, workers=workers)[:, : max_lag + 1]
        prod[r0:r1] = part / (scale**2)[:, None]
    prod[:, 0] = p0
    return prod


def _centered_rows(
    x: np.ndarray, means: np.ndarray, t0: int, t1: int, out: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~rgdata.coarse._prg_kernels.centered_f32` on row chunks (numba's threads)."""
    parts = map_rows(
        lambda r0, r1: centered_f32(x[r0:r1], means[r0:r1], t0, t1, out[r0:r1]),
        x.shape[0],
        x.shape[0] * (t1 - t0),
    )
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


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

    The moments and silence counts of the whole recording and of every block
    come from one pass over each row (:func:`row_moments`), in the rows' own
    dtype; the autocorrelations from :func:`autocorrelation_rows`.
    """
    raw = np.ascontiguousarray(raw)
    n, t_len = raw.shape
    if block_edges is None:
        block_edges = _NO_EDGES
    block_edges = np.asarray(block_edges, dtype=np.int64)
    n_blocks = block_edges.size - 1
    has_silent = silent_value is not None
    mean, m2, n_sil, _bmean, bm2, bsil = moments_rows(
        raw, float(silent_value) if has_silent else 0.0, has_silent, block_edges
    )
    lengths = np.diff(block_edges).astype(np.float64)
    nan_n = np.full(n, np.nan)
    var = m2 / t_len if full else nan_n
    p0 = n_sil / t_len if full and has_silent else nan_n.copy()
    var_b = bm2 / lengths[None, :]
    p0_b = bsil / lengths[None, :] if has_silent else np.full((n, n_blocks), np.nan)
    acf_mean = np.full(max_lag + 1, np.nan)
    acfb_mean = np.full((max_lag + 1, n_blocks), np.nan)
    if with_acf and full and n:
        acf, ok = autocorrelation_rows(raw, max_lag, means=mean)
        if ok.any():
            acf_mean = acf[ok].mean(axis=0)
    if with_acf and n:
        # the blocks are independent: one per thread at a time (their own kernels then
        # stay on that thread, see rgdata._threads.map_chunks)
        def block_acf(b: int) -> tuple[np.ndarray, np.ndarray]:
            return autocorrelation_rows(raw, max_lag, t0=block_edges[b], t1=block_edges[b + 1])

        work = n * t_len * min(max_lag + 1, 64)
        for b, (acf, ok) in enumerate(map_chunks(block_acf, n_blocks, n_threads_for(work))):
            if ok.any():
                acfb_mean[:, b] = acf[ok].sum(axis=0) / ok.sum()
    return {
        "var": var,
        "var_blocks": var_b,
        "p0": p0,
        "p0_blocks": p0_b,
        "acf": acf_mean,
        "acf_blocks": acfb_mean,
    }


def _diag_blocks(cov: np.ndarray, size: int) -> np.ndarray:
    n_sub = cov.shape[0] // size
    idx = np.arange(n_sub)
    return cov.reshape(n_sub, size, n_sub, size)[idx, :, idx, :]


def cluster_spectra(
    x: np.ndarray,
    clusters: list[np.ndarray],
    membership: np.ndarray,
    levels: list[int],
    block_levels: list[int],
    block_edges: np.ndarray,
    correlation: bool = False,
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Mean rank-ordered covariance eigenvalues of the clusters at each level.

    Every cluster at a level ``<= max(levels)`` lies in exactly one *root*:
    its ancestor at the top level, or the largest ancestor left out at the
    next step. Sub-clusters occupy aligned contiguous segments of a root's
    unit list, so one covariance per root (and per time block) gives all the
    spectra. Covariances use ``ddof=0``; block covariances use block means and
    the full one pools them exactly. With *correlation* the matrices are
    normalized to unit diagonal (correlation spectra).

    Returns ``({level: mean eigenvalues (K,)}, {level: (K, B) per block})``.
    When *x* has a ``map_roots(func, items, args)`` method (the rows of a
    dask-backed activity on a client, :class:`rgdata.coarse._prg_lazy_stream.ClientRows`),
    each root is one task there (:func:`root_spectra_rows`); else the roots
    run on numba's threads here.
    """
    if not levels:
        return {}, {}
    # the matrices here are small (K <= max_eigen_size): BLAS threads only add
    # synchronisation overhead, which is large on a busy machine
    with threadpool_limits(limits=1, user_api="blas"):
        return _cluster_spectra(
            x, clusters, membership, levels, block_levels, block_edges, correlation
        )


def _to_correlation(cov: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.diag(cov))
    d = np.where(d > 0, d, 1.0)
    return cov / d[:, None] / d[None, :]


def _cluster_spectra(x, clusters, membership, levels, block_levels, block_edges, correlation):
    top = max(levels)
    n_blocks = block_edges.size - 1
    roots = [
        (lv, c)
        for lv in range(top + 1)
        for c in range(clusters[lv].shape[0])
        if lv == top or membership[lv + 1, clusters[lv][c, 0]] < 0
    ]

    def root(k: int) -> list:
        lv, c = roots[k]
        return _root_spectra(x, clusters[lv][c], lv, levels, block_levels, block_edges, correlation)

    remote = getattr(x, "map_roots", None)  # rows that live on a dask cluster: tasks there
    if remote is not None:
        parts = remote(
            root_spectra_rows,
            [(clusters[lv][c], lv) for lv, c in roots],
            (levels, block_levels, block_edges, correlation),
        )
    else:
        # roots on numba's threads (numpy's linear algebra releases the GIL); their
        # eigenvalue sums are added below in root order, as one thread adds them
        work = sum(clusters[lv][c].size for lv, c in roots) * x.shape[1]
        parts = map_chunks(root, len(roots), n_threads_for(work))
    sums = {lv: np.zeros(2**lv) for lv in levels}
    counts = dict.fromkeys(levels, 0)
    bsums = {lv: np.zeros((2**lv, n_blocks)) for lv in block_levels}
    for part in parts:
        for sub_lv, ev_sum, count, block_sums in part:
            if ev_sum is not None:
                sums[sub_lv] += ev_sum
                counts[sub_lv] += count
            for b, ev_b in enumerate(block_sums):
                bsums[sub_lv][:, b] += ev_b
    spectra = {lv: sums[lv] / counts[lv] for lv in levels}
    spectra_b = {lv: bsums[lv] / counts[lv] for lv in block_levels}
    return spectra, spectra_b


def root_spectra_rows(
    rows: np.ndarray,
    lv: int,
    levels: list[int],
    block_levels: list[int],
    block_edges: np.ndarray,
    correlation: bool,
) -> list:
    """One root's spectra from its own rows (in cluster order), one BLAS thread.

    What a task on a dask worker computes for :func:`cluster_spectra` when
    the rows live there: the numbers of the in-process path.
    """
    rows = np.asarray(rows)
    rows = rows.view(np.int8) if rows.dtype == bool else rows
    with threadpool_limits(limits=1, user_api="blas"):
        units = np.arange(rows.shape[0])
        return _root_spectra(rows, units, lv, levels, block_levels, block_edges, correlation)


def _root_spectra(x, units, lv, levels, block_levels, block_edges, correlation) -> list:
    """``[(sub_level, eigenvalue sum or None, count, [block eigenvalue sums])]`` of one root."""
    n_blocks = block_edges.size - 1
    t_len = x.shape[1]
    xr_ = x[units].astype(np.float64)
    covs = []
    means = []
    for b in range(n_blocks):
        part = xr_[:, block_edges[b] : block_edges[b + 1]]
        m = part.mean(axis=1)
        d = part - m[:, None]
        covs.append(d @ d.T / part.shape[1])
        means.append(m)
    mean_all = xr_.mean(axis=1)
    full = np.zeros((units.size, units.size))
    for b in range(n_blocks):
        w = (block_edges[b + 1] - block_edges[b]) / t_len
        dm = means[b] - mean_all
        full += w * (covs[b] + np.outer(dm, dm))
    if correlation:
        full = _to_correlation(full)
        covs = [_to_correlation(c) for c in covs]
    out = []
    for sub_lv in range(lv + 1):
        size = 2**sub_lv
        ev_sum, count, block_sums = None, 0, []
        if sub_lv in levels:
            ev = np.linalg.eigvalsh(_diag_blocks(full, size))[:, ::-1]
            ev_sum, count = ev.sum(axis=0), ev.shape[0]
        if sub_lv in block_levels:
            for b in range(n_blocks):
                ev = np.linalg.eigvalsh(_diag_blocks(covs[b], size))[:, ::-1]
                block_sums.append(ev.sum(axis=0))
        out.append((sub_lv, ev_sum, count, block_sums))
    return out
