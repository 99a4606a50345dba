"""Bad files and bad arrays, declared as data: (file content, reader call, error, message)."""

import gzip
import io
import zipfile

import numpy as np
import pytest

from rgdata.io import read_array, read_calcium, read_prices


def _npy(arr):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def _npz(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _flip_byte(data, at):
    """*data* with the byte at *at* inverted: a member whose CRC no longer matches."""
    out = bytearray(data)
    out[at] ^= 0xFF
    return bytes(out)


GOOD = np.arange(40.0).reshape(4, 10) ** 1.5
CSV = b"date,A,B\n2020-01-01,1,2\n2020-01-02,1.5,2.5\n2020-01-03,1.2,2.2\n2020-01-06,1.3,2.1\n"

CASES = [
    # (file name, bytes or None for absent, reader, kwargs, exception, message regex)
    ("absent.npy", None, read_array, {}, FileNotFoundError, r"data: no file at .*absent\.npy"),
    ("empty.npy", b"", read_array, {}, ValueError, r"empty\.npy' is empty \(0 bytes\)"),
    (
        "cut.npy",
        _npy(GOOD)[:100],
        read_array,
        {},
        ValueError,
        r"data: could not read '.*cut\.npy' as \.npy \(.*\); the file looks truncated or corrupt",
    ),
    (
        "crc.npz",
        _flip_byte(_npz(a=GOOD), 200),
        read_array,
        {},
        ValueError,
        r"data: could not read array 'a' of '.*crc\.npz' \(BadZipFile: Bad CRC-32 .*\); "
        "the file looks truncated or corrupt",
    ),
    ("cut.npz", _npz(a=GOOD)[:150], read_array, {}, ValueError, "truncated or corrupt"),
    (
        "junk.npz",
        b"this is not a zip file",
        read_array,
        {},
        ValueError,
        "does not start like a .npz file; the file looks truncated or corrupt",
    ),
    ("junk.npy", b"\x80\x04K\x01.", read_array, {}, ValueError, "does not start like a .npy"),
    (
        "obj.npy",
        _npy(np.array([{"a": 1}, None])),
        read_array,
        {},
        ValueError,
        "holds Python objects .* rgdata never unpickles",
    ),
    (
        "obj.npz",
        _npz(x=np.array([[1, "a"], [None, 2]], dtype=object)),
        read_array,
        {},
        ValueError,
        r"array 'x' in .* holds Python objects",
    ),
    (
        "two.npz",
        _npz(a=GOOD, b=GOOD),
        read_array,
        {},
        ValueError,
        "holds 2 arrays; pass key= one of: 'a', 'b'",
    ),
    (
        "two.npz",
        _npz(a=GOOD, b=GOOD),
        read_array,
        {"key": "z"},
        ValueError,
        "key 'z' not in .*available keys: 'a', 'b'",
    ),
    ("one.npy", _npy(GOOD), read_array, {"key": "a"}, ValueError, "is a .npy file holding one"),
    (
        "data.txt",
        b"1 2 3",
        read_array,
        {},
        ValueError,
        "has suffix '.txt'; accepted: '.npy', '.npz'",
    ),
    ("flat.npy", _npy(np.arange(5.0)), read_array, {}, ValueError, "must have 2 or 3 dimensions"),
    (
        "nan.npy",
        _npy(np.where(GOOD > 30, np.nan, GOOD)),
        read_array,
        {},
        ValueError,
        r"contains \d+ NaN/inf",
    ),
    ("inf.npy", _npy(np.where(GOOD > 30, np.inf, GOOD)), read_array, {}, ValueError, "NaN/inf"),
    (
        "str.npy",
        _npy(np.array([["a", "b"], ["c", "d"]])),
        read_array,
        {},
        TypeError,
        "booleans, integers or floats, got dtype <U1",
    ),
    (
        "const.npy",
        _npy(np.vstack([GOOD, np.ones((1, 10))])),
        read_array,
        {},
        ValueError,
        r"1 constant unit\(s\) \(4\)",
    ),
    (
        "cube.npy",
        _npy(np.ones((2, 3, 4)) * np.arange(4)),
        read_array,
        {"layout": "unit_time"},
        ValueError,
        "layout='unit_time' needs a 2D array",
    ),
    ("ok.npy", _npy(GOOD), read_array, {"layout": "rows"}, ValueError, "unknown layout 'rows'"),
    ("ok.npy", _npy(GOOD), read_array, {"kind": "lfp"}, ValueError, "unknown kind 'lfp'"),
    ("ok.npy", _npy(GOOD), read_array, {"kind": "spikes"}, ValueError, "must be binary"),
    (
        "ok.npy",
        _npy(GOOD),
        read_calcium,
        {"layout": "time_unit", "sampling_rate": -1.0},
        ValueError,
        "sampling_rate must be > 0.0, got -1.0",
    ),
    (
        "cube.npy",
        _npy(np.ones((2, 3, 4)) * np.arange(4)),
        read_calcium,
        {"layout": "time_unit", "sampling_rate": 5.0},
        ValueError,
        "must have 2 dimensions",
    ),
    ("absent.csv", None, read_prices, {}, FileNotFoundError, r"no file at .*absent\.csv"),
    ("empty.csv", b"", read_prices, {}, ValueError, "is empty"),
    ("blank.csv", b"\n\n", read_prices, {}, ValueError, "holds no table"),
    ("header.csv", b"date,A,B\n", read_prices, {}, ValueError, r"0 row\(s\); at least 3"),
    (
        "one.csv",
        b"date\n2020-01-01\n2020-01-02\n",
        read_prices,
        {},
        ValueError,
        r"1 column\(s\); a date column and at least one price column",
    ),
    (
        "text.csv",
        CSV.replace(b"1.5", b"n/a?"),
        read_prices,
        {},
        ValueError,
        r"column 'A' holds non-numeric values \(e.g. 'n/a\?' on 2020-01-02\)",
    ),
    (
        "ragged.csv",
        CSV + b"2020-01-07,1,2,3,4,5\n",
        read_prices,
        {},
        ValueError,
        "could not read .* as CSV .*truncated or corrupt",
    ),
    (
        "cut.csv.gz",
        gzip.compress(CSV * 50)[:60],
        read_prices,
        {},
        ValueError,
        "truncated or corrupt",
    ),
    ("bin.csv", bytes(range(256)) * 4, read_prices, {}, ValueError, "truncated or corrupt"),
    (
        "dupnames.csv",
        CSV.replace(b"date,A,B", b"date,A,A"),
        read_prices,
        {},
        ValueError,
        r"column name\(s\) \['A'\] appear more than once in the header of 'dupnames.csv'",
    ),
    (  # cut inside the last line: a field missing
        "short.csv",
        CSV[:-5],
        read_prices,
        {},
        ValueError,
        r"last line of 'short.csv' \('2020-01-06,1.3'\) has 2 field\(s\) of 3 .*looks cut",
    ),
    (  # cut right after a separator
        "comma.csv",
        CSV[:-4],
        read_prices,
        {},
        ValueError,
        r"has 3 field\(s\) of 3, the last one empty, .*looks cut",
    ),
    (  # cut inside the last number: 2.35 -> 2.3 where every other value has 2 decimals
        "number.csv",
        b"date,A,B\n2020-01-01,1.25,2.50\n2020-01-02,1.50,2.75\n2020-01-03,1.75,2.35\n"
        b"2020-01-06,1.80,2.3",
        read_prices,
        {},
        ValueError,
        r"its last value '2.3' has 1 decimal\(s\) where every other value of column 'B' has 2",
    ),
    (  # dd/mm/yyyy with every day <= 12: both readings are valid and differ
        "dayfirst.csv",
        b"date,A,B\n01/02/2020,1,2\n02/02/2020,1.5,2.5\n03/02/2020,1.2,2.2\n",
        read_prices,
        {},
        ValueError,
        r"both day-first \('%d/%m/%Y'\) and month-first \('%m/%d/%Y'\).*pass date_format=",
    ),
    (
        "dotted.csv",
        b"date,A,B\n01.02.20,1,2\n02.02.20,1.5,2.5\n03.02.20,1.2,2.2\n",
        read_prices,
        {},
        ValueError,
        r"day-first \('%d\.%m\.%y'\) and month-first \('%m\.%d\.%y'\)",
    ),
    (
        "wrongformat.csv",
        CSV,
        read_prices,
        {"date_format": "%d/%m/%Y"},
        ValueError,
        r"the dates do not all match date_format='%d/%m/%Y' \(first values \['2020-01-01'",
    ),
    ("p.xlsx", CSV, read_prices, {}, ValueError, "has suffix '.xlsx'"),
    ("bad.parquet", b"PAR1 garbage", read_prices, {}, ValueError, "could not read .* as parquet"),
]


@pytest.mark.parametrize(
    "fname, content, reader, kwargs, exc, match",
    CASES,
    ids=[f"{c[2].__name__}-{c[0]}-{i}" for i, c in enumerate(CASES)],
)
def test_bad_file(tmp_path, fname, content, reader, kwargs, exc, match):
    if fname.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    path = tmp_path / fname
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(exc, match=match):
        reader(path, **kwargs)


def test_directory_and_non_path(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        read_array(tmp_path / ".")
    with pytest.raises(TypeError, match="already an xarray.DataArray"):
        read_array(read_array(GOOD))
    with pytest.raises(ValueError, match="key='a' only applies to .npz files"):
        read_array(GOOD, key="a")


def test_npz_is_never_unpickled(tmp_path, monkeypatch):
    """Even a would-be-harmless object array is refused before any unpickling."""
    calls = []
    import pickle

    monkeypatch.setattr(pickle, "loads", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: calls.append(a))
    path = tmp_path / "obj.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("x.npy", _npy(np.array([1, "a"], dtype=object)))
    with pytest.raises(ValueError, match="never unpickles"):
        read_array(path)
    assert calls == []
