"""Maximum-entropy models: pairwise / K-pairwise, hierarchical, quartic."""

from .hierarchical import *  # noqa: F403
from .pairwise import *  # noqa: F403
from .quartic import *  # noqa: F403
