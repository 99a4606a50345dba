"""Coarse-graining: real-space PRG and momentum-space PCA-RG."""

from .momentum import *  # noqa: F403
from .prg import *  # noqa: F403
