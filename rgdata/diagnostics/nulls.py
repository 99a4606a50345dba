"""Null models for real-space PRG, run through the same pipeline in one call.

* :func:`surrogate` destroys chosen correlations of an Activity:
  ``"shuffle"`` (each unit's bins permuted independently: no correlations
  between units or in time; independent units give ``alpha = beta = 1``),
  ``"circular_shift"`` (each unit shifted circularly by its own random lag:
  keeps each unit's autocorrelation, breaks the alignment between units),
  ``"trial_shuffle"`` (for repeated trials: each unit's trials permuted
  independently, keeping only stimulus-locked correlations).
* ``"random_pairing"`` keeps the data and pairs clusters at random
  (``prg(..., pairing="random")``).
* :func:`run_with_nulls` runs PRG and the exponent fits on the data and on
  ``n_surrogates`` seeded draws of each null, returning one Dataset with a
  ``null`` dim (``"data"`` first): each null is a distribution (per-draw
  exponents, mean, 95 % prediction band for one more draw) and is compared
  with the data including its own spread.
* :func:`bin_width_sweep` repeats the analysis after summing adjacent time
  bins, to show how the exponents depend on the bin width.
"""

from __future__ import annotations

import contextvars
import json
import warnings
from typing import Any

import numpy as np
import xarray as xr

from .._progress import progress_bar
from .._validation import check_int, check_option, check_random_state, describe
from .._warnings import once_per_call, warn_user
from ..activity import as_activity, check_activity, stack_trials
from ._fit_dataset import fill_values, fit_variables, reindex_symbols
from ._null_bands import _SYMBOLS, NULL_BAND_LEVEL, _null_summary, prediction_band
from .exponents import fit_exponents
from .parallel import _child_seeds, map_seeded

__all__ = [
    "surrogate",
    "run_with_nulls",
    "bin_width_sweep",
    "SURROGATES",
    "NULLS",
    "DEFAULT_NULLS",
    "DEFAULT_N_SURROGATES",
    "NULL_BAND_LEVEL",
    "prediction_band",
]

SURROGATES = ("shuffle", "circular_shift", "trial_shuffle")
NULLS = (*SURROGATES, "random_pairing")
#: run for every data kind: the circular shift keeps each unit's autocorrelation, so on
#: autocorrelated data it is the baseline for the selection bias of greedy pairing
DEFAULT_NULLS = ("shuffle", "circular_shift", "random_pairing")
DEFAULT_N_SURROGATES = 10


def surrogate(activity: xr.DataArray, method: str, random_state: Any = None) -> xr.DataArray:
    """A surrogate Activity with some correlations destroyed.

    Parameters
    ----------
    activity : xarray.DataArray
        ``("unit", "time")`` or ``("trial", "unit", "time")``.
    method : {"shuffle", "circular_shift", "trial_shuffle"}
        ``"shuffle"``: each unit's values are permuted independently over all
        its bins (over trials and time together when there are trials).
        ``"circular_shift"``: each unit is rolled along time by its own
        uniformly drawn lag (with trials: the same lag in every trial).
        ``"trial_shuffle"``: needs a ``trial`` dim; each unit's trials are
        permuted independently, so only correlations locked to the repeated
        stimulus survive.
    random_state : None, int or numpy.random.Generator
        Seed; same seed, same surrogate.

    Returns
    -------
    xarray.DataArray
        Same dims, coords and attrs, plus ``attrs["surrogate"]``. Each unit's
        set of values is unchanged (the marginals are exact).
    """
    act = check_activity(activity, allow_constant=True)
    check_option(method, "method", SURROGATES)
    rng = check_random_state(random_state)
    vals = act.values
    if method == "trial_shuffle":
        if "trial" not in act.dims:
            raise ValueError(
                "method='trial_shuffle' needs activity with a 'trial' dim "
                f"(dims {act.dims}); use 'shuffle' or 'circular_shift'"
            )
        n_trial, n_unit, _ = vals.shape
        out = np.empty_like(vals)
        for u in range(n_unit):
            out[:, u, :] = vals[rng.permutation(n_trial), u, :]
    elif method == "shuffle":
        unit_axis = act.dims.index("unit")
        flat = np.moveaxis(vals, unit_axis, 0)
        shape = flat.shape
        perm = rng.permuted(flat.reshape(shape[0], -1), axis=1)
        out = np.moveaxis(perm.reshape(shape), 0, unit_axis)
    else:
        n_time = vals.shape[-1]
        shifts = rng.integers(0, n_time, size=vals.shape[-2])
        out = np.empty_like(vals)
        for u, s in enumerate(shifts):
            out[..., u, :] = np.roll(vals[..., u, :], int(s), axis=-1)
    seed = random_state if isinstance(random_state, int | np.integer) else -1
    attrs = dict(act.attrs, surrogate=method, surrogate_seed=int(seed))
    return act.copy(data=np.ascontiguousarray(out)).assign_attrs(attrs)


_TABLE = ("exponent", "exponent_ci_low", "exponent_ci_high", "exponent_block_sd", "exponent_se")


def _exponent_table(fitted: xr.Dataset) -> tuple[np.ndarray, xr.Dataset]:
    """Rows alpha, beta, mu, z; columns exponent, ci_low, ci_high, block_sd, se.

    Also returns the fit variables of *fitted* on all four symbols (NaN / ""
    where not fitted), without the non-index coords of the run.
    """
    fits = reindex_symbols(fitted[fit_variables(fitted)], _SYMBOLS).reset_coords(drop=True)
    table = np.stack([fits[v].values for v in _TABLE], axis=1)
    return table, fits


def _concat_fits(fits: list[xr.Dataset], dim: str) -> xr.Dataset:
    """Fit variables of several runs along *dim* (outer join, typed fill)."""
    return xr.concat(fits, dim=dim, join="outer", fill_value=fill_values(fits[0]), coords="minimal")


def _default_quantities(act: xr.DataArray) -> tuple[str, ...]:
    vals = act.values
    nonneg_int = vals.dtype == bool or (
        np.all(vals >= 0) and (vals.dtype.kind in "iu" or np.all(vals == np.round(vals)))
    )
    pm1 = not nonneg_int and np.all(np.abs(vals) == 1)
    if nonneg_int or pm1:
        return ("variance", "silence_free_energy", "eigenvalues", "tau_c")
    return ("variance", "eigenvalues", "tau_c")


def _null_run(
    run: tuple[str, int],
    seed: int,
    *,
    act: xr.DataArray,
    data: xr.DataArray,
    quantities: tuple[str, ...],
    fit_kwargs: dict[str, Any],
    prg_kwargs: dict[str, Any],
) -> tuple[xr.Dataset, xr.Dataset, list[tuple[type, str]]]:
    """One run of :func:`run_with_nulls` (the data or one null draw); warnings returned."""
    from ..coarse.prg import prg

    name = run[0]
    pairing = "random" if name == "random_pairing" else "correlation"
    if name in ("data", "random_pairing"):
        src = data
    elif name == "trial_shuffle":
        src = stack_trials(surrogate(act, name, seed))
    else:
        src = surrogate(data, name, seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = prg(src, pairing=pairing, random_state=seed, **prg_kwargs)
        fitted = fit_exponents(res, quantities, **fit_kwargs)
    return res, fitted, [(w.category, str(w.message)) for w in caught]


def _run_all(func, items, random_state, client, shared, progress, desc):
    """``func(item, seed, **shared)`` for every item: here with a progress bar, or on *client*."""
    if client is not None:
        return map_seeded(func, items, random_state=random_state, client=client, shared=shared)
    seeds = _child_seeds(random_state, len(items))
    pairs = list(zip(items, seeds, strict=True))
    bar = progress_bar(pairs, enable=progress, desc=desc)
    # each run in an empty context, as in a worker: outside the caller's once-per-call
    # record, so it returns all its warnings and the caller decides which to raise
    return [contextvars.Context().run(func, item, seed, **shared) for item, seed in bar]


def _reemit(caught: list[tuple[type, str]]) -> None:
    """Warnings of a run raised here, at the user's line, once per call."""
    for category, message in caught:
        warn_user(message, category)


def _sweep_run(
    factor: int,
    seed: int,
    *,
    act: xr.DataArray,
    counts: str,
    quantities: tuple[str, ...] | None,
    fit_kwargs: dict[str, Any],
    prg_kwargs: dict[str, Any],
) -> tuple[xr.Dataset, xr.Dataset, list[tuple[type, str]], list[str]]:
    """One bin width of :func:`bin_width_sweep`: rebin, PRG, fits; warnings and notes returned."""
    from ..coarse.prg import prg

    notes = []
    rebinned, dropped = _rebin(act, factor, counts)
    if dropped:
        notes.append(f"factor {factor}: last {dropped} bin(s) of each trial/recording dropped")
    if "trial" in rebinned.dims:
        rebinned = stack_trials(rebinned)
    vals = rebinned.values
    const = np.flatnonzero(np.all(vals == vals[:, :1], axis=1))
    if const.size:
        notes.append(f"factor {factor}: {const.size} constant unit(s) dropped")
        rebinned = rebinned.isel(unit=np.setdiff1d(np.arange(vals.shape[0]), const))
    rebinned = as_activity(rebinned, kind=rebinned.attrs.get("kind", "continuous"))
    q = quantities if quantities is not None else _default_quantities(rebinned)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = prg(rebinned, random_state=seed, **prg_kwargs)
        fitted = fit_exponents(res, q, **fit_kwargs)
    return res, fitted, [(w.category, str(w.message)) for w in caught], notes


@once_per_call
def run_with_nulls(
    activity: xr.DataArray,
    nulls: tuple[str, ...] = DEFAULT_NULLS,
    *,
    n_surrogates: int = DEFAULT_N_SURROGATES,
    random_state: Any = None,
    quantities: tuple[str, ...] | None = None,
    fit_kwargs: dict[str, Any] | None = None,
    progress: bool = False,
    client: Any = None,
    **prg_kwargs: Any,
) -> xr.Dataset:
    """Run PRG and the exponent fits on the data and on null models.

    Parameters
    ----------
    activity : xarray.DataArray
        Activity; a ``trial`` dim is stacked into time for the analysis
        (``"trial_shuffle"`` is applied before stacking and needs it).
    nulls : tuple of str
        Any of ``"shuffle"``, ``"circular_shift"``, ``"trial_shuffle"``,
        ``"random_pairing"``. Default: shuffle, circular shift and random
        pairing.
    n_surrogates : int
        Draws of each null (new surrogate, or new random pairing, per draw);
        at least 2, since one draw says nothing about the null's spread.
    random_state : None, int or numpy.random.Generator
        Seeds every surrogate and random pairing (one child seed per draw).
    quantities : tuple of str, optional
        Quantities to fit (default: all that are defined for the data).
    fit_kwargs : dict, optional
        Passed to :func:`rgdata.diagnostics.fit_exponent`.
    progress : bool
        Progress bar over the runs (serial runs only).
    client : distributed.Client, optional
        Run the data and every null draw as independent tasks on this dask
        client (:func:`rgdata.diagnostics.parallel.map_seeded`; the activity
        is scattered to the workers once). The seeds depend only on
        *random_state*, so the result equals the serial one.
    **prg_kwargs
        Passed to :func:`rgdata.coarse.prg` (``n_levels``, ``normalization``...).

    Returns
    -------
    xarray.Dataset
        Every PRG variable with a leading ``null`` dim (``"data"`` first; for
        a null, its first draw), plus, with dims ``(null, exponent_name)``
        (``exponent_name`` = alpha, beta, mu, z; NaN where not fitted):

        * ``exponent``: the data's exponent; for a null the mean over draws;
        * ``exponent_ci_low`` / ``exponent_ci_high``: the data's confidence
          interval (NaN where the recording is too short for one); for a null
          the 95% prediction band for one more draw, ``mean +- t_{n-1, 0.975}
          sd sqrt(1 + 1/n)`` over its ``n`` fitted draws
          (:func:`prediction_band`; ``interval_kind`` says which);
        * ``exponent_block_sd`` (data; mean over draws for nulls),
          ``exponent_se`` (data's standard error from the blocks),
          ``exponent_null_sd`` (SD over a null's draws);
        * the other fit variables of :func:`rgdata.diagnostics.fit_exponents`
          (``exponent_r2``, ``exponent_intercept``, ``exponent_k_min``,
          ``exponent_k_max``, ``exponent_curvature``..., ``exponent_blocks``,
          ``exponent_status``, ``exponent_quantity``...) for the run shown:
          the data, or a null's first draw (its exponent is
          ``null_exponent.sel(draw=0)``); ``exponent_quantity`` is ``""``
          where not fitted;
        * ``z_vs_data``: ``(data - null mean) / sqrt(se_data**2 +
          sd_null**2)`` (NaN without a data CI) and ``fraction_beyond_data``:
          the fraction of draws at least as far from the null mean as the
          data, on the data's side (NaN for the data row);

        and ``null_exponent (null, draw, exponent_name)``, the per-draw
        exponents (NaN for the data row). attrs: the PRG and fit parameters,
        ``n_surrogates``, ``null_attrs`` (JSON: each first draw's PRG attrs)
        and ``null_warnings`` (JSON: warnings raised in null draws,
        summarised in one warning). No fitted number is stored in attrs.

    Raises
    ------
    ValueError
        Unknown or duplicate nulls, ``n_surrogates < 2``, ``trial_shuffle``
        without trials.
    """
    if isinstance(nulls, str):
        nulls = (nulls,)
    nulls = tuple(nulls)
    for name in nulls:
        check_option(name, "null", NULLS)
    if len(set(nulls)) != len(nulls):
        raise ValueError(f"nulls has duplicates: {nulls}")
    if "pairing" in prg_kwargs or "random_state" in prg_kwargs:
        raise TypeError("run_with_nulls sets pairing and random_state itself; do not pass them")
    n_surrogates = check_int(n_surrogates, "n_surrogates", min_value=2)
    act = check_activity(activity)
    has_trials = "trial" in act.dims
    if "trial_shuffle" in nulls and not has_trials:
        raise ValueError(
            "null 'trial_shuffle' needs activity with a 'trial' dim; this activity has "
            f"dims {act.dims}"
        )
    data = stack_trials(act) if has_trials else act
    if quantities is None:
        quantities = _default_quantities(data)
    fit_kwargs = dict(fit_kwargs or {})
    names = ("data", *nulls)
    runs = [("data", 0)] + [(n, d) for n in nulls for d in range(n_surrogates)]
    seeds = _child_seeds(random_state, len(runs))
    shared = dict(
        act=act,
        data=data,
        quantities=tuple(quantities),
        fit_kwargs=fit_kwargs,
        prg_kwargs=prg_kwargs,
    )
    done = _run_all(_null_run, runs, random_state, client, shared, progress, "PRG + nulls")
    results, fits, run_attrs, null_warnings = [], {}, {}, []
    tables = {n: [] for n in names}
    for (name, draw), (res, fitted, caught) in zip(runs, done, strict=True):
        if name == "data":
            _reemit(caught)
        else:
            null_warnings += [
                f"{name} draw {draw}: {message}"
                for _, message in caught
                if not message.startswith("prg: odd numbers of clusters")
            ]
        table, fit = _exponent_table(fitted)
        tables[name].append(table)
        if draw == 0:
            fits[name] = fit
            if name == "data":
                data_attrs = dict(res.attrs)
            run_attrs[name] = {k: _plain(v) for k, v in res.attrs.items()}
            results.append(_no_attrs(res))
    if null_warnings:
        warn_user(
            f"run_with_nulls: {len(null_warnings)} warning(s) in the null draws (all in "
            f"attrs['null_warnings']); first: {null_warnings[0]}",
            UserWarning,
        )
    out = xr.concat(results, dim="null", coords="minimal", compat="override", join="override")
    out = out.assign_coords(null=list(names), exponent_name=list(_SYMBOLS))
    shown = _concat_fits([fits[n] for n in names], "null").assign_coords(null=list(names))
    out = out.assign(shown.data_vars)
    for var, values in _null_summary(tables, names, n_surrogates).items():
        out[var] = values
    attrs = {k: v for k, v in data_attrs.items() if k not in ("random_state", "pairing")}
    attrs.update(
        analysis="real-space PRG with null models",
        nulls=json.dumps(list(nulls)),
        n_surrogates=int(n_surrogates),
        null_warnings=json.dumps(null_warnings),
        random_state=_seed_value(random_state),
        run_seeds=np.asarray(seeds, dtype=np.int64),
        quantities=json.dumps(list(quantities)),
        fit_kwargs=json.dumps(fit_kwargs, default=str),
        null_attrs=json.dumps(run_attrs, default=str),
        trials_stacked=int(has_trials),
    )
    out.attrs = attrs
    return out


def _no_attrs(ds: xr.Dataset) -> xr.Dataset:
    ds = ds.copy()
    ds.attrs = {}
    return ds


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def _seed_value(random_state: Any) -> int | str:
    if isinstance(random_state, int | np.integer) and not isinstance(random_state, bool):
        return int(random_state)
    return "None" if random_state is None else type(random_state).__name__


def _rebin(act: xr.DataArray, factor: int, counts: str) -> tuple[xr.DataArray, int]:
    vals = act.values
    n_time = vals.shape[-1]
    usable = (n_time // factor) * factor
    dropped = n_time - usable
    cut = vals[..., :usable]
    summed = cut.reshape(*cut.shape[:-1], usable // factor, factor).sum(axis=-1)
    kind = act.attrs.get("kind", "continuous")
    if kind == "spikes":
        if counts == "clip":
            summed = np.minimum(summed, 1).astype(np.int8)
        else:
            kind = "continuous"
    elif kind == "spins":
        kind = "continuous"
    attrs = dict(act.attrs, kind=kind, rebin_factor=factor, rebin_counts=counts)
    bw = act.attrs.get("bin_width")
    if isinstance(bw, int | float):
        attrs["bin_width"] = bw * factor
    dims = act.dims
    coords = {d: act[d].values for d in dims if d != "time"}
    coords["time"] = np.arange(summed.shape[-1])
    return xr.DataArray(summed, dims=dims, coords=coords, attrs=attrs), dropped


@once_per_call
def bin_width_sweep(
    activity: xr.DataArray,
    factors: tuple[int, ...] = (1, 2, 4, 8),
    *,
    counts: str = "clip",
    random_state: Any = None,
    quantities: tuple[str, ...] | None = None,
    fit_kwargs: dict[str, Any] | None = None,
    progress: bool = False,
    client: Any = None,
    **prg_kwargs: Any,
) -> xr.Dataset:
    """Exponents as a function of the time-bin width.

    Adjacent bins are summed in groups of ``factor`` (within each trial; the
    last incomplete group is dropped, with a warning), then PRG and the fits
    run on the rebinned activity.

    Parameters
    ----------
    activity : xarray.DataArray
        Activity (a ``trial`` dim is rebinned per trial, then stacked).
    factors : tuple of int
        Rebinning factors (1 = original bins).
    counts : {"clip", "count"}
        For spikes: ``"clip"`` keeps binary spikes (a bin is 1 if any spike
        fell in it); ``"count"`` keeps spike counts (non-negative integers,
        analysed with ``nonzero_mean`` normalization and silence = no spike).
        Ignored for continuous data (always summed).
    random_state, quantities, fit_kwargs, progress, client, **prg_kwargs
        As in :func:`run_with_nulls` (with *client*, one task per bin width).

    Returns
    -------
    xarray.Dataset
        ``exponent``, ``exponent_ci_low``, ``exponent_ci_high`` with dims
        ``(bin_factor, exponent_name)``, with every other fit variable of
        :func:`rgdata.diagnostics.fit_exponents` (``exponent_se``,
        ``exponent_r2``, ``exponent_status``, ``exponent_blocks``...) on the
        same dims; ``variance``, ``silence_free_energy``, ``tau_c`` with dims
        ``(bin_factor, level)``; attrs with the parameters and dropped bins.
    """
    act = check_activity(activity)
    check_option(counts, "counts", ("clip", "count"))
    if isinstance(factors, int | np.integer) or len(factors) == 0:
        raise TypeError(f"factors must be a non-empty tuple of ints, got {describe(factors)}")
    factors = tuple(check_int(f, "factors[i]", min_value=1) for f in factors)
    if "pairing" in prg_kwargs or "random_state" in prg_kwargs:
        raise TypeError("bin_width_sweep sets random_state itself; pass pairing via a null run")
    fit_kwargs = dict(fit_kwargs or {})
    shared = dict(act=act, counts=counts, quantities=quantities, fit_kwargs=fit_kwargs)
    shared["prg_kwargs"] = prg_kwargs
    done = _run_all(_sweep_run, factors, random_state, client, shared, progress, "bin widths")
    seeds = _child_seeds(random_state, len(factors))
    tables, fits, per_level, notes = [], [], [], []
    for res, fitted, caught, run_notes in done:
        _reemit(caught)
        notes += run_notes
        table, fit = _exponent_table(fitted)
        tables.append(table)
        fits.append(fit)
        per_level.append(res[["variance", "silence_free_energy", "tau_c"]])
    if notes:
        warn_user("bin_width_sweep: " + "; ".join(notes), UserWarning)
    levels = xr.concat(per_level, dim="bin_factor", join="outer")
    tab = np.stack(tables)
    out = xr.Dataset(
        {
            "exponent": (("bin_factor", "exponent_name"), tab[:, :, 0]),
            "exponent_ci_low": (("bin_factor", "exponent_name"), tab[:, :, 1]),
            "exponent_ci_high": (("bin_factor", "exponent_name"), tab[:, :, 2]),
            "exponent_block_sd": (("bin_factor", "exponent_name"), tab[:, :, 3]),
        },
        coords={"bin_factor": list(factors), "exponent_name": list(_SYMBOLS)},
    )
    shown = _concat_fits(fits, "bin_factor").assign_coords(bin_factor=list(factors))
    out = out.assign({v: shown[v] for v in shown.data_vars if v not in out})
    for v in ("variance", "silence_free_energy", "tau_c"):
        out[v] = levels[v]
    out.attrs = {
        "analysis": "PRG exponents vs time-bin width",
        "counts": counts,
        "factors": np.asarray(factors, dtype=np.int64),
        "random_state": _seed_value(random_state),
        "run_seeds": np.asarray(seeds, dtype=np.int64),
        "prg_kwargs": json.dumps(prg_kwargs, default=str),
        "fit_kwargs": json.dumps(fit_kwargs, default=str),
        "notes": json.dumps(notes),
        "tau_c_unit": "samples of the rebinned data (multiply by bin_factor for original bins)",
    }
    return out
