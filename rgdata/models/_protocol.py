"""The protocol every learned or generative model in :mod:`rgdata.models` follows.

A model is a scikit-learn estimator (``__init__`` only stores its arguments,
``fit`` returns ``self``, learned state lives in ``name_`` attributes) with
three more methods:

``sample(n, random_state=None, **options)``
    ``n`` new draws, reproducible for an int or Generator ``random_state``
    (the seed used is recorded in the result's attrs).
``log_prob(X)``
    Log-probability (or conditional log-likelihood, as each model documents)
    of each row / configuration of *X*, where the model defines one. Models
    without a tractable likelihood set ``has_log_prob = False`` and raise
    :class:`NotImplementedError`.
``to_dataset()``
    The fitted parameters as an :class:`xarray.Dataset`: variables on named
    dims, each with ``units`` and ``description`` attrs, the fit's settings
    and diagnostics in the Dataset's attrs, so that it round-trips through
    netCDF (``engine="h5netcdf"``).

:class:`GenerativeModel` states this as a runtime-checkable
:class:`typing.Protocol`; :class:`RGModel` is the base class that gives the
shared pieces (fitted-state reset and checks, seed handling, the default
``log_prob``). :func:`rgdata.models.check_model` tests a model against the
protocol.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import xarray as xr

from .._estimator import Estimator, NotFittedError
from .._validation import check_random_state

__all__ = ["GenerativeModel", "RGModel", "NotFittedError"]


@runtime_checkable
class GenerativeModel(Protocol):
    """What a model in :mod:`rgdata.models` provides (checked by ``isinstance``).

    ``isinstance(model, GenerativeModel)`` only checks that the methods and
    the ``has_log_prob`` attribute exist; :func:`rgdata.models.check_model`
    checks their behaviour.
    """

    has_log_prob: bool

    def fit(self, X: Any, y: Any = None) -> Any:
        """Learn the parameters from *X*; return ``self``."""

    def sample(self, n: int, random_state: Any = None) -> Any:
        """Draw *n* new samples, reproducibly for a given *random_state*."""

    def log_prob(self, X: Any) -> np.ndarray:
        """Log-probability of each sample of *X* (``NotImplementedError`` if undefined)."""

    def to_dataset(self) -> xr.Dataset:
        """The fitted parameters as a netCDF-ready Dataset."""


class RGModel(Estimator):
    """Base class of the models in :mod:`rgdata.models`.

    Subclasses implement ``fit`` (calling :meth:`_reset_fit_state` first and
    returning ``self``), ``sample`` and ``to_dataset``, set
    ``_fitted_attribute`` / ``_fit_call`` (see :class:`rgdata._estimator.Estimator`)
    and, where the likelihood is tractable, ``has_log_prob = True`` with a
    ``log_prob`` of their own.
    """

    has_log_prob: ClassVar[bool] = False

    def log_prob(self, X: Any) -> np.ndarray:
        """Log-probability of each sample of *X*; this model does not define one.

        Raises
        ------
        NotImplementedError
            Always: models with a tractable likelihood override this and set
            ``has_log_prob = True``.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no tractable log_prob (has_log_prob is False); "
            "compare it with data through its samples instead"
        )

    @staticmethod
    def _seeded_rng(random_state: Any) -> tuple[np.random.Generator, int]:
        """A Generator for *random_state* and the integer seed to record in attrs.

        An int is the seed itself; for ``None`` or a Generator a seed is drawn
        from it (fresh OS entropy for ``None``), so the recorded seed
        reproduces the draw whatever *random_state* was.
        """
        rng = check_random_state(random_state)
        if isinstance(random_state, Integral) and not isinstance(random_state, bool):
            seed = int(random_state)
        else:
            seed = int(rng.integers(0, 2**62))
        return np.random.default_rng(seed), seed
