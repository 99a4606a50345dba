"""Time blocks and the confidence interval of the momentum-space median fourth moment.

:func:`rgdata.coarse.momentum` reports, per kept fraction, the median over
units of the normalized fourth moment of the filtered variables. Its 95%
interval is a delete-one-block jackknife over ``B`` contiguous time blocks,
with the block rules of the PRG exponents (:mod:`rgdata.coarse._blocks`,
reused here): the median is recomputed on the recording without each block.
With ``se`` the jackknife error and ``b = (B - 1) (mean of the replicates -
full)`` the jackknife estimate of the finite-T bias, the interval holds both
the full-data median ``m`` and the bias-corrected ``m - b``, each with
half-width ``h = t_{B-1} se + |b|``: ``[min(m, m - b) - h, max(m, m - b) +
h]`` (batch means, the median of each block alone, understate the error of
this non-linear statistic; shifting by ``b`` adds more variance than it
removes bias; see :func:`median_ci`). The blocks must each span
``BLOCK_TAUS`` (3) integrated autocorrelation times of the filtered
variables; when fewer than ``MIN_BLOCKS`` (5) such blocks fit, the bounds are
NaN and the reason is recorded.

The autocorrelation of the filtered variables is measured without forming
them: for the projector ``P`` on the kept modes, the unit-summed lagged
product is ``sum_i phi_i(t) phi_i(t+l) = z(t)^T P z(t+l) = sum_{mu kept}
y_mu(t) y_mu(t+l)`` with ``y_mu = u_mu . z`` the mode projections (``P`` is
symmetric and idempotent; no cross-mode terms survive). A level built as the
data minus removed modes has the data's summed autocovariance minus the
removed modes' ones. The result is the variance-weighted average of the
filtered variables' autocorrelations at every fraction; its ``tau_int``
(Sokal's window, :func:`rgdata.coarse._blocks.integrated_time`) sizes the
blocks, the slowest level deciding for all of them.

Coverage on planted data is measured by ``benchmarks/coverage_momentum_ci.py``
(table in ``docs/momentum.md``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._jackknife import jackknife_error
from ._blocks import BLOCK_TAUS, MIN_BLOCKS, choose_n_blocks, integrated_time
from ._momentum_kernels import Step, filtered_moments

__all__ = [
    "BlockMoments",
    "block_filtered_moments",
    "block_rule",
    "combine_slot_autocorrelations",
    "slot_autocorrelations",
    "median_ci",
]

#: at most this many values (rows x padded length) per FFT batch when measuring
#: autocorrelations; momentum passes N x chunk_size so that this stage stays within
#: the streaming stage's documented memory
_FFT_BATCH_VALUES = 2**22


class BlockMoments(dict):
    """Block-wise moments and the block rule (a dict with documented keys).

    ``m2_blocks``, ``m4_blocks`` (B, S, N); ``block_edges`` (B + 1,);
    ``tau_int`` and ``tau_int_lb`` (S,); ``tau_need``; ``n_blocks``;
    ``note`` ("" or why no 95% interval is given).
    """


def _autocov_rows(x: np.ndarray, max_lag: int, budget: int = _FFT_BATCH_VALUES) -> np.ndarray:
    """``sum_rows sum_t x_t x_{t+l} / T`` for ``l = 0..max_lag`` (no circular wrap).

    Rows are transformed in batches of at most *budget* values.
    """
    n_rows, n_time = x.shape
    out = np.zeros(max_lag + 1)
    if n_rows == 0:
        return out
    import scipy.fft  # here, not at import: scipy.fft costs ~0.1-0.4 s to import

    nfft = scipy.fft.next_fast_len(n_time + max_lag + 1, real=True)
    step = max(1, min(budget, _FFT_BATCH_VALUES) // nfft)
    for start in range(0, n_rows, step):
        f = scipy.fft.rfft(np.asarray(x[start : start + step], dtype=np.float64), n=nfft, axis=1)
        power = (f.real**2 + f.imag**2).sum(axis=0)
        out += scipy.fft.irfft(power, n=nfft)[: max_lag + 1]
    return out / n_time


def slot_autocorrelations(
    z: np.ndarray,
    vectors: np.ndarray,
    steps: Sequence[Step],
    n_slots: int,
    max_lag: int,
    budget: int = _FFT_BATCH_VALUES,
) -> np.ndarray:
    """Variance-weighted autocorrelation of the filtered variables of every slot.

    Parameters
    ----------
    z : numpy.ndarray
        ``(N, T)`` centred (or z-scored) data.
    vectors : numpy.ndarray
        ``(N, m)`` orthonormal modes the steps use.
    steps : sequence of Step
        The streaming plan (see :class:`rgdata.coarse._momentum_kernels.Step`).
    n_slots : int
        Output rows.
    max_lag : int
        Largest lag.
    budget : int
        Most values held at once by a projection block or an FFT batch.

    Returns
    -------
    numpy.ndarray
        ``(S, max_lag + 1)`` ``sum_i <phi_i(t) phi_i(t+l)>`` normalized to 1 at
        lag 0 (NaN rows for slots with no variance).
    """
    total = _autocov_rows(z, max_lag, budget)

    def project(start: int, stop: int) -> np.ndarray:
        return np.asarray(vectors[:, start:stop], dtype=z.dtype).T @ z

    rows = int(np.clip(budget // max(z.shape[1], 1), 1, 256))  # modes projected at once
    return combine_slot_autocorrelations(total, project, steps, n_slots, max_lag, budget, rows)


def combine_slot_autocorrelations(
    total: np.ndarray,
    project,
    steps: Sequence[Step],
    n_slots: int,
    max_lag: int,
    budget: int,
    rows: int,
) -> np.ndarray:
    """The slot autocorrelations of :func:`slot_autocorrelations` from their parts.

    *total* is the unit-summed autocovariance of the data (lags ``0..max_lag``);
    ``project(start, stop)`` returns the ``(stop - start, T)`` projections of the data on
    the columns ``start:stop`` of the modes, asked for at most *rows* modes at a time.
    """
    bounds = sorted({c for s in steps if s.op != "data" for c in (s.c0, s.c1)})
    # prefix sums of the mode autocovariances at every column boundary the steps use
    prefix = {}
    running = np.zeros(max_lag + 1)
    col = 0
    for b in bounds:
        for start in range(col, b, rows):
            stop = min(b, start + rows)
            running = running + _autocov_rows(project(start, stop), max_lag, budget)
        col = b
        prefix[b] = running.copy()
    acf = np.full((n_slots, max_lag + 1), np.nan)
    chain = np.zeros(max_lag + 1)
    for s in steps:
        if s.op == "data":
            g = total
        else:
            part = prefix[s.c1] - prefix[s.c0] if s.c1 > s.c0 else np.zeros(max_lag + 1)
            chain = part if s.op in ("project", "complement") else chain + part
            g = chain if s.op in ("project", "add") else total - chain
        if g[0] > 1e-12 * max(total[0], 1e-300):
            acf[s.slot] = g / g[0]
    return acf


def block_rule(acf: np.ndarray, n_time: int) -> dict:
    """Time blocks from the slot autocorrelations (the rule of :func:`block_filtered_moments`).

    Returns a dict with ``tau_int``, ``tau_int_lb`` (S,), ``tau_need``, ``n_blocks``,
    ``block_edges`` (B + 1,) and ``note`` ("" or why no 95% interval is given).
    """
    ti = [integrated_time(a) if np.isfinite(a[0]) else (np.nan, False) for a in acf]
    tau_int = np.array([t for t, _ in ti])
    tau_lb = np.array([lb for _, lb in ti], dtype=bool)
    finite = np.isfinite(tau_int)
    tau_need = float(tau_int[finite].max()) if finite.any() else 1.0
    n_blocks = choose_n_blocks(n_time, tau_need)
    n_blocks = int(max(2, min(n_blocks, n_time // 5)))
    block_edges = np.linspace(0, n_time, n_blocks + 1).astype(np.int64)
    block_len = int(np.diff(block_edges).min())
    note = ""
    if n_blocks < MIN_BLOCKS or block_len < BLOCK_TAUS * tau_need or bool(tau_lb[finite].any()):
        worst = int(np.flatnonzero(finite)[np.argmax(tau_int[finite])]) if finite.any() else 0
        n_fit = int(n_time // max(BLOCK_TAUS * tau_need, 1.0))
        note = (
            f"the recording ({n_time} samples) holds {n_fit} block(s) of >= {BLOCK_TAUS:g} "
            f"tau_int = {BLOCK_TAUS * tau_need:.0f} samples of the filtered variables (tau_int = "
            f"{tau_need:.1f}{' or more' if tau_lb[worst] else ''}), fewer than the "
            f"{MIN_BLOCKS} needed for a 95% confidence interval of the median fourth moment: "
            "its bounds are NaN"
        )
    return {
        "tau_int": tau_int,
        "tau_int_lb": tau_lb,
        "tau_need": tau_need,
        "n_blocks": n_blocks,
        "block_edges": block_edges,
        "note": note,
    }


def block_filtered_moments(
    z: np.ndarray,
    vectors: np.ndarray,
    steps: Sequence[Step],
    variances: np.ndarray,
    edges: np.ndarray,
    *,
    chunk_size: int,
    progress_bar=None,
) -> tuple[dict[str, np.ndarray], BlockMoments]:
    """:func:`filtered_moments` over contiguous time blocks sized on ``tau_int``.

    The blocks hold at least ``BLOCK_TAUS * tau_int`` samples of the slowest
    filtered level (at most ``_blocks.MAX_BLOCKS`` of them, never fewer than 2). The
    whole-recording moments are the length-weighted means of the block
    moments, so the data are streamed once.

    Parameters
    ----------
    z, vectors, steps, variances, edges, chunk_size, progress_bar
        As in :func:`rgdata.coarse._momentum_kernels.filtered_moments`.

    Returns
    -------
    out : dict
        ``m2``, ``m4``, ``hist``, ``outside`` of the whole recording.
    blocks : BlockMoments
        The block moments and the block rule.
    """
    n_time = z.shape[1]
    n_slots = variances.shape[0]
    max_lag = max(1, n_time // 4)
    budget = z.shape[0] * chunk_size  # the streaming stage's own working size
    acf = slot_autocorrelations(z, vectors, steps, n_slots, max_lag, budget)
    rule = block_rule(acf, n_time)
    n_blocks, block_edges = rule["n_blocks"], rule["block_edges"]
    if progress_bar is not None:
        per_block = sum(-(-int(n) // chunk_size) for n in np.diff(block_edges))
        progress_bar.reset(total=per_block * len(steps))
    m2b = np.zeros((n_blocks, n_slots, z.shape[0]))
    m4b = np.zeros_like(m2b)
    hist = outside = 0
    for b in range(n_blocks):
        part = filtered_moments(
            z[:, block_edges[b] : block_edges[b + 1]],
            vectors,
            steps,
            variances,
            edges,
            chunk_size=chunk_size,
            progress_bar=progress_bar,
        )
        m2b[b], m4b[b] = part["m2"], part["m4"]
        hist = hist + part["hist"]
        outside = outside + part["outside"]
    return pool_blocks(m2b, m4b, hist, outside, rule, n_time)


def pool_blocks(
    m2b: np.ndarray, m4b: np.ndarray, hist: Any, outside: Any, rule: dict, n_time: int
) -> tuple[dict, BlockMoments]:
    """The whole recording's moments (blocks weighted by length) and the :class:`BlockMoments`.

    *m2b*, *m4b* are the per-block means ``(B, S, N)``; *rule* is
    :func:`block_rule`'s dict.
    """
    block_edges = rule["block_edges"]
    w = np.diff(block_edges)[:, None, None] / n_time
    out = {"m2": (w * m2b).sum(axis=0), "m4": (w * m4b).sum(axis=0), "hist": hist}
    out["outside"] = outside
    blocks = BlockMoments(
        m2_blocks=m2b,
        m4_blocks=m4b,
        block_edges=block_edges,
        tau_int=rule["tau_int"],
        tau_int_lb=rule["tau_int_lb"],
        tau_need=rule["tau_need"],
        n_blocks=rule["n_blocks"],
        note=rule["note"],
    )
    return out, blocks


def median_ci(
    blocks: BlockMoments,
    rows: np.ndarray,
    median: np.ndarray,
    variances: np.ndarray,
    ci: float = 0.95,
) -> dict[str, np.ndarray]:
    """Leave-one-block-out medians and the 95% interval of the median fourth moment.

    Parameters
    ----------
    blocks : BlockMoments
        From :func:`block_filtered_moments`.
    rows : numpy.ndarray
        Slot of each fraction (in the result's order).
    median : numpy.ndarray
        Whole-recording median of each fraction (the interval's centre).
    variances : numpy.ndarray
        ``(S, N)`` expected variances (zero: no weight on the kept modes,
        left out as in the whole-recording median).
    ci : float
        Confidence level.

    Returns
    -------
    dict
        ``block`` (fraction, B): the median over units of the fourth moments
        of the recording without block ``b``; ``se`` (fraction): their
        jackknife error; ``bias`` (fraction): the jackknife bias estimate
        ``(B - 1) (mean_b block - median)``; ``low``, ``high`` (fraction):
        ``min(median, median - bias) - h`` and ``max(median, median - bias)
        + h`` with ``h = t_{B-1} se + |bias|``; ``tau_int`` and
        ``tau_int_lb`` (fraction).

    Notes
    -----
    The fourth moment of one short block is a strongly non-linear statistic
    (the sample kurtosis of ``n`` Gaussian values has variance
    ``24 n (n-2)(n-3) / ((n+1)^2 (n+3)(n+5))``, well below ``24 / n`` for
    small ``n``), so the spread of block-wise values understates the error of
    the whole-recording value (batch means gave 0.6 of the true SD on the
    planted benchmark). Leaving one block out keeps every replicate close to
    the full length, where the statistic is nearly linear.

    The median of per-unit sample kurtoses is biased low by ``O(1 / T_eff)``
    (the sample kurtosis of ``n`` Gaussian values has mean ``3 - 6 / (n +
    1)``), a sizeable part of ``t se`` on short, slow recordings: there
    ``median +- t se`` covered the true value of planted Gaussian data only
    77-81% of the time. Subtracting the jackknife bias estimate ``bias``
    made it worse (it is noisy, its SD exceeding its mean, and recovers
    only 50-80% of the bias on slow rows: 69-89% per fraction).
    Widening ``m +- t se`` by ``|bias|`` on both sides gave 89.5-96.9%
    over two seed sets of ``benchmarks/coverage_momentum_ci.py``; also
    reaching ``m - bias`` with that half-width (the bias's sign is known
    from the replicates) gives 91.7-97.3% in every row with an interval,
    inside the 90-98% target (table in ``docs/momentum.md``).
    """
    m2b, m4b = blocks["m2_blocks"], blocks["m4_blocks"]  # (B, S, N) time averages per block
    weights = np.diff(blocks["block_edges"]) / blocks["block_edges"][-1]
    w = weights[:, None, None]
    s2, s4 = (w * m2b).sum(axis=0), (w * m4b).sum(axis=0)
    keep = 1.0 - w
    with np.errstate(divide="ignore", invalid="ignore"):
        fm = ((s4[None] - w * m4b) / keep) / ((s2[None] - w * m2b) / keep) ** 2
    fm = np.where((variances > 0)[None] & np.isfinite(fm), fm, np.nan)[:, rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: NaN
        loo = np.nanmedian(fm, axis=-1).T  # (fraction, B)
    n_blocks = loo.shape[1]
    se = jackknife_error(loo, axis=1)  # NaN where a replicate is NaN
    bias = (n_blocks - 1) * (loo.mean(axis=1) - median)
    low = np.full(rows.size, np.nan)
    high = np.full(rows.size, np.nan)
    good = np.isfinite(median) & np.isfinite(se) & (n_blocks >= MIN_BLOCKS) & (not blocks["note"])
    if good.any():
        m, b = median[good], bias[good]
        # Student-t quantile; scipy.special's stdtrit is what scipy.stats.t.ppf evaluates,
        # without importing scipy.stats (~0.5 s) with rgdata.coarse
        from scipy.special import stdtrit

        half = stdtrit(n_blocks - 1, 0.5 + ci / 2) * se[good] + np.abs(b)
        low[good] = np.minimum(m, m - b) - half
        high[good] = np.maximum(m, m - b) + half
    return {
        "block": loo,
        "se": se,
        "bias": bias,
        "low": low,
        "high": high,
        "tau_int": blocks["tau_int"][rows],
        "tau_int_lb": blocks["tau_int_lb"][rows],
    }


def median_ci_variables(
    blocks: BlockMoments,
    slot_rows: Sequence[np.ndarray],
    median: np.ndarray,
    variances: np.ndarray,
    lead: tuple[str, ...],
) -> tuple[dict, dict, dict]:
    """Data variables, coordinates and attrs of the median's interval for a momentum result.

    Parameters
    ----------
    blocks : BlockMoments
        From :func:`block_filtered_moments`.
    slot_rows : sequence of numpy.ndarray
        Per direction, the slot of each fraction.
    median : numpy.ndarray
        ``(lead..., fraction)`` whole-recording medians.
    variances : numpy.ndarray
        ``(S, N)`` expected variances.
    lead : tuple of str
        ``("direction",)`` or ``()``.

    Returns
    -------
    data_vars, coords, attrs : dict
        ``fourth_moment_median_ci_low``, ``fourth_moment_median_ci_high``,
        ``fourth_moment_median_se``, ``fourth_moment_median_jackknife_bias``
        (lead, fraction),
        ``fourth_moment_median_jackknife`` (lead, fraction, block: the median
        without that block), ``tau_int`` and ``tau_int_lower_bound`` (lead,
        fraction);
        coordinates ``block``, ``block_start``, ``block_stop``; attrs
        ``n_blocks``, ``block_taus``, ``min_blocks``, ``median_ci_note``.
    """
    med = np.reshape(median, (len(slot_rows), -1))
    parts = [median_ci(blocks, rows, m, variances) for rows, m in zip(slot_rows, med, strict=True)]

    def stack(key):
        arr = np.stack([p[key] for p in parts])
        return arr if lead else arr[0]

    dims = lead + ("fraction",)
    data_vars = {
        "fourth_moment_median_ci_low": (dims, stack("low")),
        "fourth_moment_median_ci_high": (dims, stack("high")),
        "fourth_moment_median_se": (dims, stack("se")),
        "fourth_moment_median_jackknife_bias": (dims, stack("bias")),
        "fourth_moment_median_jackknife": (dims + ("block",), stack("block")),
        "tau_int": (dims, stack("tau_int")),
        "tau_int_lower_bound": (dims, stack("tau_int_lb").astype(np.int8)),
    }
    edges = blocks["block_edges"]
    coords = {
        "block": np.arange(blocks["n_blocks"]),
        "block_start": ("block", edges[:-1]),
        "block_stop": ("block", edges[1:]),
    }
    attrs = {
        "n_blocks": int(blocks["n_blocks"]),
        "block_taus": BLOCK_TAUS,
        "min_blocks": MIN_BLOCKS,
        "median_ci_note": blocks["note"],
    }
    return data_vars, coords, attrs
