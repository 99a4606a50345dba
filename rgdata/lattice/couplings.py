"""Block-spin couplings by maximum pseudo-likelihood, and their RG flow.

For translation-invariant +-1 lattice configurations (the original lattice or
any level of block spins) the model is

``P(s) ∝ exp(sum_a K_a S_a(s))``,

with ``S_a`` the coupling operators of :func:`rgdata.lattice.coupling_operators`
(lattice sums over every site and every point-group image of a spin product;
``S_nn = sum_i (s_i s_{i+x} + s_i s_{i+y})``, so ``K_nn = J / T`` for the
nearest-neighbour Ising model) and, when asked, the field operator
``S_field = sum_i s_i``.

Maximum pseudo-likelihood (Besag 1975): each spin's conditional
distribution given all the others is

``P(s_i | rest) = exp(s_i h_i) / (2 cosh h_i)``, ``h_i = sum_a K_a f_{a,i}``,

with ``f_{a,i} = dS_a / ds_i`` (the local sums of the other spins in every
term of ``S_a`` that contains ``i``). The pseudo-likelihood is the product of
these conditionals over all sites and samples; it is concave in ``K``, needs
no partition function, and its maximiser is consistent whenever the data come
from a Hamiltonian in the chosen family (for a block-spin Hamiltonian with
further couplings, it gives the best approximation by the truncated family in
the conditional-likelihood sense). With ``x_{a,i} = s_i f_{a,i}`` the
objective per site depends only on the vector ``x_i``, which takes few
distinct values (each ``x_a`` is an integer in ``[-m_a, m_a]``, ``m_a`` the
number of terms of ``S_a`` containing a site), so the data are reduced to a
table of pattern counts per block of samples and Newton's method runs on that
table.

Error bars: delete-one-block jackknife over contiguous blocks of samples
(Markov-chain samples are correlated; blocks longer than the
autocorrelation time make the blocks nearly independent). The replicates
are kept, so the covariance between couplings, and between levels of a
block-spin flow computed from the same samples, is available.

:func:`block_coupling_flow` blocks the configurations level by level (by
default ``b = 2`` majority rule with seeded coin tie-breaking, as
:func:`rgdata.lattice.block_spin_levels`) and estimates the couplings at every
level; :func:`fit_block_flow` feeds the couplings of several temperatures
(trajectories) into :func:`rgdata.flow.estimate_flow` to get the fixed point of
the flow and the thermal eigenvalue ``lambda_t = b^{y_t}``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import xarray as xr

from .._jackknife import jackknife_covariance
from .._validation import check_int, check_option, check_random_state, check_real, describe
from .._warnings import once_per_call, warn_user
from ..activity import check_configurations
from ._mcrg_operators import DEFAULT_OPERATORS, operator_offsets, orientations, site_sums
from .blocking import BLOCK_RULES, TIE_BREAKS, block_array

__all__ = [
    "DEFAULT_COUPLINGS",
    "lattice_couplings",
    "block_coupling_flow",
    "fit_block_flow",
]

#: Default couplings, in order: nearest neighbour, next-nearest (diagonal),
#: third neighbour (distance 2) and the plaquette four-spin coupling.
DEFAULT_COUPLINGS = ("nn", "nnn", "third", "plaquette")

_CHUNK_SITES = 2**21
_MAX_COUPLING = 30.0

METHOD = (
    "maximum pseudo-likelihood (Besag 1975): P(s_i | rest) = exp(s_i h_i) / (2 cosh h_i), "
    "h_i = sum_a K_a dS_a/ds_i, for P(s) ~ exp(sum_a K_a S_a), S_a = lattice sum over sites "
    "and point-group images of spin products (rgdata.lattice.coupling_operators); Newton's "
    "method on the table of local-pattern counts"
)


# --------------------------------------------------------------------------- operators
def _resolve_couplings(operators: Any, dim: int, field: bool) -> dict[str, tuple]:
    even = DEFAULT_OPERATORS[(dim, "even")]
    odd = DEFAULT_OPERATORS[(dim, "odd")]
    known = {**even, **odd}
    if operators is None:
        items = [(n, even[n]) for n in DEFAULT_COUPLINGS if n in even]
    elif isinstance(operators, int) and not isinstance(operators, bool):
        n = check_int(operators, "operators", min_value=1, max_value=len(even))
        items = list(even.items())[:n]
    elif isinstance(operators, str):
        raise TypeError(
            "operators must be None, an int, a list of operator names or a dict name -> shape, "
            f"got the string {operators!r} (wrap one name in a list)"
        )
    elif isinstance(operators, dict):
        items = list(operators.items())
    elif isinstance(operators, list | tuple):
        items = []
        for name in operators:
            if not isinstance(name, str) or name not in known:
                raise ValueError(
                    f"unknown operator {name!r}; accepted: {', '.join(known)} "
                    "(or a dict name -> shape)"
                )
            items.append((name, known[name]))
    else:
        raise TypeError(
            "operators must be None, an int, a list of operator names or a dict name -> shape, "
            f"got {describe(operators)}"
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


def _local_terms(shape: tuple, dim: int) -> list[list[tuple]]:
    """Relative offset lists whose products are the terms of ``s_i dS/ds_i``.

    For every image ``o`` of the shape and every position ``p`` in it, the
    term based at ``i - o_p`` contains ``i``; its product is
    ``prod_q s_{i + o_q - o_p}`` (which includes ``s_i`` itself).
    """
    out = []
    for orient in orientations(shape, dim):
        o = np.array(orient)
        for p in range(len(o)):
            out.append([tuple(int(v) for v in row) for row in (o - o[p])])
    return out


def _features(spins: np.ndarray, terms: list[list[list[tuple]]]) -> np.ndarray:
    """``x_{a,i} = s_i dS_a/ds_i`` for every sample and site: shape (n_op, n_sample, *lattice)."""
    out = np.zeros((len(terms),) + spins.shape, dtype=np.int16)
    for a, per_site in enumerate(site_sums(spins, terms)):
        out[a] = per_site
    return out


def _pattern_counts(
    spins: np.ndarray, terms: list, m: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Counts of the distinct feature vectors per block of samples.

    Returns ``patterns`` (n_pattern, n_op) and ``counts`` (n_block, n_pattern).
    """
    radix = (m + 1).astype(np.int64)
    n_codes = int(np.prod(radix))
    if n_codes > 2**26:
        raise ValueError(
            f"the chosen couplings have {n_codes} possible local patterns (product of "
            "(terms per site + 1)); use fewer or smaller operators"
        )
    place = np.concatenate([[1], np.cumprod(radix[::-1])[:-1]])[::-1]
    n_blocks = len(edges) - 1
    counts = np.zeros((n_blocks, n_codes), dtype=np.int64)
    sites = int(np.prod(spins.shape[1:]))
    per = max(1, _CHUNK_SITES // sites)
    for blk in range(n_blocks):
        for s in range(edges[blk], edges[blk + 1], per):
            e = min(s + per, edges[blk + 1])
            x = _features(spins[s:e], terms)
            code = np.zeros(x.shape[1:], dtype=np.int64)
            for a in range(len(terms)):
                code += ((x[a].astype(np.int64) + m[a]) // 2) * place[a]
            counts[blk] += np.bincount(code.ravel(), minlength=n_codes)
    used = np.flatnonzero(counts.sum(axis=0))
    digits = (used[:, None] // place[None, :]) % radix[None, :]
    patterns = (2 * digits - m[None, :]).astype(float)
    return patterns, counts[:, used].astype(float)


# --------------------------------------------------------------------------- fitting
def _log2cosh(z: np.ndarray) -> np.ndarray:
    a = np.abs(z)
    return a + np.log1p(np.exp(-2 * a)) + math.log(2.0)


def _objective(K: np.ndarray, X: np.ndarray, w: np.ndarray) -> float:
    z = X @ K
    return float(w @ (z - _log2cosh(z)))


def _newton(
    X: np.ndarray, w: np.ndarray, K0: np.ndarray, tol: float, max_iter: int
) -> tuple[np.ndarray, int, float]:
    """Maximise ``sum_p w_p (z_p - log 2cosh z_p)``, ``z = X K``, by damped Newton.

    Returns the couplings, a status (1 converged, 0 not converged, -1 diverging:
    a coupling beyond +-30, the data are (nearly) separable) and the smallest
    eigenvalue of the per-site information (0: couplings not identifiable).
    """
    K = K0.copy()
    n = w.sum()
    f = _objective(K, X, w)
    status = 0
    for _ in range(max_iter):
        z = X @ K
        t = np.tanh(z)
        grad = X.T @ (w * (1 - t))
        H = (X * (w * (1 - t * t))[:, None]).T @ X
        try:
            step = np.linalg.solve(H + 1e-12 * np.trace(H) * np.eye(len(K)), grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(H, grad, rcond=None)[0]
        dec = float(grad @ step) / n
        alpha = 1.0
        while True:
            K_new = K + alpha * step
            f_new = _objective(K_new, X, w)
            if f_new >= f - 1e-12 * abs(f) or alpha < 1e-8:
                break
            alpha *= 0.5
        K, f = K_new, f_new
        if np.max(np.abs(K)) > _MAX_COUPLING:
            status = -1
            break
        if dec < tol:
            status = 1
            break
    z = X @ K
    t = np.tanh(z)
    info = (X * (w * (1 - t * t))[:, None]).T @ X / n
    lam_min = float(np.linalg.eigvalsh(info).min()) if len(K) else 0.0
    # only observed patterns count (a jackknife replicate keeps the patterns of the deleted
    # block with weight 0), and an all-zero pattern (z = 0 whatever K) says nothing
    seen = z[(w > 0) & np.any(X != 0, axis=1)]
    if status == 1 and lam_min <= 1e-10 and len(seen) and seen.min() > 5:
        # the gradient vanished only because every observed spin is predicted with
        # certainty by its neighbourhood: separable (frozen) data, couplings run off
        status = -1
    return K, status, lam_min


def _fit_blocks(
    patterns: np.ndarray, counts: np.ndarray, tol: float, max_iter: int
) -> dict[str, Any]:
    total = counts.sum(axis=0)
    p = patterns.shape[1]
    K, status, lam = _newton(patterns, total, np.zeros(p), tol, max_iter)
    n_blocks = counts.shape[0]
    reps = np.full((n_blocks, p), np.nan)
    rep_status = np.ones(n_blocks, dtype=int)
    start = K if status == 1 else np.zeros(p)
    for j in range(n_blocks):
        Kj, sj, _ = _newton(patterns, total - counts[j], start, tol, max_iter)
        reps[j] = Kj
        rep_status[j] = sj
    n_sites = float(total.sum())
    return {
        "K": K,
        "status": status,
        "lam_min": lam,
        "reps": reps,
        "rep_status": rep_status,
        "pll": _objective(K, patterns, total) / n_sites,
        "n_patterns": patterns.shape[0],
    }


def _jackknife(reps: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Delete-one jackknife errors and covariance from replicates (n, ...), NaN-aware.

    A failed replicate is NaN. Columns with fewer than two finite replicates
    (e.g. a coupling left out, or a level whose fit failed) get NaN errors and
    covariance; the others use the replicates finite in all of them (``n_eff``
    of them), with the factor ``(n_eff - 1) / n_eff`` and their mean. With
    fewer than two such replicates every error is NaN. Returns the errors
    (shape ``reps.shape[1:]``), the covariance of the flattened columns and
    ``n_eff``.
    """
    n = reps.shape[0]
    flat = reps.reshape(n, -1)
    finite = np.isfinite(flat)
    live = finite.sum(axis=0) >= 2
    rows = finite[:, live].all(axis=1) if live.any() else np.zeros(n, dtype=bool)
    n_eff = int(rows.sum())
    cov = np.full((flat.shape[1], flat.shape[1]), np.nan)
    if n_eff >= 2:
        cov[np.ix_(live, live)] = jackknife_covariance(flat[np.ix_(rows, live)])
    return np.sqrt(np.diag(cov)).reshape(reps.shape[1:]), cov, n_eff


def _edges(n_samples: int, n_jackknife: int) -> np.ndarray:
    return np.linspace(0, n_samples, n_jackknife + 1).astype(int)


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


def _status_text(status: int) -> str:
    return {1: "converged", 0: "not converged", -1: "diverging (frozen or separable data)"}[status]


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


def _estimate(
    spins: np.ndarray, ops: dict, dim: int, edges: np.ndarray, tol: float, max_iter: int
) -> dict[str, Any]:
    terms = [_local_terms(s, dim) for s in ops.values()]
    m = np.array([len(t) for t in terms], dtype=np.int64)
    patterns, counts = _pattern_counts(spins, terms, m, edges)
    fit = _fit_blocks(patterns, counts, tol, max_iter)
    fit["m"] = m
    bad = fit["status"] != 1 or fit["lam_min"] <= 1e-10
    fit["identifiable"] = int(fit["lam_min"] > 1e-10)
    fit["n_failed"] = 0
    if bad:
        fit["K"] = np.full_like(fit["K"], np.nan)
        fit["reps"] = np.full_like(fit["reps"], np.nan)
    else:
        failed = (fit["rep_status"] != 1) | ~np.all(np.isfinite(fit["reps"]), axis=1)
        fit["reps"][failed] = np.nan
        fit["n_failed"] = int(failed.sum())
    return fit


def _warn_status(fit: dict, where: str) -> None:
    if fit["status"] != 1:
        warn_user(
            f"pseudo-likelihood fit on the {where}: {_status_text(fit['status'])}; the "
            "couplings are set to NaN (status in attrs). Frozen configurations (e.g. deep "
            "block levels far below T_c) make the couplings diverge.",
            UserWarning,
        )
    elif not fit["identifiable"]:
        warn_user(
            f"pseudo-likelihood fit on the {where}: the couplings are not identifiable "
            "(the local sums of the operators are collinear on these data); set to NaN",
            UserWarning,
        )
    elif fit["n_failed"]:
        n_rep = len(fit["rep_status"])
        n_left = n_rep - fit["n_failed"]
        errors = (
            f"the errors come from the {n_left} finite replicates (factor (n - 1)/n with "
            f"n = {n_left})"
            if n_left >= 2
            else "fewer than 2 are left, so the errors are NaN"
        )
        warn_user(
            f"pseudo-likelihood fit on the {where}: {fit['n_failed']} of {n_rep} jackknife "
            f"replicate(s) did not converge and are NaN; {errors} (attrs n_failed_replicates)",
            UserWarning,
        )


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
        in ``attrs["left_out"]``): the other couplings at that level then
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
        at each level), ``n_spins``. attrs as :func:`lattice_couplings` plus
        ``block_factor``, ``block_rule``, ``tie_break``, ``left_out`` (JSON
        level -> names), ``n_failed_replicates`` (total over levels).

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
        },
        coords={
            "level": np.arange(n_lev),
            "side": ("level", [int(min(sides)) // b**lev for lev in range(n_lev)]),
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
        left_out=json.dumps(left_out),
        n_failed_replicates=int(n_failed.sum()),
        random_state=random_state if isinstance(random_state, int) else str(random_state),
    )
    return ds


def _flow_label(flow: xr.Dataset) -> str:
    T = flow.attrs.get("temperature")
    return f"temperature {float(T):g}" if T is not None else "no temperature in attrs"


def _check_compatible_flows(flows: list | tuple) -> None:
    """Every flow must have the same couplings, levels, sides and block rule as ``flows[0]``."""
    ref = flows[0]

    def signature(f: xr.Dataset) -> dict[str, Any]:
        side = f["side"].values.tolist() if "side" in f.coords else None
        return {
            "couplings": [str(c) for c in f["coupling"].values],
            "levels": [int(v) for v in f["level"].values],
            "side": side,
            "block_factor": f.attrs.get("block_factor"),
            "block_rule": f.attrs.get("block_rule"),
            "tie_break": f.attrs.get("tie_break"),
        }

    want = signature(ref)
    diffs = []
    for i, f in enumerate(flows[1:], start=1):
        got = signature(f)
        for key, value in want.items():
            if got[key] != value:
                diffs.append(f"flows[{i}] {key} {got[key]} vs {value} in flows[0]")
    if diffs:
        raise ValueError(
            "the flows are not compatible: every flow must come from block_coupling_flow with "
            "the same couplings (operators, field), levels, lattice side, block factor b, rule "
            "and tie_break; differences: " + "; ".join(diffs)
        )


def _check_flow_couplings(couplings: Any, available: list[str]) -> list[str]:
    accepted = f"a coupling name or a non-empty sequence of distinct names out of {available}"
    if isinstance(couplings, str):
        names = [couplings]
    elif isinstance(couplings, list | tuple | np.ndarray):
        names = list(couplings)
        if not names:
            raise ValueError(f"couplings is empty; give {accepted}")
        bad = [n for n in names if not isinstance(n, str | np.str_)]
        if bad:
            raise TypeError(
                f"couplings must hold names (str), got {', '.join(describe(n) for n in bad)}; "
                f"give {accepted}"
            )
        names = [str(n) for n in names]
    else:
        raise TypeError(f"couplings must be {accepted}, got {describe(couplings)}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(
            f"couplings names {repeated} more than once (a repeated coupling makes the map "
            f"singular); give {accepted}"
        )
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ValueError(f"the flows have no coupling(s) {unknown}; give {accepted}")
    return names


@once_per_call
def fit_block_flow(
    flows: Any,
    couplings: Any = ("nn", "nnn"),
    *,
    first_level: int = 0,
    model: str = "linear",
    n_resamples: int = 300,
    random_state: Any = 0,
) -> xr.Dataset:
    """Fixed point and thermal eigenvalue from block-coupling flows at several temperatures.

    The pairs ``(K^(l), K^(l+1))`` of every flow (one trajectory per
    temperature) are fitted by :func:`rgdata.flow.estimate_flow` with the
    jackknife covariance of each flow across levels (flows from independent
    simulations are independent). The leading eigenvalue of the fitted map
    at its fixed point is ``lambda_t = b^{y_t}``.

    Parameters
    ----------
    flows : sequence of xarray.Dataset
        Results of :func:`block_coupling_flow` with the same coupling list,
        levels, lattice side, block factor, block rule and tie rule (typically
        one per temperature near ``T_c``).
    couplings : str or sequence of str
        The couplings the map acts on: one name or a non-empty sequence of
        distinct names held by the flows. The default ``("nn", "nnn")`` fits the
        two-coupling linear map: the flow from the nearest-neighbour line
        (``K_nnn = 0`` at level 0) onto the block-spin manifold (``K_nnn``
        about 0.09 at ``T_c``) is then part of the map, so level 0 can be
        used. A single name is the one-parameter projection: near the fixed
        point every coupling's deviation grows by ``lambda_t`` per level once
        the irrelevant directions have decayed, so the slope of ``K^(l+1)``
        against ``K^(l)`` across temperatures estimates ``lambda_t``; but the
        drift of the irrelevant couplings between levels enters as a shift of
        the intercept and biases the pooled slope (low, strongly so when the
        temperatures are close to ``T_c``); use ``first_level >= 1`` with it.
        More couplings make the map ill-conditioned: flows started on the
        nearest-neighbour line stay close to a surface of low dimension in
        coupling space, so the map's derivatives off it are poorly
        determined (``attrs["design_condition"]`` says how much; warned
        above 1e4).
    first_level : int
        Levels before it are left out (level 0 of a nearest-neighbour model
        lies off the block-spin manifold: its further couplings are exactly
        0; a map that includes ``nnn`` describes that step, a projection on
        ``nn`` alone does not).
    model : {"linear", "quadratic"}
        Polynomial map (see :func:`rgdata.flow.estimate_flow`).
    n_resamples : int
        Resamples for the errors.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    xarray.Dataset
        The :func:`rgdata.flow.estimate_flow` result (with a ``trajectory``
        coord holding the temperatures when known) plus attrs ``K_star``,
        ``K_star_err`` (JSON lists over the couplings), ``lambda_t``,
        ``lambda_t_err``, ``y_t``, ``y_t_err`` (``ln lambda_t / ln b``, error
        by the delta method), ``block_factor``, ``first_level``,
        ``projection``, ``design_condition``.

    Raises
    ------
    TypeError
        *flows* is not a list of :func:`block_coupling_flow` results;
        *couplings* is not a name or a sequence of names.
    ValueError
        Incompatible flows (the differences are listed); empty, repeated or
        unknown coupling names; a finite coupling without a usable jackknife
        error (fewer than 2 finite replicates: the flow and level are named).

    Warns
    -----
    UserWarning
        When some jackknife replicates of a flow are NaN (the covariance then
        uses the others), and when a multi-coupling map is ill-conditioned.
    """
    from ..flow import estimate_flow

    if isinstance(flows, xr.Dataset) or not isinstance(flows, list | tuple):
        raise TypeError(
            f"flows must be a list of block_coupling_flow results (one per temperature), got "
            f"{describe(flows)}"
        )
    if len(flows) < 1:
        raise ValueError("flows is empty; give at least one block_coupling_flow result")
    for i, f in enumerate(flows):
        if not isinstance(f, xr.Dataset) or f.attrs.get("analysis") != "block_coupling_flow":
            raise TypeError(f"flows[{i}] must be a block_coupling_flow result, got {describe(f)}")
    ref = flows[0]
    _check_compatible_flows(flows)
    names = _check_flow_couplings(couplings, [str(c) for c in ref["coupling"].values])
    first_level = check_int(first_level, "first_level", min_value=0)
    n_lev = ref.sizes["level"] - first_level
    if n_lev < 2:
        raise ValueError(
            f"first_level={first_level} leaves {n_lev} level(s); at least 2 are needed"
        )
    b = int(ref.attrs["block_factor"])
    p = len(names)
    levels = ref["level"].values[first_level:]
    params = np.empty((len(flows), n_lev, p))
    blocks = []
    for t, f in enumerate(flows):
        sub = f.sel(coupling=names).isel(level=slice(first_level, None))
        params[t] = sub["couplings"].transpose("level", "coupling").values
        reps = sub["couplings_jackknife"].transpose("jackknife", "level", "coupling").values
        _, cov_t, n_eff = _jackknife(reps)
        # a finite coupling needs a finite error: otherwise (fewer than 2 finite jackknife
        # replicates) its weight in the fit is unknown
        no_err = np.isfinite(params[t].ravel()) & ~(np.diag(cov_t) > 0)
        if no_err.any():
            lev_i, c_i = np.unravel_index(np.flatnonzero(no_err), (n_lev, p))
            where = ", ".join(
                f"level {int(levels[a])} {names[c]}" for a, c in zip(lev_i, c_i, strict=True)
            )
            raise ValueError(
                f"flows[{t}] ({_flow_label(f)}) has no usable jackknife error at {where}: "
                f"{n_eff} of {reps.shape[0]} replicates are finite at every level used "
                "(at least 2 are needed, and a positive variance); rerun with more samples, or "
                "leave the failing levels out (first_level, or fewer levels)"
            )
        if n_eff < reps.shape[0]:
            warn_user(
                f"flows[{t}] ({_flow_label(f)}): {reps.shape[0] - n_eff} of {reps.shape[0]} "
                "jackknife replicates are NaN at some level used; the covariance across levels "
                f"comes from the {n_eff} replicates finite at all of them",
                UserWarning,
            )
        blocks.append(cov_t)
    n_flat = params.size
    cov = np.zeros((n_flat, n_flat))
    step = n_lev * p
    for t, blk in enumerate(blocks):
        cov[t * step : (t + 1) * step, t * step : (t + 1) * step] = blk
    # NaN couplings (left out, or a failed fit at that level) have NaN covariance rows: give
    # them a unit diagonal (estimate_flow drops NaN parameters)
    bad = ~np.isfinite(cov)
    if bad.any():
        cov[bad] = 0.0
        idx = np.flatnonzero(~np.isfinite(params.ravel()))
        cov[idx, idx] = 1.0
    temps = [float(f.attrs.get("temperature", np.nan)) for f in flows]
    da = xr.DataArray(
        params,
        dims=("trajectory", "level", "parameter"),
        coords={"level": levels, "parameter": names},
    )
    x = params[:, :-1].reshape(-1, p)
    x = x[np.all(np.isfinite(x), axis=1)]
    design = np.column_stack([np.ones(len(x)), x])
    design_cond = float(np.linalg.cond(design)) if len(x) >= design.shape[1] else np.inf
    if p > 1 and design_cond > 1e4:
        warn_user(
            f"the multi-coupling map is ill-conditioned (condition number of the design "
            f"{design_cond:.3g}): the trajectories lie close to one curve in coupling space, so "
            "the map's derivatives off that curve are poorly determined; the one-parameter "
            "projection couplings='nn' is the robust estimate",
            UserWarning,
        )
    res = estimate_flow(
        da, covariance=cov, model=model, n_resamples=n_resamples, random_state=random_state
    )
    res = res.assign_coords(trajectory=("trajectory", np.asarray(temps)))
    res["trajectory"].attrs["long_name"] = "temperature"
    out: dict[str, Any] = {
        "block_factor": b,
        "first_level": first_level,
        "projection": (
            "one-parameter projection on " + names[0]
            if p == 1
            else "multi-coupling map on " + ", ".join(names)
        ),
        "design_condition": design_cond,
        "couplings_fitted": json.dumps(names),
    }
    if res.sizes["fixed_point"]:
        fps = res["fixed_points"].values
        dist = np.linalg.norm(fps - np.nanmean(params.reshape(-1, p), axis=0), axis=1)
        i = int(np.argmin(dist))
        lam = float(res["eigenvalues_real"].values[i, 0])
        lam_err = float(res["eigenvalues_real_err"].values[i, 0])
        out.update(
            fixed_point_index=i,
            K_star=json.dumps(fps[i].tolist()),
            K_star_err=json.dumps(res["fixed_points_err"].values[i].tolist()),
            lambda_t=lam,
            lambda_t_err=lam_err,
            y_t=math.log(lam) / math.log(b) if lam > 0 else np.nan,
            y_t_err=lam_err / (abs(lam) * math.log(b)) if lam > 0 else np.nan,
        )
    else:
        out.update(
            fixed_point_index=-1,
            K_star="[]",
            K_star_err="[]",
            lambda_t=np.nan,
            lambda_t_err=np.nan,
            y_t=np.nan,
            y_t_err=np.nan,
        )
    res.attrs.update(out)
    return res
