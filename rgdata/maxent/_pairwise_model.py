"""What a fitted pairwise model knows: predictions, sampling, entropies and output.

:class:`PairwiseModel` holds everything that only reads the fitted
parameters ``h_``, ``J_``, ``V_`` (and the Monte Carlo chains a fit leaves):
predicted moments (exact for N <= 20, Monte Carlo otherwise, cached with
their Monte Carlo errors), samples, entropy, likelihood, ``to_dataset`` and
``goodness_of_fit`` (in :mod:`.goodness`). The learners subclass it:
:class:`~rgdata.maxent.PairwiseMaxEnt` (iterative fits) and, through it,
:class:`~rgdata.maxent.IndependentMaxEnt` (closed form).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

from .._estimator import Estimator
from .._validation import check_binary, check_int, check_random_state
from ..activity import check_activity, stack_trials
from ._chains import ChainSet
from ._codings import moments01_to, moments_from01, params_to01, stats_vector, to_coding
from ._enumerate import MAX_EXACT_UNITS, ExactModel
from ._mismatch import chain_error, spread_error
from ._moments import (
    binary_entropy,
    connected_three_point,
    dense_moments,
    stat_variance,
    unique_patterns,
)
from ._sampler import gibbs_samples, seed_states

AUTO_EXACT_UNITS = 20


def prepare_data(activity: Any, coding: str, name: str = "activity"):
    """Validate binary Activity and return (x (T, N) float32 in *coding*, units, data coding)."""
    activity = check_activity(activity, binary=True, allow_constant=True, name=name)
    if "trial" in activity.dims:
        activity = stack_trials(activity)
    values = activity.values
    data_coding = check_binary(values, name)
    x = to_coding(values.T, data_coding, coding)
    return x, activity["unit"].values, data_coding


class PairwiseModel(Estimator):
    """Base of the pairwise maximum-entropy estimators: the fitted model's quantities.

    Subclasses learn ``h_``, ``J_``, ``V_`` (and the attributes listed in
    :class:`~rgdata.maxent.PairwiseMaxEnt`) in ``fit``.
    """

    _fitted_attribute = "h_"
    _fit_call = "fit(activity)"

    def _params01(self):
        h01, J01 = params_to01(self.h_, self.J_, self.coding)
        return h01, J01, self.V_

    def _exact(self) -> ExactModel:
        if "exact" not in self._cache:
            self._cache["exact"] = ExactModel(*self._params01())
        return self._cache["exact"]

    def _mc_samples(self, n_samples: int | None = None, random_state: Any = None) -> np.ndarray:
        """Cached Gibbs sample of the model, 0/1 coding, (n, N)."""
        n_samples = n_samples or 200_000
        key = f"mc_{n_samples}"
        if random_state is not None or key not in self._cache:
            rng = self._rng if random_state is None else check_random_state(random_state)
            x01 = self._gibbs(n_samples, rng)
            if random_state is not None:
                return x01
            self._cache[key] = x01
        return self._cache[key]

    def _gibbs(self, n: int, rng: np.random.Generator, thin: int = 2) -> np.ndarray:
        h01, J01, V = self._params01()
        n_chains = self.n_chains
        per = int(np.ceil(n / n_chains))
        states = (rng.random((n_chains, self.n_units_)) < 0.5).astype(np.int8)
        if hasattr(self, "_chains"):
            states = self._chains.states.copy()
        use_v = V is not None
        out = gibbs_samples(
            h01,
            np.ascontiguousarray(J01),
            V if use_v else np.zeros(self.n_units_ + 1),
            use_v,
            states,
            seed_states(rng, n_chains),
            per,
            thin,
            500,
        )
        return out.reshape(-1, self.n_units_)[:n]

    def _use_exact(self) -> bool:
        return self.n_units_ <= AUTO_EXACT_UNITS

    def _model_moments(self):
        """Means, second moments and P(K) of the model, in the model's coding."""
        if "moments" in self._cache:
            return self._cache["moments"]
        if self._use_exact():
            m01, s01 = self._exact().moments()
            pk = self._exact().count_distribution()
            mean, second = moments_from01(m01, s01, self.coding)
        elif hasattr(self, "_chains") and self.method_ in ("boltzmann", "reweighting"):
            n = max(20 * self.n_samples_, 200_000)
            n = min(n, self.max_samples or n)
            chains = ChainSet(self._chains.states.copy(), seed_states(self._rng, self.n_chains))
            mean, second, pk, n_used = chains.stats(self.h_, self.J_, self.V_, self.coding, n)
            per_chain = chains.chain_vectors(self.coding, self.V_ is not None)
            self._record_mc_error(mean, second, pk, per_chain, n_used)
            sums, pairs, khist, sweeps = chains.last_chain_sums
            self._cache["chain_moments"] = [
                (
                    *moments01_to(sums[c], pairs[c], float(sweeps), self.coding),
                    khist[c] / sweeps,
                )
                for c in range(sums.shape[0])
            ]
            self._cache["moments"] = (mean, second, pk)
            return self._cache["moments"]
        else:
            x01 = self._mc_samples()
            mean, second, pk = dense_moments(x01, self.coding)
            per = int(np.ceil(len(x01) / self.n_chains))  # rows are chain-major
            k_pot = self.V_ is not None
            chain_moments = [
                dense_moments(x01[c : c + per], self.coding) for c in range(0, len(x01), per)
            ]
            self._cache["chain_moments"] = chain_moments
            per_chain = [stats_vector(*cm, k_pot) for cm in chain_moments]
            self._record_mc_error(mean, second, pk, np.array(per_chain), len(x01))
        self._cache["moments"] = (mean, second, pk)
        return self._cache["moments"]

    def _record_mc_error(self, mean, second, pk, per_chain, n_used: int) -> None:
        """Cache the Monte Carlo standard error of the model's statistics (from chain spread)."""
        m = stats_vector(mean, second, pk, self.V_ is not None)
        self._cache["mc_se"] = chain_error(per_chain, m, self.coding, self.n_units_, n_used)[0]
        self._cache["per_chain"] = np.asarray(per_chain)
        self._cache["mc_n_used"] = int(n_used)

    def _moment_mc_errors(self, iu) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Monte Carlo errors of the predicted means, covariances (pairs *iu*) and P(K).

        Zeros for exact predictions. Otherwise from the spread between the
        chains of the cached model moments (:func:`spread_error`); the
        covariance's independent-sample variance is approximated by
        ``v_i v_j + c_ij^2`` (Isserlis), so its tau is not floored at 1.
        """
        n = self.n_units_
        if self._use_exact():
            return np.zeros(n), np.zeros(len(iu[0])), np.zeros(n + 1)
        mean, second, pk = self._model_moments()
        chain = self._cache["chain_moments"]
        n_used = self._cache["mc_n_used"]
        means = np.array([c[0] for c in chain])
        covs = np.array([(c[1] - np.outer(c[0], c[0]))[iu] for c in chain])
        pks = np.array([c[2] for c in chain])
        var = np.maximum(stat_variance(mean, self.coding, n), 0.0)
        cov = (second - np.outer(mean, mean))[iu]
        se_mean = spread_error(means, var / n_used)[0]
        se_cov = spread_error(covs, (var[iu[0]] * var[iu[1]] + cov**2) / n_used, False)[0]
        se_pk = spread_error(pks, pk * (1.0 - pk) / n_used)[0]
        return se_mean, se_cov, se_pk

    def _three_point_mc(self, tri: np.ndarray, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
        """Connected three-point correlations from a Gibbs sample and their Monte Carlo error.

        The sample's rows are chain-major (``n_chains`` chains); the error is
        :func:`spread_error` of the per-chain estimates (each chain's mean
        of ``dx_i dx_j dx_k``, centred at the pooled means), with the variance
        of ``dx_i dx_j dx_k`` over the sample as the independent-sample
        variance.
        """
        x = to_coding(self._mc_samples(n_samples), "01", self.coding).astype(np.float32)
        xc = x - x.mean(0, dtype=np.float64).astype(np.float32)
        n_rows = len(x)
        per = int(np.ceil(n_rows / self.n_chains))
        starts = np.arange(0, n_rows, per)
        c3 = np.empty(len(tri))
        iid = np.empty(len(tri))
        per_chain = np.empty((len(starts), len(tri)))
        for s in range(0, len(tri), 64):
            tr = tri[s : s + 64]
            prod = xc[:, tr[:, 0]] * xc[:, tr[:, 1]] * xc[:, tr[:, 2]]
            c3[s : s + 64] = prod.mean(0, dtype=np.float64)
            iid[s : s + 64] = prod.var(0, dtype=np.float64)
            per_chain[:, s : s + 64] = (
                np.add.reduceat(prod, starts, axis=0, dtype=np.float64)
                / (np.diff(np.append(starts, n_rows))[:, None])
            )
        return c3, spread_error(per_chain, iid / n_rows)[0]

    def predict_means(self) -> np.ndarray:
        """Model means <x_i> in the model's coding (exact for N <= 20, else Monte Carlo)."""
        self._check_fitted()
        return self._model_moments()[0].copy()

    def predict_correlations(self, connected: bool = True) -> np.ndarray:
        """Model covariances <x_i x_j> - <x_i><x_j> (or raw second moments), (N, N)."""
        self._check_fitted()
        mean, second, _ = self._model_moments()
        if connected:
            return second - np.outer(mean, mean)
        return second.copy()

    def predict_count_distribution(self) -> np.ndarray:
        """Model distribution P(K) of the number of active units, K = 0..N."""
        self._check_fitted()
        return self._model_moments()[2].copy()

    def predict_three_point(self, triplets: Any) -> np.ndarray:
        """Connected three-point correlations <dx_i dx_j dx_k> for rows (i, j, k) of *triplets*.

        Exact for N <= 20; otherwise from a cached Monte Carlo sample of 200,000 patterns.
        """
        self._check_fitted()
        tr = np.asarray(triplets, dtype=np.int64).reshape(-1, 3)
        if tr.size and (tr.min() < 0 or tr.max() >= self.n_units_):
            raise ValueError(f"triplets must index units 0..{self.n_units_ - 1}")
        if self._use_exact():
            return self._connected3(self._exact().third_moments(tr), tr)
        x = to_coding(self._mc_samples(), "01", self.coding).astype(np.float64)
        return connected_three_point(x, tr)

    def _connected3(self, raw01: np.ndarray, tr: np.ndarray) -> np.ndarray:
        """Connected three-point correlation in the model's coding from exact 0/1 moments."""
        ex = self._exact()
        m01, s01 = ex.moments()
        i, j, k = tr.T
        c01 = (
            raw01
            - m01[i] * s01[j, k]
            - m01[j] * s01[i, k]
            - m01[k] * s01[i, j]
            + 2 * m01[i] * m01[j] * m01[k]
        )
        # connected correlations are multilinear: x_pm1 = 2 s - 1 scales each factor by 2
        return c01 if self.coding == "01" else 8.0 * c01

    def entropy(self) -> float:
        """Entropy of the model in nats (exact enumeration, N <= 24)."""
        self._check_fitted()
        if self.n_units_ > MAX_EXACT_UNITS:
            raise ValueError(
                f"entropy() needs exact enumeration (N <= {MAX_EXACT_UNITS}); "
                f"this model has N={self.n_units_}"
            )
        return self._exact().entropy()

    def log_likelihood(self, activity: xr.DataArray) -> float:
        """Mean log-likelihood per time sample of *activity* under the model (nats, N <= 24)."""
        self._check_fitted()
        x, _, _ = prepare_data(activity, self.coding)
        if x.shape[1] != self.n_units_:
            raise ValueError(
                f"activity has {x.shape[1]} units; the model was fitted on {self.n_units_}"
            )
        if self.n_units_ > MAX_EXACT_UNITS:
            raise ValueError(
                f"log_likelihood() needs exact enumeration (N <= {MAX_EXACT_UNITS}); "
                f"this model has N={self.n_units_}"
            )
        return float(self._exact().log_prob(x > 0).mean())

    def multi_information_fraction(self, activity: xr.DataArray | None = None) -> dict:
        """Fraction of the multi-information captured: (S_ind - S_model) / (S_ind - S_data).

        S_data is the plug-in entropy of the empirical pattern frequencies,
        biased low when the number of samples is not much larger than the
        number of distinct patterns (the fraction is then underestimated).
        Entropies in nats; needs N <= 24.

        Returns
        -------
        dict with ``fraction``, ``entropy_independent``, ``entropy_model``,
        ``entropy_data``, ``n_patterns_observed``.
        """
        self._check_fitted()
        if activity is None:
            raise ValueError("multi_information_fraction needs the activity the model describes")
        x, _, _ = prepare_data(activity, self.coding)
        on = x > 0
        s_ind = binary_entropy(on.mean(0))
        s_model = self.entropy()
        _, freq = unique_patterns(on)
        s_data = float(-np.sum(freq * np.log(freq)))
        denom = s_ind - s_data
        frac = (s_ind - s_model) / denom if denom > 0 else float("nan")
        return {
            "fraction": float(frac),
            "entropy_independent": s_ind,
            "entropy_model": s_model,
            "entropy_data": s_data,
            "n_patterns_observed": int(freq.size),
        }

    # ------------------------------------------------------------------ sampling / output
    def sample(self, n: int, random_state: Any = None) -> xr.DataArray:
        """Draw *n* patterns from the model as Activity ``(unit, time)``.

        Exact independent draws for N <= 20; otherwise Gibbs sampling (500
        burn-in sweeps, 2 sweeps between recorded patterns, several chains).
        Values are in the model's coding (kind "spikes" for 01, "spins" for pm1).
        """
        self._check_fitted()
        n = check_int(n, "n", min_value=1)
        rng = check_random_state(random_state)
        if self._use_exact():
            x01 = self._exact().sample(n, rng)
        else:
            x01 = self._gibbs(n, rng)
        x = x01 if self.coding == "01" else (2 * x01 - 1).astype(np.int8)
        from ..activity import as_activity

        return as_activity(
            x.T,
            kind="spikes" if self.coding == "01" else "spins",
            unit=self.units_,
            source=f"rgdata {type(self).__name__} sample",
            allow_constant=True,
        )

    def _params_attrs(self) -> dict:
        return {
            "model": type(self).__name__,
            "method": self.method_,
            "coding": self.coding,
            "l2": float(self.l2),
            "tol": float(self.tol),
            "k_potential": int(self.V_ is not None),
            "k_gauge": "V(0)=V(1)=V(2)=0" if self.V_ is not None else "",
            "n_units": int(self.n_units_),
            "n_samples": int(self.n_samples_),
            "converged": int(self.converged_),
            "n_iter": int(self.n_iter_),
            "residual": float(self.residual_),
            "residual_rms": float(self.residual_rms_),
            "mc_allowance": float(self.mc_allowance_),
            "tol_rms": float(self.tol_rms),
            "high_activity_fraction": float(self.high_activity_fraction_),
            "log_likelihood": float(self.log_likelihood_),
            "n_at_bound": int(self.n_at_bound_),
            "forbidden_counts": json.dumps([int(k) for k in self.forbidden_counts_]),
            "n_blocks": int(self.data_stats_["n_blocks"]),
            "random_state": json.dumps(
                self.random_state if isinstance(self.random_state, int | None) else "Generator"
            ),
        }

    def to_dataset(self) -> xr.Dataset:
        """The fitted parameters as a Dataset (h, J, V) with the fit's parameters in attrs."""
        self._check_fitted()
        n = self.n_units_
        ds = xr.Dataset(
            {
                "h": ("unit", self.h_),
                "J": (("unit", "unit_j"), self.J_),
            },
            coords={"unit": self.units_, "unit_j": self.units_},
            attrs=self._params_attrs(),
        )
        if self.V_ is not None:
            ds["V"] = ("count", self.V_)
            ds = ds.assign_coords(count=np.arange(n + 1))
        coding = "0/1" if self.coding == "01" else "+-1"
        labels = {
            "h": f"field of each unit, in the model's {coding} coding",
            "J": f"pairwise coupling between units, in the model's {coding} coding",
            "V": "potential on the number of active units K (K-pairwise)",
        }
        for name, text in labels.items():
            if name in ds:
                ds[name].attrs.update(units="dimensionless (log-probability)", description=text)
        fam = self.residual_families_
        for name in fam.data_vars:
            ds[f"residual_{name}"] = fam[name]
        return ds

    def goodness_of_fit(
        self,
        activity: xr.DataArray,
        *,
        n_triplets: int = 500,
        n_model_samples: int = 200_000,
        random_state: Any = 0,
    ) -> xr.Dataset:
        """Compare model predictions with the data: :func:`rgdata.maxent.goodness.goodness_of_fit`.

        Parameters
        ----------
        activity : xarray.DataArray
            The data (usually the data the model was fitted on).
        n_triplets : int
            Number of random unit triplets for three-point correlations.
        n_model_samples : int
            Gibbs sample for the three-point predictions when N > 20.
        random_state : None, int or Generator
            Chooses the triplets.

        Returns
        -------
        xarray.Dataset
            See :func:`rgdata.maxent.goodness.goodness_of_fit`.
        """
        from .goodness import goodness_of_fit

        return goodness_of_fit(
            self,
            activity,
            n_triplets=n_triplets,
            n_model_samples=n_model_samples,
            random_state=random_state,
        )
