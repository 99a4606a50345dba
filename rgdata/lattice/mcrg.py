"""Monte Carlo renormalization group (Swendsen, PRL 42, 859, 1979).

Configurations sampled at couplings ``K^(0)`` are block-spin transformed
``levels`` times. With coupling operators ``S_a`` (sums over the lattice of
spin products, see :func:`coupling_operators`) measured at every level, the
chain rule for the renormalized couplings gives

``<S_a^(n) S_b^(n-1)>_c = sum_g <S_a^(n) S_g^(n)>_c  T^(n)_gb``,
``T^(n)_gb = dK_g^(n) / dK_b^(n-1)``,

with ``<X Y>_c`` the connected correlation. Solving for the linearized RG
matrix ``T^(n)`` and taking its leading eigenvalue ``lambda`` gives the
scaling exponent ``y = ln(lambda) / ln(b)``: ``y_t`` from the even
(spin-flip symmetric) operators, ``y_h`` from the odd ones. At zero field
the odd operators have zero mean by symmetry, which is used exactly (their
means are not subtracted). The matrix is truncated to the first ``k``
operators for ``k = 1 .. n_operators``, giving the usual table of
eigenvalues against the number of operators and the level; convergence in
both is the check that the truncation is adequate.

Error bars: delete-one-block jackknife over contiguous blocks of samples,
each at least ``JACKKNIFE_BLOCK_TAUS`` integrated autocorrelation times of the
input series long (fewer blocks are used otherwise), so the errors include the
correlation between samples. The truncation error is reported beside them:
``y_*_truncation`` (change on adding the last operator) and
``y_*_level_difference`` (change from the previous level); neither is in
``y_*_err``.

Exact 2D Ising values: ``y_t = 1``, ``y_h = 15/8``. 3D Ising: ``y_t ~ 1.5874``,
``y_h ~ 2.4819``.

The operator geometry is in ``_mcrg_operators.py``; the block statistics and
the truncated RG matrix in ``_mcrg_stats.py``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import xarray as xr

from .._progress import progress_bar
from .._validation import check_int, check_option, check_random_state, describe
from .._warnings import once_per_call, warn_user
from ..activity import check_configurations
from ._mcrg_operators import (
    DEFAULT_OPERATORS,
    operator_items,
    operator_offsets,
    operator_values,
    orientations,
)
from ._mcrg_stats import JACKKNIFE_BLOCK_TAUS, _block_stats, _eigen_table, _input_tau
from .blocking import BLOCK_RULES, TIE_BREAKS, block_array

__all__ = ["MCRG_EXACT", "default_operators", "coupling_operators", "mcrg", "mcrg_table"]

#: Known exponents used for comparison in reports: {(dim, name): value}.
MCRG_EXACT = {(2, "y_t"): 1.0, (2, "y_h"): 15 / 8, (3, "y_t"): 1.5874, (3, "y_h"): 2.4819}

_CHUNK_SITES = 2**22


def default_operators(dim: int = 2, sector: str = "even") -> dict[str, tuple]:
    """The default coupling operators of a sector, in the order they enter the truncation.

    Parameters
    ----------
    dim : {2, 3}
    sector : {"even", "odd"}

    Returns
    -------
    dict
        name -> shape (tuple of site offsets). 2D even: nearest neighbour,
        next-nearest (diagonal), third neighbour (distance 2), plaquette
        (4-spin), knight (distance sqrt 5), diagonal distance 2 sqrt 2,
        fourth neighbour (distance 3); 2D odd: magnetization, 3-spin corner,
        3-spin line, 3-spin diagonal line. 3D lists are analogous.
    """
    dim = check_int(dim, "dim", min_value=2, max_value=3)
    check_option(sector, "sector", ("even", "odd"))
    return dict(DEFAULT_OPERATORS[(dim, sector)])


def _resolve(operators: Any, dim: int, sector: str) -> dict[str, tuple]:
    defaults = DEFAULT_OPERATORS[(dim, sector)]
    items = operator_items(
        operators,
        arg=sector,
        pool=defaults,
        default=list(defaults.items()),
        what=f"{sector} operator",
    )
    out = {}
    for name, shape in items:
        offsets = operator_offsets(name, shape, dim)
        if (len(offsets) % 2 == 0) != (sector == "even"):
            raise ValueError(
                f"operator {name!r} has {len(offsets)} spins; the {sector} sector needs an "
                f"{'even' if sector == 'even' else 'odd'} number"
            )
        out[str(name)] = offsets
    return out


def _extent(shape: tuple) -> int:
    arr = np.asarray(shape)
    return int((arr.max(axis=0) - arr.min(axis=0)).max())


def _values(spins: np.ndarray, images: list) -> np.ndarray:
    """Operator values in sample chunks (bounded memory)."""
    per = max(1, _CHUNK_SITES // int(np.prod(spins.shape[1:])))
    parts = [operator_values(spins[i : i + per], images) for i in range(0, spins.shape[0], per)]
    return np.concatenate(parts, axis=0)


def coupling_operators(
    config: xr.DataArray, operators: Any = None, *, sector: str = "even"
) -> xr.DataArray:
    """Values of coupling operators (lattice sums of spin products) for every sample.

    Parameters
    ----------
    config : xarray.DataArray
        Configurations (2D or 3D).
    operators : None, int, list of names or dict name -> shape
        Which operators (default: all of :func:`default_operators`).
    sector : {"even", "odd"}
        Which default list names and ints refer to.

    Returns
    -------
    xarray.DataArray
        dims ``("sample", "operator")``; attrs ``orientations`` (JSON: images
        per operator).

    Examples
    --------
    >>> import numpy as np, rgdata
    >>> cfg = rgdata.as_configurations(np.ones((1, 4, 4), np.int8))
    >>> coupling_operators(cfg, ["nn", "plaquette"]).values.tolist()
    [[32.0, 16.0]]
    """
    config = check_configurations(config, "config")
    check_option(sector, "sector", ("even", "odd"))
    dim = config.ndim - 1
    ops = _resolve(operators, dim, sector)
    images = [orientations(shape, dim) for shape in ops.values()]
    vals = _values(config.values, images)
    return xr.DataArray(
        vals,
        dims=("sample", "operator"),
        coords={"sample": config["sample"].values, "operator": list(ops)},
        attrs={"orientations": json.dumps({k: v for k, v in zip(ops, images, strict=True)})},
    )


@once_per_call
def mcrg(
    config: xr.DataArray,
    *,
    b: int = 2,
    rule: str = "majority",
    levels: int | None = None,
    even: Any = None,
    odd: Any = None,
    tie_break: str = "random",
    n_jackknife: int = 20,
    random_state: Any = None,
    progress: bool = False,
) -> xr.Dataset:
    """Linearized RG eigenvalues and exponents by Swendsen's Monte Carlo RG.

    Parameters
    ----------
    config : xarray.DataArray
        Equilibrium configurations at zero field (2D or 3D), ideally at the
        critical point, at least ``2 * n_jackknife`` samples.
    b : int
        Block side.
    rule : {"majority", "decimation"}
        Block-spin rule.
    levels : int, optional
        Number of block levels; default the most that leave a lattice side of
        at least 4.
    even, odd : None, int, list of names or dict name -> shape
        Operators of each sector in truncation order (default: all of
        :func:`default_operators`; an int takes the first ones).
    tie_break : {"random", "first"}
        Tie rule of majority blocks with an even number of spins.
    n_jackknife : int
        Jackknife blocks of contiguous samples (at least 4).
    random_state : None, int or numpy.random.Generator
        Seeds the tie-breaking coins.
    progress : bool
        Show a progress bar over levels.

    Returns
    -------
    xarray.Dataset
        coords ``level`` (1..levels; the matrix linking level ``n-1`` to
        ``n``), ``n_even`` and ``n_odd`` (number of operators kept), ``mode``.
        Variables: ``eigenvalues_even`` / ``eigenvalues_odd`` ``(level,
        n_even|n_odd, mode)`` sorted by decreasing real part (NaN padded), with
        ``_err``; ``y_t`` / ``y_h`` ``(level, n_*)`` from the leading
        eigenvalue, with ``_err``; ``condition_even`` / ``condition_odd``
        (condition number of the level-``n`` correlation matrix);
        ``y_t_truncation`` / ``y_h_truncation`` ``|y(k) - y(k-1)|`` over the
        number of operators and ``y_t_level_difference`` /
        ``y_h_level_difference`` ``|y(level) - y(level-1)|`` (NaN where
        undefined), the truncation error the jackknife does not contain. An operator
        longer than half the blocked side at a level (it would wrap around the
        torus) is not used there: those entries are NaN. attrs hold
        the parameters, the operator names and shapes (JSON), ``y_t_exact``
        / ``y_h_exact`` for the 2D/3D Ising universality class, and
        ``y_t_estimate``, ``y_h_estimate`` (with ``_err``) at the deepest level
        with all usable operators, with ``_truncation`` and
        ``_level_difference`` of that entry; ``n_jackknife`` used (reduced
        so that blocks are >= 5 tau_int of the input, see Warns),
        ``n_jackknife_requested``, ``jackknife_block_length``,
        ``tau_int_input`` (samples) and ``tau_int_input_source``.

    Warns
    -----
    UserWarning
        A correlation matrix is singular (e.g. an ordered or frozen lattice);
        its entries are NaN.
    UserWarning
        ``n_jackknife`` blocks would be shorter than 5 tau_int of the input
        series (from attrs ``tau_int_samples``, else ``tau_int / spacing``,
        else the energy series): fewer blocks are used.

    Examples
    --------
    >>> import numpy as np, rgdata
    >>> spins = np.random.default_rng(0).choice(np.array([-1, 1], np.int8), (200, 16, 16))
    >>> res = mcrg(rgdata.as_configurations(spins), even=2, odd=1, levels=1, random_state=0)
    >>> res.eigenvalues_even.sel(level=1, n_even=1, mode=0).item() < 1   # T = inf: irrelevant
    True
    """
    config = check_configurations(config, "config")
    b = check_int(b, "b", min_value=2)
    check_option(rule, "rule", BLOCK_RULES)
    check_option(tie_break, "tie_break", TIE_BREAKS)
    n_jackknife = check_int(n_jackknife, "n_jackknife", min_value=4)
    rng = check_random_state(random_state)
    dim = config.ndim - 1
    L = min(config.shape[1:])
    if levels is None:
        levels = 0
        while all(
            s % b ** (levels + 1) == 0 and s // b ** (levels + 1) >= 4 for s in config.shape[1:]
        ):
            levels += 1
        if levels == 0:
            raise ValueError(
                f"config lattice {config.shape[1:]} cannot be blocked by b={b} to a side >= 4; "
                "MCRG needs a larger lattice"
            )
    levels = check_int(levels, "levels", min_value=1)
    for side in config.shape[1:]:
        if side % b**levels or side // b**levels < 2:
            raise ValueError(
                f"lattice side {side} does not allow {levels} level(s) of b={b} blocks "
                f"(needs a multiple of {b**levels} leaving a side >= 2)"
            )
    n_samples = config.shape[0]
    if n_samples < 2 * n_jackknife:
        raise ValueError(
            f"config has {n_samples} samples; at least 2 * n_jackknife = {2 * n_jackknife} "
            "are needed"
        )
    tau_samples, tau_source = _input_tau(config)
    max_blocks = max(4, int(n_samples // math.ceil(JACKKNIFE_BLOCK_TAUS * tau_samples)))
    if n_jackknife > max_blocks:
        warn_user(
            f"mcrg: {n_jackknife} jackknife blocks of {n_samples // n_jackknife} samples are "
            f"shorter than {JACKKNIFE_BLOCK_TAUS} tau_int ({tau_samples:.2f} samples, "
            f"{tau_source}); using {max_blocks} blocks so that the errors include the "
            "correlation between samples (attrs n_jackknife_requested)"
        )
    n_jackknife_requested = n_jackknife
    n_jackknife = min(n_jackknife, max_blocks)
    if float(config.attrs.get("h", 0.0)) != 0.0:
        raise ValueError(
            f"config was sampled at field h={config.attrs['h']}; this MCRG assumes h = 0"
        )
    sectors = {"even": _resolve(even, dim, "even"), "odd": _resolve(odd, dim, "odd")}
    images = {s: [orientations(sh, dim) for sh in ops.values()] for s, ops in sectors.items()}
    vals: dict[str, list[np.ndarray]] = {"even": [], "odd": []}
    spins = config.values
    n_ties = []
    for lev in progress_bar(range(levels + 1), enable=progress, desc="mcrg levels"):
        if lev:
            spins, ties = block_array(spins, b, rule, tie_break=tie_break, rng=rng)
            n_ties.append(ties)
        for s in ("even", "odd"):
            vals[s].append(_values(spins, images[s]))

    # an operator whose extent exceeds half the blocked lattice side wraps onto
    # itself or a shorter one: it is left out at that level (NaN, not an error)
    min_side = min(config.shape[1:])
    max_k: dict[str, list[int]] = {}
    for s in ("even", "odd"):
        ext = [_extent(sh) for sh in sectors[s].values()]
        max_k[s] = []
        for lev in range(1, levels + 1):
            side = min_side // b**lev
            bad = [i for i, e in enumerate(ext) if 2 * e > side]
            max_k[s].append(bad[0] if bad else len(ext))
    data: dict[str, Any] = {}
    best: dict[str, float] = {}
    for s, yname in (("even", "y_t"), ("odd", "y_h")):
        n_ops = len(sectors[s])
        centre = s == "even"
        cnt, sums, cross, auto = _block_stats(vals[s], n_jackknife)
        tot = (
            cnt.sum(),
            [x.sum(0) for x in sums],
            [x.sum(0) for x in cross],
            [x.sum(0) for x in auto],
        )
        with np.errstate(all="ignore"):
            full, cond = _eigen_table(*tot, centre, n_ops, max_k[s])
            reps = []
            for j in range(n_jackknife):
                reps.append(
                    _eigen_table(
                        tot[0] - cnt[j],
                        [t - x[j] for t, x in zip(tot[1], sums, strict=True)],
                        [t - x[j] for t, x in zip(tot[2], cross, strict=True)],
                        [t - x[j] for t, x in zip(tot[3], auto, strict=True)],
                        centre,
                        n_ops,
                        max_k[s],
                    )[0]
                )
            reps = np.array(reps)
            err = np.sqrt((n_jackknife - 1) / n_jackknife * ((reps - reps.mean(0)) ** 2).sum(0))
            lead = full[:, :, 0]
            y = np.where(lead > 0, np.log(np.abs(lead)) / math.log(b), np.nan)
            rep_y = np.where(reps[:, :, :, 0] > 0, np.log(np.abs(reps[:, :, :, 0])), np.nan)
            rep_y = rep_y / math.log(b)
            y_err = np.sqrt((n_jackknife - 1) / n_jackknife * ((rep_y - rep_y.mean(0)) ** 2).sum(0))
        usable = np.arange(1, n_ops + 1)[None, :] <= np.array(max_k[s])[:, None]
        if np.isnan(full[:, :, 0][usable]).any():
            warn_user(
                f"mcrg: some {s}-sector correlation matrices are singular or the leading "
                "eigenvalue is not finite (ordered or frozen configurations?); NaN recorded"
            )
        k = f"n_{s}"
        data[f"eigenvalues_{s}"] = (("level", k, "mode"), full)
        data[f"eigenvalues_{s}_err"] = (("level", k, "mode"), err)
        data[yname] = (("level", k), y)
        data[f"{yname}_err"] = (("level", k), y_err)
        data[f"condition_{s}"] = (("level", k), cond)
        # truncation: change on adding the k-th operator, and from the previous level
        trunc = np.full_like(y, np.nan)
        trunc[:, 1:] = np.abs(y[:, 1:] - y[:, :-1])
        data[f"{yname}_truncation"] = (("level", k), trunc)
        level_diff = np.full_like(y, np.nan)
        level_diff[1:] = np.abs(y[1:] - y[:-1])
        data[f"{yname}_level_difference"] = (("level", k), level_diff)
        kbest = max_k[s][-1] - 1
        best[f"{yname}_estimate"] = float(y[-1, kbest]) if kbest >= 0 else math.nan
        best[f"{yname}_estimate_err"] = float(y_err[-1, kbest]) if kbest >= 0 else math.nan
        best[f"{yname}_estimate_truncation"] = (
            float(data[f"{yname}_truncation"][1][-1, kbest]) if kbest >= 0 else math.nan
        )
        best[f"{yname}_estimate_level_difference"] = (
            float(data[f"{yname}_level_difference"][1][-1, kbest]) if kbest >= 0 else math.nan
        )
    n_modes = max(len(sectors["even"]), len(sectors["odd"]))
    # pad the mode dim: each sector has as many modes as operators
    for s in ("even", "odd"):
        for key in (f"eigenvalues_{s}", f"eigenvalues_{s}_err"):
            dims, arr = data[key]
            pad = n_modes - arr.shape[-1]
            if pad:
                arr = np.concatenate([arr, np.full(arr.shape[:-1] + (pad,), np.nan)], axis=-1)
            data[key] = (dims, arr)
    attrs = {
        "method": "Swendsen (1979) MCRG: T = <S(n)S(n)>_c^-1 <S(n)S(n-1)>_c, leading "
        "eigenvalue, y = ln(lambda)/ln(b); delete-one-block jackknife errors",
        "b": b,
        "rule": rule,
        "tie_break": tie_break,
        "levels": levels,
        "n_jackknife": n_jackknife,
        "n_jackknife_requested": n_jackknife_requested,
        "jackknife_block_length": int(n_samples // n_jackknife),
        "tau_int_input": float(tau_samples),
        "tau_int_input_source": tau_source,
        "n_samples": int(n_samples),
        "size": int(L),
        "dim": dim,
        "n_ties": np.asarray(n_ties, dtype=np.int64),
        "even_operators": json.dumps(sectors["even"]),
        "odd_operators": json.dumps(sectors["odd"]),
        "odd_means": "set to zero by spin-flip symmetry (h = 0)",
        "max_operators_even": np.asarray(max_k["even"], dtype=np.int64),
        "max_operators_odd": np.asarray(max_k["odd"], dtype=np.int64),
        "y_t_exact": MCRG_EXACT[(dim, "y_t")],
        "y_h_exact": MCRG_EXACT[(dim, "y_h")],
        **best,
    }
    for key in ("temperature", "algorithm", "seed", "model"):
        if key in config.attrs:
            attrs[key] = config.attrs[key]
    attrs["scale_name"] = "block_size"
    ds = xr.Dataset(
        data,
        coords={
            "level": np.arange(1, levels + 1),
            # level n links the blocks of level n - 1 to those of level n (level 0, the input,
            # is implicit: it has no matrix); scale is the block size at level n
            "scale": ("level", np.asarray([b**lev for lev in range(1, levels + 1)], np.int64)),
            "n_even": np.arange(1, len(sectors["even"]) + 1),
            "n_odd": np.arange(1, len(sectors["odd"]) + 1),
            "mode": np.arange(n_modes),
            "even_operator": ("n_even", list(sectors["even"])),
            "odd_operator": ("n_odd", list(sectors["odd"])),
        },
        attrs=attrs,
    )
    ds["scale"].attrs["long_name"] = "block size b**level (sites per block along each axis)"
    return ds


def mcrg_table(res: xr.Dataset):
    """The MCRG exponents as a table (one row per level and number of operators).

    Parameters
    ----------
    res : xarray.Dataset
        From :func:`mcrg`.

    Returns
    -------
    pandas.DataFrame
        Columns ``level``, ``operators``, ``y_t``, ``y_t_err``, ``y_h``,
        ``y_h_err``, ``y_t_exact``, ``y_h_exact`` (``y_h`` is NaN where the odd
        list is shorter than the even one, and conversely).
    """
    import pandas as pd

    if not isinstance(res, xr.Dataset) or "y_t" not in res:
        raise TypeError(f"res must be a Dataset from mcrg(), got {describe(res)}")
    rows = []
    n_max = max(res.sizes["n_even"], res.sizes["n_odd"])
    for lev in res["level"].values:
        for k in range(1, n_max + 1):
            row = {"level": int(lev), "operators": k}
            for y, dim in (("y_t", "n_even"), ("y_h", "n_odd")):
                inside = k <= res.sizes[dim]
                row[y] = float(res[y].sel(level=lev, **{dim: k})) if inside else math.nan
                row[f"{y}_err"] = (
                    float(res[f"{y}_err"].sel(level=lev, **{dim: k})) if inside else math.nan
                )
            row["y_t_exact"] = res.attrs.get("y_t_exact", math.nan)
            row["y_h_exact"] = res.attrs.get("y_h_exact", math.nan)
            rows.append(row)
    return pd.DataFrame(rows)
