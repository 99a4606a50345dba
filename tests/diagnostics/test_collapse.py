"""Scaling collapse engine: the Houdayer-Hartmann quality and the exponent fit."""

import numpy as np
import pytest

from rgdata.diagnostics._collapse_quality import collapse_quality, sorted_quality
from rgdata.diagnostics.collapse import scaling_collapse

L = np.array([8.0, 16.0, 32.0, 64.0])
TRUE = {"x_c": 2.269, "b": 1.0, "a": 1.75}


def _planted(seed, noise=0.02, n_x=30, sizes=L):
    """Curves L^a f((x - x_c) L^b) with relative noise: known exponents."""
    rng = np.random.default_rng(seed)
    x = np.linspace(2.2, 2.34, n_x)
    u = (x[None, :] - TRUE["x_c"]) * sizes[:, None] ** TRUE["b"]
    truth = sizes[:, None] ** TRUE["a"] * (np.exp(-(u**2) / 4) + 0.3 / (1 + np.exp(-u)))
    dy = noise * truth
    return x, truth + dy * rng.standard_normal(truth.shape), dy


def test_quality_two_points_is_the_interpolation_residual():
    # one point of curve 0 between two points of curve 1: the master curve is the line
    # through them, its variance (1-t)^2 d1^2 + t^2 d2^2 (hand-computed)
    c0 = (np.array([0.25]), np.array([1.0]), np.array([0.1]))
    c1 = (np.array([0.0, 1.0]), np.array([0.0, 2.0]), np.array([0.2, 0.4]))
    y_line, var = 0.5, 0.75**2 * 0.2**2 + 0.25**2 * 0.4**2
    s, n = collapse_quality([c0, c1])
    assert n == 1
    assert s == pytest.approx((1.0 - y_line) ** 2 / (0.1**2 + var), rel=1e-12)


def test_compiled_kernel_matches_the_numpy_reference():
    rng = np.random.default_rng(3)
    curves, flat = [], []
    for c in range(4):
        x = np.sort(rng.uniform(-1, 1, 12 + c))
        y, d = np.sin(3 * x) + rng.normal(0, 0.1, x.size), rng.uniform(0.05, 0.2, x.size)
        curves.append((x, y, d))
        flat.append((x, y, d, np.full(x.size, c)))
    ref = collapse_quality(curves)
    X, Y, D, C = (np.concatenate(v) for v in zip(*flat, strict=True))
    perm = rng.permutation(X.size)  # the kernel sorts for itself
    got = sorted_quality(X[perm], Y[perm], D[perm], C[perm], 4)
    assert got[1] == ref[1]
    assert got[0] == pytest.approx(ref[0], rel=1e-12)


def test_quality_is_one_on_average_for_curves_that_agree_within_errors():
    # a straight line is interpolated exactly, so E[S] = 1 when both the point's and
    # the master curve's errors are counted; tolerance from the spread over seeds
    x = np.linspace(0, 1, 25)
    values = []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        curves = []
        for shift in (0.0, 0.013, 0.029):
            xs = x + shift
            d = np.full(xs.size, 0.05)
            curves.append((xs, 2 * xs + 1 + d * rng.standard_normal(xs.size), d))
        values.append(collapse_quality(curves)[0])
    values = np.array(values)
    assert abs(values.mean() - 1) < 4 * values.std(ddof=1) / np.sqrt(values.size)


def test_planted_exponents_recovered_within_the_bootstrap_interval():
    x, y, dy = _planted(0)
    res = scaling_collapse(
        x, y, dy, L, initial={"x_c": 2.25, "b": 0.8, "a": 1.6}, step={"x_c": 0.02}, n_boot=60
    )
    for name, true in TRUE.items():  # 3 bootstrap sd: three checks at once
        row = res.sel(parameter=name)
        assert abs(float(row["value"]) - true) < 3 * float(row["boot_sd"]), name
    assert float(res["quality"]) < 1.5 < float(res["quality_initial"])
    assert int(res["n_points"]) == y.size and int(res["n_scales"]) == 4


def test_wrong_exponent_collapses_worse():
    # the quality itself separates the planted exponent from a wrong one
    x, y, dy = _planted(1)
    good = scaling_collapse(x, y, dy, L, initial=TRUE, fixed=("x_c", "b"), n_boot=0)
    assert float(good["quality"]) < 1.5
    bad = scaling_collapse(x, y, dy, L, initial={**TRUE, "a": 2.0}, fixed=("x_c", "b"), n_boot=0)
    assert float(bad["quality_initial"]) > 10 * float(good["quality"])


def test_fixed_parameters_stay_and_have_point_intervals():
    x, y, dy = _planted(2)
    res = scaling_collapse(x, y, dy, L, initial=TRUE, fixed=("a",), n_boot=20, step={"x_c": 0.01})
    row = res.sel(parameter="a")
    assert bool(row["fixed"]) and float(row["value"]) == TRUE["a"]
    assert float(row["ci_low"]) == float(row["ci_high"]) == TRUE["a"]


def test_user_transform_log_power_law():
    # lambda_K(r) = K^mu r^-mu collapses with Y = log(lambda) - a log K at a = mu
    mu = 0.7
    rng = np.random.default_rng(4)
    K = np.repeat([8.0, 16.0, 32.0], [8, 16, 32])
    r = np.concatenate([np.arange(1, k + 1) for k in (8, 16, 32)]).astype(float)
    lam = (K / r) ** mu * np.exp(0.01 * rng.standard_normal(r.size))

    def log_rank(x, y, dy, scale, p):
        return np.log(x), np.log(y) - p[0] * np.log(scale), dy / y

    res = scaling_collapse(
        r,
        lam,
        0.01 * lam,
        K,
        transform=log_rank,
        parameter_names=["mu"],
        initial=[0.3],
        n_boot=40,
    )
    lo, hi = float(res["ci_low"][0]), float(res["ci_high"][0])
    assert lo <= mu <= hi and hi - lo < 0.05


def test_reproducible_with_a_seed():
    x, y, dy = _planted(5)
    kw = dict(initial=TRUE, fixed=("x_c",), n_boot=15, random_state=7)
    a, b = scaling_collapse(x, y, dy, L, **kw), scaling_collapse(x, y, dy, L, **kw)
    np.testing.assert_array_equal(a["boot_value"].values, b["boot_value"].values)


def test_nan_points_are_dropped_with_a_warning():
    x, y, dy = _planted(6)
    y[0, :3] = np.nan
    with pytest.warns(UserWarning, match="3 point"):
        res = scaling_collapse(x, y, dy, L, initial=TRUE, fixed=("x_c",), n_boot=0)
    assert int(res["n_dropped"]) == 3 and int(res["n_points"]) == y.size - 3


def test_bad_input():
    x, y, dy = _planted(0)
    with pytest.raises(ValueError, match="at least 3 scales"):
        scaling_collapse(x, y[:2], dy[:2], L[:2], n_boot=0)
    with pytest.raises(ValueError, match="do not overlap"):
        far = np.stack([x + 10 * i for i in range(4)])
        scaling_collapse(far, y, dy, L, initial={"b": 0.0}, n_boot=0)
    with pytest.raises(ValueError, match="dy must be > 0"):
        scaling_collapse(x, y, 0 * dy, L, n_boot=0)
    with pytest.raises(ValueError, match="scale has 3 values but y has 4 rows"):
        scaling_collapse(x, y, dy, L[:3], n_boot=0)
    with pytest.raises(ValueError, match="fixed names unknown"):
        scaling_collapse(x, y, dy, L, fixed=("nu",), n_boot=0)
    with pytest.raises(TypeError, match="transform must be callable"):
        scaling_collapse(x, y, dy, L, transform=3, parameter_names=["p"], initial=[1.0])
    with pytest.raises(ValueError, match="parameter_names"):
        scaling_collapse(x, y, dy, L, transform=lambda *a: a[:3])
    with pytest.raises(ValueError, match="every parameter is fixed"):
        scaling_collapse(x, y, dy, L, fixed=("x_c", "b", "a"), n_boot=0)
    with pytest.raises(ValueError, match="fewer than 2 points"):
        scaling_collapse([1.0, 2.0, 1.0, 1.5], [1.0, 2.0, 1.0, 1.5], [0.1] * 4, [1, 1, 2, 3])


def test_underestimated_errors_widen_the_interval_by_sqrt_quality():
    # errors reported 5x too small: S ~ 25, and the redraws with errors x sqrt(S) give
    # about the interval of the true errors (a plain bootstrap would be 5x too narrow)
    x, y, dy = _planted(8)
    kw = dict(initial=TRUE, fixed=("x_c",), n_boot=60)
    honest = scaling_collapse(x, y, dy, L, **kw)
    small = scaling_collapse(x, y, dy / 5, L, **kw)
    assert 16 < float(small["quality"]) < 36 and 4 < float(small["ci_scale"]) < 6
    for p in ("b", "a"):
        ratio = float(small["boot_sd"].sel(parameter=p) / honest["boot_sd"].sel(parameter=p))
        assert 0.6 < ratio < 1.6, (p, ratio)
