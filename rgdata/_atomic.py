"""Atomic file writing: write to a temporary name beside the target, then rename.

An interrupted run therefore never leaves a half-written file under the final
name.  Three rules make the leftovers of a killed run harmless:

* temporary names are hidden and end in ``.partial-<pid>-<random>``, so no
  result glob (``*.nc``, ``*.png``, ``*.html``, ``*.csv``) matches them;
* a new file gets the permissions the umask gives (``0666 & ~umask``, as
  ``open()`` would), and a file written over an existing one keeps that
  file's permission bits;
* :func:`remove_stale_partials` deletes the temporaries left by processes
  that no longer run (the pid is in the name), so the next save cleans up.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "atomic_path",
    "write_text_atomic",
    "to_netcdf_atomic",
    "partial_name",
    "remove_stale_partials",
    "copy_mode",
]

#: ``.<name>.<tag>-<pid>-<hex>``: the form of every temporary name we create.
_PARTIAL = re.compile(r"^\.(?P<name>.+)\.(?P<tag>partial|staging|old)-(?P<pid>\d+)-[0-9a-f]+$")


def partial_name(name: str, tag: str = "partial") -> str:
    """A hidden temporary name for *name* that no result glob matches.

    ``tag`` is ``"partial"`` (a file being written), ``"staging"`` (a folder
    being filled) or ``"old"`` (a folder being replaced).
    """
    return f".{name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def stale_partials(directory: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Temporaries in *directory* (optionally only those for *name*) of dead processes."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    out = []
    for entry in directory.iterdir():
        found = _PARTIAL.match(entry.name)
        if found is None or (name is not None and found["name"] != name):
            continue
        if not _pid_alive(int(found["pid"])):
            out.append(entry)
    return sorted(out)


def remove_stale_partials(directory: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Delete the temporaries that killed runs left in *directory*; return them.

    Only names of the form ``.<name>.{partial,staging,old}-<pid>-<hex>`` whose
    process no longer runs are touched, so a save running at the same time
    (another process) keeps its files.
    """
    return remove_paths(stale_partials(directory, name))


def remove_paths(paths: list[Path]) -> list[Path]:
    """Delete each of *paths* (a folder with its contents; a link, not its target); return them.

    Paths that are already gone are passed over, so two cleanups racing each
    other do not fail.
    """
    for entry in paths:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
    return paths


def copy_mode(src: str | os.PathLike, dst: str | os.PathLike) -> bool:
    """Give *dst* the permission bits of *src* if *src* exists; return whether it did."""
    try:
        mode = stat.S_IMODE(os.stat(src).st_mode)
    except FileNotFoundError:
        return False
    os.chmod(dst, mode)
    return True


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike, *, mode_from: str | os.PathLike | None = None
) -> Iterator[Path]:
    """Yield a temporary path next to *path*; rename it onto *path* on success.

    The temporary file is created empty with mode ``0666`` filtered by the
    umask (what ``open(path, "w")`` gives); before the rename it takes the
    permission bits of the file it replaces (or of *mode_from*, when given
    and existing). On any exception the temporary file is removed and *path*
    is untouched. Stale temporaries of killed runs in the same folder are
    removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(path.parent, path.name)
    tmp_path = path.parent / partial_name(path.name)
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    os.close(fd)
    try:
        yield tmp_path
        if not copy_mode(path, tmp_path) and mode_from is not None:
            copy_mode(mode_from, tmp_path)
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
    with atomic_path(path) as tmp:
        obj.to_netcdf(tmp, **kwargs)
    return Path(path)
