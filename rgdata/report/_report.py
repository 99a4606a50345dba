"""A report folder: figures (PNG) with captions, results (netCDF), index.html.

Figures and results are added in memory (a figure is rendered to PNG bytes
and closed at once), then :meth:`Report.save` writes the whole folder into a
hidden staging folder (``index.html`` last) and swaps it in by renaming, so
an interrupted or killed run never leaves an index pointing at missing,
half-written or other runs' files.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import secrets
import shutil
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import xarray as xr

from .._atomic import atomic_path, copy_mode, partial_name, remove_paths, stale_partials
from .._validation import describe
from ._html import FIGURE_DPI, Headline, ci_digits, format_value, render_report

__all__ = ["Report", "recover_report_folder"]

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
    size: tuple[int, int] = (0, 0)  # figures: CSS pixels to show the PNG at


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
        #: Headline numbers shown in the table at the top (:meth:`add_headline`).
        self.headlines: list[Headline] = []
        #: Link to the page listing this report with others (``None``: no link).
        self.back_link: str | None = None
        #: Random id of the last :meth:`save` (in index.html and every result's attrs).
        self.run_id = ""

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
        dpi: int = FIGURE_DPI,
    ) -> Report:
        """Render a matplotlib figure to PNG now (and close it) and add it.

        The PNG is rendered at *dpi* (200 by default) and shown at half its
        pixel size, so it stays sharp on high-density screens; figures much
        wider than tall span the page's whole width, the others sit two
        side by side.

        Parameters
        ----------
        fig : matplotlib.figure.Figure or Axes
            The figure (for an Axes, the figure holding it).
        name : str
            File stem (``figures/<name>.png``).
        caption : str
            What the figure shows, with the numbers a reader needs.
        section : str
            Heading under which the figure appears.
        params : dict, optional
            The parameters that made it, shown under the caption.
        """
        from matplotlib.axes import Axes
        from matplotlib.figure import Figure

        if isinstance(fig, Axes):
            fig = fig.figure
        if not isinstance(fig, Figure):
            raise TypeError(f"fig must be a matplotlib Figure or Axes, got {describe(fig)}")
        self._check_new("figure", name)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        import matplotlib.pyplot as plt

        plt.close(fig)
        png = buf.getvalue()
        width, height = struct.unpack(">II", png[16:24])  # the PNG's IHDR chunk
        scale = 100.0 / dpi  # CSS pixels of a figure drawn at 100 dpi
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        self.items.append(
            _Item("figure", name, section, caption, dict(params or {}), png, size=size)
        )
        return self

    def add_headline(
        self,
        label: str,
        value: float,
        *,
        ci_low: float = float("nan"),
        ci_high: float = float("nan"),
        nulls: list[dict[str, Any]] | None = None,
        note: str = "",
        reference: float | None = None,
        reference_name: str = "exact",
        section: str = "",
    ) -> Report:
        """Add a number to the headline table at the top of the page.

        Parameters
        ----------
        label : str
            What the number is (e.g. ``"α̃ (variance scaling)"``).
        value, ci_low, ci_high : float
            The estimate and its 95% confidence interval.
        nulls : list of dict, optional
            One ``{"name", "mean", "band_low", "band_high"}`` per null model
            (the mean over its draws and the 95% band where one more draw
            would fall). The verdict column says whether the data's interval
            overlaps each band.
        note : str
            Shown as the verdict when there is neither a null nor a reference.
        reference, reference_name : float and str, optional
            A value the number is checked against (an exact or published
            value): the verdict says whether the 95% CI holds it.
        section : str
            The section the number comes from.
        """
        rows = []
        for n in nulls or []:
            missing = {"name", "mean", "band_low", "band_high"} - set(n)
            if missing:
                raise ValueError(f"nulls entries need {sorted(missing)}; got keys {sorted(n)}")
            rows.append(
                {
                    "name": str(n["name"]),
                    "mean": float(n["mean"]),
                    "band_low": float(n["band_low"]),
                    "band_high": float(n["band_high"]),
                }
            )
        headline = Headline(
            str(label),
            section,
            float(value),
            float(ci_low),
            float(ci_high),
            rows,
            note,
            None if reference is None else float(reference),
            reference_name,
        )
        digits = ci_digits(headline.ci_low, headline.ci_high)
        for row in rows:
            row["text"] = (
                f"{format_value(row['mean'], digits)} [{format_value(row['band_low'], digits)}, "
                f"{format_value(row['band_high'], digits)}]"
            )
        self.headlines.append(headline)
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
        """Write ``figures/*.png``, ``results/*.nc``, ``tables/*.csv`` and ``index.html``.

        The whole folder is first written to a hidden staging folder beside
        *path* (``.<name>.staging-<pid>-<hex>``), ``index.html`` last; then
        the previous report (if any) is renamed away, the staging folder is
        renamed to *path* and the previous report is deleted. An interrupted
        or killed save therefore leaves either the previous complete report
        or the new one under *path*, never a mix, and ``index.html`` only
        links files of its own run: every result carries the run id of
        ``index.html`` (``attrs["report_run_id"]``, and the page's
        ``<meta name="rgdata-run-id">``). Leftovers of a killed save are
        removed by the next save into the same folder (and a previous report
        that was moved away but not yet replaced is put back first).
        Files keep the permission bits of the file of the same name they
        replace; new files and folders follow the umask.

        Returns the path of ``index.html``.
        """
        if not isinstance(path, str | os.PathLike):
            raise TypeError(f"path must be a str or os.PathLike folder, got {describe(path)}")
        root = Path(path)
        if root.exists() and not root.is_dir():
            raise ValueError(
                f"path: {str(root)!r} exists and is not a folder; a report is a folder"
            )
        parent = root.parent
        parent.mkdir(parents=True, exist_ok=True)
        recover_report_folder(root)
        self.run_id = secrets.token_hex(8)
        staging = parent / partial_name(root.name, "staging")
        staging.mkdir()
        try:
            copy_mode(root, staging)
            for it in self.items:
                if it.kind == "figure":
                    rel = Path("figures") / f"{it.name}.png"
                    with _staged(staging, root, rel) as tmp:
                        tmp.write_bytes(it.payload)
                elif it.kind == "result":
                    rel = Path("results") / f"{it.name}.nc"
                    payload = it.payload.copy(deep=False)
                    payload.attrs = {**it.payload.attrs, "report_run_id": self.run_id}
                    with _staged(staging, root, rel) as tmp:
                        payload.to_netcdf(tmp, engine="h5netcdf")
                elif it.kind == "table":
                    rel = Path("tables") / f"{it.name}.csv"
                    with _staged(staging, root, rel) as tmp:
                        it.payload.to_csv(tmp, index=False)
            with _staged(staging, root, Path("summary.json")) as tmp:
                tmp.write_text(json.dumps(self.summary(), indent=1), encoding="utf-8")
            with _staged(staging, root, Path("index.html")) as tmp:
                tmp.write_text(self.to_html(), encoding="utf-8")
            _swap_in(staging, root)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return root / "index.html"

    def summary(self) -> dict[str, Any]:
        """Title, headline numbers and the first figure (``summary.json``; the index reads it)."""
        first = next((it for it in self.items if it.kind == "figure"), None)
        return {
            "title": self.title,
            "run_id": self.run_id,
            "headlines": [h.to_dict() for h in self.headlines],
            "thumbnail": None if first is None else f"figures/{first.name}.png",
            "thumbnail_size": None if first is None else list(first.size),
            "failed": [
                it.section.removesuffix(" (failed)")
                for it in self.items
                if it.kind == "text" and it.section.endswith("(failed)")
            ],
        }

    def to_html(self) -> str:
        """The index page as a string (figures are referenced, not embedded)."""
        return render_report(
            self,
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            version=_version(),
        )


@contextlib.contextmanager
def _staged(staging: Path, root: Path, rel: Path) -> Iterator[Path]:
    """Atomic write of ``staging/rel``, keeping the mode of ``root/rel`` if it exists."""
    (staging / rel).parent.mkdir(parents=True, exist_ok=True)
    if rel.parent != Path("."):
        copy_mode(root / rel.parent, staging / rel.parent)
    with atomic_path(staging / rel, mode_from=root / rel) as tmp:
        yield tmp


def _swap_in(staging: Path, root: Path) -> None:
    """Replace the folder *root* by the complete folder *staging* (two renames)."""
    if root.exists() or root.is_symlink():
        if not root.is_dir():
            raise ValueError(
                f"path: {str(root)!r} exists and is not a folder; a report is a folder"
            )
        old = root.parent / partial_name(root.name, "old")
        os.rename(root, old)
        os.rename(staging, root)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(staging, root)


def recover_report_folder(path: str | os.PathLike) -> list[Path]:
    """Repair what a killed :meth:`Report.save` left beside the report folder *path*.

    If *path* is missing but the previous report was moved away
    (``.<name>.old-<pid>-<hex>`` of a dead process), it is put back; then the
    stale staging and old folders of dead processes are deleted. Returns the
    paths removed.
    """
    root = Path(path)
    stale = stale_partials(root.parent, root.name)
    if not root.exists():
        olds = [p for p in stale if ".old-" in p.name and (p / "index.html").is_file()]
        if olds:
            newest = max(olds, key=lambda p: p.stat().st_mtime)
            os.rename(newest, root)
            stale.remove(newest)
    return remove_paths(stale)


def _version() -> str:
    from .. import __version__

    return __version__
