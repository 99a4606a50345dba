"""MCRG jackknife blocks longer than the input's tau_int, and the truncation columns."""

import numpy as np
import pytest

import rgdata
from rgdata.lattice import mcrg
from rgdata.lattice.sampling import sample_ising

TC = 2.0 / np.log(1.0 + np.sqrt(2.0))


def test_jackknife_blocks_follow_the_input_tau():
    # spacing = 1 sweep at T_c: tau of the samples ~ 10, so 100 blocks of 20 samples
    # are too short; mcrg must use blocks of >= 5 tau
    with pytest.warns(UserWarning, match="samples are correlated"):
        cfg = sample_ising(16, TC, 2000, algorithm="metropolis", spacing=1, random_state=0)
    tau = cfg.attrs["tau_int_samples"]
    with pytest.warns(UserWarning, match="jackknife blocks"):
        res = mcrg(cfg, even=2, odd=1, levels=1, n_jackknife=100, random_state=0)
    assert res.attrs["n_jackknife_requested"] == 100
    assert res.attrs["n_jackknife"] < 100
    assert res.attrs["jackknife_block_length"] >= 5 * tau
    assert res.attrs["tau_int_input"] == pytest.approx(tau)


def test_tau_estimated_from_energy_without_attrs():
    rng = np.random.default_rng(0)
    spins = rng.choice(np.array([-1, 1], np.int8), (200, 8, 8))
    res = mcrg(rgdata.as_configurations(spins), even=2, odd=1, levels=1, random_state=0)
    assert res.attrs["tau_int_input_source"] == "estimated from the energy series"
    assert res.attrs["tau_int_input"] < 1.0  # independent spins
    assert res.attrs["n_jackknife"] == 20

    # a strongly correlated sequence (each sample repeated 10 times): fewer, longer blocks
    with pytest.warns(UserWarning, match="jackknife blocks"):
        slow = mcrg(
            rgdata.as_configurations(np.repeat(spins[:40], 10, axis=0)),
            even=2, odd=1, levels=1, random_state=0,
        )  # fmt: skip
    assert slow.attrs["tau_int_input"] > 3
    assert slow.attrs["jackknife_block_length"] >= 5 * slow.attrs["tau_int_input"]


def test_truncation_and_level_difference():
    cfg = sample_ising(16, TC, 200, algorithm="wolff", random_state=1)
    res = mcrg(cfg, even=3, odd=2, levels=2, random_state=0)
    y = res.y_t.values
    np.testing.assert_allclose(res.y_t_truncation.values[:, 1:], np.abs(y[:, 1:] - y[:, :-1]))
    assert np.isnan(res.y_t_truncation.values[:, 0]).all()
    np.testing.assert_allclose(res.y_t_level_difference.values[1], np.abs(y[1] - y[0]))
    assert np.isnan(res.y_h_level_difference.values[0]).all()
    k = int(res.attrs["max_operators_even"][-1]) - 1
    assert res.attrs["y_t_estimate_truncation"] == pytest.approx(abs(y[-1, k] - y[-1, k - 1]))
    assert res.attrs["y_t_estimate_level_difference"] == pytest.approx(abs(y[-1, k] - y[0, k]))
