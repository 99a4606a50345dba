"""Plotting functions only: nothing here computes a fit.

One calling convention for every ``plot_*`` function: the result first, then
keyword-only options. A single-panel plot takes ``ax=`` (keyword-only) to draw
into your axes; a plot whose point is several panels side by side
(:data:`MULTI_PANEL`) takes ``fig=`` instead (an empty Figure or SubFigure).
Every function returns the :class:`matplotlib.figure.Figure` it drew on (the
one holding *ax* when given), which a notebook displays and a script saves
with ``fig.savefig``. Fits drawn are the ones stored on the result.

matplotlib is imported inside the functions, so importing this package is cheap.
"""

from .collapse import *  # noqa: F403
from .flow import *  # noqa: F403
from .generative import *  # noqa: F403
from .hierarchical import *  # noqa: F403
from .lattice import *  # noqa: F403
from .maxent import *  # noqa: F403
from .momentum import *  # noqa: F403
from .multilevel import *  # noqa: F403
from .multiscale import *  # noqa: F403
from .overview import *  # noqa: F403
from .scaling import *  # noqa: F403
from .tensor_networks import *  # noqa: F403

#: Plots whose point is several panels: they take ``fig=`` rather than ``ax=``.
MULTI_PANEL = (
    "plot_block_snapshots",
    "plot_mcrg_exponents",
    "plot_block_coupling_flow",
    "plot_maxent_summary",
)
