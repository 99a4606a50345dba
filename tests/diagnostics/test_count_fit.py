"""count_distribution_z: rms z-score of a predicted P(K) over the counts seen in the data."""

import numpy as np
import pytest
import xarray as xr

from rgdata.diagnostics import count_distribution_z


def _gof():
    return xr.Dataset(
        {
            "pk_data": ("count", [0.6, 0.3, 0.1, 0.0]),
            "pk_se": ("count", [0.05, 0.05, 0.02, 0.01]),
            "pk_model": ("count", [0.5, 0.4, 0.06, 0.04]),
            "pk_independent": ("count", [0.6, 0.3, 0.1, 0.5]),
        }
    )


def test_rms_over_seen_counts_only():
    # z = -2, 2, -2 on the seen counts; the unseen count (z = 4) is left out
    assert count_distribution_z(_gof()) == pytest.approx(2.0)
    # a prediction equal to the data on every seen count scores 0 whatever it says elsewhere
    assert count_distribution_z(_gof(), "pk_independent") == 0.0


def test_no_seen_count_and_bad_input():
    gof = _gof().assign(pk_data=("count", np.zeros(4)))
    assert np.isnan(count_distribution_z(gof))
    with pytest.raises(ValueError, match=r"gof lacks \['pk_kpairwise'\]"):
        count_distribution_z(_gof(), "pk_kpairwise")
    with pytest.raises(TypeError, match="gof must be an xarray.Dataset"):
        count_distribution_z({"pk_data": 1})
