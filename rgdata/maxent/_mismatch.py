"""How far model statistics are from the data's, overall and per family of statistics.

Comparison standard errors (:func:`comparison_se`), the Monte Carlo error of
chain estimates (:func:`chain_error`, :func:`spread_error`) and the verdict
(:class:`Mismatch`, :class:`FamilyMismatch`) that every learner and the
fitted estimators use to decide convergence.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import xarray as xr
from scipy.stats import chi2

from ._codings import stats_vector
from ._moments import stat_variance

BIAS_TOL = 3.0  # |mean z| * sqrt(n) of a family: 3 sigma for independent misfits of either sign


def comparison_se(m, d, se, coding: str, n_units: int, n_data: int) -> np.ndarray:
    """Standard error for comparing model statistics *m* with data statistics *d*.

    The data's block standard error *se* is computed at the data's own
    estimate; for a statistic seen a handful of times (two rare units
    active together) it is far smaller than the error the data would have
    if the model were true. The comparison uses the larger of the two: the
    model's Bernoulli variance, carried through the data's ratio of block
    to independent-sample error (like Pearson's chi-square, which divides
    by the expected, not the observed, counts).
    """
    v_d = np.maximum(stat_variance(d, coding, n_units), 0.0)
    v_m = np.maximum(stat_variance(m, coding, n_units), 0.0)
    iid_d = np.sqrt(v_d / n_data)
    ratio = np.where(iid_d > 0, se / np.where(iid_d > 0, iid_d, 1.0), 1.0)
    return np.maximum(se, ratio * np.sqrt(v_m / n_data))


def chain_error(per_chain: np.ndarray, m, coding: str, n_units: int, n_used: int):
    """Monte Carlo standard error of every statistic, and the autocorrelation factor tau.

    Independent chains give independent estimates, so the spread of the
    per-chain statistics measures the Monte Carlo error including the
    chains' autocorrelation. With few chains that spread is noisy for any
    single statistic, so one factor ``tau`` (the median over statistics of
    between-chain variance / independent-sample variance, divided by the
    median of chi-square(C - 1) / (C - 1), and at least 1) multiplies the
    independent-sample variance of every statistic.
    """
    iid = np.maximum(stat_variance(m, coding, n_units), 0.0) / n_used
    return spread_error(per_chain, iid)


def spread_error(per_chain: np.ndarray, iid_var: np.ndarray, at_least_iid: bool = True):
    """Monte Carlo standard error from per-chain estimates and the independent-sample variance.

    ``tau`` is the median over statistics of (between-chain variance of the
    pooled estimate) / *iid_var*, divided by the median of chi-square(C - 1)
    / (C - 1); the error of every statistic is ``sqrt(tau * iid_var)``. With
    *at_least_iid* tau is at least 1 (correlated samples never carry more
    information than independent ones; pass False when *iid_var* is only an
    approximation). One chain: tau = 1. Returns ``(se, tau)``.
    """
    iid = np.asarray(iid_var, dtype=np.float64)
    tau = 1.0
    c = per_chain.shape[0]
    ok = iid > 0
    if c >= 2 and ok.any():
        between = per_chain.var(0, ddof=1) / c
        ratio = float(np.median(between[ok] / iid[ok]))
        tau = ratio * (c - 1) / chi2.median(c - 1)
        if at_least_iid:
            tau = max(1.0, tau)
    return np.sqrt(tau * iid), tau


class FamilyMismatch(NamedTuple):
    """The mismatch of one family of statistics (means, second moments or P(K)).

    ``n`` statistics; ``max_z`` the largest |z|; ``rms`` the rms of z with
    the Monte Carlo share removed (as :attr:`Mismatch.rms`); ``mean_z`` the
    mean of the signed z; ``bias`` = ``mean_z * sqrt(n)``, which is about
    N(0, 1) when the family's misfits are independent errors of either sign
    and grows as sqrt(n) when they share a sign; ``bias_allowance`` is
    ``sqrt(2 log 2F)`` (F families) times the Monte Carlo standard deviation
    of ``bias`` (0 for exact moments).
    """

    name: str
    n: int
    max_z: float
    rms: float
    mean_z: float
    bias: float
    bias_allowance: float

    def failures(self, tol_rms: float) -> list[str]:
        """Why this family fails (empty when it passes): its rms or its bias."""
        out = []
        if self.rms >= tol_rms:
            out.append(f"rms {self.rms:.2f} >= tol_rms={tol_rms}")
        if abs(self.bias) >= BIAS_TOL + self.bias_allowance:
            noise = f" + {self.bias_allowance:.2f} Monte Carlo" if self.bias_allowance else ""
            sign = "high" if self.bias > 0 else "low"
            out.append(
                f"biased {sign}: mean z {self.mean_z:+.2f} over {self.n}, "
                f"bias {self.bias:+.2f} beyond {BIAS_TOL}{noise}"
            )
        return out


class Mismatch(NamedTuple):
    """How far model statistics are from the data's, in comparison standard errors.

    ``max_z`` is the largest |z|; ``rms`` the root mean square of z after
    removing the Monte Carlo noise's share (``mean z^2 - mean eps^2``, with
    eps = Monte Carlo error / comparison error); ``allowance`` the typical
    largest Monte Carlo error, ``sqrt(2 log 2P)`` times the 90th percentile
    of eps over the P statistics (0 for exact moments); ``noise_rms`` the
    rms of eps; ``families`` the same per family of statistics
    (:class:`FamilyMismatch`).
    """

    max_z: float
    rms: float
    allowance: float
    noise_rms: float
    families: tuple = ()

    def converged(self, tol: float, tol_rms: float) -> bool:
        """Largest mismatch below *tol* plus the Monte Carlo allowance, rms below *tol_rms*.

        Each family must also pass on its own: its rms below *tol_rms* and
        its bias within ``BIAS_TOL`` plus its Monte Carlo allowance (a pooled
        rms dominated by thousands of second moments can hide means that are
        all off in one direction).
        """
        if not (self.max_z < tol + self.allowance and self.rms < tol_rms):
            return False
        return not any(f.failures(tol_rms) for f in self.families)

    def failing_families(self, tol_rms: float) -> list[str]:
        """One sentence per failing family: its name and why it fails."""
        return [
            f"{f.name}: " + "; ".join(f.failures(tol_rms))
            for f in self.families
            if f.failures(tol_rms)
        ]


def stat_families(n: int, k_potential: bool) -> tuple[tuple[str, slice], ...]:
    """Names and slices of the statistics vector's families (means, second moments, P(K))."""
    n_pair = n * (n - 1) // 2
    out = [("means", slice(0, n)), ("second_moments", slice(n, n + n_pair))]
    if k_potential:
        out.append(("count_distribution", slice(n + n_pair, n + n_pair + n - 2)))
    return tuple((name, sl) for name, sl in out if sl.stop > sl.start)


def _family_bias_sd(z_family, eps_family, per_chain_z) -> float:
    """Monte Carlo sd of ``mean(z) * sqrt(n)`` over one family.

    Independent errors give ``rms(eps)``. Errors that share a sign across the
    family (a chain whose overall activity drifts moves every mean together)
    give more; the spread of the family's mean z between independent chains
    measures that (divided by the median of chi-square(C - 1) / (C - 1), as
    in :func:`chain_error`). The larger of the two is used.
    """
    n = len(z_family)
    sd = float(np.sqrt(np.mean(eps_family**2))) if eps_family is not None else 0.0
    if per_chain_z is not None and per_chain_z.shape[0] >= 2:
        c = per_chain_z.shape[0]
        means = per_chain_z.mean(1)
        var = float(means.var(ddof=1)) / c * (c - 1) / chi2.median(c - 1)
        sd = max(sd, float(np.sqrt(var * n)))
    return sd


def mismatch(m, d, se_cmp, mc_se=None, families=None, per_chain=None) -> Mismatch:
    """:class:`Mismatch` of model statistics *m* (Monte Carlo error *mc_se*) with data *d*.

    *families* is a sequence of ``(name, slice)`` (default: one family "all");
    *per_chain* ``(C, P)`` are the statistics of each independent chain, used
    for the Monte Carlo error of each family's bias.
    """
    z = (m - d) / se_cmp
    eps = None if mc_se is None else mc_se / se_cmp
    zc = None if per_chain is None else (per_chain - d) / se_cmp
    if families is None:
        families = (("all", slice(0, len(z))),)
    fam = []
    mult = np.sqrt(2.0 * np.log(2.0 * max(len(families), 1)))
    for name, sl in families:
        zf = z[sl]
        if zf.size == 0:
            continue
        ef = None if eps is None else eps[sl]
        mean_z2 = float(np.mean(zf**2)) - (0.0 if ef is None else float(np.mean(ef**2)))
        bias_sd = 0.0 if ef is None else _family_bias_sd(zf, ef, None if zc is None else zc[:, sl])
        mean_z = float(np.mean(zf))
        fam.append(
            FamilyMismatch(
                name,
                int(zf.size),
                float(np.max(np.abs(zf))),
                float(np.sqrt(max(mean_z2, 0.0))),
                mean_z,
                mean_z * float(np.sqrt(zf.size)),
                float(mult * bias_sd),
            )
        )
    mean_z2 = float(np.mean(z**2))
    if mc_se is None:
        return Mismatch(float(np.max(np.abs(z))), float(np.sqrt(mean_z2)), 0.0, 0.0, tuple(fam))
    mean_e2 = float(np.mean(eps**2))
    allowance = np.sqrt(2.0 * np.log(2.0 * max(len(z), 1))) * float(np.quantile(eps, 0.9))
    return Mismatch(
        float(np.max(np.abs(z))),
        float(np.sqrt(max(mean_z2 - mean_e2, 0.0))),
        float(allowance),
        float(np.sqrt(mean_e2)),
        tuple(fam),
    )


def data_mismatch(m, stats, coding: str, k_potential: bool, mc_se=None, per_chain=None) -> Mismatch:
    """:class:`Mismatch` of model statistics *m* (Monte Carlo error *mc_se*) with the data's."""
    d = stats_vector(stats["mean"], stats["second"], stats["pk"], k_potential)
    se = stats_vector(stats["se_mean"], stats["se_second"], stats["se_pk"], k_potential)
    n = stats["mean"].shape[0]
    se_cmp = comparison_se(m, d, se, coding, n, stats["n_samples"])
    return mismatch(m, d, se_cmp, mc_se, stat_families(n, k_potential), per_chain)


def measure(m, per_chain, stats, coding: str, k_potential: bool, n_used: int) -> Mismatch:
    """:func:`data_mismatch` of Monte Carlo statistics *m* with per-chain values *per_chain*."""
    n = stats["mean"].shape[0]
    mc_se, _ = chain_error(per_chain, m, coding, n, n_used)
    return data_mismatch(m, stats, coding, k_potential, mc_se, per_chain)


def families_dataset(mis: Mismatch) -> xr.Dataset:
    """Per-family mismatch numbers of *mis* as a Dataset on a ``family`` dim."""
    fam = mis.families
    return xr.Dataset(
        {
            "n": ("family", np.array([f.n for f in fam], np.int64)),
            "max_z": ("family", np.array([f.max_z for f in fam], float)),
            "rms_z": ("family", np.array([f.rms for f in fam], float)),
            "mean_z": ("family", np.array([f.mean_z for f in fam], float)),
            "bias": ("family", np.array([f.bias for f in fam], float)),
            "bias_allowance": ("family", np.array([f.bias_allowance for f in fam], float)),
        },
        coords={"family": [f.name for f in fam]},
        attrs={"bias_tol": BIAS_TOL},
    )
