"""Check an output folder before any computation is spent on what goes into it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .._validation import describe

__all__ = ["check_output_folder"]


def check_output_folder(out: Any, name: str = "out") -> Path:
    """Check that *out* is, or can be created as, a writable folder; return it.

    Nothing is created. The checks are those a save would otherwise fail on
    only at its end: *out* exists but is a file; *out* (or, when it does not
    exist yet, its nearest existing parent, where it would be created) is
    not a folder or not writable.

    Parameters
    ----------
    out : str or os.PathLike
        The folder.
    name : str
        Argument name used in messages.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    TypeError
        *out* is not a path.
    ValueError
        *out* cannot be written.
    """
    if not isinstance(out, str | os.PathLike):
        raise TypeError(f"{name} must be a str or os.PathLike folder path, got {describe(out)}")
    path = Path(out).expanduser()
    if str(out) == "":
        raise ValueError(f"{name} is an empty string; a folder path is needed")
    if path.exists():
        if not path.is_dir():
            raise ValueError(
                f"{name}: {str(path)!r} exists and is not a folder; give a folder "
                "(existing or to be created)"
            )
        if not os.access(path, os.W_OK | os.X_OK):
            raise ValueError(f"{name}: folder {str(path)!r} is not writable")
        return path
    ancestor = path.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ValueError(
            f"{name}: cannot create folder {str(path)!r}: {str(ancestor)!r} is a file, not a folder"
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ValueError(
            f"{name}: cannot create folder {str(path)!r}: {str(ancestor)!r} is not writable"
        )
    return path
