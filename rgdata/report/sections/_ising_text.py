"""Shared text of the Ising report section: its title and how a value with an error is written."""

from __future__ import annotations

from ._text import plus_minus as _fmt

__all__ = ["_SECTION", "_fmt"]

_SECTION = "2D Ising model"
