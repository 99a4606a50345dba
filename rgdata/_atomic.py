"""Atomic file writing: write to a temporary name beside the target, then rename.

An interrupted run therefore never leaves a half-written file under the final
name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "write_text_atomic", "to_netcdf_atomic"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to *path*; rename it onto *path* on success.

    On any exception the temporary file is removed and *path* is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or ".part", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write *text* (UTF-8) to *path* atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def to_netcdf_atomic(obj, path: str | os.PathLike, **kwargs) -> Path:
    """Write an xarray object to netCDF (h5netcdf engine) atomically."""
    kwargs.setdefault("engine", "h5netcdf")
    with atomic_path(path, suffix=".nc") as tmp:
        obj.to_netcdf(tmp, **kwargs)
    return Path(path)
