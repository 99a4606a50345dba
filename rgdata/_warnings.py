"""Warnings that point at the user's line, once per public call.

:func:`warn_user` is the only way rgdata warns. It computes the
``stacklevel`` by walking the stack to the first frame outside the rgdata
package, so the warning's ``filename``/``lineno`` are those of the user's
call of the public function however deep inside rgdata it was raised
(``warnings.warn(skip_file_prefixes=...)`` needs Python 3.12).

Inside a public function wrapped by :func:`once_per_call` (or a
``with warning_scope():`` block), a warning whose category and message were
already issued during the same outermost call is not repeated; nested
wrapped calls share the outermost call's record.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

__all__ = ["warn_user", "once_per_call", "warning_scope", "user_stacklevel"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_issued: ContextVar[set[tuple[type, str]] | None] = ContextVar("rgdata_warnings", default=None)

F = TypeVar("F", bound=Callable[..., Any])


def _inside_package(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_PACKAGE_DIR)


def user_stacklevel(skip: int = 1) -> int:
    """The ``stacklevel`` that makes ``warnings.warn`` point at the first non-rgdata frame.

    Parameters
    ----------
    skip : int
        Frames between this function and the function that calls
        ``warnings.warn`` (1: the caller of ``user_stacklevel`` warns).

    Returns
    -------
    int
        Counted as ``warnings.warn`` counts: 1 is the function calling it.
    """
    frame = sys._getframe(skip)
    level = 1
    while frame is not None and _inside_package(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    return level


def warn_user(message: str, category: type[Warning] = UserWarning) -> None:
    """Issue *message* as a *category* warning attributed to the user's line.

    Within a :func:`once_per_call` call (or :func:`warning_scope` block) a
    repeat of the same category and message is dropped.

    Parameters
    ----------
    message : str
    category : Warning subclass
    """
    issued = _issued.get()
    if issued is not None:
        key = (category, str(message))
        if key in issued:
            return
        issued.add(key)
    # +1: the frame of warn_user itself, which warnings.warn counts as level 1
    warnings.warn(message, category, stacklevel=user_stacklevel(2) + 1)


@contextlib.contextmanager
def warning_scope() -> Iterator[None]:
    """Within the block, each (category, message) is warned at most once.

    Nested scopes share the outermost one.
    """
    if _issued.get() is not None:
        yield
        return
    token = _issued.set(set())
    try:
        yield
    finally:
        _issued.reset(token)


def once_per_call(func: F) -> F:
    """Decorate a public function or ``fit`` method: no repeated warning within one call."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with warning_scope():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
