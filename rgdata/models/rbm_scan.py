"""Receptive-field size of RBMs trained on 2D Ising configurations at several temperatures."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_array, check_int, describe
from ._protocol import RGModel
from .rbm import RBM
from .rbm_measures import block_overlap, receptive_fields

__all__ = ["temperature_scan"]


def temperature_scan(
    temperatures: Any,
    L: int = 16,
    n_samples: int = 1000,
    b: int = 2,
    rbm_params: dict | None = None,
    random_state: Any = None,
) -> xr.Dataset:
    """Train one RBM per temperature on Wolff samples and measure what it learned.

    The seed essay's test: does the learned "block size" change with ``T``?
    At each temperature: :func:`rgdata.lattice.sample_ising` (Wolff), an
    :class:`RBM` with ``(L / b)**2`` hidden units (unless *rbm_params* sets
    ``n_hidden``), then :func:`~rgdata.models.rbm_measures.receptive_fields`
    and :func:`~rgdata.models.rbm_measures.block_overlap`.

    Parameters
    ----------
    temperatures : array-like of float
        Temperatures (J/k_B), e.g. below, at and above ``exact.TC_2D``.
    L : int
        Lattice side, divisible by *b*.
    n_samples : int
        Configurations per temperature.
    b : int
        Block side of the locality and overlap measures.
    rbm_params : dict, optional
        Parameters of :class:`RBM` (``random_state`` is set from *random_state*).
    random_state : None, int or numpy.random.Generator
        Seeds the samplers and the RBMs (``attrs["seed"]``).

    Returns
    -------
    xarray.Dataset
        On ``temperature``: ``locality_mean``/``_err``, ``spread_mean``/``_err``,
        ``overlap_mean``/``_err``, ``overlap_null``, ``reconstruction_error``;
        scalars ``locality_null``, ``spread_null``.
    """
    from ..lattice import sample_ising

    temps = check_array(temperatures, "temperatures", ndim=1).astype(np.float64)
    if temps.size < 1 or np.any(temps <= 0):
        raise ValueError(f"temperatures must be positive numbers, got {temps.tolist()}")
    L = check_int(L, "L", min_value=2)
    b = check_int(b, "b", min_value=1)
    if L % b:
        raise ValueError(f"L must be divisible by b, got L={L}, b={b}")
    n_samples = check_int(n_samples, "n_samples", min_value=2)
    if rbm_params is not None and not isinstance(rbm_params, dict):
        raise TypeError(f"rbm_params must be a dict of RBM parameters, got {describe(rbm_params)}")
    params = {"n_hidden": (L // b) ** 2, **(rbm_params or {})}
    rng, seed = RGModel._seeded_rng(random_state)
    rows = []
    for T in temps:
        seeds = rng.integers(0, 2**62, size=3)
        cfg = sample_ising(L, float(T), n_samples, algorithm="wolff", random_state=int(seeds[0]))
        rbm = RBM(**dict(params, random_state=int(seeds[1]))).fit(cfg)
        rf = receptive_fields(rbm, b)
        row = {
            k: float(rf[k]) for k in ("locality_mean", "locality_err", "spread_mean", "spread_err")
        }
        row["reconstruction_error"] = float(rbm.reconstruction_error_[-1])
        if rbm.weights_.shape[1] == (L // b) ** 2:
            ov = block_overlap(rbm, cfg, b, random_state=int(seeds[2]))
            row |= {k: float(ov[k]) for k in ("overlap_mean", "overlap_err", "overlap_null")}
        rows.append(row)
    descriptions = {
        "locality_mean": "mean largest fraction of |W| in a b x b block",
        "locality_err": "standard error over hidden units",
        "spread_mean": "mean |W|-weighted RMS distance from the centre (lattice spacings)",
        "spread_err": "standard error over hidden units",
        "overlap_mean": "overlap of sign-aligned hidden samples with majority block spins",
        "overlap_err": "standard error over configurations",
        "overlap_null": "overlap with blocks shifted by half the lattice",
        "reconstruction_error": "mean squared one-step reconstruction error, last epoch",
    }
    data = {
        name: xr.Variable(
            "temperature",
            np.array([r.get(name, np.nan) for r in rows]),
            {"units": "lattice spacing" if "spread" in name else "1", "description": d},
        )
        for name, d in descriptions.items()
    }
    data["locality_null"] = xr.Variable(
        (), b * b / L**2, {"units": "1", "description": "locality of uniform weights"}
    )
    data["spread_null"] = xr.Variable(
        (), float(rf.spread_null), {"units": "lattice spacing", "description": "uniform weights"}
    )
    attrs = {"analysis": "temperature_scan", "L": L, "b": b, "n_samples": n_samples, "seed": seed}
    attrs |= {f"rbm_{k}": v for k, v in params.items() if isinstance(v, (int, float, str))}
    return xr.Dataset(data, coords={"temperature": temps}, attrs=attrs)
