"""Coverage of the scaling_collapse bootstrap interval on planted curves (slow).

60 planted data sets (curves L^a f((x - x_c) L^b) with 2% Gaussian errors,
L = 8 .. 64, known x_c, b, a), each fitted with a 100-replica bootstrap: the
95% interval should contain the planted value in about 95% of them. With 60
data sets the binomial sd of the coverage is 0.028, so the check accepts
coverage >= 0.95 - 3 * 0.028 (and reports the numbers it saw on failure).
"""

import numpy as np
import pytest

from rgdata.diagnostics.collapse import scaling_collapse

pytestmark = pytest.mark.slow

L = np.array([8.0, 16.0, 32.0, 64.0])
TRUE = {"x_c": 2.269, "b": 1.0, "a": 1.75}
N_SETS = 60


def _planted(seed):
    rng = np.random.default_rng(seed)
    x = np.linspace(2.2, 2.34, 30)
    u = (x[None, :] - TRUE["x_c"]) * L[:, None] ** TRUE["b"]
    truth = L[:, None] ** TRUE["a"] * (np.exp(-(u**2) / 4) + 0.3 / (1 + np.exp(-u)))
    dy = 0.02 * truth
    return x, truth + dy * rng.standard_normal(truth.shape), dy


def test_bootstrap_interval_covers_about_95_percent():
    hits = {k: 0 for k in TRUE}
    for seed in range(N_SETS):
        x, y, dy = _planted(1000 + seed)
        res = scaling_collapse(
            x,
            y,
            dy,
            L,
            initial={"x_c": 2.26, "b": 0.9, "a": 1.7},
            step={"x_c": 0.01},
            n_boot=100,
            random_state=seed,
        )
        for k, v in TRUE.items():
            row = res.sel(parameter=k)
            hits[k] += int(float(row["ci_low"]) <= v <= float(row["ci_high"]))
    coverage = {k: h / N_SETS for k, h in hits.items()}
    floor = 0.95 - 3 * np.sqrt(0.95 * 0.05 / N_SETS)
    assert all(c >= floor for c in coverage.values()), coverage
