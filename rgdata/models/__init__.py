"""Learned and generative models behind one protocol (fit, sample, log_prob, to_dataset).

See ``docs/models.md``. :class:`GenerativeModel` is the protocol,
:class:`RGModel` the base class, :func:`check_model` the conformance check any
model's tests run, :func:`require_ml` the lazy import of the ML extra (JAX)
for deep-learning parts. :class:`InverseRGUpsampler` is the reference model
(numpy/scipy only; symmetric 3x3, 5x5 or 7x7 kernels);
:func:`ising_training_pairs` makes its (fine, coarse) training pairs and
:func:`judge_generated` judges generated critical Ising lattices by exact physics.
:class:`ConvUpsampler` and :class:`TransposedConvUpsampler` are learned
upsamplers that need the ML extra (JAX, imported only when they are fitted
or sampled). :class:`MultilevelSampler` is the heat-bath multilevel sampler
with an exact likelihood, reweighted by :func:`importance_estimates`;
:class:`LearnedMultilevelSampler` adds a trained CNN conditional (ML extra).
:class:`RBM` / :class:`DeepRBM` are variational-RG RBMs; :class:`MPSClassifier`
and :class:`TreeTensorNetwork` are tensor networks (numpy; quimb for checks).
"""

from . import rbm_measures
from ._checks import check_model
from ._judge import judge_generated
from ._ml import require_ml
from ._protocol import GenerativeModel, NotFittedError, RGModel
from ._symmetric import symmetric_kernel
from .conv_upsampler import ConvUpsampler
from .inverse_rg import InverseRGUpsampler
from .mps import MPSClassifier
from .multilevel import MultilevelSampler
from .multilevel_check import validate_multilevel
from .multilevel_importance import (
    importance_estimates,
    independence_metropolis,
    log_weights,
)
from .multilevel_learned import LearnedMultilevelSampler
from .pairs import ising_training_pairs
from .rbm import RBM
from .rbm_stack import DeepRBM
from .transposed_conv import TransposedConvUpsampler
from .ttn import TreeTensorNetwork

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
    "ConvUpsampler",
    "TransposedConvUpsampler",
    "symmetric_kernel",
    "ising_training_pairs",
    "judge_generated",
    "RBM",
    "DeepRBM",
    "MPSClassifier",
    "TreeTensorNetwork",
    "rbm_measures",
]
