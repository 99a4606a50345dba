"""Null models: surrogates keep marginals, destroy what they claim, run in one call."""

import json

import numpy as np
import pytest
import xarray as xr

import rgdata
from rgdata.diagnostics import bin_width_sweep, run_with_nulls, surrogate


def correlated_spikes(rng, n=32, t=8000, trials=None):
    """Units driven by a shared slow input (so shuffles have something to destroy)."""
    shape = (t,) if trials is None else (trials, t)
    drive = rng.normal(size=shape)
    if trials is not None:
        drive = np.broadcast_to(rng.normal(size=(1, t)), shape)  # stimulus-locked
    p = 0.05 + 0.2 * (drive > 1)
    x = rng.random((n, *shape)) < p
    if trials is not None:
        x = np.moveaxis(x, 0, 1)
    return rgdata.as_activity(x.astype(np.int8), kind="spikes")


def test_shuffle_keeps_marginals_and_kills_correlations(rng):
    act = correlated_spikes(rng)
    sur = surrogate(act, "shuffle", random_state=0)
    np.testing.assert_array_equal(np.sort(sur.values, axis=1), np.sort(act.values, axis=1))
    c_data = np.corrcoef(act.values)[np.triu_indices(32, 1)].mean()
    c_sur = np.corrcoef(sur.values)[np.triu_indices(32, 1)]
    assert c_data > 0.05
    # independent units: mean pairwise correlation is 0 +- 1/sqrt(T * n_pairs)
    assert abs(c_sur.mean()) < 4 / np.sqrt(8000 * c_sur.size)
    assert sur.attrs["surrogate"] == "shuffle"


def test_circular_shift_keeps_autocorrelation(rng):
    act = correlated_spikes(rng)
    sur = surrogate(act, "circular_shift", random_state=1)
    for u in range(3):
        a, b = act.values[u], sur.values[u]
        # a circular shift: b is a rotation of a
        k = int(np.argmax([np.array_equal(np.roll(a, s), b) for s in range(a.size)]))
        np.testing.assert_array_equal(np.roll(a, k), b)


def test_trial_shuffle_keeps_stimulus_locked_psth(rng):
    act = correlated_spikes(rng, n=8, t=500, trials=20)
    sur = surrogate(act, "trial_shuffle", random_state=2)
    # per unit, the trial-averaged response (PSTH) is unchanged
    np.testing.assert_array_equal(sur.values.sum(axis=0), act.values.sum(axis=0))
    assert not np.array_equal(sur.values, act.values)
    with pytest.raises(ValueError, match="needs activity with a 'trial' dim"):
        surrogate(rgdata.stack_trials(act), "trial_shuffle")


def test_surrogates_reproducible(rng):
    act = correlated_spikes(rng)
    for m in ("shuffle", "circular_shift"):
        xr.testing.assert_identical(surrogate(act, m, 5), surrogate(act, m, 5))
        assert not np.array_equal(surrogate(act, m, 5).values, surrogate(act, m, 6).values)
    with pytest.raises(ValueError, match="unknown method 'bootstrap'"):
        surrogate(act, "bootstrap")


def test_run_with_nulls_shuffle_gives_independent_exponents(tmp_path, rng):
    act = correlated_spikes(rng, n=64, t=20000)
    res = run_with_nulls(act, ("shuffle", "random_pairing"), random_state=0)
    assert list(res["null"].values) == ["data", "shuffle", "random_pairing"]
    alpha = res["exponent"].sel(exponent_name="alpha")
    lo = res["exponent_ci_low"].sel(exponent_name="alpha")
    hi = res["exponent_ci_high"].sel(exponent_name="alpha")
    # shared drive: data alpha clearly above 1; shuffled: 1 up to the small greedy
    # selection bias O(sqrt(ln N / T)) (see test_prg)
    assert lo.sel(null="data") > 1.02
    bound = 2 * np.sqrt(2 * np.log(64) / 20000)
    assert abs(alpha.sel(null="shuffle") - 1) < bound
    beta = res["exponent"].sel(exponent_name="beta", null="shuffle")
    assert abs(beta - 1) < 0.03
    assert hi.sel(null="shuffle") < lo.sel(null="data")
    path = tmp_path / "nulls.nc"
    res.to_netcdf(path, engine="h5netcdf")
    back = xr.load_dataset(path, engine="h5netcdf")
    xr.testing.assert_allclose(back["exponent"], res["exponent"])
    # the fit of each run shown is data too: the data row equals a plain fit of the data
    assert list(back["exponent_quantity"].sel(null="shuffle").values) == [
        "variance",
        "silence_free_energy",
        "eigenvalues",
        "tau_c",
    ]
    data_fit = rgdata.diagnostics.exponent_fit(back.sel(null="data"), "alpha")
    assert float(data_fit["exponent"]) == float(alpha.sel(null="data"))
    assert data_fit.attrs["status"] == "ok" and float(data_fit["r2"]) > 0.99
    # a null's first-draw details sit next to its per-draw exponents
    assert back["exponent_blocks"].dims == ("null", "exponent_name", "block")
    assert np.isfinite(back["exponent_intercept"].sel(null="shuffle", exponent_name="alpha"))
    assert json.loads(back.attrs["null_attrs"])["random_pairing"]["pairing"] == "random"


def test_run_with_nulls_reproducible_and_trials(rng):
    act = correlated_spikes(rng, n=16, t=400, trials=10)
    a = run_with_nulls(act, ("trial_shuffle", "circular_shift"), random_state=3, n_levels=3)
    b = run_with_nulls(act, ("trial_shuffle", "circular_shift"), random_state=3, n_levels=3)
    xr.testing.assert_identical(a, b)
    assert a.attrs["trials_stacked"] == 1
    assert a.sizes["null"] == 3
    with pytest.raises(ValueError, match="needs activity with a 'trial' dim"):
        run_with_nulls(rgdata.stack_trials(act), ("trial_shuffle",))
    with pytest.raises(ValueError, match="unknown null 'phase'"):
        run_with_nulls(act, ("phase",))
    with pytest.raises(TypeError, match="sets pairing"):
        run_with_nulls(act, ("shuffle",), pairing="random")


def test_bin_width_sweep(rng):
    act = correlated_spikes(rng, n=64, t=4001)
    with pytest.warns(UserWarning, match="last 1 bin"):
        res = bin_width_sweep(act, (1, 2), random_state=0, n_levels=3)
    assert list(res["bin_factor"].values) == [1, 2]
    assert res["exponent"].dims == ("bin_factor", "exponent_name")
    # factor 1 reproduces the plain analysis
    plain = rgdata.diagnostics.fit_exponent(rgdata.coarse.prg(act, n_levels=3), "variance")
    assert float(res["exponent"].sel(bin_factor=1, exponent_name="alpha")) == float(
        plain["exponent"]
    )
    # every fit field is a variable on (bin_factor, exponent_name), none in attrs
    assert float(res["exponent_r2"].sel(bin_factor=1, exponent_name="alpha")) == float(plain["r2"])
    assert str(res["exponent_status"].sel(bin_factor=1, exponent_name="alpha").values) == "ok"
    assert "fits" not in res.attrs
    # rebinned clipped spikes at factor 2: variance at level 0 from direct rebinning
    x = act.values[:, :4000].reshape(64, 2000, 2).sum(-1).clip(0, 1)
    assert res["variance"].sel(bin_factor=2, level=0) == pytest.approx(x.var(axis=1).mean())
    with pytest.warns(UserWarning, match="last 1 bin"):
        counts = bin_width_sweep(act, (2,), counts="count", random_state=0, n_levels=3)
    xc = act.values[:, :4000].reshape(64, 2000, 2).sum(-1)
    assert counts["variance"].sel(bin_factor=2, level=0) == pytest.approx(xc.var(axis=1).mean())
    with pytest.raises(ValueError, match="unknown counts"):
        bin_width_sweep(act, (2,), counts="max")


def test_nulls_are_distributions_over_seeded_draws(rng):
    act = correlated_spikes(rng, n=64, t=4000)
    res = run_with_nulls(act, n_surrogates=4, random_state=0, n_levels=4)
    # circular shift is in the default null set
    assert list(res["null"].values) == ["data", "shuffle", "circular_shift", "random_pairing"]
    assert res.sizes["draw"] == 4 and res.attrs["n_surrogates"] == 4
    draws = res["null_exponent"].sel(null="circular_shift", exponent_name="alpha").values
    assert np.all(np.isfinite(draws)) and np.unique(draws).size == 4  # independent draws
    row = res.sel(null="circular_shift", exponent_name="alpha")
    assert float(row["exponent"]) == pytest.approx(draws.mean())
    # the 95% prediction band for one more draw: mean +- t_{3, 0.975} sd sqrt(1 + 1/4)
    half = 3.182446 * draws.std(ddof=1) * np.sqrt(1.25)
    assert float(row["exponent_ci_low"]) == pytest.approx(draws.mean() - half)
    assert float(row["exponent_ci_high"]) == pytest.approx(draws.mean() + half)
    assert float(row["exponent_null_sd"]) == pytest.approx(draws.std(ddof=1))
    data = res.sel(null="data", exponent_name="alpha")
    z = (data["exponent"] - draws.mean()) / np.sqrt(
        data["exponent_se"] ** 2 + draws.std(ddof=1) ** 2
    )
    assert float(row["z_vs_data"]) == pytest.approx(float(z))
    assert float(row["z_vs_data"]) > 3  # a shared drive: far from every null
    assert float(row["fraction_beyond_data"]) == 0.0
    assert np.all(np.isnan(res["null_exponent"].sel(null="data")))
    assert str(res["interval_kind"].sel(null="shuffle").values) == "95% prediction band of 4 draws"
    # same seed, same draws
    again = run_with_nulls(act, ("circular_shift",), n_surrogates=4, random_state=0, n_levels=4)
    assert again["null_exponent"].sizes["draw"] == 4
    with pytest.raises(ValueError, match="n_surrogates"):
        run_with_nulls(act, n_surrogates=1)
