"""MCRG: operator values by hand, and the analytic T = infinity and T = 0 fixed points."""

import json

import numpy as np
import pytest
import xarray as xr

import rgdata
from rgdata.lattice import coupling_operators, default_operators, mcrg
from rgdata.lattice._mcrg_operators import orientations


def _random(n, L, seed=0, dim=2):
    rng = np.random.default_rng(seed)
    return rgdata.as_configurations(rng.choice(np.array([-1, 1], np.int8), (n,) + (L,) * dim))


def test_orientation_counts():
    ops2 = default_operators(2, "even")
    assert [len(orientations(ops2[k], 2)) for k in ("nn", "nnn", "plaquette", "knight")] == [
        2,
        2,
        1,
        4,
    ]
    assert len(orientations(default_operators(2, "odd")["corner3"], 2)) == 4
    ops3 = default_operators(3, "even")
    assert [len(orientations(ops3[k], 3)) for k in ("nn", "nnn", "body", "plaquette")] == [
        3,
        6,
        4,
        3,
    ]


def test_operator_values_by_hand():
    up = rgdata.as_configurations(np.ones((1, 4, 4), np.int8))
    vals = coupling_operators(up, ["nn", "nnn", "third", "plaquette", "knight"])
    np.testing.assert_array_equal(vals.values[0], [32, 32, 32, 16, 64])
    board = (np.indices((4, 4)).sum(0) % 2 * 2 - 1).astype(np.int8)
    vals = coupling_operators(rgdata.as_configurations(board[None]), ["nn", "nnn", "plaquette"])
    np.testing.assert_array_equal(vals.values[0], [-32, 32, 16])
    odd = coupling_operators(up, None, sector="odd")
    np.testing.assert_array_equal(odd.values[0], [16, 64, 32, 32])
    # a single flipped spin in an all-up 6x6 lattice: nn loses 2*4 bonds
    one = np.ones((1, 6, 6), np.int8)
    one[0, 2, 3] = -1
    vals = coupling_operators(rgdata.as_configurations(one), ["nn", "plaquette"])
    np.testing.assert_array_equal(vals.values[0], [72 - 8, 36 - 8])
    # against an explicit loop for a random lattice
    rng = np.random.default_rng(0)
    s = rng.choice(np.array([-1, 1], np.int8), (5, 5))
    loop = sum(
        s[y, x] * s[(y + 1) % 5, (x + 2) % 5]
        + s[y, x] * s[(y + 2) % 5, (x + 1) % 5]
        + s[y, x] * s[(y + 1) % 5, (x - 2) % 5]
        + s[y, x] * s[(y + 2) % 5, (x - 1) % 5]
        for y in range(5)
        for x in range(5)
    )
    assert coupling_operators(rgdata.as_configurations(s[None]), ["knight"]).item() == loop


def test_infinite_temperature_fixed_point():
    """At K = 0 the 2x2 majority map is linear and triangular (see docs/lattice.md).

    With a = E[s_i S_block] = 3/8 for random tie-breaks: dK'_nn/dK_nn = 2 a^2 = 9/32,
    dK'_nnn/dK_nnn = a^2 = 9/64, plaquette a^4; odd: dh'/dh = 4 a = 3/2.
    """
    cfg = _random(4000, 16, seed=1)
    res = mcrg(cfg, even=["nn", "nnn", "plaquette"], odd=None, levels=1, random_state=0)
    ev = res.eigenvalues_even.sel(level=1, n_even=3).values
    err = res.eigenvalues_even_err.sel(level=1, n_even=3).values
    np.testing.assert_array_less(np.abs(ev[:3] - [9 / 32, 9 / 64, 81 / 4096]), 4 * err[:3])
    lead_odd = res.eigenvalues_odd.sel(level=1, mode=0).values
    lead_err = res.eigenvalues_odd_err.sel(level=1, mode=0).values
    np.testing.assert_array_less(np.abs(lead_odd - 1.5), 4 * lead_err)
    # y_t strongly irrelevant: lambda << b^d
    assert res.y_t.sel(level=1, n_even=3) < -1.0
    assert res.attrs["y_t_exact"] == 1.0 and res.attrs["y_h_exact"] == 15 / 8


def test_reproducible_and_roundtrip(tmp_path):
    cfg = _random(200, 8, seed=2)
    a = mcrg(cfg, even=2, odd=2, random_state=3)
    b = mcrg(cfg, even=2, odd=2, random_state=3)
    xr.testing.assert_identical(a, b)
    assert a.sizes["level"] == 1  # 8 -> 4, the default keeps sides >= 4
    a.to_netcdf(tmp_path / "m.nc", engine="h5netcdf")
    back = xr.load_dataset(tmp_path / "m.nc", engine="h5netcdf")
    np.testing.assert_allclose(back.y_t, a.y_t)
    assert json.loads(back.attrs["even_operators"])["nn"] == [[0, 0], [0, 1]]


def test_ordered_lattice_gives_discontinuity_fixed_point():
    # all spins up: the odd eigenvalue is b^d (y_h = d, the T = 0 fixed point);
    # the even covariances vanish: singular, reported as NaN with a warning
    up = rgdata.as_configurations(np.ones((64, 16, 16), np.int8))
    with pytest.warns(UserWarning, match="singular"):
        res = mcrg(up, even=2, odd=1, levels=2)
    np.testing.assert_allclose(res.y_h.sel(n_odd=1), 2.0)
    assert np.isnan(res.y_t).all()


def test_3d_runs():
    res = mcrg(_random(80, 8, dim=3), even=3, odd=2, levels=1, random_state=0)
    assert np.all(np.isfinite(res.eigenvalues_even.sel(mode=0)))
    assert res.attrs["dim"] == 3 and res.attrs["y_t_exact"] == pytest.approx(1.5874)


def test_errors():
    cfg = _random(100, 8)
    with pytest.raises(ValueError, match="unknown even operator 'foo'"):
        mcrg(cfg, even=["nn", "foo"])
    with pytest.raises(ValueError, match="needs an even number"):
        mcrg(cfg, even={"bad": ((0, 0), (0, 1), (1, 1))})
    with pytest.raises(ValueError, match="at least 2 \\* n_jackknife = 40"):
        mcrg(_random(30, 8), even=1)
    with pytest.raises(ValueError, match="does not allow 3 level"):
        mcrg(cfg, levels=3)
    with pytest.raises(ValueError, match="cannot be blocked"):
        mcrg(_random(100, 6))
    with pytest.raises(ValueError, match="assumes h = 0"):
        mcrg(rgdata.as_configurations(cfg.values, h=0.1))
    with pytest.raises(TypeError, match="even must be None, an int"):
        mcrg(cfg, even=2.5)


def test_operator_arguments_share_one_parser_with_lattice_couplings():
    """even=/odd= and lattice_couplings(operators=) are read by one parser: same messages."""
    cfg = _random(100, 8)
    with pytest.raises(TypeError, match=r"even must be .* got the string 'nn' \(wrap one name"):
        mcrg(cfg, even="nn")
    with pytest.raises(ValueError, match="unknown odd operator 3; accepted: magnetization"):
        mcrg(cfg, odd=["magnetization", 3])
    with pytest.raises(ValueError, match="odd must be <= 4, got 5"):
        mcrg(cfg, odd=5)


def test_infinite_temperature_b3_majority_and_decimation():
    """b = 3 (no ties): a = E[s_i S] = 2 P(Bin(8, 1/2) >= 4) - 1 = 35/128, so
    dh'/dh = 9 a and dK'_nn/dK_nn = 3 a^2 (three bonds join adjacent blocks).
    Decimation keeps one spin per block: dh'/dh = 1 and no nn bond survives (0)."""
    cfg = _random(3000, 18, seed=4)
    a = 35 / 128
    res = mcrg(cfg, b=3, even=["nn"], odd=["magnetization"], levels=1)
    for var, want in (("eigenvalues_even", 3 * a**2), ("eigenvalues_odd", 9 * a)):
        got = float(res[var].sel(level=1, mode=0).isel({var.replace("eigenvalues", "n"): 0}))
        err = float(
            res[f"{var}_err"].sel(level=1, mode=0).isel({var.replace("eigenvalues", "n"): 0})
        )
        assert abs(got - want) < 4 * err, (var, got, err, want)
    dec = mcrg(cfg, b=3, rule="decimation", even=["nn"], odd=["magnetization"], levels=1)
    lam_h = float(dec.eigenvalues_odd.sel(level=1, n_odd=1, mode=0))
    err_h = float(dec.eigenvalues_odd_err.sel(level=1, n_odd=1, mode=0))
    assert abs(lam_h - 1.0) < 4 * err_h
    lam_t = float(dec.eigenvalues_even.sel(level=1, n_even=1, mode=0))
    err_t = float(dec.eigenvalues_even_err.sel(level=1, n_even=1, mode=0))
    assert abs(lam_t) < 4 * err_t
