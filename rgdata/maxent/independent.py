"""The independent (first-order) maximum-entropy model: the null of pairwise fits.

:class:`IndependentMaxEnt` is a :class:`~rgdata.maxent.PairwiseMaxEnt`
(``isinstance`` holds, and it shares prediction, sampling and goodness of
fit) whose learning step is a closed form: it overrides ``_fit``, the
learning behind the shared ``fit``, and the model quantities that have
closed forms for independent units.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_int, check_random_state
from ._enumerate import MAX_EXACT_UNITS
from ._mismatch import families_dataset, mismatch
from ._moments import binary_entropy, data_statistics, poisson_binomial
from ._pairwise_model import prepare_data
from ._start import independent_theta
from .pairwise import PairwiseMaxEnt

__all__ = ["IndependentMaxEnt"]


class IndependentMaxEnt(PairwiseMaxEnt):
    """Independent (first-order) maximum-entropy model: fields only, J = 0.

    The null model for pairwise fits: it matches every mean exactly
    (``h = logit(<x>)`` in 0/1 coding, ``artanh(<x>)`` in ±1 coding) and
    predicts zero covariance. Shares ``fit`` (which discards a previous
    fit's state first), prediction, sampling and goodness-of-fit methods
    with :class:`PairwiseMaxEnt`; only the learning step differs.

    Parameters
    ----------
    coding : {"01", "pm1"}
        Coding of the model's variables (see :class:`PairwiseMaxEnt`).
    random_state : None, int or numpy.random.Generator
        Seeds predictions and samples.

    Examples
    --------
    >>> import numpy as np, rgdata
    >>> rng = np.random.default_rng(0)
    >>> act = rgdata.as_activity((rng.random((4, 2000)) < 0.3).astype(int), kind="spikes")
    >>> m = IndependentMaxEnt().fit(act)
    >>> bool(np.allclose(m.predict_means(), act.values.mean(1)))
    True
    """

    def __init__(self, *, coding: str = "01", random_state: Any = None) -> None:
        super().__init__("exact", coding=coding, random_state=random_state)

    def _fit(self, activity: xr.DataArray) -> IndependentMaxEnt:
        """Set the fields from the data's means (closed form); ``fit`` calls it. Returns self."""
        x, units, data_coding = prepare_data(activity, self.coding)
        t, n = x.shape
        on = x > 0
        const = np.flatnonzero(on.all(0) | (~on).all(0))
        if const.size:
            shown = ", ".join(str(u) for u in units[const][:5])
            raise ValueError(
                f"activity has {const.size} constant unit(s) ({shown}): their independent-model "
                "field is infinite. Drop them (activity.drop_sel(unit=[...]))"
            )
        stats = data_statistics(x, self.coding)
        theta = independent_theta(stats["mean"], self.coding, 0)
        self.h_ = theta
        self.J_ = np.zeros((n, n))
        self.V_ = None
        self.n_units_, self.n_samples_ = n, t
        self.units_ = units
        self.method_ = "closed form"
        self.data_coding_ = data_coding
        self.data_stats_ = stats
        self.n_iter_ = 0
        self.n_at_bound_ = 0
        self.forbidden_counts_ = np.zeros(0, np.int64)
        self.history_ = np.zeros(0)
        self._rng = check_random_state(self.random_state)
        self._cache = {}
        # residual over means only (the model makes no attempt at correlations)
        mean = self._model_moments()[0] if n <= MAX_EXACT_UNITS else stats["mean"]
        mis = mismatch(mean, stats["mean"], stats["se_mean"], None, (("means", slice(0, n)),))
        self.residual_ = mis.max_z
        self.residual_rms_ = mis.rms
        self.residual_families_ = families_dataset(mis)
        self.mc_allowance_ = 0.0
        self.high_activity_fraction_ = float("nan")
        self.converged_ = True
        self.log_likelihood_ = float(
            np.sum(theta * stats["mean"])
            - np.sum(
                np.logaddexp(0.0, theta) if self.coding == "01" else np.logaddexp(theta, -theta)
            )
        )
        return self

    def _use_exact(self) -> bool:
        return True

    def _model_moments(self):
        if "moments" not in self._cache:
            h = self.h_
            if self.coding == "01":
                p = 1.0 / (1.0 + np.exp(-h))
                mean = p
            else:
                mean = np.tanh(h)
                p = 0.5 * (1 + mean)
            second = np.outer(mean, mean)
            np.fill_diagonal(second, mean if self.coding == "01" else 1.0)
            self._cache["moments"] = (mean, second, poisson_binomial(p))
        return self._cache["moments"]

    def predict_three_point(self, triplets: Any) -> np.ndarray:
        """Zero: independent units have no connected correlations."""
        self._check_fitted()
        return np.zeros(len(np.asarray(triplets).reshape(-1, 3)))

    def entropy(self) -> float:
        """Entropy in nats (sum of the units' binary entropies)."""
        self._check_fitted()
        mean = self._model_moments()[0]
        p = mean if self.coding == "01" else 0.5 * (1 + mean)
        return binary_entropy(p)

    def sample(self, n: int, random_state: Any = None) -> xr.DataArray:
        """Draw *n* independent patterns as Activity in the model's coding."""
        self._check_fitted()
        n = check_int(n, "n", min_value=1)
        rng = check_random_state(random_state)
        mean = self._model_moments()[0]
        p = mean if self.coding == "01" else 0.5 * (1 + mean)
        x01 = (rng.random((n, self.n_units_)) < p).astype(np.int8)
        x = x01 if self.coding == "01" else (2 * x01 - 1).astype(np.int8)
        from ..activity import as_activity

        return as_activity(
            x.T,
            kind="spikes" if self.coding == "01" else "spins",
            unit=self.units_,
            source="rgdata IndependentMaxEnt sample",
            allow_constant=True,
        )
