"""Rebuild the block spins of a block-spin flow (:func:`rgdata.lattice.block_coupling_flow`,
:func:`rgdata.lattice.mcrg`) at one block level, as Activity.

The block side, rule and tie rule come from the result's attrs; the blocks
are made by :func:`rgdata.lattice.block_spin_levels` and viewed as Activity
by :func:`rgdata.configurations_as_activity`. Tied majority blocks (even
``b**d``) draw coins: they are replayed exactly from the result's int seed
(block_coupling_flow records it), otherwise from *random_state* (warned:
the tied blocks may then differ from the result's).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

from .._validation import describe
from .._warnings import warn_user
from ..activity import check_configurations, configurations_as_activity
from .levels import check_level_index, level_attrs

__all__ = ["block_level"]


def _params(result: xr.Dataset, kind: str) -> dict[str, Any]:
    a = result.attrs
    if kind == "block_coupling_flow":
        seed = a.get("random_state")
        return {
            "b": int(a["block_factor"]),
            "rule": str(a["block_rule"]),
            "tie_break": str(a.get("tie_break", "random")),
            "n_levels": int(result.sizes["level"]) - 1,
            "shape": tuple(json.loads(a["shape"])) if "shape" in a else None,
            "n_samples": int(a["n_samples"]) if "n_samples" in a else None,
            "seed": int(seed) if isinstance(seed, int | np.integer) else None,
            "n_ties": np.asarray(result["n_ties"].values)[1:],
        }
    return {
        "b": int(a["b"]),
        "rule": str(a["rule"]),
        "tie_break": str(a.get("tie_break", "random")),
        "n_levels": int(a["levels"]),
        "shape": None,
        "size": int(a["size"]) if "size" in a else None,
        "n_samples": int(a["n_samples"]) if "n_samples" in a else None,
        "seed": None,
        "n_ties": np.ravel(np.asarray(a.get("n_ties", []), dtype=np.int64)),
    }


def _check_shape(config: xr.DataArray, p: dict[str, Any]) -> None:
    sides = tuple(int(s) for s in config.shape[1:])
    wrong = (p["shape"] is not None and sides != p["shape"]) or (
        p.get("size") is not None and min(sides) != p["size"]
    )
    if wrong or (p["n_samples"] is not None and config.shape[0] != p["n_samples"]):
        want = p["shape"] if p["shape"] is not None else f"side {p.get('size')}"
        raise ValueError(
            f"activity is not the configurations the result came from: it has "
            f"{config.shape[0]} samples of a {sides} lattice, the result {p['n_samples']} "
            f"samples of {want}. Accepted: the configurations the result was computed on"
        )


def block_level(
    result: xr.Dataset, activity: Any, level: Any, kind: str, random_state: Any
) -> tuple[np.ndarray, dict[str, Any], dict[str, Any], str]:
    """Values, coords, attrs and kind of the block spins at block *level*."""
    from ..lattice.blocking import block_spin_levels

    config = check_configurations(activity, "activity")
    p = _params(result, kind)
    level = check_level_index(
        level, p["n_levels"] + 1, f"block levels 0..{p['n_levels']}, blocks of b**level sites"
    )
    _check_shape(config, p)
    d = config.ndim - 1
    can_tie = p["rule"] == "majority" and p["b"] ** d % 2 == 0 and level > 0
    replay = True
    seed: Any = p["seed"]
    if can_tie and p["tie_break"] == "random":
        if seed is not None:
            given = random_state
            if given is not None and not (isinstance(given, int) and given == seed):
                raise ValueError(
                    f"random_state={describe(given)} conflicts with the result, which recorded "
                    f"random_state={seed}; accepted: None (replay the result's seed) or {seed}"
                )
        elif random_state is None:
            raise ValueError(
                "random_state is needed: tied majority blocks draw coins and this result "
                f"records no int seed (attrs: {result.attrs.get('random_state', 'none')!r}); "
                "accepted: an int or a numpy.random.Generator"
            )
        else:
            seed, replay = random_state, False
            warn_user(
                "coarse_activity: this result records no int seed, so tied majority blocks are "
                "drawn from the random_state given here and may differ from the result's "
                "(attrs['ties_replayed'] = 0)",
                UserWarning,
            )
    levels = block_spin_levels(
        config, p["b"], p["rule"], levels=level, tie_break=p["tie_break"], random_state=seed
    )
    n_ties = np.asarray([lv.attrs.get("n_ties", 0) for lv in levels[1:]], dtype=np.int64)
    # ties at the first step depend only on the data; later ones also on the coins drawn
    n_check = level if replay else min(level, 1)
    stored = p["n_ties"]
    if (
        n_check
        and stored.size >= n_check
        and not np.array_equal(n_ties[:n_check], stored[:n_check])
    ):
        raise ValueError(
            f"activity is not the configurations the result came from: blocking it gives "
            f"{n_ties[:n_check].tolist()} tied blocks at levels 1..{n_check}, the result "
            f"recorded {stored[:n_check].tolist()}"
        )
    act = configurations_as_activity(levels[-1])
    attrs = level_attrs(
        act,
        level=level,
        scale=p["b"] ** level,
        scale_name="block_size",
        block_factor=p["b"],
        block_rule=p["rule"],
        tie_break=p["tie_break"],
        n_ties=n_ties,
        ties_replayed=int(replay),
        source_analysis=kind,
    )
    attrs.pop("block_level", None)
    coords = {name: (c.dims, c.values) for name, c in act.coords.items()}
    return np.asarray(act.values), coords, attrs, "spins"
