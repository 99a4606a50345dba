"""Progress bars for long loops (tqdm), switched off with ``progress=False``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm

__all__ = ["progress_bar"]


def progress_bar(
    iterable: Iterable | None = None,
    *,
    enable: bool = False,
    desc: str = "",
    total: int | None = None,
    **kwargs: Any,
):
    """Wrap *iterable* in a tqdm bar when *enable* is true (a disabled bar otherwise)."""
    return tqdm(iterable, desc=desc, total=total, disable=not enable, leave=False, **kwargs)
