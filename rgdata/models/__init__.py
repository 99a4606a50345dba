"""Learned and generative models behind one protocol (fit, sample, log_prob, to_dataset).

See ``docs/models.md``. :class:`GenerativeModel` is the protocol,
:class:`RGModel` the base class, :func:`check_model` the conformance check any
model's tests run, :func:`require_ml` the lazy import of the ML extra (JAX)
for deep-learning parts. :class:`InverseRGUpsampler` is the reference model
(numpy/scipy only).
"""

from . import rbm_measures
from ._checks import check_model
from ._ml import require_ml
from ._protocol import GenerativeModel, NotFittedError, RGModel
from .inverse_rg import InverseRGUpsampler
from .rbm import RBM
from .rbm_stack import DeepRBM

__all__ = [
    "GenerativeModel",
    "RGModel",
    "NotFittedError",
    "check_model",
    "require_ml",
    "InverseRGUpsampler",
    "RBM",
    "DeepRBM",
    "rbm_measures",
]
