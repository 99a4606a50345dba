"""The correlations PRG pairs by, computed so the same data give the same numbers on any machine.

Greedy pairing breaks ties by index, so pairs change whenever two
correlations that are equal in exact arithmetic come out unequal in floating
point, and floating-point products depend on the BLAS kernel (AVX2 and
AVX-512 kernels, ``syrk`` and ``gemm``, block shapes sum in different orders).
Binary spike trains are full of such ties. Two paths keep the numbers
machine-independent:

* **Integer-valued data** (spikes, counts; at level 0 whatever the
  normalization, since a correlation does not see a per-row affine
  normalization; at every level with ``normalization="none"``): the sums
  ``S_i``, ``Q_i = sum x_i^2`` and co-occurrences ``G_ij = sum x_i x_j`` are
  integers, and a BLAS product of integers is exact in any summation order as
  long as every partial sum is below ``2^24`` (float32) or ``2^53`` (float64).
  The correlation ``(T G_ij - S_i S_j) / sqrt((T Q_i - S_i^2)(T Q_j - S_j^2))``
  then takes correctly rounded elementwise operations only: identical bits
  everywhere, and equal counts give equal correlations (exact ties).
* **Other data**: rows standardized in float64 and multiplied in float64
  (round-off ~1e-13), then rounded to :data:`TIE_DECIMALS` decimals, so
  values equal in exact arithmetic compare equal unless one of them lies
  within ~1e-13 of a rounding boundary (probability ~1e-7 per pair).

On the integer path, rows of small non-negative integers (binary spikes and
their first pair sums) that are paired densely have their co-occurrences
counted by bit counting (:mod:`rgdata.coarse._prg_bits`): the same integers as
the BLAS product, bit for bit, at a fraction of the work.

Correlations are rounded to :data:`TIE_DECIMALS` decimals on both paths:
two correlations closer than ``1e-6`` (far below any correlation's sampling
error) count as tied, and ties go to the smaller index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from .._gram import gram
from ._prg_bits import bit_planes, n_planes, plane_gram, plane_moments
from ._prg_kernels import finish_rows
from ._prg_parallel import map_rows
from ._prg_stats import standardize_rows

__all__ = [
    "TIE_DECIMALS",
    "PairingRows",
    "exact_product_dtype",
    "finish_correlations",
    "pairing_rows",
    "scratch_view",
    "similarity",
    "dense_similarity",
]

#: correlations are rounded to this many decimals before pairing (closer values are ties)
TIE_DECIMALS = 6
#: below this many rows, one BLAS thread (thread start-up and spinning cost more)
_THREADED_MIN = 1024
#: stands in for the sums and spreads of rows off the exact path
_NO_ROWS = np.zeros(0)


@dataclass
class PairingRows:
    """Rows prepared for similarities: raw integers with exact moments, or float64 z-scores.

    Packed rows (``planes`` set, ``values`` None) hold the integers as bit
    planes (:func:`rgdata.coarse._prg_bits.bit_planes`) for
    :func:`dense_similarity`; ``product_dtype`` is then the dtype of the
    exact co-occurrence counts.
    """

    values: np.ndarray | None  # (m, T): integers in an exact product dtype, or float64 z-scores
    sums: np.ndarray | None  # S_i (float64, exact integers) on the integer path
    spread: np.ndarray | None  # sqrt(T Q_i - S_i^2) on the integer path
    n_time: int
    planes: np.ndarray | None = None  # (planes, m, words) uint64, packed integer rows
    product_dtype: str | None = None  # dtype of the packed rows' exact products

    @property
    def exact(self) -> bool:
        """Whether the rows take the exact integer path."""
        return self.sums is not None

    def take(self, idx: np.ndarray | slice) -> PairingRows:
        """The rows *idx* (a slice gives views, no copy)."""
        if not self.exact:
            return PairingRows(self.values[idx], None, None, self.n_time)
        values = None if self.values is None else self.values[idx]
        planes = None if self.planes is None else self.planes[:, idx]
        return PairingRows(
            values,
            self.sums[idx],
            self.spread[idx],
            self.n_time,
            planes,
            self.product_dtype,
        )


def exact_product_dtype(integer: bool, top: float, t_len: int) -> str | None:
    """The dtype whose products are exact for integer rows bounded by *top*, or None.

    None when the rows are not all integers or too large for exact sums
    (``T * G_ij - S_i S_j`` must also be an exact float64 integer).
    """
    bound = top * top * t_len
    if not integer or bound * t_len >= 2.0**53:
        return None
    return "float32" if bound < 2.0**24 else "float64"


def _all_integer(x: np.ndarray) -> bool:
    if not np.issubdtype(x.dtype, np.floating):
        return np.issubdtype(x.dtype, np.integer) or x.dtype == bool
    # early exit on the first non-integer chunk; the first row alone first (normalized
    # variables fail there, without a 256-row temporary)
    starts = [0, *range(1, x.shape[0], 256)]
    for start, stop in zip(starts, [*starts[1:], x.shape[0]], strict=True):
        part = x[start:stop]
        if not np.array_equal(part, np.rint(part)):
            return False
    return True


def _row_moments(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact float64 sums and sums of squares of integer rows (a float64 chunk at a time)."""
    sums = np.empty(values.shape[0])
    squares = np.empty(values.shape[0])
    for start in range(0, values.shape[0], 256):
        wide = values[start : start + 256].astype(np.float64)
        sums[start : start + 256] = wide.sum(axis=1)  # integers below 2^53: exact in any order
        squares[start : start + 256] = np.einsum("ij,ij->i", wide, wide)
    return sums, squares


def resolve_exact(x: np.ndarray, exact: str | None = "auto") -> str | None:
    """The product dtype of the exact integer path for rows *x*, or None (float64 path).

    *exact* other than ``"auto"`` is returned as given (decided elsewhere).
    """
    if exact != "auto":
        return exact
    integer = x.size > 0 and _all_integer(x)  # stops at the first non-integer chunk
    top = max(abs(float(x.max())), abs(float(x.min()))) if integer else 0.0  # no copy
    return exact_product_dtype(integer, top, x.shape[1])


def pairing_rows(
    x: np.ndarray,
    exact: str | None = "auto",
    packed: bool = False,
    scratch: np.ndarray | None = None,
) -> PairingRows:
    """Prepare the rows of *x* (``(m, T)``) for :func:`similarity`.

    *exact* is ``"auto"`` (decide from *x*), the product dtype of the exact
    integer path (decided elsewhere, e.g. over all chunks of a dask array), or
    None (the float64 path). With *packed*, integer rows with values in
    ``0 .. 2**MAX_PLANES - 1`` are packed into bit planes instead (for
    :func:`dense_similarity` only: ``values`` is then None). *scratch*: a
    free C-contiguous buffer that the float64 z-scores are written into when
    they fit (:func:`scratch_view`; e.g. the free rows of PRG's buffer of
    normalized variables, whose pages are already mapped), else a new array.

    Examples
    --------
    >>> rows = pairing_rows(np.array([[0, 1, 1, 0], [0, 1, 0, 0], [1, 0, 0, 1.0]]))
    >>> rows.exact
    True
    >>> similarity(rows, rows).round(4).tolist()
    [[1.0, 0.5774, -1.0], [0.5774, 1.0, -0.5774], [-1.0, -0.5774, 1.0]]
    """
    x = np.asarray(x)
    t_len = x.shape[1]
    exact = resolve_exact(x, exact)
    if exact is None:
        z = standardize_rows(x, np.dtype(np.float64), out=scratch_view(scratch, x.shape))
        return PairingRows(z, None, None, t_len)
    planes = n_planes(x) if packed else None
    if planes is not None:
        packed_rows = bit_planes(x, planes)
        sums, squares = plane_moments(packed_rows)
        spread = np.sqrt(np.maximum(t_len * squares - sums * sums, 0.0))
        return PairingRows(None, sums, spread, t_len, packed_rows, exact)
    values = np.ascontiguousarray(x, dtype=exact)
    sums, squares = _row_moments(values)
    spread = np.sqrt(np.maximum(t_len * squares - sums * sums, 0.0))
    return PairingRows(values, sums, spread, t_len)


def scratch_view(buffer: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    """A float64 array of *shape* on the first bytes of C-contiguous *buffer*, or None.

    None when there is no buffer, it is too small, or the float64 view would
    not be 8-byte aligned.

    Examples
    --------
    >>> buf = np.zeros((4, 6), dtype=np.float32)
    >>> scratch_view(buf, (2, 6)).shape
    (2, 6)
    >>> scratch_view(buf, (3, 6)) is None
    True
    """
    n_bytes = 8 * shape[0] * shape[1]
    if buffer is None or not buffer.flags.c_contiguous or buffer.nbytes < n_bytes:
        return None
    raw = buffer.reshape(-1).view(np.uint8)[:n_bytes]
    if raw.ctypes.data % 8:
        return None
    return raw.view(np.float64).reshape(shape)


def finish_correlations(
    prod: np.ndarray, a: PairingRows, b: PairingRows, *, outer: bool = True
) -> np.ndarray:
    """Products of rows to rounded correlations (float64; in place when *prod* is float64).

    *prod* holds ``a.values @ b.values.T`` (``outer=True``) or, for edges
    ``(a[e], b[e])``, the row-wise dot products (``outer=False``). The one
    formula of every path (dense, sparse, dask, approximate candidates).
    """
    prod = prod.astype(np.float64, copy=False)
    if a.exact:
        sa, sb, pa, pb = a.sums, b.sums, a.spread, b.spread
        if outer:
            sa, sb, pa, pb = sa[:, None], sb[None, :], pa[:, None], pb[None, :]
        prod *= a.n_time
        prod -= sa * sb
        denom = pa * pb
        np.divide(prod, denom, out=prod, where=denom > 0)
        prod[denom == 0] = 0.0
    else:
        prod *= 1.0 / a.n_time
    return np.round(prod, TIE_DECIMALS, out=prod)


def similarity(a: PairingRows, b: PairingRows) -> np.ndarray:
    """Rounded correlations (float64) of the rows of *a* with the rows of *b*.

    The same numbers for any split of the rows into blocks, any BLAS kernel
    and any thread count (see the module docstring). Constant rows have
    correlation 0 with everything.
    """
    m = a.values.shape[0]
    with threadpool_limits(limits=1 if m < _THREADED_MIN else None, user_api="blas"):
        prod = a.values @ b.values.T
    return finish_correlations(prod, a, b)


def dense_similarity(rows: PairingRows, dtype: str) -> np.ndarray:
    """The ``m x m`` matrix of :func:`similarity`, stored in *dtype*.

    One symmetric product ``v @ v.T`` (:func:`rgdata._gram.gram`: BLAS
    ``syrk``, half the work of a general product, and blocks above 8,192
    rows, where numpy's threaded ``syrk`` can crash) in the rows' dtype, or
    the same exact integers counted from packed rows
    (:func:`rgdata.coarse._prg_bits.plane_gram`), finished in place
    (:func:`~rgdata.coarse._prg_kernels.finish_rows`: the operations of
    :func:`finish_correlations`, bit for bit, on numba's threads). On the float64
    path with *dtype* float32 the float64 product is converted at the end
    (``12 m^2`` bytes at the peak). Values rounded to 6 decimals keep their
    order and ties when stored in float32.
    """
    if rows.planes is not None:
        m = rows.planes.shape[1]
        prod = plane_gram(rows.planes, rows.product_dtype)
    else:
        v = rows.values
        m = v.shape[0]
        with threadpool_limits(limits=1 if m < _THREADED_MIN else None, user_api="blas"):
            prod = gram(v)  # numpy's v @ v.T (syrk) crashes above ~23,000 float64 rows
    if np.dtype(dtype).itemsize > prod.dtype.itemsize:  # float32 integer products, float64 kept
        prod = prod.astype(dtype)

    # finish_correlations' operations element by element, in place, on row chunks
    exact = rows.exact
    sums = rows.sums if exact else _NO_ROWS
    spread = rows.spread if exact else _NO_ROWS
    map_rows(
        lambda r0, r1: finish_rows(prod, r0, r1, sums, spread, rows.n_time, exact, TIE_DECIMALS),
        m,
        8.0 * m * m,
    )
    return prod.astype(dtype, copy=False)
