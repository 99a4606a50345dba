"""Simulated lattices: Ising sampling, exact solutions, block spins, MCRG, FSS."""

from . import exact  # noqa: F401
from .blocking import *  # noqa: F403
from .couplings import *  # noqa: F403
from .ensemble import *  # noqa: F403
from .mcrg import *  # noqa: F403
from .observables import *  # noqa: F403
from .sampling import *  # noqa: F403
