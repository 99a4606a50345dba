"""Progress bars for long loops (tqdm), drawn only where they can be seen.

``progress=True`` asks for a bar; whether one is drawn:

* ``RGDATA_PROGRESS=0`` in the environment: never;
* ``RGDATA_PROGRESS=1``: always; on a stream that is not a terminal (a log
  file, a pipe) as plain lines (no carriage returns, no escape codes), at
  most one every 10 s;
* otherwise: only when stderr is a terminal (or a Jupyter kernel, where
  tqdm draws a widget), so logs of ``make report`` carry no bar at all.

``progress=False`` never draws one.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from tqdm.auto import tqdm

__all__ = ["progress_bar", "progress_enabled", "ENV_VAR"]

ENV_VAR = "RGDATA_PROGRESS"
_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _stderr_is_interactive() -> bool:
    err = sys.stderr
    if err is None:
        return False
    if type(err).__module__.startswith("ipykernel"):
        return True  # Jupyter: tqdm.auto draws a widget
    try:
        return bool(err.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _env_setting() -> bool | None:
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if value in ("0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    return None


def progress_enabled(enable: bool) -> bool:
    """Whether a bar asked for with *enable* is drawn (see the module docstring)."""
    if not enable:
        return False
    forced = _env_setting()
    if forced is not None:
        return forced
    return _stderr_is_interactive()


class _LineWriter:
    """File-like wrapper: each bar refresh becomes one plain line (no ``\\r``, no escapes)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        for piece in re.split(r"[\r\n]", _ESCAPE.sub("", text)):
            if piece.strip():
                self.stream.write(piece.rstrip() + "\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def progress_bar(
    iterable: Iterable | None = None,
    *,
    enable: bool = False,
    desc: str = "",
    total: int | None = None,
    **kwargs: Any,
):
    """Wrap *iterable* in a tqdm bar if one is asked for and can be seen (else a disabled bar).

    Parameters
    ----------
    iterable : iterable, optional
        What to loop over (omit and call ``update`` for a manual bar).
    enable : bool
        The caller's ``progress`` argument; :func:`progress_enabled` decides.
    desc : str
        Label of the bar.
    total : int, optional
        Number of steps when *iterable* has no length.
    **kwargs
        Passed to :class:`tqdm.tqdm`.

    Returns
    -------
    tqdm.tqdm
    """
    show = progress_enabled(enable)
    if show and not _stderr_is_interactive():
        kwargs = {"file": _LineWriter(sys.stderr), "ascii": True, "mininterval": 10.0, **kwargs}
    return tqdm(iterable, desc=desc, total=total, disable=not show, leave=False, **kwargs)
