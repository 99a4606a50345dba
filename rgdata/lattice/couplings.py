"""Block-spin couplings by maximum pseudo-likelihood, and their RG flow.

For translation-invariant +-1 lattice configurations (the original lattice or
any level of block spins) the model is

``P(s) ∝ exp(sum_a K_a S_a(s))``,

with ``S_a`` the coupling operators of :func:`rgdata.lattice.coupling_operators`
(lattice sums over every site and every point-group image of a spin product;
``S_nn = sum_i (s_i s_{i+x} + s_i s_{i+y})``, so ``K_nn = J / T`` for the
nearest-neighbour Ising model) and, when asked, the field operator
``S_field = sum_i s_i``.

The couplings are estimated by maximum pseudo-likelihood (Besag 1975; the
solver is :mod:`rgdata.lattice._pseudolikelihood`), with errors from a
delete-one-block jackknife over contiguous blocks of samples (Markov-chain
samples are correlated; blocks longer than the autocorrelation time make the
blocks nearly independent). The replicates are kept, so the covariance
between couplings, and between levels of a block-spin flow computed from the
same samples, is available.

:func:`block_coupling_flow` blocks the configurations level by level (by
default ``b = 2`` majority rule with seeded coin tie-breaking, as
:func:`rgdata.lattice.block_spin_levels`) and estimates the couplings at every
level. The fit of the flow across temperatures, :func:`fit_block_flow`, lives
with the other flows in :mod:`rgdata.flow.block_flow` (importable from here
too).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_int, check_option, check_random_state, check_real, describe
from .._warnings import once_per_call, warn_user
from ..activity import check_configurations
from ._mcrg_operators import DEFAULT_OPERATORS, operator_items, operator_offsets
from ._pseudolikelihood import METHOD, _edges, _estimate, _jackknife, _status_text, _warn_status
from .blocking import BLOCK_RULES, TIE_BREAKS, block_array

__all__ = [
    "DEFAULT_COUPLINGS",
    "lattice_couplings",
    "block_coupling_flow",
    "fit_block_flow",  # noqa: F822 (module __getattr__: rgdata.flow.block_flow)
]

#: Default couplings, in order: nearest neighbour, next-nearest (diagonal),
#: third neighbour (distance 2) and the plaquette four-spin coupling.
DEFAULT_COUPLINGS = ("nn", "nnn", "third", "plaquette")


# --------------------------------------------------------------------------- operators
def _resolve_couplings(operators: Any, dim: int, field: bool) -> dict[str, tuple]:
    even = DEFAULT_OPERATORS[(dim, "even")]
    odd = DEFAULT_OPERATORS[(dim, "odd")]
    items = operator_items(
        operators,
        arg="operators",
        pool={**even, **odd},
        default=[(n, even[n]) for n in DEFAULT_COUPLINGS if n in even],
        ranked=even,
    )
    out: dict[str, tuple] = {}
    for name, shape in items:
        offsets = operator_offsets(name, shape, dim)
        if len(set(offsets)) != len(offsets):
            raise ValueError(f"operator {name!r} repeats a site: {shape!r}")
        name = str(name)
        if name in out:
            raise ValueError(f"operator {name!r} is given twice")
        out[name] = offsets
    if field:
        if "field" in out:
            raise ValueError("field=True adds the coupling 'field'; do not name it in operators")
        out["field"] = ((0,) * dim,)
    if not out:
        raise ValueError("no couplings to estimate: give at least one operator")
    return out


def _extent(shape: tuple) -> int:
    arr = np.asarray(shape)
    return int((arr.max(axis=0) - arr.min(axis=0)).max())


def _fits(shape: tuple, side: int) -> bool:
    """Every image of the shape has distinct sites and no two terms share a pair.

    ``2 * extent < side``: a shape as wide as half the lattice would meet its
    own periodic image (a distance-2 pair on a 4-torus is counted twice).
    """
    return 2 * _extent(shape) < side


def _check_common(config: Any, n_jackknife: Any, tol: Any, max_iter: Any):
    config = check_configurations(config, "configs")
    n_jackknife = check_int(n_jackknife, "n_jackknife", min_value=4)
    if config.shape[0] < 2 * n_jackknife:
        raise ValueError(
            f"configs has {config.shape[0]} sample(s); at least 2 * n_jackknife = "
            f"{2 * n_jackknife} are needed for the jackknife error bars (lower n_jackknife)"
        )
    tol = check_real(tol, "tol", min_value=0, strict_min=True)
    max_iter = check_int(max_iter, "max_iter", min_value=1)
    return config, n_jackknife, tol, max_iter


# --------------------------------------------------------------------------- public
@once_per_call
def lattice_couplings(
    configs: xr.DataArray,
    operators: Any = None,
    *,
    field: bool = False,
    n_jackknife: int = 20,
    tol: float = 1e-12,
    max_iter: int = 100,
) -> xr.Dataset:
    """Translation-invariant couplings of lattice configurations by maximum pseudo-likelihood.

    Parameters
    ----------
    configs : xarray.DataArray
        Configurations (int8 +-1, dims ``("sample", "y", "x")`` or
        ``("sample", "z", "y", "x")``, periodic), e.g. samples of
        :func:`rgdata.lattice.sample_ising` or any level of
        :func:`rgdata.lattice.block_spin_levels`. Samples in chain order (the
        jackknife blocks are contiguous).
    operators : None, int, list of names or dict name -> shape
        The couplings: default :data:`DEFAULT_COUPLINGS` (``nn``, ``nnn``,
        ``third``, ``plaquette``); an int takes the first operators of
        :func:`rgdata.lattice.default_operators` (even sector); names may come
        from either sector of that list; a dict gives shapes (tuples of site
        offsets) by name. Every shape must satisfy ``2 * extent < side``
        (otherwise it meets its own periodic image).
    field : bool
        Add a uniform field coupling ``K_field`` (operator ``sum_i s_i``; the
        field ``h / T``).
    n_jackknife : int
        Contiguous blocks of samples for the delete-one-block jackknife (at
        least 4; at least two samples per block).
    tol : float
        Newton stops when the Newton decrement per site falls below *tol*
        (positive and finite).
    max_iter : int
        Newton iterations at most.

    Returns
    -------
    xarray.Dataset
        ``couplings`` and ``couplings_err`` (dim ``coupling``),
        ``couplings_cov`` (``coupling``, ``coupling_2``), the jackknife
        replicates ``couplings_jackknife`` (``jackknife``, ``coupling``);
        coords ``coupling``, ``n_spins`` and ``n_terms`` (terms of the
        operator containing a site). attrs: ``method``, ``convention``,
        ``error_method``, ``n_samples``, ``shape``, ``n_jackknife``,
        ``status`` (``converged``, ``not converged`` or ``diverging``),
        ``identifiable`` (1 unless the information matrix is singular),
        ``pseudo_loglik_per_site``, ``n_patterns``, ``operators`` (JSON
        shapes), ``n_failed_replicates`` (jackknife replicates that did not
        converge: NaN in ``couplings_jackknife``; the errors use the ``n``
        finite ones with the factor ``(n - 1)/n``, NaN when fewer than 2) and,
        when the input has them, ``temperature``, ``block_level``.

    Raises
    ------
    ValueError
        An operator too wide for the lattice, too few samples, unknown names.

    Warns
    -----
    UserWarning
        When Newton's method does not converge or the couplings diverge
        (frozen configurations: some pattern never occurs with the minority
        spin), and when the couplings are not identifiable (collinear local
        sums); the couplings are then NaN. When some jackknife replicates do
        not converge (saying how many).

    Notes
    -----
    Convention: ``P(s) ∝ exp(sum_a K_a S_a(s))`` with the operator sums of
    :func:`rgdata.lattice.coupling_operators`, so the nearest-neighbour Ising
    model at temperature ``T`` (``J = 1``) has ``K_nn = 1/T`` and every other
    coupling 0. The estimator is consistent for any finite-range Hamiltonian
    in the chosen family; it is not the maximum-likelihood estimator, so it
    is somewhat less efficient, but it needs no partition function and costs a
    few features per site.

    Examples
    --------
    >>> from rgdata.lattice import sample_ising, lattice_couplings
    >>> cfg = sample_ising(16, 3.0, 400, random_state=0)
    >>> res = lattice_couplings(cfg)
    >>> float(res.couplings.sel(coupling="nn")) - 1 / 3.0  # doctest: +SKIP
    0.003...
    """
    config, n_jackknife, tol, max_iter = _check_common(configs, n_jackknife, tol, max_iter)
    if not isinstance(field, bool | np.bool_):
        raise TypeError(f"field must be True or False, got {describe(field)}")
    dim = config.ndim - 1
    ops = _resolve_couplings(operators, dim, bool(field))
    side = min(config.shape[1:])
    too_wide = [n for n, s in ops.items() if not _fits(s, side)]
    if too_wide:
        raise ValueError(
            f"operator(s) {too_wide} are too wide for a lattice of side {side}: "
            "2 * extent must be < side (they would meet their own periodic image); "
            "drop them or use a larger lattice"
        )
    fit = _estimate(config.values, ops, dim, _edges(config.shape[0], n_jackknife), tol, max_iter)
    names = list(ops)
    _warn_status(fit, f"lattice of shape {config.shape[1:]}")
    err, cov, _ = _jackknife(fit["reps"])
    ds = xr.Dataset(
        {
            "couplings": ("coupling", fit["K"]),
            "couplings_err": ("coupling", err),
            "couplings_cov": (("coupling", "coupling_2"), cov),
            "couplings_jackknife": (("jackknife", "coupling"), fit["reps"]),
        },
        coords={
            "coupling": names,
            "coupling_2": names,
            "jackknife": np.arange(n_jackknife),
            "n_spins": ("coupling", [len(s) for s in ops.values()]),
            "n_terms": ("coupling", fit["m"].astype(int)),
        },
    )
    ds.attrs = _attrs(config, ops, n_jackknife, fit)
    ds.attrs["n_failed_replicates"] = int(fit["n_failed"])
    return ds


def _attrs(config: xr.DataArray, ops: dict, n_jackknife: int, fit: dict | None) -> dict:
    attrs: dict[str, Any] = {
        "analysis": "lattice_couplings",
        "method": METHOD,
        "convention": (
            "P(s) ~ exp(sum_a K_a S_a(s)); S_nn = sum_i (s_i s_{i+x} + s_i s_{i+y}), so the "
            "nearest-neighbour Ising model has K_nn = J/T; S_field = sum_i s_i"
        ),
        "error_method": f"delete-one-block jackknife over {n_jackknife} contiguous sample blocks",
        "n_samples": int(config.shape[0]),
        "shape": json.dumps([int(s) for s in config.shape[1:]]),
        "n_jackknife": int(n_jackknife),
        "operators": json.dumps(ops),
    }
    if fit is not None:
        attrs.update(
            status=_status_text(fit["status"]),
            identifiable=int(fit["identifiable"]),
            pseudo_loglik_per_site=float(fit["pll"]),
            n_patterns=int(fit["n_patterns"]),
        )
    for key in ("temperature", "J", "h", "model", "seed", "algorithm", "block_level"):
        if key in config.attrs:
            val = config.attrs[key]
            attrs[key] = val.item() if isinstance(val, np.generic) else val
    return attrs


@once_per_call
def block_coupling_flow(
    configs: xr.DataArray,
    n_levels: int | None = None,
    *,
    operators: Any = None,
    field: bool = False,
    b: int = 2,
    rule: str = "majority",
    tie_break: str = "random",
    n_jackknife: int = 20,
    random_state: Any = None,
    tol: float = 1e-12,
    max_iter: int = 100,
) -> xr.Dataset:
    """Couplings of the block-spin configurations at every level (the RG trajectory).

    Parameters
    ----------
    configs : xarray.DataArray
        Configurations (2D or 3D, periodic, samples in chain order).
    n_levels : int, optional
        Block steps after level 0 (the input). Default: the most that leave
        a side of at least 8. Each side must be divisible by ``b**n_levels``.
    operators : None, int, list of names or dict name -> shape
        Couplings, as in :func:`lattice_couplings`. An operator too wide for
        a level (``2 * extent >= side``) is left out there (NaN, warned, listed
        in the variable ``left_out``): the other couplings at that level then
        absorb it.
    field : bool
        Add a field coupling.
    b : int
        Block side.
    rule : {"majority", "decimation"}
        Block-spin rule (:func:`rgdata.lattice.block_spins`).
    tie_break : {"random", "first"}
        Tie rule of majority blocks with an even number of spins.
    n_jackknife : int
        Jackknife blocks of contiguous samples (the same blocks at every
        level, so the replicates give the covariance across levels).
    random_state : None, int or numpy.random.Generator
        Seeds the tie-breaking coins.
    tol, max_iter
        Newton settings (see :func:`lattice_couplings`).

    Returns
    -------
    xarray.Dataset
        ``couplings``, ``couplings_err`` (dims ``level``, ``coupling``),
        ``couplings_jackknife`` (``jackknife``, ``level``, ``coupling``),
        ``n_ties`` (``level``), ``status`` (``level``: 1 converged, 0 not, -1
        diverging), ``n_failed_replicates`` (``level``: jackknife replicates
        that did not converge, NaN in ``couplings_jackknife`` and left out of
        that level's errors, warned); coords ``level``, ``side`` (linear size
        at each level), ``n_spins``; ``left_out`` (``level``, ``coupling``:
        1 where the operator was too wide for that level and left out, else
        0). attrs as :func:`lattice_couplings` plus ``block_factor``,
        ``block_rule``, ``tie_break``, ``n_failed_replicates`` (total over
        levels).

    Examples
    --------
    >>> from rgdata.lattice import sample_ising, block_coupling_flow
    >>> cfg = sample_ising(32, 2.269185, 400, random_state=0)
    >>> flow = block_coupling_flow(cfg, 2, random_state=0)
    >>> flow.couplings.dims
    ('level', 'coupling')
    """
    config, n_jackknife, tol, max_iter = _check_common(configs, n_jackknife, tol, max_iter)
    if not isinstance(field, bool | np.bool_):
        raise TypeError(f"field must be True or False, got {describe(field)}")
    b = check_int(b, "b", min_value=2)
    check_option(rule, "rule", BLOCK_RULES)
    check_option(tie_break, "tie_break", TIE_BREAKS)
    rng = check_random_state(random_state)
    dim = config.ndim - 1
    sides = config.shape[1:]
    if n_levels is None:
        n_levels = 0
        while all(s % b ** (n_levels + 1) == 0 and s // b ** (n_levels + 1) >= 8 for s in sides):
            n_levels += 1
    n_levels = check_int(n_levels, "n_levels", min_value=0)
    need = b**n_levels
    for dname, s in zip(config.dims[1:], sides, strict=True):
        if s % need or s // need < 2:
            raise ValueError(
                f"lattice side {dname}={s} cannot be blocked {n_levels} time(s) by b={b}: it must "
                f"be a multiple of b**n_levels = {need} leaving a side of at least 2"
            )
    ops = _resolve_couplings(operators, dim, bool(field))
    names = list(ops)
    edges = _edges(config.shape[0], n_jackknife)
    n_lev = n_levels + 1
    K = np.full((n_lev, len(names)), np.nan)
    reps = np.full((n_jackknife, n_lev, len(names)), np.nan)
    status = np.zeros(n_lev, dtype=int)
    n_ties = np.zeros(n_lev, dtype=np.int64)
    n_failed = np.zeros(n_lev, dtype=np.int64)
    left_out: dict[str, list[str]] = {}
    spins = config.values
    for lev in range(n_lev):
        if lev:
            spins, n_ties[lev] = block_array(spins, b, rule, tie_break=tie_break, rng=rng)
        side = min(spins.shape[1:])
        keep = [i for i, n in enumerate(names) if _fits(ops[n], side)]
        if len(keep) < len(names):
            left_out[str(lev)] = [n for i, n in enumerate(names) if i not in keep]
        if not keep:
            status[lev] = 0
            continue
        sub = {names[i]: ops[names[i]] for i in keep}
        fit = _estimate(spins, sub, dim, edges, tol, max_iter)
        _warn_status(fit, f"block level {lev} (side {side})")
        status[lev] = fit["status"] if fit["identifiable"] else 0
        K[lev, keep] = fit["K"]
        reps[:, lev, keep] = fit["reps"]
        n_failed[lev] = fit["n_failed"]
    if left_out:
        warn_user(
            "operators too wide for the blocked lattice (2 * extent >= side) were left out: "
            + "; ".join(f"level {k}: {', '.join(v)}" for k, v in left_out.items())
            + " (NaN there; the remaining couplings absorb them)",
            UserWarning,
        )
    dropped = np.zeros((n_lev, len(names)), dtype=np.int8)
    for lev, gone in left_out.items():
        dropped[int(lev), [names.index(n) for n in gone]] = 1
    # per level: a replicate that failed at one level does not remove it from the others
    err = np.stack([_jackknife(reps[:, lev])[0] for lev in range(n_lev)])
    ds = xr.Dataset(
        {
            "couplings": (("level", "coupling"), K),
            "couplings_err": (("level", "coupling"), err),
            "couplings_jackknife": (("jackknife", "level", "coupling"), reps),
            "n_ties": ("level", n_ties),
            "status": ("level", status),
            "n_failed_replicates": ("level", n_failed),
            "left_out": (("level", "coupling"), dropped),
        },
        coords={
            "level": np.arange(n_lev),
            "side": ("level", [int(min(sides)) // b**lev for lev in range(n_lev)]),
            "scale": ("level", np.asarray([b**lev for lev in range(n_lev)], dtype=np.int64)),
            "coupling": names,
            "jackknife": np.arange(n_jackknife),
            "n_spins": ("coupling", [len(s) for s in ops.values()]),
        },
    )
    ds.attrs = _attrs(config, ops, n_jackknife, None)
    ds.attrs.update(
        analysis="block_coupling_flow",
        block_factor=b,
        block_rule=rule,
        tie_break=tie_break,
        n_failed_replicates=int(n_failed.sum()),
        random_state=random_state if isinstance(random_state, int) else str(random_state),
        scale_name="block_size",
    )
    ds["scale"].attrs["long_name"] = "block size b**level (sites per block along each axis)"
    return ds


def __getattr__(name: str) -> Any:
    # fit_block_flow moved to rgdata.flow.block_flow; imported on first use here, since
    # rgdata.flow.block_flow itself uses this package (a top-level import would be circular)
    if name == "fit_block_flow":
        from ..flow.block_flow import fit_block_flow

        return fit_block_flow
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
