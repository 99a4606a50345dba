"""Maximum pseudo-likelihood solver for translation-invariant lattice couplings.

Maximum pseudo-likelihood (Besag 1975): each spin's conditional
distribution given all the others is

``P(s_i | rest) = exp(s_i h_i) / (2 cosh h_i)``, ``h_i = sum_a K_a f_{a,i}``,

with ``f_{a,i} = dS_a / ds_i`` (the local sums of the other spins in every
term of ``S_a`` that contains ``i``). The pseudo-likelihood is the product of
these conditionals over all sites and samples; it is concave in ``K``, needs
no partition function, and its maximiser is consistent whenever the data come
from a Hamiltonian in the chosen family. With ``x_{a,i} = s_i f_{a,i}`` the
objective per site depends only on the vector ``x_i``, which takes few
distinct values (each ``x_a`` is an integer in ``[-m_a, m_a]``, ``m_a`` the
number of terms of ``S_a`` containing a site), so the data are reduced to a
table of pattern counts per block of samples and Newton's method runs on that
table. Errors: delete-one-block jackknife over contiguous blocks of samples
(:func:`_jackknife` tolerates failed, NaN replicates).

The couplings and operators the solver is given are chosen in
:mod:`rgdata.lattice.couplings`; this module only maximises the
pseudo-likelihood.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._jackknife import jackknife_covariance
from .._warnings import warn_user
from ._mcrg_operators import orientations, site_sums

__all__: list[str] = []

_CHUNK_SITES = 2**21
_MAX_COUPLING = 30.0

METHOD = (
    "maximum pseudo-likelihood (Besag 1975): P(s_i | rest) = exp(s_i h_i) / (2 cosh h_i), "
    "h_i = sum_a K_a dS_a/ds_i, for P(s) ~ exp(sum_a K_a S_a), S_a = lattice sum over sites "
    "and point-group images of spin products (rgdata.lattice.coupling_operators); Newton's "
    "method on the table of local-pattern counts"
)


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


def _status_text(status: int) -> str:
    return {1: "converged", 0: "not converged", -1: "diverging (frozen or separable data)"}[status]


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
