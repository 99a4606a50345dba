"""Reading price tables: dates and numbers parsed into one wide ``(date, unit)`` frame.

:func:`_as_price_frame` accepts a wide table (a date column or index, one
column per unit) and checks it: dates parsed without day-first/month-first
ambiguity, increasing and unique; every price column numeric (booleans and
non-numeric cells refused, naming the first offending value).
Missing-data and event policies are applied afterwards (``_price_cleaning``).
"""

from __future__ import annotations

import numbers
import re
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from .._validation import describe
from ._files import why

__all__ = ["_as_price_frame"]


_DAY_MONTH = re.compile(r"^\s*\d{1,2}([/.\-])\d{1,2}\1(\d{2}|\d{4})\s*$")


def _parse_dates(index: pd.Index, name: str, date_format: str | None) -> tuple[pd.Index, str]:
    """Parse a date index; refuse day-first/month-first ambiguity. Return (dates, format)."""
    first = list(index[:3])
    if date_format is not None:
        try:
            return pd.to_datetime(index, format=date_format), date_format
        except (ValueError, TypeError) as err:
            raise ValueError(
                f"{name}: the dates do not all match date_format={date_format!r} "
                f"(first values {first!r}; {why(err)})"
            ) from err
    text = [str(v) for v in index]
    found = [_DAY_MONTH.match(v) for v in text]
    if found and all(found):
        seps = {f.group(1) for f in found}
        years = {len(f.group(2)) for f in found}
        if len(seps) == 1 and len(years) == 1:
            sep, year = seps.pop(), "%Y" if years.pop() == 4 else "%y"
            formats = [f"%d{sep}%m{sep}{year}", f"%m{sep}%d{sep}{year}"]
            parsed = {fmt: pd.to_datetime(index, format=fmt, errors="coerce") for fmt in formats}
            fitting = [fmt for fmt in formats if not parsed[fmt].hasnans]
            if len(fitting) == 2 and not parsed[formats[0]].equals(parsed[formats[1]]):
                raise ValueError(
                    f"{name}: the dates (first values {first!r}) read as valid dates both "
                    f"day-first ({formats[0]!r}) and month-first ({formats[1]!r}), giving "
                    "different dates; pass date_format= one of "
                    + ", ".join(repr(f) for f in formats)
                    + " (or store ISO dates like 2003-01-02)"
                )
            if fitting:
                return parsed[fitting[0]], fitting[0]
    try:
        return pd.to_datetime(index, format="mixed"), "inferred"
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"{name}: the date column/index could not be parsed as dates "
            f"(first values {first!r}); accepted: ISO dates like 2003-01-02, or any "
            "format given as date_format= (e.g. '%d/%m/%Y')"
        ) from err


def _numeric_column(values: pd.Series, col: Any, name: str) -> pd.Series:
    """Prices of one column as float: numbers, Decimal, categorical or object of numbers.

    Object columns may mix Python/numpy numbers, ``Decimal`` and number
    strings (a CSV column where another cell is text); the first value that
    is none of these is named in the error.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    if pd.api.types.is_bool_dtype(values):
        raise ValueError(
            f"{name}: column {col!r} holds booleans (dtype {values.dtype}); accepted: numbers, "
            "with empty cells for missing prices"
        )
    if pd.api.types.is_numeric_dtype(values):
        try:
            return values.astype(float)
        except (TypeError, ValueError, ArithmeticError) as err:
            raise TypeError(
                f"{name}: column {col!r} of dtype {values.dtype} cannot be converted to float "
                f"({why(err)}); accepted: integer, float or decimal numbers"
            ) from err

    def is_number(v: Any) -> bool:
        if v is None or v is pd.NA:
            return True
        if isinstance(v, str):  # a CSV column where some cell is not a number
            try:
                float(v)
            except ValueError:
                return False
            return True
        return isinstance(v, numbers.Real | Decimal) and not isinstance(v, bool | np.bool_)

    ok = values.map(is_number).astype(bool)
    if not ok.all():
        bad = values[~ok]
        when = bad.index[0]
        when = when.date() if hasattr(when, "date") else when
        raise ValueError(
            f"{name}: column {col!r} holds non-numeric values (e.g. {bad.iloc[0]!r} on "
            f"{when}); accepted: numbers, with empty cells for missing prices"
        )
    return values.map(lambda v: np.nan if v is None or v is pd.NA else float(v)).astype(float)


def _as_price_frame(frame: Any, name: str, date_format: str | None = None) -> pd.DataFrame:
    """Check a wide price table: date index, numeric columns, sorted unique dates.

    The parsed date format is in ``attrs["date_format"]`` of the returned table
    (``"datetime"`` when the index already held dates).
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas.DataFrame or a file path, got {describe(frame)}")
    if date_format is not None and not isinstance(date_format, str):
        raise TypeError(
            f"date_format must be a strftime format string like '%d/%m/%Y' or None, got "
            f"{describe(date_format)}"
        )
    if frame.shape[1] == 0:
        raise ValueError(f"{name} has no price columns (one column per ticker is needed)")
    if frame.shape[0] < 3:
        raise ValueError(f"{name} has {frame.shape[0]} row(s); at least 3 dates are needed")
    if frame.columns.has_duplicates:
        dups = list(frame.columns[frame.columns.duplicated()].unique())
        raise ValueError(
            f"{name}: column name(s) {dups} appear more than once; each price column needs "
            "its own name"
        )
    labels: dict[str, list[Any]] = {}
    for col in frame.columns:
        labels.setdefault(str(col), []).append(col)
    clashes = {k: v for k, v in labels.items() if len(v) > 1}
    if clashes:
        label, cols = next(iter(clashes.items()))
        raise ValueError(
            f"{name}: column labels {cols!r} all become the unit label {label!r} (labels are "
            "stored as text); rename the columns so that their text differs"
        )
    date_used = "datetime"
    if not isinstance(frame.index, pd.DatetimeIndex):
        if pd.api.types.is_numeric_dtype(frame.index):
            raise ValueError(
                f"{name}: the index holds numbers ({list(frame.index[:3])!r}), not dates; "
                "accepted: a date index or date column (ISO dates like 2003-01-02)"
            )
        index, date_used = _parse_dates(frame.index, name, date_format)
        frame = frame.set_axis(index, axis=0)
    if frame.index.hasnans:
        raise ValueError(f"{name}: the date index has missing dates (NaT)")
    if frame.index.has_duplicates:
        dup = frame.index[frame.index.duplicated()][0]
        raise ValueError(f"{name}: date {dup.date()} appears more than once")
    if not frame.index.is_monotonic_increasing:
        raise ValueError(f"{name}: dates must be in increasing order; sort the table first")
    out = {str(col): _numeric_column(frame[col], col, name) for col in frame.columns}
    prices = pd.DataFrame(out, index=frame.index)
    prices.attrs["date_format"] = date_used
    arr = prices.to_numpy()
    if np.isinf(arr).any():
        i, j = np.argwhere(np.isinf(arr))[0]
        raise ValueError(
            f"{name}: infinite price for {prices.columns[j]!r} on {prices.index[i].date()}"
        )
    if (arr <= 0).any():
        i, j = np.argwhere(arr <= 0)[0]
        raise ValueError(
            f"{name}: non-positive price {float(arr[i, j])!r} for {prices.columns[j]!r} on "
            f"{prices.index[i].date()}; log returns need prices > 0"
        )
    return prices
