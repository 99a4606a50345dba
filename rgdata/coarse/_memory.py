"""Memory budget of the coarse-graining functions: what is free, what a call will need.

:func:`available_memory` reads how much memory the machine can still give
(``MemAvailable`` of ``/proc/meminfo``, capped by a cgroup limit when one is
set; ``os.sysconf`` elsewhere). :func:`prg_peak_bytes` estimates the peak
allocation of :func:`rgdata.coarse.prg` from the array sizes and dtypes, and
:func:`check_memory` refuses a call whose estimate exceeds the budget with a
:class:`MemoryError` that says what to do instead, before anything large is
allocated. :func:`check_magnitude` refuses values whose sums of squares would
overflow float64 (the same bound for ``prg`` and ``momentum``).
"""

from __future__ import annotations

import os
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np

from .._threads import chunk_threads
from .._validation import describe
from ._prg_pairing import pairing_extra_bytes
from ._prg_stats import rows_per_chunk

__all__ = [
    "available_memory",
    "prg_peak_bytes",
    "check_max_memory",
    "check_memory",
    "max_abs",
    "check_magnitude",
    "MAX_MAGNITUDE",
    "GIB",
    "PeakProbe",
]

GIB = 2.0**30
#: largest accepted max|activity| times the growth of the sums that are squared
MAX_MAGNITUDE = 1e150
#: float64 row-chunks' worth of memory alive at once in the per-level statistics: the numba
#: kernels read the rows in place; the FFT path holds a float32 zero-padded chunk, its
#: complex64 transform and the power spectrum (about 1.75 chunks)
_CHUNK_COPIES = 2
#: the estimate is raised by this factor and constant (small per-level arrays, the result)
_MARGIN = 1.1
_OVERHEAD = 8 * 2**20


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _meminfo_available(path: Path = Path("/proc/meminfo")) -> int | None:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("MemAvailable:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1]) * 1024
    return None


def _cgroup_available(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    limit = _read_int(root / "memory.max")  # cgroup v2 ("max" when unlimited: None)
    used = _read_int(root / "memory.current")
    if limit is None:
        limit = _read_int(root / "memory" / "memory.limit_in_bytes")  # cgroup v1
        used = _read_int(root / "memory" / "memory.usage_in_bytes")
        if limit is not None and limit >= 2**60:  # v1 writes a huge number for "unlimited"
            limit = None
    if limit is None:
        return None
    return max(0, limit - (used or 0))


def available_memory() -> int | None:
    """Bytes of memory the machine can still give this process, or None if unknown.

    ``MemAvailable`` from ``/proc/meminfo`` (Linux), else
    ``os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")``; capped by
    the cgroup (container) limit minus its current usage when one is set.
    """
    avail = _meminfo_available()
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            avail = None
    cgroup = _cgroup_available()
    if cgroup is not None:
        avail = cgroup if avail is None else min(avail, cgroup)
    return avail


def _pairing_bytes(
    m: int,
    y: int,
    prepared: int,
    product_itemsize: int,
    corr_itemsize: int,
    n_pair_time: int = 0,
    approximate: bool = False,
) -> int:
    """Bytes alive while one step pairs *m* rows: variables, prepared rows, matrix or lists.

    The dense path holds the symmetric product in the prepared rows' dtype
    (*product_itemsize*, finished in place without temporaries) and a
    converted copy when the product's dtype is not ``corr_dtype``. With
    *approximate* (``pairing="approximate"``) a step of more than
    ``APPROX_OPTIONS["min_units"]`` rows holds NN-descent's vectors, forest
    and graph and the candidate lists instead
    (:func:`~rgdata.coarse._ann.ann_pairing_bytes`).
    """
    from ._ann import APPROX_OPTIONS, ann_pairing_bytes  # noqa: PLC0415 (import cycle)
    from ._prg_sparse import sparse_pairing_bytes, use_sparse  # noqa: PLC0415 (import cycle)

    if approximate and m > APPROX_OPTIONS["min_units"]:
        return y + prepared + ann_pairing_bytes(m, n_pair_time)
    if use_sparse(m, corr_itemsize, product_itemsize):  # exact sparse path: lists, blocks
        return y + prepared + sparse_pairing_bytes(m)
    matrix = m * m * product_itemsize
    converted = m * m * corr_itemsize if product_itemsize != corr_itemsize else 0
    return y + prepared + matrix + max(converted, pairing_extra_bytes(m))


def prg_peak_bytes(
    n_units: int,
    n_time: int,
    n_pair_time: int,
    *,
    input_itemsize: int,
    copies_input: bool,
    corr_itemsize: int,
    sum_itemsize: int,
    max_eigen_size: int,
    prepared_itemsize: float = 8,
    product_itemsize: int = 8,
    second_itemsize: float = 8,
    second_product_itemsize: int = 8,
    approximate: bool = False,
) -> int:
    """Estimated peak of the memory :func:`rgdata.coarse.prg` allocates (bytes).

    Parameters
    ----------
    n_units, n_time : int
        Shape of the activity.
    n_pair_time : int
        Samples the pairs are chosen on (``n_time``, or half of it with a hold-out).
    input_itemsize : int
        Bytes per value of the activity.
    copies_input : bool
        Whether the units are reordered into sorted-label order (one copy of the input).
    corr_itemsize : int
        Bytes per value of ``corr_dtype`` (the normalized variables and the stored correlation
        matrix; the products are float64, see :mod:`rgdata.coarse._prg_similarity`).
    sum_itemsize : int
        Bytes per value of the cluster sums.
    max_eigen_size : int
        Largest cluster whose covariance spectrum is computed.
    prepared_itemsize : int, default 8
        Bytes per value of the first step's rows prepared for the correlations
        (:mod:`rgdata.coarse._prg_similarity`: 8 for float64 z-scores, the
        exact product dtype's size for an integer copy, 0 when the input is
        used in place, ``planes / 8`` for rows packed into bit planes).
    product_itemsize : int, default 8
        Bytes per value of the first step's symmetric product (4 for float32
        exact integer products, else 8).
    second_itemsize, second_product_itemsize : default 8
        The same for the second step (half as many rows): float64 z-scores
        and products, or packed integer sums (binary spikes under
        ``"nonzero_mean"``); later steps have fewer rows.
    approximate : bool, default False
        ``pairing="approximate"``: steps above ``APPROX_OPTIONS["min_units"]``
        rows hold NN-descent's structures and the candidate lists instead of
        the correlation matrix (:func:`~rgdata.coarse._ann.ann_pairing_bytes`).

    Returns
    -------
    int
        The sum of the arrays alive together at the largest of the stages:
        the normalized variables ``y`` (N x T_pair) throughout, plus either
        the standardized copy and the N x N correlation matrix (pairing), the
        first level's sums (summing), or the row-chunks of the FFT of the
        autocorrelation (reserved also for sparse integer rows, whose sparse
        products need none while their lags stay short) or the clusters'
        covariances, one set per two
        threads (:func:`rgdata._threads.chunk_threads`; the other per-level
        statistics read the rows in place). The pairing itself needs
        :func:`~rgdata.coarse._prg_pairing.pairing_extra_bytes` (linear in N,
        also on tied data).
    """
    n, t, tp = int(n_units), int(n_time), int(n_pair_time)
    chunk = min(n, rows_per_chunk(t)) * t * 8
    y = n * tp * corr_itemsize
    # the rows prepared for the correlations (an integer copy or float64 z-scores), then the
    # correlation matrix in corr_dtype and one chunk of float64 products; the first step
    # (n rows) or the second (n/2 rows, float64 z-scores of normalized sums)
    pairing = max(
        _pairing_bytes(
            n,
            y,
            int(n * tp * prepared_itemsize),
            product_itemsize,
            corr_itemsize,
            tp,
            approximate,
        ),
        _pairing_bytes(
            n // 2,
            y // 2,
            int((n // 2) * tp * second_itemsize),
            second_product_itemsize,
            corr_itemsize,
            tp,
            approximate,
        ),
    )
    summing = max(1.5 * n * t * sum_itemsize, 0.5 * n * t * sum_itemsize + 1.5 * y)
    # the blocks' autocorrelations and the clusters' spectra run one block or root per
    # thread: a block's FFT chunks are a fraction of the whole recording's, and a root
    # holds ~1.2 K T float64 at once, so the three copies counted cover two threads
    sets = -(-chunk_threads() // 2)
    stats = sets * _CHUNK_COPIES * chunk
    spectra = 3 * min(n, sets * max_eigen_size) * t * 8
    base = (n * t * input_itemsize if copies_input else 0) + y
    return int(_MARGIN * (base + max(pairing, summing, stats, spectra)) + _OVERHEAD)


def check_max_memory(max_memory: Any) -> float | None:
    """Validate *max_memory*: None (available memory) or bytes > 0 (inf: no check)."""
    if max_memory is None:
        return None
    if isinstance(max_memory, bool) or not isinstance(max_memory, Real):
        raise TypeError(f"max_memory must be None or a number of bytes, got {describe(max_memory)}")
    value = float(max_memory)
    if not value > 0:  # also NaN
        raise ValueError(
            f"max_memory must be a positive number of bytes (float('inf') turns the check off), "
            f"got {max_memory!r}"
        )
    return value


def check_memory(needed: int, max_memory: float | None, func: str, advice: str) -> None:
    """Raise :class:`MemoryError` when *needed* bytes exceed the budget.

    The budget is *max_memory* (bytes) or, when None, :func:`available_memory`
    (no check when that is unknown). The message states both numbers in GiB,
    where the budget came from and *advice*.
    """
    if max_memory is None:
        avail = available_memory()
        if avail is None:
            return
        budget, source = float(avail), "the memory available now"
    else:
        budget, source = max_memory, "max_memory"
    if needed <= budget:
        return
    raise MemoryError(
        f"{func} would need about {needed / GIB:.2f} GiB at its peak, more than {source} "
        f"({budget / GIB:.2f} GiB). {advice} To run anyway, pass max_memory= a larger "
        "number of bytes (float('inf') turns the check off)."
    )


def max_abs(x: np.ndarray) -> float:
    """Largest absolute value of *x* as a float, without a full-size temporary."""
    if x.size == 0:
        return 0.0
    return max(abs(float(x.max())), abs(float(x.min())))


def check_magnitude(
    top_value: float, growth: float, growth_text: str, what: str, hint: str = ""
) -> None:
    """Refuse values too large to square: ``max |activity| * growth > MAX_MAGNITUDE``.

    Parameters
    ----------
    top_value : float
        ``max |activity|``.
    growth : float
        How much larger than one value the squared sums can get (e.g.
        ``n_units * sqrt(n_time)`` for PRG cluster sums, ``sqrt(n_time)`` for a
        covariance).
    growth_text : str
        *growth* as a formula, for the message.
    what : str
        What would overflow, for the message.
    hint : str
        Appended to the message (e.g. why dividing the data is harmless).

    Raises
    ------
    ValueError
        Naming the largest value, what is accepted and what to do.
    """
    if top_value * growth > MAX_MAGNITUDE:
        raise ValueError(
            f"activity values are too large: max |activity| = {top_value:.3g}; {what} "
            f"overflow float64. Accepted: max |activity| <= {MAX_MAGNITUDE / growth:.3g} "
            f"(max |activity| * {growth_text} <= {MAX_MAGNITUDE:.0e}); divide the data by a "
            f"constant first{hint}"
        )


class PeakProbe:
    """Peak resident memory of this process from now on (Linux; for tests and benchmarks).

    ``getrusage``'s ``ru_maxrss`` cannot measure one call: it keeps the
    largest RSS of the process's whole life, and Linux carries it across
    ``execve``, so a freshly spawned child starts with its parent's peak. The
    probe resets the kernel's high-water mark (``/proc/self/clear_refs``) and
    reads ``VmHWM`` from ``/proc/self/status``.

    Examples
    --------
    >>> import numpy as np, sys
    >>> if sys.platform.startswith("linux"):
    ...     probe = PeakProbe()
    ...     x = np.ones(2**24)  # 128 MiB, touched
    ...     print(probe.grown() >= x.nbytes * 0.9)
    ... else:
    ...     print(True)
    True
    """

    def __init__(self) -> None:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # VmHWM := VmRSS
        self.start = _status_bytes("VmRSS")

    def grown(self) -> int:
        """Bytes by which the peak since the probe was made exceeds the RSS then."""
        return _status_bytes("VmHWM") - self.start


def _status_bytes(field: str) -> int:
    with open("/proc/self/status") as f:
        return 1024 * next(int(line.split()[1]) for line in f if line.startswith(field + ":"))
