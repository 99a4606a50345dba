"""SNAPSHOT.md: the numbers of a reports folder, identical bytes while they do not change."""

from rgdata.report import Report
from rgdata.report.snapshot import snapshot_text, write_snapshot


def _report(folder, alpha):
    rep = Report("Cells", "test")
    rep.add_headline(
        "α̃: variance scaling",
        alpha,
        ci_low=alpha - 0.01,
        ci_high=alpha + 0.01,
        nulls=[{"name": "shuffle", "mean": 1.0, "band_low": 0.98, "band_high": 1.02}],
        section="scaling",
    )
    rep.add_table(
        [
            {"section": "scaling", "quantity": "alpha", "value": alpha},
            {"section": "overview", "quantity": "n_units", "value": 40},
        ],
        "headlines",
    )
    rep.save(folder / "cells")


def test_snapshot_rounds_and_states_the_verdict(tmp_path):
    _report(tmp_path, 1.34934659)
    text = snapshot_text(tmp_path)
    assert "| α̃: variance scaling | 1.349 [1.339, 1.359] | shuffle 1.000 [0.980, 1.020] |" in text
    assert "differs from every null" in text
    assert "| scaling | alpha | 1.35 |" in text and "| overview | n_units | 40 |" in text
    assert "run_id" not in text and "Generated" not in text


def test_same_numbers_same_bytes_new_numbers_new_file(tmp_path):
    _report(tmp_path, 1.34934659)
    path = write_snapshot(tmp_path)
    first = path.read_bytes()
    _report(tmp_path, 1.34934659)  # a new run: new run id and timestamps, same numbers
    assert write_snapshot(tmp_path).read_bytes() == first
    _report(tmp_path, 1.0)
    assert write_snapshot(tmp_path).read_bytes() != first
    assert "consistent with shuffle" in path.read_text()


def test_reference_verdict(tmp_path):
    rep = Report("Ising")
    rep.add_headline("y_t", 0.98, ci_low=0.95, ci_high=1.01, reference=1.0)
    rep.add_headline("y_h", 1.80, ci_low=1.78, ci_high=1.82, reference=1.875)
    verdicts = [h.verdict for h in rep.headlines]
    assert verdicts == ["agrees with exact 1.0000", "differs from exact 1.8750"]
