"""Loaders for the real datasets shipped in the repository's ``datasets/`` folder.

Each loader returns a validated Activity (:func:`rgdata.as_activity`) whose
attrs say where the numbers came from, their units and every cleaning step
that was applied. :data:`DATASETS` is the registry: one :class:`Dataset`
entry per shipped dataset holds its loader, its description and the
canonical analyses run on it (:class:`Analysis`: report title, loader
options, sections and their options); :func:`list_datasets`, the report
recipes (:data:`rgdata.report.recipes.RECIPES`), the ``rgdata report``
command and the ``analyses/<name>.py`` scripts are all generated from it.
Adding a dataset: write its loader here, add one :class:`Dataset` entry to
:data:`DATASETS`, and copy any ``analyses/*.py`` script to
``analyses/<analysis name>.py`` (the scripts take their name from the file).

The data folder is found, in this order, from the ``data_dir=`` argument, the
``RGDATA_DATA_DIR`` environment variable, ``datasets/`` next to the ``rgdata``
package in a source checkout, or the copy an installed wheel carries in
``<prefix>/share/rgdata/datasets`` (the ``data`` path of the environment's
install scheme: the venv, ``--user`` or the system prefix).
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ._validation import check_option
from .activity import as_activity
from .io._files import load_numpy, read_table
from .io.prices import CORRECTION_POLICIES, MISSING_POLICIES, prices_to_returns

__all__ = [
    "load_retina",
    "load_stocks",
    "load_ftse100",
    "list_datasets",
    "data_dir",
    "Dataset",
    "Analysis",
    "DATASETS",
]

_ENV = "RGDATA_DATA_DIR"

_RETINA_FILE = Path("retina_fishmovie") / "bint_fishmovie32_100.npz"
_STOCKS_FILES = {
    "close": Path("stocks_sklearn") / "close_prices.csv",
    "open": Path("stocks_sklearn") / "open_prices.csv",
}
_FTSE_FILE = Path("ftse100") / "ftse100_dataset.csv.gz"

RETINA_CITATION = (
    "Marre O. et al. (2012) J. Neurosci. 32:14859; Tkacik G., Marre O., Amodei D., "
    "Schneidman E., Bialek W., Berry M.J. II (2014) PLoS Comput Biol 10(1):e1003408"
)


def data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The folder the loaders read from.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Explicit folder; otherwise ``$RGDATA_DATA_DIR``; otherwise the
        ``datasets/`` folder next to the ``rgdata`` package.
    """
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(_ENV)
    if env:
        return Path(env).expanduser()
    candidates = _default_dirs()
    return next((c for c in candidates if c.is_dir()), candidates[0])


def _default_dirs() -> list[Path]:
    """Where the shipped data can be without being told: the checkout, then installed copies."""
    dirs = [Path(__file__).resolve().parents[1] / "datasets"]
    # a wheel installs its data files under the scheme's "data" path + share/rgdata/datasets
    schemes = [None, f"{os.name}_user"]
    for scheme in schemes:
        try:
            base = sysconfig.get_path("data", scheme) if scheme else sysconfig.get_path("data")
        except KeyError:  # no such scheme on this platform
            continue
        dirs.append(Path(base) / "share" / "rgdata" / "datasets")
    for prefix in (sys.prefix, sys.base_prefix):
        dirs.append(Path(prefix) / "share" / "rgdata" / "datasets")
    return list(dict.fromkeys(dirs))


def _locate(relative: Path, data_dir_arg: Any, loader: str) -> Path:
    root = data_dir(data_dir_arg)
    path = root / relative
    if not path.is_file():
        if data_dir_arg is not None:
            how = "the data_dir= argument"
        elif os.environ.get(_ENV):
            how = f"${_ENV}"
        else:
            searched = ", ".join(repr(str(d)) for d in _default_dirs())
            how = f"none found among the default locations: {searched}"
        raise FileNotFoundError(
            f"{loader}: data file not found at {str(path)!r} (data folder from {how}). "
            f"Pass data_dir= or set {_ENV} to the folder that holds {relative.parts[0]}/"
        )
    return path


def load_retina(*, data_dir: str | os.PathLike | None = None) -> xr.DataArray:
    """Salamander retina, 160 ganglion cells, 297 repeats of a natural movie.

    Binary spike trains in 20 ms bins from Marre et al. (2012), analysed in
    Tkacik et al. (2014): the standard data set of Meshulam et al. style RG
    analyses.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Folder holding ``retina_fishmovie/bint_fishmovie32_100.npz`` (see
        :func:`data_dir`).

    Returns
    -------
    xarray.DataArray
        Activity with dims ``("trial", "unit", "time")`` = (297, 160, 953),
        dtype **int8** holding 0/1 (1 = at least one spike in the bin), kind
        ``"spikes"``. ``time`` is the bin start in seconds from the movie
        start (0 to 19.04 s), ``unit`` the neuron index 0..159, ``trial`` the
        repeat index. attrs: ``bin_width`` = 0.02 (s), ``time_units`` "s",
        ``units`` "spike indicator (0/1) per 20 ms bin", ``source``,
        ``citation``.

    Notes
    -----
    The mean spike probability per bin is 0.0358 (about 1.8 Hz) and runs
    from 0.0011 to 0.162 across neurons; no neuron is silent. Binarisation
    (at most one spike per bin) was done upstream. Most analyses want one
    time axis: ``rgdata.stack_trials(load_retina())`` gives (160, 283041).
    The licence of the recording is not stated upstream: cite the papers in
    ``attrs["citation"]``.
    """
    path = _locate(_RETINA_FILE, data_dir, "load_retina")
    spikes, _ = load_numpy(path, key="spikes")
    bin_ms, _ = load_numpy(path, key="bin_ms")
    bin_width = float(bin_ms) / 1000.0
    spikes = spikes.astype(np.int8)
    n_trial, n_unit, n_time = spikes.shape
    return as_activity(
        spikes,
        kind="spikes",
        unit=np.arange(n_unit),
        time=np.round(np.arange(n_time) * bin_width, 6),
        trial=np.arange(n_trial),
        source="retina_fishmovie/bint_fishmovie32_100.npz "
        "(from jlnatal/CGProj bint_fishmovie32_100.mat)",
        dataset="retina",
        bin_width=bin_width,
        time_units="s",
        units="spike indicator (0/1) per 20 ms bin",
        citation=RETINA_CITATION,
    )


def _read_stock_table(price: str, data_dir_arg: Any) -> pd.DataFrame:
    path = _locate(_STOCKS_FILES[price], data_dir_arg, "load_stocks")
    frame = read_table(path, name=f"{price} prices file")
    frame.index = pd.to_datetime(frame.index)
    return frame


def load_stocks(
    price: str = "close",
    *,
    corrections: str = "auto",
    data_dir: str | os.PathLike | None = None,
) -> xr.DataArray:
    """Daily log returns of 56 US large caps, 2003-01-02 to 2007-12-31 (scikit-learn data).

    Parameters
    ----------
    price : {"close", "open", "intraday"}
        ``"close"`` / ``"open"``: close-to-close (open-to-open) log returns,
        1258 prices -> 1257 returns per ticker. ``"intraday"``:
        ``log(close / open)`` of each day, 1258 returns, split-free (a split
        happens overnight).
    corrections : {"auto", "flag", "none", "raise"}
        The prices are **not** split-adjusted and have one-day glitches.
        ``"auto"`` (default) detects splits and glitches from the data (see
        :func:`rgdata.io.detect_price_events`), corrects them, warns once and
        lists every event in ``attrs["price_events"]`` (JSON); ``"flag"``
        only detects and records; ``"none"`` leaves the raw jumps in;
        ``"raise"`` refuses. Ignored for ``"intraday"``.
    data_dir : str or os.PathLike, optional
        Folder holding ``stocks_sklearn/`` (see :func:`data_dir`).

    Returns
    -------
    xarray.DataArray
        Activity ``("unit", "time")``, kind ``"returns"``, float64 natural
        log returns (dimensionless). ``unit`` = 56 tickers (alphabetical),
        ``time`` = trading dates (datetime64). Prices were in USD.

    Notes
    -----
    With ``corrections="auto"`` the detector finds, on the close prices,
    the 20 documented splits and the two documented glitches (CMCSA
    2004-08-02, NAV 2007-06-07) and nothing else except CVC 2006-04-25: a
    fall from 28.14 to 19.20 (-32 %, most likely the special dividend
    Cablevision paid in April 2006) that lies 2 sigma from a 3:2 split and
    does not revert. The data cannot tell it from a 3:2 split, so it is
    corrected as one: the return that day becomes +2.3 %, where a dividend
    adjustment would give about +3.7 % (total return with a $10 dividend).
    Either way the -32 % jump, which is not a market move, is gone; the event
    is listed in attrs like the others.
    Dividends in general are not adjusted for.
    """
    check_option(price, "price", ("close", "open", "intraday"))
    check_option(corrections, "corrections", CORRECTION_POLICIES)
    common = {
        "dataset": "stocks",
        "price": price,
        "currency": "USD",
        "units": "log return (dimensionless)",
        "citation": "scikit-learn/examples-data financial-data (CC BY 4.0)",
    }
    if price == "intraday":
        close = _read_stock_table("close", data_dir)
        open_ = _read_stock_table("open", data_dir)
        if not (close.index.equals(open_.index) and list(close.columns) == list(open_.columns)):
            raise ValueError("load_stocks: close and open tables do not share dates and tickers")
        r = np.log(close.to_numpy(dtype=float) / open_.to_numpy(dtype=float))
        return as_activity(
            r,
            kind="returns",
            layout="time_unit",
            unit=np.asarray(close.columns, dtype=str),
            time=close.index.to_numpy().astype("datetime64[ns]"),
            source="stocks_sklearn/close_prices.csv, open_prices.csv",
            returns="log",
            corrections="none (intraday returns are split-free)",
            time_convention="each return is log(close/open) of its own date",
            **common,
        )
    frame = _read_stock_table(price, data_dir)
    return prices_to_returns(
        frame,
        returns="log",
        missing="raise",
        corrections=corrections,
        detect_splits=True,
        flag_moves_above=0.4,
        origin="load_stocks",
        name=f"{price} prices",
        source=f"stocks_sklearn/{price}_prices.csv",
        **common,
    )


def load_ftse100(
    missing: str = "drop_dates",
    *,
    corrections: str = "flag",
    data_dir: str | os.PathLike | None = None,
) -> xr.DataArray:
    """Daily log returns of 64 FTSE 100 stocks, 2000-01-04 to 2023-05-31 (skfolio data).

    Parameters
    ----------
    missing : {"drop_dates", "ffill", "drop_units", "raise"}
        The file has 29 missing prices (22 dates, 18 stocks, all between
        2021-05-28 and 2023-05-11). ``"drop_dates"`` (default) drops those 22
        dates, so the returns across them span two days (5938 prices -> 5937
        returns x 64); ``"ffill"`` carries the last price (5959 returns, with
        29 artificial zero returns, each followed by a return spanning two days);
        ``"drop_units"`` drops the 18 stocks (46 x 5959); ``"raise"`` refuses.
        Whatever is dropped or filled is warned about and listed in attrs.
    corrections : {"flag", "auto", "none", "raise"}
        The prices are adjusted closes, so only one-day glitches are searched
        (split detection is off: real crashes of -50 % or -67 % would match
        split ratios). ``"flag"`` (default) records and warns, ``"auto"``
        repairs the glitches, ``"none"`` skips, ``"raise"`` refuses.
    data_dir : str or os.PathLike, optional
        Folder holding ``ftse100/`` (see :func:`data_dir`).

    Returns
    -------
    xarray.DataArray
        Activity ``("unit", "time")``, kind ``"returns"``, float64 natural
        log returns. ``unit`` = LSE tickers (``"AAL.L"``...), ``time`` =
        dates (datetime64). Prices were in pence (GBp).

    Notes
    -----
    Every daily ``|log return| > 0.4`` (18 with the default policy, many in
    2008-09, e.g. AHT.L in March 2003) is kept but listed in
    ``attrs["large_moves"]``; check them before trusting tail statistics.
    The upstream docs call the data stale and meant for examples.
    """
    check_option(missing, "missing", MISSING_POLICIES)
    check_option(corrections, "corrections", CORRECTION_POLICIES)
    path = _locate(_FTSE_FILE, data_dir, "load_ftse100")
    frame = read_table(path, name="ftse100 file")
    return prices_to_returns(
        frame,
        returns="log",
        missing=missing,
        corrections=corrections,
        detect_splits=False,
        flag_moves_above=0.4,
        origin="load_ftse100",
        name="ftse100 prices",
        source="ftse100/ftse100_dataset.csv.gz (skfolio-datasets)",
        dataset="ftse100",
        currency="GBp",
        units="log return (dimensionless)",
        citation="skfolio/skfolio-datasets ftse100_dataset.csv.gz",
    )


@dataclass(frozen=True)
class Analysis:
    """One canonical report of a shipped dataset (a recipe of :mod:`rgdata.report.recipes`).

    Attributes
    ----------
    name : str
        Report name: ``rgdata report --dataset NAME``, ``analyses/NAME.py``
        and the folder ``reports/NAME/``.
    title, description : str
        Shown at the top of the report.
    load_options : dict
        Keyword arguments of the dataset's loader.
    sections : tuple of str
        Report sections (:data:`rgdata.report.sections.REGISTRY`), in order.
    options : dict
        Section name -> keyword arguments of the full run.
    quick_options : dict
        Section options added on top of the common quick ones in ``--quick`` runs.
    quick_subset : dict
        Quick runs keep the first ``n`` entries along each named dim.
    """

    name: str
    title: str
    description: str
    load_options: dict[str, Any] = field(default_factory=dict)
    sections: tuple[str, ...] = (
        "overview",
        "scaling",
        "collapse",
        "momentum",
        "flow",
        "hierarchical",
        "multiscale",
    )
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    quick_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    quick_subset: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Dataset:
    """One shipped dataset: its loader, what it is, and the analyses run on it.

    Attributes
    ----------
    name : str
        Short name (the row of :func:`list_datasets`).
    loader : callable
        The ``load_*`` function of this module.
    description, shape, kind, file : str
        Columns of :func:`list_datasets` (``shape`` with the default options;
        ``file`` relative to :func:`data_dir`).
    call : str
        How to call the loader, as shown by :func:`list_datasets`.
    analyses : tuple of Analysis
        The canonical reports of this dataset.
    """

    name: str
    loader: Callable[..., xr.DataArray]
    description: str
    shape: str
    kind: str
    file: str
    call: str
    analyses: tuple[Analysis, ...] = ()


#: The shipped datasets, in listing order: one entry per dataset.
DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            name="retina",
            loader=load_retina,
            description="salamander retina, 160 ganglion cells, 297 repeats of a natural "
            "movie, 20 ms bins (Tkacik et al. 2014)",
            shape="(297 trial, 160 unit, 953 time)",
            kind="spikes",
            file=str(_RETINA_FILE.as_posix()),
            call="rgdata.datasets.load_retina()",
            analyses=(
                Analysis(
                    name="retina",
                    title="Salamander retina, 160 ganglion cells, 297 repeats of a natural movie",
                    description=(
                        "Binary spikes in 20 ms bins (Marre et al. 2012; Tkacik et al. 2014). "
                        "Repeats are stacked into one time axis where an analysis needs it; the "
                        "trial shuffle keeps only stimulus-locked correlations and is shown "
                        "beside every exponent."
                    ),
                    sections=(
                        "overview",
                        "scaling",
                        "collapse",
                        "momentum",
                        "maxent",
                        "flow",
                        "hierarchical",
                        "multiscale",
                        "learned",
                    ),
                    quick_subset={"trial": 30},
                ),
            ),
        ),
        Dataset(
            name="stocks",
            loader=load_stocks,
            description="56 US large caps, daily prices 2003-2007, unadjusted "
            "(splits and glitches corrected by default)",
            shape="(56 unit, 1257 time); intraday (56, 1258)",
            kind="returns",
            file="stocks_sklearn/close_prices.csv, open_prices.csv",
            call="rgdata.datasets.load_stocks(price='close'|'open'|'intraday')",
            analyses=(
                Analysis(
                    name="stocks",
                    title="56 US large caps, daily close-to-close log returns 2003-2007",
                    description=(
                        "scikit-learn examples-data; unadjusted splits and one-day glitches are "
                        "detected and corrected by the loader (listed below)."
                    ),
                    load_options={"price": "close"},
                    quick_subset={"time": 500},
                ),
                Analysis(
                    name="stocks_intraday",
                    title="56 US large caps, intraday log(close/open) returns 2003-2007",
                    description="Split-free intraday returns of the same panel.",
                    load_options={"price": "intraday"},
                    quick_subset={"time": 500},
                ),
            ),
        ),
        Dataset(
            name="ftse100",
            loader=load_ftse100,
            description="64 FTSE 100 stocks, daily adjusted close 2000-2023, 29 missing prices",
            shape="(64 unit, 5937 time) with missing='drop_dates'",
            kind="returns",
            file=str(_FTSE_FILE.as_posix()),
            call="rgdata.datasets.load_ftse100(missing='drop_dates')",
            analyses=(
                Analysis(
                    name="ftse100",
                    title="FTSE 100: 64 assets, daily log returns 2000-2023",
                    description=(
                        "skfolio dataset; dates with missing prices are removed (listed below)."
                    ),
                    quick_subset={"time": 1000},
                ),
            ),
        ),
    )
}


def list_datasets() -> pd.DataFrame:
    """The shipped datasets: name, description, shape, kind, loader, file.

    Returns
    -------
    pandas.DataFrame
        One row per entry of :data:`DATASETS`; ``shape`` is the shape the
        loader returns with its default options, ``analyses`` the names of
        its canonical reports.
    """
    rows = [
        {
            "name": d.name,
            "description": d.description,
            "shape": d.shape,
            "kind": d.kind,
            "loader": d.call,
            "file": d.file,
            "analyses": ", ".join(a.name for a in d.analyses),
        }
        for d in DATASETS.values()
    ]
    return pd.DataFrame(rows)
