"""Step 2 of :func:`rgdata.coarse.prg`: the pass over levels.

At each level :func:`run_levels` records the membership of the clusters and
measures the whole-recording quantities (variance, free energy of silence,
long autocorrelation, distribution of the normalized variables); then it pairs
the clusters (:func:`choose_pairs`), sums the pairs and renormalizes. The
pairs of every step are kept so the block-wise statistics can replay them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from .._progress import progress_bar
from .._warnings import warn_user
from ._ann import APPROX_OPTIONS, ann_pairs, pairing_quality
from ._blocks import auto_max_lag, enough_lags
from ._prg_kernels import proportional_rows, row_scales
from ._prg_pairing import greedy_pairs, random_pairs
from ._prg_setup import LEFT_OUT_WARN_FRACTION, RETRY_LAG, PrgData, PrgOptions
from ._prg_similarity import dense_similarity, pairing_rows, resolve_exact
from ._prg_sparse import sparse_choose_pairs, use_sparse
from ._prg_stats import (
    _HOW,
    autocorrelation_rows,
    level_stats,
    normalize_rows,
    pair_rows,
    rows_per_chunk,
    scaled_pair_rows,
    standardize_rows,
)

__all__ = [
    "LevelPass",
    "new_level_pass",
    "run_levels",
    "record_step",
    "later_levels",
    "short_levels",
    "extend_lags_from",
    "histogram_counts",
    "finish_histogram",
    "choose_pairs",
    "warn_level_notes",
]


@dataclass
class LevelPass:
    """What the pass over levels measured, per level (arrays of length ``n_levels + 1``)."""

    sizes: np.ndarray  # cluster size K = 2**level
    edges: np.ndarray  # bin edges of the distribution
    membership: np.ndarray  # (level, unit) cluster index, -1 where left out
    clusters: list[np.ndarray] = field(default_factory=list)  # (cluster, K) unit indices
    step_pairs: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    variance: np.ndarray | None = None
    free: np.ndarray | None = None  # silence free energy
    zero: np.ndarray | None = None  # zero fraction of the distribution
    oor: np.ndarray | None = None  # mass outside the distribution's grid
    n_const: np.ndarray | None = None  # constant coarse variables in the pairing samples
    n_left: np.ndarray | None = None  # units left out by odd cluster counts
    acf_long: np.ndarray | None = None  # (level, lag) whole-recording autocorrelation
    acf_lags: np.ndarray | None = None  # lags computed per level (NaN beyond)
    dist: np.ndarray | None = None  # (level, bin) density
    left_out_notes: list[str] = field(default_factory=list)
    # approximate pairing: per pairing step, pairing_quality's check (empty dict: exact step)
    approx_quality: list[dict] = field(default_factory=list)
    free_notes: list[str] = field(default_factory=list)

    @property
    def n_clusters(self) -> np.ndarray:
        """Clusters per level."""
        return np.array([c.shape[0] for c in self.clusters], dtype=np.int64)


def new_level_pass(data: PrgData, opts: PrgOptions) -> LevelPass:
    """An empty :class:`LevelPass` for *data*: level 0's clusters, NaN statistics."""
    n_levels, n_units = opts.n_levels, data.n_units
    edges = (
        np.linspace(0.0, 5.0, opts.n_bins + 1)
        if data.norm == "nonzero_mean"
        else np.linspace(-5.0, 5.0, opts.n_bins + 1)
    )
    lp = LevelPass(
        sizes=2 ** np.arange(n_levels + 1),
        edges=edges,
        membership=np.full((n_levels + 1, n_units), -1, dtype=np.int64),
        clusters=[np.arange(n_units, dtype=np.int64)[:, None]],
        acf_long=np.full((n_levels + 1, opts.long_lag + 1), np.nan),
        dist=np.zeros((n_levels + 1, opts.n_bins)),
    )
    for name in ("variance", "free", "zero", "oor", "n_const", "n_left"):
        setattr(lp, name, np.full(n_levels + 1, np.nan))
    lp.acf_lags = np.zeros(n_levels + 1, dtype=np.int64)
    return lp


def run_levels(data: PrgData, opts: PrgOptions, progress: bool) -> LevelPass:
    """Measure every level on the whole recording, pairing and summing between levels."""
    lp = new_level_pass(data, opts)
    raw = np.ascontiguousarray(data.x)  # plain cluster sums of the measured samples
    # normalized variables of the pairing samples: level l in ybuf[:m]; from level 1 on, the
    # pair sums go to the free rows below them (fresh pages cost up to ~3 ms/MB here)
    scales = None
    if fuse_first_step(data, opts):  # level 0's variables are only summed: never stored
        y, ybuf = None, None
        scales, const = row_scales(np.ascontiguousarray(data.x_pair), _HOW[data.norm])
    else:
        ybuf = np.empty(data.x_pair.shape, dtype=data.float_dtype)
        y = ybuf
        const = normalize_rows(data.x_pair, data.norm, y)
    levels = iter(progress_bar(range(opts.n_levels + 1), enable=progress, desc="PRG levels"))
    next(levels)  # level 0
    _measure_level(lp, 0, raw, y, const, data, opts)
    if opts.n_levels > 0:
        _first_step_and_later_levels(lp, levels, raw, y, ybuf, const, scales, data, opts)
    if "autocorrelation" in opts.observables and opts.max_lag is None:
        _extend_lags(lp, data, auto_max_lag(lp.acf_long, opts.t_eval))
    return lp


def _first_step_and_later_levels(lp, levels, raw, y, ybuf, const, scales, data, opts) -> None:
    """Pair and sum level 0 (fused with its normalization where *scales*), then the rest."""
    # level 0: the raw samples (a correlation does not see the per-row normalization,
    # and raw spikes or counts are integers, paired exactly)
    quality: dict = {}
    pairs = choose_pairs(data.x_pair, opts, data.pair_exact, record=quality)
    a, b_ = record_step(lp, 0, pairs, quality, data)
    raw = pair_rows(raw, a, b_, np.empty((a.size, raw.shape[1]), dtype=data.sum_dtype))
    if scales is not None:  # the first sums from the integers, normalized in place
        t_pair = data.x_pair.shape[1]
        ybuf = np.empty((a.size + a.size // 2, t_pair), dtype=data.float_dtype)
        y = scaled_pair_rows(np.ascontiguousarray(data.x_pair), scales, a, b_, ybuf[: a.size])
        const = normalize_rows(y, data.norm, y)
    else:  # ybuf is full: the first sums need their own rows
        y_sum = pair_rows(y, a, b_, np.empty((a.size, y.shape[1]), dtype=y.dtype))
        y = ybuf[: a.size]  # rows of level 0, all read by now
        const = normalize_rows(y_sum, data.norm, y)
        del y_sum

    def choose(y, quality, sums, scratch):
        return choose_pairs(y, opts, "auto", record=quality, sums=sums, scratch=scratch)

    later_levels(lp, levels, raw, y, ybuf, const, data, opts, choose)


def record_step(
    lp: LevelPass, level: int, pairs: np.ndarray, quality: dict, data: PrgData
) -> tuple[np.ndarray, np.ndarray]:
    """Record the pairing of *level* in *lp* (pairs, clusters, left-out note); its two columns."""
    cl = lp.clusters[level]
    lp.approx_quality.append(quality)
    if cl.shape[0] % 2:
        lp.left_out_notes.append(_left_out_note(pairs, cl, data.labels, level, lp.sizes))
    a, b_ = pairs[:, 0], pairs[:, 1]
    lp.step_pairs.append((a, b_))
    lp.clusters.append(np.concatenate([cl[a], cl[b_]], axis=1))
    return a, b_


def later_levels(
    lp: LevelPass,
    levels: Iterable[int],
    raw: np.ndarray,
    y: np.ndarray,
    ybuf: np.ndarray,
    const: np.ndarray,
    data: PrgData,
    opts: PrgOptions,
    choose: Callable[..., np.ndarray],
) -> None:
    """Measure, pair and sum *levels* (1, 2, ...) in memory, from level 1's sums and variables.

    *raw* holds level 1's plain cluster sums, *y* = ``ybuf[:m]`` its normalized
    variables (``ybuf`` has ``m / 2`` free rows below them for the pair sums),
    *const* its constant variables; ``choose(y, quality, sums, scratch)``
    pairs a level's variables (:func:`choose_pairs`, or the lazy path's).
    Shared by :func:`run_levels` and the dask path (:mod:`._prg_lazy`).
    """
    for level in levels:
        _measure_level(lp, level, raw, y, const, data, opts)
        if level == opts.n_levels:
            break
        quality: dict = {}
        # the rows of ybuf below y are free until the pair sums are written there
        pairs = choose(y, quality, None if opts.holdout else raw, ybuf[y.shape[0] :])
        a, b_ = record_step(lp, level, pairs, quality, data)
        raw = pair_rows(raw, a, b_, np.empty((a.size, raw.shape[1]), dtype=data.sum_dtype))
        m = y.shape[0]
        y_sum = pair_rows(y, a, b_, ybuf[m : m + a.size])
        y = ybuf[: a.size]  # rows of the previous level, all read by now
        const = normalize_rows(y_sum, data.norm, y)
        del y_sum


def fuse_first_step(data: PrgData, opts: PrgOptions) -> bool:
    """Whether level 0's normalized variables can be skipped (summed straight from the data).

    They are only summed when the distribution is not asked for; the fused
    sums (:func:`~rgdata.coarse._prg_kernels.scaled_pair_sums`) equal the
    stored ones bit for bit when the data are integers (exact row sums) below
    ``2**53`` and the normalization divides by a per-row number.
    """
    x = data.x_pair
    return (
        "distribution" not in opts.observables
        and data.coding != "continuous"
        and data.norm in ("nonzero_mean", "none")
        and (x.dtype.kind == "f" or x.dtype.itemsize <= 4)
        and x.shape[0] >= 2
    )


def _extend_lags(lp: LevelPass, data: PrgData, max_lag: int) -> None:
    """Recompute, up to *max_lag*, the levels whose autocorrelation stopped short of it.

    Each level computes the lags it needs itself; the automatic ``max_lag`` is
    the largest over levels, so a level may need more. Its cluster sums are
    rebuilt from the stored pairs (sums are cheap).
    """
    short = short_levels(lp, max_lag)
    if short:
        extend_lags_from(lp, 0, np.ascontiguousarray(data.x), short, max_lag, data)


def short_levels(lp: LevelPass, max_lag: int) -> list[int]:
    """The measured levels whose autocorrelation stops short of *max_lag*."""
    return [
        lv
        for lv in range(lp.acf_long.shape[0])
        if lp.acf_lags[lv] < max_lag and np.isfinite(lp.acf_long[lv, 0])
    ]


def extend_lags_from(
    lp: LevelPass, start: int, raw: np.ndarray, short: list[int], max_lag: int, data: PrgData
) -> None:
    """Recompute the *short* levels from *start* on, *raw* holding level *start*'s cluster sums."""
    for level in range(start, max(short) + 1):
        if level in short:
            lp.acf_long[level, : max_lag + 1] = cluster_mean_acf(raw, max_lag)
            lp.acf_lags[level] = max_lag
        if level < max(short):
            a, b_ = lp.step_pairs[level]
            raw = pair_rows(raw, a, b_, np.empty((a.size, raw.shape[1]), dtype=data.sum_dtype))


def record_variance_silence(
    lp: LevelPass, level: int, st: dict, has_silence: bool, opts: PrgOptions
) -> None:
    """Level *level*'s mean variance and silence free energy from per-cluster *st*.

    ``st["var"]`` and ``st["p0"]`` per cluster; clusters never silent leave
    the free energy NaN and a note in ``lp.free_notes``.
    """
    k = int(lp.sizes[level])
    if "variance" in opts.observables:
        lp.variance[level] = st["var"].mean()
    if has_silence and "silence" in opts.observables:
        with np.errstate(divide="ignore"):
            f_full = -np.log(st["p0"])
        if np.all(np.isfinite(f_full)):
            lp.free[level] = f_full.mean()
        else:
            lp.free_notes.append(
                f"level {level} (K={k}): {int((~np.isfinite(f_full)).sum())} of "
                f"{f_full.size} clusters never silent"
            )


def _measure_level(
    lp: LevelPass,
    level: int,
    raw: np.ndarray,
    y: np.ndarray,
    const: np.ndarray,
    data: PrgData,
    opts: PrgOptions,
) -> None:
    """Fill level *level* of *lp* from the cluster sums *raw* and normalized variables *y*."""
    cl = lp.clusters[level]
    k = int(lp.sizes[level])
    lp.membership[level, cl.ravel()] = np.repeat(np.arange(cl.shape[0]), k)
    lp.n_left[level] = data.n_units - cl.size
    lp.n_const[level] = int(const.sum())
    silent = data.silent_of(k)
    st = level_stats(raw, silent, None, 1, with_acf=False)
    record_variance_silence(lp, level, st, silent is not None, opts)
    # autocorrelation times grow with K: start where the previous levels ended
    acf, lags = level_acf(raw, opts, start=int(lp.acf_lags[:level].max(initial=0)))
    lp.acf_long[level, : lags + 1] = acf
    lp.acf_lags[level] = lags
    if "distribution" in opts.observables:
        lp.dist[level], lp.zero[level], lp.oor[level] = _histogram(y, lp.edges, data.norm)
    else:
        lp.dist[level] = np.nan


def cluster_mean_acf(raw: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelation ``(max_lag + 1,)`` averaged over the non-constant rows of *raw*."""
    acf, ok = autocorrelation_rows(raw, max_lag)
    if not ok.any():
        return np.full(max_lag + 1, np.nan)
    return acf[ok].mean(axis=0)


def level_acf(raw: np.ndarray, opts: PrgOptions, start: int = 0) -> tuple[np.ndarray, int]:
    """Cluster-averaged autocorrelation over as many lags as this level needs.

    Starts at ``max(opts.first_lag, start)`` lags and grows fourfold (to at
    least ``RETRY_LAG``) until
    :func:`rgdata.coarse._blocks.enough_lags` holds (``tau_int``'s window has
    closed and, when the autocorrelation is reported, ``tau_c`` and the
    automatic ``max_lag`` lie within), at most ``opts.long_lag``: every number
    is then what the full ``long_lag`` autocorrelation would give.
    """
    lags = min(max(opts.first_lag, start), opts.long_lag)
    need_tau = "autocorrelation" in opts.observables
    while True:
        acf = cluster_mean_acf(raw, lags)
        if lags >= opts.long_lag or enough_lags(acf, need_tau, opts.max_lag):
            return acf, lags
        lags = min(opts.long_lag, max(4 * lags, RETRY_LAG))


def choose_pairs(
    y: np.ndarray,
    opts: PrgOptions,
    exact: str | None = "auto",
    record: dict | None = None,
    sums: np.ndarray | None = None,
    scratch: np.ndarray | None = None,
) -> np.ndarray:
    """Pairs ``(m // 2, 2)`` of the rows of *y*: greedy by correlation, or random.

    The correlations are :func:`rgdata.coarse._prg_similarity.similarity`'s:
    exact for integer-valued rows, float64 otherwise, rounded to
    ``TIE_DECIMALS`` so the pairs do not depend on the BLAS kernel. *exact*
    is passed to :func:`~rgdata.coarse._prg_similarity.pairing_rows`.
    *sums* (optional): the integer cluster sums that *y* normalizes; where
    every row of float32 *y* is exactly a positive multiple of its sum
    (:func:`~rgdata.coarse._prg_kernels.proportional_rows`: binary spikes
    after the first step under ``"nonzero_mean"``), the exact pairing pairs
    the sums on the integer path: the same correlations, computed exactly.
    With ``pairing="approximate"`` and more than ``APPROX_OPTIONS["min_units"]``
    rows, greedy pairing over approximate nearest-neighbour candidates
    (:mod:`rgdata.coarse._ann`); *record* (if given) then receives its
    quality: a sample of the pairs checked exactly against all the rows
    (:func:`~rgdata.coarse._ann.pairing_quality`).
    *scratch* (optional): free memory for the dense path's float64 z-scores
    (:func:`~rgdata.coarse._prg_similarity.pairing_rows`).
    """
    m = y.shape[0]
    if opts.pairing == "random":
        return random_pairs(m, opts.rng)
    if opts.pairing == "correlation" and exact == "auto" and _proportional(y, sums):
        y = sums
    approximate = opts.pairing == "approximate" and m > APPROX_OPTIONS["min_units"]
    if approximate:
        rows = pairing_rows(y, exact)
        k = min(APPROX_OPTIONS["k"], m - 2)
        pairs = ann_pairs(rows, k, opts.rng)
        quality = pairing_quality(rows, pairs, opts.rng)
        if record is not None:
            record.update(quality)
        return pairs
    # the dense path's product is in the exact integer path's dtype, else float64 (and
    # converted): what its memory depends on
    exact = resolve_exact(np.asarray(y), exact)
    product = 8 if exact is None else np.dtype(exact).itemsize
    if use_sparse(m, opts.corr_dtype, product):  # the dense matrix would not fit: sparse path
        return sparse_choose_pairs(pairing_rows(y, exact))
    # dense: small non-negative integers are packed into bit planes, their products counted
    rows = pairing_rows(y, exact, packed=True, scratch=scratch)
    return greedy_pairs(dense_similarity(rows, opts.corr_dtype))


#: integer sums up to this size make the proportionality check's float64 cross products exact
_PROPORTIONAL_MAX_SUM = 2**29


def _proportional(y: np.ndarray, sums: np.ndarray | None) -> bool:
    """Whether float32 *y* is, row by row, exactly a positive multiple of integer *sums*."""
    if sums is None or y.dtype != np.float32 or sums.shape != y.shape:
        return False
    if sums.dtype.kind not in "iu" or sums.size == 0:
        return False
    if max(int(sums.max()), -int(sums.min())) >= _PROPORTIONAL_MAX_SUM:
        return False
    return bool(proportional_rows(y, sums))


def _left_out_note(
    pairs: np.ndarray, cl: np.ndarray, labels: np.ndarray, level: int, sizes: np.ndarray
) -> str:
    m = cl.shape[0]
    used = np.zeros(m, bool)
    used[pairs.ravel()] = True
    odd = int(np.flatnonzero(~used)[0])
    left = labels[cl[odd]]
    shown = ", ".join(str(v) for v in left[:8]) + (", ..." if left.size > 8 else "")
    return (
        f"after level {level} (K={int(sizes[level])}): cluster of units [{shown}] left out "
        f"({m} clusters, odd)"
    )


def warn_level_notes(lp: LevelPass, n_units: int) -> None:
    """Warn about levels missing many units and clusters that were never silent."""
    left_share = lp.n_left / n_units
    if np.nanmax(left_share) > LEFT_OUT_WARN_FRACTION:
        worst = int(np.nanargmax(left_share))
        first_bad = int(np.flatnonzero(left_share > LEFT_OUT_WARN_FRACTION)[0])
        fewer = f"n_levels={first_bad - 1}" if first_bad > 1 else "fewer levels"
        warn_user(
            f"prg: odd numbers of clusters leave {int(lp.n_left[worst])} of {n_units} units "
            f"({left_share[worst]:.0%}) out of level {worst} (K={int(lp.sizes[worst])}), so the "
            "top levels average over a subset of the units. n_left_out records the count "
            f"per level; {fewer}, or a unit count at (or just above) a power of two, keeps "
            f"more than {1 - LEFT_OUT_WARN_FRACTION:.0%} of the units at every level",
            UserWarning,
        )
    low = [
        f"level {lv} (K={int(lp.sizes[lv])}): {q['identical_fraction']:.1%} of the checked "
        f"pairs were the greedy choice, summed correlation {q['correlation_loss']:+.2%} lost"
        for lv, q in enumerate(lp.approx_quality)
        if q and q["identical_fraction"] < APPROX_OPTIONS["warn_below"]
    ]
    if low:
        warn_user(
            "prg: the approximate pairing differs from the exact greedy pairing in more than "
            f"{1 - APPROX_OPTIONS['warn_below']:.0%} of its pairs (checked exactly against all "
            f"the variables for up to {APPROX_OPTIONS['n_sample']} units per level): "
            + "; ".join(low)
            + ". The variables pairing_identical_fraction and pairing_correlation_loss record "
            "it per level; use pairing='correlation' (exact) where it fits",
            UserWarning,
        )
    if lp.free_notes:
        warn_user(
            "prg: silence_free_energy is NaN where clusters were never silent: "
            + "; ".join(lp.free_notes),
            UserWarning,
        )


def _histogram(y: np.ndarray, edges: np.ndarray, norm: str) -> tuple[np.ndarray, float, float]:
    return finish_histogram(histogram_counts(y, edges, norm), y.size, edges, norm)


def histogram_counts(y: np.ndarray, edges: np.ndarray, norm: str) -> np.ndarray:
    """``[counts per bin..., n_zero]`` of a level's variables *y* (sums over row chunks add)."""
    n_zero = 0
    if norm == "nonzero_mean":
        nz = y != 0
        n_zero = int(y.size - np.count_nonzero(nz))
        # float32 -> float64 is exact, so the bins are those of the float64 values
        counts = np.histogram(y[nz], bins=edges)[0].astype(np.float64)
    elif norm == "none":  # the plain sums, z-scored for this histogram only
        counts = np.zeros(edges.size - 1)
        chunk = rows_per_chunk(y.shape[1])
        for r0 in range(0, y.shape[0], chunk):
            z = standardize_rows(y[r0 : r0 + chunk], np.dtype(np.float64))
            counts += np.histogram(z.ravel(), bins=edges)[0]
    else:
        counts = np.histogram(y.ravel(), bins=edges)[0].astype(np.float64)
    return np.append(counts, n_zero)


def finish_histogram(
    counts: np.ndarray, total: int, edges: np.ndarray, norm: str
) -> tuple[np.ndarray, float, float]:
    """Density, zero fraction and mass out of range of *total* values from their counts."""
    counts, n_zero = counts[:-1], int(counts[-1])
    width = edges[1] - edges[0]
    density = counts / (total * width)
    zero_frac = n_zero / total if norm == "nonzero_mean" else float("nan")
    in_range = counts.sum() + n_zero
    return density, zero_frac, float(1.0 - in_range / total)
