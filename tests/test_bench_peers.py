"""benchmarks/bench_peers_mc.py finds the peers' interpreter or says it skips them."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "bench_peers_mc.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_peers_mc", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_peer_python_from_environment_or_repo_venv(tmp_path, monkeypatch):
    bench = load_bench()
    fake = tmp_path / "python"
    fake.write_text("")
    monkeypatch.setenv("RGDATA_PEERS_PYTHON", str(fake))
    assert bench.peer_python() == fake
    monkeypatch.setenv("RGDATA_PEERS_PYTHON", str(tmp_path / "missing"))
    assert bench.peer_python() is None
    monkeypatch.delenv("RGDATA_PEERS_PYTHON")
    monkeypatch.setattr(bench, "ROOT", tmp_path)
    assert bench.peer_python() is None
    venv_python = tmp_path / ".venv-peers" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.write_text("")
    assert bench.peer_python() == venv_python


def test_missing_peers_are_skipped_with_a_message(tmp_path):
    env = {"RGDATA_PEERS_PYTHON": str(tmp_path / "missing"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert "peers skipped" in proc.stdout


def test_missing_package_is_skipped(tmp_path):
    # an interpreter without mcising or peapods (this one): each peer is named and skipped
    if any(importlib.util.find_spec(name) for name in ("mcising", "peapods")):
        pytest.skip("this interpreter has a peer installed")
    env = {"RGDATA_PEERS_PYTHON": sys.executable, "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert "mcising skipped: not importable" in proc.stdout
    assert "peapods skipped: not importable" in proc.stdout
