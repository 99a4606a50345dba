"""Parameter flows across coarse-graining levels and their fixed points."""

from .flows import *  # noqa: F403
