"""Progress bars: drawn on a terminal only, never escape codes in a log."""

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import textwrap

import pytest

from rgdata import _progress
from rgdata._progress import ENV_VAR, progress_enabled

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# a public function with a bar (PRG levels) and a manual bar, as the CLI runs them
SCRIPT = textwrap.dedent(
    """
    import numpy as np, rgdata
    from rgdata._progress import progress_bar
    from rgdata.coarse import prg

    x = (np.random.default_rng(0).random((16, 2000)) < 0.2).astype(np.int8)
    prg(rgdata.as_activity(x, kind="spikes"), progress=True, random_state=0)
    bar = progress_bar(enable=True, total=3, desc="manual bar")
    for _ in range(3):
        bar.update(1)
    bar.close()
    """
)


def _env(env_value):
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    if env_value is not None:
        env[ENV_VAR] = env_value
    return env


def _run(env_value, stderr):
    proc = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", SCRIPT],
        stderr=stderr,
        stdout=subprocess.PIPE,
        env=_env(env_value),
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def test_no_bar_and_no_escape_codes_when_stderr_is_a_pipe():
    err = _run(None, subprocess.PIPE).stderr.decode()
    assert "\r" not in err and "\x1b[" not in err
    assert "PRG levels" not in err and "manual bar" not in err


def test_forced_bars_in_a_log_are_plain_lines(tmp_path):
    log = tmp_path / "make_report.log"
    with open(log, "wb") as fh:
        _run("1", fh)
    err = log.read_text()
    assert "\r" not in err and "\x1b[" not in err
    assert "PRG levels" in err and "manual bar" in err


def test_bar_is_drawn_on_a_terminal(tmp_path):
    # a pseudo-terminal with a window size (tqdm draws nothing in 0 columns)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    chunks = []
    try:
        proc = subprocess.Popen(
            [sys.executable, "-W", "ignore", "-c", SCRIPT], stderr=follower, env=_env(None)
        )
        os.close(follower)
        follower = None
        while True:  # read as it comes, so the child never blocks on a full terminal
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the child has exited and closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        assert proc.wait(timeout=300) == 0
    finally:
        if follower is not None:
            os.close(follower)
        os.close(leader)
    out = b"".join(chunks).decode(errors="replace")
    assert "PRG levels" in out and "manual bar" in out and "\r" in out


@pytest.mark.parametrize(
    ("enable", "env", "tty", "expected"),
    [
        (False, "1", True, False),
        (True, None, False, False),
        (True, None, True, True),
        (True, "0", True, False),
        (True, "1", False, True),
    ],
)
def test_policy(monkeypatch, enable, env, tty, expected):
    if env is None:
        monkeypatch.delenv(ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(ENV_VAR, env)
    monkeypatch.setattr(_progress, "_stderr_is_interactive", lambda: tty)
    assert progress_enabled(enable) is expected
