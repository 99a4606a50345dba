"""The canonical analyses of the shipped datasets, built on :func:`build_report`.

:data:`RECIPES` is generated from the dataset registry
(:data:`rgdata.datasets.DATASETS`: one recipe per :class:`rgdata.datasets.Analysis`
of each dataset, loading with its ``load_options``) plus the simulated Ising
model. Each recipe names a loader, the sections to run and their options;
``quick`` variants shrink the work for smoke tests (a subset of trials or
dates and lighter section options, see :func:`recipe_plan`, stated in the
report). ``analyses/<name>.py`` and the ``rgdata report`` command run these.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from .._progress import progress_bar
from .._validation import check_option
from ..datasets import DATASETS
from ._output import check_output_folder
from ._report import Report
from .build import available_sections, build_report, write_index
from .sections import REGISTRY

__all__ = [
    "RECIPES",
    "QUICK_OPTIONS",
    "check_output_folder",
    "recipe_plan",
    "run_recipe",
    "run_recipes",
    "run_activity_report",
    "main",
]

#: Lighter section options of every ``quick`` run (sections a recipe lacks are skipped).
QUICK_OPTIONS: dict[str, dict[str, Any]] = {
    "scaling": {"nulls": ("shuffle",), "bin_factors": None, "holdout_check": False},
    "collapse": {"n_boot": 30},
    "maxent": {"n_units": 10, "k_pairwise": False},
    "flow": {"n_blocks": 10, "coupling_blocks": 5},
    "multiscale": {"n_null": 3, "n_boot": 50},
}


@dataclass(frozen=True)
class Recipe:
    """How one dataset's report is made."""

    title: str
    description: str
    load: Callable[[], Any] | None  # None: a simulation recipe (see ``custom``)
    sections: tuple[str, ...] = ()
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    quick_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: quick runs keep the first ``n`` entries along each named dim
    quick_subset: dict[str, int] = field(default_factory=dict)
    custom: Callable[..., dict[str, Any]] | None = None
    #: for a custom recipe: ``quick -> options`` (its parameters, for :func:`recipe_plan`)
    custom_plan: Callable[[bool], dict[str, Any]] | None = None


#: The simulation sections of the Ising report, in order (each makes its own data).
ISING_SECTIONS = ("ising", "generative", "multilevel", "tensor_networks")


def _ising(
    out: Path, *, quick: bool, progress: bool, random_state: Any, back_link: str | None = None
) -> dict[str, Any]:
    report = Report(
        "2D Ising model: simulations against exact results",
        "Observables against Kaufman/Onsager, Binder crossings, block spins, Monte Carlo RG, "
        "and generative samplers checked against the exact free energy.",
    )
    report.back_link = back_link
    if quick:
        report.description += " Quick run (--quick): " + json.dumps(_ising_plan(True)) + "."
    headlines = {}
    for name in ISING_SECTIONS:
        if REGISTRY[name].load() is not None:
            headlines[name] = REGISTRY[name].run(
                report, None, random_state=random_state, progress=progress, quick=quick
            )
    return {"index": report.save(out), "headlines": headlines, "failed": {}}


def _ising_plan(quick: bool) -> dict[str, Any]:
    from .sections.ising import ISING_DEFAULTS

    opt = ISING_DEFAULTS[bool(quick)]
    return {**opt, "sizes": {str(k): v for k, v in opt["sizes"].items()}}


def _dataset_recipes() -> dict[str, Recipe]:
    """One recipe per analysis of every registered dataset."""
    return {
        a.name: Recipe(
            title=a.title,
            description=a.description,
            load=partial(d.loader, **a.load_options),
            sections=a.sections,
            options=a.options,
            quick_options=a.quick_options,
            quick_subset=a.quick_subset,
        )
        for d in DATASETS.values()
        for a in d.analyses
    }


#: Every canonical analysis: the registered datasets' analyses, then the Ising simulation.
RECIPES: dict[str, Recipe] = {
    **_dataset_recipes(),
    "ising": Recipe(
        title="2D Ising model",
        description="Simulated ground truth.",
        load=None,
        custom=_ising,
        custom_plan=_ising_plan,
    ),
}


def recipe_plan(name: str, *, quick: bool = False) -> dict[str, Any]:
    """The parameters recipe *name* runs with: sections, their options, data subset.

    Parameters
    ----------
    name : str
        A key of :data:`RECIPES`.
    quick : bool
        The ``quick`` variant: the recipe's ``quick_subset`` (first trials or
        dates) and :data:`QUICK_OPTIONS` (fewer nulls, no bin-width sweep or
        holdout check, smaller maxent subset, fewer jackknife blocks) on top
        of the recipe's options; a custom recipe (``ising``) gives its own.

    Returns
    -------
    dict
        ``sections`` (list), ``options`` (section -> keyword arguments),
        ``subset`` (dim -> number of leading entries kept) and ``quick``.
    """
    check_option(name, "dataset", tuple(RECIPES))
    recipe = RECIPES[name]
    if recipe.custom is not None:
        options = recipe.custom_plan(bool(quick)) if recipe.custom_plan is not None else {}
        return {"sections": [name], "options": {name: options}, "subset": {}, "quick": quick}
    present = available_sections()
    sections = [s for s in recipe.sections if s in present]
    options = {k: dict(v) for k, v in recipe.options.items() if k in sections}
    subset: dict[str, int] = {}
    if quick:
        for source in (QUICK_OPTIONS, recipe.quick_options):
            for k, v in source.items():
                if k in sections:
                    options[k] = {**options.get(k, {}), **v}
        subset = dict(recipe.quick_subset)
    return {"sections": sections, "options": options, "subset": subset, "quick": bool(quick)}


def _take_subset(activity: Any, subset: dict[str, int]) -> tuple[Any, str]:
    """Keep the first ``n`` entries along each dim of *subset*; describe what was kept."""
    said = []
    for dim, n in subset.items():
        if dim in activity.dims and activity.sizes[dim] > n:
            said.append(f"first {n} of {activity.sizes[dim]} {dim} entries")
            activity = activity.isel({dim: slice(0, n)})
    return activity, ", ".join(said)


def run_recipe(
    name: str,
    out: str | os.PathLike,
    *,
    quick: bool = False,
    progress: bool = True,
    random_state: Any = 0,
    back_link: str | None = None,
) -> dict[str, Any]:
    """Run the canonical analysis *name* (a key of :data:`RECIPES`) into *out*.

    *out* is checked (:func:`check_output_folder`) before any computation.
    With ``quick=True`` the parameters of :func:`recipe_plan` are used and
    stated at the top of the report.

    *back_link* is passed to :func:`build_report` (a link to the page
    listing this report with others). Returns :func:`build_report`'s dict
    (``index``, ``headlines``, ``failed``).
    """
    check_option(name, "dataset", tuple(RECIPES))
    out = check_output_folder(out)
    recipe = RECIPES[name]
    if recipe.custom is not None:
        return recipe.custom(
            out, quick=quick, progress=progress, random_state=random_state, back_link=back_link
        )
    plan = recipe_plan(name, quick=quick)
    activity, kept = _take_subset(recipe.load(), plan["subset"])
    description = recipe.description
    if quick:
        description += (
            f" Quick run (--quick): {kept or 'all data'}; section options "
            f"{json.dumps(plan['options'])}."
        )
    return build_report(
        activity,
        out,
        title=recipe.title,
        description=description,
        sections=plan["sections"],
        options=plan["options"],
        random_state=random_state,
        progress=progress,
        back_link=back_link,
    )


def run_activity_report(
    activity: Any,
    out: str | os.PathLike,
    *,
    title: str,
    description: str = "",
    quick: bool = False,
    progress: bool = True,
    random_state: Any = 0,
    back_link: str | None = None,
) -> dict[str, Any]:
    """Every section that applies to *activity* (a user's own recording) into *out*.

    Sections are chosen by the data: each registered section runs unless its
    ``skip_reason`` says it does not apply (maximum-entropy models on
    continuous data, say), and the report states why. ``quick=True`` applies
    :data:`QUICK_OPTIONS` and says so in the description. *out* is checked
    before any computation. Returns :func:`build_report`'s dict.
    """
    out = check_output_folder(out)
    sections = available_sections()
    options = {k: dict(v) for k, v in QUICK_OPTIONS.items() if k in sections} if quick else {}
    if quick:
        description = f"{description} Quick run (--quick): section options {json.dumps(options)}."
    return build_report(
        activity,
        out,
        title=title,
        description=description.strip(),
        sections=sections,
        options=options,
        random_state=random_state,
        progress=progress,
        back_link=back_link,
    )


def run_recipes(
    out: str | os.PathLike,
    names: list[str] | None = None,
    *,
    quick: bool = False,
    progress: bool = True,
    random_state: Any = 0,
) -> dict[str, dict[str, Any]]:
    """Run several recipes into ``out/<name>/`` and link them from ``out/index.html``.

    *out* and every ``out/<name>`` are checked (:func:`check_output_folder`)
    before any computation; ``out/index.html`` is written atomically.
    """
    names = list(names) if names else list(RECIPES)
    for name in names:
        check_option(name, "dataset", tuple(RECIPES))
    out = check_output_folder(out)
    for name in names:
        check_output_folder(out / name, f"out/{name}")
    results, entries = {}, []
    for name in progress_bar(names, enable=progress, desc="datasets"):
        res = run_recipe(
            name,
            out / name,
            quick=quick,
            progress=progress,
            random_state=random_state,
            back_link="../index.html",
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
    from ..cli import output_folder_argument, seed_argument

    parser = argparse.ArgumentParser(description=RECIPES[name].title)
    parser.add_argument(
        "--out",
        default=f"reports/{name}",
        type=output_folder_argument,
        help="report folder (checked before any computation)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller, faster analysis (stated in the report)"
    )
    parser.add_argument(
        "--seed", type=seed_argument, default=0, help="random seed, 0 <= seed < 2**32"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args(argv)
    res = run_recipe(
        name, args.out, quick=args.quick, progress=not args.no_progress, random_state=args.seed
    )
    print(res["index"])
    return 1 if res.get("failed") else 0
