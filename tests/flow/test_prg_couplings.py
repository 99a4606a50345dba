"""Jackknife of pairwise couplings (used by the flow section) against refits and a planted model."""

import numpy as np
import xarray as xr

from rgdata._jackknife import jackknife_error
from rgdata.flow import _prg_couplings as pc
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


def exact_fit(spk):
    m = PairwiseMaxEnt(method="exact", coding="01").fit(
        xr.DataArray(spk, dims=("unit", "time"), attrs={"kind": "spikes"})
    )
    return m.h_, m.J_


def test_linear_response_jackknife_matches_refits():
    spk, _, _ = planted(4, 20_000, 0)
    res = pc.pairwise_with_jackknife(spk, 5, exact_fit)
    edges = np.linspace(0, spk.shape[1], 6).astype(int)
    for b in range(5):
        keep = np.r_[0 : edges[b], edges[b + 1] : spk.shape[1]]
        h_b, J_b = exact_fit(spk[:, keep])
        # one Newton step reproduces the refit to second order in the block's influence
        np.testing.assert_allclose(res["J_rep"][b], J_b, atol=2e-3)
        np.testing.assert_allclose(res["h_rep"][b], h_b, atol=2e-3)


def test_planted_mean_coupling_within_jackknife_error():
    z = []
    for seed in range(6):
        spk, _, J = planted(5, 20_000, 10 + seed)
        res = pc.pairwise_with_jackknife(spk, 10, exact_fit)
        se = jackknife_error(pc.offdiag_mean(res["J_rep"]))
        z.append((pc.offdiag_mean(res["J"]) - pc.offdiag_mean(J)) / se)
    z = np.array(z)
    assert np.all(np.abs(z) < 4)
    assert np.std(z) < 2.5  # errors not grossly underestimated


def test_cluster_activity_is_any_spike():
    x = np.array([[0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0]], dtype=np.int8)
    out = pc.cluster_activity(x, np.array([0, 0, 1]), np.array([0, 1]))
    np.testing.assert_array_equal(out, [[0, 1, 1, 0], [1, 0, 0, 0]])
