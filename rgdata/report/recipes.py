"""The canonical analyses of the shipped datasets, built on :func:`build_report`.

Each recipe names a loader, the sections to run and their options; ``quick``
variants shrink the work for smoke tests. ``analyses/<name>.py`` and the
``rgdata report`` command run these.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._progress import progress_bar
from .._validation import check_option
from ._report import Report
from .build import available_sections, build_report, write_index

__all__ = ["RECIPES", "run_recipe", "run_recipes", "main"]


@dataclass(frozen=True)
class Recipe:
    """How one dataset's report is made."""

    title: str
    description: str
    load: Callable[[], Any] | None  # None: a simulation recipe (see ``custom``)
    sections: tuple[str, ...] = ()
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    quick_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    custom: Callable[..., dict[str, Any]] | None = None


def _load(name: str, **kwargs: Any) -> Callable[[], Any]:
    def loader():
        from .. import datasets

        return getattr(datasets, name)(**kwargs)

    return loader


def _ising(out: Path, *, quick: bool, progress: bool, random_state: Any) -> dict[str, Any]:
    from .sections.ising import add_ising_section

    report = Report(
        "2D Ising model: simulations against exact results",
        "Observables against Kaufman/Onsager, Binder crossings, block spins and Monte Carlo RG.",
    )
    headlines = add_ising_section(report, random_state=random_state, progress=progress, quick=quick)
    return {"index": report.save(out), "headlines": {"ising": headlines}, "failed": {}}


RECIPES: dict[str, Recipe] = {
    "retina": Recipe(
        title="Salamander retina, 160 ganglion cells, 297 repeats of a natural movie",
        description=(
            "Binary spikes in 20 ms bins (Marre et al. 2012; Tkacik et al. 2014). Repeats are "
            "stacked into one time axis where an analysis needs it; the trial shuffle keeps only "
            "stimulus-locked correlations and is shown beside every exponent."
        ),
        load=_load("load_retina"),
        sections=("overview", "scaling", "momentum", "maxent", "flow"),
    ),
    "stocks": Recipe(
        title="56 US large caps, daily close-to-close log returns 2003-2007",
        description=(
            "scikit-learn examples-data; unadjusted splits and one-day glitches are detected "
            "and corrected by the loader (listed below)."
        ),
        load=_load("load_stocks", price="close"),
        sections=("overview", "scaling", "momentum", "flow"),
    ),
    "stocks_intraday": Recipe(
        title="56 US large caps, intraday log(close/open) returns 2003-2007",
        description="Split-free intraday returns of the same panel.",
        load=_load("load_stocks", price="intraday"),
        sections=("overview", "scaling", "momentum", "flow"),
    ),
    "ftse100": Recipe(
        title="FTSE 100: 64 assets, daily log returns 2000-2023",
        description="skfolio dataset; dates with missing prices are removed (listed below).",
        load=_load("load_ftse100"),
        sections=("overview", "scaling", "momentum", "flow"),
    ),
    "ising": Recipe(
        title="2D Ising model",
        description="Simulated ground truth.",
        load=None,
        custom=_ising,
    ),
}


def run_recipe(
    name: str,
    out: str | os.PathLike,
    *,
    quick: bool = False,
    progress: bool = True,
    random_state: Any = 0,
) -> dict[str, Any]:
    """Run the canonical analysis *name* (a key of :data:`RECIPES`) into *out*.

    Returns :func:`build_report`'s dict (``index``, ``headlines``, ``failed``).
    """
    check_option(name, "dataset", tuple(RECIPES))
    recipe = RECIPES[name]
    out = Path(out)
    if recipe.custom is not None:
        return recipe.custom(out, quick=quick, progress=progress, random_state=random_state)
    activity = recipe.load()
    present = available_sections()
    sections = [s for s in recipe.sections if s in present]
    options = {k: v for k, v in recipe.options.items() if k in sections}
    if quick:
        for k, v in recipe.quick_options.items():
            if k in sections:
                options[k] = {**options.get(k, {}), **v}
    return build_report(
        activity,
        out,
        title=recipe.title,
        description=recipe.description,
        sections=sections,
        options=options,
        random_state=random_state,
        progress=progress,
    )


def run_recipes(
    out: str | os.PathLike,
    names: list[str] | None = None,
    *,
    quick: bool = False,
    progress: bool = True,
    random_state: Any = 0,
) -> dict[str, dict[str, Any]]:
    """Run several recipes into ``out/<name>/`` and link them from ``out/index.html``."""
    names = list(names) if names else list(RECIPES)
    out = Path(out)
    results, entries = {}, []
    for name in progress_bar(names, enable=progress, desc="datasets"):
        res = run_recipe(
            name, out / name, quick=quick, progress=progress, random_state=random_state
        )
        results[name] = res
        entries.append(
            {
                "name": name,
                "path": res["index"],
                "title": RECIPES[name].title,
                "failed": sorted(res.get("failed", {})),
            }
        )
    write_index(out, entries)
    return results


def main(name: str, argv: list[str] | None = None) -> int:
    """Command line of one analysis script: ``python analyses/<name>.py [--out DIR] [--quick]``."""
    import argparse

    check_option(name, "dataset", tuple(RECIPES))
    parser = argparse.ArgumentParser(description=RECIPES[name].title)
    parser.add_argument("--out", default=f"reports/{name}", help="report folder")
    parser.add_argument("--quick", action="store_true", help="smaller, faster analysis")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args(argv)
    res = run_recipe(
        name, args.out, quick=args.quick, progress=not args.no_progress, random_state=args.seed
    )
    print(res["index"])
    return 1 if res.get("failed") else 0
