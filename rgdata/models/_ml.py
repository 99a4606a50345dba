"""Lazy import of the ML extra (JAX) for the deep-learning parts of learned models."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require_ml", "ML_INSTALL_HINT"]

ML_INSTALL_HINT = "pip install rgdata[ml]"


def require_ml(feature: str = "this model") -> ModuleType:
    """Import and return :mod:`jax`, or explain how to install it.

    Models import their deep-learning dependencies through this function
    inside the methods that need them, never at module import, so
    ``import rgdata.models`` works without the ML extra.

    Parameters
    ----------
    feature : str
        What needs JAX, named in the error message (e.g. ``"RBM.fit"``).

    Returns
    -------
    module
        The imported :mod:`jax` package.

    Raises
    ------
    ImportError
        When JAX is not installed; the message names the extra to install.

    Examples
    --------
    >>> try:
    ...     jax = require_ml("the example")
    ... except ImportError as err:
    ...     print("rgdata[ml]" in str(err))
    ... else:
    ...     print(True)
    True
    """
    try:
        return importlib.import_module("jax")
    except ImportError as err:
        raise ImportError(
            f"{feature} needs JAX, which is not installed; install the ML extra with "
            f"`{ML_INSTALL_HINT}`"
        ) from err
