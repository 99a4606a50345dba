"""Incomplete similarity: power-law combinations of dimensionless groups learned from data.

Barenblatt's self-similarity of the second kind: a dimensionless target
``y`` depends on the groups ``Pi_g`` through

    y = prod_g Pi_g^alpha_g * Phi(xi),    xi = Pi_lead * prod_{g != lead} Pi_g^beta_g,

with exponents ``alpha``, ``beta`` that dimensional analysis cannot give and
an unknown scaling function ``Phi``. (The exponent of the *lead* group in
``xi`` is fixed to 1: ``Phi(xi^c)`` is another scaling function, so it is
not identifiable. The lead group may change sign, e.g. a reduced
temperature; the others must be positive.) Sanfins, Ramos & Naiff learn the
exponents with a bias-free layer feeding a small network; here ``Phi`` is a
cubic B-spline in ``asinh(xi / s)`` (``s`` the median ``|xi|``, knots at
quantiles) whose coefficients enter linearly, so for given exponents they
are a weighted least-squares solution, and the exponents minimise the
residual that remains: variable projection (Golub & Pereyra 1973), with
scipy's ``least_squares``. Residuals are relative, ``(y - model) / dy`` with
``dy = target_err`` or ``|y|`` times a constant.

Intervals: ``value +- t * se`` with ``se`` from the Jacobian of the
projected residual (``s^2 (J^T J)^-1``, ``s^2`` the residual variance with
the spline coefficients counted as parameters), the standard variable
projection covariance.

References
----------
G. I. Barenblatt, Scaling, Self-similarity, and Intermediate Asymptotics
(Cambridge, 1996). G. H. Golub and V. Pereyra, SIAM J. Numer. Anal. 10, 413
(1973). Sanfins, Ramos and Naiff, "Similarity learning with neural networks".
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr
from scipy.special import stdtrit

from .._validation import check_array, check_int, check_option, check_real, describe
from .._warnings import warn_user

__all__ = ["similarity_exponents"]

_GRID = np.linspace(-2.0, 2.0, 17)  # starting grid of each beta (without `initial`)
_GRID_MAX_GROUPS = 2


def _knots(xi: np.ndarray, n_knots: int, degree: int) -> tuple[float, np.ndarray]:
    """Scale ``s`` (median |xi|) and the B-spline knots at quantiles of asinh(xi / s)."""
    s = float(np.median(np.abs(xi)))
    s = s if s > 0 else 1.0
    inner = np.unique(np.quantile(np.arcsinh(xi / s), np.linspace(0, 1, n_knots)))
    if inner.size < 2:
        inner = np.array([-1.0, 1.0])
    return s, np.concatenate([[inner[0]] * degree, inner, [inner[-1]] * degree])


def _design(xi: np.ndarray, s: float, knots: np.ndarray, degree: int) -> np.ndarray:
    u = np.clip(np.arcsinh(xi / s), knots[0], knots[-1])
    from scipy import interpolate

    return interpolate.BSpline.design_matrix(u, knots, degree).toarray()


class _Model:
    """log|y| = logs_alpha @ alpha + sum_k c_k B_k(xi), xi = lead * exp(logs_beta @ beta).

    For given beta the model is linear in (alpha, c): the projection.
    """

    def __init__(self, logs_a, logs_b, lead, logy, sig, n_knots, degree):
        self.logs_a, self.logs_b, self.lead = logs_a, logs_b, lead
        self.logy, self.sig, self.n_knots, self.degree = logy, sig, n_knots, degree

    def xi(self, beta: np.ndarray) -> np.ndarray:
        return self.lead * np.exp(self.logs_b @ beta)

    def design(self, beta: np.ndarray, frozen=None) -> tuple[np.ndarray, tuple]:
        xi = self.xi(beta)
        s, knots = _knots(xi, self.n_knots, self.degree) if frozen is None else frozen
        return np.hstack([self.logs_a, _design(xi, s, knots, self.degree)]), (s, knots)

    def linear(self, beta: np.ndarray, frozen=None):
        A, frozen = self.design(beta, frozen)
        coef, *_ = np.linalg.lstsq(A / self.sig[:, None], self.logy / self.sig, rcond=None)
        return A, coef, frozen

    def residual(self, beta: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            A, coef, _ = self.linear(beta)
            r = (self.logy - A @ coef) / self.sig
        return np.where(np.isfinite(r), r, 1e6)


def similarity_exponents(
    groups: Mapping[str, Any],
    target: Any,
    *,
    lead: str,
    prefactor: Sequence[str] | None = None,
    target_err: Any = None,
    initial: Mapping[str, float] | None = None,
    n_knots: int | None = None,
    degree: int = 3,
    ci: float = 0.95,
    method: str = "varpro",
    steps: int = 3000,
    random_state: int = 0,
) -> xr.Dataset:
    """Exponents of ``y = prod Pi^alpha Phi(Pi_lead prod Pi^beta)`` by variable projection.

    Parameters
    ----------
    groups : mapping of str to array-like
        The dimensionless groups, 1-D arrays of one length (one value per
        observation). All but *lead* must be positive.
    target : array-like
        The dimensionless quantity ``y`` (nonzero), same length.
    lead : str
        The group that enters ``xi`` with exponent 1 (may change sign).
    prefactor : sequence of str, optional
        Groups with a power-law prefactor ``Pi^alpha`` (default: every group
        but *lead*; ``()`` for none).
    target_err : array-like, optional
        Standard errors of *target* (default ``|target|``: relative
        residuals, the error scale then estimated from the fit).
    initial : mapping, optional
        Starting exponents, keys ``"alpha:<group>"`` / ``"beta:<group>"``.
        Default: the best point of a grid of ``beta`` in ``[-2, 2]`` (step
        0.25) for up to two non-lead groups, else 0 (the projected residual
        can have local minima; give starting values for more groups).
    n_knots, degree : int
        Spline knots (at quantiles of ``asinh(xi / s)``; default one per ten
        points, between 4 and 24) and degree. With
        *target_err* given, ``residual_sd`` near 1 says the spline follows
        the data to their errors; well above 1 (warned above 2), add knots.
    ci : float
        Confidence level of the intervals.
    method : {"varpro", "network"}
        ``"varpro"``: spline ``Phi`` and variable projection (scipy).
        ``"network"``: the Sanfins et al. form, a bias-free exponent layer and
        a small tanh network for ``log Phi`` trained jointly by Adam (the ML
        extra: JAX and optax, imported only here); started from the same
        ``beta`` grid point; no intervals (NaN: use ``"varpro"`` for them).
    steps : int
        Adam steps of ``method="network"``.
    random_state : int
        Seeds the network's initial weights.

    Returns
    -------
    xarray.Dataset
        Dim ``exponent`` (``"alpha:<group>"``, ``"beta:<group>"``) with
        coords ``role`` and ``group``: ``value``, ``se``, ``ci_low``,
        ``ci_high``; scalars ``residual_sd`` (rms of the residuals in units
        of *target_err*), ``r2`` (of ``y``), ``n_points``, ``n_basis``,
        ``dof``; on dim ``point``: ``xi`` and ``scaled_target`` (``y /
        prod Pi^alpha``, which falls on one curve against ``xi``).

    Raises
    ------
    ValueError
        Unknown *lead*, non-positive non-lead groups, zero targets, arrays of
        different lengths or too few points for the spline.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> L, t = rng.uniform(8, 64, 400), rng.uniform(-0.05, 0.05, 400)
    >>> chi = L**1.75 * np.exp(-((t * L) ** 2))  # planted gamma/nu = 7/4, 1/nu = 1
    >>> fit = similarity_exponents({"L": L, "t": t}, chi, lead="t")
    >>> [round(float(v), 3) for v in fit["value"]]
    [1.75, 1.0]
    """
    if not isinstance(groups, Mapping) or not groups:
        raise TypeError(f"groups must be a non-empty mapping name -> array, got {describe(groups)}")
    names = [str(k) for k in groups]
    if lead not in names:
        raise ValueError(f"lead {lead!r} is not one of the groups; accepted: {names}")
    y = check_array(target, "target", ndim=1).astype(float)
    cols = {}
    for name in names:
        arr = check_array(groups[name], f"groups[{name!r}]", ndim=1).astype(float)
        if arr.size != y.size:
            raise ValueError(
                f"groups[{name!r}] has {arr.size} values but target has {y.size}; "
                "accepted: one value per observation"
            )
        if name != lead and np.any(arr <= 0):
            raise ValueError(
                f"groups[{name!r}] must be > 0 (it enters as a power), got smallest "
                f"{arr.min():g}; only the lead group may change sign"
            )
        cols[name] = arr
    if not (np.all(y > 0) or np.all(y < 0)):
        raise ValueError(
            "target must be of one sign and nonzero everywhere (the model is fitted to "
            f"log|y|), got {int(np.sum(y > 0))} positive, {int(np.sum(y < 0))} negative and "
            f"{int(np.sum(y == 0))} zero values"
        )
    others = [n for n in names if n != lead]
    prefactor = others if prefactor is None else [str(p) for p in prefactor]
    bad = [p for p in prefactor if p not in others]
    if bad:
        raise ValueError(f"prefactor names {bad} that are not non-lead groups; accepted: {others}")
    if n_knots is None:
        n_knots = int(min(24, max(4, y.size // 10)))
    n_knots = check_int(n_knots, "n_knots", min_value=2)
    check_option(method, "method", ("varpro", "network"))
    steps = check_int(steps, "steps", min_value=1)
    random_state = check_int(random_state, "random_state", min_value=0)
    degree = check_int(degree, "degree", min_value=1, max_value=5)
    ci = check_real(ci, "ci", min_value=0.0, max_value=1.0, strict_min=True)
    n_basis = n_knots + degree - 1
    labels = [f"alpha:{g}" for g in prefactor] + [f"beta:{g}" for g in others]
    n_par = len(labels)
    if y.size <= n_basis + n_par + 1:
        raise ValueError(
            f"target has {y.size} points; {n_par} exponents and {n_basis} spline coefficients "
            f"need more than {n_basis + n_par + 1}"
        )
    if target_err is None:
        err = np.abs(y)
        err_given = False
    else:
        err = check_array(target_err, "target_err", ndim=1).astype(float)
        if err.shape != y.shape or np.any(err <= 0):
            raise ValueError(f"target_err must be {y.size} positive values, got {describe(err)}")
        err_given = True
    start = dict.fromkeys(labels, 0.0)
    for k, v in (initial or {}).items():
        if k not in start:
            raise ValueError(f"initial names unknown exponent {k!r}; accepted: {labels}")
        start[k] = check_real(v, f"initial[{k!r}]")
    logs = {g: np.log(cols[g]) for g in others}
    logs_a = np.column_stack([logs[g] for g in prefactor]) if prefactor else np.zeros((y.size, 0))
    logs_b = np.column_stack([logs[g] for g in others]) if others else np.zeros((y.size, 0))
    model = _Model(logs_a, logs_b, cols[lead], np.log(np.abs(y)), err / np.abs(y), n_knots, degree)
    beta0 = np.array([start[f"beta:{g}"] for g in others])
    if initial is None and 0 < beta0.size <= _GRID_MAX_GROUPS:
        # the projected residual has local minima: start from the best point of a grid
        grid = np.array(list(itertools.product(_GRID, repeat=beta0.size)))
        cost = [float(np.sum(model.residual(b) ** 2)) for b in grid]
        beta0 = grid[int(np.argmin(cost))]
    if method == "network":
        return _network_result(
            model, beta0, labels, prefactor, others, lead, y, logs_a, steps, random_state, ci
        )
    if beta0.size:
        from scipy import optimize  # here: scipy.optimize loads scipy.stats

        fit = optimize.least_squares(model.residual, beta0, method="lm")
        beta, converged = fit.x, int(fit.success)
    else:
        beta, converged = beta0, 1
    A, coef, frozen = model.linear(beta)
    r = (model.logy - A @ coef) / model.sig
    dof = y.size - n_par - (A.shape[1] - len(prefactor))
    s2 = float(r @ r) / dof
    # full Jacobian (alpha, spline coefficients analytic; beta by central differences with
    # the knots frozen) for the covariance of every exponent
    cols_b = []
    for i in range(beta.size):
        h = 1e-6 * max(1.0, abs(beta[i]))
        up, dn = beta.copy(), beta.copy()
        up[i] += h
        dn[i] -= h
        pred_up = model.design(up, frozen)[0] @ coef
        pred_dn = model.design(dn, frozen)[0] @ coef
        cols_b.append((pred_dn - pred_up) / (2 * h))  # d(residual)/d(beta_i) times sig
    J = np.column_stack([-A] + cols_b) / model.sig[:, None] if cols_b else -A / model.sig[:, None]
    info = J.T @ J
    if np.linalg.cond(info) < 1e12:
        cov = np.linalg.inv(info) * (max(s2, 1.0) if err_given else s2)
        diag = np.clip(np.diag(cov), 0, None)
        se = np.concatenate([np.sqrt(diag[: len(prefactor)]), np.sqrt(diag[A.shape[1] :])])
    else:
        se = np.full(n_par, np.nan)
        warn_user(
            "similarity_exponents: the exponents and the spline are not separately "
            f"identifiable (condition number of J^T J {np.linalg.cond(info):.2g}); no interval "
            "(NaN se). Use fewer knots or data over a wider range of the groups"
        )
    theta = np.concatenate([coef[: len(prefactor)], beta])
    if err_given and s2 > 4:
        warn_user(
            f"similarity_exponents: residual sd {np.sqrt(s2):.2g} target errors; the model "
            "misses the data by more than their errors (a scaling function too stiff for "
            "n_knots, or no such similarity); intervals scaled by it"
        )
    q = float(stdtrit(dof, 0.5 + ci / 2))  # scipy.stats.t.ppf without scipy.stats
    xi = model.xi(beta)
    pref = np.exp(logs_a @ coef[: len(prefactor)])
    pred = np.sign(y) * np.exp(A @ coef)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1 - float(np.sum((y - pred) ** 2)) / ss_tot if ss_tot > 0 else np.nan
    return xr.Dataset(
        {
            "value": ("exponent", theta),
            "se": ("exponent", se),
            "ci_low": ("exponent", theta - q * se),
            "ci_high": ("exponent", theta + q * se),
            "residual_sd": float(np.sqrt(s2)),
            "r2": r2,
            "n_points": int(y.size),
            "n_basis": int(A.shape[1] - len(prefactor)),
            "dof": int(dof),
            "ci_level": ci,
            "xi": ("point", xi),
            "scaled_target": ("point", y / pref),
        },
        coords={
            "exponent": labels,
            "role": ("exponent", [k.split(":")[0] for k in labels]),
            "group": ("exponent", [k.split(":", 1)[1] for k in labels]),
        },
        attrs={
            "analysis": "similarity_exponents",
            "lead": lead,
            "model": "y = prod Pi^alpha * Phi(Pi_lead * prod Pi^beta), Phi a degree-"
            f"{degree} B-spline in asinh(xi / median|xi|) with {n_knots} quantile knots",
            "method": "variable projection: spline coefficients by weighted least squares "
            "inside scipy least_squares (Levenberg-Marquardt) over the exponents",
            "ci_method": "t interval, se from the Jacobian of the projected residual"
            + (" (scaled by the residual sd when > 1)" if err_given else ""),
            "residuals": "(y - model) / target_err" if err_given else "(y - model) / |y|",
            "converged": converged,
        },
    )


def _network_result(model, beta0, labels, prefactor, others, lead, y, logs_a, steps, seed, ci):
    from ._similarity_network import fit_network

    alpha, beta, rms = fit_network(
        model.logs_a,
        model.logs_b,
        model.lead,
        model.logy,
        model.sig,
        beta0,
        hidden=32,
        steps=steps,
        learning_rate=0.01,
        seed=seed,
    )
    theta = np.concatenate([alpha, beta])
    nan = np.full(theta.size, np.nan)
    return xr.Dataset(
        {
            "value": ("exponent", theta),
            "se": ("exponent", nan),
            "ci_low": ("exponent", nan),
            "ci_high": ("exponent", nan),
            "residual_sd": rms,
            "r2": np.nan,
            "n_points": int(y.size),
            "n_basis": 0,
            "dof": 0,
            "ci_level": ci,
            "xi": ("point", model.xi(beta)),
            "scaled_target": ("point", y / np.exp(logs_a @ alpha)),
        },
        coords={
            "exponent": labels,
            "role": ("exponent", [k.split(":")[0] for k in labels]),
            "group": ("exponent", [k.split(":", 1)[1] for k in labels]),
        },
        attrs={
            "analysis": "similarity_exponents",
            "lead": lead,
            "model": "log|y| = log Pi @ alpha + net(asinh(xi / median|xi|)), a 2-layer tanh "
            "network of 32 units",
            "method": f"network (Sanfins et al.): Adam, {steps} steps, JAX",
            "ci_method": "none (NaN): use method='varpro' for intervals",
            "residuals": "(log|y| - model) / (target_err / |y|)",
            "converged": -1,
        },
    )
