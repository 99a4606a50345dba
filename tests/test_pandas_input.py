"""A pandas DataFrame as input: labels kept, the layout named when the reading is wrong."""

import numpy as np
import pandas as pd
import pytest

import rgdata


@pytest.fixture
def returns_frame():
    rng = np.random.default_rng(3)
    dates = pd.bdate_range("2021-01-04", periods=400)
    return pd.DataFrame(rng.normal(size=(400, 6)), index=dates, columns=list("ABCDEF"))


def test_dates_and_tickers_are_kept(returns_frame):
    act = rgdata.as_activity(returns_frame, kind="returns")
    assert act.dims == ("unit", "time")
    assert list(act["unit"].values) == list("ABCDEF")
    np.testing.assert_array_equal(act["time"].values, returns_frame.index.values)
    assert np.issubdtype(act["time"].dtype, np.datetime64)
    np.testing.assert_array_equal(act.values, returns_frame.to_numpy().T)
    assert act.attrs["source"] == "pandas.DataFrame"


def test_explicit_layouts_agree(returns_frame):
    by_rows = rgdata.as_activity(returns_frame, kind="returns", layout="time_unit")
    by_cols = rgdata.as_activity(returns_frame.T, kind="returns", layout="unit_time")
    np.testing.assert_array_equal(by_rows.values, by_cols.values)
    assert list(by_cols["unit"].values) == list("ABCDEF")


def test_wrong_orientation_names_layout():
    # a table of 50 days x 4 tickers without dates, closed days all zero: read with the
    # default layout the closed days are constant "units", and the error names the fix
    values = np.random.default_rng(1).normal(size=(50, 4))
    values[10:15] = 0.0
    frame = pd.DataFrame(values, columns=list("WXYZ"))
    with pytest.raises(ValueError, match="layout='time_unit'"):
        rgdata.as_activity(frame, kind="returns")
    act = rgdata.as_activity(frame, kind="returns", layout="time_unit")
    assert act.sizes == {"unit": 4, "time": 50}
    assert list(act["unit"].values) == list("WXYZ")


def test_explicit_layout_gets_no_hint():
    values = np.ones((4, 10))
    with pytest.raises(ValueError) as err:
        rgdata.as_activity(pd.DataFrame(values), kind="returns", layout="unit_time")
    assert "layout=" not in str(err.value)


def test_non_numeric_columns_are_named(returns_frame):
    frame = returns_frame.assign(sector="tech")
    with pytest.raises(TypeError, match="sector"):
        rgdata.as_activity(frame, kind="returns")


def test_analyses_take_a_dated_frame(returns_frame):
    res = rgdata.coarse.prg(returns_frame)
    ref = rgdata.coarse.prg(rgdata.as_activity(returns_frame, kind="continuous"))
    np.testing.assert_allclose(res["variance"].values, ref["variance"].values)


def test_undated_frame_to_an_analysis_asks_for_layout(returns_frame):
    with pytest.raises(TypeError, match="layout="):
        rgdata.coarse.prg(returns_frame.reset_index(drop=True))
