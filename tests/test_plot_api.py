"""Every rgdata.viz plot function follows one calling convention (rgdata/viz/__init__.py)."""

import inspect

import pytest

import rgdata.viz as viz

PLOTS = sorted(n for n in dir(viz) if n.startswith("plot_"))


def test_there_are_plots():
    assert len(PLOTS) >= 25


@pytest.mark.parametrize("name", PLOTS)
def test_axes_or_figure_keyword_only(name):
    params = inspect.signature(getattr(viz, name)).parameters
    target = "fig" if name in viz.MULTI_PANEL else "ax"
    assert target in params, f"{name} has no {target}= parameter"
    assert params[target].kind is inspect.Parameter.KEYWORD_ONLY, f"{name}: {target} positional"
    assert params[target].default is None
    other = "ax" if target == "fig" else "fig"
    assert other not in params, f"{name} takes both ax and fig"


@pytest.mark.parametrize("name", PLOTS)
def test_documented_to_return_the_figure(name):
    doc = inspect.getdoc(getattr(viz, name))
    assert "Returns\n-------\nmatplotlib.figure.Figure" in doc, name
