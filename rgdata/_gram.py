"""``a @ a.T`` for any number of rows, without numpy's crashing ``syrk`` path.

numpy computes ``a @ a.T`` (the same buffer, transposed) with BLAS ``syrk``.
With the OpenBLAS that numpy's wheels bundle (0.3.31 here) the multithreaded
double-precision ``syrk`` writes past its buffer and kills the process with a
segmentation fault once the result has about 23,000 rows (22,800 x 100
worked, 23,000 x 100 and 26,624 x 500 crashed on this machine; one thread
worked; known upstream: numpy/numpy#19685). :func:`gram` keeps numpy's
``syrk`` below :data:`SYRK_MAX_ROWS` rows (the same bits as before) and above
it multiplies blocks of :data:`GRAM_BLOCK` rows: the diagonal blocks by
``syrk`` far below the crash, the blocks above the diagonal by general
products (BLAS ``gemm``; together the same half of the work), mirrored into
the lower triangle.

On integer-valued float rows (exact products) both give the same bits; on
other rows the block products may differ from ``syrk`` in the last bit.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gram", "SYRK_MAX_ROWS", "GRAM_BLOCK"]

#: most rows for which numpy's ``a @ a.T`` (``syrk``) is used
SYRK_MAX_ROWS = 8192
#: rows per block of the blocked product above it
GRAM_BLOCK = 4096


def gram(a: np.ndarray, *, block: int | None = None) -> np.ndarray:
    """``a @ a.T`` in ``a``'s dtype, safe for any number of rows.

    Parameters
    ----------
    a : ndarray, shape (m, t)
        Float rows.
    block : int, optional
        Rows per block above :data:`SYRK_MAX_ROWS` (default
        :data:`GRAM_BLOCK`; tests pass small values).

    Returns
    -------
    ndarray, shape (m, m)

    Examples
    --------
    >>> a = np.arange(12.0).reshape(4, 3)
    >>> bool(np.array_equal(gram(a, block=3), a @ a.T))
    True
    """
    m = a.shape[0]
    if block is None:
        if m <= SYRK_MAX_ROWS:
            return a @ a.T
        block = GRAM_BLOCK
    out = np.empty((m, m), dtype=np.result_type(a.dtype, np.float32))
    for i in range(0, m, block):
        rows = a[i : i + block]
        for j in range(i, m, block):
            # i == j: a small syrk (below the crash); i < j: a general product (gemm)
            part = rows @ a[j : j + block].T
            out[i : i + block, j : j + block] = part
            if j > i:
                out[j : j + block, i : i + block] = part.T
    return out
