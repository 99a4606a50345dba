"""Price tables (wide CSV / parquet) to returns Activity, with missing-data and
split/glitch policies shared by :func:`read_prices` and the shipped loaders.

Reading and checking the table is ``_price_table.py``; the missing-data policies
and event records are ``_price_cleaning.py``; the event detectors themselves
are ``_price_events.py``. This module holds the public functions.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._validation import check_array, check_option, check_real
from .._warnings import warn_user
from ..activity import as_activity
from . import _price_events as ev
from ._files import read_table, safe_name
from ._price_cleaning import MISSING_POLICIES, _apply_missing, _find_events
from ._price_table import _as_price_frame

__all__ = ["read_prices", "detect_price_events", "MISSING_POLICIES", "CORRECTION_POLICIES"]

#: Accepted ``corrections=`` policies (see :func:`read_prices`).
CORRECTION_POLICIES = ("auto", "flag", "none", "raise")


def detect_price_events(
    prices: pd.DataFrame,
    *,
    splits: bool = True,
    glitches: bool = True,
    split_ratios: tuple[float, ...] = ev.DEFAULT_SPLIT_RATIOS,
    split_tol_sigma: float = 4.0,
    split_max_tol: float = 0.05,
    glitch_min_move: float = 0.15,
    glitch_sigma: float = 10.0,
) -> pd.DataFrame:
    """Find split jumps and one-day glitches in a wide price table.

    Parameters
    ----------
    prices : pandas.DataFrame
        Date index, one column of positive prices per ticker, no NaN.
    splits, glitches : bool
        Which kinds of event to look for.
    split_ratios : tuple of float
        Candidate ratios ``q`` (a ``q``:1 split divides the price by ``q``;
        values below 1 are reverse splits). Default 3:2, 2:1, 3:1, 4:1, 5:1,
        10:1 and the reverse 1:2, 1:3, 1:4, 1:5, 1:10.
    split_tol_sigma : float
        A day's market-adjusted log return must lie within this many robust
        daily standard deviations of the unit of ``-log(q)``...
    split_max_tol : float
        ... and within this absolute distance (log units). The 20 real
        splits of the shipped stocks lie within 0.026 of their ratio; on
        Student-t(3) returns of scale 0.01 (0.02) the defaults give about 2
        (14) false splits per 100,000 stock-days.
    glitch_min_move, glitch_sigma : float
        Both legs of a glitch must exceed ``max(glitch_min_move, glitch_sigma * sigma)``.

    Returns
    -------
    pandas.DataFrame
        One row per event: ``ticker``, ``date``, ``type`` (``"split"`` or
        ``"glitch"``), ``ratio`` (splits), ``log_return``,
        ``next_log_return`` (glitches) and the size in sigma units. Glitches
        are searched first and repaired before splits are searched.

    Notes
    -----
    The rules are described in ``docs/data.md``. A crash of about -33 %,
    -50 % or -67 % on a volatile day can match a split ratio: run split
    detection only on prices that are known not to be split-adjusted.
    """
    ratios = check_array(split_ratios, "split_ratios", ndim=1).astype(float)
    if ratios.size == 0 or np.any(ratios <= 0) or np.any(ratios == 1):
        raise ValueError(
            f"split_ratios must be a non-empty list of positive numbers other than 1 "
            f"(e.g. 2.0 for 2:1, 0.5 for a 1:2 reverse split), got {list(ratios)}"
        )
    frame = _as_price_frame(prices, "prices")
    if frame.isna().to_numpy().any():
        raise ValueError("prices contains NaN; apply a missing-data policy first")
    records, _ = _find_events(
        np.log(frame.to_numpy()),
        frame,
        splits=splits,
        glitches=glitches,
        split_ratios=tuple(ratios),
        split_tol_sigma=check_real(split_tol_sigma, "split_tol_sigma", min_value=0),
        split_max_tol=check_real(split_max_tol, "split_max_tol", min_value=0),
        glitch_min_move=check_real(glitch_min_move, "glitch_min_move", min_value=0),
        glitch_sigma=check_real(glitch_sigma, "glitch_sigma", min_value=0),
        action="detected",
    )
    return pd.DataFrame.from_records(records)


def prices_to_returns(
    prices: pd.DataFrame,
    *,
    returns: str = "log",
    missing: str = "drop_dates",
    corrections: str = "flag",
    detect_splits: bool = True,
    flag_moves_above: float | None = 0.4,
    origin: str = "read_prices",
    name: str = "prices",
    date_format: str | None = None,
    **attrs: Any,
) -> xr.DataArray:
    """Core of :func:`read_prices` on an in-memory table (also used by the loaders).

    Its warnings point at the user's call of the public function (``warn_user``).
    """
    check_option(returns, "returns", ("log", "simple"))
    check_option(missing, "missing", MISSING_POLICIES)
    check_option(corrections, "corrections", CORRECTION_POLICIES)
    if flag_moves_above is not None:
        flag_moves_above = check_real(
            flag_moves_above, "flag_moves_above", min_value=0, strict_min=True
        )
    frame = _as_price_frame(prices, name, date_format)
    date_used = frame.attrs.get("date_format", "datetime")
    frame, record = _apply_missing(frame, missing, origin)
    record["date_format"] = date_used
    log_p = np.log(frame.to_numpy())
    record["corrections"] = corrections
    if corrections != "none":
        action = "corrected" if corrections == "auto" else "flagged"
        events, fixed = _find_events(
            log_p, frame, splits=detect_splits, glitches=True, action=action
        )
        record["split_detection"] = int(bool(detect_splits))
        record["price_events"] = json.dumps(events)
        n_split = sum(e["type"] == "split" for e in events)
        n_glitch = len(events) - n_split
        record["n_splits_found"] = n_split
        record["n_glitches_found"] = n_glitch
        if events:
            shown = "; ".join(
                f"{e['ticker']} {e['date']} {e['type']}"
                + (f" {e['ratio']}" if e["type"] == "split" else "")
                for e in events[:6]
            ) + ("; ..." if len(events) > 6 else "")
            if corrections == "raise":
                raise ValueError(
                    f"{origin}: found {n_split} split(s) and {n_glitch} one-day glitch(es) "
                    f"({shown}) and corrections='raise'; accepted: "
                    + ", ".join(repr(c) for c in CORRECTION_POLICIES)
                )
            if corrections == "auto":
                log_p = fixed
                verb, tail = "corrected", ""
            else:
                verb, tail = "flagged", " (data not changed; corrections='auto' repairs them)"
            counts = (f"{n_split} split(s) and " if detect_splits else "") + (
                f"{n_glitch} one-day glitch(es)"
            )
            warn_user(
                f"{origin}: {verb} {counts}{tail}: {shown}. "
                "Every event is listed in attrs['price_events']"
            )
    if flag_moves_above is not None:
        moves = ev.large_moves(log_p, flag_moves_above)
        rec_moves = [
            {
                "ticker": str(frame.columns[m["unit"]]),
                "date": str(frame.index[m["index"]].date()),
                "log_return": round(m["log_return"], 6),
            }
            for m in moves
        ]
        record["large_move_threshold"] = float(flag_moves_above)
        record["n_large_moves"] = len(rec_moves)
        record["large_moves"] = json.dumps(rec_moves)
        if rec_moves:
            warn_user(
                f"{origin}: {len(rec_moves)} daily |log return| > {flag_moves_above} kept as is "
                "(possible data errors or real crashes; check them): listed in "
                "attrs['large_moves']"
            )
    r = np.diff(log_p, axis=0)
    if returns == "simple":
        r = np.expm1(r)
    index = frame.index[1:]
    if index.tz is not None:  # netCDF wants naive times: store UTC and say so
        record["timezone"] = f"times converted from {index.tz} to UTC"
        index = index.tz_convert("UTC").tz_localize(None)
    dates = index.to_numpy().astype("datetime64[ns]")
    return as_activity(
        r,
        kind="returns",
        layout="time_unit",
        unit=np.asarray(frame.columns, dtype=str),
        time=dates,
        returns=returns,
        time_convention="each return is dated by the later of its two prices",
        **record,
        **attrs,
    )


def read_prices(
    path: str | os.PathLike | pd.DataFrame,
    *,
    price_column: str | None = None,
    date_column: str | int = 0,
    ticker_column: str = "ticker",
    tickers: list[str] | None = None,
    returns: str = "log",
    missing: str = "drop_dates",
    corrections: str = "flag",
    detect_splits: bool = True,
    flag_moves_above: float | None = 0.4,
    date_format: str | None = None,
) -> xr.DataArray:
    """Read a table of daily prices and return its returns as Activity.

    Parameters
    ----------
    path : str, os.PathLike or pandas.DataFrame
        A ``.csv``, ``.csv.gz`` or ``.parquet`` file (parquet needs pyarrow:
        ``pip install rgdata[parquet]``), or a DataFrame with a date index.
        The *wide* layout has one date column and one column of prices per
        ticker.
    price_column : str, optional
        Give it for a *long* table (one row per date and ticker): the column
        holding the price; the table is pivoted on *ticker_column*.
    date_column : str or int
        Column with the dates (name or position; default the first).
    ticker_column : str
        Column with the tickers in a long table.
    tickers : list of str, optional
        Keep only these columns (in this order).
    returns : {"log", "simple"}
        ``log(p_t / p_{t-1})`` or ``p_t / p_{t-1} - 1``.
    missing : {"drop_dates", "ffill", "drop_units", "raise"}
        What to do with missing prices (NaN). ``"drop_dates"`` drops every
        date on which any price is missing, so the return over such a gap
        spans two or more days; ``"ffill"`` carries the last price forward,
        which puts exact zero returns in the data (biasing variances and
        correlations down); ``"drop_units"`` drops every ticker with a
        missing price; ``"raise"`` refuses. Whatever is removed or filled is
        warned about and listed in attrs.
    corrections : {"flag", "auto", "none", "raise"}
        Split jumps and one-day glitches (see :func:`detect_price_events`):
        ``"flag"`` detects, warns and records them in
        ``attrs["price_events"]`` without changing the data; ``"auto"``
        also corrects them (earlier prices divided by the split ratio, a
        glitch price replaced by the geometric mean of its neighbours);
        ``"none"`` skips detection; ``"raise"`` refuses data with events.
    detect_splits : bool
        Look for split jumps (only meaningful for prices that are not
        split-adjusted; set False for adjusted closes).
    flag_moves_above : float or None
        Record (never change) every daily ``|log return|`` above this in
        ``attrs["large_moves"]`` (after corrections), with a warning.
    date_format : str, optional
        strftime format of the dates, e.g. ``"%d/%m/%Y"``. Without it, ISO
        and other unambiguous dates are inferred; dates of the form
        ``dd/mm/yyyy`` or ``mm/dd/yyyy`` (any of ``/ . -``) that read as
        valid dates both ways, giving different dates (e.g. every day <= 12),
        are refused with both candidate formats named; when only one reading
        is valid it is used. The format used is in ``attrs["date_format"]``.

    Returns
    -------
    xarray.DataArray
        Activity ``("unit", "time")`` of kind ``"returns"``; ``unit`` holds
        the tickers, ``time`` the dates (datetime64) of the later price of
        each return. attrs record every policy and what it did.

    Raises
    ------
    FileNotFoundError, ValueError, TypeError, ImportError
        Missing/empty/corrupt file, unparsable or ambiguous dates, duplicate
        column names or labels that collide as text (``1`` and ``"1"``),
        non-numeric or non-positive prices, a CSV whose last line looks cut
        (see below), unknown option, parquet without pyarrow.

    Notes
    -----
    Columns may hold integers, floats, ``decimal.Decimal`` (e.g. parquet
    decimal columns), or categorical / object columns of such numbers; they
    are converted to float. Text and booleans are refused, naming the column.

    A CSV file that does not end with a newline is checked for a cut last
    line (:func:`rgdata.io._files.check_csv_layout`): fewer fields than the
    header, an empty last field, or a last value with a different number of
    decimals than every other value of its column is refused; otherwise the
    file is read with a warning and ``attrs["csv_final_newline"] = 0`` and
    ``attrs["csv_last_line"]`` record it.
    """
    check_option(returns, "returns", ("log", "simple"))
    check_option(missing, "missing", MISSING_POLICIES)
    check_option(corrections, "corrections", CORRECTION_POLICIES)
    if isinstance(path, pd.DataFrame):
        frame, source, file_checks = path, "DataFrame", {}
    else:
        frame = read_table(path, name="path", index_col=None)
        file_checks = dict(frame.attrs.get("file_checks", {}))
        source = safe_name(path)
        if frame.shape[1] < 2:
            raise ValueError(
                f"path: {source!r} has {frame.shape[1]} column(s); a date column and at least "
                "one price column are needed (is the separator a comma?)"
            )
        col = frame.columns[date_column] if isinstance(date_column, int) else date_column
        if col not in frame.columns:
            raise ValueError(
                f"date_column {date_column!r} not in the table; columns: {list(frame.columns)}"
            )
        frame = frame.set_index(col)
    if price_column is not None:
        missing_cols = [c for c in (price_column, ticker_column) if c not in frame.columns]
        if missing_cols:
            raise ValueError(
                f"price_column/ticker_column {missing_cols} not in the table; columns: "
                f"{list(frame.columns)}"
            )
        dup = frame.reset_index().duplicated(subset=[frame.index.name or "index", ticker_column])
        if dup.any():
            raise ValueError(
                f"the long table has {int(dup.sum())} repeated (date, {ticker_column}) row(s); "
                "each ticker needs one price per date"
            )
        frame = frame.pivot(columns=ticker_column, values=price_column)
        frame.columns = [str(c) for c in frame.columns]
    if tickers is not None:
        absent = [t for t in tickers if t not in frame.columns]
        if absent:
            raise ValueError(f"tickers {absent} not in the table; available: {list(frame.columns)}")
        frame = frame[list(tickers)]
    return prices_to_returns(
        frame,
        returns=returns,
        missing=missing,
        corrections=corrections,
        detect_splits=detect_splits,
        flag_moves_above=flag_moves_above,
        origin="read_prices",
        name="path",
        date_format=date_format,
        source=source,
        **file_checks,
    )
