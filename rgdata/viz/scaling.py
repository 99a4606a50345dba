"""Plots for real-space PRG results: scaling with K, spectra and autocorrelation
collapses, distributions across levels, exponent tables with nulls.

Every function takes a result from :func:`rgdata.coarse.prg` (with fits from
:func:`rgdata.diagnostics.fit_exponents`) or from
:func:`rgdata.diagnostics.run_with_nulls` / :func:`~rgdata.diagnostics.bin_width_sweep`,
draws the stored numbers and never fits anything itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_option, describe
from ..diagnostics._fit_dataset import exponent_fit
from ._axes import get_axes, new_figure

__all__ = [
    "plot_scaling",
    "plot_eigenvalue_collapse",
    "spectrum_levels",
    "plot_autocorrelation_collapse",
    "plot_distribution_flow",
    "plot_exponent_table",
]

_SYMBOL = {"variance": "alpha", "silence_free_energy": "beta", "eigenvalues": "mu", "tau_c": "z"}
_GREEK = {"alpha": "α̃", "beta": "β̃", "mu": "μ", "z": "z̃"}
_YLABEL = {
    "variance": "variance of cluster sum",
    "silence_free_energy": "free energy  −ln P(silence)",
    "tau_c": "autocorrelation time τc (samples)",
}


def _check(result: Any, name: str = "result") -> xr.Dataset:
    if not isinstance(result, xr.Dataset):
        raise TypeError(
            f"{name} must be an xarray.Dataset from rgdata.coarse.prg or "
            f"rgdata.diagnostics.run_with_nulls, got {describe(result)}"
        )
    return result


def _fit(ds: xr.Dataset, sym: str) -> xr.Dataset | None:
    """The stored fit of *sym* in one run (``None`` when it was not fitted)."""
    if "null" in ds.dims:
        ds = ds.sel(null="data")
    if "exponent_quantity" not in ds or sym not in ds["exponent_name"].values:
        return None
    fit = exponent_fit(ds, sym)
    return fit if fit.attrs["quantity"] else None


def _runs(result: xr.Dataset, nulls: Any) -> list[tuple[str, xr.Dataset]]:
    if "null" not in result.dims:
        return [("data", result)]
    names = list(result["null"].values)
    if nulls is None:
        chosen = names
    else:
        chosen = ["data", *[n for n in ([nulls] if isinstance(nulls, str) else nulls)]]
        unknown = [n for n in chosen if n not in names]
        if unknown:
            raise ValueError(f"nulls {unknown} not in result; available: {names}")
    return [(n, result.sel(null=n)) for n in chosen]


def _label(name: str, fit: xr.Dataset | None, n_draws: int | None = None) -> str:
    """Legend entry: the exponent and its interval (for a null: mean and band of draws)."""
    if fit is None or not np.isfinite(float(fit["exponent"])):
        status = fit.attrs["status"] if fit is not None else "no fit stored"
        return f"{name} ({status})"
    sym = _GREEK[fit.attrs["exponent_name"]]
    lo, hi = float(fit["ci_low"]), float(fit["ci_high"])
    ci = ""
    if np.isfinite(lo):
        if n_draws is not None:
            pct = f"95% prediction band of {n_draws} draws"
        elif fit.attrs["ci_method"] == "t":
            pct = f"{100 * float(fit['ci_level']):.0f}% CI"
        else:
            pct = "±1 block sd"
        ci = f" [{lo:.3f}, {hi:.3f}] ({pct})"
    return f"{name}: {sym} = {float(fit['exponent']):.3f}{ci}"


def _run_fit(ds: xr.Dataset, name: str, sym: str) -> tuple[xr.Dataset | None, float]:
    """Fit of one run of :func:`_runs` and the slope of the run shown.

    For a null, ``exponent`` is the mean over draws while the plotted points
    and ``intercept`` are those of its first draw, whose own exponent is
    ``null_exponent.sel(draw=0)``.
    """
    if "exponent_quantity" not in ds or sym not in ds["exponent_name"].values:
        return None, float("nan")
    fit = exponent_fit(ds, sym)
    if not fit.attrs["quantity"]:
        return None, float("nan")
    slope = float(fit["exponent"])
    if name != "data" and "null_exponent" in ds:
        slope = float(ds["null_exponent"].sel(draw=0, exponent_name=sym))
    return fit, slope


def plot_scaling(
    result: xr.Dataset,
    quantity: str = "variance",
    *,
    ax: Any = None,
    nulls: Any = None,
) -> Any:
    """Log-log plot of a PRG quantity against cluster size K, with fits and nulls.

    Parameters
    ----------
    result : xarray.Dataset
        :func:`rgdata.coarse.prg` output with :func:`fit_exponents` variables, or
        :func:`run_with_nulls` output (``null`` dim).
    quantity : {"variance", "silence_free_energy", "tau_c", "eigenvalues"}
        ``"eigenvalues"`` draws :func:`plot_eigenvalue_collapse`.
    ax : matplotlib Axes, optional
    nulls : str or sequence of str, optional
        With a ``null`` dim: which nulls to overlay (default all; ``()`` none).

    Returns
    -------
    matplotlib.figure.Figure
        Points are the full-recording values, error bars the standard
        deviation across time blocks; lines are the stored fits over their
        K range (for a null, the fit of its first draw, whose points are
        drawn); the legend gives each exponent with its CI (for a null, the
        mean and 95 % prediction band over its draws).
    """
    result = _check(result)
    check_option(quantity, "quantity", tuple(_SYMBOL))
    if quantity == "eigenvalues":
        return plot_eigenvalue_collapse(result, ax=ax)
    fig, ax = get_axes(ax)
    sym = _SYMBOL[quantity]
    n_draws = result.sizes.get("draw")
    for i, (name, ds) in enumerate(_runs(result, nulls)):
        k = ds["cluster_size"].values.astype(float)
        y = ds[quantity].values
        err = ds[f"{quantity}_blocks"].std("block", ddof=1).values
        color = f"C{i}"
        data = name == "data"
        ax.errorbar(
            k,
            y,
            yerr=err,
            fmt="o" if data else "s",
            mfc=color if data else "none",
            color=color,
            ms=5,
            capsize=2,
            lw=1,
        )
        fit, slope = _run_fit(ds, name, sym)
        label = _label(name, fit, None if data else n_draws)
        if fit is not None and np.isfinite(slope):
            kk = np.geomspace(float(fit["k_min"]), float(fit["k_max"]), 50)
            ax.plot(
                kk,
                np.exp(float(fit["intercept"])) * kk**slope,
                color=color,
                ls="-" if data else "--",
                lw=1.2,
                label=label,
            )
        else:
            ax.plot([], [], color=color, label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("cluster size K")
    ax.set_ylabel(_YLABEL[quantity])
    ax.legend(fontsize=7, loc="best")
    return fig


def _level_colors(n: int):
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(x) for x in np.linspace(0.0, 0.9, max(n, 1))]


def spectrum_levels(result: xr.Dataset, k_min: int = 2) -> list[int]:
    """Levels whose cluster spectra :func:`plot_eigenvalue_collapse` draws.

    Those with clusters of at least *k_min* units and at least one finite
    eigenvalue (the data's, when *result* has a ``null`` dim), so captions can
    name exactly the spectra the figure shows.
    """
    if "null" in result.dims:
        result = result.sel(null="data")
    sizes = result["cluster_size"].values
    return [
        i
        for i, k in enumerate(sizes)
        if k >= k_min and np.any(np.isfinite(result["eigenvalues"][i].values))
    ]


def plot_eigenvalue_collapse(result: xr.Dataset, *, ax: Any = None, k_min: int = 2) -> Any:
    """Rank-ordered cluster covariance spectra against ``rank / K``, one line per K.

    A power law ``eigenvalue ~ (rank / K) ** -mu`` shared by all levels is the
    collapse of Meshulam et al. 2019; the stored ``mu`` fit is drawn dashed.
    With a ``null`` dim only the data are drawn.

    Returns
    -------
    matplotlib.figure.Figure
    """
    result = _check(result)
    fit = _fit(result, "mu")
    if "null" in result.dims:
        result = result.sel(null="data")
    fig, ax = get_axes(ax)
    sizes = result["cluster_size"].values
    levels = spectrum_levels(result, k_min)
    for color, i in zip(_level_colors(len(levels)), levels, strict=True):
        k = int(sizes[i])
        ev = result["eigenvalues"][i].values[:k]
        ax.plot(np.arange(1, k + 1) / k, ev, "o-", color=color, ms=2.5, lw=0.8, label=f"K={k}")
    if fit is not None and np.isfinite(float(fit["exponent"])):
        xs = np.geomspace(1.0 / float(fit["k_max"]), 1.0, 50)
        ax.plot(xs, np.exp(float(fit["intercept"])) * xs ** (-float(fit["exponent"])), "k--", lw=1)
        ax.plot([], [], "k--", label=_label("fit", fit))
    if not levels:
        ax.text(0.5, 0.5, "no eigenvalues computed", transform=ax.transAxes, ha="center")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("rank / K")
    ax.set_ylabel("covariance eigenvalue")
    ax.legend(fontsize=7, ncol=2)
    return fig


def plot_autocorrelation_collapse(
    result: xr.Dataset, *, ax: Any = None, rescale: bool = True
) -> Any:
    """Cluster-averaged autocorrelation per level against ``lag / tau_c(K)``.

    With ``rescale=False`` against the lag in samples. A common curve after
    rescaling is the dynamic scaling of Meshulam et al.; ``tau_c(K)`` and its
    exponent are in the legend.

    Returns
    -------
    matplotlib.figure.Figure
    """
    result = _check(result)
    fit = _fit(result, "z")
    if "null" in result.dims:
        result = result.sel(null="data")
    fig, ax = get_axes(ax)
    sizes = result["cluster_size"].values
    lag = result["lag"].values.astype(float)
    for color, i in zip(_level_colors(sizes.size), range(sizes.size), strict=True):
        c = result["autocorrelation"][i].values
        tau = float(result["tau_c"][i])
        if rescale and not (np.isfinite(tau) and tau > 0):
            continue
        x = lag / tau if rescale else lag
        ax.plot(x, c, color=color, lw=1, label=f"K={int(sizes[i])}, τc={tau:.2f}")
    ax.axhline(np.exp(-1), color="0.5", lw=0.6, ls=":")
    if fit is not None:
        ax.plot([], [], " ", label=_label("data", fit))
    if rescale:
        ax.set_xlim(0, 5)
    ax.set_xlabel("lag / τc(K)" if rescale else "lag (samples)")
    ax.set_ylabel("autocorrelation C(t)")
    ax.legend(fontsize=7)
    return fig


def plot_distribution_flow(result: xr.Dataset, *, ax: Any = None) -> Any:
    """Density of the normalized coarse-grained variables at every level.

    For ``nonzero_mean`` normalization the exact zeros (silence) are not part
    of the curve; their probability is in the legend.

    Returns
    -------
    matplotlib.figure.Figure
    """
    result = _check(result)
    if "null" in result.dims:
        result = result.sel(null="data")
    fig, ax = get_axes(ax)
    sizes = result["cluster_size"].values
    x = result["bin_center"].values
    for color, i in zip(_level_colors(sizes.size), range(sizes.size), strict=True):
        d = result["distribution"][i].values
        p0 = float(result["zero_fraction"][i])
        label = f"K={int(sizes[i])}" + (f", P(0)={p0:.2f}" if np.isfinite(p0) else "")
        ax.plot(x, np.where(d > 0, d, np.nan), ".-", color=color, lw=1, ms=3, label=label)
    ax.set_yscale("log")
    norm = result.attrs.get("normalization", "")
    ax.set_xlabel("normalized activity (non-zero values)" if norm == "nonzero_mean" else "z-score")
    ax.set_ylabel("density")
    ax.legend(fontsize=7, ncol=2)
    return fig


def plot_exponent_table(result: xr.Dataset, *, ax: Any = None) -> Any:
    """Exponents with their CIs across nulls (or bin widths), one panel per exponent.

    Parameters
    ----------
    result : xarray.Dataset
        From :func:`run_with_nulls` (``null`` dim), :func:`bin_width_sweep`
        (``bin_factor`` dim) or :func:`fit_exponents` (one row, ``data``),
        holding ``exponent``, ``exponent_ci_low``, ``exponent_ci_high`` over
        ``exponent_name``.
    ax : sequence of matplotlib Axes, optional
        One per fitted exponent.

    Returns
    -------
    matplotlib.figure.Figure
        Reference lines mark the independent-units values (alpha = beta = 1).
    """
    result = _check(result)
    if "exponent" not in result or "exponent_name" not in result.dims:
        raise ValueError(
            "result has no 'exponent' table; use fit_exponents, run_with_nulls or "
            "bin_width_sweep output"
        )
    if result["exponent"].dims == ("exponent_name",):  # one run, from fit_exponents
        result = result.expand_dims(run=["data"])
    cond = next(d for d in result["exponent"].dims if d != "exponent_name")
    names = [
        s
        for s in result["exponent_name"].values
        if np.any(np.isfinite(result["exponent"].sel(exponent_name=s)))
    ]
    if ax is None:
        fig = new_figure(figsize=(2.6 * max(len(names), 1), 3.0))
        axes = [fig.add_subplot(1, max(len(names), 1), i + 1) for i in range(len(names))]
    else:
        axes = list(np.atleast_1d(ax))
        if len(axes) != len(names):
            raise ValueError(f"ax must hold {len(names)} axes (one per exponent), got {len(axes)}")
        fig = axes[0].figure
    labels = [str(v) for v in result[cond].values]
    ypos = np.arange(len(labels))[::-1]
    for a, s in zip(axes, names, strict=True):
        e = result["exponent"].sel(exponent_name=s).values
        lo = result["exponent_ci_low"].sel(exponent_name=s).values
        hi = result["exponent_ci_high"].sel(exponent_name=s).values
        for j, y in enumerate(ypos):
            a.errorbar(
                e[j],
                y,
                xerr=[[max(e[j] - lo[j], 0)], [max(hi[j] - e[j], 0)]]
                if np.isfinite(lo[j])
                else None,
                fmt="o",
                color=f"C{j}",
                capsize=3,
            )
        if s in ("alpha", "beta"):
            a.axvline(1.0, color="0.6", lw=0.8, ls=":")
        a.set_yticks(ypos)
        a.set_yticklabels(labels if a is axes[0] else [])
        a.set_title(_GREEK[s])
    if axes:
        axes[0].set_ylabel(cond)
    return fig
