"""Grids of Ising simulations over (L, T, seed), serial or through dask.

:func:`run_ensemble` runs :func:`~rgdata.lattice.sampling.sample_ising` at
every point of a grid, optionally stores each point's configurations in its
own netCDF file (written atomically, so a killed run never leaves a
half-written file under the final name) and resumes: a point whose file
already exists with the same parameters is read back instead of recomputed.

Each grid point gets its own seed, derived from the ensemble seed, the
dimension, ``L`` and ``T`` (not from the point's position in the grid), so a
point's configurations are the same whichever grid, order or scheduler
produced it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .._atomic import to_netcdf_atomic
from .._progress import progress_bar
from .._validation import check_int, check_option, check_real, describe
from .._warnings import once_per_call, warn_user
from ._schedule import check_schedule
from .sampling import (
    _METROPOLIS_2X2,
    ALGORITHMS,
    _check_dim,
    _quiet_tau_warning,
    ising_energy_magnetization,
    sample_ising,
)

__all__ = ["run_ensemble", "ensemble_point_seed", "ensemble_path", "load_ensemble_point"]

SCHEDULERS = ("serial", "dask")
_MARK = "rgdata_ising_ensemble"
_POINT_VARS = (
    "tau_int",
    "tau_int_reliable",
    "tau_int_samples",
    "tau_int_samples_se",
    "spacing_adequate",
    "burn_in",
    "spacing",
)
#: Values for point variables missing from a store written by an older version.
_POINT_MISSING = {"tau_int_samples_se": np.nan, "spacing_adequate": -1}


def ensemble_point_seed(seed: int, L: int, T: float, dim: int = 2) -> int:
    """Seed used at grid point (L, T) of an ensemble with seed *seed*.

    ``SeedSequence([seed, dim, L, round(T * 1e9)])`` hashed to a 62-bit int:
    independent streams for different points, the same stream for the same
    point whatever the grid around it.
    """
    entropy = [int(seed), int(dim), int(L), int(round(float(T) * 1e9))]
    state = np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(2))


def ensemble_path(store: str | os.PathLike, L: int, T: float, seed: int, dim: int = 2) -> Path:
    """File holding the configurations of one grid point in *store*."""
    return Path(store) / f"ising{dim}d_L{int(L)}_T{float(T):.10g}_seed{int(seed)}.nc"


def _as_list(value: Any, name: str) -> list:
    if isinstance(value, str):
        raise TypeError(f"{name} must be a number or a list of numbers, got {describe(value)}")
    if isinstance(value, Real | Integral):
        return [value]
    if isinstance(value, np.ndarray | Iterable):
        out = list(np.asarray(value).ravel().tolist())
        if not out:
            raise ValueError(f"{name} is empty; give at least one value")
        return out
    raise TypeError(f"{name} must be a number or a list of numbers, got {describe(value)}")


def _check_unique(values: list, name: str) -> None:
    if len(set(values)) != len(values):
        raise ValueError(f"{name} has repeated values {values}; each grid value must be unique")


def _point_params(spec: dict) -> dict:
    keys = ("dim", "L", "T", "ensemble_seed", "n_samples", "algorithm", "J", "h")
    params = {k: spec[k] for k in keys}
    params["burn_in"] = -1 if spec["burn_in"] is None else spec["burn_in"]
    params["spacing"] = -1 if spec["spacing"] is None else spec["spacing"]
    return params


def load_ensemble_point(path: str | os.PathLike, expected: dict | None = None) -> xr.DataArray:
    """Read one stored grid point, checking that it is a complete rgdata ensemble file.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`run_ensemble`.
    expected : dict, optional
        Parameters the file must have been made with (as in its
        ``ensemble_params`` attr).

    Returns
    -------
    xarray.DataArray
        The configurations, with the attrs :func:`sample_ising` wrote.

    Raises
    ------
    ValueError
        The file is not readable netCDF (corrupt or truncated), is not an
        rgdata ensemble file, or was made with other parameters.
    """
    path = Path(path)
    try:
        cfg = xr.load_dataarray(path, engine="h5netcdf")
    except Exception as err:  # noqa: BLE001 - any reader failure means the same thing
        raise ValueError(
            f"store file {path} could not be read as netCDF ({type(err).__name__}: {err}); "
            "it is corrupt or was not written by rgdata. Delete it to recompute that point"
        ) from err
    if cfg.attrs.get(_MARK) != 1 or "ensemble_params" not in cfg.attrs:
        raise ValueError(
            f"store file {path} is not an rgdata Ising ensemble file (attr {_MARK!r} missing); "
            "use an empty or dedicated store directory"
        )
    if expected is not None:
        found = json.loads(cfg.attrs["ensemble_params"])
        diff = {k: (found.get(k), v) for k, v in expected.items() if found.get(k) != v}
        if diff:
            shown = ", ".join(f"{k}: file {a!r} vs requested {b!r}" for k, (a, b) in diff.items())
            raise ValueError(
                f"store file {path} was made with other parameters ({shown}); "
                "use another store directory or delete the file"
            )
    return cfg


def _simulate_point(spec: dict) -> dict:
    """Run (or resume) one grid point; returns its observables and schedule."""
    path = spec["path"]
    params = _point_params(spec)
    resumed = 0
    if path is not None and Path(path).exists():
        cfg = load_ensemble_point(path, params)
        resumed = 1
    else:
        with _quiet_tau_warning():
            cfg = sample_ising(
                spec["L"],
                spec["T"],
                spec["n_samples"],
                dim=spec["dim"],
                J=spec["J"],
                h=spec["h"],
                algorithm=spec["algorithm"],
                burn_in=spec["burn_in"],
                spacing=spec["spacing"],
                random_state=spec["point_seed"],
            )
        if path is not None:
            cfg.attrs[_MARK] = 1
            cfg.attrs["ensemble_params"] = json.dumps(params, sort_keys=True)
            to_netcdf_atomic(cfg.rename("spins"), path)
    energy, mag = ising_energy_magnetization(cfg, J=spec["J"], h=spec["h"])
    out = {"energy": energy, "magnetization": mag, "resumed": resumed}
    for key in _POINT_VARS:
        out[key] = cfg.attrs[key] if key in cfg.attrs else _POINT_MISSING[key]
    return out


def _run_dask(specs: list[dict], client: Any, n_workers: int | None, progress: bool) -> list:
    try:
        import dask
    except ImportError as err:
        raise ImportError(
            "scheduler='dask' needs dask; install it with `pip install rgdata[dask]`"
        ) from err
    if client is not None:
        try:
            from distributed import as_completed
        except ImportError as err:
            raise ImportError(
                "a dask Client needs dask.distributed; install it with `pip install rgdata[dask]`"
            ) from err
        futures = client.map(_simulate_point, specs, pure=False)
        bar = progress_bar(enable=progress, total=len(futures), desc="run_ensemble")
        for _ in as_completed(futures):
            bar.update(1)
        bar.close()
        return client.gather(futures)
    from dask.callbacks import Callback

    tasks = [dask.delayed(_simulate_point, pure=False)(spec) for spec in specs]
    bar = progress_bar(enable=progress, total=len(tasks), desc="run_ensemble")

    class _Bar(Callback):
        def _posttask(self, key, result, dsk, state, worker_id):  # noqa: ARG002
            if isinstance(result, dict) and "energy" in result:
                bar.update(1)

    with _Bar():
        results = dask.compute(*tasks, scheduler="threads", num_workers=n_workers)
    bar.close()
    return list(results)


@once_per_call
def run_ensemble(
    L: int | Iterable[int],
    T: float | Iterable[float],
    seeds: int | Iterable[int] = 0,
    n_samples: int = 100,
    *,
    dim: int = 2,
    J: float = 1.0,
    h: float = 0.0,
    algorithm: str = "wolff",
    burn_in: int | None = None,
    spacing: int | None = None,
    store: str | os.PathLike | None = None,
    scheduler: str = "serial",
    client: Any = None,
    n_workers: int | None = None,
    progress: bool = False,
) -> xr.Dataset:
    """Run :func:`sample_ising` over a grid of sizes, temperatures and seeds.

    Parameters
    ----------
    L : int or list of int
        Linear sizes.
    T : float or list of float
        Temperatures.
    seeds : int or list of int
        Ensemble seeds (independent repetitions). The seed of each point is
        :func:`ensemble_point_seed` ``(seed, L, T, dim)``.
    n_samples : int
        Configurations per grid point.
    dim, J, h, algorithm, burn_in, spacing
        Passed to :func:`sample_ising` (automatic burn-in/spacing by default).
    store : str or path-like, optional
        Directory for one netCDF file of configurations per point
        (:func:`ensemble_path`), written atomically. Existing files with the
        same parameters are read instead of recomputed (resume); a corrupt,
        foreign or mismatched file raises ``ValueError``.
    scheduler : {"serial", "dask"}
        ``"dask"`` runs the points as dask tasks: on *client* (any
        ``distributed.Client``) if given, else on the local threaded
        scheduler (the numba kernels release the GIL). Needs the ``dask``
        extra.
    client : distributed.Client, optional
        Cluster to run on with ``scheduler="dask"``.
    n_workers : int, optional
        Threads of the local dask scheduler (default: dask's choice).
    progress : bool
        Progress bar over grid points.

    Returns
    -------
    xarray.Dataset
        dims ``(L, T, seed, sample)``: ``energy`` and ``magnetization`` (per
        site, signed) of every stored sample; per point ``tau_int``,
        ``tau_int_reliable``, ``tau_int_samples``, ``tau_int_samples_se``,
        ``spacing_adequate``, ``burn_in``, ``spacing``,
        ``point_seed`` and ``resumed`` (1 if read from the store). ``attrs``
        record the parameters. The result is the same for every scheduler.

    Raises
    ------
    ValueError
        Bad grid values (as :func:`sample_ising`), repeated values, unknown
        scheduler, ``client`` without ``scheduler="dask"``.
    ImportError
        ``scheduler="dask"`` without dask installed.

    Examples
    --------
    >>> ds = run_ensemble([8, 16], [2.0, 2.5], seeds=[0, 1], n_samples=50)
    >>> ds.energy.dims
    ('L', 'T', 'seed', 'sample')
    """
    dim = _check_dim(dim)
    check_option(scheduler, "scheduler", SCHEDULERS)
    if client is not None and scheduler != "dask":
        raise ValueError(f"client is given but scheduler is {scheduler!r}; use scheduler='dask'")
    check_option(algorithm, "algorithm", ALGORITHMS)
    sizes = [check_int(v, "L", min_value=2) for v in _as_list(L, "L")]
    if algorithm == "metropolis" and dim == 2 and 2 in sizes:
        raise ValueError(_METROPOLIS_2X2)
    temps = [check_real(v, "T", min_value=0.0, strict_min=True) for v in _as_list(T, "T")]
    seed_list = [check_int(v, "seeds", min_value=0) for v in _as_list(seeds, "seeds")]
    for values, name in ((sizes, "L"), (temps, "T"), (seed_list, "seeds")):
        _check_unique(values, name)
    n_samples = check_int(n_samples, "n_samples", min_value=1)
    J = check_real(J, "J")
    h = check_real(h, "h")
    burn_in, spacing = check_schedule(burn_in, spacing)
    if n_workers is not None:
        n_workers = check_int(n_workers, "n_workers", min_value=1)
    if store is not None:
        store = Path(store)
        if store.exists() and not store.is_dir():
            raise ValueError(f"store {store} exists and is not a directory")
        store.mkdir(parents=True, exist_ok=True)

    specs = []
    for size in sizes:
        for temp in temps:
            for seed in seed_list:
                specs.append(
                    {
                        "dim": dim,
                        "L": size,
                        "T": temp,
                        "ensemble_seed": seed,
                        "point_seed": ensemble_point_seed(seed, size, temp, dim),
                        "n_samples": n_samples,
                        "algorithm": algorithm,
                        "J": J,
                        "h": h,
                        "burn_in": burn_in,
                        "spacing": spacing,
                        "path": None
                        if store is None
                        else str(ensemble_path(store, size, temp, seed, dim)),
                    }
                )
    if store is not None:  # fail before computing anything if a stored file is unusable
        for spec in specs:
            if Path(spec["path"]).exists():
                load_ensemble_point(spec["path"], _point_params(spec))

    if scheduler == "serial":
        results = [
            _simulate_point(spec)
            for spec in progress_bar(specs, enable=progress, desc="run_ensemble")
        ]
    else:
        results = _run_dask(specs, client, n_workers, progress)

    shape = (len(sizes), len(temps), len(seed_list))
    energy = np.empty((*shape, n_samples))
    mag = np.empty((*shape, n_samples))
    per_point = {k: np.empty(shape) for k in (*_POINT_VARS, "resumed")}
    point_seed = np.empty(shape, dtype=np.int64)
    for idx, (spec, res) in zip(np.ndindex(shape), zip(specs, results, strict=True), strict=True):
        energy[idx] = res["energy"]
        mag[idx] = res["magnetization"]
        for key in per_point:
            per_point[key][idx] = res[key]
        point_seed[idx] = spec["point_seed"]

    dims3 = ("L", "T", "seed")
    data_vars = {
        "energy": (("L", "T", "seed", "sample"), energy, {"long_name": "energy per site"}),
        "magnetization": (
            ("L", "T", "seed", "sample"),
            mag,
            {"long_name": "magnetization per site (signed)"},
        ),
        "point_seed": (dims3, point_seed),
    }
    for key, values in per_point.items():
        as_int = key in ("tau_int_reliable", "spacing_adequate", "burn_in", "spacing", "resumed")
        data_vars[key] = (dims3, values.astype(np.int64) if as_int else values)
    unreliable = int((per_point["tau_int_reliable"] == 0).sum())
    attrs = {
        "model": f"ising{dim}d",
        "dim": dim,
        "J": J,
        "h": h,
        "algorithm": algorithm,
        "n_samples": n_samples,
        "burn_in_requested": -1 if burn_in is None else burn_in,
        "spacing_requested": -1 if spacing is None else spacing,
        "scheduler": scheduler,
        "n_unreliable_tau": unreliable,
        "seed_rule": "point seed = SeedSequence([seed, dim, L, round(T*1e9)])",
    }
    if store is not None:
        attrs["store"] = str(store)
    if unreliable:
        bad = np.argwhere(per_point["tau_int_reliable"] == 0)
        shown = ", ".join(f"(L={sizes[i]}, T={temps[j]:g})" for i, j, _ in bad[:5])
        warn_user(
            f"run_ensemble: tau_int could not be measured reliably at {unreliable} grid "
            f"point(s) [{shown}{', ...' if len(bad) > 5 else ''}]; their burn-in and spacing "
            "may be too short or their samples are correlated beyond the spacing "
            "(variable tau_int_reliable = 0; spacing_adequate = 0 flags the latter)"
        )
    return xr.Dataset(
        data_vars,
        coords={
            "L": np.asarray(sizes),
            "T": np.asarray(temps),
            "seed": np.asarray(seed_list),
            "sample": np.arange(n_samples),
        },
        attrs=attrs,
    )
