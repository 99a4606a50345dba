"""Warnings that point at the user's line, however deep inside rgdata they are raised."""

from __future__ import annotations

import os
import sys

__all__ = ["user_stacklevel"]

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def user_stacklevel() -> int:
    """``stacklevel`` for :func:`warnings.warn` that names the first frame outside rgdata.

    Call it from the function that warns. A public function called by the
    user gives 2 (its caller); called from another rgdata function (a report
    section, a null model) it skips those frames too, so the warning names the
    user's line rather than a line of the library.
    """
    frame = sys._getframe(1)  # the function about to warn
    level = 1
    while frame.f_back is not None and _inside(frame):
        frame = frame.f_back
        level += 1
    return level


def _inside(frame) -> bool:
    return os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR)
