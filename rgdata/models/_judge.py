"""Judge generated critical 2D Ising lattices by exact physics, side by side with MCMC.

:func:`judge_generated` measures, on ensembles at several sizes ``L``:

* ``chi = L^2 (<m^2> - <|m|>^2)`` against ``L``: the slope ``gamma/nu`` against
  ``7/4`` (:func:`rgdata.lattice.fss_exponent`, weighted log-log fit with a
  t-interval);
* the Binder ratio ``V4 = <m^4> / <m^2>^2 = 3 (1 - U)`` at each ``L`` against
  the critical torus value ``1.167923`` (``U* = 0.61069``, Salas & Sokal 2000);
* the energy and specific heat per site at each ``L`` against Kaufman's exact
  finite-torus values (:mod:`rgdata.lattice.exact`), and the slope of ``c``
  against ``ln L`` against the slope of Kaufman's values at the same sizes;
* Swendsen's MCRG exponents of the largest lattice and its block spins
  (:func:`rgdata.lattice.mcrg`): ``y_t`` against 1 and ``y_h`` against
  ``15/8``.

Every deviation is a z-score (estimate minus target, over the error bar);
a check with ``m`` comparisons passes when every ``|z|`` is below the
Bonferroni threshold ``Phi^-1(1 - alpha / (2 m))``. The same checks run on
the MCMC ensembles when given (their pass/fail shows what the analysis can
resolve at these sizes), and each generated observable is also compared
with the MCMC one at the same ``L``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from .._validation import check_real, describe
from .._warnings import warn_user

__all__ = ["judge_generated", "BINDER_V4_CRITICAL", "GAMMA_NU", "Y_T", "Y_H"]

#: ``<m^4>/<m^2>^2`` of the critical 2D Ising torus, L -> inf (Salas & Sokal 2000)
BINDER_V4_CRITICAL = 1.167923
GAMMA_NU = 7 / 4
Y_T = 1.0
Y_H = 15 / 8

_PER_SIZE = ("energy", "abs_magnetization", "specific_heat", "chi", "binder_v4")
_CHECKS = ("gamma_nu", "binder_v4", "energy", "specific_heat_slope", "y_t", "y_h")


def _ensembles(value: Any, name: str) -> dict[int, xr.DataArray]:
    if isinstance(value, xr.DataArray):
        value = [value]
    if isinstance(value, Mapping):
        value = list(value.values())
    if not isinstance(value, Sequence) or not value:
        raise TypeError(
            f"{name} must be a non-empty list (or dict) of Configurations DataArrays, "
            f"got {describe(value)}"
        )
    out: dict[int, xr.DataArray] = {}
    for cfg in value:
        if not isinstance(cfg, xr.DataArray) or cfg.dims != ("sample", "y", "x"):
            raise TypeError(
                f"{name} must hold 2D Configurations DataArrays (dims sample, y, x), "
                f"got {describe(cfg)}"
            )
        L = int(cfg.shape[-1])
        if L in out:
            raise ValueError(f"{name} has two ensembles of size L={L}; give one per size")
        out[L] = cfg
    return dict(sorted(out.items()))


def _observables(ens: dict[int, xr.DataArray], T: float) -> dict[str, np.ndarray]:
    from ..lattice import ising_observables

    rows = {k: [] for k in (*_PER_SIZE, *(f"{p}_err" for p in _PER_SIZE), "n_samples")}
    for cfg in ens.values():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obs = ising_observables(cfg, temperature=T, J=1.0, h=0.0)
        values = {
            "energy": (float(obs.energy), float(obs.energy_err)),
            "abs_magnetization": (float(obs.abs_magnetization), float(obs.abs_magnetization_err)),
            "specific_heat": (float(obs.specific_heat), float(obs.specific_heat_err)),
            "chi": (T * float(obs.susceptibility), T * float(obs.susceptibility_err)),
            "binder_v4": (3 * (1 - float(obs.binder)), 3 * float(obs.binder_err)),
        }
        for key, (v, e) in values.items():
            rows[key].append(v)
            rows[f"{key}_err"].append(e)
        rows["n_samples"].append(int(obs.attrs["n_samples"]))
    return {k: np.asarray(v) for k, v in rows.items()}


def _log_slope(L: np.ndarray, y: np.ndarray, err: np.ndarray) -> tuple[float, float]:
    """Weighted fit ``y = A + B ln L``: ``B`` and its error (scaled by sqrt(chi2/dof) > 1)."""
    X = np.stack([np.ones_like(L), np.log(L)], axis=1)
    w = 1 / np.maximum(err, 1e-300) ** 2
    cov = np.linalg.inv(X.T @ (X * w[:, None]))
    beta = cov @ (X.T @ (w * y))
    resid = (y - X @ beta) * np.sqrt(w)
    dof = L.size - 2
    scale = max(1.0, float(resid @ resid) / dof) if dof > 0 else 1.0
    return float(beta[1]), float(np.sqrt(cov[1, 1] * scale))


def _gamma_nu(sizes: list[int], obs: dict[str, np.ndarray], T: float, confidence: float):
    from ..lattice import fss_exponent

    scan = xr.Dataset(
        {
            "chi": (("size", "temperature"), obs["chi"][:, None]),
            "chi_err": (("size", "temperature"), obs["chi_err"][:, None]),
        },
        coords={"size": sizes, "temperature": [T]},
    )
    fit = fss_exponent(scan, "chi", T, confidence=confidence)
    a = fit.attrs
    return a["exponent"], a["exponent_err"], a["ci_low"], a["ci_high"]


def _mcrg(cfg: xr.DataArray, levels: int | None, seed: int) -> tuple[float, float, float, float]:
    from ..lattice import mcrg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mcrg(cfg, b=2, rule="majority", levels=levels, random_state=seed)
    a = res.attrs
    return a["y_t_estimate"], a["y_t_estimate_err"], a["y_h_estimate"], a["y_h_estimate_err"]


def judge_generated(
    generated: Any,
    reference: Any = None,
    *,
    label: str = "generated",
    temperature: float | None = None,
    mcrg_size: int | None = None,
    mcrg_levels: int | None = None,
    alpha: float = 0.01,
    confidence: float = 0.95,
    random_state: Any = 0,
) -> xr.Dataset:
    """Exact-physics verdict on generated critical 2D Ising ensembles (and MCMC ones).

    Parameters
    ----------
    generated : list or dict of xarray.DataArray
        Configurations ``(sample, y, x)`` at two or more sizes ``L`` (one
        ensemble per size, at least 16 samples each; 40 for the MCRG size).
    reference : list or dict of xarray.DataArray, optional
        MCMC ensembles at the same sizes, judged by the same checks and
        compared with the generated ones size by size.
    label : str
        Name of the generated source in the result (e.g. the model), not
        ``"mcmc"``.
    temperature : float, optional
        Temperature of the ensembles (default ``T_c = 2 / ln(1 + sqrt 2)``);
        the exponent and Binder targets are those of ``T_c``. An ensemble
        whose ``temperature`` attr differs is warned about and recorded in
        attrs ``temperature_mismatch``.
    mcrg_size : int, optional
        Size whose ensemble goes through MCRG (default the largest).
    mcrg_levels : int, optional
        MCRG block levels (default: down to side 4).
    alpha : float
        Family-wise false-alarm rate of each check (Bonferroni over its
        comparisons).
    confidence : float
        Confidence level of the ``gamma/nu`` interval.
    random_state : int
        Seeds MCRG's tie-breaking coins.

    Returns
    -------
    xarray.Dataset
        dims ``source`` (*label* and, with *reference*, ``"mcmc"``),
        ``size`` and ``check``. Per (source, size): ``energy``,
        ``abs_magnetization``, ``specific_heat``, ``chi``, ``binder_v4``
        with ``_err``, ``n_samples``, and the z-scores ``energy_z``,
        ``specific_heat_z`` (against Kaufman) and ``binder_v4_z``. Per size:
        ``energy_exact``, ``specific_heat_exact`` (Kaufman) and, with a
        reference, ``<observable>_z_vs_mcmc`` (generated minus MCMC over the
        combined error). Per source: ``gamma_nu`` with ``_err``, ``_ci_low``,
        ``_ci_high``, ``_z``; ``specific_heat_slope`` (of ``c`` against
        ``ln L``) with ``_err``, ``_z``; ``y_t``, ``y_h`` with ``_err``,
        ``_z``. Per (source, check): ``passed`` (1/0) with the threshold
        ``z_threshold`` per check. 0-d targets ``gamma_nu_exact``,
        ``binder_v4_exact``, ``y_t_exact``, ``y_h_exact``,
        ``specific_heat_slope_exact`` (of Kaufman's values at these sizes).
        attrs: ``verdict_generated`` / ``verdict_mcmc`` (``"reproduces
        critical Ising"`` or ``"fails: <checks>"``), ``failed_generated`` /
        ``failed_mcmc`` (comma-separated), ``label``,
        ``matches_mcmc`` (1/0, every ``|z_vs_mcmc|`` below its threshold),
        ``temperature``, ``alpha``, ``mcrg_size``, ``temperature_mismatch``.

    Examples
    --------
    >>> import rgdata
    >>> from rgdata.lattice import exact
    >>> mcmc = [rgdata.lattice.sample_ising(L, exact.TC_2D, 200, random_state=L)
    ...         for L in (8, 16)]
    >>> res = judge_generated(mcmc)
    >>> sorted(res.check.values.tolist())[:2]
    ['binder_v4', 'energy']
    """
    from ..lattice import exact

    T = exact.TC_2D
    if temperature is not None:
        T = check_real(temperature, "temperature", min_value=0, strict_min=True)
    alpha = check_real(alpha, "alpha", min_value=0, max_value=0.5, strict_min=True)
    if not isinstance(label, str) or not label or label == "mcmc":
        raise ValueError(f"label must be a non-empty string other than 'mcmc', got {label!r}")
    sources = {"generated": _ensembles(generated, "generated")}
    if reference is not None:
        sources["mcmc"] = _ensembles(reference, "reference")
        if list(sources["mcmc"]) != list(sources["generated"]):
            raise ValueError(
                f"reference must hold the sizes of generated {list(sources['generated'])}, "
                f"got {list(sources['mcmc'])}"
            )
    sizes = list(sources["generated"])
    if len(sizes) < 2:
        raise ValueError(f"generated must hold at least 2 sizes for gamma/nu, got {sizes}")
    m_size = sizes[-1] if mcrg_size is None else int(mcrg_size)
    if m_size not in sizes:
        raise ValueError(f"mcrg_size must be one of the sizes {sizes}, got {mcrg_size}")
    mismatch = [
        f"{name} L={L}: {cfg.attrs['temperature']}"
        for name, ens in sources.items()
        for L, cfg in ens.items()
        if "temperature" in cfg.attrs and abs(float(cfg.attrs["temperature"]) - T) > 1e-6
    ]
    if mismatch:
        warn_user(
            f"judge_generated: ensembles at another temperature than T={T:.6f} ({mismatch}); "
            "judged at T anyway (attrs temperature_mismatch)"
        )

    L_arr = np.asarray(sizes, dtype=float)
    e_exact = np.array([exact.energy_per_site(T, L) for L in sizes])
    c_exact = np.array([exact.specific_heat_per_site(T, L) for L in sizes])
    slope_exact = float(np.polyfit(np.log(L_arr), c_exact, 1)[0])
    n_src = len(sources)
    per_size = {k: np.full((n_src, len(sizes)), np.nan) for k in _PER_SIZE}
    per_size.update({f"{k}_err": np.full((n_src, len(sizes)), np.nan) for k in _PER_SIZE})
    per_size["n_samples"] = np.zeros((n_src, len(sizes)), dtype=np.int64)
    scalars = {
        k: np.full(n_src, np.nan)
        for k in (
            "gamma_nu",
            "gamma_nu_err",
            "gamma_nu_ci_low",
            "gamma_nu_ci_high",
            "specific_heat_slope",
            "specific_heat_slope_err",
            "y_t",
            "y_t_err",
            "y_h",
            "y_h_err",
        )
    }
    for i, ens in enumerate(sources.values()):
        obs = _observables(ens, T)
        for k in per_size:
            per_size[k][i] = obs[k]
        g = _gamma_nu(sizes, obs, T, confidence)
        for k, v in zip(("", "_err", "_ci_low", "_ci_high"), g, strict=True):
            scalars[f"gamma_nu{k}"][i] = v
        b, b_err = _log_slope(L_arr, obs["specific_heat"], obs["specific_heat_err"])
        scalars["specific_heat_slope"][i], scalars["specific_heat_slope_err"][i] = b, b_err
        yt, yt_err, yh, yh_err = _mcrg(ens[m_size], mcrg_levels, int(random_state))
        scalars["y_t"][i], scalars["y_t_err"][i] = yt, yt_err
        scalars["y_h"][i], scalars["y_h_err"][i] = yh, yh_err

    z = {
        "energy_z": (per_size["energy"] - e_exact) / per_size["energy_err"],
        "specific_heat_z": (per_size["specific_heat"] - c_exact) / per_size["specific_heat_err"],
        "binder_v4_z": (per_size["binder_v4"] - BINDER_V4_CRITICAL) / per_size["binder_v4_err"],
    }
    zs = {
        "gamma_nu_z": (scalars["gamma_nu"] - GAMMA_NU) / scalars["gamma_nu_err"],
        "specific_heat_slope_z": (scalars["specific_heat_slope"] - slope_exact)
        / scalars["specific_heat_slope_err"],
        "y_t_z": (scalars["y_t"] - Y_T) / scalars["y_t_err"],
        "y_h_z": (scalars["y_h"] - Y_H) / scalars["y_h_err"],
    }
    comparisons = {
        "gamma_nu": (zs["gamma_nu_z"][:, None],),
        "binder_v4": (z["binder_v4_z"],),
        "energy": (z["energy_z"],),
        "specific_heat_slope": (zs["specific_heat_slope_z"][:, None],),
        "y_t": (zs["y_t_z"][:, None],),
        "y_h": (zs["y_h_z"][:, None],),
    }
    thresholds = np.array(
        [stats.norm.ppf(1 - alpha / (2 * comparisons[c][0].shape[1])) for c in _CHECKS]
    )
    passed = np.zeros((n_src, len(_CHECKS)), dtype=np.int64)
    for j, c in enumerate(_CHECKS):
        vals = comparisons[c][0]
        passed[:, j] = np.all(np.abs(vals) <= thresholds[j], axis=1) & np.all(
            np.isfinite(vals), axis=1
        )

    dims2 = ("source", "size")
    data: dict[str, Any] = {k: (dims2, v) for k, v in per_size.items()}
    data.update({k: (dims2, v) for k, v in z.items()})
    data.update({k: ("source", v) for k, v in scalars.items()})
    data.update({k: ("source", v) for k, v in zs.items()})
    data["energy_exact"] = ("size", e_exact)
    data["specific_heat_exact"] = ("size", c_exact)
    data["passed"] = (("source", "check"), passed)
    data["z_threshold"] = ("check", thresholds)
    data["gamma_nu_exact"] = ((), GAMMA_NU)
    data["binder_v4_exact"] = ((), BINDER_V4_CRITICAL)
    data["y_t_exact"] = ((), Y_T)
    data["y_h_exact"] = ((), Y_H)
    data["specific_heat_slope_exact"] = ((), slope_exact)
    attrs: dict[str, Any] = {
        "temperature": T,
        "label": label,
        "alpha": alpha,
        "confidence": confidence,
        "mcrg_size": m_size,
        "temperature_mismatch": "; ".join(mismatch),
        "chi_definition": "L^2 (<m^2> - <|m|>^2)",
        "binder_v4_definition": "<m^4> / <m^2>^2 = 3 (1 - U)",
        "error_method": "jackknife of rgdata.lattice.ising_observables (autocorrelation-aware)",
        "pass_rule": "every |z| of the check below Phi^-1(1 - alpha / (2 m)), m comparisons",
    }
    if reference is not None:
        all_z = []
        for k in _PER_SIZE:
            zk = (per_size[k][0] - per_size[k][1]) / np.hypot(
                per_size[f"{k}_err"][0], per_size[f"{k}_err"][1]
            )
            data[f"{k}_z_vs_mcmc"] = ("size", zk)
            all_z.append(zk)
        flat = np.concatenate(all_z)
        limit = stats.norm.ppf(1 - alpha / (2 * flat.size))
        attrs["matches_mcmc"] = int(bool(np.all(np.isfinite(flat) & (np.abs(flat) <= limit))))
        attrs["z_vs_mcmc_threshold"] = float(limit)
    for i, name in enumerate(sources):
        failed = [c for j, c in enumerate(_CHECKS) if not passed[i, j]]
        attrs[f"failed_{name}"] = ", ".join(failed)
        attrs[f"verdict_{name}"] = (
            "reproduces critical Ising" if not failed else "fails: " + ", ".join(failed)
        )
    ds = xr.Dataset(
        data,
        coords={
            "source": [label if s == "generated" else s for s in sources],
            "size": sizes,
            "check": list(_CHECKS),
        },
        attrs=attrs,
    )
    for name in ds.data_vars:
        ds[name].attrs.setdefault("units", "1")
    return ds
