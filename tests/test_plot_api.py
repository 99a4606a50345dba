"""Every rgdata.viz plot function follows one calling convention (rgdata/viz/__init__.py)."""

import inspect

import pytest

import rgdata.viz as viz

PLOTS = sorted(n for n in dir(viz) if n.startswith("plot_"))


def test_every_viz_module_is_exported():
    # a plot module left out of rgdata/viz/__init__.py would escape the checks below
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(viz.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"rgdata.viz.{info.name}")
        plots = [n for n in getattr(module, "__all__", dir(module)) if n.startswith("plot_")]
        assert set(plots) <= set(PLOTS), f"rgdata.viz.{info.name} plots not exported: {plots}"


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


def test_activity_plot_has_real_axes():
    import numpy as np
    import pandas as pd

    import rgdata

    rng = np.random.default_rng(0)
    days = pd.bdate_range("2020-01-01", periods=120)
    frame = pd.DataFrame(rng.normal(size=(120, 5)), index=days, columns=list("ABCDE"))
    ax = viz.plot_activity(rgdata.as_activity(frame, kind="returns")).axes[0]
    assert ax.get_xlabel() == "date"
    assert [t.get_text() for t in ax.get_yticklabels()] == list("ABCDE")
    import matplotlib.dates as mdates

    lo, hi = ax.get_xlim()
    assert mdates.num2date(lo).year == 2019 or mdates.num2date(lo).year == 2020
    assert mdates.num2date(hi).date() >= days[-1].date()
    spikes = rgdata.as_activity(
        (rng.random((40, 500)) < 0.1).astype(np.int8), kind="spikes", bin_width=0.02
    )
    ax = viz.plot_activity(spikes).axes[0]
    assert ax.get_xlabel() == "time (s)"
    assert ax.get_xlim()[1] == pytest.approx(10.0)
    ticks = [t for t in ax.get_yticks() if 0 <= t <= 39]
    assert all(float(t).is_integer() for t in ticks)
