"""read_prices / detect_price_events on planted random walks with known events."""

import builtins
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from rgdata.io import detect_price_events, read_prices

N_UNIT, N_DAY = 30, 600
SPLITS = {("U03", 200): 2.0, ("U07", 400): 3.0, ("U12", 100): 1.5, ("U20", 450): 0.25}
GLITCHES = {("U05", 300): 0.7, ("U09", 500): 1.4}


@pytest.fixture
def planted(rng):
    """Clean random-walk prices, and the same with splits and glitches planted."""
    market = rng.normal(0, 0.008, size=N_DAY)
    r = market[:, None] + rng.normal(0, 0.012, size=(N_DAY, N_UNIT))
    r[0] = 0.0
    clean = 50.0 * np.exp(np.cumsum(r, axis=0))
    dates = pd.bdate_range("2010-01-04", periods=N_DAY)
    cols = [f"U{j:02d}" for j in range(N_UNIT)]
    clean = pd.DataFrame(clean, index=dates, columns=cols)
    dirty = clean.copy()
    for (tk, day), q in SPLITS.items():
        dirty.iloc[day:, cols.index(tk)] /= q
    for (tk, day), f in GLITCHES.items():
        dirty.iloc[day, cols.index(tk)] *= f
    return clean, dirty


def test_detection_recovers_exactly_the_planted_events(planted):
    clean, dirty = planted
    events = detect_price_events(dirty)
    dates = dirty.index
    found_splits = {
        (e.ticker, dates.get_loc(pd.Timestamp(e.date))): e.ratio_value
        for e in events.itertuples()
        if e.type == "split"
    }
    found_glitches = {
        (e.ticker, dates.get_loc(pd.Timestamp(e.date)))
        for e in events.itertuples()
        if e.type == "glitch"
    }
    assert found_splits == pytest.approx(SPLITS)
    assert found_glitches == set(GLITCHES)
    assert len(detect_price_events(clean)) == 0  # no false positives on the clean walk


def test_auto_corrections_restore_the_clean_returns(planted):
    clean, dirty = planted
    with pytest.warns(UserWarning, match=r"read_prices: corrected 4 split\(s\) and 2 one-day"):
        act = read_prices(dirty, corrections="auto")
    want = np.diff(np.log(clean.to_numpy()), axis=0).T
    got = act.values.copy()
    cols = list(clean.columns)
    for tk, day in GLITCHES:
        j = cols.index(tk)
        half = 0.5 * (want[j, day - 1] + want[j, day])  # geometric interpolation
        np.testing.assert_allclose(got[j, day - 1 : day + 1], [half, half], atol=1e-12)
        got[j, day - 1 : day + 1] = want[j, day - 1 : day + 1]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    records = json.loads(act.attrs["price_events"])
    assert len(records) == 6
    assert {r["ratio"] for r in records if r["type"] == "split"} == {"2:1", "3:1", "3:2", "1:4"}


def test_flag_is_the_default_and_changes_nothing(planted):
    _, dirty = planted
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        act = read_prices(dirty)
    messages = [str(w.message) for w in rec]
    assert any("flagged 4 split" in m for m in messages)
    assert any("4 daily |log return| > 0.4 kept as is" in m for m in messages)
    np.testing.assert_array_equal(act.values, np.diff(np.log(dirty.to_numpy()), axis=0).T)
    assert act.attrs["corrections"] == "flag"
    assert act.attrs["n_splits_found"] == 4


def test_no_split_detection_and_simple_returns(planted):
    clean, _ = planted
    act = read_prices(clean, returns="simple", detect_splits=False)
    p = clean.to_numpy()
    np.testing.assert_allclose(act.values, (p[1:] / p[:-1] - 1).T, rtol=0, atol=1e-14)
    assert act.attrs["split_detection"] == 0
    assert act.attrs["returns"] == "simple"


def _nan_frame():
    dates = pd.bdate_range("2020-01-01", periods=6)
    p = np.array(
        [
            [10.0, 20.0, 30.0],
            [11.0, np.nan, 31.0],
            [12.0, 22.0, 32.0],
            [13.0, 23.0, np.nan],
            [14.0, 24.0, 34.0],
            [15.0, 25.0, 35.0],
        ]
    )
    return pd.DataFrame(p, index=dates, columns=["A", "B", "C"])


def test_missing_policies_on_a_small_table():
    frame = _nan_frame()
    with pytest.warns(UserWarning, match=r"2 missing price\(s\) on 2 date\(s\) in 2 unit"):
        dd = read_prices(frame)
    np.testing.assert_allclose(dd.sel(unit="A").values, np.log([12 / 10, 14 / 12, 15 / 14]))
    assert json.loads(dd.attrs["missing_dates_dropped"]) == ["2020-01-02", "2020-01-06"]
    with pytest.warns(UserWarning, match="carried the last price forward into 2"):
        ff = read_prices(frame, missing="ffill")
    np.testing.assert_allclose(
        ff.sel(unit="B").values, np.log([1.0, 22 / 20, 23 / 22, 24 / 23, 25 / 24])
    )
    assert json.loads(ff.attrs["missing_filled"]) == [
        {"date": "2020-01-02", "ticker": "B"},
        {"date": "2020-01-06", "ticker": "C"},
    ]
    with pytest.raises(ValueError, match=r"after missing='drop_units' only 6 date\(s\) x 1 unit"):
        read_prices(frame, missing="drop_units")
    with pytest.warns(UserWarning, match="dropped those 2 unit"):
        du = read_prices(frame.assign(D=frame["A"] * 2 + 1), missing="drop_units")
    assert list(du["unit"].values) == ["A", "D"]
    assert json.loads(du.attrs["missing_units_dropped"]) == ["B", "C"]
    with pytest.raises(ValueError, match="missing='raise'"):
        read_prices(frame, missing="raise")


def test_timezone_aware_dates_become_utc():
    frame = _nan_frame().ffill()
    frame.index = frame.index.tz_localize("Europe/London") + pd.Timedelta(hours=16)
    act = read_prices(frame)
    assert str(act["time"].values[0]) == "2020-01-02T16:00:00.000000000"
    assert "Europe/London" in act.attrs["timezone"]


def test_ffill_drops_leading_dates_it_cannot_fill():
    frame = _nan_frame()
    frame.iloc[0, 0] = np.nan
    with pytest.warns(UserWarning, match="dropped 1 leading date"):
        act = read_prices(frame, missing="ffill")
    assert act.sizes["time"] == 4
    assert json.loads(act.attrs["missing_dates_dropped"]) == ["2020-01-01"]


def test_csv_gz_parquet_and_long_tables(tmp_path, planted):
    clean, _ = planted
    small = clean.iloc[:50, :4]
    small.index.name = "date"
    want = np.diff(np.log(small.to_numpy()), axis=0).T
    small.to_csv(tmp_path / "p.csv")
    small.to_csv(tmp_path / "p.csv.gz")
    for name in ("p.csv", "p.csv.gz"):
        act = read_prices(tmp_path / name)
        np.testing.assert_allclose(act.values, want, rtol=0, atol=1e-12)
        assert act.attrs["source"] == name
    sub = read_prices(tmp_path / "p.csv", tickers=["U02", "U00"])
    assert list(sub["unit"].values) == ["U02", "U00"]
    long = small.stack().rename("close").reset_index().rename(columns={"level_1": "ticker"})
    long.to_csv(tmp_path / "long.csv", index=False)
    act = read_prices(tmp_path / "long.csv", price_column="close")
    np.testing.assert_allclose(act.values, want, rtol=0, atol=1e-12)
    pytest.importorskip("pyarrow")
    small.to_parquet(tmp_path / "p.parquet")
    act = read_prices(tmp_path / "p.parquet")
    np.testing.assert_allclose(act.values, want, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(act["time"].values, small.index[1:].to_numpy())


def test_parquet_without_pyarrow_names_the_extra(tmp_path, monkeypatch):
    path = tmp_path / "p.parquet"
    path.write_bytes(b"PAR1 not really")
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ImportError("No module named 'pyarrow'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"pip install rgdata\[parquet\]"):
        read_prices(path)


@pytest.mark.parametrize(
    "edit, exc, match",
    [
        (lambda f: f.iloc[:2], ValueError, r"2 row\(s\); at least 3 dates"),
        (lambda f: f.iloc[::-1], ValueError, "dates must be in increasing order"),
        (lambda f: f.iloc[[0, 0, 1, 2]], ValueError, "appears more than once"),
        (
            lambda f: f.assign(A=f["A"].where(f.index != f.index[2], -1.0)),
            ValueError,
            r"non-positive price -1.0 for 'A' on 2020-01-03",
        ),
        (
            lambda f: f.assign(A=f["A"].where(f.index != f.index[2], np.inf)),
            ValueError,
            "infinite price for 'A'",
        ),
        (
            lambda f: f.assign(B=["x"] * 6),
            ValueError,
            r"column 'B' holds non-numeric values \(e.g. 'x'",
        ),
        (
            lambda f: f.set_axis(["a", "b", "c", "d", "e", "f"]),
            ValueError,
            "could not be parsed as dates",
        ),
        (lambda f: f.iloc[:, :0], ValueError, "no price columns"),
    ],
)
def test_bad_tables(edit, exc, match):
    frame = _nan_frame().ffill()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc, match=match):
            read_prices(edit(frame))


def test_detect_price_events_options(planted):
    _, dirty = planted
    only_glitches = detect_price_events(dirty, splits=False)
    assert set(only_glitches["type"]) == {"glitch"}
    only_splits = detect_price_events(dirty, glitches=False)
    # without glitch repair, the glitch legs are not taken for splits (they revert)
    assert set(only_splits["type"]) == {"split"} and len(only_splits) == 4
    with pytest.raises(ValueError, match="split_ratios must be a non-empty list of positive"):
        detect_price_events(dirty, split_ratios=(2.0, 1.0))
    with pytest.raises(ValueError, match="prices contains NaN"):
        detect_price_events(_nan_frame())
    with pytest.raises(TypeError, match="prices must be a pandas.DataFrame"):
        detect_price_events(dirty.to_numpy())


def test_bad_options(tmp_path):
    frame = _nan_frame().ffill()
    with pytest.raises(ValueError, match="unknown returns 'pct'; accepted: 'log', 'simple'"):
        read_prices(frame, returns="pct")
    with pytest.raises(ValueError, match="unknown missing 'zero'"):
        read_prices(frame, missing="zero")
    with pytest.raises(ValueError, match="unknown corrections 'yes'"):
        read_prices(frame, corrections="yes")
    with pytest.raises(ValueError, match=r"tickers \['Z'\] not in the table"):
        read_prices(frame, tickers=["Z"])
    with pytest.raises(TypeError, match="must be a str or os.PathLike"):
        read_prices(42)
    frame.to_csv(tmp_path / "p.csv")
    with pytest.raises(ValueError, match="price_column/ticker_column"):
        read_prices(tmp_path / "p.csv", price_column="close")


def test_false_split_rate_matches_the_analytic_student_t_rate():
    """On heavy-tailed noise without splits, the number of false splits equals the
    probability mass of Student-t(3) returns inside the ratio windows (Poisson, 4 sigma)."""
    from scipy import stats

    from rgdata.io._price_events import DEFAULT_SPLIT_RATIOS, find_splits

    scale, n_day, n_unit, n_panel = 0.02, 2000, 100, 3
    rng = np.random.default_rng(2024)
    found = 0
    for _ in range(n_panel):
        r = rng.standard_t(3, size=(n_day, n_unit)) * scale
        found += len(find_splits(np.cumsum(r, axis=0)))
    # at this scale 4 robust sigma (~0.09) exceed the 0.05 cap: the window is +-0.05
    p = sum(
        stats.t.cdf((-np.log(q) + 0.05) / scale, 3) - stats.t.cdf((-np.log(q) - 0.05) / scale, 3)
        for q in DEFAULT_SPLIT_RATIOS
    )
    expected = p * (n_day - 1) * n_unit * n_panel
    assert 50 < expected < 150  # the check has power: tens of events expected
    assert abs(found - expected) < 4 * np.sqrt(expected)


# ------------------------------------------------------------ labels, dtypes, dates, cut files
def _small(columns, **data):
    index = pd.date_range("2020-01-01", periods=4)
    base = {c: [1.0, 1.1, 1.05, 1.2] for c in columns}
    base.update(data)
    return pd.DataFrame({k: list(v) for k, v in base.items()}, index=index)[list(columns)]


def test_column_labels_that_collide_as_text_are_refused():
    frame = pd.DataFrame(
        [[1.0, 2.0], [1.1, 2.1], [1.2, 2.3]],
        index=pd.date_range("2020-01-01", periods=3),
        columns=[1, "1"],
    )
    with pytest.raises(ValueError, match=r"column labels \[1, '1'\] all become the unit label '1'"):
        read_prices(frame)
    frame.columns = ["A", "A"]
    with pytest.raises(ValueError, match=r"column name\(s\) \['A'\] appear more than once"):
        read_prices(frame)


def test_decimal_object_and_categorical_columns_are_read_as_numbers():
    from decimal import Decimal

    ref = read_prices(_small(["A", "B"]), flag_moves_above=None)
    a = [1.0, 1.1, 1.05, 1.2]
    for column in (
        [Decimal(str(v)) for v in a],
        pd.Series(a, dtype=object).to_numpy(),
        pd.Categorical(a),
        np.array([1, 1.1, np.float32(1.05), Decimal("1.2")], dtype=object),
    ):
        frame = _small(["A", "B"])
        frame["A"] = column
        got = read_prices(frame, flag_moves_above=None)
        # float32 1.05 carries a relative error up to 2**-24 into two returns
        np.testing.assert_allclose(got.values, ref.values, rtol=0, atol=2**-22)


@pytest.mark.parametrize(
    ("column", "match"),
    [
        (pd.Categorical(["a", "b", "a", "b"]), r"column 'A' holds non-numeric values \(e.g. 'a'"),
        ([True, False, True, True], r"column 'A' holds booleans"),
        (np.array([1.0, "x", 1.1, 1.2], dtype=object), r"non-numeric values \(e.g. 'x' on 2020"),
    ],
)
def test_text_and_boolean_columns_are_refused_by_name(column, match):
    frame = _small(["A", "B"])
    frame["A"] = column
    with pytest.raises(ValueError, match=match):
        read_prices(frame)


def test_parquet_decimal_dictionary_and_duplicate_columns(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from decimal import Decimal

    dates = pa.array(pd.date_range("2020-01-01", periods=4).to_numpy())
    a = [1.0, 1.1, 1.05, 1.2]
    table = pa.table(
        {
            "date": dates,
            "A": pa.array([Decimal(str(v)) for v in a], pa.decimal128(6, 2)),
            "B": pa.array(a).dictionary_encode(),
        }
    )
    pq.write_table(table, tmp_path / "p.parquet")
    got = read_prices(tmp_path / "p.parquet", flag_moves_above=None)
    np.testing.assert_allclose(got.values, np.diff(np.log([a, a]), axis=1))
    dup = pa.Table.from_arrays([dates, pa.array(a), pa.array(a)], names=["date", "A", "A"])
    pq.write_table(dup, tmp_path / "dup.parquet")
    with pytest.raises(ValueError, match=r"column name\(s\) \['A'\] appear more than once"):
        read_prices(tmp_path / "dup.parquet")


def test_day_first_dates_with_date_format_or_an_unambiguous_day(tmp_path):
    body = "A,B\n" + "".join(
        f"{d}/02/2020,{1 + i / 10},{2 + i / 10}\n" for i, d in enumerate([1, 2, 3])
    )
    (tmp_path / "dm.csv").write_text("date," + body)
    got = read_prices(tmp_path / "dm.csv", date_format="%d/%m/%Y")
    assert list(got.time.dt.strftime("%Y-%m-%d").values) == ["2020-02-02", "2020-02-03"]
    assert got.attrs["date_format"] == "%d/%m/%Y"
    us = read_prices(tmp_path / "dm.csv", date_format="%m/%d/%Y")
    assert list(us.time.dt.strftime("%Y-%m-%d").values) == ["2020-02-02", "2020-03-02"]
    # a day above 12 leaves one valid reading: it is used, and recorded
    (tmp_path / "d13.csv").write_text(
        "date,A,B\n12/02/2020,1,2\n13/02/2020,1.1,2.1\n14/02/2020,1.2,2.3\n"
    )
    got = read_prices(tmp_path / "d13.csv")
    assert list(got.time.dt.strftime("%Y-%m-%d").values) == ["2020-02-13", "2020-02-14"]
    assert got.attrs["date_format"] == "%d/%m/%Y"
    # day == month everywhere: both readings agree, nothing to refuse
    (tmp_path / "same.csv").write_text(
        "date,A,B\n01/01/2020,1,2\n02/02/2020,1.1,2.1\n03/03/2020,1.2,2.3\n"
    )
    assert read_prices(tmp_path / "same.csv").sizes["time"] == 2
    with pytest.raises(TypeError, match="date_format must be a strftime format string"):
        read_prices(tmp_path / "same.csv", date_format=1)


def test_csv_without_final_newline_is_read_with_a_warning_and_recorded(tmp_path):
    text = "date,A,B\n2020-01-01,1.25,2.50\n2020-01-02,1.50,2.75\n2020-01-03,1.75,2.25"
    (tmp_path / "p.csv").write_text(text)
    with pytest.warns(UserWarning, match="does not end with a newline; it is read as complete"):
        got = read_prices(tmp_path / "p.csv", flag_moves_above=None)
    assert got.attrs["csv_final_newline"] == 0
    assert got.attrs["csv_last_line"] == "2020-01-03,1.75,2.25"
    (tmp_path / "q.csv").write_text(text + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        full = read_prices(tmp_path / "q.csv", flag_moves_above=None)
    assert "csv_final_newline" not in full.attrs
    np.testing.assert_array_equal(full.values, got.values)
