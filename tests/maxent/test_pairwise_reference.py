"""Brute-force reference for small binary models (helpers only, no tests here).

Every state is listed with itertools, the log-weight is summed term by term,
and exact draws use numpy's choice: nothing here shares code with the fitters.
"""

from __future__ import annotations

import itertools

import numpy as np


def all_states(n: int, coding: str = "01") -> np.ndarray:
    states = np.array(list(itertools.product((0, 1), repeat=n)), dtype=float)
    return states if coding == "01" else 2 * states - 1


def log_weights(states: np.ndarray, h, J, V=None) -> np.ndarray:
    n = states.shape[1]
    out = states @ h
    for i in range(n):
        for j in range(i + 1, n):
            out = out + J[i, j] * states[:, i] * states[:, j]
    if V is not None:
        out = out + V[(states > 0).sum(1)]
    return out


def probabilities(n: int, h, J, V=None, coding: str = "01") -> tuple[np.ndarray, np.ndarray]:
    states = all_states(n, coding)
    lw = log_weights(states, h, J, V)
    p = np.exp(lw - lw.max())
    return states, p / p.sum()


def exact_sample(n_samples: int, h, J, V=None, coding: str = "01", seed: int = 0) -> np.ndarray:
    """(n_samples, N) exact draws from the model."""
    n = len(h)
    states, p = probabilities(n, h, J, V, coding)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(p), size=n_samples, p=p)
    return states[idx].astype(np.int8)


def features(states: np.ndarray, k_potential: bool = False) -> np.ndarray:
    """Sufficient statistics [x_i, x_i x_j (i<j), 1{K=k} (k>=3)] per state."""
    n = states.shape[1]
    iu = np.triu_indices(n, 1)
    cols = [states, states[:, iu[0]] * states[:, iu[1]]]
    if k_potential:
        k = (states > 0).sum(1)
        cols.append((k[:, None] == np.arange(3, n + 1)[None, :]).astype(float))
    return np.concatenate(cols, axis=1)


def parameter_standard_errors(n_samples: int, h, J, V=None, coding: str = "01") -> np.ndarray:
    """Asymptotic standard errors of the MLE, sqrt(diag(Fisher^-1) / T), Fisher = Cov(features)."""
    states, p = probabilities(len(h), h, J, V, coding)
    f = features(states, V is not None)
    mu = p @ f
    cov = (f - mu).T @ ((f - mu) * p[:, None])
    return np.sqrt(np.diag(np.linalg.inv(cov)) / n_samples)


def random_model(n: int, seed: int, h_mean=-1.0, h_sd=0.3, j_sd=0.3):
    rng = np.random.default_rng(seed)
    h = rng.normal(h_mean, h_sd, n)
    J = np.triu(rng.normal(0.0, j_sd, (n, n)), 1)
    return h, J + J.T


def mahalanobis_chi2(estimate: np.ndarray, truth: np.ndarray, n_samples: int, h, J, V=None):
    """(est - true)^T (T Fisher) (est - true): chi-square with len(est) dof for the MLE.

    Returns the statistic and the two-sided 99.9% acceptance interval.
    """
    from scipy.stats import chi2

    states, p = probabilities(len(h), h, J, V)
    f = features(states, V is not None)
    mu = p @ f
    fisher = (f - mu).T @ ((f - mu) * p[:, None])
    d = estimate - truth
    stat = float(n_samples * d @ fisher @ d)
    k = len(d)
    return stat, (chi2.ppf(0.0005, k), chi2.ppf(0.9995, k))
