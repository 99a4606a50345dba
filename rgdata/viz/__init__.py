"""Plotting functions only: each takes a result and an optional ``ax`` and
returns the figure or axes; nothing here computes a fit.

matplotlib is imported inside the functions, so importing this package is cheap.
"""

from .flow import *  # noqa: F403
from .generative import *  # noqa: F403
from .lattice import *  # noqa: F403
from .maxent import *  # noqa: F403
from .momentum import *  # noqa: F403
from .overview import *  # noqa: F403
from .scaling import *  # noqa: F403
