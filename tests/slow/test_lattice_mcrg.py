"""Slow MCRG check: 2D Ising at T_c, 2x2 majority blocks (Swendsen 1979).

Targets (project issue #5): y_t within 0.03 of 1 once two or more even
operators are used (levels 2 and 3; level 1 carries the largest truncation
error, as in Swendsen's tables); y_h within 0.01 of 15/8.
"""

import numpy as np
import pytest

from rgdata.lattice import exact, mcrg, sample_ising

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def result():
    cfg = sample_ising(64, exact.TC_2D, 8000, algorithm="wolff", spacing=1, random_state=2024)
    return mcrg(cfg, b=2, rule="majority", random_state=0)


def test_y_t(result):
    y = result.y_t.sel(level=[2, 3], n_even=[2, 3, 4])
    assert np.all(np.abs(y - 1.0) < 0.03), y.values
    # and the statistical error is smaller than the target
    assert float(result.y_t_err.sel(level=[2, 3], n_even=[2, 3, 4]).max()) < 0.03


def test_y_h(result):
    y = result.y_h.sel(level=[1, 2, 3])
    assert np.all(np.abs(y - 15 / 8) < 0.01), y.values
    assert float(result.y_h_err.sel(level=[1, 2, 3]).max()) < 0.01
