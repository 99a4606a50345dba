"""Run the docstring examples of every rgdata module (``make test`` runs them).

One test per module: it imports the module (skipped when an optional
dependency is missing), runs every example found by :class:`doctest.DocTestFinder`
with ``ELLIPSIS`` and ``NORMALIZE_WHITESPACE``, and fails listing each failing
example with what it expected and what it got. The same examples also run
under ``python -m pytest --doctest-modules rgdata``.
"""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil

import pytest

import rgdata

OPTIONAL_DEPENDENCIES = ("pynwb", "hdmf", "dask", "distributed", "pyarrow", "jax")
OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _module_names() -> list[str]:
    names = [rgdata.__name__]
    for info in pkgutil.walk_packages(rgdata.__path__, prefix=f"{rgdata.__name__}."):
        names.append(info.name)
    return sorted(names)


def _import(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] in OPTIONAL_DEPENDENCIES:
            pytest.skip(f"{name} needs the optional dependency {exc.name}")
        raise


def run_doctests(module) -> tuple[int, list[str]]:
    """Run *module*'s docstring examples; return (number of examples, failure reports)."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    failures = []
    n_examples = 0
    for test in finder.find(module, module.__name__):
        if not test.examples:
            continue
        out = io.StringIO()
        result = runner.run(test, out=out.write, clear_globs=True)
        n_examples += result.attempted
        if result.failed:
            failures.append(out.getvalue())
    return n_examples, failures


@pytest.mark.parametrize("name", _module_names())
def test_docstring_examples(name):
    module = _import(name)
    _, failures = run_doctests(module)
    if failures:
        pytest.fail(
            f"{len(failures)} docstring(s) of {name} have failing examples:\n"
            + "\n".join(failures),
            pytrace=False,
        )


def test_the_runner_reports_a_wrong_example():
    # the check above must be able to fail: a module whose example is wrong
    import types

    mod = types.ModuleType("fake_rgdata_module")
    mod.__doc__ = ">>> 1 + 1\n3\n"
    n_examples, failures = run_doctests(mod)
    assert n_examples == 1 and len(failures) == 1
    assert "Expected:\n    3\nGot:\n    2" in failures[0]


def test_examples_are_found():
    # guards against a finder that silently finds nothing, e.g. for functions wrapped by
    # a decorator (mcrg is wrapped by once_per_call)
    from rgdata.lattice import mcrg

    n_examples, failures = run_doctests(mcrg)
    assert n_examples >= 1 and not failures
