"""Parameter bounds and starting points of pairwise maximum-entropy fits (bare numpy)."""

from __future__ import annotations

import warnings

import numpy as np

from ._codings import pack, params_from01

PARAM_BOUND = 20.0
FORBIDDEN = -1e4  # V(K) of counts the model excludes (exp(-1e4) == 0)


def param_bound(n: int, n_params: int) -> np.ndarray:
    """Largest |parameter| allowed: PARAM_BOUND for h and J, N * PARAM_BOUND for V(K).

    The bound only stops parameters of statistics that are never (or always)
    seen from diverging. V(K) is a function over counts up to N whose
    legitimate range grows with N (it offsets the K^2 growth of the coupling
    energy), so it gets a bound N times wider.
    """
    bound = np.full(n_params, PARAM_BOUND)
    bound[n + n * (n - 1) // 2 :] = PARAM_BOUND * n
    return bound


def bounds(theta: np.ndarray, offset: np.ndarray, fixed, n: int) -> np.ndarray:
    """L-BFGS-B bounds keeping ``offset + theta`` within :func:`param_bound`; fixed pinned."""
    bound = param_bound(n, len(theta))
    lo = -bound - offset
    hi = bound - offset
    if fixed is not None:
        lo = np.where(fixed, theta, lo)
        hi = np.where(fixed, theta, hi)
    return np.column_stack([lo, hi])


def count_matched_theta(
    mean: np.ndarray, pk: np.ndarray, p_independent: np.ndarray, coding: str, fixed: np.ndarray
) -> np.ndarray:
    """Independent fields plus the count potential that reproduces the data's P(K) exactly.

    With ``V(K) = log P_data(K) / P_ind(K)`` the model ``exp(h·x + V(K))`` of
    independent units with fields h has exactly the data's count
    distribution. The part ``a + b K + c K(K-1)/2`` fixed by V(0), V(1), V(2)
    is moved into log Z, a uniform shift b of the fields and a uniform
    coupling c, which gauges V(0) = V(1) = V(2) = 0 without changing the
    distribution. Counts in *fixed* keep their forbidden value.
    """
    n = mean.shape[0]
    theta = independent_theta(mean, "01", n * (n - 1) // 2 + n - 2)
    seen = pk > 0
    v = np.zeros(n + 1)
    v[seen] = np.log(pk[seen] / np.maximum(p_independent[seen], 1e-300))
    k = np.arange(n + 1)
    a, b = v[0], v[1] - v[0]
    c = v[2] - 2.0 * v[1] + v[0]
    v = v - (a + b * k + c * k * (k - 1) / 2.0)
    h01 = theta[:n] + b
    J01 = np.full((n, n), c)
    np.fill_diagonal(J01, 0.0)
    h, J = params_from01(h01, J01, coding)
    out = pack(h, J, v)
    bound = param_bound(n, len(out))
    out = np.clip(out, -bound, bound)
    out[fixed] = FORBIDDEN
    return out


def independent_theta(mean: np.ndarray, coding: str, n_extra: int) -> np.ndarray:
    """Fields of the independent model (J = 0) matching *mean*; zeros elsewhere."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if coding == "01":
            m = np.clip(mean, 1e-9, 1 - 1e-9)
            h = np.log(m / (1.0 - m))
        else:
            h = np.arctanh(np.clip(mean, -1 + 1e-9, 1 - 1e-9))
    h = np.clip(h, -PARAM_BOUND, PARAM_BOUND)
    return np.concatenate([h, np.zeros(n_extra)])
