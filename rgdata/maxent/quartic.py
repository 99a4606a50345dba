"""The quartic (phi^4) model of momentum-space RG: one import path for its three parts.

- :mod:`rgdata.maxent.quartic_model`: the single-variable model
  ``exp(-a phi^2 - g phi^4)``, its moments and fits, and the first-order
  multivariate coupling;
- :mod:`rgdata.maxent.quartic_flow`: :func:`fit_quartic_flow`, the flow of
  ``g`` across the kept fractions of eigenmodes;
- :mod:`rgdata.maxent.quartic_field`: :func:`fit_quartic_field`, the
  non-perturbative multivariate fit on few modes.

Both fits project on the eigenmodes of :func:`rgdata.coarse.momentum`
(:mod:`rgdata.maxent._quartic_projection`).
"""

from .quartic_field import _field_newton_step, fit_quartic_field  # noqa: F401
from .quartic_flow import fit_quartic_flow
from .quartic_model import (
    QuarticModel,
    fit_quartic_moments,
    quartic_coupling_first_order,
    quartic_moments,
)

__all__ = [
    "QuarticModel",
    "fit_quartic_moments",
    "fit_quartic_flow",
    "quartic_moments",
    "quartic_coupling_first_order",
    "fit_quartic_field",
]
