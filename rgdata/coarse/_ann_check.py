"""How close an approximate pairing is to the exact greedy one, checked at full size.

Greedy pairing forms, at every step, the most correlated pair of still-free
units. With the ties broken by :mod:`rgdata.coarse._prg_pairing`'s rule the
edge values are distinct, and then the greedy pairing is the only pairing
built by repeatedly forming a *locally dominant* pair: one whose two units
have no better still-free partner (a classical property of greedy
matchings). So a pairing formed in some order equals the exact greedy
pairing if and only if every pair, at the step it was formed, was the best
still-free partner of both its units.

The approximate modes (:mod:`rgdata.coarse._ann`,
:mod:`rgdata.coarse._ann_dask`) record their pairs in the order formed.
Here a random sample of those pairs is checked against **every** variable
of the level, with exact correlations (the same rounded values the pairing
uses): for each unit of a sampled pair, its best partner among the units
still free at that step (not yet paired, the pair's own partner included).
Nothing of the structure is broken, as a subsample paired again would
break it (a planted partner left out of a subsample cannot be found in it).

Returned numbers (:func:`greedy_check`):

* ``identical_fraction``: the share of sampled pairs that were the exact
  greedy choice when formed (1 for an exact pairing);
* ``correlation_loss``: ``1 - sum(r_pair) / sum(r_best)`` over the sampled
  pairs, ``r_best`` the better of the two units' best still-free
  correlations: how much correlation the sampled steps gave up (0 when
  every checked pair was the best one, and for pairs that lost only a tie);
* ``n_sample``: units checked (both ends of each sampled pair).

The cost is ``n_sample x N x T`` multiply-adds (one exact row per checked
unit against all units), in blocks of columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

__all__ = ["check_plan", "best_free", "merge_best", "greedy_check", "check_in_blocks"]


def check_plan(
    pairs: np.ndarray, m: int, rng: np.random.Generator, n_sample: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The sampled pairs and what the scan needs.

    Draws ``min(n_sample // 2, len(pairs))`` pair indices from *rng* (all
    pairs, and no draw, when that is all of them).

    Returns
    -------
    picked : ndarray of int64
        Sorted indices (steps) of the sampled pairs.
    units : ndarray of int64
        Their units, two per pair (``pairs[picked].ravel()``).
    threshold : ndarray of int64
        The step of each unit's pair (a partner is free when its step is at
        least this).
    step : ndarray of int64, shape (m,)
        The step at which each unit was paired (``len(pairs)``: never).
    """
    n_pairs = len(pairs)
    s = min(max(int(n_sample) // 2, 1), n_pairs)
    if s < n_pairs:
        picked = np.sort(rng.choice(n_pairs, s, replace=False)).astype(np.int64)
    else:
        picked = np.arange(n_pairs, dtype=np.int64)
    step = np.full(m, n_pairs, dtype=np.int64)
    order = np.arange(n_pairs, dtype=np.int64)
    step[pairs[:, 0]] = order
    step[pairs[:, 1]] = order
    units = np.asarray(pairs, dtype=np.int64)[picked].ravel()
    return picked, units, np.repeat(picked, 2), step


def best_free(
    sim: np.ndarray,
    cols: np.ndarray,
    units: np.ndarray,
    threshold: np.ndarray,
    step_cols: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's best still-free partner among the columns *cols* of one block.

    *sim* is ``(len(units), len(cols))``: the units' correlations with the
    columns. A column is free for a unit when its step is at least the
    unit's *threshold* and it is not the unit itself. Ties go to the smaller
    column index (the tie rule of greedy pairing, seen from one unit).
    Returns ``(value, index)`` per unit; ``(-inf, -1)`` where no column is free.

    Examples
    --------
    >>> sim = np.array([[0.9, 0.5, 0.5], [0.2, 0.7, 0.1]])
    >>> v, i = best_free(sim, np.array([4, 5, 6]), np.array([1, 6]),
    ...                  np.array([1, 2]), np.array([0, 2, 5]))
    >>> v.tolist(), i.tolist()
    ([0.5, 0.7], [5, 5])
    """
    free = step_cols[None, :] >= threshold[:, None]
    free &= cols[None, :] != units[:, None]
    masked = np.where(free, sim, -np.inf)
    at = np.argmax(masked, axis=1)  # first maximum: the smallest column index (cols sorted)
    value = masked[np.arange(units.size), at]
    index = np.where(np.isfinite(value), cols[at], -1)
    return value, index


def merge_best(parts: Iterable[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Combine per-block :func:`best_free` results (larger value, then smaller index)."""
    value = index = None
    for v, i in parts:
        if value is None:
            value, index = v.copy(), i.copy()
            continue
        better = (v > value) | ((v == value) & (i >= 0) & ((index < 0) | (i < index)))
        value[better] = v[better]
        index[better] = i[better]
    return value, index


def greedy_check(
    pairs: np.ndarray,
    best: tuple[np.ndarray, np.ndarray],
    pair_values: np.ndarray,
) -> dict[str, float]:
    """The quality numbers from the sampled pairs' best free partners.

    *pairs* are the sampled pairs (``(s, 2)``), *best* the merged
    :func:`best_free` of their units (two per pair, in order) and
    *pair_values* the pairs' own correlations. See the module docstring.

    Examples
    --------
    >>> pairs = np.array([[0, 1], [2, 3]])
    >>> best = (np.array([0.8, 0.8, 0.6, 0.7]), np.array([1, 0, 3, 4]))
    >>> q = greedy_check(pairs, best, np.array([0.8, 0.6]))
    >>> q["identical_fraction"], round(q["correlation_loss"], 4), q["n_sample"]
    (0.5, 0.0667, 4.0)
    """
    value, index = best
    value = value.reshape(-1, 2)
    index = index.reshape(-1, 2)
    same = (index[:, 0] == pairs[:, 1]) & (index[:, 1] == pairs[:, 0])
    best_value = np.maximum(value.max(axis=1), pair_values)
    total = float(best_value.sum())
    loss = 1.0 - float(pair_values.sum()) / total if total > 0 else float("nan")
    return {
        "identical_fraction": float(same.mean()) if same.size else float("nan"),
        "correlation_loss": loss,
        "n_sample": float(2 * len(pairs)),
    }


def check_in_blocks(
    pairs: np.ndarray,
    m: int,
    rng: np.random.Generator,
    n_sample: int,
    scan: Callable[[np.ndarray, np.ndarray, np.ndarray], Iterable],
    values: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> dict[str, float]:
    """:func:`greedy_check` of a pairing of *m* variables, with the caller's scan.

    ``scan(units, threshold, step)`` yields :func:`best_free` results block
    by block (in this process or as tasks next to the rows);
    ``values(i, j)`` gives the exact correlations of the edges ``(i, j)``.
    """
    picked, units, threshold, step = check_plan(pairs, m, rng, n_sample)
    sampled = np.asarray(pairs, dtype=np.int64)[picked]
    best = merge_best(scan(units, threshold, step))
    return greedy_check(sampled, best, values(sampled[:, 0], sampled[:, 1]))
