"""Cleaning price tables: the missing-price policies and split/glitch event records.

:func:`_apply_missing` applies a ``missing=`` policy (drop dates, forward
fill, drop units, raise) and records what it did in attrs;
:func:`_find_events` runs the detectors of ``_price_events`` (glitches
first, then splits) and returns the event records and corrected log prices.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from .._warnings import warn_user
from . import _price_events as ev

__all__ = ["MISSING_POLICIES", "_apply_missing", "_find_events"]

#: Accepted ``missing=`` policies (see :func:`read_prices`).
MISSING_POLICIES = ("drop_dates", "ffill", "drop_units", "raise")


def _apply_missing(
    prices: pd.DataFrame, missing: str, origin: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Apply the missing-price policy; return the NaN-free table and attrs recording it."""
    nan = prices.isna()
    n_cells = int(nan.to_numpy().sum())
    record: dict[str, Any] = {"missing": missing, "n_missing_prices": n_cells}
    if n_cells == 0:
        return prices, record
    rows = nan.any(axis=1)
    cols = nan.any(axis=0)
    summary = (
        f"{n_cells} missing price(s) on {int(rows.sum())} date(s) in {int(cols.sum())} unit(s)"
    )
    if missing == "raise":
        cells = [(str(d.date()), c) for d, c in nan.stack()[lambda s: s].index[:5]]
        raise ValueError(
            f"{origin}: {summary} (first: {cells}) and missing='raise'; accepted policies: "
            + ", ".join(repr(m) for m in MISSING_POLICIES)
        )
    if missing == "drop_dates":
        dropped = prices.index[rows]
        out = prices.loc[~rows]
        record["missing_dates_dropped"] = json.dumps([str(d.date()) for d in dropped])
        record["n_missing_dates_dropped"] = len(dropped)
        action = f"dropped those {len(dropped)} date(s); returns across them span the gap"
    elif missing == "drop_units":
        dropped = [str(c) for c in prices.columns[cols]]
        out = prices.loc[:, ~cols]
        record["missing_units_dropped"] = json.dumps(dropped)
        record["n_missing_units_dropped"] = len(dropped)
        action = f"dropped those {len(dropped)} unit(s): {', '.join(dropped[:8])}" + (
            ", ..." if len(dropped) > 8 else ""
        )
    else:  # ffill
        out = prices.ffill()
        lead = out.isna().any(axis=1)
        n_filled = n_cells - int(out.isna().to_numpy().sum())
        record["n_missing_filled"] = n_filled
        record["missing_filled"] = json.dumps(
            [{"date": str(d.date()), "ticker": str(c)} for d, c in nan.stack()[lambda s: s].index]
        )
        action = f"carried the last price forward into {n_filled} cell(s) (zero returns)"
        if lead.any():
            lead_dates = out.index[lead]
            out = out.loc[~lead]
            record["missing_dates_dropped"] = json.dumps([str(d.date()) for d in lead_dates])
            record["n_missing_dates_dropped"] = len(lead_dates)
            action += f" and dropped {len(lead_dates)} leading date(s) with nothing to carry"
    if out.shape[0] < 3 or out.shape[1] < 2:
        raise ValueError(
            f"{origin}: after missing={missing!r} only {out.shape[0]} date(s) x "
            f"{out.shape[1]} unit(s) remain; try another missing= policy"
        )
    warn_user(f"{origin}: {summary}; missing={missing!r} {action}")
    return out, record


def _event_records(events: list[dict], prices: pd.DataFrame, kind: str, action: str) -> list:
    out = []
    for e in events:
        rec = {
            "ticker": str(prices.columns[e["unit"]]),
            "date": str(prices.index[e["index"]].date()),
            "type": kind,
            "action": action,
        }
        if kind == "split":
            rec.update(
                ratio=ev.ratio_label(e["ratio"]),
                ratio_value=round(e["ratio"], 6),
                log_return=round(e["log_return"], 6),
                residual_sigma=round(e["z"], 3),
            )
        else:
            rec.update(
                log_return=round(e["size"], 6),
                next_log_return=round(e["revert"], 6),
                size_sigma=round(e["z"], 2),
            )
        out.append(rec)
    return out


def _find_events(
    log_p: np.ndarray,
    frame: pd.DataFrame,
    *,
    splits: bool,
    glitches: bool,
    split_ratios: tuple[float, ...] = ev.DEFAULT_SPLIT_RATIOS,
    split_tol_sigma: float = 4.0,
    split_max_tol: float = 0.05,
    glitch_min_move: float = 0.15,
    glitch_sigma: float = 10.0,
    action: str,
) -> tuple[list[dict], np.ndarray]:
    """Detect events; return their records and the corrected log prices."""
    records = []
    fixed = log_p
    if glitches:
        found = ev.find_glitches(fixed, min_move=glitch_min_move, n_sigma=glitch_sigma)
        records += _event_records(found, frame, "glitch", action)
        fixed = ev.repair_glitches(fixed, found)
    if splits:
        found = ev.find_splits(
            fixed, ratios=tuple(split_ratios), tol_sigma=split_tol_sigma, max_tol=split_max_tol
        )
        records += _event_records(found, frame, "split", action)
        fixed = ev.apply_splits(fixed, found)
    records.sort(key=lambda r: (r["date"], r["ticker"]))
    return records, fixed
