"""The PRG coupling flow: jackknife of pairwise couplings against refits and a planted model,
cluster indicators through coarse_activity, and the public prg_couplings / prg_coupling_flow."""

import warnings

import numpy as np
import pytest
import xarray as xr

import rgdata
from rgdata._jackknife import jackknife_error
from rgdata.flow import _prg_couplings as pc
from rgdata.flow import (
    cluster_indicators,
    coupling_levels,
    estimate_flow_auto,
    prg_coupling_flow,
    prg_couplings,
)
from rgdata.maxent import PairwiseMaxEnt


def planted(n, t, seed):
    rng = np.random.default_rng(seed)
    h = rng.normal(-1.5, 0.3, size=n)
    J = np.zeros((n, n))
    iu = np.triu_indices(n, 1)
    J[iu] = rng.normal(0.5, 0.3, size=iu[0].size)
    J = J + J.T
    states = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(float)
    logw = states @ h + 0.5 * np.einsum("si,ij,sj->s", states, J, states)
    p = np.exp(logw - logw.max())
    p /= p.sum()
    idx = rng.choice(2**n, size=t, p=p)
    return states[idx].T.astype(np.int8), h, J


def exact_model(spk):
    return PairwiseMaxEnt(method="exact", coding="01").fit(rgdata.as_activity(spk, kind="spikes"))


def test_linear_response_jackknife_matches_refits():
    spk, _, _ = planted(4, 20_000, 0)
    res = pc.pairwise_with_jackknife(exact_model(spk), spk, 5)
    edges = np.linspace(0, spk.shape[1], 6).astype(int)
    for b in range(5):
        keep = np.r_[0 : edges[b], edges[b + 1] : spk.shape[1]]
        refit = exact_model(spk[:, keep])
        # one Newton step reproduces the refit to second order in the block's influence
        np.testing.assert_allclose(res["J_rep"][b], refit.J_, atol=2e-3)
        np.testing.assert_allclose(res["h_rep"][b], refit.h_, atol=2e-3)


def test_fisher_information_comes_from_the_models_enumeration():
    # the jackknife reads the fitted model's probabilities: a model whose table is replaced
    # by the uniform distribution gives other replicates (nothing is re-enumerated)
    spk, _, _ = planted(4, 5000, 1)
    model = exact_model(spk)
    res = pc.pairwise_with_jackknife(model, spk, 4)
    exact = model._exact()
    exact.p = np.full_like(exact.p, 1.0 / exact.p.size)
    res_uniform = pc.pairwise_with_jackknife(model, spk, 4)
    assert not np.allclose(res["J_rep"], res_uniform["J_rep"])


def test_planted_mean_coupling_within_jackknife_error():
    z = []
    for seed in range(6):
        spk, _, J = planted(5, 20_000, 10 + seed)
        res = pc.pairwise_with_jackknife(exact_model(spk), spk, 10)
        se = jackknife_error(pc.offdiag_mean(res["J_rep"]))
        z.append((pc.offdiag_mean(res["J"]) - pc.offdiag_mean(J)) / se)
    z = np.array(z)
    assert np.all(np.abs(z) < 4)
    assert np.std(z) < 2.5  # errors not grossly underestimated


def _spikes(n=32, t=4000, seed=0):
    rng = np.random.default_rng(seed)
    field = rng.normal(size=(1, t)) + rng.normal(size=(n, t))
    return rgdata.as_activity((field > 1.8).astype(np.int8), kind="spikes")


def _prg(act):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return rgdata.coarse.prg(act, 3)


def test_cluster_indicators_are_any_unit_active():
    act = _spikes(n=16, t=500)
    res = _prg(act)
    ind = cluster_indicators(res, act, 2, [0, 3])
    members = res["membership"].values[2]
    for k, c in enumerate([0, 3]):
        expected = (act.values[members == c] > 0).any(axis=0)
        np.testing.assert_array_equal(ind.values[k], expected)
    assert ind.attrs["kind"] == "spikes" and ind.attrs["cluster_size"] == 4
    np.testing.assert_array_equal(ind["unit"].values, [0, 3])


def test_cluster_indicators_apply_the_membership_to_a_surrogate():
    act = _spikes(n=16, t=500)
    res = _prg(act)
    null = rgdata.diagnostics.surrogate(act, "circular_shift", random_state=1)
    with pytest.raises(ValueError, match="not the data the result came from"):
        rgdata.coarse.coarse_activity(res, null, 1)  # coarse_activity refuses it
    ind = cluster_indicators(res, act, 1, data=null)
    members = res["membership"].values[1]
    np.testing.assert_array_equal(ind.values[2], (null.values[members == 2] > 0).any(axis=0))
    assert ind.attrs["surrogate"] == "circular_shift"
    with pytest.raises(ValueError, match="data must have the units and time points"):
        cluster_indicators(res, act, 1, data=null.isel(time=slice(0, 100)))
    with pytest.raises(ValueError, match="clusters must lie in 0..3"):
        cluster_indicators(res, act, 2, [4])


def test_spins_are_active_when_up():
    act = _spikes(n=16, t=500)
    spins = rgdata.as_activity(2 * act.values - 1, kind="spins")
    res = _prg(spins)
    ind = cluster_indicators(res, spins, 1, [1, 2])
    members = res["membership"].values[1]
    np.testing.assert_array_equal(ind.values[0], (spins.values[members == 1] == 1).any(axis=0))


def test_prg_couplings_schema_null_and_flow():
    act = _spikes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        cp = prg_couplings(act, n_clusters=4, n_blocks=5, random_state=0)
    assert coupling_levels(32, 4) == 3 and cp.sizes == {"level": 4, "block": 5, "cluster": 4}
    np.testing.assert_array_equal(cp["cluster_size"].values, [1, 2, 4, 8])
    # the error is the jackknife spread of the stored replicates
    np.testing.assert_allclose(cp["mean_J_err"], jackknife_error(cp["mean_J_replicates"], axis=1))
    # one shared drive: the coupling of the finest level exceeds its shifted null
    assert cp["mean_J"][0] > cp["mean_J_null"][0] + 4 * cp["mean_J_err"][0]
    again = prg_couplings(act, n_clusters=4, n_blocks=5, random_state=0)
    xr.testing.assert_identical(cp, again)  # seeded
    flow = prg_coupling_flow(cp, model="linear", random_state=0)
    np.testing.assert_allclose(flow["params"].values[0, :, 0], cp["mean_J"].values)
    assert flow.attrs["model"] == "linear" and "warnings" in flow.attrs


def test_prg_couplings_rejects_too_few_levels_and_bad_input():
    act = _spikes(n=12, t=500)
    with pytest.raises(ValueError, match="fewer than 3 PRG levels"):
        prg_couplings(act, n_clusters=4)
    with pytest.raises(ValueError, match="n_clusters"):
        coupling_levels(100, 17)
    with pytest.raises(TypeError, match="couplings must be the xarray.Dataset"):
        prg_coupling_flow(xr.Dataset())


def test_estimate_flow_auto_keeps_the_smaller_chi2():
    rng = np.random.default_rng(0)
    g = [0.8]
    for _ in range(7):
        g.append(0.5 * g[-1] + 0.3 * g[-1] ** 2)
    g = np.array(g) + rng.normal(0, 1e-3, len(g))
    da = xr.DataArray(g[None, :, None], dims=("trajectory", "level", "parameter"))
    cov = np.eye(len(g)) * 1e-6
    best = estimate_flow_auto(da, cov, random_state=0)
    assert best.attrs["model"] == "quadratic" and "linear chi2/dof" in best.attrs["model_choice"]
    assert estimate_flow_auto(da.isel(level=slice(0, 2)), cov[:2, :2]) is None
    with pytest.raises(ValueError, match="model"):
        estimate_flow_auto(da, cov, model="cubic")
