"""Plots for lattice results: observables vs T, Binder crossings, FSS fits,
scaling collapses, block-spin snapshots and MCRG exponent tables.

Every function takes results computed elsewhere (``rgdata.lattice``) and an
optional ``ax``; nothing here fits or measures.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_dataset, check_real, describe
from ._axes import get_axes, new_figure

__all__ = [
    "plot_lattice_observable",
    "plot_binder_crossings",
    "plot_fss_fit",
    "plot_scaling_collapse",
    "plot_block_snapshots",
    "plot_mcrg_exponents",
    "plot_prg_variance",
    "plot_block_coupling_flow",
]

_LABELS = {
    "energy": "energy per site $u$",
    "abs_magnetization": r"$\langle |m| \rangle$",
    "m2": r"$\langle m^2 \rangle$",
    "specific_heat": "specific heat per site $c$",
    "susceptibility": r"susceptibility $\chi$",
    "susceptibility_m2": r"$N\langle m^2\rangle/T$",
    "binder": "Binder cumulant $U$",
}


def plot_lattice_observable(
    ds: xr.Dataset,
    name: str = "energy",
    *,
    reference: xr.Dataset | None = None,
    reference_label: str = "exact",
    ax: Any = None,
):
    """An observable against temperature, one curve per size, with error bars.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`rgdata.lattice.scan_observables` (dims ``size``,
        ``temperature``).
    name : str
        Observable.
    reference : xarray.Dataset, optional
        Exact curves holding *name* on a (finer) temperature grid: dims
        ``(size, temperature)`` (e.g. Kaufman's result per size, drawn in the
        size's colour) or ``temperature`` only (infinite lattice, black).
    reference_label : str
        Legend text for the reference.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    ds = check_dataset(ds, (name, f"{name}_err"), "ds")
    fig, ax = get_axes(ax)
    colors = {}
    for L in ds["size"].values:
        sub = ds.sel(size=L)
        ok = np.isfinite(sub[name].values)
        line = ax.errorbar(
            sub["temperature"].values[ok],
            sub[name].values[ok],
            yerr=sub[f"{name}_err"].values[ok],
            fmt="o",
            ms=3,
            capsize=2,
            label=f"L = {L}",
        )
        colors[L] = line[0].get_color()
    if reference is not None:
        reference = check_dataset(reference, (name,), "reference")
        ref = reference[name]
        if "size" in ref.dims:
            for i, L in enumerate(ref["size"].values):
                ax.plot(
                    ref["temperature"].values,
                    ref.sel(size=L).values,
                    "-",
                    lw=1,
                    color=colors.get(L, "k"),
                    label=reference_label if i == 0 else None,
                )
        else:
            ax.plot(ref["temperature"].values, ref.values, "k-", lw=1, label=reference_label)
    ax.set_xlabel("temperature $T$ (units of $J$)")
    ax.set_ylabel(_LABELS.get(name, name))
    ax.legend(fontsize=8)
    return fig


def plot_binder_crossings(
    ds: xr.Dataset,
    crossings: xr.Dataset | None = None,
    *,
    critical_temperature: float | None = None,
    ax: Any = None,
):
    """Binder cumulant curves with their crossings and, optionally, the exact ``T_c``.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`rgdata.lattice.scan_observables`.
    crossings : xarray.Dataset, optional
        From :func:`rgdata.lattice.binder_crossings`; crossing points are
        drawn with their error bars.
    critical_temperature : float, optional
        A vertical reference line (e.g. Onsager's ``T_c``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = plot_lattice_observable(ds, "binder", ax=ax)
    ax = fig.axes[0] if ax is None else ax
    if crossings is not None:
        crossings = check_dataset(
            crossings, ("crossing_temperature", "crossing_value"), "crossings"
        )
        ax.errorbar(
            crossings["crossing_temperature"].values,
            crossings["crossing_value"].values,
            xerr=crossings["crossing_temperature_err"].values,
            yerr=crossings["crossing_value_err"].values,
            fmt="kx",
            ms=7,
            capsize=3,
            label="crossings",
        )
    if critical_temperature is not None:
        ax.axvline(critical_temperature, color="0.4", ls="--", lw=1, label="exact $T_c$")
    ax.legend(fontsize=8)
    return fig


def plot_fss_fit(fit: xr.Dataset, *, ax: Any = None):
    """Log-log plot of an observable against ``L`` with its power-law fit.

    Parameters
    ----------
    fit : xarray.Dataset
        From :func:`rgdata.lattice.fss_exponent`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fit = check_dataset(fit, ("value", "value_err", "fitted"), "fit")
    fig, ax = get_axes(ax)
    L = fit["size"].values
    a = fit.attrs
    ax.errorbar(L, fit["value"], yerr=fit["value_err"], fmt="o", capsize=3, label="data")
    ax.plot(
        L,
        fit["fitted"],
        "-",
        label=f"slope {a['exponent']:.3f} ± {a['exponent_err']:.3f} "
        f"({a['confidence']:.0%} CI [{a['ci_low']:.3f}, {a['ci_high']:.3f}])",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("linear size $L$")
    ax.set_ylabel(f"{_LABELS.get(a['observable'], a['observable'])} at T = {a['temperature']:.4f}")
    ax.legend(fontsize=8)
    return fig


def plot_scaling_collapse(collapse: xr.Dataset, *, ax: Any = None):
    """Rescaled curves ``y = O L^-a`` against ``x = (T - T_c) L^(1/nu)``.

    Parameters
    ----------
    collapse : xarray.Dataset
        From :func:`rgdata.lattice.scaling_collapse`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    collapse = check_dataset(collapse, ("x", "y", "y_err"), "collapse")
    fig, ax = get_axes(ax)
    for L in collapse["size"].values:
        sub = collapse.sel(size=L)
        ax.errorbar(sub["x"], sub["y"], yerr=sub["y_err"], fmt="o-", ms=3, lw=0.8, label=f"L={L}")
    a = collapse.attrs
    ax.set_xlabel(r"$(T - T_c) L^{1/\nu}$")
    ax.set_ylabel(f"{a['observable']} $L^{{-a}}$")
    ax.set_title(
        f"Tc={a['critical_temperature']:.4f}, nu={a['nu']:.3f}, a={a['exponent']:.3f}: "
        f"quality S={a['quality']:.2f}",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    return fig


def plot_block_snapshots(levels: list[xr.DataArray], *, sample: int = 0, fig: Any = None):
    """One configuration across block-spin levels, side by side.

    Parameters
    ----------
    levels : list of xarray.DataArray
        From :func:`rgdata.lattice.block_spin_levels` (2D; 3D shows the
        ``z = 0`` slice).
    sample : int
        Which sample to show.
    fig : matplotlib Figure, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(levels, list | tuple) or not levels:
        raise TypeError(
            f"levels must be a non-empty list of Configurations, got {describe(levels)}"
        )
    if fig is None:
        fig = new_figure(figsize=(2.6 * len(levels), 2.8))
    axes = fig.subplots(1, len(levels), squeeze=False)[0]
    for i, (ax, cfg) in enumerate(zip(axes, levels, strict=True)):
        img = cfg.values[sample]
        if img.ndim == 3:
            img = img[0]
        ax.imshow(img, cmap="gray_r", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(
            f"level {cfg.attrs.get('block_level', i)}: {img.shape[0]}x{img.shape[1]}", fontsize=9
        )
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def plot_mcrg_exponents(res: xr.Dataset, *, fig: Any = None):
    """MCRG ``y_t`` and ``y_h`` against the number of operators, one line per level.

    Parameters
    ----------
    res : xarray.Dataset
        From :func:`rgdata.lattice.mcrg`; its attrs ``y_t_exact`` and
        ``y_h_exact`` are drawn as dashed lines.
    fig : matplotlib Figure, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    res = check_dataset(res, ("y_t", "y_t_err", "y_h", "y_h_err"), "res")
    if fig is None:
        fig = new_figure(figsize=(9, 3.8))
    axes = fig.subplots(1, 2)
    for ax, (y, k, exact) in zip(
        axes, (("y_t", "n_even", "y_t_exact"), ("y_h", "n_odd", "y_h_exact")), strict=True
    ):
        for lev in res["level"].values:
            ax.errorbar(
                res[k].values,
                res[y].sel(level=lev).values,
                yerr=res[f"{y}_err"].sel(level=lev).values,
                fmt="o-",
                ms=4,
                capsize=3,
                label=f"level {lev}",
            )
        if exact in res.attrs:
            ax.axhline(
                res.attrs[exact], color="k", ls="--", lw=1, label=f"exact {res.attrs[exact]:.4g}"
            )
        ax.set_xlabel("operators kept")
        ax.set_ylabel(f"${y[0]}_{y[2]}$")
        ax.legend(fontsize=8)
    fig.suptitle(
        f"MCRG, b={res.attrs.get('b')} {res.attrs.get('rule')}, L={res.attrs.get('size')}, "
        f"{res.attrs.get('n_samples')} samples",
        fontsize=10,
    )
    return fig


def plot_prg_variance(res: xr.Dataset, *, expected: float | None = None, ax: Any = None):
    """PRG variance of coarse-grained spins against cluster size, data and nulls.

    Parameters
    ----------
    res : xarray.Dataset
        From :func:`rgdata.diagnostics.run_with_nulls` (dims ``null``,
        ``level``; coordinate ``cluster_size``; ``exponent`` table).
    expected : float, optional
        A reference slope (e.g. ``1 + (2 - eta)/d``), drawn through the
        data's first point.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    res = check_dataset(res, ("variance",), "res")
    fig, ax = get_axes(ax)
    K = res["cluster_size"].values
    for null in res["null"].values:
        var = res["variance"].sel(null=null).values
        label = str(null)
        if "exponent" in res:
            a = float(res["exponent"].sel(null=null, exponent_name="alpha"))
            label += f" (alpha = {a:.3f})"
        ax.plot(K, var, "o-", ms=4, label=label)
    if expected is not None:
        v0 = res["variance"].sel(null=res["null"].values[0]).values[0]
        ax.plot(K, v0 * K**expected, "k--", lw=1, label=f"slope {expected:.3f}")
        ax.plot(K, v0 * K, ":", color="0.5", lw=1, label="slope 1 (independent)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("cluster size K")
    ax.set_ylabel("variance of coarse-grained variable")
    ax.legend(fontsize=8)
    return fig


def plot_block_coupling_flow(
    flows: list[xr.Dataset],
    fit: xr.Dataset | None = None,
    *,
    couplings: str | tuple[str, ...] = ("nn", "nnn"),
    critical_coupling: float | None = None,
    fig: Any = None,
):
    """Block-spin couplings across levels at several temperatures, with the fitted fixed point.

    Left: ``K_nn`` against level, one line per temperature. Right: the flow in
    the plane of two couplings (arrows from each level to the next) when
    *fit* acts on two couplings or none is given, or ``K^(l+1)`` against
    ``K^(l)`` with the diagonal and the fitted map when *fit* is a
    one-parameter projection.

    Parameters
    ----------
    flows : list of xarray.Dataset
        From :func:`rgdata.lattice.block_coupling_flow` (one per temperature).
    fit : xarray.Dataset, optional
        From :func:`rgdata.lattice.fit_block_flow`: its fixed point is marked
        with error bars.
    couplings : str or sequence of one or two str
        Couplings held by the flows: the first is drawn against level; two
        give the flow plane when *fit* is None (default nearest and
        next-nearest neighbour), one the map ``K^(l+1)`` against ``K^(l)``.
        With a *fit*, the right panel shows the couplings it fitted.
    critical_coupling : float, optional
        ``K_c`` of the original lattice, drawn at level 0 for reference.
    fig : matplotlib Figure, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        *flows* is not a non-empty list of datasets; *couplings* not names.
    ValueError
        *couplings* empty, longer than two, repeated, or not held by every flow.
    """
    if not isinstance(flows, list | tuple) or not flows:
        raise TypeError(
            f"flows must be a non-empty list of block_coupling_flow results, got {describe(flows)}"
        )
    for f in flows:
        check_dataset(f, ("couplings", "couplings_err"), "flows[i]")
    if fit is not None:
        check_dataset(fit, ("fixed_points", "params", "K_star", "K_star_err"), "fit")
    available = [str(c) for c in flows[0]["coupling"].values]
    accepted = f"one or two distinct names out of {available}"
    if isinstance(couplings, str):
        couplings = (couplings,)
    if not isinstance(couplings, list | tuple) or not all(isinstance(c, str) for c in couplings):
        raise TypeError(f"couplings must be {accepted}, got {describe(couplings)}")
    if not 1 <= len(couplings) <= 2 or len(set(couplings)) != len(couplings):
        raise ValueError(f"couplings must be {accepted}, got {list(couplings)}")
    for i, f in enumerate(flows):
        missing = [c for c in couplings if c not in f["coupling"].values]
        if missing:
            raise ValueError(
                f"flows[{i}] has no coupling(s) {missing}; couplings must be {accepted}"
            )
    if critical_coupling is not None:
        critical_coupling = check_real(critical_coupling, "critical_coupling")
    if fig is None:
        fig = new_figure(figsize=(10, 4.2))
    ax_lev, ax_flow = fig.subplots(1, 2)
    first = couplings[0]
    names = [str(n) for n in fit["parameter"].values] if fit is not None else list(couplings)
    fp = fp_err = None
    if fit is not None and np.all(np.isfinite(fit["K_star"].values)):
        fp, fp_err = fit["K_star"].values, fit["K_star_err"].values
    colors = [f"C{i}" for i in range(len(flows))]
    for f, c in zip(flows, colors, strict=True):
        T = f.attrs.get("temperature")
        label = f"T = {T:.4f}" if T is not None else None
        k = f["couplings"].sel(coupling=first)
        ax_lev.errorbar(
            f["level"].values,
            k.values,
            yerr=f["couplings_err"].sel(coupling=first).values,
            fmt="o-",
            ms=4,
            capsize=3,
            color=c,
            label=label,
        )
    if critical_coupling is not None:
        ax_lev.plot([0], [critical_coupling], "k*", ms=10, label=f"$K_c$ = {critical_coupling:.4f}")
    if fp is not None and first in names:
        i = names.index(first)
        ax_lev.axhspan(fp[i] - fp_err[i], fp[i] + fp_err[i], color="0.85")
        ax_lev.axhline(fp[i], color="k", ls="--", lw=1, label=f"$K^*_{{{first}}}$ = {fp[i]:.3f}")
    ax_lev.set_xticks(flows[0]["level"].values)
    ax_lev.set_xlabel("block level")
    ax_lev.set_ylabel(f"$K_{{{first}}}$")
    ax_lev.legend(fontsize=7)
    if len(names) == 1:
        name = names[0]
        for f, c in zip(flows, colors, strict=True):
            k = f["couplings"].sel(coupling=name).values
            ax_flow.plot(k[:-1], k[1:], "o", color=c, ms=4)
        if fit is not None and "map_x" in fit:
            ax_flow.plot(fit["map_x"], fit["map_y"], "k-", lw=1, label="fitted map")
        lo, hi = ax_flow.get_xlim()
        ax_flow.plot([lo, hi], [lo, hi], ":", color="0.5", lw=1, label="diagonal")
        if fp is not None:
            ax_flow.errorbar(fp[0], fp[0], xerr=fp_err[0], fmt="ks", ms=6, label="fixed point")
        ax_flow.set_xlabel(f"$K_{{{name}}}^{{(l)}}$")
        ax_flow.set_ylabel(f"$K_{{{name}}}^{{(l+1)}}$")
    else:
        a, b = names[:2] if len(names) >= 2 else couplings
        for f, c in zip(flows, colors, strict=True):
            x = f["couplings"].sel(coupling=a).values
            y = f["couplings"].sel(coupling=b).values
            ax_flow.plot(x, y, "o", color=c, ms=4)
            for j in range(len(x) - 1):
                if np.all(np.isfinite([x[j], y[j], x[j + 1], y[j + 1]])):
                    ax_flow.annotate(
                        "",
                        xy=(x[j + 1], y[j + 1]),
                        xytext=(x[j], y[j]),
                        arrowprops={"arrowstyle": "->", "color": c, "lw": 1},
                    )
        if fp is not None and a in names and b in names:
            ia, ib = names.index(a), names.index(b)
            ax_flow.errorbar(
                fp[ia],
                fp[ib],
                xerr=fp_err[ia],
                yerr=fp_err[ib],
                fmt="ks",
                ms=6,
                capsize=3,
                label="fixed point $K^*$",
            )
        ax_flow.set_xlabel(f"$K_{{{a}}}$")
        ax_flow.set_ylabel(f"$K_{{{b}}}$")
    if fit is not None or len(names) == 1:
        ax_flow.legend(fontsize=7)
    return fig
