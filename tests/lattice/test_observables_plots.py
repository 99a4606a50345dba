"""Lattice plots: they draw what they are given and return figures."""

import numpy as np
import pytest
import xarray as xr

import rgdata
from rgdata.lattice import (
    binder_crossings,
    block_spin_levels,
    exact,
    fss_exponent,
    mcrg,
    mcrg_table,
    scaling_collapse,
)
from rgdata.viz import (
    plot_binder_crossings,
    plot_block_snapshots,
    plot_fss_fit,
    plot_lattice_observable,
    plot_mcrg_exponents,
    plot_scaling_collapse,
)


@pytest.fixture
def scan():
    rng = np.random.default_rng(0)
    sizes = np.array([4, 8])
    temps = np.linspace(2.0, 2.5, 6)
    data = {}
    for name in ("energy", "binder", "susceptibility"):
        val = 1 + rng.random((2, 6))
        data[name] = (
            ("size", "temperature"),
            val if name != "binder" else val[::-1] * [[1], [0.9]],
        )
        data[f"{name}_err"] = (("size", "temperature"), 0.01 * np.ones((2, 6)))
    data["binder"] = (
        ("size", "temperature"),
        np.array([np.linspace(0.6, 0.4, 6), np.linspace(0.65, 0.3, 6)]),
    )
    return xr.Dataset(data, coords={"size": sizes, "temperature": temps})


def test_observable_with_exact_reference(scan):
    ref = xr.concat([exact.kaufman(np.linspace(2, 2.5, 30), L) for L in (4, 8)], dim="size")
    ref = ref.assign_coords(size=[4, 8])
    fig = plot_lattice_observable(scan, "energy", reference=ref)
    ax = fig.axes[0]
    assert len(ax.lines) >= 2 and ax.get_legend() is not None
    fig2 = plot_lattice_observable(scan, "energy", reference=exact.onsager(np.linspace(2, 2.5, 5)))
    assert fig2 is not None
    with pytest.raises(ValueError, match="lacks variable"):
        plot_lattice_observable(scan, "m4")


def test_binder_fss_collapse_plots(scan):
    cross = binder_crossings(scan, degree=1, n_boot=20)
    fig = plot_binder_crossings(scan, cross, critical_temperature=exact.TC_2D)
    assert fig.axes
    fit = fss_exponent(scan, "susceptibility", float(scan.temperature[0]))
    texts = [t.get_text() for t in plot_fss_fit(fit).axes[0].get_legend().get_texts()]
    assert any(t.startswith("slope") for t in texts)
    col = scaling_collapse(scan, "susceptibility", 2.2, 1.0, 1.75)
    assert "quality" in plot_scaling_collapse(col).axes[0].get_title()


def test_block_snapshots_and_mcrg_plots():
    rng = np.random.default_rng(0)
    cfg = rgdata.as_configurations(rng.choice(np.array([-1, 1], np.int8), (60, 16, 16)))
    fig = plot_block_snapshots(block_spin_levels(cfg, 2, levels=2, random_state=0))
    assert len(fig.axes) == 3
    res = mcrg(cfg, even=2, odd=2, levels=2, random_state=0, n_jackknife=6)
    fig = plot_mcrg_exponents(res)
    assert len(fig.axes) == 2
    table = mcrg_table(res)
    assert list(table.columns[:4]) == ["level", "operators", "y_t", "y_t_err"]
    assert len(table) == 4 and (table.y_h_exact == 15 / 8).all()
    with pytest.raises(TypeError, match="levels must be a non-empty list"):
        plot_block_snapshots([])
