import dataclasses
import inspect
import os
from pathlib import Path

import pytest

from rgdata.cli import main
from rgdata.datasets import DATASETS
from rgdata.report.recipes import RECIPES, recipe_plan
from rgdata.report.sections import REGISTRY

ANALYSES = Path(__file__).resolve().parents[1] / "analyses"


def test_cli_lists_datasets(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("retina", "stocks", "ftse100"):
        assert name in out


def test_cli_rejects_unknown_dataset(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", "--dataset", "nope"])
    assert exc.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("seed", ["-1", str(2**32), "1.5", "abc"])
def test_cli_rejects_bad_seeds(capsys, seed):
    with pytest.raises(SystemExit) as exc:
        main(["report", "--dataset", "stocks", "--seed", seed])
    assert exc.value.code == 2
    assert "seed must" in capsys.readouterr().err


def test_seed_argument_accepts_the_full_range():
    from rgdata.cli import seed_argument

    assert seed_argument("0") == 0 and seed_argument(str(2**32 - 1)) == 2**32 - 1


def _no_computation(monkeypatch):
    """Fail the test if a recipe starts computing."""
    from rgdata.report import recipes

    def boom(*args, **kwargs):
        raise AssertionError("computation started before --out was checked")

    monkeypatch.setattr(recipes, "run_recipe", boom)
    monkeypatch.setattr(recipes, "build_report", boom)


def test_cli_out_is_a_file(tmp_path, capsys, monkeypatch):
    _no_computation(monkeypatch)
    target = tmp_path / "reports"
    target.write_text("not a folder")
    with pytest.raises(SystemExit) as exc:
        main(["report", "--dataset", "stocks", "--out", str(target)])
    assert exc.value.code == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    # a file where a dataset's folder would go, and a file as a parent
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "stocks").write_text("x")
    with pytest.raises(SystemExit) as exc:
        main(["report", "--dataset", "stocks", "--out", str(tmp_path / "ok")])
    assert exc.value.code == 2 and "ok/stocks' exists and is not a folder" in (
        capsys.readouterr().err
    )
    with pytest.raises(SystemExit) as exc:
        main(["report", "--dataset", "stocks", "--out", str(target / "sub" / "dir")])
    assert exc.value.code == 2 and "is a file, not a folder" in capsys.readouterr().err


def test_cli_out_read_only(tmp_path, capsys, monkeypatch):
    _no_computation(monkeypatch)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    if os.geteuid() == 0:  # root writes anywhere: let os.access answer as for a user
        access = os.access
        monkeypatch.setattr(
            os, "access", lambda p, mode: access(p, mode) and not str(p).startswith(str(ro))
        )
    try:
        for out in (ro, ro / "new"):
            with pytest.raises(SystemExit) as exc:
                main(["report", "--dataset", "stocks", "--out", str(out)])
            assert exc.value.code == 2
            assert "is not writable" in capsys.readouterr().err
    finally:
        ro.chmod(0o755)


def test_run_recipes_checks_out_before_computing(tmp_path, monkeypatch):
    from rgdata.report.recipes import run_recipes

    _no_computation(monkeypatch)
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match=r"out: .*f' exists and is not a folder"):
        run_recipes(tmp_path / "f", ["stocks"], progress=False)
    with pytest.raises(TypeError, match="out must be a str or os.PathLike"):
        run_recipes(3, ["stocks"], progress=False)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_quick_recipe_differs_from_the_full_one(name):
    full, quick = recipe_plan(name), recipe_plan(name, quick=True)
    assert quick["quick"] and not full["quick"]
    assert quick["sections"] == full["sections"]
    assert (quick["options"], quick["subset"]) != (full["options"], full["subset"])
    if RECIPES[name].custom is None:
        assert quick["subset"], "quick runs use fewer trials or dates"
        # every quick option is a named parameter of its section (no typo that
        # would only fail after minutes, or vanish into **kwargs)
        for section, options in quick["options"].items():
            params = inspect.signature(REGISTRY[section].load()).parameters
            assert set(options) <= set(params), (section, options)
    else:
        from rgdata.report.sections.ising import ISING_DEFAULTS

        assert quick["options"][name]["mcrg_samples"] == ISING_DEFAULTS[True]["mcrg_samples"]


def test_quick_run_states_its_parameters_and_uses_the_subset(tmp_path, monkeypatch):
    import numpy as np
    import xarray as xr

    from rgdata.report import recipes

    seen = {}

    def fake_build(activity, out, **kwargs):
        seen.update(activity=activity, **kwargs)
        return {"index": out / "index.html", "headlines": {}, "failed": {}}

    loaded = xr.DataArray(np.zeros((40, 3, 5)), dims=("trial", "unit", "time"))
    monkeypatch.setattr(recipes, "build_report", fake_build)
    monkeypatch.setitem(
        recipes.RECIPES, "retina", dataclasses.replace(RECIPES["retina"], load=lambda: loaded)
    )
    recipes.run_recipe("retina", tmp_path / "r", quick=True, progress=False)
    assert seen["activity"].sizes["trial"] == 30
    assert "Quick run (--quick): first 30 of 40 trial entries" in seen["description"]
    assert seen["options"]["scaling"]["nulls"] == ("shuffle",)
    recipes.run_recipe("retina", tmp_path / "r", quick=False, progress=False)
    assert seen["activity"].sizes["trial"] == 40 and "Quick run" not in seen["description"]


def test_recipes_and_scripts_come_from_the_dataset_registry():
    """One registry entry per dataset drives the recipe and the analysis script: every
    registered analysis is a recipe loading with its options, and has a script."""
    registered = [a for d in DATASETS.values() for a in d.analyses]
    assert [a.name for a in registered] + ["ising"] == list(RECIPES)
    for dataset in DATASETS.values():
        for analysis in dataset.analyses:
            recipe = RECIPES[analysis.name]
            assert recipe.load.func is dataset.loader
            assert recipe.load.keywords == analysis.load_options
            assert (recipe.title, recipe.sections) == (analysis.title, analysis.sections)
            assert set(analysis.sections) <= set(REGISTRY)
    scripts = {p.stem for p in ANALYSES.glob("*.py")}
    assert scripts == set(RECIPES)
    # the scripts are one file copied: each takes its recipe from its own name
    bodies = {(ANALYSES / f"{n}.py").read_text().split('"""')[-1] for n in RECIPES}
    assert len(bodies) == 1 and "main(Path(__file__).stem)" in bodies.pop()


def test_help_is_for_users(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "console script" not in out
    assert "rgdata report cells.npy --kind spikes" in out


def test_datasets_lines_are_readable(capsys):
    assert main(["datasets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert any(line.startswith("retina  (spikes") for line in lines)


@pytest.fixture
def own_file(tmp_path):
    import numpy as np

    path = tmp_path / "cells.npy"
    np.save(path, (np.random.default_rng(0).random((16, 600)) < 0.2).astype(np.int8))
    return path


def test_report_on_own_file_runs_every_section_that_applies(own_file, tmp_path, monkeypatch):
    from rgdata.report import recipes

    seen = {}

    def fake_build_report(activity, out, **kwargs):
        seen.update(kwargs, activity=activity, out=out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "index.html").write_text("<html><title>x</title></html>")
        return {"index": out / "index.html", "headlines": {}, "failed": {}, "skipped": {}}

    monkeypatch.setattr(recipes, "build_report", fake_build_report)
    out = tmp_path / "reports"
    code = main(
        [
            "report",
            str(own_file),
            "--kind",
            "spikes",
            "--bin-width",
            "0.02",
            "--out",
            str(out),
            "--no-progress",
            "--quick",
        ]
    )
    assert code == 0
    assert seen["activity"].attrs["kind"] == "spikes"
    assert seen["activity"].attrs["bin_width"] == 0.02
    assert seen["out"] == out / "cells"
    assert seen["sections"] == recipes.available_sections()
    assert seen["options"]["scaling"] == recipes.QUICK_OPTIONS["scaling"]
    assert "cells/index.html" in (out / "index.html").read_text()


def test_report_on_own_file_needs_kind(own_file, tmp_path, capsys):
    assert main(["report", str(own_file), "--out", str(tmp_path / "r")]) == 2
    assert "kind is required" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--kind", "spikes", "--dataset", "stocks"],
        ["report", "FILE", "--kind", "spikes", "--dataset", "stocks"],
        ["report", "FILE", "--kind", "spikes", "--bin-width", "0"],
    ],
)
def test_report_own_file_option_errors(own_file, argv, capsys):
    argv = [str(own_file) if a == "FILE" else a for a in argv]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
