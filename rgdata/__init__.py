"""rgdata: data-driven renormalization-group analysis of real datasets.

Subpackages (imported on first use, so ``import rgdata`` stays light):
``io``, ``datasets``, ``lattice``, ``coarse``, ``maxent``, ``flow``,
``diagnostics``, ``models``, ``viz``, ``report``.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import accessor as _accessor  # noqa: F401  (registers the .rg xarray accessor)
from .activity import (
    as_activity,
    as_configurations,
    check_activity,
    check_configurations,
    configurations_as_activity,
    stack_trials,
)

__version__ = "0.1.0"

_SUBPACKAGES = (
    "io",
    "datasets",
    "lattice",
    "coarse",
    "maxent",
    "flow",
    "models",
    "diagnostics",
    "viz",
    "report",
)

__all__ = [
    "__version__",
    "as_activity",
    "as_configurations",
    "check_activity",
    "check_configurations",
    "configurations_as_activity",
    "stack_trials",
    *_SUBPACKAGES,
]


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'rgdata' has no attribute {name!r}")
