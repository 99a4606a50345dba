"""A Monte Carlo sample of a pairwise model, reweighted to nearby parameters."""

from __future__ import annotations

import numpy as np

from .._threads import ThreadChooser
from ._codings import moments01_to, params_to01, stats_vector, unpack
from ._pairwise_pl import to_csr
from ._reweight import csr_energies, csr_group_sorted, csr_moments, csr_row_hashes, csr_take


class ReweightedSample:
    """Importance reweighting of one Monte Carlo sample to nearby parameters.

    For samples x_s of the model theta, the model theta + delta has
    ``log Z(theta + delta) - log Z(theta) = log mean_s exp(delta·f(x_s))``
    and moments ``<f>`` = weighted means with weights ``exp(delta·f(x_s))``
    (Ferrenberg-Swendsen histogram reweighting). Energies and moments are
    computed on the 0/1 active-unit lists; a change written in the ±1 coding
    is translated to 0/1 (a linear map plus a constant that cancels).
    Identical patterns are stored once with their multiplicity (sparse
    neural samples repeat: about 40 % of 4 million retina patterns), so
    weights are per distinct pattern and include log(multiplicity).
    *n_chains* equal chain-major blocks of rows give :attr:`per_chain`, the
    statistics of each chain's share (for the Monte Carlo error).

    The energies and moments of the distinct patterns (every evaluation of
    a reweighted objective) run on one thread or on all of numba's,
    whichever one :class:`.ThreadChooser` for both kernels measures faster
    now (the parallel kernels only while the other cores are free); their
    results do not depend on the thread count (one pattern per iteration;
    moments in fixed parts added in a fixed order). One chooser, not one
    per kernel: a chooser checks the free cores when it first tries its
    parallel kernel, and right after the other kernel's parallel call
    numba's own worker threads still count as running, so a second
    chooser found the cores busy and stayed serial (measured: the moments
    on one thread in most iterations of the 160-unit retina fit).
    """

    def __init__(
        self, samples01: np.ndarray, coding: str, k_potential: bool, n_chains: int = 1
    ) -> None:
        indptr, idx = to_csr(samples01)
        self.n = samples01.shape[1]
        self.coding = coding
        self.k_potential = k_potential
        self.n_samples = samples01.shape[0]
        self.indptr, self.idx, self.k = indptr, idx, np.diff(indptr)
        per = self.n_samples // n_chains
        self.per_chain = np.array(
            [
                self._chain_moments(block_weights(self.n_samples, c * per, per))
                for c in range(n_chains)
            ]
        )
        hashes = csr_row_hashes(indptr, idx)
        first, counts = csr_group_sorted(indptr, idx, np.argsort(hashes, kind="stable"), hashes)
        k = self.k[first]
        ptr = np.zeros(len(first) + 1, np.int64)
        np.cumsum(k, out=ptr[1:])
        out = np.empty(ptr[-1], idx.dtype)
        csr_take(indptr, idx, first, ptr, out)
        self.indptr, self.idx, self.k = ptr, out, k
        self.count = counts.astype(np.float64)
        self._log_count = np.log(self.count)
        self._e = np.empty(len(first))
        #: serial or parallel energies and moments, by measured speed
        self.threads = ThreadChooser()

    def _run(self, kernel, *args):
        """*kernel* (numba, parallel) on the threads the chooser picks; work: stored units."""
        return self.threads.run_kernel(float(self.idx.size + self.k.size), kernel, *args)

    def log_weights(self, delta: np.ndarray) -> np.ndarray:
        """Log weight of each distinct pattern under the change *delta* (incl. multiplicity)."""
        n = self.n
        dh, dJ, dV = unpack(delta, n, self.k_potential)
        dh01, dJ01 = params_to01(dh, dJ, self.coding)
        dJ01 = np.ascontiguousarray(dJ01)
        self._run(csr_energies, self.indptr, self.idx, dh01, dJ01, self._e)
        log_w = self._e + self._log_count
        if dV is not None:
            log_w += dV[self.k]
        return log_w

    def log_mean_weight(self, log_w: np.ndarray) -> float:
        """``log mean_s exp(delta·f(x_s))`` over all samples, from :meth:`log_weights`."""
        top = log_w.max()
        return float(top + np.log(np.exp(log_w - top).sum() / self.n_samples))

    def ess_fraction(self, log_w: np.ndarray) -> float:
        """Effective sample size ``(Σ_s w_s)^2 / Σ_s w_s^2`` over the number of samples."""
        w = normalized(log_w)
        return float(1.0 / np.sum(w * w / self.count) / self.n_samples)

    def moments(self, w: np.ndarray) -> np.ndarray:
        """Statistics vector in the model's coding under normalized weights *w*."""
        m01, p01 = self._run(csr_moments, self.indptr, self.idx, w, self.n, 8)
        return self._vector(m01, p01, w)

    def _chain_moments(self, w: np.ndarray) -> np.ndarray:
        """:meth:`moments` of the rows as drawn (one chain's block of *w* non-zero), one thread."""
        return self._vector(*csr_moments(self.indptr, self.idx, w, self.n, 8), w)

    def _vector(self, m01: np.ndarray, p01: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Statistics vector from weighted 0/1 sums *m01*, *p01* and the weights *w*."""
        mean, second = moments01_to(m01, p01, 1.0, self.coding)
        pk = np.bincount(self.k, weights=w, minlength=self.n + 1)
        return stats_vector(mean, second, pk, self.k_potential)


def block_weights(n: int, start: int, size: int) -> np.ndarray:
    """Weights 1/size on rows start..start+size-1 of n rows, 0 elsewhere."""
    w = np.zeros(n)
    w[start : start + size] = 1.0 / size
    return w


def normalized(log_w: np.ndarray) -> np.ndarray:
    """Weights exp(log_w) normalized to sum 1 (computed without overflow)."""
    w = np.exp(log_w - log_w.max())
    return w / w.sum()
