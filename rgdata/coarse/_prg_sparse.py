"""The switch of :func:`rgdata.coarse.prg` from the dense to the sparse exact pairing.

:func:`use_sparse` decides: the dense path holds an ``m x m`` similarity
matrix; when that matrix would take more than ``DENSE_FRACTION`` of the
memory still available (or more than ``dense_max_bytes`` when set), the
level is paired by :func:`sparse_choose_pairs`, which computes the same
numbers block by block (:func:`rgdata.coarse._prg_similarity.similarity`:
the same values for any block shape and BLAS kernel) and runs the exact
greedy pairing over top-k candidates with lazy refill
(:mod:`rgdata.coarse._greedy_sparse`).
"""

from __future__ import annotations

import numpy as np

from ._greedy_sparse import sparse_greedy_pairs
from ._memory import available_memory
from ._prg_similarity import PairingRows, similarity

__all__ = [
    "use_sparse",
    "sparse_choose_pairs",
    "sparse_pairing_bytes",
    "SPARSE_OPTIONS",
]

#: share of the available memory the dense matrix may take before the sparse path is used
DENSE_FRACTION = 0.25
#: settings of the sparse path; ``dense_max_bytes`` (None: from available memory) forces the switch
SPARSE_OPTIONS: dict = {"k": 32, "block_size": 1024, "dense_max_bytes": None}


def sparse_pairing_bytes(m: int) -> int:
    """Memory of the sparse path for *m* units besides the standardized variables (bytes).

    Candidate lists (int64 index and float64 value, ``k`` per unit) and one
    merge's concatenation, three blocks of similarities, the queue.
    """
    k, bs = SPARSE_OPTIONS["k"], SPARSE_OPTIONS["block_size"]
    candidates = 2 * m * k * 16 + 2 * bs * (k + bs) * 16  # lists, one merge's concatenation
    return int(candidates + 3 * bs * bs * 8 + 64 * m)


def use_sparse(m: int, corr_dtype: str | int, product_itemsize: int | None = None) -> bool:
    """Whether *m* units are paired by the sparse path (the dense matrix would not fit).

    *corr_dtype* is the dtype name or its item size in bytes; *product_itemsize*
    the bytes per value of the dense path's product (default: *corr_dtype*'s).
    The dense path holds the product and, when it is wider than *corr_dtype*,
    the converted copy too: ``12 m^2`` bytes for float64 products stored in
    float32, not the ``4 m^2`` of the stored matrix alone.
    """
    itemsize = corr_dtype if isinstance(corr_dtype, int) else np.dtype(corr_dtype).itemsize
    product = itemsize if product_itemsize is None else product_itemsize
    need = m * m * (product + (itemsize if product > itemsize else 0))
    limit = SPARSE_OPTIONS["dense_max_bytes"]
    if limit is None:
        have = available_memory()
        if have is None:  # unknown: stay on the dense path (prg's memory check decides)
            return False
        limit = DENSE_FRACTION * have
    return need > limit


def sparse_choose_pairs(rows: PairingRows) -> np.ndarray:
    """Greedy pairs of prepared rows by correlation, without the dense matrix.

    Parameters
    ----------
    rows : PairingRows
        The level's variables, from :func:`rgdata.coarse._prg_similarity.pairing_rows`.

    Returns
    -------
    ndarray of int64, shape (m // 2, 2)
    """

    def block(r: np.ndarray, c: np.ndarray) -> np.ndarray:
        return similarity(rows.take(r), rows.take(c))

    m = rows.values.shape[0]
    k = min(SPARSE_OPTIONS["k"], max(m - 1, 1))
    return sparse_greedy_pairs(block, m, k=k, block_size=SPARSE_OPTIONS["block_size"])
