"""Shared file checks for the readers: existence, emptiness, safe array loading.

Every reader goes through these helpers so that a missing, empty or corrupt
file gives the same kind of message: it names the argument, the file and what
went wrong.  Arrays are never loaded with pickle.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._validation import describe
from .._warnings import warn_user

__all__ = ["check_csv_layout", "check_path", "load_numpy", "read_table", "safe_name", "why"]


def why(err: BaseException) -> str:
    """``"ErrorType: message"`` on one line, for wrapping a library's error."""
    return f"{type(err).__name__}: {' '.join(str(err).split())}"


def safe_name(path: Path) -> str:
    """The file name only (never an absolute path) for attrs and messages in results."""
    return Path(path).name


def check_path(path: Any, name: str = "path", *, suffixes: tuple[str, ...] | None = None) -> Path:
    """Check that *path* names an existing, non-empty file and return it as a Path.

    Raises
    ------
    TypeError
        *path* is not a str or os.PathLike.
    FileNotFoundError
        Nothing is at *path* (the message gives the resolved location).
    ValueError
        *path* is a directory, is empty (0 bytes) or has a suffix outside *suffixes*.
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"{name} must be a str or os.PathLike file path, got {describe(path)}")
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{name}: no file at {str(path.resolve())!r}")
    if path.is_dir():
        raise ValueError(f"{name}: {str(path)!r} is a directory; a file is needed")
    if path.stat().st_size == 0:
        raise ValueError(f"{name}: file {str(path)!r} is empty (0 bytes)")
    if suffixes is not None:
        suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".gz") else path.suffix
        if suffix.lower() not in suffixes:
            raise ValueError(
                f"{name}: file {str(path)!r} has suffix {suffix!r}; accepted: "
                + ", ".join(repr(s) for s in suffixes)
            )
    return path


def _pickle_refused(path: Path, key: str | None) -> ValueError:
    what = f"array {key!r} in {str(path)!r}" if key else f"{str(path)!r}"
    return ValueError(
        f"{what} holds Python objects (an object array) that can only be loaded with pickle; "
        "rgdata never unpickles files (unsafe). Save plain numeric arrays instead, e.g. "
        "np.save(path, np.asarray(data, dtype=float))"
    )


@contextlib.contextmanager
def _read_errors(name: str, path: Path, key: str | None, what: str) -> Iterator[None]:
    """Turn what numpy raises on a pickled, truncated or corrupt file into one ValueError.

    *what* names the thing being read in the message (``"'f.npy' as .npy"``,
    ``"array 'x' of 'f.npz'"``); *key* is the ``.npz`` member, if any.
    """
    try:
        yield
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise _pickle_refused(path, key) from err
        raise ValueError(
            f"{name}: could not read {what} ({str(err).strip()}); "
            "the file looks truncated or corrupt"
        ) from err
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(
            f"{name}: could not read {what} ({why(err)}); the file looks truncated or corrupt"
        ) from err


def load_numpy(path: Any, *, key: str | None = None, name: str = "path") -> tuple[np.ndarray, str]:
    """Load one array from a ``.npy`` or ``.npz`` file without pickle.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.npy`` or ``.npz`` file.
    key : str, optional
        The array to take from an ``.npz``; may be left out when the archive
        holds exactly one array.
    name : str
        Argument name used in messages.

    Returns
    -------
    array : numpy.ndarray
    label : str
        ``"file.npz[key]"`` or ``"file.npy"``, for ``attrs["source"]``.
    """
    path = check_path(path, name, suffixes=(".npy", ".npz"))
    suffix = path.suffix.lower()
    if suffix == ".npy" and key is not None:
        raise ValueError(f"key={key!r} given but {str(path)!r} is a .npy file holding one array")
    magic = b"\x93NUMPY" if suffix == ".npy" else b"PK"
    with open(path, "rb") as fh:
        head = fh.read(len(magic))
    if head != magic:
        raise ValueError(
            f"{name}: {str(path)!r} does not start like a {suffix} file; "
            "the file looks truncated or corrupt (or is another format)"
        )
    with _read_errors(name, path, None, f"{str(path)!r} as {suffix}"):
        loaded = np.load(path, allow_pickle=False)
    if isinstance(loaded, np.ndarray):
        return loaded, safe_name(path)
    with loaded as npz:
        keys = list(npz.files)
        if key is None:
            if len(keys) != 1:
                raise ValueError(
                    f"{str(path)!r} holds {len(keys)} arrays; pass key= one of: "
                    + ", ".join(repr(k) for k in keys)
                )
            key = keys[0]
        elif key not in keys:
            raise ValueError(
                f"key {key!r} not in {str(path)!r}; available keys: "
                + ", ".join(repr(k) for k in keys)
            )
        with _read_errors(name, path, key, f"array {key!r} of {str(path)!r}"):
            arr = npz[key]
    return arr, f"{safe_name(path)}[{key}]"


_DECIMALS = re.compile(r"^[+-]?\d*(?:\.(\d*))?(?:[eE][+-]?\d+)?$")


def _decimals(field: str) -> int | None:
    """Digits after the decimal point of a plain number, None if *field* is not one."""
    found = _DECIMALS.match(field.strip())
    if found is None or not field.strip():
        return None
    return len(found.group(1) or "") if "." in field else 0


def check_csv_layout(path: Path, name: str = "path") -> dict[str, Any]:
    """Refuse duplicate header names and a cut last line; describe an unterminated one.

    A CSV written by a program ends with a newline, so a file that does not
    is either hand-made or cut short (an interrupted download or copy). Rules:

    * the last line has fewer fields than the header, or its last field is
      empty: cut, ``ValueError``;
    * the last field is a number with a different count of decimals than
      every other value of its column (which all share one count, e.g.
      ``101.2`` in a column of ``101.25``-like prices): cut, ``ValueError``;
    * otherwise a cut cannot be told from a complete value: a warning, and
      the returned record says so (``csv_final_newline = 0`` and the line).

    Returns
    -------
    dict
        ``{}`` for a file ending in a newline; else the record for attrs.
        Undecodable files return ``{}`` too (the CSV parser then reports them).
    """
    try:
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rb") as fh:
            text = fh.read().decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError):
        return {}
    lines = text.splitlines()
    if not lines:
        return {}
    header = next(csv.reader([lines[0]]))
    seen: dict[str, int] = {}
    for col in header:
        seen[col] = seen.get(col, 0) + 1
    dups = [col for col, n in seen.items() if n > 1]
    if dups:
        raise ValueError(
            f"{name}: column name(s) {dups} appear more than once in the header of "
            f"{safe_name(path)!r}; each column needs its own name"
        )
    if text.endswith(("\n", "\r")) or len(lines) < 2:
        return {}
    last = lines[-1]
    fields = next(csv.reader([last]), [])
    where = f"{name}: the last line of {safe_name(path)!r} ({last!r})"
    if len(fields) < len(header) or (fields and not fields[-1].strip()):
        raise ValueError(
            f"{where} has {len(fields)} field(s) of {len(header)}"
            + (", the last one empty," if len(fields) >= len(header) else "")
            + " and the file does not end with a newline: it looks cut short (interrupted "
            "download or copy); accepted: complete files, each line ending in a newline"
        )
    if len(fields) == len(header):
        previous = [
            _decimals(row[-1])
            for row in csv.reader(lines[max(1, len(lines) - 201) : -1])
            if len(row) == len(header) and row[-1].strip()
        ]
        counts = {d for d in previous if d is not None}
        mine = _decimals(fields[-1])
        if len(previous) >= 2 and None not in previous and len(counts) == 1 and mine is not None:
            (usual,) = counts
            if mine != usual:
                raise ValueError(
                    f"{where}: its last value {fields[-1]!r} has {mine} decimal(s) where every "
                    f"other value of column {header[-1]!r} has {usual}, and the file does not "
                    "end with a newline: it looks cut short (interrupted download or copy); "
                    "accepted: complete files, each line ending in a newline"
                )
    warn_user(
        f"{where} does not end with a newline; it is read as complete, but a file cut short "
        "inside its last number would look the same. Recorded in attrs['csv_last_line']"
    )
    return {"csv_final_newline": 0, "csv_last_line": last}


def read_table(path: Any, *, name: str = "path", index_col: int | str | None = 0) -> pd.DataFrame:
    """Read a CSV (optionally gzipped) or parquet table; wrap parse errors in ValueError.

    CSV files first go through :func:`check_csv_layout` (duplicate column
    names, a cut last line); what it records is in ``frame.attrs["file_checks"]``.
    Duplicate column names in a parquet file are refused too.
    """
    path = check_path(path, name, suffixes=(".csv", ".csv.gz", ".txt", ".parquet", ".pq"))
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            import pyarrow  # noqa: F401
        except ImportError as err:
            raise ImportError(
                "reading parquet files needs pyarrow; install it with "
                "`pip install rgdata[parquet]` (or `pip install pyarrow`)"
            ) from err
        try:
            frame = pd.read_parquet(path)
        except Exception as err:  # pyarrow raises its own error types
            dups = _parquet_duplicates(path)
            if dups:
                raise ValueError(
                    f"{name}: column name(s) {dups} appear more than once in "
                    f"{safe_name(path)!r}; each column needs its own name"
                ) from err
            raise ValueError(
                f"{name}: could not read {str(path)!r} as parquet ({why(err)}); "
                "the file looks truncated or corrupt"
            ) from err
        if not isinstance(frame.index, pd.RangeIndex):
            frame = frame.reset_index()  # a stored index (e.g. dates) becomes the first column
        if index_col is not None:
            col = frame.columns[index_col] if isinstance(index_col, int) else index_col
            frame = frame.set_index(col)
        return frame
    record = check_csv_layout(path, name)
    try:
        frame = pd.read_csv(path, index_col=index_col)
    except (EOFError, OSError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise ValueError(
            f"{name}: could not read {str(path)!r} as CSV ({why(err)}); "
            "the file looks truncated or corrupt"
        ) from err
    except pd.errors.EmptyDataError as err:
        raise ValueError(f"{name}: file {str(path)!r} holds no table (no columns)") from err
    frame.attrs["file_checks"] = record
    return frame


def _parquet_duplicates(path: Path) -> list[str]:
    """Column names stored more than once in a parquet file's schema (``[]`` if unreadable)."""
    try:
        import pyarrow.parquet as pq

        names = pq.read_schema(path).names
    except Exception:  # noqa: BLE001 - unreadable: the caller reports the original error
        return []
    return sorted({n for n in names if names.count(n) > 1})
