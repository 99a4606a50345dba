"""Validation of the multilevel samplers against exact results, as one result Dataset.

:func:`validate_multilevel` draws from :class:`MultilevelSampler` (and, if
asked, :class:`LearnedMultilevelSampler`) at several ``L``, reweights with
:func:`importance_estimates` and puts every estimate next to its exact
value: Kaufman's finite-torus ``log Z`` and energy per site, and, for
``L <= 4``, ``<|m|>`` from brute-force enumeration (Kaufman gives no
magnetisation). Used by the ``multilevel`` report section, the benchmark and
docs/generative_multilevel.md.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_int, check_random_state
from ..lattice import exact
from .multilevel import MultilevelSampler, check_beta, check_power_of_two
from .multilevel_importance import importance_estimates

__all__ = ["validate_multilevel", "RIGCS_ESS"]

#: ESS fractions of the RiGCS paper's public logs at beta = 0.44 (for comparison only).
RIGCS_ESS = {4: 0.986, 8: 0.996, 16: 0.949, 32: 0.926, 64: 0.37}

_ESTIMATES = ("ess", "ess_fraction", "log_z", "beta_free_energy", "energy", "abs_magnetization")
_UNITS = {"energy": "J", "log_z": "1", "beta_free_energy": "1", "abs_magnetization": "1"}


def _check_sizes(sizes: Any) -> dict[int, int]:
    if not isinstance(sizes, dict) or not sizes:
        raise TypeError(f"sizes must be a non-empty dict {{L: n_samples}}, got {sizes!r}")
    return {
        check_power_of_two(L, "sizes key L"): check_int(n, "sizes value n_samples", min_value=2)
        for L, n in sizes.items()
    }


def validate_multilevel(
    sizes: dict[int, int],
    *,
    beta: float = 0.44,
    learned_sizes: tuple[int, ...] = (),
    n_steps: int = 200,
    random_state: Any = 0,
) -> xr.Dataset:
    """ESS, ``log Z``, energy and ``<|m|>`` per ``L`` with their exact values.

    Parameters
    ----------
    sizes : dict
        ``{L: n_samples}``; ``L`` a power of two ``>= 2``.
    beta : float
        Inverse temperature, in ``(0, 1]``.
    learned_sizes : tuple of int
        Sizes (keys of *sizes*, ``>= 4``) at which the learned sampler is
        also trained (``n_steps`` per level; needs the ML extra) and drawn.
    n_steps : int
        Training steps per level of the learned sampler.
    random_state : None, int or numpy.random.Generator
        Seeds every draw and training (one child seed each).

    Returns
    -------
    xarray.Dataset
        Dims ``sampler`` (``"heat_bath"``, ``"learned"``) and ``size``:
        ``n_samples``, ``ess``, ``ess_fraction``, ``log_z``,
        ``beta_free_energy`` (per site), ``energy`` (per site),
        ``abs_magnetization``, each estimate with ``*_err`` (one standard
        error, delta method), ``reliable`` (1 when ``ess >= MIN_ESS``, see
        :func:`importance_estimates`), ``seconds`` (sampling wall time),
        ``train_seconds``; on ``size``: ``log_z_exact``,
        ``beta_free_energy_exact``, ``energy_exact`` (Kaufman) and
        ``abs_magnetization_exact`` (enumeration, NaN above ``L = 4``),
        ``rigcs_ess_fraction`` (published, NaN where none). NaN where a
        sampler did not run.

    Examples
    --------
    >>> res = validate_multilevel({4: 2000, 8: 2000}, random_state=0)
    >>> z = (res.log_z - res.log_z_exact) / res.log_z_err
    >>> bool((abs(z.sel(sampler="heat_bath")) < 4).all())
    True
    """
    sizes = _check_sizes(sizes)
    beta = check_beta(beta)
    for L in learned_sizes:
        if L not in sizes or L < 4:
            raise ValueError(
                f"learned_sizes must be keys of sizes that are >= 4, got {L} "
                f"(sizes: {sorted(sizes)})"
            )
    rng = check_random_state(random_state)
    seeds = iter(rng.integers(0, 2**31, size=4 * len(sizes)))
    Ls = sorted(sizes)
    samplers = ["heat_bath", "learned"]
    shape = (2, len(Ls))
    names = [*_ESTIMATES, *(f"{n}_err" for n in _ESTIMATES[2:]), "n_samples", "seconds"]
    data = {name: np.full(shape, np.nan) for name in [*names, "train_seconds", "reliable"]}
    for j, L in enumerate(Ls):
        models = {"heat_bath": lambda L=L: MultilevelSampler(beta=beta, L=L).fit()}
        if L in learned_sizes:
            from .multilevel_learned import LearnedMultilevelSampler

            seed = int(next(seeds))
            models["learned"] = lambda L=L, seed=seed: LearnedMultilevelSampler(
                beta=beta, L=L, n_steps=n_steps, random_state=seed
            ).fit()
        for name, make in models.items():
            i = samplers.index(name)
            t0 = time.perf_counter()
            model = make()
            data["train_seconds"][i, j] = time.perf_counter() - t0
            model.sample(2, random_state=0)  # compilation outside the timing
            t0 = time.perf_counter()
            cfg = model.sample(sizes[L], random_state=int(next(seeds)))
            data["seconds"][i, j] = time.perf_counter() - t0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # low ESS is recorded as the ESS itself
                est = importance_estimates(cfg)
            for key in names[:-1]:
                data[key][i, j] = float(est[key])
            data["reliable"][i, j] = est.attrs["reliable"]
    exact_ds = [exact.kaufman(1 / beta, L) for L in Ls]
    m_exact = [
        float(exact.enumerate_ising(L, 1 / beta).abs_magnetization[0]) if L <= 4 else np.nan
        for L in Ls
    ]
    log_z_exact = np.array([float(d.log_z[0]) for d in exact_ds])
    out = {key: (("sampler", "size"), values, _attrs(key)) for key, values in data.items()}
    out.update(
        {
            "log_z_exact": ("size", log_z_exact, _attrs("log_z", "Kaufman")),
            "beta_free_energy_exact": (
                "size",
                -log_z_exact / np.square(Ls),
                _attrs("beta_free_energy", "Kaufman"),
            ),
            "energy_exact": (
                "size",
                [float(d.energy[0]) for d in exact_ds],
                _attrs("energy", "Kaufman"),
            ),
            "abs_magnetization_exact": (
                "size",
                m_exact,
                _attrs("abs_magnetization", "enumeration (L <= 4)"),
            ),
            "rigcs_ess_fraction": (
                "size",
                [RIGCS_ESS.get(L, np.nan) for L in Ls],
                {"units": "1", "description": "ESS fraction in the RiGCS paper's public logs"},
            ),
        }
    )
    return xr.Dataset(
        out,
        coords={"sampler": samplers, "size": np.asarray(Ls, dtype=np.int64)},
        attrs={"beta": beta, "n_steps": int(n_steps), "temperature": 1 / beta},
    )


def _attrs(key: str, exact_source: str = "") -> dict[str, str]:
    if key == "reliable":
        return {"units": "1", "description": "1 when ESS >= MIN_ESS (error bars trusted)"}
    base = key.removesuffix("_err")
    units = "s" if "seconds" in key else _UNITS.get(base, "1")
    if exact_source:
        return {"units": units, "description": f"exact {base} ({exact_source})"}
    kind = "one standard error of " if key.endswith("_err") else ""
    return {"units": units, "description": f"{kind}{base} (importance sampling)"}
