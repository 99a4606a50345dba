"""Slow checks of learned_dynamic_scaling at its defaults: planted double well, OU tree."""

import warnings

import numpy as np
import pytest

pytest.importorskip("jax")
pytest.importorskip("optax")

from rgdata.diagnostics import dynamic_scaling, learned_dynamic_scaling  # noqa: E402
from rgdata.diagnostics._dynamics_kernels import (  # noqa: E402
    planted_langevin_levels,
    planted_ou_tree,
)


@pytest.mark.slow
def test_planted_double_well_over_four_levels_at_the_defaults():
    """tau_l = 2 s_l (z = 1), s = 1, 2, 4, 8, 8 variables x 8000 steps per level."""
    scales = [1, 2, 4, 8]
    levels = planted_langevin_levels(scales, 1.0, 2.0, 8, 8000, random_state=21)
    res = learned_dynamic_scaling(levels, scales, random_state=0)
    assert res["z_ci_low"] < 1.0 < res["z_ci_high"]
    assert res["z_se"] < 0.15
    # nonlinear drift: the learned map beats OU beyond its CI where the one-step
    # horizon is a large part of tau (the two finest levels, h / tau = 1/2 and 1/4)
    assert np.all(res["learned_minus_ou_ci_low"][:2] > 0)
    null = res["null_z"].values
    assert abs(null.mean()) < 4.6 * null.std(ddof=1) / np.sqrt(null.size)
    assert res["z_vs_null"] > 3


@pytest.mark.slow
def test_learned_and_ou_paths_agree_on_a_planted_ou_tree():
    """Linear dynamics: the learned drift and the e-folding fit give the same z within errors."""
    levels, sizes, _ = planted_ou_tree(4, 1.0, 1.0, 8000, random_state=5)
    learned = learned_dynamic_scaling(levels, sizes, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short bootstrap blocks, stated by the OU path
        ou = dynamic_scaling(levels, sizes, n_null=2, random_state=0)
    diff = float(learned["z"] - ou["z"])
    assert abs(diff) < 1.96 * float(np.hypot(learned["z_se"], ou["z_se"]))
    assert learned["z_ci_low"] < 1.0 < learned["z_ci_high"]
    # linear data: the network does not beat OU (within 0.005 of it at every level)
    assert np.all(np.abs(learned["learned_minus_ou"]) < 0.005)


@pytest.mark.slow
def test_the_bias_corrected_interval_covers_on_a_handful_of_planted_seeds():
    """The first 4 data sets of benchmarks/coverage_dynamics_learned_ci.py (about 100 s)."""
    scales = [1, 2, 4, 8]
    z, z_raw = [], []
    for seed in range(4):
        levels = planted_langevin_levels(scales, 1.0, 2.0, 8, 8000, random_state=1000 + seed)
        res = learned_dynamic_scaling(levels, scales, random_state=seed)
        assert res["z_ci_low"] < 1.0 < res["z_ci_high"]
        assert res["z_ci_high"] - res["z_ci_low"] < 0.8  # finite, not uninformative
        z.append(float(res["z"]))
        z_raw.append(float(res["z_raw"]))
    # the corrected estimates centre on the planted 1 within 2 SE of their mean
    assert abs(np.mean(z) - 1.0) < 2 * np.std(z, ddof=1) / 2
    assert np.mean(z) < np.mean(z_raw)  # the correction subtracts a positive bias
