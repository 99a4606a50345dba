"""Learned and generative models behind one protocol (fit, sample, log_prob, to_dataset).

See ``docs/models.md``. :class:`GenerativeModel` is the protocol,
:class:`RGModel` the base class, :func:`check_model` the conformance check any
model's tests run, :func:`require_ml` the lazy import of the ML extra (JAX)
for deep-learning parts. :class:`InverseRGUpsampler` is the reference model
(numpy/scipy only). :class:`MultilevelSampler` is the heat-bath multilevel
sampler with an exact likelihood, reweighted by :func:`importance_estimates`;
:class:`LearnedMultilevelSampler` adds a trained CNN conditional (ML extra).
"""

from ._checks import check_model
from ._ml import require_ml
from ._protocol import GenerativeModel, NotFittedError, RGModel
from .inverse_rg import InverseRGUpsampler
from .multilevel import MultilevelSampler
from .multilevel_check import validate_multilevel
from .multilevel_importance import (
    importance_estimates,
    independence_metropolis,
    log_weights,
)
from .multilevel_learned import LearnedMultilevelSampler

__all__ = [
    "GenerativeModel",
    "RGModel",
    "NotFittedError",
    "check_model",
    "require_ml",
    "InverseRGUpsampler",
    "MultilevelSampler",
    "LearnedMultilevelSampler",
    "importance_estimates",
    "independence_metropolis",
    "log_weights",
    "validate_multilevel",
]
