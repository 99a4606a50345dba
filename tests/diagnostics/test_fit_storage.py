"""Fitted numbers live in variables, never in JSON strings in attrs (issue #15, item 2)."""

import json
import warnings

import numpy as np
import pytest
import xarray as xr

import rgdata
from rgdata.diagnostics import bin_width_sweep, fit_exponent, fit_exponents, run_with_nulls
from rgdata.flow import estimate_flow

#: keys of the old fit dicts / flow JSON attrs; none may appear inside a JSON attr
FIT_KEYS = ("exponent", "ci_low", "ci_high", "intercept", "r2", "block_exponents", "se")


def fit_json_attrs(ds: xr.Dataset) -> list[str]:
    """Attrs of *ds* that hold fitted numbers as JSON (or under a fit's name)."""
    bad = []
    for key, value in ds.attrs.items():
        if key in ("fits", "reference") or key.endswith("_fit"):
            bad.append(key)
            continue
        if not isinstance(value, str) or not value.lstrip().startswith(("{", "[{")):
            continue
        parsed = json.loads(value)
        records = parsed.values() if isinstance(parsed, dict) else parsed
        text = json.dumps(parsed)
        if any(f'"{k}"' in text for k in FIT_KEYS) or any(
            isinstance(r, dict) and "exponent" in r for r in records
        ):
            bad.append(key)
    return bad


@pytest.fixture(scope="module")
def spikes():
    rng = np.random.default_rng(0)
    drive = rng.normal(size=3000) > 1
    x = rng.random((32, 3000)) < 0.05 + 0.2 * drive
    return rgdata.as_activity(x.astype(np.int8), kind="spikes")


def test_no_fit_json_in_attrs(spikes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rgdata.coarse.prg(spikes, random_state=0)
        fit = fit_exponent(res, "variance")
        fitted = fit_exponents(res)
        nulls = run_with_nulls(spikes, ("shuffle",), n_surrogates=2, random_state=0, n_levels=3)
        sweep = bin_width_sweep(spikes, (1, 2), random_state=0, n_levels=3)
    # the fit itself: plain strings only
    assert all(isinstance(v, str) and not v.startswith(("{", "[")) for v in fit.attrs.values())
    for ds in (fitted, nulls, sweep):
        assert fit_json_attrs(ds) == []
        assert np.isfinite(ds["exponent"].sel(exponent_name="alpha")).all()
    # the scan does catch what the issue describes
    legacy = res.assign_attrs(alpha_fit=json.dumps({"exponent": 1.1}), other='[{"r2": 0.9}]')
    assert fit_json_attrs(legacy) == ["alpha_fit", "other"]


def test_flow_reference_is_a_variable_and_round_trips(tmp_path):
    g = np.random.default_rng(3).normal(size=(5, 6)).cumsum(axis=1) * 0.1
    da = xr.DataArray(g, dims=("trajectory", "level"))
    flow = estimate_flow(da, np.full(g.shape, 0.05), reference=0.0, random_state=3, n_resamples=20)
    assert fit_json_attrs(flow) == []
    assert flow["reference"].dims == ("parameter",) and float(flow["reference"][0]) == 0.0
    assert all(not str(v).startswith(("{", "[")) for v in flow.attrs.values())
    path = tmp_path / "flow.nc"
    flow.to_netcdf(path, engine="h5netcdf")
    back = xr.load_dataset(path, engine="h5netcdf")
    for v in ("reference", "fixed_points", "fixed_points_err", "eigenvalues_real"):
        np.testing.assert_array_equal(back[v].values, flow[v].values)
