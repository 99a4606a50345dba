"""Independent seeded runs (null draws, bin-width sweeps, surrogate ensembles) on a dask client.

:func:`map_seeded` runs ``func(item, seed)`` for every item with one child
seed per item, drawn from *random_state* exactly as
:func:`rgdata.diagnostics.run_with_nulls` draws its per-run seeds; with a
``distributed`` client the runs are ``client.map`` tasks, without one they
run here in order. The seeds depend only on *random_state* and the number of
items, never on where or in which order a run executes, so the serial path
and any cluster give the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .._validation import check_random_state

__all__ = ["map_seeded"]


def _child_seeds(random_state: Any, n: int) -> list[int]:
    """One ``int`` seed per run, drawn from *random_state* (the order of the runs)."""
    rng = check_random_state(random_state)
    return [int(s) for s in rng.integers(0, 2**62, size=n)]


def map_seeded(
    func: Callable[[Any, int], Any],
    items: Sequence[Any],
    *,
    random_state: Any = None,
    client: Any = None,
    shared: dict[str, Any] | None = None,
) -> list[Any]:
    """``[func(item, seed, **shared) for item, seed in zip(items, child seeds)]``, on *client*.

    Parameters
    ----------
    func : callable
        ``func(item, seed)``; must use only *seed* for randomness (it may run
        in another process). Must be picklable when *client* runs processes.
    items : sequence
        One run per item (a null name and draw, a bin width, a surrogate index...).
    random_state : None, int or numpy.random.Generator
        Source of the child seeds (one ``int`` per item, in item order).
    client : distributed.Client, optional
        Runs become ``client.map`` tasks (results gathered in item order).
    shared : dict, optional
        Keyword arguments common to every run (e.g. the recording). With a
        client they are scattered to the workers once (``broadcast=True``)
        instead of being sent with every task.

    Returns
    -------
    list
        The results, in the order of *items*.

    Raises
    ------
    TypeError
        *func* not callable, or *client* without ``map`` and ``gather``.

    Examples
    --------
    >>> import numpy as np
    >>> draw = lambda scale, seed: np.random.default_rng(seed).normal() * scale
    >>> a = map_seeded(draw, [1.0, 2.0], random_state=3)
    >>> a == map_seeded(draw, [1.0, 2.0], random_state=3)
    True
    """
    if not callable(func):
        raise TypeError(f"func must be callable; got {type(func).__name__}")
    if client is not None and not (hasattr(client, "map") and hasattr(client, "gather")):
        raise TypeError(
            "client must be a distributed.Client (with map and gather); "
            f"got {type(client).__name__}"
        )
    items = list(items)
    seeds = _child_seeds(random_state, len(items))
    shared = dict(shared or {})
    if client is None:
        return [func(item, seed, **shared) for item, seed in zip(items, seeds, strict=True)]
    # one future per value (a list around it, so a dict or list is not scattered piecewise)
    scattered = {k: client.scatter([v], broadcast=True)[0] for k, v in shared.items()}
    futures = client.map(func, items, seeds, pure=False, **scattered)
    return client.gather(futures)
