"""The `learned` report section: runs on small inputs, states its numbers, skips non-binary data."""

from __future__ import annotations

import numpy as np
import pytest

import rgdata
from rgdata.report import Report
from rgdata.report.sections import REGISTRY


@pytest.mark.filterwarnings("ignore:fit_exponent:UserWarning")  # 16 hidden units: few levels
def test_learned_section_small():
    rng = np.random.default_rng(0)
    # 32 units in 4 groups of 8 that fire together: PRG and the RBM both see the groups
    groups = rng.random((4, 3000)) < 0.2
    spikes = (np.repeat(groups, 8, axis=0) & (rng.random((32, 3000)) < 0.8)).astype(np.int8)
    act = rgdata.as_activity(spikes, "spikes")
    report = Report("t")
    out = REGISTRY["learned"].run(
        report,
        act,
        random_state=0,
        n_epochs=30,
        n_hidden_prg=16,
        L=6,
        n_samples=60,
        n_epochs_ising=2,
        flow_steps=2,
        max_time_bins=2500,
    )
    assert set(out) == {
        "prg_overlap",
        "hidden_alpha",
        "held_out_log_likelihood",
        "held_out_log_likelihood_se",
        "independent_log_likelihood",
        "ising_overlap",
        "flow_hot",
    }
    labels = [h["label"] for h in report.summary()["headlines"]]
    assert len(labels) == 3 and any("PRG cluster" in label for label in labels)
    names = {item.name for item in report.items}
    assert {"learned_prg_overlap", "learned_temperature_scan", "learned_flow_hot"} <= names
    # planted groups: receptive fields recover the PRG clusters far above the null
    ov = next(i.payload for i in report.items if i.name == "learned_prg_overlap")
    assert float(ov.overlap_mean - 3 * ov.overlap_err) > float(ov.null_high)
    # held-out likelihood (the 500 bins after the first 2500): the planted groups make the
    # RBM beat independent units with the training rates by many standard errors
    ll, se = out["held_out_log_likelihood"], out["held_out_log_likelihood_se"]
    assert ll - 3 * se > out["independent_log_likelihood"]


def test_learned_section_skips_non_binary_activity():
    act = rgdata.as_activity(np.random.default_rng(0).normal(size=(5, 50)))
    assert "binary" in REGISTRY["learned"].skip_reason(act)
