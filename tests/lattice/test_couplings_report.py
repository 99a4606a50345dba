"""The block-coupling flow part of the Ising report section and its figure."""

import warnings

import numpy as np
import pytest
import xarray as xr
from matplotlib.figure import Figure

from rgdata.lattice import block_coupling_flow, exact, fit_block_flow, sample_ising
from rgdata.report import Report
from rgdata.report.sections.ising import ISING_DEFAULTS, _coupling_flow_part
from rgdata.viz import plot_block_coupling_flow

TC = exact.TC_2D


@pytest.fixture(scope="module")
def small_flows():
    flows = []
    for i, dT in enumerate((-0.1, 0.0, 0.1)):
        cfg = sample_ising(32, TC + dT, 400, random_state=30 + i)
        flows.append(block_coupling_flow(cfg, 2, operators=["nn", "nnn"], random_state=i))
    return flows


def test_section_part_states_fixed_point_and_exact_values(tmp_path):
    rep = Report("flow test")
    crit = sample_ising(32, TC, 400, random_state=1)
    opt = dict(ISING_DEFAULTS[True], mcrg_size=32, flow_offsets=[-0.1, 0.1], flow_samples=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        heads = _coupling_flow_part(rep, opt, TC, crit, iter(range(100, 200)), False)
    assert {"flow_K_star", "flow_y_t", "flow_y_t_err", "flow_lambda_t"} <= set(heads)
    assert len(heads["flow_K_star"]) == 2 and np.isfinite(heads["flow_y_t"])
    fig = next(it for it in rep.items if it.name == "ising_coupling_flow" and it.kind == "figure")
    assert "K_c = ln(1 + sqrt 2)/2 = 0.4407" in fig.caption
    assert "ORIGINAL lattice" in fig.caption and "exact y_t = 1" in fig.caption
    assert f"{heads['flow_y_t']:.2f}" in fig.caption
    table = next(it for it in rep.items if it.kind == "table")
    assert len(table.payload) == 3 * 3  # 3 temperatures x 3 levels (32, 16, 8: side >= 8)
    rep.save(tmp_path / "r")
    back = xr.load_dataset(tmp_path / "r" / "results" / "ising_coupling_flow.nc", engine="h5netcdf")
    assert back.K_star.values.tolist() == pytest.approx(heads["flow_K_star"])
    assert float(back.y_t) == pytest.approx(heads["flow_y_t"])
    stacked = xr.load_dataset(
        tmp_path / "r" / "results" / "ising_block_couplings.nc", engine="h5netcdf"
    )
    assert stacked.couplings.dims == ("temperature", "level", "coupling")
    # level 0 of every temperature is the nearest-neighbour model
    k0 = stacked.couplings.sel(level=0, coupling="nn").values
    e0 = stacked.couplings_err.sel(level=0, coupling="nn").values
    assert np.all(np.abs(k0 - 1 / stacked.temperature.values) < 4 * e0)
    # the caption states what was measured, not what is expected
    cap = fig.caption
    for claim in ("Level 0 recovers", "shrink level by level", "they settle", "20 sample blocks"):
        assert claim not in cap
    assert "jackknife errors over 20 contiguous sample blocks" in cap  # n_jackknife default
    assert stacked.attrs["n_jackknife"] == 20
    temps = stacked.temperature.values
    labels = [f"T_c {T - TC:+.2f}" if T != TC else "T_c" for T in temps]
    assert "T_c -0.10: 300; T_c: 400 (the critical MCRG configurations" in cap
    assert "T_c +0.10: 300." in cap
    for lab, T, k, e in zip(labels, temps, k0, e0, strict=True):
        assert f"{lab}: {k:.4f} vs {1 / T:.4f} (z = {(k - 1 / T) / e:+.1f})" in cap
    # direction: K_nn change from level 1 to 2 and its error from the replicate differences
    reps = stacked.couplings_jackknife.sel(coupling="nn").transpose(
        "temperature", "jackknife", "level"
    )
    for lab, r, k in zip(
        labels, reps.values, stacked.couplings.sel(coupling="nn").values, strict=True
    ):
        d = r[:, 2] - r[:, 1]
        err = np.sqrt(19 / 20 * np.sum((d - d.mean()) ** 2))
        delta = k[2] - k[1]
        word = ("grows" if delta > 0 else "shrinks") if abs(delta) > 2 * err else "no significant"
        assert f"{lab}: levels 1->2 {delta:+.4f} ± {err:.4f}, {word}" in cap
    ks, ks_err = heads["flow_K_star"][1], heads["flow_K_star_err"][1]
    sign = "consistent with 0" if abs(ks) <= 2 * ks_err else ("> 0" if ks > 0 else "< 0")
    assert f"K*_nnn = {ks:.3f} ± {ks_err:.3f}{',' if abs(ks) <= 2 * ks_err else ''} {sign}" in cap


@pytest.mark.filterwarnings("ignore:the linear map does not describe")
def test_plot_block_coupling_flow(small_flows):
    fit = fit_block_flow(small_flows, ("nn", "nnn"), n_resamples=20)
    fig = plot_block_coupling_flow(small_flows, fit, critical_coupling=0.4407)
    assert len(fig.axes) == 2
    assert fig.axes[0].get_xlabel() == "block level"
    assert fig.axes[1].get_ylabel() == "$K_{nnn}$"
    one = fit_block_flow(small_flows, "nn", first_level=0, n_resamples=20)
    fig = plot_block_coupling_flow(small_flows, one, fig=Figure())
    assert "(l+1)" in fig.axes[1].get_ylabel()
    fig = plot_block_coupling_flow(small_flows)
    assert len(fig.axes) == 2
    with pytest.raises(TypeError, match="non-empty list"):
        plot_block_coupling_flow(small_flows[0])


def test_plot_block_coupling_flow_one_coupling_without_fit(small_flows):
    fig = plot_block_coupling_flow(small_flows, couplings="nn")
    ax = fig.axes[1]
    assert ax.get_ylabel() == "$K_{nn}^{(l+1)}$"
    labels = [line.get_label() for line in ax.get_lines()]
    assert "diagonal" in labels and "fitted map" not in labels
    # the points are (K^(l), K^(l+1)) of every flow
    x, y = ax.get_lines()[0].get_data()
    k = small_flows[0].couplings.sel(coupling="nn").values
    np.testing.assert_array_equal(x, k[:-1])
    np.testing.assert_array_equal(y, k[1:])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"couplings": 3}, TypeError, "couplings must be one or two distinct names"),
        ({"couplings": ()}, ValueError, r"couplings must be one or two distinct names .*\[\]"),
        ({"couplings": ("nn", "nnn", "nn")}, ValueError, "one or two distinct names"),
        ({"couplings": ("nn", "nn")}, ValueError, "one or two distinct names"),
        (
            {"couplings": ("nn", "bogus")},
            ValueError,
            r"flows\[0\] has no coupling\(s\) \['bogus'\]",
        ),
        ({"critical_coupling": "0.44"}, TypeError, "critical_coupling must be a real number"),
    ],
)
def test_plot_block_coupling_flow_checks_input(small_flows, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_block_coupling_flow(small_flows, **kwargs)
