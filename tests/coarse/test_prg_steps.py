"""The named steps of prg, run by hand on bare arrays, give what prg reports."""

import numpy as np
import pytest

import rgdata
from rgdata.coarse import prg
from rgdata.coarse._prg_levels import choose_pairs, run_levels
from rgdata.coarse._prg_setup import check_options, prepare_data

OPTIONS = dict(
    n_levels=None, normalization="auto", pairing="correlation", n_blocks="auto",
    max_lag="auto", n_bins=50, max_eigen_size=256, spectrum="covariance", holdout=False,
    corr_dtype="float32", random_state=0, progress=False, max_memory=None,
)  # fmt: skip


def test_level_pass_matches_prg_on_spikes():
    x = (np.random.default_rng(3).random((24, 1500)) < 0.15).astype(np.int8)
    act = rgdata.as_activity(x, kind="spikes")
    res = prg(act)
    opts = check_options(act, **OPTIONS)
    data = prepare_data(act, opts)
    lp = run_levels(data, opts, progress=False)
    np.testing.assert_array_equal(lp.membership, res["membership"].values)
    np.testing.assert_array_equal(lp.variance, res["variance"].values)
    np.testing.assert_array_equal(lp.dist, res["distribution"].values)
    np.testing.assert_array_equal(lp.n_clusters, res["n_clusters"].values)


def test_choose_pairs_pairs_the_planted_twins():
    rng = np.random.default_rng(1)
    base = rng.standard_normal((3, 400))
    y = np.repeat(base, 2, axis=0) + 0.05 * rng.standard_normal((6, 400))
    act = rgdata.as_activity(y, kind="continuous")
    opts = check_options(act, **dict(OPTIONS, n_levels=1))
    pairs = choose_pairs(y.astype(np.float32), opts)
    assert sorted(map(tuple, np.sort(pairs, axis=1))) == [(0, 1), (2, 3), (4, 5)]


def test_check_options_names_the_argument():
    act = rgdata.as_activity(np.random.default_rng(0).standard_normal((8, 200)))
    with pytest.raises(ValueError, match=r"n_levels=4 needs at least 2\*\*4 = 16 units"):
        check_options(act, **dict(OPTIONS, n_levels=4))
