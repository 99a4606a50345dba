"""Passes over the row chunks of a dask-backed activity for :func:`rgdata.coarse.prg`.

Everything :func:`rgdata.coarse.prg` reads from the level-0 data, computed
one chunk of whole rows (units) at a time, so the ``N x T`` input is never
held:

* :func:`stream_level0` -- the level-0 statistics of every unit (variance,
  silence, autocorrelation, the normalized values' histogram) and the level-1
  sums of the chosen pairs (plain sums of the measured samples and normalized
  sums of the pairing samples). A unit whose partner lies in a later chunk
  waits (its rows copied) until the partner is read.
* :func:`acf_pass` -- the level-0 autocorrelations with more lags.
* :func:`block_pass` -- the level-0 block statistics once the blocks are known.
* :class:`RowSource` -- the rows of the clusters whose covariance spectra are
  computed, read in batches of clusters; :class:`ClientRows` instead
  computes each cluster's spectra on the client's workers.

With a ``distributed`` client the per-unit statistics of every pass run on
the workers, one task per chunk next to its data (:func:`chunk_results`,
a bounded window of tasks in flight): only the small per-unit results, and
in :func:`stream_level0` the rows the level-1 sums need, travel to the
caller. Without one, the chunks are read and reduced here one at a time.

Every per-unit number comes from the kernels of the in-memory path applied
to whole rows, and every average over units is taken over the concatenated
per-unit arrays with the same numpy call, so the numbers do not depend on the
chunking (the tests compare them with the in-memory path bit for bit).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .._progress import progress_bar
from ._prg_kernels import pair_sums, row_scales, scaled_pair_sums
from ._prg_levels import histogram_counts
from ._prg_setup import PrgData, PrgOptions
from ._prg_stats import (
    _HOW,
    autocorrelation_rows,
    level_stats,
    normalize_rows,
)

__all__ = [
    "row_chunks",
    "chunk_results",
    "stream_level0",
    "level1_sums",
    "acf_pass",
    "block_pass",
    "RowSource",
    "ClientRows",
    "fetch",
]


#: how a lost client is reported (``distributed._on_client``)
_LOST = ("prg", "no result was returned")


def fetch(client: Any, block: Any) -> np.ndarray:
    """The values of the dask collection *block*, computed on *client* or synchronously."""
    from .distributed import _run  # noqa: PLC0415 (import cycle through prg)

    return np.asarray(_run(client, block, *_LOST))


def row_chunks(arr: Any, client: Any, progress: bool = False, desc: str = "") -> Iterator:
    """``(first row, values)`` of each row chunk of the dask array *arr*, in order."""
    starts = np.concatenate([[0], np.cumsum(arr.chunks[0])])
    for i in progress_bar(range(len(arr.chunks[0])), enable=progress, desc=desc):
        x = fetch(client, arr.blocks[i])
        if x.dtype == bool:
            x = x.view(np.int8)
        yield int(starts[i]), x


#: chunk tasks in flight per worker thread (bounds the results held on the workers)
_WINDOW_PER_THREAD = 2


def chunk_results(
    arr: Any, client: Any, func: Callable, *args: Any, progress: bool = False, desc: str = ""
) -> Iterator:
    """``(first row, func(values, *args))`` of each row chunk of *arr*, in order.

    With a client, ``func`` runs on the workers, one task per chunk reading
    its own data, at most ``_WINDOW_PER_THREAD`` tasks per worker thread in
    flight (so the results waiting for the caller stay bounded); without
    one, each chunk is read here (:func:`row_chunks`) and reduced in turn.
    *func* and *args* must pickle (module-level functions, arrays, numbers).
    """
    if client is None:
        for r0, x in row_chunks(arr, None, progress, desc):
            yield r0, func(x, *args)
        return
    import dask  # noqa: PLC0415 (optional dependency)

    from .distributed import _on_client  # noqa: PLC0415 (import cycle through prg)

    starts = np.concatenate([[0], np.cumsum(arr.chunks[0])]).astype(int)
    n = len(arr.chunks[0])
    tasks = [dask.delayed(_on_rows, pure=True)(func, arr.blocks[i], *args) for i in range(n)]
    threads = _on_client(lambda: sum(client.nthreads().values()), *_LOST)
    window = max(1, _WINDOW_PER_THREAD * int(threads))
    pending: deque = deque()
    for i in progress_bar(range(n), enable=progress, desc=desc):
        while len(pending) < window and i + len(pending) < n:
            j = i + len(pending)
            pending.append(_on_client(lambda j=j: client.compute(tasks[j]), *_LOST))
        future = pending.popleft()
        result = _on_client(future.result, *_LOST)
        future.release()
        yield int(starts[i]), result


def _on_rows(func: Callable, x: Any, *args: Any) -> Any:
    """``func(values, *args)`` on a chunk, booleans read as int8 (as :func:`row_chunks`)."""
    x = np.asarray(x)
    return func(x.view(np.int8) if x.dtype == bool else x, *args)


def _split(x: np.ndarray, opts: PrgOptions) -> tuple[np.ndarray, np.ndarray]:
    """Measured and pairing samples of a chunk, as the in-memory path slices them."""
    return _split_at(x, opts.t_split, opts.holdout)


def _split_at(x: np.ndarray, t_split: int, holdout: bool) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_split` from the two options it reads (what a worker task is sent)."""
    xm = _measured(x, t_split)
    xp = np.ascontiguousarray(x[:, :t_split]) if holdout else xm
    return xm, xp


def _measured(x: np.ndarray, t_split: int) -> np.ndarray:
    """A chunk's measured samples (after the pairing half of a hold-out), contiguous."""
    return np.ascontiguousarray(x[:, t_split:])


class _Pairs:
    """Where each unit's level-1 sum goes: pair index, side, partner."""

    def __init__(self, pairs: np.ndarray, n_units: int):
        self.a, self.b = pairs[:, 0], pairs[:, 1]
        self.later = np.maximum(self.a, self.b)
        self.partner = np.full(n_units, -1, dtype=np.int64)
        self.partner[self.a], self.partner[self.b] = self.b, self.a
        self.waiting: dict[int, tuple] = {}

    def complete(self, r0: int, r1: int, rows: tuple) -> tuple[np.ndarray, list, list]:
        """Pairs completed by chunk ``[r0, r1)`` and their two sides' rows; keep waiting rows."""
        local = np.arange(r1 - r0)
        partner = self.partner[r0:r1]
        for i in local[partner >= r1]:  # the partner comes later: copy the rows and wait
            self.waiting[r0 + int(i)] = tuple(np.array(part[i]) for part in rows)
        done = np.flatnonzero((self.later >= r0) & (self.later < r1))

        def side(unit: int) -> tuple:
            if unit >= r0:
                return tuple(part[unit - r0] for part in rows)
            return self.waiting.pop(unit)

        return done, [side(int(u)) for u in self.a[done]], [side(int(u)) for u in self.b[done]]


def stream_level0(
    arr: Any,
    data: PrgData,
    opts: PrgOptions,
    client: Any,
    pairs: np.ndarray,
    *,
    lags: int,
    fused: bool,
    edges: np.ndarray,
    progress: bool = False,
    out: tuple[np.ndarray, np.ndarray] | None = None,
    on_chunk: Callable[[], None] | None = None,
) -> dict:
    """One pass: the level-0 per-unit statistics and the level-1 sums of *pairs*.

    Returns a dict with ``var``, ``p0`` (per unit), ``acf``/``ok`` (per unit,
    ``lags + 1`` lags), ``n_const``, ``hist`` (summed histogram counts and
    zeros; None without the distribution), ``raw`` (the ``(n_pairs, T_eval)``
    plain sums, ``data.sum_dtype``), ``ybuf`` (``1.5 n_pairs`` rows of
    ``data.float_dtype``: the normalized pair sums in the first ``n_pairs``,
    room for the next level's below) and ``const`` (the constant rows of the
    normalized sums). *out* (optional): the arrays ``raw`` and ``ybuf`` are
    written into instead (e.g. memory-mapped files of a level kept out of
    memory, :mod:`rgdata.coarse._prg_lazy_levels`; ``ybuf`` then of
    ``n_pairs`` rows); *on_chunk* is called after each chunk's sums are
    written (there: releasing the files' pages from this process).
    """
    n_pairs = pairs.shape[0]
    t_pair = opts.t_split if opts.holdout else data.n_time - opts.t_split
    if out is None:
        raw = np.empty((n_pairs, data.n_time - opts.t_split), dtype=data.sum_dtype)
        ybuf = np.empty((n_pairs + n_pairs // 2, t_pair), dtype=data.float_dtype)
    else:
        raw, ybuf = out
    var, p0, acf, ok = [], [], [], []
    n_const = 0
    with_hist = "distribution" in opts.observables
    hist = np.zeros(edges.size) if with_hist else None
    where = _Pairs(pairs, data.n_units)
    how = (data.silent_of(1), lags, fused, data.norm, np.dtype(data.float_dtype))
    chunks = chunk_results(
        arr, client, _level0_chunk, opts.t_split, opts.holdout, how,
        edges if with_hist else None, progress=progress, desc="PRG level 0",
    )  # fmt: skip
    for r0, part in chunks:
        var.append(part["var"])
        p0.append(part["p0"])
        acf.append(part["acf"])
        ok.append(part["ok"])
        if with_hist and not fused:
            hist += part["hist"]
        n_const += part["n_const"]
        rows = part["rows"]
        done, side_a, side_b = where.complete(r0, r0 + rows[0].shape[0], rows)
        if done.size:
            _sum_pairs(raw, ybuf, done, side_a, side_b, fused)
        if on_chunk is not None:
            on_chunk()
    const1 = _normalize_in_place(ybuf[:n_pairs], data.norm, on_chunk)
    return {
        "var": np.concatenate(var),
        "p0": np.concatenate(p0),
        "acf": np.concatenate(acf),
        "ok": np.concatenate(ok),
        "n_const": n_const,
        "hist": hist,
        "raw": raw,
        "ybuf": ybuf,
        "const": const1,
    }


#: rows normalized at once in place (a memory-mapped level is then touched a slice at a time)
_NORMALIZE_ROWS = 4096


def _normalize_in_place(
    y: np.ndarray, norm: str, on_chunk: Callable[[], None] | None = None
) -> np.ndarray:
    """``normalize_rows(y, norm, y)`` a slice of rows at a time (row-wise: the same values)."""
    parts = []
    for r0 in range(0, y.shape[0], _NORMALIZE_ROWS):
        part = y[r0 : r0 + _NORMALIZE_ROWS]
        parts.append(normalize_rows(part, norm, part))
        if on_chunk is not None:
            on_chunk()
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def _level0_chunk(
    x: np.ndarray, t_split: int, holdout: bool, how: tuple, edges: np.ndarray | None
) -> dict:
    """One chunk's level-0 statistics and the rows its units contribute to the level-1 sums."""
    silent, lags, fused, norm, float_dtype = how
    xm, xp = _split_at(x, t_split, holdout)
    st = level_stats(xm, silent, None, 1, with_acf=False)
    a_c, ok_c = autocorrelation_rows(xm, lags)
    out = {"var": st["var"], "p0": st["p0"], "acf": a_c, "ok": ok_c}
    if fused:
        scales, const = row_scales(xp, _HOW[norm])
        out["rows"] = (xm, xp, scales)
    else:
        y0 = np.empty(xp.shape, dtype=float_dtype)
        const = normalize_rows(xp, norm, y0)
        if edges is not None:
            out["hist"] = histogram_counts(y0, edges, norm)
        out["rows"] = (xm, y0)
    out["n_const"] = int(const.sum())
    return out


def _sum_pairs(
    raw: np.ndarray, ybuf: np.ndarray, done: np.ndarray, side_a: list, side_b: list, fused: bool
) -> None:
    """Write the sums of the completed pairs *done* with the in-memory path's kernels."""
    k = done.size
    ia, ib = np.arange(k), np.arange(k, 2 * k)
    pool = np.stack([s[0] for s in side_a] + [s[0] for s in side_b])
    raw[done] = pair_sums(pool, ia, ib, np.empty((k, raw.shape[1]), dtype=raw.dtype))
    out = np.empty((k, ybuf.shape[1]), dtype=ybuf.dtype)
    pool = np.stack([s[1] for s in side_a] + [s[1] for s in side_b])
    if fused:
        scales = np.array([s[2] for s in side_a] + [s[2] for s in side_b], dtype=np.float64)
        ybuf[done] = scaled_pair_sums(pool, scales, ia, ib, out)
    else:
        ybuf[done] = pair_sums(pool, ia, ib, out)


def level1_sums(
    arr: Any, data: PrgData, opts: PrgOptions, client: Any, pairs: np.ndarray
) -> np.ndarray:
    """The level-1 plain sums of the measured samples again (one more pass over the chunks).

    :func:`stream_level0` forms them once; the level pass drops them at
    level 2 (they are the largest array then), and the block statistics
    rebuild them here with the same kernel.
    """
    raw = np.empty((pairs.shape[0], data.n_time - opts.t_split), dtype=data.sum_dtype)
    where = _Pairs(pairs, data.n_units)
    for r0, x in row_chunks(arr, client):
        done, side_a, side_b = where.complete(r0, r0 + x.shape[0], (_split(x, opts)[0],))
        if done.size:
            k = done.size
            pool = np.stack([s[0] for s in side_a] + [s[0] for s in side_b])
            out = np.empty((k, raw.shape[1]), dtype=raw.dtype)
            raw[done] = pair_sums(pool, np.arange(k), np.arange(k, 2 * k), out)
    return raw


def acf_pass(
    arr: Any, opts: PrgOptions, client: Any, lags: int, level: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row autocorrelations over *lags* lags (another pass over the chunks).

    *arr* holds level 0's units (the measured samples after ``opts.t_split``)
    or, with *level* > 0, that level's plain cluster sums (measured samples only).
    """
    t_split = opts.t_split if level == 0 else 0
    parts = [p for _, p in chunk_results(arr, client, _acf_chunk, t_split, lags)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _acf_chunk(x: np.ndarray, t_split: int, lags: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit autocorrelations of a chunk's measured samples."""
    return autocorrelation_rows(_measured(x, t_split), lags)


def block_pass(
    arr: Any,
    data: PrgData,
    opts: PrgOptions,
    client: Any,
    block_edges: np.ndarray,
    max_lag: int,
    with_acf: bool,
    level: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A level's block statistics, as :func:`rgdata.coarse._blocks.block_level_stats` has them.

    *arr* holds level 0's units or, with *level* > 0, that level's plain
    cluster sums (measured samples only; clusters of ``2**level`` units).
    Returns ``var (B,)``, ``p0 (cluster, B)`` and ``acf (max_lag + 1, B)``.
    """
    n_blocks = block_edges.size - 1
    lag_b = int(min(max_lag, np.diff(block_edges).min() - 1))
    with_acf = with_acf and lag_b >= 1
    var, p0 = [], []
    acf: list[list] = [[] for _ in range(n_blocks)]
    ok: list[list] = [[] for _ in range(n_blocks)]
    how = (data.silent_of(2**level), max(lag_b, 1), with_acf)
    t_split = opts.t_split if level == 0 else 0
    for _, part in chunk_results(arr, client, _block_chunk, t_split, block_edges, how):
        var.append(part["var"])
        p0.append(part["p0"])
        for b in range(n_blocks if with_acf else 0):
            acf[b].append(part["acf"][b])
            ok[b].append(part["ok"][b])
    acf_out = np.full((max_lag + 1, n_blocks), np.nan)
    if with_acf:
        for b in range(n_blocks):
            a_all, ok_all = np.concatenate(acf[b]), np.concatenate(ok[b])
            if ok_all.any():
                acf_out[: lag_b + 1, b] = a_all[ok_all].sum(axis=0) / ok_all.sum()
    return np.concatenate(var).mean(axis=0), np.concatenate(p0), acf_out


def _block_chunk(x: np.ndarray, t_split: int, block_edges: np.ndarray, how: tuple) -> dict:
    """A chunk's per-block variances, silences and (optionally) autocorrelations."""
    silent, lags, with_acf = how
    xm = _measured(x, t_split)
    st = level_stats(xm, silent, block_edges, lags, with_acf=False, full=False)
    out = {"var": st["var_blocks"], "p0": st["p0_blocks"], "acf": [], "ok": []}
    for b in range(block_edges.size - 1 if with_acf else 0):
        a_c, ok_c = autocorrelation_rows(xm, lags, t0=block_edges[b], t1=block_edges[b + 1])
        out["acf"].append(a_c)
        out["ok"].append(ok_c)
    return out


class RowSource:
    """Rows of a dask array read in batches of clusters, for the cluster spectra.

    :func:`rgdata.coarse._prg_stats.cluster_spectra` asks for the rows of one
    root cluster at a time (``source[units]``); the roots are known in
    advance (*roots*, in that order), so each read fetches the rows of as
    many following roots as fit in *batch_rows* (one dask computation that
    reads each chunk it touches once).
    """

    def __init__(self, arr: Any, client: Any, roots: list[np.ndarray], batch_rows: int):
        self.arr, self.client, self.roots = arr, client, roots
        self.batch_rows = max(1, int(batch_rows))
        self.shape = arr.shape
        self.first = {int(r[0]): i for i, r in enumerate(roots) if r.size}
        self.rows: np.ndarray | None = None
        self.pos: dict[int, int] = {}
        self.reads = 0

    def _load(self, units: np.ndarray) -> None:
        start = self.first.get(int(units[0]))
        batch = [units] if start is None else []
        if start is not None:
            total = 0
            for r in self.roots[start:]:
                if batch and total + r.size > self.batch_rows:
                    break
                batch.append(r)
                total += r.size
        want = np.unique(np.concatenate(batch))
        self.rows = fetch(self.client, self.arr[want])
        if self.rows.dtype == bool:
            self.rows = self.rows.view(np.int8)
        self.pos = {int(u): i for i, u in enumerate(want)}
        self.reads += 1

    def __getitem__(self, units: np.ndarray) -> np.ndarray:
        units = np.asarray(units)
        if not all(int(u) in self.pos for u in units):
            self._load(units)
        return self.rows[[self.pos[int(u)] for u in units]]


class ClientRows:
    """The rows of a dask array on a client, for the cluster spectra computed there.

    :func:`rgdata.coarse._prg_stats.cluster_spectra` calls :meth:`map_roots`:
    one task per root cluster reads that cluster's rows on the workers and
    returns only its eigenvalue sums (:func:`~rgdata.coarse._prg_stats.root_spectra_rows`).
    """

    def __init__(self, arr: Any, client: Any):
        self.arr, self.client = arr, client
        self.shape = arr.shape

    def map_roots(self, func: Callable, items: list, args: tuple) -> list:
        """``[func(rows of units, level, *args) for units, level in items]``, on the workers."""
        import dask  # noqa: PLC0415 (optional dependency)

        from .distributed import _on_client  # noqa: PLC0415 (import cycle through prg)

        tasks = [
            dask.delayed(func, pure=True)(self.arr[np.asarray(units)], lv, *args)
            for units, lv in items
        ]
        return _on_client(lambda: self.client.gather(self.client.compute(tasks)), *_LOST)


def spectra_roots(lp: Any, top: int) -> list[np.ndarray]:
    """The root clusters :func:`~rgdata.coarse._prg_stats.cluster_spectra` visits, in order."""
    roots = []
    for lv in range(top + 1):
        cl = lp.clusters[lv]
        for c in range(cl.shape[0]):
            if lv == top or lp.membership[lv + 1, cl[c, 0]] < 0:
                roots.append(cl[c])
    return roots
