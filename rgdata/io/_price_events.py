"""Detecting and correcting split jumps and one-day glitches in price series.

Plain numpy on a ``(time, unit)`` array of log prices without NaN.  The rules
are data-driven (no dates are hard-coded):

*glitch*
    one bad price: a large log return ``a`` followed the next day by an
    opposite move ``b`` of similar size, ``|a + b| <= revert_tol * min(|a|, |b|)``,
    both at least ``max(glitch_min_move, glitch_sigma * sigma)`` where
    ``sigma`` is the unit's robust (MAD) daily volatility.  Correction: the bad
    log price is replaced by the mean of its neighbours (geometric
    interpolation of the price).
*split*
    a single-day log return whose market-adjusted value ``r - m`` (``m`` the
    cross-sectional median return of the day, 0 with fewer than 5 units) lies
    within ``min(split_tol_sigma * sigma, 0.05)`` of ``-log(q)`` for a split ratio ``q``
    (forward splits 3:2, 2:1, 3:1, 4:1, 5:1, 10:1 and the reverse 1:2 ... 1:10),
    and that does not revert the next day.  Correction: every earlier price is
    divided by ``q`` so that the series is in post-split units (as an
    adjusted-close series would be).

Glitches are found and repaired first, so that a one-day glitch whose first
leg happens to be near a split ratio is not mistaken for a split.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

__all__ = [
    "DEFAULT_SPLIT_RATIOS",
    "robust_sigma",
    "find_glitches",
    "find_splits",
    "large_moves",
]

#: Split ratios q (new shares per old share); a split divides the price by q.
DEFAULT_SPLIT_RATIOS = (1.5, 2.0, 3.0, 4.0, 5.0, 10.0, 1 / 2, 1 / 3, 1 / 4, 1 / 5, 1 / 10)

_MAD_TO_SIGMA = 1.4826


def ratio_label(q: float) -> str:
    """``2.0 -> "2:1"``, ``1.5 -> "3:2"``, ``0.5 -> "1:2"``."""
    frac = Fraction(q).limit_denominator(20)
    return f"{frac.numerator}:{frac.denominator}"


def robust_sigma(returns: np.ndarray) -> np.ndarray:
    """Per-column robust standard deviation (1.4826 x median absolute deviation).

    Zero-variance columns get a tiny floor (1e-12) so that ratios stay finite.
    """
    med = np.median(returns, axis=0)
    mad = np.median(np.abs(returns - med), axis=0)
    return np.maximum(_MAD_TO_SIGMA * mad, 1e-12)


def _market(returns: np.ndarray) -> np.ndarray:
    if returns.shape[1] < 5:
        return np.zeros(returns.shape[0])
    return np.median(returns, axis=1)


def find_glitches(
    log_prices: np.ndarray,
    *,
    min_move: float = 0.15,
    n_sigma: float = 10.0,
    revert_tol: float = 0.25,
) -> list[dict]:
    """Find one-day glitches (a bad price that reverts the next day).

    Returns a list of ``{"unit": j, "index": t, "size": a, "revert": b, "z": a / sigma}``
    where ``t`` indexes *log_prices* rows (the bad price) and ``a``, ``b``
    are the log returns into and out of it.
    """
    r = np.diff(log_prices, axis=0)
    sigma = robust_sigma(r)
    thr = np.maximum(min_move, n_sigma * sigma)
    a, b = r[:-1], r[1:]
    small = np.minimum(np.abs(a), np.abs(b))
    hit = (
        (np.abs(a) >= thr)
        & (np.abs(b) >= thr)
        & (np.sign(a) == -np.sign(b))
        & (np.abs(a + b) <= revert_tol * small)
    )
    events = []
    for j in range(r.shape[1]):
        last = -2
        for t in np.flatnonzero(hit[:, j]):
            if t <= last + 1:  # overlapping with the previous glitch of this unit
                continue
            last = t
            events.append(
                {
                    "unit": j,
                    "index": int(t + 1),
                    "size": float(a[t, j]),
                    "revert": float(b[t, j]),
                    "z": float(a[t, j] / sigma[j]),
                }
            )
    return events


def repair_glitches(log_prices: np.ndarray, glitches: list[dict]) -> np.ndarray:
    """Return a copy of *log_prices* with each glitch replaced by its neighbours' mean."""
    out = np.array(log_prices, dtype=float, copy=True)
    for g in glitches:
        j, t = g["unit"], g["index"]
        out[t, j] = 0.5 * (out[t - 1, j] + out[t + 1, j])
    return out


def find_splits(
    log_prices: np.ndarray,
    *,
    ratios: tuple[float, ...] = DEFAULT_SPLIT_RATIOS,
    tol_sigma: float = 4.0,
    max_tol: float = 0.05,
    revert_tol: float = 0.25,
) -> list[dict]:
    """Find split jumps (see the module docstring for the rule).

    The tolerance is ``min(tol_sigma * sigma, max_tol)`` in log-return units,
    so a very volatile unit cannot match a ratio with an arbitrarily loose
    tolerance.

    Returns a list of ``{"unit": j, "index": t, "ratio": q, "log_return": r,
    "z": residual / sigma}`` with ``t`` the first row of *log_prices* in
    post-split units.
    """
    r = np.diff(log_prices, axis=0)
    sigma = robust_sigma(r)
    resid = r - _market(r)[:, None]
    log_q = np.log(np.asarray(ratios, dtype=float))
    tol = np.minimum(tol_sigma * sigma, max_tol)  # per unit, in log-return units
    # only moves at least as large as the smallest ratio (minus the tolerance) can match
    cand_t, cand_j = np.nonzero(np.abs(resid) >= np.abs(log_q).min() - tol[None, :])
    # a move that is undone the next day is a glitch, not a split
    nxt = np.vstack([r[1:], np.zeros((1, r.shape[1]))])
    events = []
    for t, j in zip(cand_t, cand_j, strict=True):
        dist = resid[t, j] + log_q
        k = int(np.argmin(np.abs(dist)))
        if abs(dist[k]) > tol[j]:
            continue
        a, b = r[t, j], nxt[t, j]
        if np.sign(b) == -np.sign(a) and abs(a + b) <= revert_tol * abs(a):
            continue
        events.append(
            {
                "unit": int(j),
                "index": int(t + 1),
                "ratio": float(ratios[k]),
                "log_return": float(a),
                "z": float(dist[k] / sigma[j]),
            }
        )
    events.sort(key=lambda e: (e["unit"], e["index"]))
    return events


def apply_splits(log_prices: np.ndarray, splits: list[dict]) -> np.ndarray:
    """Return a copy of *log_prices* with all prices before each split divided by its ratio."""
    out = np.array(log_prices, dtype=float, copy=True)
    for s in splits:
        out[: s["index"], s["unit"]] -= np.log(s["ratio"])
    return out


def large_moves(log_prices: np.ndarray, threshold: float) -> list[dict]:
    """All single-day log returns with ``|r| > threshold``: ``{"unit", "index", "log_return"}``."""
    r = np.diff(log_prices, axis=0)
    return [
        {"unit": int(j), "index": int(t + 1), "log_return": float(r[t, j])}
        for t, j in zip(*np.nonzero(np.abs(r) > threshold), strict=True)
    ]
