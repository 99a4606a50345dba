"""Slow physics check of dynamic_scaling: the dynamic exponent of heat-bath Ising at T_c."""

import numpy as np
import pytest

import rgdata
from rgdata.diagnostics import dynamic_scaling


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:sample_ising.*correlated:UserWarning")  # a time series
def test_heat_bath_ising_at_tc_has_dynamic_exponent_2_17():
    """Heat-bath dynamics at T_c: e-folding time of the magnetization across L = 8, 12, 16.

    Four chains of 2^17 sweeps per size (over 100 relaxation times at L = 16); the
    fit gives z = 2.11-2.14 +- 0.12 here, against z = 2.1665(12) (Nightingale and
    Bloete 1996). Larger L need > 2^19 sweeps per size for the same error.
    """
    t_c = 2 / np.log(1 + np.sqrt(2))
    sizes, n_chains, n_time, chunk = [8, 12, 16], 4, 2**17, 2**15
    levels = []
    for side in sizes:
        chains = []
        for c in range(n_chains):
            seed = 1000 * side + 10 * c
            cfg = rgdata.lattice.sample_ising(
                side,
                t_c,
                chunk,
                algorithm="heat_bath",
                burn_in=40 * side**2,
                spacing=1,
                random_state=seed,
            )
            m = [cfg.values.sum(axis=(1, 2))]
            while len(m) * chunk < n_time:
                cfg = rgdata.lattice.sample_ising(
                    side,
                    t_c,
                    chunk,
                    algorithm="heat_bath",
                    burn_in=0,
                    spacing=1,
                    random_state=seed + len(m),
                    initial=cfg,
                )
                m.append(cfg.values.sum(axis=(1, 2)))
            chains.append(np.concatenate(m))
        levels.append(np.stack(chains))
    res = dynamic_scaling(levels, sizes, n_boot=200, n_null=2, random_state=0)
    assert res["z_ci_low"].item() < 2.1665 < res["z_ci_high"].item()
    assert abs(res["z"].item() - 2.1665) < 3 * res["z_se"].item()
