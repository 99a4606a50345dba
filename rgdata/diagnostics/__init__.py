"""Exponent fits, null models and self-similarity diagnostics."""

from .collapse import *  # noqa: F403
from .collapse_data import *  # noqa: F403
from .count_fit import *  # noqa: F403
from .dynamics import *  # noqa: F403
from .dynamics_learned import *  # noqa: F403
from .dynamics_levels import *  # noqa: F403
from .exponents import *  # noqa: F403
from .ms3d import *  # noqa: F403
from .nulls import *  # noqa: F403
from .similarity import *  # noqa: F403
from .similarity_exponents import *  # noqa: F403
from .summary import *  # noqa: F403
