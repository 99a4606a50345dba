"""Run report sections on an Activity and save the report folder.

:func:`build_report` is the general mechanism (any Activity, any list of
sections); :mod:`rgdata.report.recipes` holds the canonical per-dataset
analyses built on it, and :func:`write_index` links several reports.
"""

from __future__ import annotations

import html
import json
import os
import re
import traceback
from pathlib import Path
from typing import Any

import xarray as xr

from .._atomic import write_text_atomic
from .._progress import progress_bar
from .._validation import check_option, describe
from .._warnings import once_per_call, warn_user
from ._html import render_index
from ._report import Report
from .sections import DATA_SECTIONS, REGISTRY

__all__ = ["SECTIONS", "available_sections", "build_report", "section_skip_reason", "write_index"]

#: Sections that analyse an Activity, in the order they appear in a report
#: (:data:`rgdata.report.sections.REGISTRY` lists them, with the simulation section).
SECTIONS = DATA_SECTIONS


def section_skip_reason(name: str, activity: xr.DataArray) -> str | None:
    """Why section *name* does not apply to *activity* (None when it applies).

    A section whose registry entry names a ``skip`` function (e.g. maxent on
    non-binary data) may decline an Activity; the others apply to every one.
    """
    check_option(name, "section", SECTIONS)
    return REGISTRY[name].skip_reason(activity)


def available_sections() -> list[str]:
    """Sections whose implementation is installed (in report order)."""
    return [name for name in SECTIONS if REGISTRY[name].load() is not None]


@once_per_call
def build_report(
    activity: xr.DataArray,
    out: str | os.PathLike,
    *,
    title: str,
    description: str = "",
    sections: tuple[str, ...] | list[str] | None = None,
    options: dict[str, dict[str, Any]] | None = None,
    random_state: Any = 0,
    progress: bool = False,
    raise_errors: bool = False,
    back_link: str | None = None,
) -> dict[str, Any]:
    """Run *sections* on *activity* and save the report under *out*.

    Parameters
    ----------
    activity : xarray.DataArray
        Activity ``(unit, time)`` or ``(trial, unit, time)``.
    out : path
        Report folder (created); ``index.html`` is written last.
    title, description : str
        Shown at the top of the report.
    sections : sequence of str, optional
        Names from :data:`SECTIONS`; default: every available one.
    options : dict, optional
        Per-section keyword arguments, e.g. ``{"scaling": {"n_levels": 6}}``.
    random_state : None, int or Generator
        Passed to every section.
    progress : bool
        Progress bar over sections (and passed on to each section).
    raise_errors : bool
        Re-raise a section's exception instead of recording it in the report.
    back_link : str, optional
        Relative link to a page listing this report with others (the
        ``rgdata report`` command passes ``"../index.html"``).

    Returns
    -------
    dict
        ``index`` (path of index.html), ``headlines`` (numbers per section),
        ``failed`` (section name -> error message) and ``skipped`` (section
        name -> why it does not apply to this data, e.g. maximum-entropy
        models on continuous calcium or returns). A failed section is stated
        in the report and warned about; it never passes silently. A skipped
        section is stated in the report with its reason and is not a failure.
    """
    if not isinstance(activity, xr.DataArray):
        raise TypeError(f"activity must be an xarray.DataArray, got {describe(activity)}")
    names = list(sections) if sections is not None else available_sections()
    for name in names:
        check_option(name, "section", SECTIONS)
    options = dict(options or {})
    unknown = set(options) - set(names)
    if unknown:
        raise ValueError(
            f"options given for section(s) not run: {sorted(unknown)}; running: {names}"
        )
    report = Report(title, description)
    report.back_link = back_link
    headlines: dict[str, Any] = {}
    failed: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for name in progress_bar(names, enable=progress, desc=f"{title}: sections"):
        section = REGISTRY[name]
        if section.load() is None:
            failed[name] = "not implemented in this version"
            report.add_text(f"Section {name!r} is not available in this version.", section=name)
            continue
        reason = section_skip_reason(name, activity)
        if reason is not None:
            skipped[name] = reason
            report.add_text(f"Section {name!r} skipped: {reason}.", section=f"{name} (skipped)")
            continue
        try:
            headlines[name] = section.run(
                report,
                activity,
                random_state=random_state,
                progress=progress,
                **options.get(name, {}),
            )
        except Exception as err:  # a report states what failed, then goes on
            if raise_errors:
                raise
            msg = f"{type(err).__name__}: {err}"
            failed[name] = msg
            warn_user(f"report section {name!r} failed: {msg}", RuntimeWarning)
            report.add_text(
                f"Section {name!r} FAILED: {msg}\n{traceback.format_exc(limit=3)}",
                section=f"{name} (failed)",
            )
    if headlines:
        rows = [
            {"section": sec, "quantity": key, "value": _plain(val)}
            for sec, numbers in headlines.items()
            for key, val in (numbers or {}).items()
        ]
        if rows:
            report.add_table(
                rows,
                "headlines",
                "Every number the sections returned (the table at the top shows the exponents "
                "with their intervals and nulls).",
                section="All numbers",
            )
    index = report.save(out)
    return {"index": index, "headlines": headlines, "failed": failed, "skipped": skipped}


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and getattr(value, "size", 2) == 1:
        return value.item()
    if isinstance(value, int | float | str):
        return value
    return json.dumps(value, default=str)


def write_index(
    out: str | os.PathLike, entries: list[dict[str, Any]], title: str = "rgdata reports"
) -> Path:
    """Write ``index.html`` under *out* linking several report folders.

    Each entry has ``name``, ``path`` (the report's index.html), ``title``
    and optionally ``failed``; each report is shown as a card with its first
    figure and its headline numbers (read from its ``summary.json``). Reports already under *out*
    (``out/<name>/index.html``) that *entries* does not name are listed too,
    so running one dataset never hides the others from the index; hidden
    folders (the staging folders of saves in progress) are not. The index is
    written atomically (temporary name, then rename).
    """
    out = Path(out)
    entries = list(entries)
    named = {Path(e["path"]).resolve() for e in entries}
    for index in sorted(out.glob("*/index.html")):
        if index.parent.name.startswith("."):  # staging folder of a save in progress
            continue
        if index.resolve() not in named:
            found = re.search(r"<title>(.*?)</title>", index.read_text(encoding="utf-8"), re.S)
            title_text = html.unescape(found.group(1)) if found else index.parent.name
            entries.append({"name": index.parent.name, "path": index, "title": title_text})
    cards = []
    for e in entries:
        folder = Path(e["path"]).parent
        summary = _read_summary(folder)
        thumb = summary.get("thumbnail")
        size = summary.get("thumbnail_size") or (0, 0)
        cards.append(
            {
                "title": e.get("title") or summary.get("title") or e["name"],
                "href": os.path.relpath(e["path"], out),
                "thumbnail": os.path.relpath(folder / thumb, out) if thumb else None,
                "thumb_width": size[0],
                "thumb_height": size[1],
                "headlines": summary.get("headlines", []),
                "failed": list(e.get("failed") or summary.get("failed") or []),
            }
        )
    return write_text_atomic(out / "index.html", render_index(title, cards))


def _read_summary(folder: Path) -> dict[str, Any]:
    """``summary.json`` of a report folder ({} for folders written before it existed)."""
    try:
        return json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
