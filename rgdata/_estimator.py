"""The base class of rgdata's estimators: fitted-state bookkeeping on scikit-learn's.

Every estimator is a :class:`sklearn.base.BaseEstimator` (``get_params``,
``set_params``, ``clone`` work), stores its constructor arguments under their
own names and everything learned in ``fit`` under names ending in ``_`` (public) or
starting with ``_`` (private caches, Monte Carlo chains, generators).
:meth:`Estimator._reset_fit_state` removes all of the latter at the
start of ``fit``, so a refit on other data or with another method starts
from the same state as a fresh estimator; ``_check_fitted`` raises
scikit-learn's :class:`~sklearn.exceptions.NotFittedError` (a subclass of
both ``ValueError`` and ``AttributeError``) before the first fit.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

__all__ = ["Estimator", "NotFittedError"]


class Estimator(BaseEstimator):
    """Base class: ``_reset_fit_state`` at the start of ``fit``, ``_check_fitted`` before use.

    Subclasses set ``_fitted_attribute`` to an attribute that every
    successful ``fit`` sets and ``_fit_call`` to the call shown in the
    not-fitted message (e.g. ``"fit(activity)"``).
    """

    _fitted_attribute: str = ""
    _fit_call: str = "fit(...)"

    def _reset_fit_state(self) -> None:
        """Delete every learned (``name_``) and private (``_name``) instance attribute."""
        for name in list(vars(self)):
            if name.endswith("_") or (name.startswith("_") and not name.startswith("__")):
                delattr(self, name)

    def _check_fitted(self) -> None:
        """Raise :class:`~sklearn.exceptions.NotFittedError` unless ``fit`` has run."""
        check_is_fitted(
            self,
            attributes=self._fitted_attribute or None,
            msg=f"this %(name)s is not fitted yet: call {self._fit_call} first",
        )
