"""Plain-array numerics under :func:`rgdata.coarse.momentum` (no xarray here).

Why this module is longer than ~500 lines: it is one algorithm, the
eigen-decomposition and mode filtering of momentum-space RG, whose parts
share the ``Spectrum`` object and its LAPACK state (the tridiagonal reduction,
its reflectors, the selective eigenvectors and their compact-WY
back-transform) and the numba kernel that streams the filtered moments;
splitting them would pass that internal state across modules. The
xarray-facing layer is :mod:`rgdata.coarse.momentum`.

* :func:`standardize` centres (and for the correlation matrix, z-scores) each row.
* :func:`spectrum` forms the unit-unit covariance once (a symmetric rank-k
  update, or the time-time Gram matrix when there are fewer samples than
  units), reduces it to tridiagonal form and returns every eigenvalue;
  :meth:`Spectrum.vectors` then computes only the eigenvectors the analysis
  needs (a top block and a bottom block of the spectrum), back-transformed by
  :func:`apply_householder` (compact-WY blocks of reflectors).
* :func:`plan_filters` decides, for each direction, which kept counts are
  built from the kept modes and which from the complement
  ``phi = z - (removed modes)``, so as to compute as few eigenvectors and
  projections as possible.
* :func:`filtered_moments` streams over time chunks and accumulates the second
  and fourth moments of every filtered variable and a pooled histogram of the
  normalized variables. Along a ladder of kept counts each mode is projected
  once: the projection on ``K2`` modes is the one on ``K1`` plus the modes
  ``K1..K2`` (and the complement projections likewise lose modes one range at
  a time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.linalg
from numba import njit, prange
from scipy.linalg import get_blas_funcs, get_lapack_funcs

__all__ = [
    "standardize",
    "Spectrum",
    "spectrum",
    "apply_householder",
    "Step",
    "plan_filters",
    "filtered_moments",
    "accumulate_chunk",
    "accumulate_steps",
    "range_variances",
    "row_mean_square",
]

# rows per block when a per-row reduction needs a float64 temporary: at most 256 rows and
# about 2**18 values (2 MB in float64), so a short, wide array is never copied whole
_ROW_BLOCK = 256
_BLOCK_VALUES = 2**18


def _row_block(n_time: int) -> int:
    return max(1, min(_ROW_BLOCK, _BLOCK_VALUES // max(n_time, 1)))


def standardize(x: np.ndarray, matrix: str, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """Centre each row of *x* (and divide by its standard deviation for ``"correlation"``).

    Returns ``(z, scale)`` where ``scale`` is the per-row standard deviation
    (``ddof=0``) of the input. Centring and scaling run in float64 over
    blocks of rows (at most ~2**18 values, 2 MB) and only the result is
    rounded to *dtype*, so rows with a large offset keep their fluctuations in
    float32 and no full-size float64 temporary is created: the extra memory is
    *z* itself plus a few blocks.

    Raises
    ------
    ValueError
        If a row is constant (zero standard deviation).
    """
    x = np.asarray(x)
    z = np.empty(x.shape, dtype=dtype, order="C")
    scale = np.empty(x.shape[0])
    rows = _row_block(x.shape[1])
    for start in range(0, x.shape[0], rows):
        block = np.array(x[start : start + rows], dtype=np.float64)
        block -= block.mean(axis=1, keepdims=True)
        sd = np.sqrt(np.mean(np.square(block), axis=1))
        scale[start : start + rows] = sd
        if matrix == "correlation":
            with np.errstate(divide="ignore", invalid="ignore"):
                block /= sd[:, None]
        z[start : start + rows] = block
    if np.any(scale == 0):
        rows = np.flatnonzero(scale == 0)
        raise ValueError(
            f"{rows.size} row(s) are constant (zero standard deviation), e.g. rows "
            f"{rows[:5].tolist()}: drop them before momentum-space RG"
        )
    return z, scale


def row_mean_square(z: np.ndarray) -> np.ndarray:
    """``mean(z**2, axis=1)`` accumulated in float64, a block of rows at a time."""
    out = np.empty(z.shape[0])
    rows = _row_block(z.shape[1])
    for start in range(0, z.shape[0], rows):
        block = z[start : start + rows]
        out[start : start + rows] = np.mean(np.square(block, dtype=np.float64), axis=1)
    return out


def _gram_lower(a: np.ndarray, chunk: int | None) -> np.ndarray:
    """Lower triangle of ``a a^T`` (Fortran order) by symmetric rank-k updates (?syrk).

    ``a`` is C-ordered ``(m, k)``; with *chunk* the inner dimension is summed
    in slices of that many columns (OpenBLAS is slow on one very long inner
    dimension). The strict upper triangle of the result is not referenced.
    """
    syrk = get_blas_funcs("syrk", (a,))
    m, k = a.shape
    c = np.zeros((m, m), dtype=a.dtype, order="F")
    step = k if chunk is None else chunk
    for start in range(0, k, step):
        # a C-ordered (m, s) slice is the Fortran-ordered (s, m) matrix a_s^T:
        # trans=1 gives (a_s^T)^T a_s^T = a_s a_s^T without copying the data
        part = np.ascontiguousarray(a[:, start : start + step])
        c = syrk(1.0, part.T, beta=1.0, c=c, trans=1, lower=1, overwrite_c=1)
    return c


def _check_lapack(info: int, name: str) -> None:
    if info != 0:
        raise np.linalg.LinAlgError(f"LAPACK {name} failed (info={info})")


@dataclass
class Spectrum:
    """Eigenvalues of ``C = z z^T / T`` and the reduction that gives its eigenvectors.

    Attributes
    ----------
    eigenvalues : ndarray, shape (r,)
        Descending non-zero eigenvalues (float64; ``r`` is the numerical rank).
    method : str
        ``"eigh_covariance"`` (``N <= T``: the N x N covariance) or
        ``"eigh_gram"`` (``T < N``: the T x T Gram matrix ``z^T z / T``
        has the same non-zero eigenvalues, and ``u = z v / sqrt(T lambda)``
        gives the unit-space eigenvectors at a cost of T^3 instead of N^3).
    """

    eigenvalues: np.ndarray
    method: str
    _z: np.ndarray
    _reduced: np.ndarray  # Householder vectors below the subdiagonal (?sytrd, lower)
    _tau: np.ndarray
    _diag: np.ndarray  # float64 tridiagonal
    _offdiag: np.ndarray

    @property
    def rank(self) -> int:
        return int(self.eigenvalues.size)

    def vectors(self, top: int, bottom: int) -> np.ndarray:
        """Orthonormal eigenvectors of the ``top`` largest and ``bottom`` smallest non-zero modes.

        Returns a Fortran-ordered ``(N, m)`` array whose columns follow the
        descending eigenvalues: modes ``0..top-1``, then ``r-bottom..r-1``
        (``m = top + bottom``; all ``r`` modes, once each, when the two blocks
        overlap). The Householder back-transformation (2 N^2 flops per
        vector) is applied to the requested columns only.
        """
        r = self.rank
        if top + bottom >= r:
            top, bottom = r, 0
        ranges = [(lo, hi) for lo, hi in ((0, top), (r - bottom, r)) if hi > lo]
        dtype = self._z.dtype
        if not ranges:
            return np.zeros((self._z.shape[0], 0), dtype=dtype, order="F")
        size = self._diag.size
        # descending indices [lo, hi) are ascending indices [size - hi, size - lo): the
        # bottom block first in ascending order is, reversed, the top block first
        w = self._tridiagonal_vectors([(size - hi, size - lo) for lo, hi in ranges[::-1]])
        # a reversed view: the back-transformation copies it a block of columns at a time
        w = w[:, ::-1].astype(dtype, copy=False)
        v = self._back_transform(w)
        if self.method == "eigh_covariance":
            return v
        lam = np.concatenate([self.eigenvalues[lo:hi] for lo, hi in ranges])
        t = self._z.shape[1]
        u = self._z @ v
        u /= np.sqrt(t * lam).astype(dtype)[None, :]
        # one re-orthonormalization pass removes the round-off of the division
        u, rr = np.linalg.qr(u)
        u *= np.sign(np.diag(rr))[None, :]
        return np.asfortranarray(u)

    def _tridiagonal_vectors(self, ranges: list[tuple[int, int]]) -> np.ndarray:
        """Eigenvectors of the tridiagonal matrix for ascending index ranges ``[lo, hi)``.

        Columns in ascending order of eigenvalue. Beyond an eighth of the modes all
        eigenvectors come from divide and conquer (``?stevd`` in the working precision,
        gemm-rich and fast where eigenvalues cluster); fewer come from MRRR
        (``dstemr``, float64) for the requested ranges only.
        """
        d, e = self._diag, self._offdiag
        size = d.size
        if size == 1:
            return np.ones((1, 1))
        needed = sum(hi - lo for lo, hi in ranges)
        if needed > size // 8:
            dtype = self._z.dtype
            _, w = scipy.linalg.eigh_tridiagonal(
                d.astype(dtype), e.astype(dtype), lapack_driver="stevd"
            )
            return np.concatenate([w[:, lo:hi] for lo, hi in ranges], axis=1)
        blocks = []
        for lo, hi in ranges:
            try:
                _, w = scipy.linalg.eigh_tridiagonal(
                    d, e, select="i", select_range=(lo, hi - 1), lapack_driver="stemr"
                )
            except np.linalg.LinAlgError:  # pragma: no cover - MRRR failure is rare
                _, w = scipy.linalg.eigh_tridiagonal(
                    d, e, select="i", select_range=(lo, hi - 1), lapack_driver="stebz"
                )
            blocks.append(w)
        return np.concatenate(blocks, axis=1)

    def _back_transform(self, w: np.ndarray) -> np.ndarray:
        """``Q w`` for the orthogonal ``Q`` of the tridiagonal reduction (lower ?sytrd).

        Returns a Fortran-ordered array. See :func:`apply_householder`.
        """
        size = w.shape[0]
        if size == 1:
            return np.asfortranarray(w)
        # lower ?sytrd: Q = H(1) ... H(n-1), H(i) has its vector in column i below the
        # subdiagonal, so Q acts on rows 1..n-1 as the QR-type product of A[1:, :n-1]
        out = np.empty(w.shape, dtype=w.dtype, order="F")
        out[0] = w[0]
        out[1:] = apply_householder(self._reduced[1:, : size - 1], self._tau[: size - 1], w[1:])
        return out


# largest number of reflectors per compact-WY block of :func:`apply_householder`
# (blocks grow with the matrix, m // 16, from LAPACK's 32), and columns of the
# transformed matrix per pass
_WY_BLOCK = 256
_WY_COLUMNS = 2048


def _wy_factor(v: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """Upper-triangular ``T`` with ``H(0) H(1) ... H(k-1) = I - V T V^T`` (forward, columnwise).

    ``T^{-1} = diag(1 / tau) + striu(V^T V)`` (Joffrain et al. 2006), inverted by ?trtri;
    with an identity reflector (``tau_i = 0``) LAPACK ?larft's recurrence
    ``T[i, i] = tau_i``, ``T[:i, i] = -tau_i T[:i, :i] V[:, :i]^T v_i`` is used instead.
    """
    k = tau.size
    gram = v.T @ v
    if np.all(tau != 0):
        inv = np.triu(gram, 1)
        inv[np.diag_indices(k)] = 1.0 / tau
        trtri = get_lapack_funcs("trtri", (inv,))
        t, info = trtri(inv, lower=0)
        _check_lapack(info, "trtri")
        return np.triu(t)
    t = np.zeros((k, k), dtype=v.dtype)
    for i in range(k):
        t[i, i] = tau[i]
        if i:
            t[:i, i] = -tau[i] * (t[:i, :i] @ gram[:i, i])
    return t


def apply_householder(
    reflectors: np.ndarray,
    tau: np.ndarray,
    c: np.ndarray,
    *,
    block: int | None = None,
    columns: int = _WY_COLUMNS,
) -> np.ndarray:
    """``Q c`` for ``Q = H(0) H(1) ... H(k-1)`` stored as by LAPACK ?geqrf (what ?ormqr does).

    Parameters
    ----------
    reflectors : ndarray, shape (m, k), k <= m
        ``H(i) = I - tau_i v_i v_i^T`` with ``v_i[:i] = 0``, ``v_i[i] = 1`` and
        ``v_i[i+1:] = reflectors[i+1:, i]``; the entries on and above the diagonal
        are not referenced.
    tau : ndarray, shape (k,)
    c : ndarray, shape (m, p)
    block : int, optional
        Reflectors per compact-WY block; default ``m // 16`` clipped to [32, 256].
    columns : int
        Columns of *c* transformed per pass.

    Returns
    -------
    ndarray, shape (m, p), Fortran order, dtype of *c*.

    Notes
    -----
    LAPACK's ?ormqr applies the reflectors 32 at a time, so the whole ``m x p``
    matrix streams through memory ``k / 32`` times; for thousands of vectors that
    is memory-bound (5000 vectors at N = 10,000 in float32: ?ormqr 14.7-15.4 s,
    this function 10.2-10.4 s on two cores, same process). Here up to *block*
    reflectors at a time form one compact-WY factor ``I - V T V^T`` (Schreiber
    and Van Loan), the blocks are applied last to first, and *c* is processed
    *columns* at a time so the temporaries stay small: the same ``2 m^2 p``
    flops plus ``m k block`` for the factors. Below a few thousand rows it
    is up to ~1.5x slower than ?ormqr (milliseconds: 250 vectors of 500 rows).
    """
    m, k = reflectors.shape
    dtype = c.dtype
    if block is None:
        block = int(np.clip(m // 16, 32, _WY_BLOCK))
    blocks = []
    for j0 in range(0, k, block):
        j1 = min(j0 + block, k)
        nb = j1 - j0
        v = np.array(reflectors[j0:, j0:j1], dtype=dtype, order="C")
        top = v[:nb]
        top[np.triu_indices(nb, 1)] = 0
        top[np.diag_indices(nb)] = 1
        blocks.append((j0, v, _wy_factor(v, np.asarray(tau[j0:j1], dtype=dtype))))
    out = np.empty((m, c.shape[1]), dtype=dtype, order="F")
    for c0 in range(0, c.shape[1], columns):
        x = np.array(c[:, c0 : c0 + columns], dtype=dtype, order="C")
        for j0, v, t in reversed(blocks):
            part = x[j0:]
            part -= v @ (t @ (v.T @ part))
        out[:, c0 : c0 + columns] = x
    return out


def spectrum(z: np.ndarray, *, chunk: int | None = None) -> Spectrum:
    """All eigenvalues of ``C = z z^T / T`` and a tridiagonal reduction for its eigenvectors.

    Parameters
    ----------
    z : ndarray, shape (N, T)
        Centred data (C order).
    chunk : int, optional
        Time points per symmetric rank-k update of the covariance.

    Returns
    -------
    Spectrum
        Non-zero eigenvalues (descending) and :meth:`Spectrum.vectors`.

    Notes
    -----
    ``C`` (or the Gram matrix ``z^T z / T`` when ``T < N``) is formed by
    ``?syrk`` (half the flops of a general product), reduced to tridiagonal
    form by ``?sytrd`` in the working precision, and all eigenvalues come
    from ``dsterf`` on the float64 tridiagonal. At most ``min(N, T - 1)``
    modes are non-zero (the data are centred); beyond that, exactly collinear
    units give zero modes that come out at the round-off level, a few
    ``eps * lambda_max``; those are dropped.
    """
    n, t = z.shape
    eps = np.finfo(z.dtype).eps
    if n <= t:
        if chunk is None:
            chunk = max(2048, 2**22 // n)
        c = _gram_lower(z, chunk)
        method = "eigh_covariance"
    else:
        c = _gram_lower(np.ascontiguousarray(z.T), None)
        method = "eigh_gram"
    c /= t
    size = c.shape[0]
    sytrd, sytrd_lwork = get_lapack_funcs(("sytrd", "sytrd_lwork"), (c,))
    lwork, info = sytrd_lwork(size, lower=1)
    _check_lapack(info, "sytrd (workspace query)")
    reduced, d, e, tau, info = sytrd(c, lower=1, lwork=int(lwork), overwrite_a=1)
    _check_lapack(info, "sytrd")
    d = d.astype(np.float64)
    e = e.astype(np.float64)
    if size > 1:
        lam, info = scipy.linalg.lapack.dsterf(d, e)
        _check_lapack(info, "sterf")
    else:
        lam = d.copy()
    lam = lam[::-1]
    # a size-dependent factor here would drop genuine small modes in float32, where
    # eps * lambda_max can exceed them for thousands of units
    tol = max(lam[0], 0.0) * eps * 20
    keep = lam > tol
    keep[min(n, t - 1) :] = False
    lam = np.ascontiguousarray(lam[keep])
    return Spectrum(lam, method, z, reduced, tau, d, e)


class Step(NamedTuple):
    """One filtered level of a streaming plan.

    ``op`` is ``"data"`` (all modes: the variables themselves), ``"project"``
    (``phi = U[:, c0:c1] y[c0:c1]``), ``"add"`` (``phi += ...``),
    ``"complement"`` (``phi = z - U[:, c0:c1] y[c0:c1]``) or ``"remove"``
    (``phi -= ...``); ``c0:c1`` are columns of the computed vectors and
    ``slot`` is the output row the moments of ``phi`` go to.
    """

    slot: int
    op: str
    c0: int
    c1: int


@dataclass
class DirectionPlan:
    """The streaming steps of one direction.

    ``slots[i]`` is the output row of the level keeping ``n_kept[i]`` modes;
    ``steps`` (see :class:`Step`) fill those rows.
    """

    direction: str
    n_kept: np.ndarray
    slots: np.ndarray
    steps: list[Step]


def _needs(direction: str, k_direct: int, k_comp: int, rank: int) -> tuple[int, int]:
    """(top, bottom) vector counts for a direction with direct levels up to *k_direct*
    and complement levels down to *k_comp* (``rank`` when none)."""
    removed = rank - k_comp
    if direction == "remove_low":
        return k_direct, removed
    return removed, k_direct


def plan_filters(
    n_kept: np.ndarray, rank: int, directions: Sequence[str], n: int, t: int
) -> tuple[int, int, list[DirectionPlan]]:
    """Choose, per direction, which levels use the kept modes and which the complement.

    Parameters
    ----------
    n_kept : ndarray of int
        Ascending distinct kept counts (``<= rank``), the same for every direction.
    rank : int
        Number of non-zero modes.
    directions : sequence of {"remove_low", "remove_high"}
    n, t : int
        Units and time points (weights of the cost model).

    Returns
    -------
    top, bottom : int
        Eigenvectors to compute: the ``top`` largest and ``bottom`` smallest
        non-zero modes (see :meth:`Spectrum.vectors` for the column order).
    plans : list of DirectionPlan
        Slots are numbered consecutively over the directions.

    Notes
    -----
    For the levels ``K_1 < ... < K_L`` below the rank, a direction builds
    ``K_1..K_j`` from the kept modes (incrementally, needing the first
    ``K_j`` modes in its kept order) and ``K_{j+1}..K_L`` from the complement
    ``phi = z - U_removed y_removed`` (needing the ``rank - K_{j+1}`` modes
    removed at ``K_{j+1}``). ``remove_low`` keeps the top of the spectrum
    first, ``remove_high`` the bottom, so each direction needs a top block
    and a bottom block; the split of every direction is chosen to minimize
    ``m (N + T) + T * (reconstructed modes)``, with ``m`` the size of the
    union of the blocks (each vector costs a back-transformation, ``2 N^2``
    flops, and a projection, ``2 N T`` per pass; each reconstructed mode
    ``2 N T``). On the default ladder ``1, 1/2, 1/4, ...`` ``remove_low``
    alone needs the top half of the modes; ``"both"`` needs three quarters
    of them (one direction builds its last level as ``z`` minus the half
    kept by the other).
    """
    below = [int(k) for k in n_kept if k < rank]
    n_below = len(below)
    options = []
    for j in range(n_below + 1):
        k_direct = below[j - 1] if j > 0 else 0
        k_comp = below[j] if j < n_below else rank
        options.append((j, k_direct, k_comp))
    best = None
    for choice in np.ndindex(*(len(options),) * len(directions)):
        top = bottom = recon = 0
        for which, idx in zip(directions, choice, strict=True):
            _, k_direct, k_comp = options[idx]
            a, b = _needs(which, k_direct, k_comp, rank)
            top, bottom = max(top, a), max(bottom, b)
            recon += k_direct + rank - k_comp
        m = min(rank, top + bottom)
        cost = m * (n + t) + t * recon
        # ties go to the plan with more levels built from the kept modes
        key = (cost, -sum(choice))
        if best is None or key < best[0]:
            best = (key, choice, top, bottom)
    _, choice, top, bottom = best
    if top + bottom >= rank:
        top, bottom = rank, 0

    def col(lo: int, hi: int) -> tuple[int, int]:
        """Columns of the computed vectors for descending mode indices [lo, hi)."""
        if hi <= top:
            return lo, hi
        shift = rank - bottom - top
        if lo < rank - bottom:  # the planner never asks for a range across both blocks
            raise RuntimeError(
                f"internal error: mode range [{lo}, {hi}) spans the top {top} and bottom "
                f"{bottom} of {rank} modes"
            )
        return lo - shift, hi - shift

    plans = []
    slot = 0
    for which, idx in zip(directions, choice, strict=True):
        j = options[idx][0]
        levels = [int(k) for k in n_kept]
        slots = np.arange(slot, slot + len(levels))
        slot += len(levels)
        steps: list[Step] = []

        def kept_range(k_small: int, k_big: int, which=which) -> tuple[int, int]:
            """Modes kept at k_big but not at k_small (descending indices)."""
            if which == "remove_low":
                return k_small, k_big
            return rank - k_big, rank - k_small

        for pos, k in enumerate(levels):
            if k >= rank:
                steps.append(Step(int(slots[pos]), "data", 0, 0))
        # kept modes, ascending K
        prev = 0
        for pos in range(j):
            lo, hi = kept_range(prev, below[pos])
            steps.append(Step(int(slots[pos]), "project" if pos == 0 else "add", *col(lo, hi)))
            prev = below[pos]
        # complement, descending K
        prev = rank
        for pos in range(n_below - 1, j - 1, -1):
            lo, hi = kept_range(below[pos], prev)
            op = "complement" if pos == n_below - 1 else "remove"
            steps.append(Step(int(slots[pos]), op, *col(lo, hi)))
            prev = below[pos]
        plans.append(DirectionPlan(which, np.asarray(levels), slots, steps))
    return top, bottom, plans


@njit(cache=True, parallel=True)
def accumulate_chunk(phi, inv_sd, lo, width, m2, m4, hist):  # pragma: no cover - numba
    """Add one time chunk of filtered variables to the moment sums and histograms.

    ``phi`` is (N, Tc); ``inv_sd`` (N,) is 1/sd of each variable (0 skips the
    variable from the histogram); ``m2``, ``m4`` (N,) and ``hist``
    (N, n_bins + 1) are float64 accumulators, the last histogram column
    counting values outside the range. Rows are processed in parallel.
    """
    n, t = phi.shape
    n_bins = hist.shape[1] - 1
    inv_width = 1.0 / width
    for i in prange(n):
        s2 = 0.0
        s4 = 0.0
        w = inv_sd[i] * inv_width
        shift = -lo * inv_width
        row = hist[i]
        for j in range(t):
            v = np.float64(phi[i, j])
            v2 = v * v
            s2 += v2
            s4 += v2 * v2
            if w > 0.0:
                b = v * w + shift
                if b >= 0.0 and b < n_bins:
                    row[np.int64(b)] += 1.0
                else:
                    row[n_bins] += 1.0
        m2[i] += s2
        m4[i] += s4


def accumulate_steps(
    zc: np.ndarray | None,
    y: np.ndarray | None,
    vectors: np.ndarray,
    steps: Sequence[Step],
    inv_sd: np.ndarray,
    lo: float,
    width: float,
    sums: tuple[np.ndarray, np.ndarray, np.ndarray],
    buffer: np.ndarray,
    progress_bar=None,
) -> None:
    """Add one time chunk of every step's filtered variables to the moment sums.

    ``zc`` (N, Tc) is the chunk of data (read by ``"data"`` and complement steps only;
    None when the plan has neither), ``y`` (m, Tc) its projections on the columns of
    *vectors* (N, m, Fortran order); ``inv_sd`` (S, N) as in :func:`accumulate_chunk`;
    ``sums`` the ``(m2, m4, hist)`` accumulators of shapes (S, N), (S, N) and
    (S, N, n_bins + 1); *buffer* holds at least ``N * Tc`` values of the working dtype.
    The chunk's moments are those of ``filtered_moments`` whatever the data's own chunking:
    a filtered variable at time ``t`` needs only ``z(t)`` and ``y(t)``.
    """
    m2, m4, hist = sums
    n, tc = vectors.shape[0], (zc if zc is not None else y).shape[1]
    phi = buffer[: n * tc].reshape(n, tc)
    gemm = get_blas_funcs("gemm", (vectors,))
    for step in steps:
        if step.op == "data":
            cur = zc
        else:
            if step.op == "complement":
                np.copyto(phi, zc)
            if step.c1 > step.c0 or step.op == "project":
                # phi^T (Fortran (tc, N)) = alpha y_s^T U_s^T + beta phi^T, in place
                alpha = -1.0 if step.op in ("complement", "remove") else 1.0
                beta = 0.0 if step.op == "project" else 1.0
                out = gemm(
                    alpha,
                    y[step.c0 : step.c1].T,
                    vectors[:, step.c0 : step.c1],
                    beta=beta,
                    c=phi.T,
                    trans_b=1,
                    overwrite_c=1,
                )
                if not np.shares_memory(out, phi):  # pragma: no cover - f2py copied
                    phi[...] = out.T
            cur = phi
        slot = step.slot
        accumulate_chunk(cur, inv_sd[slot], lo, width, m2[slot], m4[slot], hist[slot])
        if progress_bar is not None:
            progress_bar.update(1)


def filtered_moments(
    z: np.ndarray,
    vectors: np.ndarray,
    steps: Sequence[Step],
    variances: np.ndarray,
    edges: np.ndarray,
    *,
    chunk_size: int,
    progress_bar=None,
) -> dict[str, np.ndarray]:
    """Moments and pooled histogram of the data filtered by each step of a plan.

    Parameters
    ----------
    z : ndarray, shape (N, T)
        Centred (or z-scored) data.
    vectors : ndarray, shape (N, m)
        Orthonormal modes (Fortran order); each step uses a column range.
    steps : sequence of Step
        Executed in order within each time chunk (see :class:`Step`); a
        ``"project"`` or ``"complement"`` step starts a new chain, ``"add"``
        and ``"remove"`` continue the previous one.
    variances : ndarray, shape (S, N)
        Expected variance of each filtered variable at each slot (used to
        normalize the histogram before the data are seen); zero marks a
        variable with no weight on the kept modes.
    edges : ndarray, shape (n_bins + 1,)
        Uniform histogram edges for the normalized variables.
    chunk_size : int
        Time points per chunk (bounds the memory to a few N x chunk arrays).

    Returns
    -------
    dict
        ``m2``, ``m4`` (S, N): time averages of ``phi**2`` and ``phi**4``;
        ``hist`` (S, n_bins): counts; ``outside`` (S,): counts out of range.
    """
    n, t = z.shape
    n_slots = variances.shape[0]
    n_bins = len(edges) - 1
    lo = float(edges[0])
    width = float(edges[1] - edges[0])
    m2 = np.zeros((n_slots, n))
    m4 = np.zeros((n_slots, n))
    hist = np.zeros((n_slots, n, n_bins + 1))
    safe = np.where(variances > 0, variances, 1.0)
    inv_sd = np.where(variances > 0, 1.0 / np.sqrt(safe), 0.0)
    vectors = np.asfortranarray(vectors, dtype=z.dtype)
    uses_vectors = any(s.op != "data" for s in steps)
    vt = vectors.T  # C-ordered (m, N)
    buffer = np.empty(n * min(chunk_size, t), dtype=z.dtype)
    for start in range(0, t, chunk_size):
        zc = np.ascontiguousarray(z[:, start : start + chunk_size])
        y = vt @ zc if uses_vectors else None
        accumulate_steps(
            zc, y, vectors, steps, inv_sd, lo, width, (m2, m4, hist), buffer, progress_bar
        )
    per_unit = hist[:, :, :n_bins]
    return {
        "m2": m2 / t,
        "m4": m4 / t,
        "hist": per_unit.sum(axis=1),
        "outside": hist[:, :, n_bins].sum(axis=1),
    }


def range_variances(vectors: np.ndarray, lam: np.ndarray, c0: int, c1: int) -> np.ndarray:
    """``sum_{k in c0:c1} vectors[:, k]**2 * lam[k]`` in float64, a block of columns at a time.

    ``lam`` holds the eigenvalue of each column of *vectors*.
    """
    out = np.zeros(vectors.shape[0])
    for start in range(c0, c1, 512):
        stop = min(c1, start + 512)
        block = np.square(vectors[:, start:stop], dtype=np.float64)
        out += block @ lam[start:stop]
    return out
