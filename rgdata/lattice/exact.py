"""Exact results for the 2D nearest-neighbour Ising model on the square lattice.

Conventions: ``H = -J sum_<ij> s_i s_j - h sum_i s_i`` with ``J = 1`` and
``k_B = 1``, so temperatures are in units of ``J``. Each nearest-neighbour bond
of the periodic lattice counts once (an ``m x n`` torus has ``2 m n`` bonds;
on a 2-wide torus the two bonds joining the same pair of sites both count).

Three independent witnesses:

* Onsager's infinite-lattice solution (free energy, energy, specific heat) and
  Yang's spontaneous magnetization, :func:`onsager`.
* Kaufman's exact partition function of the finite ``m x n`` torus,
  :func:`kaufman`, evaluated in logarithms so that it stays finite for large
  lattices (tested at ``L = 256``); energy and specific heat come from
  analytic first and second derivatives of ``log Z`` with respect to
  ``K = J/T`` (not finite differences), accurate to rounding (about 1e-12
  relative).
* Brute-force enumeration of all ``2^(m n)`` states for tiny lattices
  (``m n <= 20``), also with a field ``h``, :func:`enumerate_ising`.

References
----------
L. Onsager, Phys. Rev. 65, 117 (1944). C. N. Yang, Phys. Rev. 85, 808 (1952).
B. Kaufman, Phys. Rev. 76, 1232 (1949). P. D. Beale, Phys. Rev. Lett. 76, 78
(1996) (the form of Kaufman's result used here). K. Huang, *Statistical
Mechanics*, 2nd ed., ch. 15 (energy and specific heat in elliptic integrals).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr
from scipy import integrate, special

from .._validation import check_array, check_int, check_real

__all__ = [
    "TC_2D",
    "U_TC_2D",
    "onsager",
    "free_energy_per_site",
    "energy_per_site",
    "specific_heat_per_site",
    "spontaneous_magnetization",
    "log_partition_function",
    "kaufman",
    "enumerate_ising",
]

#: Critical temperature of the 2D square-lattice Ising model, 2 / ln(1 + sqrt 2).
TC_2D = 2.0 / np.log1p(np.sqrt(2.0))
#: Energy per site at the critical point of the infinite lattice, -sqrt(2).
U_TC_2D = -np.sqrt(2.0)

_MAX_ENUMERATED_SITES = 20


def _temperatures(T: Any) -> tuple[np.ndarray, bool]:
    arr = check_array(T, "T", dtype=float)
    if arr.ndim > 1:
        raise ValueError(f"T must be a number or a 1-D array, got shape {arr.shape}")
    if np.any(arr <= 0):
        raise ValueError(f"T must be > 0 (temperatures in units of J), got min {arr.min()}")
    return np.atleast_1d(arr), arr.ndim == 0


def _shape(L: Any) -> tuple[int, int]:
    if isinstance(L, tuple | list):
        if len(L) != 2:
            raise ValueError(f"L must be an int or a pair (m, n), got {L!r}")
        m, n = (check_int(v, "L", min_value=1) for v in L)
    else:
        m = n = check_int(L, "L", min_value=1)
    return m, n


def _out(values: np.ndarray, scalar: bool) -> Any:
    return float(values[0]) if scalar else values


# --------------------------------------------------------------------- Onsager
def _onsager_parts(K: np.ndarray):
    s2, c2 = np.sinh(2 * K), np.cosh(2 * K)
    kappa = 2 * s2 / c2**2
    return s2, c2, kappa


def _per_site(T: Any, L: Any, finite: Callable, infinite: Callable) -> Any:
    """One per-site quantity, exact on the ``m x n`` torus or the infinite lattice.

    With *L*: ``finite(logz, d1, d2, temps, sites)`` from Kaufman's ``ln Z``
    and its first two derivatives in ``K``; without: ``infinite(K, temps)``
    (Onsager). A scalar *T* gives a float.
    """
    temps, scalar = _temperatures(T)
    if L is not None:
        m, n = _shape(L)
        return _out(finite(*_kaufman_derivatives(1.0 / temps, m, n), temps, m * n), scalar)
    return _out(infinite(1.0 / temps, temps), scalar)


def free_energy_per_site(T: Any, L: Any = None) -> Any:
    """Free energy per site ``f = -T ln(Z) / N``.

    Parameters
    ----------
    T : float or 1-D array
        Temperature(s) in units of J.
    L : None, int or (m, n)
        ``None`` for the infinite lattice (Onsager), else the torus size
        (Kaufman).

    Returns
    -------
    float or numpy.ndarray
    """
    return _per_site(
        T, L, lambda logz, d1, d2, temps, sites: -temps * logz / sites, _onsager_free_energy
    )


def _onsager_free_energy(K: np.ndarray, temps: np.ndarray) -> np.ndarray:
    _, c2, kappa = _onsager_parts(K)
    integral = np.empty_like(K)
    for i, k in enumerate(kappa):
        integral[i] = integrate.quad(
            lambda th, k=k: np.log(0.5 * (1 + np.sqrt(max(1 - k**2 * np.sin(th) ** 2, 0.0)))),
            0.0,
            np.pi,
            limit=200,
        )[0]
    minus_beta_f = np.log(2 * c2) + integral / (2 * np.pi)
    return -temps * minus_beta_f


def energy_per_site(T: Any, L: Any = None) -> Any:
    """Mean energy per site ``u = <H> / N`` (``J = 1``).

    Infinite lattice (Huang, ch. 15):
    ``u = -coth(2K) [1 + (2/pi) (2 tanh^2(2K) - 1) K1(kappa)]`` with
    ``kappa = 2 sinh(2K) / cosh^2(2K)`` and ``K1`` the complete elliptic
    integral of the first kind. At ``T_c``: ``u = -sqrt(2)``.

    Parameters
    ----------
    T : float or 1-D array
        Temperature(s) in units of J.
    L : None, int or (m, n)
        ``None`` for the infinite lattice, else the periodic ``m x n`` torus
        (Kaufman's exact finite-size result).

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> round(energy_per_site(TC_2D), 6)
    -1.414214
    """
    return _per_site(T, L, lambda logz, d1, d2, temps, sites: -d1 / sites, _onsager_energy)


def _onsager_energy(K: np.ndarray, temps: np.ndarray) -> np.ndarray:
    s2, c2, kappa = _onsager_parts(K)
    t2 = s2 / c2
    k1 = special.ellipk(np.minimum(kappa**2, 1.0))
    # (2 t2^2 - 1) vanishes at T_c where K1 diverges: the product -> 0
    prod = np.where(np.isfinite(k1), (2 * t2**2 - 1) * k1, 0.0)
    return -(c2 / s2) * (1 + 2 / np.pi * prod)


def specific_heat_per_site(T: Any, L: Any = None) -> Any:
    """Specific heat per site ``c = (<H^2> - <H>^2) / (N T^2)``.

    Infinite lattice (Huang, ch. 15):
    ``c = (4/pi) (K coth 2K)^2 {K1 - E1 - (1 - tanh^2 2K)[pi/2 + (2 tanh^2 2K - 1) K1]}``
    (``E1`` the complete elliptic integral of the second kind),
    which diverges logarithmically at ``T_c`` (``inf`` is returned there, and
    within about 1e-8 of ``T_c`` where ``kappa`` rounds to 1).

    Parameters
    ----------
    T : float or 1-D array
        Temperature(s) in units of J.
    L : None, int or (m, n)
        ``None`` for the infinite lattice, else the torus size (Kaufman).

    Returns
    -------
    float or numpy.ndarray
    """
    return _per_site(
        T, L, lambda logz, d1, d2, temps, sites: d2 / sites / temps**2, _onsager_specific_heat
    )


def _onsager_specific_heat(K: np.ndarray, temps: np.ndarray) -> np.ndarray:
    s2, c2, kappa = _onsager_parts(K)
    t2 = s2 / c2
    m_ = np.minimum(kappa**2, 1.0)
    crit = m_ >= 1.0
    m_ = np.where(crit, 0.5, m_)
    k1 = special.ellipk(m_)
    e1 = special.ellipe(m_)
    bracket = k1 - e1 - (1 - t2**2) * (np.pi / 2 + (2 * t2**2 - 1) * k1)
    c = np.maximum(4 / np.pi * (K * c2 / s2) ** 2 * bracket, 0.0)  # rounding at low T
    return np.where(crit, np.inf, c)


def spontaneous_magnetization(T: Any) -> Any:
    """Yang's spontaneous magnetization ``(1 - sinh(2K)^-4)^(1/8)`` below T_c, 0 above.

    Parameters
    ----------
    T : float or 1-D array
        Temperature(s) in units of J.

    Returns
    -------
    float or numpy.ndarray
    """
    temps, scalar = _temperatures(T)
    s2 = np.sinh(2.0 / temps)
    inner = 1 - s2**-4.0
    return _out(np.where(inner > 0, np.abs(inner) ** 0.125, 0.0), scalar)


def onsager(T: Any) -> xr.Dataset:
    """Onsager/Yang infinite-lattice results on a temperature grid.

    Parameters
    ----------
    T : float or 1-D array
        Temperature(s) in units of J.

    Returns
    -------
    xarray.Dataset
        dim ``temperature``; variables ``free_energy``, ``energy``,
        ``specific_heat`` (per site) and ``magnetization`` (spontaneous).
    """
    temps, _ = _temperatures(T)
    return xr.Dataset(
        {
            "free_energy": ("temperature", free_energy_per_site(temps)),
            "energy": ("temperature", energy_per_site(temps)),
            "specific_heat": ("temperature", specific_heat_per_site(temps)),
            "magnetization": ("temperature", spontaneous_magnetization(temps)),
        },
        coords={"temperature": temps},
        attrs={
            "model": "2D square-lattice Ising, J=1, h=0, infinite lattice",
            "method": "Onsager (1944) / Yang (1952)",
            "critical_temperature": TC_2D,
        },
    )


# --------------------------------------------------------------------- Kaufman
def _gamma(K: np.ndarray, k: np.ndarray, n: int):
    """gamma_k and its first two K-derivatives; shapes (nK, nk). gamma_0 is signed."""
    K = K[:, None]
    s2, c2 = np.sinh(2 * K), np.cosh(2 * K)
    c = c2**2 / s2 - np.cos(np.pi * k[None, :] / n)
    dc = 2 * c2 - 2 * c2 / s2**2
    d2c = 4 * s2 - 4 / s2 + 8 * c2**2 / s2**3
    g = np.arccosh(np.maximum(c, 1.0))
    sh = np.sqrt(np.maximum(c**2 - 1.0, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        dg = dc / sh
        d2g = (d2c - c * dg**2) / sh
    zero = (k % (2 * n)) == 0
    if np.any(zero):
        # gamma_0 = 2K + ln tanh K, negative above T_c (Kaufman/Beale)
        g0 = 2 * K + np.log(np.tanh(K))
        dg0 = 2 + 2 / s2
        d2g0 = -4 * c2 / s2**2
        g = np.where(zero, g0, g)
        dg = np.where(zero, dg0, dg)
        d2g = np.where(zero, d2g0, d2g)
    return g, dg, d2g


def _log_factor(x, dx, d2x, kind: str):
    """log|2 f(x)| for f = cosh/sinh with sign, plus the normalised derivatives.

    Returns ``(logabs, S, S1, S2)`` such that ``2 f(x) = exp(logabs) * S`` and
    its first and second K-derivatives are ``exp(logabs) * S1`` and
    ``exp(logabs) * S2``; all of S, S1, S2 are finite, also at ``x = 0``.
    """
    ax = np.abs(x)
    e = np.exp(-2 * ax)
    sgn = np.where(x < 0, -1.0, 1.0)
    if kind == "cosh":
        # 2cosh x = e^|x| (1 + e), d/dK = 2 sinh(x) x', d2 = 2cosh x x'^2 + 2 sinh x x''
        S = 1 + e
        S1 = sgn * (1 - e) * dx
        S2 = (1 + e) * dx**2 + sgn * (1 - e) * d2x
    else:
        S = sgn * (1 - e)
        S1 = (1 + e) * dx
        S2 = sgn * (1 - e) * dx**2 + (1 + e) * d2x
    return ax, S, S1, S2


def _kaufman_term(K, m, n, k, kind):
    """log-magnitude, sign and normalised derivatives of prod_r 2 f(m gamma_k / 2)."""
    g, dg, d2g = _gamma(K, k, n)
    x, dx, d2x = 0.5 * m * g, 0.5 * m * dg, 0.5 * m * d2g
    ax, S, S1, S2 = _log_factor(x, dx, d2x, kind)
    # factors with |S| bounded away from 0 go into the log-derivatives directly
    safe = np.abs(S) > 1e-3
    Ssafe = np.where(safe, S, 1.0)
    logabs = ax.sum(axis=1) + np.where(safe, np.log(np.abs(Ssafe)), 0.0).sum(axis=1)
    a1 = np.where(safe, S1 / Ssafe, 0.0).sum(axis=1)
    a2 = np.where(safe, S2 / Ssafe - (S1 / Ssafe) ** 2, 0.0).sum(axis=1)
    # prod over safe factors = e^logabs * sign; its derivatives e^logabs*sign*(a1), (a2+a1^2)
    sign = np.prod(np.where(safe, np.sign(Ssafe), 1.0), axis=1)
    P, P1, P2 = sign, sign * a1, sign * (a2 + a1**2)
    # multiply in the (rare) near-zero factors by the product rule
    for j in range(S.shape[1]):
        col = ~safe[:, j]
        if not np.any(col):
            continue
        s0, s1, s2_ = S[:, j], S1[:, j], S2[:, j]
        newP = P * s0
        newP1 = P1 * s0 + P * s1
        newP2 = P2 * s0 + 2 * P1 * s1 + P * s2_
        P = np.where(col, newP, P)
        P1 = np.where(col, newP1, P1)
        P2 = np.where(col, newP2, P2)
    return logabs, P, P1, P2


def _kaufman_derivatives(K: np.ndarray, m: int, n: int):
    """log Z and its first two derivatives with respect to K, for the m x n torus."""
    K = np.asarray(K, dtype=float)
    odd = 2 * np.arange(n) + 1
    even = 2 * np.arange(n)
    terms = [
        _kaufman_term(K, m, n, odd, "cosh"),
        _kaufman_term(K, m, n, odd, "sinh"),
        _kaufman_term(K, m, n, even, "cosh"),
        _kaufman_term(K, m, n, even, "sinh"),
    ]
    ref = np.max([t[0] for t in terms], axis=0)
    Z = np.zeros_like(K)
    Z1 = np.zeros_like(K)
    Z2 = np.zeros_like(K)
    for logabs, P, P1, P2 in terms:
        w = np.exp(logabs - ref)
        Z += w * P
        Z1 += w * P1
        Z2 += w * P2
    N = m * n
    s2, c2 = np.sinh(2 * K), np.cosh(2 * K)
    pre = -np.log(2.0) + 0.5 * N * np.log(2 * s2)
    dpre = N * c2 / s2
    d2pre = -2 * N / s2**2
    logz = pre + ref + np.log(Z)
    d1 = dpre + Z1 / Z
    d2 = d2pre + Z2 / Z - (Z1 / Z) ** 2
    return logz, d1, d2


def log_partition_function(T: Any, L: Any) -> Any:
    """Kaufman's exact ``log Z`` of the periodic ``m x n`` Ising torus (``J = 1``, ``h = 0``).

    ``Z = (1/2) (2 sinh 2K)^(mn/2) (Z1 + Z2 + Z3 + Z4)`` with
    ``Z1 = prod_r 2 cosh(m g_{2r+1}/2)``, ``Z2 = prod_r 2 sinh(m g_{2r+1}/2)``,
    ``Z3 = prod_r 2 cosh(m g_{2r}/2)``, ``Z4 = prod_r 2 sinh(m g_{2r}/2)``
    (``r = 0..n-1``), ``cosh g_k = cosh 2K coth 2K - cos(pi k / n)`` and the
    signed ``g_0 = 2K + ln tanh K``, negative above ``T_c``, so ``Z4`` changes
    sign at ``T_c``. Evaluated in logarithms (stable for ``L`` in the
    thousands).

    Parameters
    ----------
    T : float or 1-D array
        Temperature(s) in units of J.
    L : int or (m, n)
        Torus size (any positive integers).

    Returns
    -------
    float or numpy.ndarray
    """
    temps, scalar = _temperatures(T)
    m, n = _shape(L)
    logz, _, _ = _kaufman_derivatives(1.0 / temps, m, n)
    return _out(logz, scalar)


def kaufman(T: Any, L: Any) -> xr.Dataset:
    """Exact finite-torus thermodynamics (Kaufman 1949) on a temperature grid.

    Parameters
    ----------
    T : float or 1-D array
        Temperature(s) in units of J.
    L : int or (m, n)
        Torus size.

    Returns
    -------
    xarray.Dataset
        dim ``temperature``; ``log_z``, ``free_energy``, ``energy`` and
        ``specific_heat`` (the last three per site).
    """
    temps, _ = _temperatures(T)
    m, n = _shape(L)
    logz, d1, d2 = _kaufman_derivatives(1.0 / temps, m, n)
    N = m * n
    return xr.Dataset(
        {
            "log_z": ("temperature", logz),
            "free_energy": ("temperature", -temps * logz / N),
            "energy": ("temperature", -d1 / N),
            "specific_heat": ("temperature", d2 / N / temps**2),
        },
        coords={"temperature": temps},
        attrs={
            "model": "2D square-lattice Ising, J=1, h=0, periodic torus",
            "method": "Kaufman (1949), analytic K-derivatives of log Z",
            "m": m,
            "n": n,
        },
    )


# --------------------------------------------------------------- enumeration
def _enumerate_states(m: int, n: int):
    """Bond sum and magnetization of every state, as a density of states."""
    N = m * n
    codes = np.arange(2**N, dtype=np.int64)
    bits = ((codes[:, None] >> np.arange(N)) & 1).astype(np.int8)
    s = (2 * bits - 1).reshape(-1, m, n)
    bonds = (s * np.roll(s, 1, axis=1)).sum(axis=(1, 2), dtype=np.int64) + (
        s * np.roll(s, 1, axis=2)
    ).sum(axis=(1, 2), dtype=np.int64)
    mag = s.sum(axis=(1, 2), dtype=np.int64)
    pairs, counts = np.unique(np.stack([bonds, mag], axis=1), axis=0, return_counts=True)
    return pairs[:, 0].astype(float), pairs[:, 1].astype(float), counts.astype(float)


def enumerate_ising(L: Any, T: Any, h: float = 0.0) -> xr.Dataset:
    """Brute-force thermodynamics of a tiny periodic Ising lattice (all ``2^(m n)`` states).

    Parameters
    ----------
    L : int or (m, n)
        Torus size with ``m n <= 20``.
    T : float or 1-D array
        Temperature(s) in units of J.
    h : float
        Uniform field (``H = -sum_<ij> s_i s_j - h sum_i s_i``).

    Returns
    -------
    xarray.Dataset
        dim ``temperature``; ``log_z``, ``energy`` (per site, including the
        field term), ``specific_heat`` (per site), ``abs_magnetization``
        ``<|m|>``, ``m2`` ``<m^2>``, ``m4`` ``<m^4>`` with ``m = sum s / N``,
        and ``binder`` ``1 - <m^4> / (3 <m^2>^2)``.
    """
    m, n = _shape(L)
    if m * n > _MAX_ENUMERATED_SITES:
        raise ValueError(
            f"L={L!r} has {m * n} sites; enumeration accepts at most "
            f"{_MAX_ENUMERATED_SITES} (use kaufman() for larger lattices)"
        )
    h = check_real(h, "h")
    temps, _ = _temperatures(T)
    N = m * n
    bonds, mag, counts = _enumerate_states(m, n)
    energy = -bonds - h * mag  # (states,)
    logw = -energy[None, :] / temps[:, None] + np.log(counts)[None, :]
    ref = logw.max(axis=1, keepdims=True)
    w = np.exp(logw - ref)
    Z = w.sum(axis=1)
    p = w / Z[:, None]
    e1 = p @ energy
    e2 = p @ energy**2
    mm = mag / N
    m2 = p @ mm**2
    m4 = p @ mm**4
    return xr.Dataset(
        {
            "log_z": ("temperature", ref[:, 0] + np.log(Z)),
            "energy": ("temperature", e1 / N),
            "specific_heat": ("temperature", (e2 - e1**2) / N / temps**2),
            "abs_magnetization": ("temperature", p @ np.abs(mm)),
            "m2": ("temperature", m2),
            "m4": ("temperature", m4),
            "binder": ("temperature", 1 - m4 / (3 * m2**2)),
        },
        coords={"temperature": temps},
        attrs={
            "model": "2D square-lattice Ising, J=1, periodic torus",
            "method": "brute-force enumeration",
            "m": m,
            "n": n,
            "h": h,
        },
    )
