"""Shared text of the Ising report section: its title and how a value with an error is written."""

from __future__ import annotations

__all__ = ["_SECTION", "_fmt"]

_SECTION = "2D Ising model"


def _fmt(value: float, err: float, digits: int = 3) -> str:
    return f"{value:.{digits}f} ± {err:.{digits}f}"
