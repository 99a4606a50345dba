"""Learned (nonlinear) dynamics across levels: flow kernels, planted Langevin levels, nulls."""

import numpy as np
import pytest
import xarray as xr

pytest.importorskip("jax")
pytest.importorskip("optax")

from rgdata.diagnostics import learned_dynamic_scaling  # noqa: E402
from rgdata.diagnostics._dynamics_kernels import planted_langevin_levels  # noqa: E402
from rgdata.diagnostics._dynamics_mlp import fit_drift, flow_many, flow_map  # noqa: E402
from rgdata.diagnostics._dynamics_skill import blocks as _blocks  # noqa: E402
from rgdata.diagnostics._dynamics_skill import grid_sse as _grid_sse  # noqa: E402

#: a small, fast configuration (seconds): 3 levels, 4 variables each, 2000 steps
SCALES = [1, 2, 4]
FAST = dict(n_steps=200, max_pairs=1000, n_boot=50, n_refit=3, n_bias=5, n_null=5)
#: the cheapest run, for bookkeeping checks (no numbers checked)
CHEAP = dict(n_steps=20, max_pairs=200, n_boot=20, n_refit=3, n_bias=5, n_null=5, n_blocks=5)


def _linear(rate: float) -> dict:
    """Network parameters of the OU drift ``f(x) = -rate x`` (tanh units switched off)."""
    zero = np.zeros(3)
    return {"a": np.asarray(-rate), "b": np.asarray(0.0), "u": zero, "c": zero, "w": zero}


def test_flow_of_a_linear_drift_is_the_exact_ou_decay():
    x = np.linspace(-3, 3, 13)
    for horizon in (0.1, 0.3, 1.0, 2.7):
        got = flow_map(_linear(1 / 3), x, horizon)
        np.testing.assert_allclose(got, np.exp(-horizon / 3) * x, rtol=1e-6, atol=1e-12)
    many = flow_many(_linear(0.5), x, np.array([0.2, 1.0, 3.3]))
    for i, horizon in enumerate((0.2, 1.0, 3.3)):
        np.testing.assert_array_equal(many[i], flow_map(_linear(0.5), x, horizon))


def test_tabulated_flow_errors_match_the_direct_flow():
    rng = np.random.default_rng(0)
    params = {k: rng.normal(size=4) for k in ("u", "c", "w")} | {
        "a": np.asarray(-0.4),
        "b": np.asarray(0.1),
    }
    x = rng.normal(size=(3, 200))
    x0, x1 = _blocks(x, 5)
    horizons = np.array([0.3, 1.0, 2.5])
    got = _grid_sse(params, x0, x1, horizons)
    for i, t in enumerate(horizons):
        want = ((x1 - flow_map(params, x0, t)) ** 2).sum(axis=(0, 2))
        np.testing.assert_allclose(got[i], want, rtol=1e-5)


def test_fit_drift_recovers_an_ou_map_within_its_standard_error():
    # AR(1) pairs with slope a = 0.6: the fitted one-step map is a x, a within 4 SE
    rng = np.random.default_rng(1)
    a, n = 0.6, 4000
    x0 = rng.standard_normal(n)
    x1 = a * x0 + np.sqrt(1 - a**2) * rng.standard_normal(n)
    params, mse = fit_drift(x0, x1, hidden=8, n_steps=300, learning_rate=0.05, seed=0, feature="t")
    se = np.sqrt((1 - a**2) / n)
    for x in (-1.0, 1.0):
        assert flow_map(params, np.array([x]), 1.0)[0] / x == pytest.approx(a, abs=4 * se)
    assert mse == pytest.approx(1 - a**2, rel=0.1)


@pytest.fixture(scope="module")
def planted():
    levels = planted_langevin_levels(SCALES, 1.0, 2.0, 4, 2000, random_state=3)
    return levels, learned_dynamic_scaling(levels, SCALES, random_state=0, **FAST)


def test_planted_double_well_levels_recover_z_and_beat_ou(planted):
    _, res = planted
    # planted tau_l = 2 * s_l: z = 1 within the CI (held-out bootstrap and training refits)
    assert res["z_ci_low"] < 1.0 < res["z_ci_high"]
    assert res["z_se"] > res["z_se_heldout"] > 0
    # the drift is x^3 - x: the learned one-step map beats OU at the finest level, beyond its CI
    assert res["learned_minus_ou_ci_low"][0] > 0
    # the shared law rescaled by T_l = s^-z is as good as each level's own network: within 0.01
    assert np.all(np.abs(res["shared_minus_learned"][1:]) < 0.01)
    np.testing.assert_allclose(res["horizon_shared"], (1.0 / res["scale"]) ** res["z_raw"])
    # the time-shuffled null has no skill; the data far above it
    assert np.all(res["null_skill_band_high"] < 0.1)
    assert np.all(res["skill_learned"] > 0.5)


def test_the_bias_correction_moves_z_towards_the_planted_value(planted):
    # the double well's one-step conditional mean is not the flow of a drift: the skill-
    # maximising z_raw comes out above the planted 1 (here 1.32); the parametric bootstrap
    # (the procedure rerun on levels simulated from the fitted SDE at z_raw) sees the same
    # bias beyond 2 of its SEs, and the corrected z lies closer to 1
    _, res = planted
    assert res["z_raw"] > 1.0
    assert res["z_bias"] > 2 * res["z_bias_se"] > 0
    assert abs(res["z"] - 1.0) < 0.5 * abs(res["z_raw"] - 1.0)
    np.testing.assert_allclose(res["z"], res["z_raw"] - res["z_bias"])
    sims = res["z_parametric"].values
    assert sims.size == 5 and np.isfinite(sims).all()
    assert res["z_bias"] == pytest.approx(sims.mean() - float(res["z_raw"]))
    # the interval: t(0.975, 4) times the larger error plus the bias estimate's own
    se = np.hypot(max(sims.std(ddof=1), float(res["z_raw_se"])), sims.std(ddof=1) / np.sqrt(5))
    assert res["z_se"] == pytest.approx(se)
    assert res["z_ci_high"] - res["z"] == pytest.approx(2.776445 * se, rel=1e-6)
    assert 0.4 < res["sim_sigma"] < 0.7  # one-step residual SD of the standardized data ~0.45
    assert "parametric bootstrap" in res.attrs["ci_method"]


def test_the_z_null_is_centred_on_zero_and_far_below_the_data(planted):
    _, res = planted
    null = res["null_z"].values
    assert np.isfinite(null).all() and null.size == 5
    # one dynamics at every level (finest-level surrogates): mean within t(0.995, 4) SE of 0
    assert abs(null.mean()) < 4.6 * null.std(ddof=1) / np.sqrt(null.size)
    assert res["z_vs_null"] > 3
    assert "finest-level" in res.attrs["z_null"]


def test_seeded_runs_are_reproducible_and_round_trip(planted, tmp_path):
    levels, res = planted
    short = [a[:, :600] for a in levels]
    first = learned_dynamic_scaling(short, SCALES, random_state=0, **CHEAP)
    xr.testing.assert_identical(
        first, learned_dynamic_scaling(short, SCALES, random_state=0, **CHEAP)
    )
    other = learned_dynamic_scaling(short, SCALES, random_state=1, **CHEAP)
    assert not np.array_equal(other["drift_learned"], first["drift_learned"])
    path = tmp_path / "learned.nc"
    res.to_netcdf(path, engine="h5netcdf")
    xr.testing.assert_identical(xr.load_dataset(path, engine="h5netcdf"), res)
    assert res.sizes["level"] == 3 and list(res["scale"].values) == SCALES
    assert res["drift_learned"].dims == ("level", "x")


def test_the_learned_drift_is_a_double_well(planted):
    # standardized double-well drift -(x^3 - x) / tau: pulled back from the tails, and weaker
    # than linear near 0 than in the tails (an OU drift would be proportional to x)
    f = planted[1]["drift_learned"].sel(level=0)
    assert float(f.sel(x=2.0)) < 0 < float(f.sel(x=-2.0))
    assert float(f.sel(x=2.0)) / 2.0 < float(f.sel(x=0.5)) / 0.5


def test_constant_variables_are_left_out_warned_and_recorded():
    levels = planted_langevin_levels(SCALES, 1.0, 2.0, 4, 600, random_state=3)
    levels[1][0] = 1.0
    with pytest.warns(UserWarning, match=r"levels\[1\]: 1 constant variable"):
        res = learned_dynamic_scaling(levels, SCALES, random_state=0, **CHEAP)
    assert list(res["n_dropped"].values) == [0, 1, 0]
    assert "constant" in res.attrs["notes"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(levels=[np.zeros((2, 300))] * 3), ValueError, r"300 time points.*at least 500"),
        (dict(levels=[np.ones((2, 600))] * 2, scales=[1, 2]), ValueError, "at least 3 levels"),
        (dict(scales=[1, 4, 2]), ValueError, "strictly increasing"),
        (dict(null="shuffle"), ValueError, "unknown null 'shuffle'"),
        (dict(n_null=2), ValueError, "n_null must be >= 5"),
        (dict(n_bias=4), ValueError, "n_bias must be >= 5"),
        (dict(optimizer="sgd"), ValueError, "unknown optimizer 'sgd'"),
        (dict(z_range=(0.0, 0.1)), ValueError, "z_range must have"),
        (dict(z_range=1.0), TypeError, "z_range must be a pair"),
        (dict(test_fraction=0.95), ValueError, "test_fraction must be <= 0.9"),
        (dict(null_levels=3), TypeError, "null_levels must be a callable"),
        (dict(levels=np.zeros((3, 600))), TypeError, "levels must be a sequence"),
    ],
)
def test_bad_input_names_the_argument(kwargs, error, match):
    args = {"levels": [np.random.default_rng(0).normal(size=(2, 600))] * 3, "scales": SCALES}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        learned_dynamic_scaling(args.pop("levels"), args.pop("scales"), **args)


def test_a_missing_ml_extra_names_it(monkeypatch):
    import importlib

    import rgdata.models._ml as ml

    real = importlib.import_module

    def no_jax(name, *args):
        if name == "jax":
            raise ImportError("No module named 'jax'")
        return real(name, *args)

    monkeypatch.setattr(ml.importlib, "import_module", no_jax)
    levels = [np.random.default_rng(0).normal(size=(2, 600))] * 3
    with pytest.raises(ImportError, match=r"learned_dynamic_scaling.*rgdata\[ml\]"):
        learned_dynamic_scaling(levels, SCALES)


def test_prg_dynamics_runs_the_learned_model_with_the_unit_null():
    import rgdata
    from rgdata.diagnostics import block_dynamics, prg_dynamics

    rng = np.random.default_rng(0)
    act = rgdata.as_activity(rng.normal(size=(16, 600)).cumsum(axis=1) % 3.0, kind="calcium")
    res = rgdata.coarse.prg(act, n_levels=3, random_state=0)
    # 20 L-BFGS iterations on 200 pairs: some parametric reruns end at the grid: warned, kept
    with pytest.warns(UserWarning, match="2 of 5 parametric-bootstrap reruns put z at an end"):
        out = prg_dynamics(act, res, model="learned", random_state=0, **CHEAP)
    assert "parametric-bootstrap reruns" in out.attrs["notes"]
    assert int(np.isnan(out["z_parametric"]).sum()) == 2 and np.isfinite(out["z_bias"])
    assert out.attrs["analysis"] == "learned_dynamic_scaling"
    assert out.attrs["z_null"] == "circular_shift of every unit, same clusters"
    assert list(out["prg_level"].values) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="unknown model 'var'"):
        prg_dynamics(act, res, model="var")
    cfg = xr.DataArray(np.ones((600, 8, 8), dtype=np.int8), dims=("sample", "y", "x"))
    with pytest.raises(ValueError, match="unknown model 'var'"):
        block_dynamics(cfg, [1, 2, 4], model="var")


def test_a_z_beyond_z_range_is_nan_and_warned():
    # planted z = -2 (coarser levels faster), searched over the default (-1, 3): no interior optimum
    levels = planted_langevin_levels(SCALES, -2.0, 8.0, 4, 800, random_state=3)
    with pytest.warns(UserWarning, match=r"end of z_range=\(-1.0, 3.0\): z is NaN"):
        res = learned_dynamic_scaling(levels, SCALES, random_state=0, **CHEAP)
    assert np.isnan(res["z"]) and np.all(np.isnan(res["skill_shared"]))
    assert "end of z_range" in res.attrs["notes"]
