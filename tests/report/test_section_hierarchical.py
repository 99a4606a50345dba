"""The hierarchical report section on small binary and continuous recordings."""

import numpy as np
import pytest

import rgdata
from rgdata.report import Report
from rgdata.report.sections import REGISTRY
from rgdata.viz.hierarchical import plot_hierarchical_statistics, plot_pareto_entropies


def _binary(rng):
    x = (rng.random((16, 6000)) < 0.15).astype(np.int8)
    x[1::2] = np.where(rng.random((8, 6000)) < 0.4, x[::2], x[1::2])
    return rgdata.as_activity(x, kind="spikes")


def _continuous(rng):
    a = rng.normal(size=(16, 16)) * 0.3 + np.eye(16)
    return rgdata.as_activity(a @ rng.normal(size=(16, 3000)), kind="returns")


@pytest.mark.parametrize("make", [_binary, _continuous])
def test_section_writes_fit_pareto_flow_and_null(make):
    rng = np.random.default_rng(0)
    rep = Report("t")
    out = REGISTRY["hierarchical"].run(rep, make(rng), random_state=0)
    names = {it.name for it in rep.items}
    assert {"hierarchical_statistics", "hierarchical_fit", "hierarchical_pareto"} <= names
    assert out["residual"] < 1e-3
    assert np.isfinite(out["sibling_first_err"]) and out["sibling_first_err"] > 0
    captions = " ".join(it.caption for it in rep.items if it.caption)
    assert "Null (every unit shuffled in time" in captions
    assert "±" in captions
    texts = " ".join(str(getattr(it, "payload", "")) for it in rep.items if it.kind == "text")
    if make is _continuous:  # the Gaussian Pareto front collapses: said, not drawn
        assert "every weighting gives the same optimum" in captions + texts
    else:
        assert any(it.kind == "figure" and it.name == "hierarchical_pareto" for it in rep.items)


def test_plots_refuse_other_results():
    with pytest.raises(TypeError):
        plot_pareto_entropies(np.zeros((2, 3)))
    with pytest.raises(TypeError):
        plot_hierarchical_statistics([1, 2])


def test_section_says_when_the_tree_is_too_shallow_for_a_flow():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 2000))  # 6 units: pairs, then 3 clusters; two levels of siblings
    rep = Report("t")
    REGISTRY["hierarchical"].run(rep, rgdata.as_activity(x, kind="returns"), random_state=0)
    texts = " ".join(str(it.payload) for it in rep.items if it.kind == "text")
    assert "too few levels with couplings to fit a flow map" in texts
