"""Numba and numpy kernels of the heat-bath multilevel sampler (one doubling step).

One step turns ``(m, n, n)`` coarse spins into ``(m, 2n, 2n)`` fine spins and
adds the log-probability of the new spins to ``log_q``. Fine site ``(y, x)``,
periodic, in four stages (the order is part of the model):

0. even-even sites ``(2i, 2j)`` copy the coarse spin ``(i, j)``;
1. odd-odd sites ``(2i+1, 2j+1)`` with ``i + j`` even: field
   ``h = k_diag * (sum of the 4 diagonal even-even neighbours)``;
2. odd-odd sites with ``i + j`` odd: the exact conditional of the Ising
   model with the mixed sites summed out, given every placed spin: each of
   the 4 adjacent mixed sites ``m`` contributes
   ``t(S_m) = (ln cosh(beta (S_m + 1)) - ln cosh(beta (S_m - 1))) / 2``,
   ``S_m`` being the sum of its 3 other neighbours (all placed);
3. the mixed sites (even-odd and odd-even, one checkerboard colour): all 4
   nearest neighbours are placed, ``h = beta * (sum of them)``: the exact
   heat-bath conditional of the Ising model given the other colour.

Stages 2 and 3 are exact given the spins placed before them, so a fill is
only approximate through stage 1 (whose sites interact through the
unplaced ones) and through the coarse lattice. With the stage-2 sites
treated as independent fair coins, stage 1's conditional given the
even-even spins is ``k_diag = ln(cosh(3 beta) / cosh(beta)) / 2``
(:func:`rgdata.models.multilevel.fill_couplings`).

Every new spin is drawn with ``P(s = +1) = 1 / (1 + exp(-2 h))`` and
contributes ``log P(s) = -log(1 + exp(-2 h s))``. Random numbers are uniforms
drawn outside (seeded numpy Generator) and passed in, one per fine site
(the even-even ones are unused), so draws are reproducible.
:func:`fill_log_prob` is an independent vectorised numpy version of the
log-probability of given fine spins, used by ``log_prob`` and by the tests.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _draw(h: float, u: float) -> tuple[int, float]:
    """Spin drawn with ``P(+1) = 1 / (1 + exp(-2 h))`` from uniform *u*, and its log-probability."""
    p_up = 1.0 / (1.0 + np.exp(-2.0 * h))
    s = 1 if u < p_up else -1
    x = -2.0 * h * s
    # log P(s) = -log(1 + exp(x)), computed without overflow
    if x > 0:
        return s, -(x + np.log1p(np.exp(-x)))
    return s, -np.log1p(np.exp(x))


@njit(cache=True)
def _t_table(beta: float) -> np.ndarray:
    """``t(S) = (ln cosh(beta (S + 1)) - ln cosh(beta (S - 1))) / 2`` at ``S = -3, -1, 1, 3``."""
    out = np.empty(4)
    for k in range(4):
        S = 2.0 * k - 3.0
        out[k] = 0.5 * (np.log(np.cosh(beta * (S + 1.0))) - np.log(np.cosh(beta * (S - 1.0))))
    return out


@njit(cache=True)
def fill_level(
    coarse: np.ndarray,
    uniforms: np.ndarray,
    k_diag: float,
    beta: float,
    fine: np.ndarray,
    log_q: np.ndarray,
    extra: np.ndarray,
) -> None:
    """One doubling step in place: ``fine`` (m, 2n, 2n) from ``coarse`` (m, n, n), ``log_q += ...``.

    Stages and couplings as in the module docstring; ``uniforms`` is (m, 2n, 2n).
    ``extra`` (m, n, n) is added to the stage-1 field of odd-odd site
    ``(2i+1, 2j+1)`` (the learned correction; zeros, or shape (0, 0, 0) for none).
    """
    m, n, _ = coarse.shape
    N = 2 * n
    tab = _t_table(beta)
    for k in range(m):
        for i in range(n):
            for j in range(n):
                fine[k, 2 * i, 2 * j] = coarse[k, i, j]
        acc = 0.0
        for stage in range(2):
            for i in range(n):
                y = 2 * i + 1
                yu, yd = (y - 1) % N, (y + 1) % N
                for j in range(n):
                    if (i + j) % 2 != stage:
                        continue
                    x = 2 * j + 1
                    xl, xr = (x - 1) % N, (x + 1) % N
                    corners = fine[k, yu, xl] + fine[k, yu, xr] + fine[k, yd, xl] + fine[k, yd, xr]
                    h = k_diag * corners
                    if extra.shape[0]:
                        h += extra[k, i, j]
                    if stage == 1:
                        # the 4 adjacent mixed sites, each with its 3 other (placed) neighbours
                        a = fine[k, yu, xl]
                        b = fine[k, yu, xr]
                        c = fine[k, yd, xl]
                        d = fine[k, yd, xr]
                        h = (
                            tab[(a + b + fine[k, (y - 2) % N, x] + 3) // 2]
                            + tab[(c + d + fine[k, (y + 2) % N, x] + 3) // 2]
                            + tab[(a + c + fine[k, y, (x - 2) % N] + 3) // 2]
                            + tab[(b + d + fine[k, y, (x + 2) % N] + 3) // 2]
                        )
                    s, lp = _draw(h, uniforms[k, y, x])
                    fine[k, y, x] = s
                    acc += lp
        for y in range(N):
            yu, yd = (y - 1) % N, (y + 1) % N
            for x in range((y + 1) % 2, N, 2):
                nb = (
                    fine[k, yu, x]
                    + fine[k, yd, x]
                    + fine[k, y, (x - 1) % N]
                    + fine[k, y, (x + 1) % N]
                )
                s, lp = _draw(beta * nb, uniforms[k, y, x])
                fine[k, y, x] = s
                acc += lp
        log_q[k] += acc


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    """``log(1 / (1 + exp(-x)))`` elementwise, without overflow."""
    return -np.logaddexp(0.0, -x)


def fill_log_prob(fine: np.ndarray, k_diag: float, beta: float) -> np.ndarray:
    """Log-probability of the non-even-even spins of ``fine`` given its even-even ones.

    Vectorised numpy twin of :func:`fill_level` (same stages, written
    independently with array shifts), for ``log_prob`` and tests.

    Parameters
    ----------
    fine : numpy.ndarray
        ``(m, N, N)`` +-1 spins, ``N`` even.
    k_diag, beta : float
        Coupling of stage 1 and inverse temperature of stages 2-3 (see the
        module docstring).

    Returns
    -------
    numpy.ndarray
        ``(m,)`` float64.
    """
    s = fine.astype(np.float64)
    N = s.shape[1]

    def shift(a: np.ndarray, dy: int, dx: int) -> np.ndarray:
        return np.roll(a, (-dy, -dx), axis=(1, 2))  # value at (y + dy, x + dx)

    corners = shift(s, -1, -1) + shift(s, -1, 1) + shift(s, 1, -1) + shift(s, 1, 1)
    nn = shift(s, -1, 0) + shift(s, 1, 0) + shift(s, 0, -1) + shift(s, 0, 1)
    y, x = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    odd_odd = (y % 2 == 1) & (x % 2 == 1)
    second = odd_odd & ((((y - 1) // 2 + (x - 1) // 2) % 2) == 1)
    mixed = (y + x) % 2 == 1
    # stage 2: mixed site at offset d of each site, its other three neighbours sum to
    # nn(site + d) - s(site)
    t = np.zeros_like(s)
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        S = shift(nn, dy, dx) - s
        t += 0.5 * (np.log(np.cosh(beta * (S + 1))) - np.log(np.cosh(beta * (S - 1))))
    h = np.where(second, t, np.where(odd_odd, k_diag * corners, 0.0))
    h = h + np.where(mixed, beta * nn, 0.0)
    lp = _log_sigmoid(2.0 * h * s)
    return np.where(odd_odd | mixed, lp, 0.0).sum(axis=(1, 2))


def torus_bond_sum(spins: np.ndarray) -> np.ndarray:
    """``sum_<ij> s_i s_j`` over the ``2 N^2`` bonds of each periodic ``N x N`` lattice.

    On a 2-wide torus the two bonds joining the same pair both count (the
    convention of :mod:`rgdata.lattice.exact`).
    """
    s = spins.astype(np.int64)
    return (s * np.roll(s, 1, axis=1)).sum(axis=(1, 2)) + (s * np.roll(s, 1, axis=2)).sum(
        axis=(1, 2)
    )


def enumerate_base(size: int, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """All ``2^(size^2)`` states of the ``size x size`` torus and their Boltzmann log-probabilities.

    Returns
    -------
    states : numpy.ndarray
        ``(2^(size^2), size, size)`` int8; state ``c`` has spin ``+1`` at
        flat site ``k`` when bit ``k`` of ``c`` is set.
    log_p : numpy.ndarray
        ``log(exp(beta * bonds) / Z)`` of each state.
    """
    n_sites = size * size
    codes = np.arange(2**n_sites, dtype=np.int64)
    bits = (codes[:, None] >> np.arange(n_sites)) & 1
    states = (2 * bits - 1).astype(np.int8).reshape(-1, size, size)
    logw = beta * torus_bond_sum(states).astype(np.float64)
    log_z = np.logaddexp.reduce(logw)
    return states, logw - log_z


def state_codes(spins: np.ndarray) -> np.ndarray:
    """Codes (see :func:`enumerate_base`) of ``(m, size, size)`` +-1 spins."""
    flat = (spins.reshape(spins.shape[0], -1) > 0).astype(np.int64)
    return flat @ (np.int64(1) << np.arange(flat.shape[1], dtype=np.int64))
