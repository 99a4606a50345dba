"""Levels of :func:`rgdata.coarse.prg` kept out of the caller's memory (dask-backed activity).

On a dask-backed activity :mod:`rgdata.coarse._prg_lazy` holds level 0 as a
dask array and, by default, the ``N/2 x T`` level-1 sums in memory. When
those do not fit (:func:`rgdata.coarse._prg_lazy_input.lazy_plan`), each
level ``1, 2, ...`` is kept out of memory until one fits:

* a level is a :class:`LazyLevel`: its plain cluster sums of the measured
  samples (``raw``) and its normalized variables of the pairing samples
  (``y``), each a dask array of whole rows, plus its constant variables;
* a :class:`LevelStore` holds them: with a ``distributed`` client on its
  workers (scattered chunk by chunk, then the file is removed), without one
  in ``.npy`` files in a temporary directory that is removed at the end of
  the run, also on error. The files are written through a mapping, read
  chunk by chunk by position (:class:`FileRows`), mapped read-only for the
  pairing's blocks, and their mapped pages are released from this process
  between passes (:meth:`LevelStore.release`);
* a kept level is measured as level 0 is, by chunked passes
  (:func:`measure_level`, with the cluster size ``2**level`` for the silent
  value), paired on the dask machinery (:func:`level_pairs`), and its pairs
  are summed output chunk by output chunk (:func:`sum_pairs`): the rows a
  chunk of pairs reads are fetched by index (from the files, or from the
  workers), summed and normalized with the in-memory kernels, and written to
  the next level (kept too, or in memory once it fits).

Every number is the in-memory path's: the same kernels on whole rows, the
same reductions over the concatenated per-row arrays, the same pairs (exact
greedy pairs do not depend on the product path, see ``docs/scale.md``).
"""

from __future__ import annotations

import mmap
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._progress import progress_bar
from ._ann import APPROX_OPTIONS
from ._prg_lazy_stream import acf_pass, chunk_results
from ._prg_levels import (
    LevelPass,
    _proportional,
    finish_histogram,
    histogram_counts,
    record_variance_silence,
)
from ._prg_pairing import random_pairs
from ._prg_setup import RETRY_LAG, PrgData, PrgOptions
from ._prg_sparse import SPARSE_OPTIONS
from ._prg_stats import autocorrelation_rows, level_stats, normalize_rows, pair_rows

__all__ = ["LazyLevel", "LevelStore", "fill_level", "measure_level", "level_pairs", "sum_pairs"]

#: prefix of the temporary directory of the levels kept out of memory without a client
TMP_PREFIX = "rgdata-prg-levels-"


@dataclass
class LazyLevel:
    """A level kept out of memory: its sums and normalized variables as dask arrays."""

    level: int
    raw: Any  # (m, T_eval) plain cluster sums of the measured samples, the sum dtype
    y: Any  # (m, t_pair) normalized variables of the pairing samples, the float dtype
    const: np.ndarray  # (m,) constant normalized variables
    local: tuple[np.ndarray, np.ndarray] | None = None  # the files, mapped (no client)
    files: tuple[FileRows, FileRows] | None = None  # the files, read by position (no client)

    @property
    def m(self) -> int:
        """Variables of the level."""
        return int(self.raw.shape[0])


class FileRows:
    """Rows of a 2-D ``.npy`` file read with positioned reads (no mapping).

    What :func:`dask.array.from_array` reads a kept level's chunks from
    without a client (``x[rows slice, cols slice]``), and :meth:`take` the
    rows a chunk of pairs needs: the pages read are the page cache's, not
    this process's resident memory.
    """

    def __init__(self, path: str, shape: tuple[int, int], dtype: np.dtype, offset: int):
        self.path, self.shape, self.dtype, self.offset = path, shape, np.dtype(dtype), offset
        self.ndim = 2
        self.row_bytes = shape[1] * self.dtype.itemsize

    def _read(self, fd: int, r0: int, r1: int) -> np.ndarray:
        size = (r1 - r0) * self.row_bytes
        buf = bytearray(size)
        view, done = memoryview(buf), 0
        while done < size:
            got = os.preadv(fd, [view[done:]], self.offset + r0 * self.row_bytes + done)
            if got == 0:
                raise OSError(f"prg: {self.path} is shorter than expected")
            done += got
        return np.frombuffer(buf, dtype=self.dtype).reshape(r1 - r0, self.shape[1])

    def __getitem__(self, key: tuple) -> np.ndarray:
        rows, cols = key if isinstance(key, tuple) else (key, slice(None))
        r0, r1, step = rows.indices(self.shape[0])
        if step != 1:
            raise IndexError("FileRows reads contiguous rows only")
        fd = os.open(self.path, os.O_RDONLY)
        try:
            return self._read(fd, r0, max(r0, r1))[:, cols]
        finally:
            os.close(fd)

    def take(self, rows: np.ndarray) -> np.ndarray:
        """Rows *rows* (sorted), one read per run of consecutive rows."""
        out = np.empty((rows.size, self.shape[1]), dtype=self.dtype)
        if rows.size == 0:
            return out
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        starts = np.concatenate([[0], breaks])
        ends = np.concatenate([breaks, [rows.size]])
        fd = os.open(self.path, os.O_RDONLY)
        try:
            for i0, i1 in zip(starts, ends, strict=True):
                out[i0:i1] = self._read(fd, int(rows[i0]), int(rows[i0]) + int(i1 - i0))
        finally:
            os.close(fd)
        return out


class LevelStore:
    """Where the levels kept out of memory live: the client's workers, or a temporary directory.

    Use as a context manager: the directory (created at the first level
    written) is removed on exit, whether the run succeeded or failed.
    """

    def __init__(self, client: Any, chunk_rows: int):
        self.client = client
        self.chunk_rows = max(1, int(chunk_rows))
        self.path: str | None = None
        self.maps: list[np.memmap] = []  # every mapping made, to release their pages

    def __enter__(self) -> LevelStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def release(self) -> None:
        """Drop the pages of the mapped files from this process's resident memory.

        The files are shared mappings: their pages stay in the page cache
        (written back when dirty) and are mapped again when touched, so this
        only stops them counting as this process's memory between passes.
        """
        for mm in self.maps:
            _drop_pages(mm)

    def close(self) -> None:
        """Remove the temporary directory (if one was made)."""
        self.maps.clear()
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None

    def empty(
        self, level: int, m: int, t_eval: int, t_pair: int, data: PrgData
    ) -> tuple[np.ndarray, np.ndarray]:
        """New memory-mapped arrays of *level*: sums ``(m, t_eval)``, variables ``(m, t_pair)``."""
        if self.path is None:
            self.path = tempfile.mkdtemp(prefix=TMP_PREFIX)
        open_ = np.lib.format.open_memmap
        raw = open_(self._file(level, "raw"), "w+", data.sum_dtype, (m, t_eval))
        y = open_(self._file(level, "y"), "w+", data.float_dtype, (m, t_pair))
        self.maps += [raw, y]
        return raw, y

    def check_space(self, need: int) -> None:
        """OSError when the temporary directory's disk has less than *need* bytes free."""
        where = tempfile.gettempdir()
        free = shutil.disk_usage(where).free
        if need > free:
            raise OSError(
                f"prg: the levels kept out of memory need about {need / 2**30:.2f} GiB of disk "
                f"in the temporary directory {where}, which has {free / 2**30:.2f} GiB free. "
                "Point TMPDIR at a larger disk, or pass max_memory= a larger budget (fewer "
                "levels are then kept out of memory)"
            )

    def _file(self, level: int, what: str) -> str:
        return os.path.join(self.path, f"level{level}_{what}.npy")

    def keep(self, level: int, raw: np.ndarray, y: np.ndarray, const: np.ndarray) -> LazyLevel:
        """The level written into :meth:`empty`'s arrays, as a :class:`LazyLevel`.

        Without a client the files stay (read through dask, or directly by
        index); with one, their rows are scattered to the workers one chunk at
        a time and the files removed.
        """
        import dask.array as da  # noqa: PLC0415 (optional dependency)

        raw.flush()
        y.flush()
        self.release()
        self.maps = [mm for mm in self.maps if mm is not raw and mm is not y]  # written
        rows = self.chunk_rows
        if self.client is None:
            chunks = (rows, -1)
            maps = tuple(np.load(self._file(level, w), mmap_mode="r") for w in ("raw", "y"))
            self.maps += list(maps)
            files = tuple(
                FileRows(self._file(level, w), mm.shape, mm.dtype, mm.offset)
                for w, mm in zip(("raw", "y"), maps, strict=True)
            )
            return LazyLevel(
                level,
                da.from_array(files[0], chunks=chunks, asarray=True),
                da.from_array(files[1], chunks=chunks, asarray=True),
                const,
                local=maps,
                files=files,
            )
        kept = LazyLevel(level, self._scatter(raw), self._scatter(y), const)
        del raw, y
        for what in ("raw", "y"):
            os.remove(self._file(level, what))
        return kept

    def _scatter(self, x: np.ndarray) -> Any:
        """*x* as a dask array of chunks scattered to the client's workers."""
        import dask.array as da  # noqa: PLC0415

        from .distributed import _on_client  # noqa: PLC0415 (import cycle through prg)

        parts = []
        for r0 in range(0, x.shape[0], self.chunk_rows):
            block = np.array(x[r0 : r0 + self.chunk_rows])
            _drop_pages(x)
            future = _on_client(lambda b=block: self.client.scatter(b, hash=False), *_LOST)
            parts.append(da.from_delayed(future, shape=block.shape, dtype=block.dtype))
        return da.concatenate(parts)


def _drop_pages(mm: np.ndarray) -> None:
    """``madvise(MADV_DONTNEED)`` on the mapping of the memory-mapped array *mm* (if any)."""
    raw_map = getattr(mm, "_mmap", None)
    if raw_map is not None and not raw_map.closed and hasattr(raw_map, "madvise"):
        raw_map.madvise(mmap.MADV_DONTNEED)


#: how a lost client is reported (``distributed._on_client``)
_LOST = ("prg", "no result was returned")


def fill_level(
    lp: LevelPass,
    level: int,
    st: dict,
    data: PrgData,
    opts: PrgOptions,
    lags: int,
    more_lags: Callable[[int], tuple[np.ndarray, np.ndarray]],
) -> None:
    """Fill *level* of *lp* from per-row statistics, as ``_measure_level`` fills it in memory.

    *st*: ``var``, ``p0``, ``acf``/``ok`` (per row, ``lags + 1`` lags),
    ``n_const`` and ``hist`` (summed histogram counts, None without the
    distribution) with ``n_values`` (the variables' count of values);
    ``more_lags(lags)`` reads the per-row autocorrelations again over more
    lags (``level_acf``'s growing window, one more pass per try).
    """
    cl = lp.clusters[level]
    k = int(lp.sizes[level])
    lp.membership[level, cl.ravel()] = np.repeat(np.arange(cl.shape[0]), k)
    lp.n_left[level] = data.n_units - cl.size
    lp.n_const[level] = st["n_const"]
    obs = opts.observables
    record_variance_silence(lp, level, st, data.silent_of(k) is not None, opts)
    from ._blocks import enough_lags  # noqa: PLC0415 (import cycle through _blocks)

    acf_rows, ok = st["acf"], st["ok"]
    need_tau = "autocorrelation" in obs
    while True:  # level_acf's growing lags
        acf = mean_acf(acf_rows, ok)
        if lags >= opts.long_lag or enough_lags(acf, need_tau, opts.max_lag):
            break
        lags = min(opts.long_lag, max(4 * lags, RETRY_LAG))
        acf_rows, ok = more_lags(lags)
    lp.acf_long[level, : lags + 1] = acf
    lp.acf_lags[level] = lags
    if "distribution" in obs:
        lp.dist[level], lp.zero[level], lp.oor[level] = finish_histogram(
            st["hist"], st["n_values"], lp.edges, data.norm
        )
    else:
        lp.dist[level] = np.nan


def mean_acf(acf: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """:func:`~rgdata.coarse._prg_levels.cluster_mean_acf` from per-row autocorrelations."""
    if not ok.any():
        return np.full(acf.shape[1], np.nan)
    return acf[ok].mean(axis=0)


def first_lags(lp: LevelPass, level: int, opts: PrgOptions) -> int:
    """The lags ``level_acf`` starts *level* with: where the previous levels ended."""
    start = int(lp.acf_lags[:level].max(initial=0))
    return min(max(opts.first_lag, start), opts.long_lag)


def measure_level(
    lp: LevelPass,
    kept: LazyLevel,
    data: PrgData,
    opts: PrgOptions,
    client: Any,
    progress: bool,
) -> None:
    """Measure the kept level *kept* into *lp* by chunked passes over its rows."""
    level = kept.level
    lags = first_lags(lp, level, opts)
    silent = data.silent_of(2**level)
    var, p0, acf, ok = [], [], [], []
    parts = chunk_results(
        kept.raw, client, _level_chunk, silent, lags,
        progress=progress, desc=f"PRG level {level} (kept lazy)",
    )  # fmt: skip
    for _, part in parts:
        var.append(part["var"])
        p0.append(part["p0"])
        acf.append(part["acf"])
        ok.append(part["ok"])
    st = {
        "var": np.concatenate(var),
        "p0": np.concatenate(p0),
        "acf": np.concatenate(acf),
        "ok": np.concatenate(ok),
        "n_const": int(kept.const.sum()),
        "hist": None,
        "n_values": kept.y.shape[0] * kept.y.shape[1],
    }
    if "distribution" in opts.observables:
        hist = np.zeros(lp.edges.size)
        for _, counts in chunk_results(kept.y, client, histogram_counts, lp.edges, data.norm):
            hist += counts
        st["hist"] = hist
    fill_level(
        lp, level, st, data, opts, lags,
        lambda more: acf_pass(kept.raw, opts, client, more, level=level),
    )  # fmt: skip


def _level_chunk(x: np.ndarray, silent: float | None, lags: int) -> dict:
    """A chunk's per-row variances, silences and autocorrelations (``_measure_level``'s kernels)."""
    st = level_stats(x, silent, None, 1, with_acf=False)
    acf, ok = autocorrelation_rows(x, lags)
    return {"var": st["var"], "p0": st["p0"], "acf": acf, "ok": ok}


def level_pairs(kept: LazyLevel, opts: PrgOptions, client: Any, quality: dict) -> np.ndarray:
    """The pairs of a kept level: ``_prg_lazy._level_pairs``' choice, on the dask machinery.

    Random pairs as in memory; approximate above ``APPROX_OPTIONS["min_units"]``
    variables from the sketch (:func:`~rgdata.coarse._ann_dask.dask_sketch_pairs`,
    its quality into *quality*); otherwise the exact greedy pairs
    (:func:`~rgdata.coarse.distributed.dask_greedy_pairs`, the pairs of the
    dense path), of the integer sums where the variables are exactly
    proportional to them (the in-memory substitution).
    """
    from ._ann_dask import dask_sketch_pairs  # noqa: PLC0415 (import cycle)
    from .distributed import dask_greedy_pairs  # noqa: PLC0415 (import cycle)

    m = kept.m
    if opts.pairing == "random":
        return random_pairs(m, opts.rng)
    # without a client the pairing's blocks are views of the mapped files (read, not copied)
    raw, y = (np.asarray(a) for a in kept.local) if kept.local is not None else (kept.raw, kept.y)
    block_size = SPARSE_OPTIONS["block_size"]
    if opts.pairing == "approximate" and m > APPROX_OPTIONS["min_units"]:
        pairs, measured = dask_sketch_pairs(
            y, k=min(APPROX_OPTIONS["k"], m - 2), block_size=block_size, rng=opts.rng,
            client=client, exact="auto",
        )  # fmt: skip
        quality.update(measured)
        return pairs
    exact_sums = opts.pairing == "correlation" and not opts.holdout
    rows = raw if exact_sums and _kept_proportional(kept, client) else y
    return dask_greedy_pairs(
        rows, k=min(SPARSE_OPTIONS["k"], m - 1), block_size=block_size, client=client,
        exact="auto",
    )  # fmt: skip


def _kept_proportional(kept: LazyLevel, client: Any) -> bool:
    """``_prg_levels._proportional(y, raw)`` of a kept level, chunk by chunk."""
    if kept.local is not None:
        raw, y = kept.local
        return _proportional(np.asarray(y), np.asarray(raw))
    y, raw = kept.y, kept.raw
    if y.dtype != np.float32 or raw.shape != y.shape or raw.dtype.kind not in "iu":
        return False
    if raw.size == 0:
        return False
    import dask  # noqa: PLC0415 (optional dependency)

    from .distributed import _run  # noqa: PLC0415 (import cycle through prg)

    y = y.rechunk((raw.chunks[0], -1))
    tasks = [
        dask.delayed(_proportional_chunk)(y.blocks[i], raw.blocks[i])
        for i in range(len(raw.chunks[0]))
    ]
    # row-wise, with a bound on the largest sum: true of the whole iff true of every chunk
    return all(_run(client, tasks, *_LOST))


def _proportional_chunk(y: np.ndarray, raw: np.ndarray) -> bool:
    """:func:`~rgdata.coarse._prg_levels._proportional` of one chunk."""
    return _proportional(np.ascontiguousarray(y), np.ascontiguousarray(raw))


def sum_pairs(
    kept: LazyLevel,
    pairs: np.ndarray,
    data: PrgData,
    client: Any,
    out_raw: np.ndarray,
    out_y: np.ndarray | None,
    chunk_rows: int,
    progress: bool = False,
    on_chunk: Callable[[], None] | None = None,
) -> np.ndarray:
    """Sum the pairs of a kept level into the next level's arrays; its constant variables.

    ``out_raw[p] = raw[a[p]] + raw[b[p]]`` and ``out_y[p]`` the normalized
    ``y[a[p]] + y[b[p]]`` (what ``later_levels`` computes), *chunk_rows*
    pairs at a time: the rows a chunk of pairs reads are fetched by index
    (from the files without a client, from the workers with one). *out_y*
    None: the sums only (the block statistics' rebuild). *on_chunk* is
    called after each chunk of pairs (the store's :meth:`LevelStore.release`).
    """
    a, b = pairs[:, 0], pairs[:, 1]
    n_pairs = a.size
    const = []
    steps = range(0, n_pairs, max(1, chunk_rows))
    desc = f"PRG level {kept.level + 1} sums"
    for p0 in progress_bar(steps, enable=progress, desc=desc):
        pa, pb = a[p0 : p0 + chunk_rows], b[p0 : p0 + chunk_rows]
        need = np.unique(np.concatenate([pa, pb]))
        ia, ib = np.searchsorted(need, pa), np.searchsorted(need, pb)
        k = pa.size
        both = _rows(kept, need, client, with_y=out_y is not None)
        rows = both[0]
        out_raw[p0 : p0 + k] = pair_rows(rows, ia, ib, np.empty((k, rows.shape[1]), out_raw.dtype))
        if out_y is None:
            continue
        rows = both[1]
        y_sum = pair_rows(rows, ia, ib, np.empty((k, rows.shape[1]), out_y.dtype))
        const.append(normalize_rows(y_sum, data.norm, out_y[p0 : p0 + k]))
        if on_chunk is not None:
            on_chunk()
    return np.concatenate(const) if const else np.zeros(0, dtype=bool)


def _rows(kept: LazyLevel, need: np.ndarray, client: Any, with_y: bool) -> list[np.ndarray]:
    """Rows *need* (sorted) of the kept level's sums and (*with_y*) variables.

    From the files without a client; with one, one task per chunk holding
    some of them, in one round trip.
    """
    if kept.files is not None:
        return [f.take(need) for f in kept.files[: 1 + with_y]]
    import dask  # noqa: PLC0415 (optional dependency)

    from .distributed import _run  # noqa: PLC0415 (import cycle through prg)

    out = []
    for arr in (kept.raw, kept.y)[: 1 + with_y]:
        starts = np.concatenate([[0], np.cumsum(arr.chunks[0])])
        which = np.searchsorted(starts, need, side="right") - 1
        out.append(
            [
                dask.delayed(_take_rows)(arr.blocks[c], need[which == c] - starts[c])
                for c in np.unique(which)
            ]
        )
    parts = _run(client, out, *_LOST)
    return [np.ascontiguousarray(np.concatenate(p)) for p in parts]


def _take_rows(block: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Rows *local* of a chunk."""
    return np.asarray(block)[local]
