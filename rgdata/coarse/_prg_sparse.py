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

__all__ = ["use_sparse", "sparse_choose_pairs", "SPARSE_OPTIONS"]

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


def use_sparse(m: int, corr_dtype: str) -> bool:
    """Whether *m* units are paired by the sparse path (the dense matrix would not fit)."""
    need = m * m * np.dtype(corr_dtype).itemsize
    limit = SPARSE_OPTIONS["dense_max_bytes"]
    if limit is None:
        limit = DENSE_FRACTION * available_memory()
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
    inv_t = 1.0 / y.shape[1]

    def block(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        # small products (a lazy refill, the last free units) are padded with repeated
        # rows/columns: OpenBLAS sums small and matrix-vector products in another order
        # than its large GEMM, which would change the values at the last bit
        r, c = _padded(rows, cols, y.shape[1])
        b = (z[r] @ z[c].T)[: rows.size, : cols.size]
        b *= inv_t
        return np.round(b, decimals, out=b)

    m = y.shape[0]
    k = min(SPARSE_OPTIONS["k"], max(m - 1, 1))
    return sparse_greedy_pairs(block, m, k=k, block_size=SPARSE_OPTIONS["block_size"])
