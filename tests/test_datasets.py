"""Shipped-data loaders, checked against the raw files read independently
(csv / gzip / zipfile modules) and against the provenance READMEs."""

import csv
import gzip
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import rgdata
from rgdata import datasets

DATA = Path(__file__).resolve().parents[1] / "datasets"

# datasets/stocks_sklearn/README.md: documented split days (ticker, date, ratio if stated)
DOCUMENTED_SPLITS = {
    ("MSFT", "2003-02-18"): "2:1",
    ("MMM", "2003-09-30"): None,
    ("YHOO", "2004-05-12"): None,
    ("PG", "2004-06-21"): None,
    ("NOC", "2004-06-22"): None,
    ("BAC", "2004-08-30"): None,
    ("CVX", "2004-09-13"): None,
    ("VLO", "2004-10-08"): None,
    ("VLO", "2005-12-16"): None,
    ("AAPL", "2005-02-28"): None,
    ("COP", "2005-06-02"): None,
    ("CVS", "2005-06-07"): None,
    ("CAT", "2005-07-14"): None,
    ("GD", "2006-03-27"): None,
    ("TOT", "2006-05-23"): None,
    ("MAR", "2006-06-12"): None,
    ("WFC", "2006-08-14"): None,
    ("UN", "2006-05-25"): "3:1",
    ("CAJ", "2006-08-25"): "3:2",
    ("CMCSA", "2007-02-22"): "3:2",
}
DOCUMENTED_GLITCHES = {("CMCSA", "2004-08-02"), ("NAV", "2007-06-07")}
SPECIAL_DIVIDEND = ("CVC", "2006-04-25")


def _raw_prices(name):
    """Read a wide stocks CSV with the csv module: dates, tickers, float matrix."""
    with open(DATA / "stocks_sklearn" / f"{name}_prices.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    dates = [r[0] for r in body]
    prices = np.array([[float(x) for x in r[1:]] for r in body])
    return dates, header[1:], prices


def _raw_ftse():
    with gzip.open(DATA / "ftse100" / "ftse100_dataset.csv.gz", "rt", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    dates = [r[0] for r in body]
    prices = np.array([[float(x) if x != "" else np.nan for x in r[1:]] for r in body])
    return dates, header[1:], prices


@pytest.fixture(scope="module")
def retina():
    return datasets.load_retina()


@pytest.fixture(scope="module")
def stocks_close():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return datasets.load_stocks("close")


@pytest.fixture(scope="module")
def raw_close():
    return _raw_prices("close")


# ----------------------------------------------------------------------------- retina


def test_retina_shape_dtype_and_attrs(retina):
    assert retina.dims == ("trial", "unit", "time")
    assert retina.shape == (297, 160, 953)
    assert retina.dtype == np.int8
    assert set(np.unique(retina.values)) == {0, 1}
    assert retina.attrs["kind"] == "spikes"
    assert retina.attrs["bin_width"] == 0.02
    assert retina.attrs["time_units"] == "s"
    assert "Tkacik" in retina.attrs["citation"]
    assert not Path(retina.attrs["source"].split()[0]).is_absolute()
    np.testing.assert_allclose(retina["time"].values[[0, 1, -1]], [0.0, 0.02, 952 * 0.02])


def test_retina_statistics_match_the_readme(retina):
    # README: mean 0.0358 spikes per bin, per-neuron 0.0011 .. 0.162,
    # every repeat has between 5152 and 5701 spikes.
    assert abs(float(retina.mean()) - 0.0358) < 5e-5
    per_neuron = retina.mean(dim=("trial", "time")).values
    assert abs(per_neuron.min() - 0.0011) < 5e-5
    assert abs(per_neuron.max() - 0.162) < 5e-4
    per_trial = retina.sum(dim=("unit", "time")).values
    assert per_trial.min() == 5152 and per_trial.max() == 5701


def test_retina_matches_raw_npz_and_stacks(retina):
    raw = np.load(DATA / "retina_fishmovie" / "bint_fishmovie32_100.npz")["spikes"]
    np.testing.assert_array_equal(retina.values, raw.astype(np.int8))
    stacked = rgdata.stack_trials(retina)
    assert stacked.shape == (160, 297 * 953)


def test_retina_netcdf_round_trip(retina, tmp_path):
    small = retina.isel(trial=slice(0, 2))
    path = tmp_path / "r.nc"
    small.to_netcdf(path, engine="h5netcdf")
    back = xr.load_dataarray(path, engine="h5netcdf")
    np.testing.assert_array_equal(back.values, small.values)
    assert back.attrs["bin_width"] == 0.02


# ----------------------------------------------------------------------------- stocks


def _events(act):
    return json.loads(act.attrs["price_events"])


def test_stocks_close_shape_and_dates(stocks_close, raw_close):
    dates, tickers, prices = raw_close
    assert prices.shape == (1258, 56)
    assert stocks_close.shape == (56, 1257)
    assert list(stocks_close["unit"].values) == tickers
    assert str(stocks_close["time"].values[0])[:10] == dates[1]
    assert str(stocks_close["time"].values[-1])[:10] == "2007-12-31"
    assert stocks_close.attrs["kind"] == "returns"


@pytest.mark.parametrize("price", ["close", "open"])
def test_stocks_detects_every_documented_split_and_glitch(price):
    with pytest.warns(UserWarning, match=r"load_stocks: corrected 21 split\(s\) and 2 one-day"):
        act = datasets.load_stocks(price)
    events = _events(act)
    splits = {(e["ticker"], e["date"]): e["ratio"] for e in events if e["type"] == "split"}
    glitches = {(e["ticker"], e["date"]) for e in events if e["type"] == "glitch"}
    for key, ratio in DOCUMENTED_SPLITS.items():
        assert key in splits, f"documented split {key} not found"
        assert ratio is None or splits[key] == ratio
    assert glitches == DOCUMENTED_GLITCHES
    # the only extra event is the CVC special dividend, treated as 3:2 (documented)
    assert set(splits) - set(DOCUMENTED_SPLITS) == {SPECIAL_DIVIDEND}
    assert splits[SPECIAL_DIVIDEND] == "3:2"
    assert all(e["action"] == "corrected" for e in events)


def test_stocks_corrections_match_hand_computed_returns(stocks_close, raw_close):
    dates, tickers, p = raw_close
    ratio = {"2:1": 2.0, "3:1": 3.0, "3:2": 1.5}
    events = _events(stocks_close)
    for e in events:
        j, t = tickers.index(e["ticker"]), dates.index(e["date"])
        got = stocks_close.sel(unit=e["ticker"]).values
        if e["type"] == "split":
            # return on the split day from the ratio-corrected earlier price
            want = math.log(p[t, j] * ratio[e["ratio"]] / p[t - 1, j])
            assert got[t - 1] == pytest.approx(want, abs=1e-12)
        else:
            # glitch price replaced by the geometric mean of its neighbours
            half = 0.5 * math.log(p[t + 1, j] / p[t - 1, j])
            assert got[t - 1] == pytest.approx(half, abs=1e-12)
            assert got[t] == pytest.approx(half, abs=1e-12)
    # all other returns are untouched raw log returns
    raw = np.diff(np.log(p), axis=0).T
    touched = np.zeros_like(raw, dtype=bool)
    for e in events:
        j, t = tickers.index(e["ticker"]), dates.index(e["date"])
        touched[j, t - 1] = True
        if e["type"] == "glitch":
            touched[j, t] = True
    np.testing.assert_allclose(stocks_close.values[~touched], raw[~touched], rtol=0, atol=1e-12)
    # after correction no daily move exceeds 25 %
    assert float(abs(stocks_close).max()) < 0.25
    assert stocks_close.attrs["n_large_moves"] == 0


def test_stocks_corrections_none_flag_raise(raw_close):
    _, _, p = raw_close
    raw = np.diff(np.log(p), axis=0).T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        none = datasets.load_stocks("close", corrections="none")
        np.testing.assert_array_equal(none.values, raw)
        assert "price_events" not in none.attrs
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        flagged = datasets.load_stocks("close", corrections="flag")
    messages = [str(w.message) for w in rec]
    assert any("flagged 21 split" in m for m in messages)
    assert any("20 daily |log return| > 0.4 kept" in m for m in messages)
    np.testing.assert_array_equal(flagged.values, raw)
    assert len(_events(flagged)) == 23
    assert all(e["action"] == "flagged" for e in _events(flagged))
    with pytest.raises(ValueError, match=r"found 21 split\(s\) and 2 one-day glitch.*'raise'"):
        datasets.load_stocks("close", corrections="raise")


def test_stocks_intraday_is_log_close_over_open(raw_close):
    _, tickers, close = raw_close
    _, tickers_open, open_ = _raw_prices("open")
    assert tickers == tickers_open
    act = datasets.load_stocks("intraday")
    assert act.shape == (56, 1258)
    np.testing.assert_allclose(act.values, np.log(close / open_).T, rtol=0, atol=1e-15)


def test_stocks_netcdf_round_trip(stocks_close, tmp_path):
    path = tmp_path / "s.nc"
    stocks_close.to_netcdf(path, engine="h5netcdf")
    back = xr.load_dataarray(path, engine="h5netcdf")
    np.testing.assert_array_equal(back.values, stocks_close.values)
    np.testing.assert_array_equal(back["time"].values, stocks_close["time"].values)
    assert json.loads(back.attrs["price_events"]) == _events(stocks_close)


def test_stocks_bad_options():
    with pytest.raises(ValueError, match="unknown price 'high'; accepted: 'close', 'open'"):
        datasets.load_stocks("high")
    with pytest.raises(ValueError, match="unknown corrections 'fix'"):
        datasets.load_stocks(corrections="fix")


# ----------------------------------------------------------------------------- ftse100


@pytest.fixture(scope="module")
def raw_ftse():
    return _raw_ftse()


def test_ftse_raw_file_counts(raw_ftse):
    _, tickers, p = raw_ftse
    nan = np.isnan(p)
    assert p.shape == (5960, 64)
    assert int(nan.sum()) == 29
    assert int(nan.any(axis=1).sum()) == 22
    assert int(nan.any(axis=0).sum()) == 18
    assert not nan[0].any() and not nan[-1].any()


def test_ftse_drop_dates_default(raw_ftse):
    dates, tickers, p = raw_ftse
    with pytest.warns(UserWarning) as rec:
        act = datasets.load_ftse100()
    messages = " | ".join(str(w.message) for w in rec)
    assert "29 missing price(s) on 22 date(s) in 18 unit(s)" in messages
    assert "18 daily |log return| > 0.4" in messages
    assert act.shape == (64, 5937)
    assert act.attrs["n_missing_dates_dropped"] == 22
    keep = ~np.isnan(p).any(axis=1)
    want = np.diff(np.log(p[keep]), axis=0).T
    np.testing.assert_allclose(act.values, want, rtol=0, atol=1e-15)
    dropped = json.loads(act.attrs["missing_dates_dropped"])
    assert dropped == [d for d, k in zip(dates, keep, strict=True) if not k]
    # README: 18 daily |log return| above 0.4, e.g. AHT.L in March 2003
    moves = json.loads(act.attrs["large_moves"])
    assert len(moves) == act.attrs["n_large_moves"] == 18
    assert {"ticker": "AHT.L", "date": "2003-03-11"}.items() <= moves[2].items()
    # glitch candidates are flagged, not changed
    assert all(e["action"] == "flagged" for e in json.loads(act.attrs["price_events"]))


def test_ftse_ffill_and_drop_units(raw_ftse):
    _, tickers, p = raw_ftse
    nan = np.isnan(p)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        ff = datasets.load_ftse100("ffill")
    assert any("carried the last price forward into 29 cell" in str(w.message) for w in rec)
    assert ff.shape == (64, 5959)
    i, j = np.nonzero(nan)
    assert np.all(ff.values[j, i - 1] == 0.0)  # a filled price gives a zero return
    assert ff.attrs["n_missing_filled"] == 29
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        du = datasets.load_ftse100("drop_units")
    assert any("dropped those 18 unit" in str(w.message) for w in rec)
    assert du.shape == (46, 5959)
    gone = set(json.loads(du.attrs["missing_units_dropped"]))
    assert gone == {t for t, c in zip(tickers, nan.any(axis=0), strict=True) if c}
    assert gone.isdisjoint(du["unit"].values)


@pytest.mark.parametrize("missing", ["drop_dates", "ffill", "drop_units"])
def test_ftse_netcdf_round_trip(missing, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        act = datasets.load_ftse100(missing)
    for key, value in act.attrs.items():
        assert isinstance(value, str | int | float), (key, type(value))
    path = tmp_path / "f.nc"
    act.to_netcdf(path, engine="h5netcdf")
    back = xr.load_dataarray(path, engine="h5netcdf")
    np.testing.assert_array_equal(back.values, act.values)
    assert back.attrs == act.attrs


def test_ftse_raise_and_bad_option():
    with pytest.raises(ValueError, match=r"29 missing price\(s\) on 22 date.*missing='raise'"):
        datasets.load_ftse100("raise")
    with pytest.raises(ValueError, match="unknown missing 'zero'; accepted: 'drop_dates'"):
        datasets.load_ftse100("zero")


# ----------------------------------------------------------------------------- data dir


def test_data_dir_argument_env_and_missing_file(tmp_path, monkeypatch):
    assert datasets.data_dir() == DATA
    monkeypatch.setenv("RGDATA_DATA_DIR", str(tmp_path))
    assert datasets.data_dir() == tmp_path
    with pytest.raises(FileNotFoundError, match=r"load_retina: data file not found at .*RGDATA"):
        datasets.load_retina()
    monkeypatch.delenv("RGDATA_DATA_DIR")
    with pytest.raises(FileNotFoundError, match="from the data_dir= argument"):
        datasets.load_ftse100(data_dir=tmp_path)
    act = datasets.load_stocks("intraday", data_dir=DATA)
    assert act.shape == (56, 1258)


def test_corrupt_shipped_file_is_reported(tmp_path):
    target = tmp_path / "retina_fishmovie"
    target.mkdir()
    good = (DATA / "retina_fishmovie" / "bint_fishmovie32_100.npz").read_bytes()
    (target / "bint_fishmovie32_100.npz").write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        datasets.load_retina(data_dir=tmp_path)
    target = tmp_path / "ftse100"
    target.mkdir()
    good = (DATA / "ftse100" / "ftse100_dataset.csv.gz").read_bytes()
    (target / "ftse100_dataset.csv.gz").write_bytes(good[:5000])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        datasets.load_ftse100(data_dir=tmp_path)


def test_list_datasets():
    table = datasets.list_datasets()
    assert list(table["name"]) == ["retina", "stocks", "ftse100"]
    # one row per registry entry, with the analyses run on it
    assert list(table["name"]) == list(datasets.DATASETS)
    assert list(table["analyses"]) == ["retina", "stocks, stocks_intraday", "ftse100"]
    for entry, loader in zip(datasets.DATASETS.values(), table["loader"], strict=True):
        assert loader.split("(")[0].endswith(entry.loader.__name__)
    assert {"description", "shape", "kind", "loader", "file"} <= set(table.columns)
    for loader in table["loader"]:
        func = loader.split("(")[0].rsplit(".", 1)[1]
        assert callable(getattr(datasets, func))
    for files in table["file"]:
        for f in files.split(", "):
            f = f if "/" in f else "stocks_sklearn/" + f
            assert (DATA / f).is_file()
