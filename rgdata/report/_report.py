"""A report folder: figures (PNG) with captions, results (netCDF), index.html.

Figures and results are added in memory (a figure is rendered to PNG bytes
and closed at once), then :meth:`Report.save` writes every file atomically
and the ``index.html`` last, so an interrupted run never leaves an index
pointing at missing or half-written files.
"""

from __future__ import annotations

import html
import io
import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import xarray as xr

from .._atomic import atomic_path, to_netcdf_atomic, write_text_atomic
from .._validation import describe

__all__ = ["Report"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"report item name {name!r} is not accepted; use letters, digits, '_', '-' or '.'"
        )
    return name


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        if hasattr(value, "tolist"):
            return value.tolist()
        return str(value)


@dataclass
class _Item:
    kind: str  # "figure", "result", "text", "table"
    name: str
    section: str
    caption: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    payload: Any = None


class Report:
    """Collect figures, tables and result Datasets, then save them as a folder.

    Parameters
    ----------
    title : str
        Shown at the top of ``index.html``.
    description : str, optional
        A paragraph under the title (plain text).

    Examples
    --------
    >>> rep = Report("Retina overview")
    >>> rep.add_figure(fig, "raster", "Spike raster, first 10 s", section="Data")  # doctest: +SKIP
    >>> rep.add_result(ds, "prg", caption="PRG levels")  # doctest: +SKIP
    >>> rep.save("reports/retina")  # doctest: +SKIP
    """

    def __init__(self, title: str, description: str = "") -> None:
        self.title = title
        self.description = description
        self.items: list[_Item] = []

    def _check_new(self, kind: str, name: str) -> None:
        _check_name(name)
        if any(it.kind == kind and it.name == name for it in self.items):
            raise ValueError(f"a {kind} named {name!r} is already in this report")

    def add_figure(
        self,
        fig: Any,
        name: str,
        caption: str,
        *,
        section: str = "",
        params: dict[str, Any] | None = None,
        dpi: int = 110,
    ) -> Report:
        """Render a matplotlib figure to PNG now (and close it) and add it.

        Parameters
        ----------
        fig : matplotlib.figure.Figure
        name : str
            File stem (``figures/<name>.png``).
        caption : str
            What the figure shows, with the numbers a reader needs.
        section : str
            Heading under which the figure appears.
        params : dict, optional
            The parameters that made it, shown under the caption.
        """
        from matplotlib.figure import Figure

        if not isinstance(fig, Figure):
            raise TypeError(f"fig must be a matplotlib Figure, got {describe(fig)}")
        self._check_new("figure", name)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        import matplotlib.pyplot as plt

        plt.close(fig)
        self.items.append(
            _Item("figure", name, section, caption, dict(params or {}), buf.getvalue())
        )
        return self

    def add_result(
        self,
        result: xr.Dataset | xr.DataArray,
        name: str,
        caption: str = "",
        *,
        section: str = "",
    ) -> Report:
        """Add a result Dataset, saved as ``results/<name>.nc``."""
        if isinstance(result, xr.DataArray):
            result = result.to_dataset(name=result.name or name)
        if not isinstance(result, xr.Dataset):
            raise TypeError(f"result must be an xarray Dataset, got {describe(result)}")
        self._check_new("result", name)
        params = {k: v for k, v in result.attrs.items() if isinstance(v, str | int | float)}
        self.items.append(_Item("result", name, section, caption, params, result))
        return self

    def add_table(self, rows: Any, name: str, caption: str = "", *, section: str = "") -> Report:
        """Add a table (a pandas DataFrame or a list of dicts), shown in the index."""
        import pandas as pd

        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
        self._check_new("table", name)
        self.items.append(_Item("table", name, section, caption, {}, frame))
        return self

    def add_text(self, text: str, *, section: str = "") -> Report:
        """Add a paragraph of plain text (escaped) under *section*."""
        self.items.append(_Item("text", f"text{len(self.items)}", section, payload=str(text)))
        return self

    # ------------------------------------------------------------------ saving
    def save(self, path: str | os.PathLike) -> Path:
        """Write ``figures/*.png``, ``results/*.nc`` and ``index.html`` under *path*.

        Returns the path of ``index.html``.
        """
        root = Path(path)
        (root / "figures").mkdir(parents=True, exist_ok=True)
        for it in self.items:
            if it.kind == "figure":
                with atomic_path(root / "figures" / f"{it.name}.png", suffix=".png") as tmp:
                    tmp.write_bytes(it.payload)
            elif it.kind == "result":
                to_netcdf_atomic(it.payload, root / "results" / f"{it.name}.nc")
            elif it.kind == "table":
                with atomic_path(root / "tables" / f"{it.name}.csv", suffix=".csv") as tmp:
                    it.payload.to_csv(tmp, index=False)
        return write_text_atomic(root / "index.html", self.to_html())

    def to_html(self) -> str:
        """The index page as a string (figures are referenced, not embedded)."""
        esc = html.escape
        out = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{esc(self.title)}</title>",
            "<style>body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
            "figure{margin:1.5em 0;border-bottom:1px solid #ddd;padding-bottom:1em}"
            "img{max-width:100%}figcaption{margin-top:.4em}"
            "table{border-collapse:collapse;font-size:90%}"
            "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}"
            ".params{color:#555;font-size:85%}</style></head><body>",
            f"<h1>{esc(self.title)}</h1>",
        ]
        if self.description:
            out.append(f"<p>{esc(self.description)}</p>")
        out.append(
            f"<p class='params'>Generated {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}"
            f" by rgdata {_version()}</p>"
        )
        section = None
        for it in self.items:
            if it.section != section:
                section = it.section
                if section:
                    out.append(f"<h2>{esc(section)}</h2>")
            if it.kind == "figure":
                out.append(
                    f"<figure id='{esc(it.name)}'><img src='figures/{esc(it.name)}.png' "
                    f"alt='{esc(it.caption[:120])}'><figcaption>{esc(it.caption)}</figcaption>"
                    f"{_params_html(it.params)}</figure>"
                )
            elif it.kind == "result":
                out.append(
                    f"<p>Result <a href='results/{esc(it.name)}.nc'>{esc(it.name)}.nc</a>"
                    f" (netCDF; open with <code>xarray.open_dataset</code>). {esc(it.caption)}"
                    f"</p>{_params_html(it.params)}"
                )
            elif it.kind == "table":
                out.append(
                    f"<p>{esc(it.caption)} (<a href='tables/{esc(it.name)}.csv'>csv</a>)</p>"
                )
                out.append(it.payload.to_html(index=False, float_format=lambda v: f"{v:.4g}"))
            else:
                out.append(f"<p>{esc(it.payload)}</p>")
        out.append("</body></html>")
        return "\n".join(out)


def _params_html(params: dict[str, Any]) -> str:
    if not params:
        return ""
    text = ", ".join(
        f"{html.escape(str(k))}={html.escape(json.dumps(_jsonable(v))[:200])}"
        for k, v in params.items()
    )
    return f"<div class='params'>Parameters: {text}</div>"


def _version() -> str:
    from .. import __version__

    return __version__
