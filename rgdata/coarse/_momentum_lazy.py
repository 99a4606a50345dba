"""``momentum(solver="randomized")`` on a dask-backed activity, without loading the N x T input.

The in-memory randomized path (:mod:`rgdata.coarse._momentum_randomized`) standardizes
a working copy of the data and hands it to :func:`sklearn.utils.extmath.randomized_svd`.
Here the activity stays a dask array (``dask.array``, zarr, HDF5) and every step reads
it chunk by chunk, on the caller's ``distributed`` client or dask's synchronous
scheduler:

1. one pass of chunked reductions: NaN/inf, constant units, the largest magnitude and
   each unit's mean and standard deviation (float64, ``ddof=0``), which define the
   standardized data ``z`` lazily (centred, and for the correlation matrix divided by
   the standard deviation, then rounded to the working dtype, as
   :func:`rgdata.coarse._momentum_kernels.standardize` does);
2. the top modes by a blockwise randomized range finder (Halko, Martinsson & Tropp
   2011): the same random test matrix as the in-memory path (drawn from the same seed,
   on the same side of the data as :func:`~sklearn.utils.extmath.randomized_svd`, which
   works on ``z.T`` when ``N < T``), the same number of power iterations and
   oversamples, QR-orthonormalized in memory between the products with ``z`` (each a
   dask reduction over chunks: ``N x l`` and ``T x l`` matrices, ``l`` = modes +
   oversamples, are all that is held). scikit-learn normalizes its iterations by LU for
   more than two of them; the spanned subspaces are the same in exact arithmetic, so
   the modes agree with the in-memory path's to round-off (tests/coarse/
   test_momentum_lazy.py). ``dask.array.linalg.svd_compressed`` was not used: its test
   matrix is drawn per chunk, so the result would depend on the chunking, and its
   power iterations are unnormalized unless ``iterator="QR"``, which needs the data
   chunked along one axis only;
3. the residuals ``||C u - lambda u||`` exactly, from ``W = z^T U`` and ``z W / T`` (two
   passes), and the mode projections ``y = U^T z = W^T`` (``K x T``) they leave in memory;
4. the block rule: the unit-summed autocovariance of ``z`` at lags ``0..L`` from time
   chunks widened by ``L`` (an FFT cross-correlation per chunk), ``L`` growing from 128
   by factors of 4 until Sokal's window closes (up to the in-memory path's ``T // 4``),
   and the modes' from ``y`` in memory;
5. the ladder's moments: per chunk of units x time, ``phi = U_K y_K`` at each level (and
   the chunk of ``z`` itself for a level keeping every mode), their second and fourth
   moment sums per time block and the pooled histograms, summed over chunks in the graph.

Reads of the input: ``2 n_iter + 7`` (the checks, ``2 n_iter + 2`` range-finder
products, two for the residuals, one for the autocovariance and one for the moments),
plus one per widening of the lags.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.linalg
import xarray as xr

from .._validation import check_random_state, describe
from ..activity import constant_units_error
from ._blocks import integrated_time
from ._momentum_blocks import (
    _FFT_BATCH_VALUES,
    BlockMoments,
    block_rule,
    combine_slot_autocorrelations,
    pool_blocks,
)
from ._momentum_kernels import Step, _row_block, accumulate_steps
from ._momentum_randomized import TopModes

__all__ = [
    "LazyInput",
    "lazy_dims",
    "lazy_input",
    "lazy_top_modes",
    "lazy_block_moments",
    "storage_note",
    "exact_peak_bytes",
]

#: first number of lags of the data's autocovariance (widened x4 until the window closes)
_FIRST_LAGS = 128
#: values held by one task of the autocovariance pass (a chunk widened by the lags) at most,
#: unless the activity's own chunks are larger
_TASK_VALUES = 2**24


class LazyInput:
    """The checked dask-backed activity and the facts of its first pass.

    Attributes: ``act`` (the DataArray, dims ``("unit", "time")``), ``arr`` (its dask
    array), ``mean``, ``sd`` (float64, per unit) and ``top`` (the largest ``|value|``).
    """

    def __init__(self, act: xr.DataArray, arr: Any, mean, sd, top: float) -> None:
        self.act, self.arr, self.mean, self.sd, self.top = act, arr, mean, sd, top

    def standardized(self, matrix: str, dtype: Any) -> Any:
        """``z`` as a dask array: centred (and scaled for ``"correlation"``), in *dtype*.

        Each chunk is standardized a block of rows at a time in float64 (the rows of
        :func:`rgdata.coarse._momentum_kernels.standardize`), so a task holds its chunk in
        the working dtype and a few 2 MB float64 blocks, not float64 copies of the chunk.
        """
        import dask.array as da  # noqa: PLC0415

        rows = self.arr.chunks[0]
        mean = da.from_array(self.mean, chunks=(rows,))
        scale = self.sd if matrix == "correlation" else np.ones_like(self.sd)
        sd = da.from_array(scale, chunks=(rows,))
        return da.blockwise(
            _standardize_chunk, "ij", self.arr, "ij", mean, "i", sd, "i",
            dtype=np.dtype(dtype), out=np.dtype(dtype),
        )  # fmt: skip


def _standardize_chunk(x: np.ndarray, mean: np.ndarray, sd: np.ndarray, out: Any) -> np.ndarray:
    """``(x - mean) / sd`` per row in float64, rounded to *out* (a dtype), by row blocks."""
    z = np.empty(x.shape, dtype=out)
    step = _row_block(x.shape[1])
    for start in range(0, x.shape[0], step):
        block = np.array(x[start : start + step], dtype=np.float64)
        block -= mean[start : start + step, None]
        block /= sd[start : start + step, None]
        z[start : start + step] = block
    return z


def compute(client: Any, what: Any) -> Any:
    """Compute *what* on *client*, or with dask's synchronous scheduler in this process."""
    from .distributed import _run  # noqa: PLC0415 (import cycle through prg)

    return _run(client, what, "momentum", "no result was returned")


def lazy_dims(activity: xr.DataArray, min_time: int) -> xr.DataArray:
    """The dims, dtype and sizes of a dask-backed activity (no value is read).

    Transposed to ``("unit", "time")``; raises the errors of
    :func:`rgdata.activity.check_activity` for a wrong dim, dtype or size.
    """
    from ._prg_lazy_input import _check_dims  # noqa: PLC0415

    act = _check_dims(activity)
    if act.shape[1] < min_time:
        raise ValueError(
            f"activity has {act.shape[1]} time point(s); at least {min_time} are needed"
        )
    return act


def lazy_input(act: xr.DataArray, client: Any) -> LazyInput:
    """Check the values of a dask-backed activity with one pass of chunked reductions.

    *act* comes from :func:`lazy_dims`; nothing of size N x T is held. Raises the errors
    of :func:`rgdata.activity.check_activity`: NaN/inf, constant units.
    """
    import dask.array as da  # noqa: PLC0415

    arr = act.data
    if arr.dtype == bool:
        arr = arr.astype(np.int8)
    x = arr.astype(np.float64)
    what = {
        "n_bad": (~da.isfinite(x)).sum(),
        "const": arr.min(axis=1) == arr.max(axis=1),
        "top": abs(x).max(),
        "mean": x.mean(axis=1),
        "var": x.var(axis=1),
    }
    keys = list(what)
    facts = dict(zip(keys, compute(client, [what[k] for k in keys]), strict=True))
    n_bad = int(facts["n_bad"])
    if n_bad:
        raise ValueError(
            f"activity contains {n_bad} NaN/inf value(s); remove or interpolate them first"
        )
    const = np.flatnonzero(np.asarray(facts["const"]))
    if const.size:
        raise constant_units_error("activity", act["unit"].values[const])
    sd = np.sqrt(np.maximum(np.asarray(facts["var"], dtype=np.float64), 0.0))
    mean = np.asarray(facts["mean"], dtype=np.float64)
    return LazyInput(act, arr, mean, sd, float(facts["top"]))


def _orth(a: np.ndarray) -> np.ndarray:
    """An orthonormal basis of the columns of *a* (economic QR, as scikit-learn's last step)."""
    q, _ = scipy.linalg.qr(a, mode="economic", check_finite=False)
    return q


def lazy_top_modes(
    z: Any,
    n_modes: int,
    *,
    n_oversamples: int,
    n_iter: int,
    random_state: object,
    client: Any,
    progress_bar=None,
) -> tuple[TopModes, np.ndarray, np.ndarray]:
    """The ``n_modes`` largest eigenpairs of ``z z^T / T`` for a dask array *z*.

    Parameters
    ----------
    z : dask.array.Array, shape (N, T)
        Centred (or z-scored) data in the working dtype.
    n_modes, n_oversamples, n_iter, random_state
        As in :func:`rgdata.coarse._momentum_randomized.top_modes` (the same random
        test matrix for the same *random_state*).
    client : distributed.Client or None
        Where the products with *z* run.
    progress_bar : optional
        Its description names the pass.

    Returns
    -------
    modes : TopModes
        As :func:`~rgdata.coarse._momentum_randomized.top_modes` returns.
    projections : ndarray, shape (n_modes, T)
        ``U^T z`` in the working dtype (rows in the order of ``modes``).
    mean_square : ndarray, shape (N,)
        ``mean(z**2, axis=1)`` in float64 (read with the first product).
    """
    n, t = z.shape
    dtype = np.dtype(z.dtype)
    size = n_modes + n_oversamples
    rng = check_random_state(random_state)
    seed = int(rng.integers(2**32 - 1))
    transpose = n < t  # scikit-learn's "auto": the range finder works on z.T
    omega = np.random.RandomState(seed).normal(size=(n if transpose else t, size))
    omega = omega.astype(dtype, copy=False)
    mean_square = (z.astype(np.float64) ** 2).mean(axis=1)
    passes = [0]

    def left(q: np.ndarray) -> np.ndarray:  # z @ q, (N, l)
        passes[0] += 1
        if progress_bar is not None:
            progress_bar.set_description_str(f"momentum RG (dask): randomized pass {passes[0]}")
        return np.asarray(compute(client, z @ q))

    def right(q: np.ndarray) -> np.ndarray:  # z.T @ q, (T, l)
        passes[0] += 1
        if progress_bar is not None:
            progress_bar.set_description_str(f"momentum RG (dask): randomized pass {passes[0]}")
        return np.asarray(compute(client, z.T @ q))

    # the first product also reads the mean squares (one pass)
    first, mean_square = compute(client, [(z.T if transpose else z) @ omega, mean_square])
    passes[0] += 1
    if transpose:  # the range of z.T: Q_T = orth(z^T (z z^T)^q Omega)
        q_t = _orth(np.asarray(first))
        for _ in range(n_iter):
            q_t = _orth(right(_orth(left(q_t))))
        h = left(q_t)  # B^T, B = Q_T^T z^T: U = left singular vectors of h
        u_hat, _, _ = scipy.linalg.svd(h, full_matrices=False, check_finite=False)
        u = u_hat[:, :n_modes]
    else:  # Q_N = orth((z z^T)^q z Omega)
        q_n = _orth(np.asarray(first))
        for _ in range(n_iter):
            q_n = _orth(left(_orth(right(q_n))))
        w = right(q_n)  # B^T, B = Q_N^T z: U = Q_N (right singular vectors of w)
        _, _, vt = scipy.linalg.svd(w, full_matrices=False, check_finite=False)
        u = q_n @ vt[:n_modes].T
    u = np.asfortranarray(u.astype(dtype, copy=False))
    # C u = z (z^T u) / T: z^T u in the working dtype, as the in-memory path
    wk = right(u)
    cu = left(np.ascontiguousarray(wk.astype(dtype, copy=False))).astype(np.float64) / t
    u64 = u.astype(np.float64)
    lam = np.einsum("ik,ik->k", u64, cu)
    residuals = np.linalg.norm(cu - u64 * lam[None, :], axis=0)
    order = np.argsort(-lam, kind="stable")
    modes = TopModes(lam[order], np.asfortranarray(u[:, order]), residuals[order])
    projections = np.ascontiguousarray(wk[:, order].T.astype(dtype, copy=False))
    return modes, projections, np.asarray(mean_square, dtype=np.float64)


def _cross_lags(block: np.ndarray, core: int, n_lags: int, budget: int) -> np.ndarray:
    """``sum_rows sum_{t < core} block[t] block[t + l]`` for ``l = 0..n_lags`` (no wrap)."""
    import scipy.fft  # noqa: PLC0415

    nfft = scipy.fft.next_fast_len(core + n_lags + 1, real=True)
    acc = np.zeros(nfft // 2 + 1, dtype=np.complex128)
    step = max(1, min(budget, _FFT_BATCH_VALUES) // nfft)  # the in-memory FFT batches
    for start in range(0, block.shape[0], step):
        rows = np.asarray(block[start : start + step], dtype=np.float64)
        head = scipy.fft.rfft(rows[:, :core], n=nfft, axis=1)
        full = scipy.fft.rfft(rows, n=nfft, axis=1)
        acc += (np.conj(head) * full).sum(axis=0)
    return scipy.fft.irfft(acc, n=nfft)[None, : n_lags + 1]


def _data_autocov(z: Any, n_lags: int, client: Any, budget: int) -> np.ndarray:
    """``sum_i sum_t z_i(t) z_i(t + l) / T`` for ``l = 0..n_lags``, chunk by chunk of time.

    Each time chunk ``[a0, a1)`` is read with the ``n_lags`` points that follow it and
    contributes the products whose first factor lies in it, so every pair is counted
    once. Time chunks shorter than ``n_lags`` are merged, and unit chunks split so that
    a task holds at most ``max(_TASK_VALUES, largest input chunk)`` values.
    """
    import dask.array as da  # noqa: PLC0415

    n, t = z.shape
    largest = int(max(z.chunks[0])) * int(max(z.chunks[1]))
    if min(z.chunks[1][:-1] or (t,)) < n_lags:
        z = z.rechunk({1: min(t, n_lags)})
    width = int(max(z.chunks[1])) + n_lags
    rows = max(1, max(_TASK_VALUES, largest) // width)
    if int(max(z.chunks[0])) > rows:
        z = z.rechunk({0: rows})
    parts = []
    a0 = 0
    for tc in z.chunks[1]:
        a1 = a0 + tc
        ext = z[:, a0 : min(a1 + n_lags, t)].rechunk({1: -1})
        parts.append(
            ext.map_blocks(
                _cross_lags,
                core=tc,
                n_lags=n_lags,
                budget=budget,
                dtype=np.float64,
                chunks=((1,) * len(ext.chunks[0]), (n_lags + 1,)),
            )
        )
        a0 = a1
    total = da.concatenate(parts, axis=0).sum(axis=0)
    return np.asarray(compute(client, total)) / t


def _block_sums(
    zc: np.ndarray | None,
    u_rows: np.ndarray,
    y: np.ndarray,
    steps: list[Step],
    inv_sd: np.ndarray,
    lo: float,
    width: float,
    n_bins: int,
    n_blocks: int,
    pieces: list[tuple[int, int, int]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Moment sums of one chunk of units x time: (B, S, n) m2 and m4, (S, n_bins + 1) counts.

    *pieces* are ``(block, start, stop)``: the chunk's time range cut at the block edges
    (positions within the chunk).
    """
    n_slots = inv_sd.shape[0]
    n = u_rows.shape[0]
    m2 = np.zeros((n_blocks, n_slots, n))
    m4 = np.zeros((n_blocks, n_slots, n))
    hist = np.zeros((n_slots, n, n_bins + 1))
    vectors = np.asfortranarray(u_rows)
    buffer = np.empty(n * max(stop - start for _, start, stop in pieces), dtype=u_rows.dtype)
    for b, start, stop in pieces:
        part = None if zc is None else np.ascontiguousarray(zc[:, start:stop])
        accumulate_steps(
            part,
            np.ascontiguousarray(y[:, start:stop]),
            vectors,
            steps,
            inv_sd,
            lo,
            width,
            (m2[b], m4[b], hist),
            buffer,
        )
    return m2, m4, hist.sum(axis=1)


def _add(a: tuple, b: tuple) -> tuple:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def _tree_sum(items: list) -> Any:
    import dask  # noqa: PLC0415

    add = dask.delayed(_add, pure=True)
    while len(items) > 1:
        pairs = [items[i : i + 2] for i in range(0, len(items), 2)]
        items = [add(*pair) if len(pair) == 2 else pair[0] for pair in pairs]
    return items[0]


def lazy_block_moments(
    z: Any,
    vectors: np.ndarray,
    projections: np.ndarray,
    steps: list[Step],
    variances: np.ndarray,
    edges: np.ndarray,
    *,
    chunk_size: int,
    client: Any,
    progress_bar=None,
) -> tuple[dict[str, np.ndarray], BlockMoments]:
    """:func:`rgdata.coarse._momentum_blocks.block_filtered_moments` for a dask array *z*.

    *vectors* (N, m) are the modes the steps use and *projections* (m, T) ``U^T z``.
    The block rule, the moments and the returned structures are those of the in-memory
    function (same kernels; the sums are taken in another order).
    """
    import dask  # noqa: PLC0415

    n, n_time = z.shape
    n_slots = variances.shape[0]
    max_lag = max(1, n_time // 4)
    budget = n * chunk_size  # the in-memory streaming stage's working size
    lags = min(max_lag, _FIRST_LAGS)
    while True:
        if progress_bar is not None:
            progress_bar.set_description_str(f"momentum RG (dask): autocorrelation, {lags} lags")
        total = _data_autocov(z, lags, client, budget)
        closed = not integrated_time(total / total[0])[1] if total[0] > 0 else True
        if closed or lags >= max_lag:
            break
        lags = min(max_lag, 4 * lags)
    # beyond a closed window the lags are never read (integrated_time stops at the window)
    total = np.concatenate([total, np.zeros(max_lag - lags)])
    rows = int(np.clip(budget // max(n_time, 1), 1, 256))
    acf = combine_slot_autocorrelations(
        total, lambda s, e: projections[s:e], steps, n_slots, max_lag, budget, rows
    )
    rule = block_rule(acf, n_time)
    n_blocks, block_edges = rule["n_blocks"], rule["block_edges"]
    if progress_bar is not None:
        progress_bar.set_description_str("momentum RG (dask): projections")
    n_bins = len(edges) - 1
    lo, width = float(edges[0]), float(edges[1] - edges[0])
    safe = np.where(variances > 0, variances, 1.0)
    inv_sd = np.where(variances > 0, 1.0 / np.sqrt(safe), 0.0)
    vectors = np.asarray(vectors, dtype=z.dtype)
    reads_data = any(s.op in ("data", "complement") for s in steps)
    blocks = z.to_delayed() if reads_data else None
    task = dask.delayed(_block_sums, pure=True, nout=3)
    per_unit = []
    r0 = 0
    for i, nr in enumerate(z.chunks[0]):
        u_rows = vectors[r0 : r0 + nr]
        sd_rows = inv_sd[:, r0 : r0 + nr]
        items = []
        a0 = 0
        for j, tc in enumerate(z.chunks[1]):
            a1 = a0 + tc
            pieces = []
            for b in range(n_blocks):
                s, e = max(a0, int(block_edges[b])), min(a1, int(block_edges[b + 1]))
                if e > s:
                    pieces.append((b, s - a0, e - a0))
            zc = blocks[i, j] if reads_data else None
            out = task(
                zc,
                u_rows,
                projections[:, a0:a1],
                steps,
                sd_rows,
                lo,
                width,
                n_bins,
                n_blocks,
                pieces,
            )
            items.append(tuple(out))
            a0 = a1
        per_unit.append(_tree_sum(items))
        r0 += nr
    with warnings.catch_warnings():
        # dask warns about large numpy arguments embedded in the graph (the modes' rows)
        warnings.simplefilter("ignore", UserWarning)
        results = compute(client, per_unit)
    m2_parts, m4_parts, hist_parts = zip(*results, strict=True)
    lengths = np.diff(block_edges)
    m2b = np.concatenate(m2_parts, axis=-1) / lengths[:, None, None]
    m4b = np.concatenate(m4_parts, axis=-1) / lengths[:, None, None]
    hist = np.sum(hist_parts, axis=0)
    return pool_blocks(m2b, m4b, hist[:, :n_bins], hist[:, n_bins], rule, n_time)


def storage_note(act: xr.DataArray, client: Any, loaded: bool) -> str:
    """The note of ``attrs["input_storage"]`` for a dask-backed activity."""
    arr = act.data
    size = act.size * act.dtype.itemsize / 2**30
    shape = (
        f"dask-backed activity ({act.shape[0]} x {act.shape[1]}, {size:.2f} GiB, chunks of "
        f"{int(max(arr.chunks[0]))} units x {int(max(arr.chunks[1]))} time points)"
    )
    if loaded:
        return (
            f"{shape} read into memory: solver='exact' decomposes the whole covariance "
            "(solver='randomized' keeps it lazy)"
        )
    where = (
        f"the dask client {describe(client)}"
        if client is not None
        else "dask's synchronous scheduler in this process"
    )
    return f"{shape} kept lazy: solver='randomized' read it chunk by chunk on {where}"


def exact_peak_bytes(n: int, t: int, input_itemsize: int, itemsize: int, chunk: int) -> int:
    """Rough peak bytes of ``solver="exact"`` on in-memory data (docstring's Memory notes).

    The input, the working copy (twice when ``T < N``, for the Gram matrix), the
    ``min(N, T)**2`` matrix, the eigenvectors (up to N x min(N, T)) and four ``N x chunk``
    float64 streaming arrays.
    """
    m, chunk = min(n, t), min(chunk, t)
    work = n * t * itemsize * (2 if t < n else 1)
    return int(n * t * input_itemsize + work + m * m * itemsize + n * m * itemsize + 32 * n * chunk)
