"""Delete-one(-block) jackknife errors and covariances from replicates.

Every module that resamples by leaving out one contiguous block at a time
(lattice observables and couplings, the quartic flow, PRG coupling flows)
combines its replicates here, so the variance factor ``(n - 1) / n`` lives
in one place.
"""

from __future__ import annotations

import numpy as np

__all__ = ["jackknife_error", "jackknife_covariance"]


def jackknife_error(replicates: np.ndarray, axis: int = 0) -> np.ndarray:
    """Jackknife standard error from *n* leave-one-out replicates along *axis*.

    ``sqrt((n - 1) / n * sum_b (r_b - mean(r))^2)``. A NaN replicate makes
    the error NaN (callers that tolerate failed replicates drop them first).

    Examples
    --------
    Replicates 1, 2, 3: mean 2, squared deviations summing to 2, so the error
    is ``sqrt(2/3 * 2) = sqrt(4/3)``:

    >>> round(float(jackknife_error(np.array([1.0, 2.0, 3.0]))), 6)
    1.154701
    """
    reps = np.asarray(replicates, dtype=float)
    n = reps.shape[axis]
    dev = reps - reps.mean(axis=axis, keepdims=True)
    return np.sqrt((n - 1) / n * np.sum(dev**2, axis=axis))


def jackknife_covariance(replicates: np.ndarray, axis: int = 0) -> np.ndarray:
    """Jackknife covariance ``(n - 1) / n * dev^T dev`` of the variables of 2-D replicates.

    *replicates* is 2-D with the *n* replicates along *axis*; the result is
    ``(p, p)`` for the ``p`` variables on the other axis. Its diagonal is
    :func:`jackknife_error` squared.
    """
    reps = np.asarray(replicates, dtype=float)
    if reps.ndim != 2:
        raise ValueError(f"replicates must be 2-D (replicate, variable), got shape {reps.shape}")
    if axis in (1, -1):
        reps = reps.T
    n = reps.shape[0]
    dev = reps - reps.mean(axis=0)
    return (n - 1) / n * dev.T @ dev
