"""MultilevelSampler: exact log q (enumeration), unbiased reweighting (Kaufman), bad input."""

import itertools
import warnings

import numpy as np
import pytest
from scipy import stats

from rgdata.lattice import exact
from rgdata.lattice._autocorr import integrated_autocorrelation_time
from rgdata.models import (
    MultilevelSampler,
    NotFittedError,
    check_model,
    importance_estimates,
    independence_metropolis,
    log_weights,
)
from rgdata.models._multilevel_kernels import enumerate_base, torus_bond_sum

BETA = 0.44


def _all_states(L):
    return enumerate_base(L, BETA)[0]


def test_log_q_sums_to_one_over_all_configurations_at_L4():
    states = _all_states(4)  # 2^16 configurations, enumerated independently of the sampler
    for kwargs in ({}, {"level_betas": [0.3]}, {"k_diag": 0.5}):
        log_q = MultilevelSampler(beta=BETA, L=4, **kwargs).fit().log_prob(states)
        assert np.exp(log_q).sum() == pytest.approx(1.0, abs=1e-12)


def test_base_level_is_the_exact_boltzmann_distribution():
    # L = base_size: q is the Boltzmann law, so every weight is Z and ESS = 1
    for size in (2, 4):
        states = _all_states(size)
        sampler = MultilevelSampler(beta=BETA, L=size, base_size=size).fit()
        logw = BETA * torus_bond_sum(states) - sampler.log_prob(states)
        exact_log_z = float(exact.enumerate_ising(size, 1 / BETA).log_z[0])
        np.testing.assert_allclose(logw, exact_log_z, rtol=0, atol=1e-10)
        est = importance_estimates(sampler.sample(500, random_state=0))
        assert float(est.ess_fraction) == pytest.approx(1.0, abs=1e-12)
        assert float(est.log_z) == pytest.approx(exact_log_z, abs=1e-10)


def test_sampling_kernel_log_q_matches_the_independent_log_prob():
    for kwargs in (
        {"L": 16},
        {"L": 32, "level_betas": [0.4, 0.5, 0.38, 0.45]},
        {"L": 8, "k_diag": 0.1},
    ):
        sampler = MultilevelSampler(beta=BETA, **kwargs).fit()
        cfg = sampler.sample(300, random_state=3)
        np.testing.assert_allclose(cfg.log_q.values, sampler.log_prob(cfg), rtol=1e-12)


def test_samples_follow_q_bond_sum_histogram_against_enumeration():
    sampler = MultilevelSampler(beta=BETA, L=4).fit()
    states = _all_states(4)
    q = np.exp(sampler.log_prob(states))
    bonds = torus_bond_sum(states)
    values = np.unique(bonds)
    expected_p = np.array([q[bonds == v].sum() for v in values])
    n = 20000
    drawn = torus_bond_sum(sampler.sample(n, random_state=5).values)
    observed = np.array([(drawn == v).sum() for v in values])
    keep = expected_p * n >= 5
    obs = np.append(observed[keep], observed[~keep].sum())
    exp_ = np.append(expected_p[keep], expected_p[~keep].sum()) * n
    assert stats.chisquare(obs, exp_).pvalue > 1e-3


def test_second_odd_odd_stage_is_the_exact_conditional_with_mixed_sites_summed_out():
    # L = 4: given the even-even and first-stage odd-odd spins, q's law of the two
    # second-stage spins equals the Boltzmann one, with the 8 mixed spins summed by brute force
    sampler = MultilevelSampler(beta=BETA, L=4).fit()
    rng = np.random.default_rng(0)
    mixed = [(y, x) for y in range(4) for x in range(4) if (y + x) % 2]
    second = [(1, 3), (3, 1)]  # odd-odd (2i+1, 2j+1) with i + j odd
    for _ in range(5):
        base = rng.choice(np.array([-1, 1], np.int8), size=(4, 4))
        log_q, log_p = [], []
        for b in itertools.product((-1, 1), repeat=2):
            cfgs = np.repeat(base[None], 256, axis=0)
            for (y, x), v in zip(second, b, strict=True):
                cfgs[:, y, x] = v
            for k, bits in enumerate(itertools.product((-1, 1), repeat=8)):
                for (y, x), v in zip(mixed, bits, strict=True):
                    cfgs[k, y, x] = v
            log_q.append(np.logaddexp.reduce(sampler.log_prob(cfgs)))
            log_p.append(np.logaddexp.reduce(BETA * torus_bond_sum(cfgs).astype(float)))
        log_q, log_p = np.array(log_q), np.array(log_p)
        np.testing.assert_allclose(
            log_q - np.logaddexp.reduce(log_q), log_p - np.logaddexp.reduce(log_p), atol=1e-12
        )


@pytest.mark.parametrize("L, n", [(4, 4000), (8, 8000), (16, 30000)])
def test_free_energy_and_energy_agree_with_kaufman_within_error_bars(L, n):
    cfg = MultilevelSampler(beta=BETA, L=L).fit().sample(n, random_state=L)
    est = importance_estimates(cfg)
    assert est.attrs["reliable"] == 1
    exact_ds = exact.kaufman(1 / BETA, L)
    z_f = (float(est.log_z) - float(exact_ds.log_z[0])) / float(est.log_z_err)
    z_e = (float(est.energy) - float(exact_ds.energy[0])) / float(est.energy_err)
    assert abs(z_f) < 4, z_f
    assert abs(z_e) < 4, z_e
    beta_f = -float(exact_ds.log_z[0]) / L**2
    assert abs(float(est.beta_free_energy) - beta_f) < 4 * float(est.beta_free_energy_err)


def test_magnetization_agrees_with_enumeration_at_L4():
    cfg = MultilevelSampler(beta=BETA, L=4).fit().sample(8000, random_state=7)
    est = importance_estimates(cfg)
    truth = exact.enumerate_ising(4, 1 / BETA)
    for name in ("abs_magnetization", "m2"):
        z = (float(est[name]) - float(truth[name][0])) / float(est[f"{name}_err"])
        assert abs(z) < 4, (name, z)


def test_independence_metropolis_chain_is_boltzmann_at_L4():
    cfg = MultilevelSampler(beta=BETA, L=4).fit().sample(20000, random_state=11)
    chain = independence_metropolis(cfg, random_state=0)
    assert 0.3 < chain.attrs["acceptance_rate"] < 1
    np.testing.assert_array_equal(chain.values[0], cfg.values[0])
    energy = -torus_bond_sum(chain.values) / 16.0
    tau, _, _ = integrated_autocorrelation_time(energy)
    se = energy.std() * np.sqrt(2 * tau / len(energy))
    truth = float(exact.kaufman(1 / BETA, 4).energy[0])
    assert abs(energy.mean() - truth) < 4 * se
    # without the correction, the raw samples are biased by many error bars
    raw = -torus_bond_sum(cfg.values) / 16.0
    assert abs(raw.mean() - truth) > 8 * raw.std() / np.sqrt(len(raw))


def test_log_weights_accept_plain_arrays():
    sampler = MultilevelSampler(beta=BETA, L=8).fit()
    cfg = sampler.sample(10, random_state=0)
    np.testing.assert_allclose(
        log_weights(cfg.values, log_q=cfg.log_q.values, beta=BETA), log_weights(cfg)
    )


def test_low_ess_warns_and_is_recorded():
    cfg = MultilevelSampler(beta=BETA, L=32).fit().sample(40, random_state=0)
    with pytest.warns(UserWarning, match="ESS = .* error bars are not reliable"):
        est = importance_estimates(cfg)
    assert est.attrs["reliable"] == 0


def test_follows_the_model_protocol():
    X = MultilevelSampler(beta=BETA, L=8).fit().sample(6, random_state=0)
    check_model(MultilevelSampler(beta=BETA, L=8, random_state=0), X)
    ds = MultilevelSampler(beta=BETA, L=16).fit().to_dataset()
    np.testing.assert_array_equal(ds.scale.values, [4, 8, 16])
    assert ds.attrs["base_beta"] == BETA


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("L", [12, 1, 2048])
def test_L_must_be_a_power_of_two(L):
    with pytest.raises(ValueError, match=rf"L must be a power of two between 2 and 1024.*got {L}"):
        MultilevelSampler(beta=BETA, L=L).fit()


@pytest.mark.parametrize("beta", [0.0, -0.2, 1.5])
def test_beta_outside_the_supported_range(beta):
    with pytest.raises(ValueError, match=r"beta must be in \(0.0, 1.0\].*T >= 1.*got"):
        MultilevelSampler(beta=beta, L=8).fit()


def test_other_bad_input():
    with pytest.raises(TypeError, match="beta must be a real number"):
        MultilevelSampler(beta="hot", L=8).fit()
    with pytest.raises(ValueError, match=r"base_size must be one of \(2, 4\)"):
        MultilevelSampler(L=8, base_size=3).fit()
    with pytest.raises(ValueError, match="L must be a power of two between 4"):
        MultilevelSampler(L=2, base_size=4).fit()
    with pytest.raises(ValueError, match="level_betas must hold one coupling per coarser level"):
        MultilevelSampler(L=8, level_betas=[0.4]).fit()
    with pytest.raises(NotFittedError, match=r"call fit\(\) first"):
        MultilevelSampler(L=8).sample(3)
    with pytest.raises(NotFittedError):
        MultilevelSampler(L=8).log_prob(np.ones((1, 8, 8)))
    sampler = MultilevelSampler(L=8).fit()
    with pytest.raises(ValueError, match=r"X must have shape \(n, 8, 8\)"):
        sampler.log_prob(np.ones((2, 4, 4)))
    with pytest.raises(ValueError, match="only -1 and \\+1"):
        sampler.log_prob(np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match="no 'log_q' coordinate"):
        importance_estimates(sampler.sample(4, random_state=0).drop_vars("log_q"))
    with pytest.raises(TypeError, match="log_q must be given"):
        importance_estimates(np.ones((4, 8, 8)), beta=BETA)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sampler.sample(3, random_state=0)


def test_validate_multilevel_table_and_bad_input():
    from rgdata.models import validate_multilevel
    from rgdata.viz import plot_multilevel_deviation, plot_multilevel_ess

    res = validate_multilevel({2: 50, 4: 3000}, random_state=0)
    assert res.ess_fraction.sel(sampler="heat_bath", size=2) == pytest.approx(1.0)
    np.testing.assert_allclose(
        res.log_z_exact, [exact.log_partition_function(1 / BETA, L) for L in (2, 4)]
    )
    assert np.isnan(res.ess.sel(sampler="learned")).all()
    assert float(res.rigcs_ess_fraction.sel(size=4)) == 0.986
    # 50 samples are below MIN_ESS = 100 even with exact weights; 3000 at L = 4 are not
    np.testing.assert_array_equal(res.reliable.sel(sampler="heat_bath"), [0, 1])
    fig = plot_multilevel_ess(res)
    assert len(fig.axes[0].lines) == 2  # heat bath and the RiGCS reference
    plot_multilevel_deviation(res, "energy")
    with pytest.raises(
        ValueError, match=r"result lacks variable\(s\) \['nope_err', 'nope_exact'\]"
    ):
        plot_multilevel_deviation(res.rename(energy="nope"), "nope")
    with pytest.raises(TypeError, match=r"sizes must be a non-empty dict \{L: n_samples\}"):
        validate_multilevel([4, 8])
    with pytest.raises(ValueError, match="sizes key L must be a power of two"):
        validate_multilevel({6: 10})
    with pytest.raises(
        ValueError, match="learned_sizes must be keys of sizes that are >= 4, got 8"
    ):
        validate_multilevel({4: 10}, learned_sizes=(8,))
