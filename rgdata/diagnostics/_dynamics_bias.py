"""Parametric bootstrap of the learned dynamics model: simulate the fitted SDE at every level.

The ``z`` of :func:`rgdata.diagnostics.learned_dynamic_scaling` is biased
on nonlinear data, in two ways that a resampling of the data cannot see:

* **misspecification**: with noise, the one-step conditional mean
  ``E[x(t+1) | x(t)]`` of a nonlinear SDE is not the deterministic flow of
  its drift, and conditional means over different horizons do not compose
  (``m_{1/2}(m_{1/2}(x)) != m_1(x)``); the drift fitted to one-step pairs is
  an *effective* drift whose flow over the shorter horizons of the coarser
  levels is off, and ``z`` absorbs the mismatch (measured on a planted
  double well: a network trained to convergence on 40,000 pairs gives
  ``z = 1.11`` for a planted 1);
* **training**: the finest network is not trained to convergence at the
  default 400 Adam steps (same data: 0.92, 0.98, 1.06, 0.81 at 400 steps,
  0.97, 1.07, 1.31, 0.92 at 2000 steps).

Both are properties of the procedure, so they are estimated by running the
procedure on data simulated from the fitted model, whose ``z`` is known:
every level ``l`` is ``dx = f(x) dt + sigma dW`` (``f`` the finest-level
network, in steps of the finest level) sampled every ``T_l = (s_1 /
s_l)^z`` time units, ``z`` the estimate, with as many variables (at most
:data:`MAX_SIM_UNITS`) and time points as the data.

``sigma`` comes from the training residuals by the linear noise
approximation: along the flow ``Phi_t(x0)`` the one-step variance of
``x(1)`` is ``sigma^2 G(x0)``, ``G`` the solution at ``t = 1`` of ``v' = 2
f'(Phi_t) v + 1``, ``v(0) = 0`` (exact for an OU drift, where ``G = (1 -
e^(-2 r)) / (2 r)``), and ``sigma^2 = mse / mean G``. The SDE is integrated
by Euler-Maruyama in substeps of at most :data:`MAX_SIM_SUBSTEP` finest-level
steps, with the drift tabulated on :data:`N_TABLE` points (linear
interpolation) of the range of the standardized finest level and the
variables reflected at its ends: the network is only fitted where there
are data, and outside that range its drift can point outwards (on a
planted OU tree a fitted drift changed sign below ``x = -4.3``, the data's
minimum; with reflection at +-8 three of ten simulated reruns ran to the
wall and the interval came out [-2.4, 3.5]). Every variable starts at a
value drawn from the standardized finest level and is run for a burn-in
before the recorded steps. :func:`corrected_z` turns the reruns' ``z``
into the bias-corrected ``z``, its error and CI.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._dynamics_mlp import drift

__all__ = [
    "MAX_SIM_UNITS",
    "MAX_SIM_SUBSTEP",
    "N_TABLE",
    "noise_scale",
    "simulate_level",
    "corrected_z",
]

#: most variables simulated per level (more data only shrink the bootstrap spread)
MAX_SIM_UNITS = 64
#: longest Euler-Maruyama substep, in time steps of the finest level
MAX_SIM_SUBSTEP = 0.05
#: points of the drift table over the range of the data
N_TABLE = 2001
_LNA_STEPS = 40


def _slope(params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """``f'(x)`` of the drift network, elementwise."""
    t = np.tanh(x[..., None] * params["u"] + params["c"])
    return params["a"] + (1 - t**2) @ (params["w"] * params["u"])


def noise_scale(params: dict[str, np.ndarray], x0: np.ndarray, mse: float) -> float:
    """``sigma`` of ``dx = f dt + sigma dW`` whose one-step variance is *mse* on average over *x0*.

    Linear noise approximation along the deterministic flow (RK4 in
    :data:`_LNA_STEPS` substeps over one step): ``Var(x(1) | x0) = sigma^2
    G(x0)``, ``G' = 2 f'(x) G + 1``; ``sigma = sqrt(mse / mean G)``.

    Examples
    --------
    >>> import numpy as np
    >>> ou = {"a": np.asarray(-0.5), "b": np.asarray(0.0), "u": np.zeros(2),
    ...       "c": np.zeros(2), "w": np.zeros(2)}
    >>> g = (1 - np.exp(-1.0)) / 1.0  # (1 - e^(-2 r)) / (2 r), r = 0.5
    >>> round(noise_scale(ou, np.linspace(-2, 2, 9), 0.3**2 * g), 6)
    0.3
    """
    x = np.asarray(x0, dtype=float).ravel()
    v = np.zeros_like(x)
    h = 1.0 / _LNA_STEPS

    def rhs(y: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return drift(params, y), 2 * _slope(params, y) * g + 1

    for _ in range(_LNA_STEPS):
        k1 = rhs(x, v)
        k2 = rhs(x + 0.5 * h * k1[0], v + 0.5 * h * k1[1])
        k3 = rhs(x + 0.5 * h * k2[0], v + 0.5 * h * k2[1])
        k4 = rhs(x + h * k3[0], v + h * k3[1])
        x = x + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        v = v + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
    return float(np.sqrt(mse / np.mean(v)))


@njit(cache=True, nogil=True)
def _euler_maruyama(
    table, lo, step, start, n_burn, n_time, n_sub, h, kick, seed
):  # pragma: no cover
    """``(unit, n_time)`` samples every ``n_sub`` substeps of length ``h`` after *n_burn* steps.

    The normal draws come from numba's own generator (thread-local), seeded
    here by *seed*, which the caller draws from its numpy Generator.
    """
    np.random.seed(seed)  # noqa: NPY002 - numba's generator, seeded
    n = start.shape[0]
    out = np.empty((n, n_time))
    top = lo + step * (table.shape[0] - 1)
    last = table.shape[0] - 2
    for i in range(n):
        x = start[i]
        for t in range(n_burn + n_time):
            for _ in range(n_sub):
                pos = (x - lo) / step
                k = min(max(int(math.floor(pos)), 0), last)
                w = pos - k
                x = x + h * (table[k] * (1 - w) + table[k + 1] * w)
                x = x + kick * np.random.standard_normal()  # noqa: NPY002
                if x > top:
                    x = max(2 * top - x, lo)
                elif x < lo:
                    x = min(2 * lo - x, top)
            if t >= n_burn:
                out[i, t - n_burn] = x
    return out


def simulate_level(
    params: dict[str, np.ndarray],
    sigma: float,
    horizon: float,
    n_units: int,
    n_time: int,
    start_pool: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """``(n_units, n_time)`` samples of ``dx = f dt + sigma dW`` every *horizon* time units.

    Euler-Maruyama in ``ceil(horizon / MAX_SIM_SUBSTEP)`` substeps per sample,
    reflected at the minimum and maximum of *start_pool*, started at values
    drawn from *start_pool* and run for a burn-in of ``max(100, n_time //
    10)`` samples first.

    Examples
    --------
    >>> import numpy as np
    >>> ou = {"a": np.asarray(-0.5), "b": np.asarray(0.0), "u": np.zeros(2),
    ...       "c": np.zeros(2), "w": np.zeros(2)}
    >>> pool = np.array([-6.0, 6.0])  # starting values; the walls at +-6
    >>> x = simulate_level(ou, 1.0, 1.0, 4, 20000, pool, np.random.default_rng(0))
    >>> round(float(x.var()), 1)  # stationary variance sigma^2 / (2 r) = 1
    1.0
    """
    pool = np.asarray(start_pool, dtype=float).ravel()
    grid = np.linspace(pool.min(), pool.max(), N_TABLE)
    table = drift(params, grid)
    n_sub = max(1, int(np.ceil(horizon / MAX_SIM_SUBSTEP - 1e-9)))
    h = horizon / n_sub
    start = rng.choice(pool, size=n_units)
    return _euler_maruyama(
        table,
        grid[0],
        grid[1] - grid[0],
        start,
        max(100, n_time // 10),
        n_time,
        n_sub,
        h,
        sigma * math.sqrt(h),
        int(rng.integers(2**31)),
    )


def corrected_z(
    z_raw: float, se_raw: float, z_sim: np.ndarray, sigma: float, ci_level: float
) -> dict[str, tuple]:
    """Result variables of the bias-corrected ``z`` from the reruns *z_sim* (NaN ones left out).

    ``z = z_raw - (mean(z_sim) - z_raw)``; ``z_se = hypot(max(SD, se_raw), SD
    / sqrt(n))``; CI ``z +- t((1 + ci_level) / 2, n - 1) z_se``.

    Examples
    --------
    >>> import numpy as np
    >>> out = corrected_z(1.1, 0.05, np.array([1.15, 1.25, np.nan]), 0.5, 0.95)
    >>> round(float(out["z"][1]), 3), round(float(out["z_bias"][1]), 3)
    (1.0, 0.1)
    """
    from scipy.stats import t as student_t  # here: scipy.stats is slow to import

    ok = z_sim[np.isfinite(z_sim)]
    nan = np.nan
    sd = float(ok.std(ddof=1)) if ok.size >= 2 else nan
    bias = float(ok.mean()) - z_raw if ok.size >= 2 else nan
    bias_se = sd / np.sqrt(ok.size) if ok.size >= 2 else nan
    z = z_raw - bias
    se = float(np.hypot(max(sd, se_raw), bias_se))
    q = float(student_t.ppf(0.5 + ci_level / 2, ok.size - 1)) if ok.size >= 2 else nan
    return {
        "z_raw": ((), z_raw),
        "z_raw_se": ((), se_raw),
        "z_bias": ((), bias),
        "z_bias_se": ((), bias_se),
        "z_se_parametric": ((), sd),
        "z_parametric": (("bias_draw",), z_sim),
        "sim_sigma": ((), float(sigma)),
        "z": ((), z),
        "z_se": ((), se),
        "z_ci_low": ((), z - q * se),
        "z_ci_high": ((), z + q * se),
    }
