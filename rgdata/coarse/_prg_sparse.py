"""The switch of :func:`rgdata.coarse.prg` from the dense to the sparse exact pairing.

:func:`use_sparse` decides: the dense path holds an ``m x m`` similarity
matrix; when that matrix would take more than ``DENSE_FRACTION`` of the
memory still available (or more than ``dense_max_bytes`` when set), the
level is paired by :func:`sparse_choose_pairs`, which computes the same
numbers block by block (standardised rows, ``z_rows @ z_cols.T / T`` in
``corr_dtype``, rounded to the same decimals) and runs the exact greedy
pairing over top-k candidates with lazy refill
(:mod:`rgdata.coarse._greedy_sparse`). Both paths give the same pairs when
the block products are the same numbers as the dense product's entries
: OpenBLAS's GEMM sums each entry over time in the same order whatever the
shape of the block (checked by ``tests/coarse/test_sparse_pairing.py``), but
small products and matrix-vector products do not, so those are padded.
"""

from __future__ import annotations

import numpy as np

from ._greedy_sparse import sparse_greedy_pairs
from ._memory import available_memory
from ._prg_stats import standardize_rows

__all__ = [
    "similarity_block",
    "use_sparse",
    "sparse_choose_pairs",
    "sparse_pairing_bytes",
    "SPARSE_OPTIONS",
]

#: share of the available memory the dense matrix may take before the sparse path is used
DENSE_FRACTION = 0.25
#: settings of the sparse path; ``dense_max_bytes`` (None: from available memory) forces the switch
SPARSE_OPTIONS: dict = {"k": 32, "block_size": 1024, "dense_max_bytes": None}


_MIN_SIDE = 64
_MIN_FLOPS = 2**22


def _padded(rows: np.ndarray, cols: np.ndarray, t_len: int) -> tuple[np.ndarray, np.ndarray]:
    """*rows*, *cols* repeated cyclically so the product is a large GEMM (same values)."""
    c = cols if cols.size >= _MIN_SIDE else np.resize(cols, _MIN_SIDE)
    n_rows = max(rows.size, _MIN_SIDE, -(-_MIN_FLOPS // (c.size * max(t_len, 1))))
    r = rows if rows.size >= n_rows else np.resize(rows, n_rows)
    return r, c


def sparse_pairing_bytes(m: int) -> int:
    """Memory of the sparse path for *m* units besides the standardized variables (bytes).

    Candidate lists (int64 index and float64 value, ``k`` per unit) and one
    merge's concatenation, three blocks of similarities, the queue.
    """
    k, bs = SPARSE_OPTIONS["k"], SPARSE_OPTIONS["block_size"]
    candidates = 2 * m * k * 16 + 2 * bs * (k + bs) * 16  # lists, one merge's concatenation
    return int(candidates + 3 * bs * bs * 8 + 64 * m)


def similarity_block(zr: np.ndarray, zc: np.ndarray, decimals: int) -> np.ndarray:
    """Rounded correlations ``zr @ zc.T / T`` of standardized rows, as the dense path computes them.

    Small products (a lazy refill, the last free units) are padded with
    repeated rows/columns: OpenBLAS sums small and matrix-vector products in
    another order than its large GEMM, which would change values at the last bit.
    """
    r, c = _padded(np.arange(zr.shape[0]), np.arange(zc.shape[0]), zr.shape[1])
    b = (zr[r] @ zc[c].T)[: zr.shape[0], : zc.shape[0]]
    b *= 1.0 / zr.shape[1]
    return np.round(b, decimals, out=b)


def use_sparse(m: int, corr_dtype: str | int) -> bool:
    """Whether *m* units are paired by the sparse path (the dense matrix would not fit).

    *corr_dtype* is the dtype name or its item size in bytes.
    """
    itemsize = corr_dtype if isinstance(corr_dtype, int) else np.dtype(corr_dtype).itemsize
    need = m * m * itemsize
    limit = SPARSE_OPTIONS["dense_max_bytes"]
    if limit is None:
        have = available_memory()
        if have is None:  # unknown: stay on the dense path (prg's memory check decides)
            return False
        limit = DENSE_FRACTION * have
    return need > limit


def sparse_choose_pairs(y: np.ndarray, corr_dtype: str, decimals: int) -> np.ndarray:
    """Greedy pairs of the rows of *y* by correlation, without the dense matrix.

    Parameters
    ----------
    y : ndarray, shape (m, T)
        Normalized variables of the level.
    corr_dtype : str
        ``"float32"`` or ``"float64"``: dtype of the products, as in the dense path.
    decimals : int
        Correlations are rounded to this many decimals (ties exact), as in the dense path.

    Returns
    -------
    ndarray of int64, shape (m // 2, 2)
    """
    z = standardize_rows(y, np.dtype(corr_dtype))

    def block(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return similarity_block(z[rows], z[cols], decimals)

    m = y.shape[0]
    k = min(SPARSE_OPTIONS["k"], max(m - 1, 1))
    return sparse_greedy_pairs(block, m, k=k, block_size=SPARSE_OPTIONS["block_size"])
