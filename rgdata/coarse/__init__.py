"""Coarse-graining: real-space PRG, momentum-space PCA-RG, and rebuilding their levels."""

from .levels import *  # noqa: F403
from .momentum import *  # noqa: F403
from .planted import *  # noqa: F403
from .prg import *  # noqa: F403
