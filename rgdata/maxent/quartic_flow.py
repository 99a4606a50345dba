"""The flow of the quartic coupling ``g`` along momentum-space RG.

:func:`fit_quartic_flow` estimates the quartic coupling ``g`` of the
coarse-grained variables of momentum-space RG (Bradde & Bialek 2017; Meshulam
et al. 2019) at each kept fraction of eigenmodes, with error bars from a
jackknife over contiguous time blocks. The projection on the kept modes uses
the eigenmodes of :func:`rgdata.coarse.momentum` (:mod:`._quartic_projection`);
the single-variable model is :mod:`rgdata.maxent.quartic_model`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._jackknife import jackknife_covariance, jackknife_error
from .._progress import progress_bar
from .._validation import check_array, check_int
from .._warnings import once_per_call, warn_user
from ._quartic_projection import check_momentum_result, correlation_modes
from .quartic_model import _MIN_KURTOSIS, _g_of_kurtosis

__all__ = ["fit_quartic_flow"]

# up to this many units the jackknife of g_multi recomputes the propagator per time block
# (n_blocks x N x N mode cross products in memory); above it the propagator is held fixed
_MAX_UNITS_PROPAGATOR_JACKKNIFE = 512


def _coarse_block_sums(
    z: np.ndarray,
    evals: np.ndarray,
    evecs: np.ndarray,
    n_modes: np.ndarray,
    n_blocks: int,
    progress: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Momentum-space coarse-grained variables, summarised per contiguous time block.

    *z* is the z-scored activity and *evals*, *evecs* all the eigenmodes of
    its correlation matrix (:func:`correlation_modes`). Returns per-block
    sums of phi^2 and phi^4 with shape (n_fraction, n_blocks, n_unit), the
    block sizes and, for at most ``_MAX_UNITS_PROPAGATOR_JACKKNIFE`` units,
    the per-block sums of the mode-amplitude products ``sum_t m_mu m_nu``
    (n_blocks, n_unit, n_unit), else None.
    """
    n_unit, n_time = z.shape
    edges = np.linspace(0, n_time, n_blocks + 1).astype(int)
    # exact variance of each coarse-grained variable when k modes are kept
    var_k = np.cumsum(evecs**2 * evals[None, :], axis=1)  # (unit, k-1)
    s2 = np.zeros((n_modes.size, n_blocks, n_unit))
    s4 = np.zeros_like(s2)
    mm = np.zeros((n_blocks, n_unit, n_unit)) if n_unit <= _MAX_UNITS_PROPAGATOR_JACKKNIFE else None
    for b in progress_bar(range(n_blocks), enable=progress, desc="quartic flow blocks"):
        lo, hi = edges[b], edges[b + 1]
        xb = z[:, lo:hi]
        modes = evecs.T @ xb  # mode amplitudes
        if mm is not None:
            mm[b] = modes @ modes.T
        for f, k in enumerate(n_modes):
            phi = xb if k == n_unit else evecs[:, :k] @ modes[:k]
            phi = phi / np.sqrt(var_k[:, k - 1])[:, None]
            p2 = phi * phi
            s2[f, b] = p2.sum(axis=1)
            s4[f, b] = (p2 * p2).sum(axis=1)
    return s2, s4, np.diff(edges), mm


def _sum_fourth_power_correlation(evecs_k: np.ndarray, mode_cov: np.ndarray) -> float:
    """``sum_ij G_ij^4`` for the unit-variance field whose mode covariance is *mode_cov*."""
    cov = evecs_k @ mode_cov @ evecs_k.T
    d = np.sqrt(np.diag(cov))
    return float(np.sum((cov / np.outer(d, d)) ** 4))


def _multi_first_order(
    s2: np.ndarray,
    s4: np.ndarray,
    sizes: np.ndarray,
    evals: np.ndarray,
    evecs: np.ndarray,
    mm: np.ndarray | None,
    n_modes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First-order multivariate ``g`` per fraction, its leave-one-block-out replicates and
    ``sum_ij G_ij^4`` (GLS weights; see :func:`quartic_coupling_first_order`)."""
    n_f, n_blocks, _ = s2.shape
    n_time = int(sizes.sum())
    k4 = s4.sum(axis=1) / n_time / (s2.sum(axis=1) / n_time) ** 2 - 3.0  # (fraction, unit)
    n_loo = (n_time - sizes)[None, :, None]
    loo2 = (s2.sum(axis=1, keepdims=True) - s2) / n_loo
    loo4 = (s4.sum(axis=1, keepdims=True) - s4) / n_loo
    k4_loo = loo4 / loo2**2 - 3.0  # (fraction, block, unit)
    gamma = np.empty(n_f)
    gamma_loo = np.empty((n_f, n_blocks))
    total = None if mm is None else mm.sum(axis=0)
    for f, k in enumerate(n_modes):
        u = evecs[:, :k]
        gamma[f] = _sum_fourth_power_correlation(u, np.diag(evals[:k]))
        for b in range(n_blocks):
            if total is None:  # propagator held at its full-data value
                gamma_loo[f, b] = gamma[f]
            else:
                cov_b = (total[:k, :k] - mm[b, :k, :k]) / (n_time - sizes[b])
                gamma_loo[f, b] = _sum_fourth_power_correlation(u, cov_b)
    g = -k4.sum(axis=1) / (24.0 * gamma)
    g_loo = -k4_loo.sum(axis=2) / (24.0 * gamma_loo)
    return g, g_loo, gamma


_MULTI_MODEL = (
    "P(psi) ~ exp(-psi^T G^+ psi / 2 - g sum_i psi_i^4), psi in the span of the k kept modes, "
    "psi_i the coarse-grained variables rescaled to unit variance, G = D^-1/2 U_k L_k U_k^T "
    "D^-1/2 their correlation matrix (U_k, L_k the kept eigenvectors and eigenvalues)"
)
_MULTI_METHOD = (
    "first order in g: kappa4_i = -24 g sum_j G_ij^4; generalised least squares over units with "
    "the Gaussian covariance 24 G_ij^4 / T of sample fourth cumulants, i.e. "
    "g_multi = -sum_i kappa4_i / (24 sum_ij G_ij^4); valid while the O(g^2) terms are below "
    "the error (relative bias about -40 g for moderately correlated units)"
)


@once_per_call
def fit_quartic_flow(
    activity: xr.DataArray,
    fractions: Any = None,
    *,
    n_blocks: int = 20,
    min_modes: int = 2,
    progress: bool = False,
) -> xr.Dataset:
    """Quartic coupling ``g`` of the momentum-space coarse-grained variables at each fraction.

    For each kept fraction ``f`` of the eigenmodes of the units' correlation
    matrix, the coarse-grained variable of unit ``i`` is the projection of
    the z-scored activity onto the top ``k = round(f N)`` modes,
    ``phi_i = sum_{mu <= k} u_{i mu} (u_mu . x)``, rescaled to unit variance
    (Meshulam et al. 2019). The unit-variance phi^4 model
    ``exp(-a phi^2 - g phi^4)`` is fitted by maximum likelihood to the values
    of all units pooled (``g``, ``a``) and to each unit alone (``g_unit``).

    ``g_multi`` is the coupling of the multivariate model of Bradde & Bialek
    (2017): Gaussian couplings on the kept eigenmodes plus one quartic
    coupling on every site, ``P(psi) ∝ exp(-psi^T G^+ psi / 2 - g sum_i
    psi_i^4)`` for the unit-variance field ``psi`` in the span of the kept
    modes, ``G`` its correlation matrix. It is estimated to first order in
    ``g`` from ``kappa4_i = -24 g sum_j G_ij^4`` by generalised least squares
    over all units (:func:`quartic_coupling_first_order`), so that the
    propagator's coupling of the sites is accounted for, which the pooled
    single-variable fit ignores.

    Parameters
    ----------
    activity : xarray.DataArray
        Activity ``(unit, time)`` (stack trials first). Any kind: binary spikes
        are treated as numbers.
    fractions : array-like of float in (0, 1], or xarray.Dataset, optional
        Kept fractions of modes; default ``1, 1/2, 1/4, ...`` while at least
        *min_modes* modes are kept (:func:`rgdata.coarse.default_fractions`;
        the RG steps of a factor 2 in mode number). A
        :func:`rgdata.coarse.momentum` result of the same *activity*
        (correlation matrix, ``direction="remove_low"`` or ``"both"``) gives
        its fractions and kept counts ``n_modes``, so the flow sits on the
        levels of that result; its eigenvalues must match the activity's.
        The errors are the same block jackknife either way.
    n_blocks : int
        Contiguous time blocks for the jackknife error bars.
    min_modes : int
        Smallest number of kept modes in the default fractions.
    progress : bool
        Show a progress bar over time blocks.

    Returns
    -------
    xarray.Dataset
        dims ``fraction`` (decreasing, i.e. in RG order) and ``unit``:
        ``g``, ``g_err``, ``a``, ``a_err`` (pooled fit, block-jackknife
        standard errors), ``kurtosis``, ``kurtosis_err``, ``at_boundary``
        (1 where the pooled data are heavier-tailed than a Gaussian and ``g``
        is held at 0), ``g_cumulant``, ``g_cumulant_err`` (the first-order
        perturbative coupling ``-(kurtosis - 3) / 24`` of unit-variance data,
        which may be negative), ``g_multi``, ``g_multi_err`` (the
        multivariate first-order coupling, signed, block-jackknife errors),
        ``propagator_sum4`` (``sum_ij G_ij^4``), ``g_unit``, ``kurtosis_unit``
        (per unit; NaN where the kurtosis < 1.05, a near two-point
        distribution), ``n_modes`` and ``eigenvalue`` (dim ``mode``);
        ``g_cov``, ``g_cumulant_cov`` and ``g_multi_cov`` (dims ``fraction``,
        ``fraction_b``) are the jackknife covariances between fractions.
        ``attrs["g_multi_model"]`` and ``attrs["g_multi_method"]`` state the
        model and estimator.

    Notes
    -----
    The coarse-grained variables are the projections of
    :func:`rgdata.coarse.momentum` (its eigenmodes, computed by the same
    kernels; ``momentum`` keeps only their moments, so they are rebuilt
    here per time block). Error bars: delete-one-block jackknife over *n_blocks*
    contiguous time blocks, which keeps the temporal and cross-unit
    correlations that make the independent-sample Fisher errors too small.
    The eigenvectors are those of the full data in every replicate; for at
    most 512 units the replicates of ``g_multi`` recompute the propagator
    from the remaining blocks (``attrs["g_multi_propagator_jackknife"] = 1``),
    above that it is held at its full-data value (0).

    The first-order ``g_multi`` is biased by terms of order ``g^2``
    (relative bias about ``-40 g`` for moderately correlated units, ``-36 g``
    for one variable): compare it with its error bar before reading it as
    the coupling of the model when ``|g|`` is above about 0.005.
    """
    from ..activity import check_activity

    if isinstance(activity, xr.Dataset):
        raise TypeError(
            "activity must be an Activity DataArray (unit, time), got a Dataset; to follow the "
            "levels of a rgdata.coarse.momentum result pass it as fractions: "
            "fit_quartic_flow(activity, momentum_result) (the coarse-grained variables and their "
            "block-jackknife errors need the activity itself)"
        )
    activity = check_activity(activity, allow_trials=False, min_time=20)
    values = activity.values
    n_unit, n_time = values.shape
    n_blocks = check_int(n_blocks, "n_blocks", min_value=2, max_value=max(2, n_time // 10))
    min_modes = check_int(min_modes, "min_modes", min_value=1, max_value=n_unit)
    from_momentum = isinstance(fractions, xr.Dataset)
    if from_momentum:
        if "n_modes" not in fractions.coords or "eigenvalues" not in fractions:
            raise TypeError(
                "fractions must be an array of numbers in (0, 1] or a rgdata.coarse.momentum "
                f"result (with n_modes and eigenvalues); got a Dataset with variables "
                f"{sorted(fractions.data_vars)}"
            )
    else:
        if fractions is None:
            from ..coarse.momentum import default_fractions

            fractions = default_fractions(n_unit, min_modes)
        fractions = check_array(fractions, "fractions", ndim=1).astype(float)
        if fractions.size == 0 or np.any((fractions <= 0) | (fractions > 1)):
            raise ValueError(
                f"fractions must be a non-empty list of numbers in (0, 1], got {fractions}"
            )
    z, evals, evecs = correlation_modes(values)
    if from_momentum:
        n_modes, fractions = check_momentum_result(fractions, evals, n_unit, n_time)
    else:
        n_modes = np.maximum(1, np.round(fractions * n_unit).astype(int))
    order = np.argsort(-n_modes, kind="stable")
    n_modes, fractions = n_modes[order], fractions[order]
    if np.unique(n_modes).size != n_modes.size:
        raise ValueError(
            f"fractions {fractions} give repeated numbers of modes {n_modes} for "
            f"{n_unit} units; pass distinct fractions"
        )
    s2, s4, sizes, mm = _coarse_block_sums(z, evals, evecs, n_modes, n_blocks, progress)
    del z
    g_multi, g_multi_loo, gamma = _multi_first_order(s2, s4, sizes, evals, evecs, mm, n_modes)
    del mm
    n_f = n_modes.size
    # pooled moments over all units, full and leave-one-block-out
    tot2, tot4 = s2.sum(axis=(1, 2)), s4.sum(axis=(1, 2))
    n_all = n_time * n_unit
    kurt = (tot4 / n_all) / (tot2 / n_all) ** 2
    loo2 = tot2[:, None] - s2.sum(axis=2)
    loo4 = tot4[:, None] - s4.sum(axis=2)
    n_loo = (n_time - sizes)[None, :] * n_unit
    kurt_loo = (loo4 / n_loo) / (loo2 / n_loo) ** 2  # (fraction, block)

    a = np.full(n_f, np.nan)
    g = np.full(n_f, np.nan)
    boundary = np.zeros(n_f, dtype=int)
    a_rep = np.full((n_f, n_blocks), np.nan)
    g_rep = np.full((n_f, n_blocks), np.nan)
    for f in range(n_f):
        a[f], g[f], boundary[f] = _g_of_kurtosis(kurt[f])
        for b in range(n_blocks):
            a_rep[f, b], g_rep[f, b], _ = _g_of_kurtosis(kurt_loo[f, b])
    kurt_unit = (s4.sum(axis=1) / n_time) / (s2.sum(axis=1) / n_time) ** 2
    g_unit = np.full((n_f, n_unit), np.nan)
    for f in range(n_f):
        for i in range(n_unit):
            g_unit[f, i] = _g_of_kurtosis(kurt_unit[f, i])[1]
    undefined = np.isnan(g)
    if undefined.any():
        warn_user(
            f"the pooled kurtosis is < {_MIN_KURTOSIS} (a near two-point distribution) at "
            f"fractions {fractions[undefined].round(4).tolist()}: g is undefined (NaN) there",
            UserWarning,
        )
    if boundary.any():
        warn_user(
            f"at fractions {fractions[boundary == 1].round(4).tolist()} the coarse-grained "
            "variables are heavier-tailed than a Gaussian (kurtosis >= 3); the quartic model "
            "with g >= 0 holds g at 0 there (see g_cumulant for the signed perturbative value)",
            UserWarning,
        )
    ds = xr.Dataset(
        {
            "g": ("fraction", g),
            "g_err": ("fraction", jackknife_error(g_rep, axis=-1)),
            "a": ("fraction", a),
            "a_err": ("fraction", jackknife_error(a_rep, axis=-1)),
            "kurtosis": ("fraction", kurt),
            "kurtosis_err": ("fraction", jackknife_error(kurt_loo, axis=-1)),
            "at_boundary": ("fraction", boundary),
            "g_cumulant": ("fraction", -(kurt - 3.0) / 24.0),
            "g_cumulant_err": ("fraction", jackknife_error(kurt_loo, axis=-1) / 24.0),
            "g_cov": (("fraction", "fraction_b"), jackknife_covariance(g_rep, axis=-1)),
            "g_cumulant_cov": (
                ("fraction", "fraction_b"),
                jackknife_covariance(kurt_loo, axis=-1) / 24.0**2,
            ),
            "g_multi": ("fraction", g_multi),
            "g_multi_err": ("fraction", jackknife_error(g_multi_loo, axis=-1)),
            "g_multi_cov": (("fraction", "fraction_b"), jackknife_covariance(g_multi_loo, axis=-1)),
            "propagator_sum4": ("fraction", gamma),
            "n_modes": ("fraction", n_modes),
            "g_unit": (("fraction", "unit"), g_unit),
            "kurtosis_unit": (("fraction", "unit"), kurt_unit),
            "eigenvalue": ("mode", evals),
        },
        coords={
            "fraction": fractions,
            "unit": activity["unit"].values,
            "mode": np.arange(1, n_unit + 1),
        },
        attrs={
            "analysis": "quartic_flow",
            "model": "P(phi) ~ exp(-a phi^2 - g phi^4), unit-variance coarse-grained variables",
            "coarse_graining": "momentum-space: projection on the top-k eigenmodes of the "
            "correlation matrix (the modes of rgdata.coarse.momentum, same kernels)",
            "error_method": f"delete-one-block jackknife over {n_blocks} contiguous time blocks",
            "g_multi_model": _MULTI_MODEL,
            "g_multi_method": _MULTI_METHOD,
            "g_multi_propagator_jackknife": int(n_unit <= _MAX_UNITS_PROPAGATOR_JACKKNIFE),
            "n_blocks": n_blocks,
            "n_units": n_unit,
            "n_time": n_time,
            "kind": str(activity.attrs.get("kind", "")),
            "source": str(activity.attrs.get("source", "")),
        },
    )
    return ds
