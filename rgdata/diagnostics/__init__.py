"""Exponent fits, null models and self-similarity diagnostics."""

from .exponents import *  # noqa: F403
from .nulls import *  # noqa: F403
from .similarity import *  # noqa: F403
from .summary import *  # noqa: F403
