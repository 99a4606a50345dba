"""HTML of report pages and of the index linking them, rendered from jinja2 templates.

The templates live in ``rgdata/report/templates`` (``report.html.j2``,
``index.html.j2`` and the shared ``_style.css``); jinja2 escapes every value.
This module only arranges what :class:`rgdata.report.Report` holds into the
templates' context: the headline table first, a table of contents, then each
section's figures in a grid, its tables, results and notes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any

__all__ = ["Headline", "render_report", "render_index", "format_value", "ci_digits"]

#: Figures are rendered at this dpi and shown at half their pixel size (sharp on 2x screens).
FIGURE_DPI = 200
#: A figure this much wider than tall spans the whole column.
WIDE_ASPECT = 1.9


@dataclass
class Headline:
    """One headline number: a value with its CI beside its nulls, and the verdict."""

    label: str
    section: str
    value: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    nulls: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    reference: float | None = None
    reference_name: str = "exact"

    @property
    def verdict(self) -> str:
        """The data's CI against the exact value (if any) and each null's band."""
        parts = []
        if not (math.isfinite(self.value) and math.isfinite(self.ci_low)):
            return "no interval: " + (self.note or "fit failed")
        if self.reference is not None:
            ref = f"{self.reference_name} {format_value(self.reference, 4)}"
            inside = self.ci_low <= self.reference <= self.ci_high
            parts.append(f"{'agrees with' if inside else 'differs from'} {ref}")
        if not self.nulls:
            return "; ".join(parts) or self.note
        overlap = [
            n["name"]
            for n in self.nulls
            if math.isfinite(n["band_low"])
            and self.ci_low <= n["band_high"]
            and n["band_low"] <= self.ci_high
        ]
        if not overlap:
            parts.append("differs from every null")
        else:
            parts.append("consistent with " + ", ".join(overlap))
        return "; ".join(parts)

    @property
    def verdict_class(self) -> str:
        verdict = self.verdict
        if "consistent with" in verdict or verdict.startswith("differs from exact"):
            return "verdict-consistent"  # shown in the warning colour
        if "differs from every null" in verdict or verdict.startswith("agrees with"):
            return "verdict-differs"
        return ""

    @property
    def value_text(self) -> str:
        digits = ci_digits(self.ci_low, self.ci_high)
        text = format_value(self.value, digits)
        if math.isfinite(self.ci_low) and math.isfinite(self.ci_high):
            text += f" [{format_value(self.ci_low, digits)}, {format_value(self.ci_high, digits)}]"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers (for ``summary.json`` and the index page)."""
        return {
            "label": self.label,
            "short": self.label.split(":")[0],
            "section": self.section,
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "nulls": self.nulls,
            "note": self.note,
            "reference": self.reference,
            "verdict": self.verdict,
            "value_text": self.value_text,
            "verdict_class": self.verdict_class,
        }


def ci_digits(lo: float, hi: float) -> int:
    """Decimals that show a CI of this width with two significant digits (2 to 6).

    Examples
    --------
    >>> ci_digits(1.31, 1.35), ci_digits(0.5, 2.5), ci_digits(float("nan"), 1.0)
    (3, 2, 3)
    """
    width = hi - lo
    if not (math.isfinite(width) and width > 0):
        return 3
    return int(min(6, max(2, 1 - math.floor(math.log10(width)))))


def format_value(value: Any, digits: int = 3) -> str:
    """A number or list as text a person reads: no Python reprs, no long floats.

    Examples
    --------
    >>> format_value(1.23456), format_value([1, 2.5, "a"]), format_value(float("nan"))
    ('1.235', '1, 2.500, a', 'n/a')
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "n/a"
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 10.0 ** (-digits)):
            return f"{value:.{max(digits - 1, 2)}e}"
        return f"{value:.{digits}f}"
    if hasattr(value, "item") and getattr(value, "size", 2) == 1:
        return format_value(value.item(), digits)
    if isinstance(value, list | tuple) or hasattr(value, "tolist"):
        items = value.tolist() if hasattr(value, "tolist") else value
        return ", ".join(format_value(v, digits) for v in items)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {format_value(v, digits)}" for k, v in value.items())
    return str(value)


def params_text(params: dict[str, Any]) -> str:
    """Parameters as ``name=value`` pairs, whole (no cut mid-sentence)."""

    def one(value: Any) -> str:
        if isinstance(value, str):
            return value
        try:
            return json.dumps(value)
        except TypeError:
            return format_value(value)

    return ", ".join(f"{k}={one(v)}" for k, v in params.items())


@cache
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("rgdata.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def _css() -> Any:
    import markupsafe

    env = _environment()
    source = env.loader.get_source(env, "_style.css")[0]
    return markupsafe.Markup(source)


def _anchor(title: str, used: set[str]) -> str:
    base = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-") or "section"
    anchor, k = base, 2
    while anchor in used:
        anchor, k = f"{base}-{k}", k + 1
    used.add(anchor)
    return anchor


def _sections(items: list[Any]) -> list[dict[str, Any]]:
    """Items grouped by section, consecutive figures gathered into one grid."""
    import markupsafe

    sections: list[dict[str, Any]] = []
    used: set[str] = set()
    for it in items:
        title = it.section or "Report"
        if not sections or sections[-1]["title"] != title:
            sections.append(
                {"title": title, "anchor": _anchor(title, used), "blocks": [], "n_figures": 0}
            )
        sec = sections[-1]
        if it.kind == "figure":
            width, height = it.size
            entry = {
                "name": it.name,
                "caption": it.caption,
                "alt": it.caption[:160],
                "params": params_text(it.params),
                "width": width,
                "height": height,
                "wide": width > WIDE_ASPECT * height,
            }
            sec["n_figures"] += 1
            if sec["blocks"] and sec["blocks"][-1]["kind"] == "figures":
                sec["blocks"][-1]["entries"].append(entry)
            else:
                sec["blocks"].append({"kind": "figures", "entries": [entry]})
        elif it.kind == "table":
            frame = it.payload.map(lambda v: format_value(v, 4) if not isinstance(v, str) else v)
            html = markupsafe.Markup(frame.to_html(index=False, escape=True, border=0))
            sec["blocks"].append(
                {"kind": "table", "item": {"name": it.name, "caption": it.caption, "html": html}}
            )
        elif it.kind == "result":
            sec["blocks"].append(
                {
                    "kind": "result",
                    "item": {
                        "name": it.name,
                        "caption": it.caption,
                        "params": params_text(it.params),
                    },
                }
            )
        else:
            text = str(it.payload)
            sec["blocks"].append(
                {"kind": "text", "item": {"text": text, "failed": "FAILED" in text}}
            )
    return sections


def render_report(report: Any, *, generated: str, version: str) -> str:
    """The page of one report (``index.html`` of its folder)."""
    problems = [
        str(it.payload).split("\n")[0]
        for it in report.items
        if it.kind == "text" and "FAILED" in str(it.payload)
    ]
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            title=report.title,
            description=report.description,
            run_id=report.run_id,
            css=_css(),
            back_link=report.back_link,
            generated=generated,
            version=version,
            headlines=[h.to_dict() for h in report.headlines],
            problems=problems,
            sections=_sections(report.items),
        )
    )


def render_index(title: str, entries: list[dict[str, Any]]) -> str:
    """The page linking several reports: one card each, with thumbnail and headlines."""
    return (
        _environment()
        .get_template("index.html.j2")
        .render(title=title, entries=entries, css=_css())
    )
