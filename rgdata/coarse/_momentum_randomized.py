"""The top modes only: a randomized eigensolver under ``momentum(solver="randomized")``.

The ``remove_low`` ladder below fraction 1 only ever keeps the *largest*
modes, so for thousands of units it needs the top ``K`` eigenpairs of
``C = z z^T / T``, not the whole spectrum. These are the top left singular
vectors of ``z / sqrt(T)``: :func:`sklearn.utils.extmath.randomized_svd`
(Halko, Martinsson & Tropp 2011, with power iterations) computes them in
``O(N T (K + p) (2 q + 2))`` flops and ``O((N + T) (K + p))`` memory, against
``O(N^2 T + N^3)`` and ``N^2`` for the exact path. scikit-learn is already a
core dependency of rgdata, is maintained, takes a seed, and works on the
in-memory working copy the streaming needs anyway (``dask.array.linalg.
svd_compressed`` would add a second random stream and a scheduler for data that
are in memory by then; ``scipy.sparse.linalg.eigsh`` (ARPACK) is not seeded
through a Generator and is slower for a block of hundreds of modes).

The accuracy is measured, never assumed: for each computed pair the residual
``||C u - lambda u||`` is computed exactly (one more ``2 N T K`` product). For a
symmetric matrix a Rayleigh pair with residual ``r`` lies within ``r`` of an
eigenvalue, and the kept subspace is within ``sin theta <= ||R||_F / delta`` of
the exact one (Davis & Kahan 1970), ``delta`` the gap to the first mode not
kept.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validation import check_random_state
from ._momentum_kernels import DirectionPlan, Step, row_mean_square

__all__ = ["TopModes", "top_modes", "direct_plan", "plan_randomized", "randomized_modes"]

# a computed mode whose residual ||C u - lambda u|| exceeds this share of its eigenvalue
# is warned about
RESIDUAL_WARN = 1e-3


class TopModes(NamedTuple):
    """The top ``K`` eigenpairs of ``C = z z^T / T`` and their exact residuals.

    ``eigenvalues`` are descending Rayleigh quotients ``u^T C u`` (float64),
    ``vectors`` the ``(N, K)`` Fortran-ordered orthonormal columns in the working
    precision, ``residuals`` the norms ``||C u - lambda u||`` (float64).
    """

    eigenvalues: np.ndarray
    vectors: np.ndarray
    residuals: np.ndarray


def top_modes(
    z: np.ndarray,
    n_modes: int,
    *,
    n_oversamples: int,
    n_iter: int,
    random_state: object,
) -> TopModes:
    """The ``n_modes`` largest eigenpairs of ``z z^T / T`` by a randomized SVD of ``z``.

    Parameters
    ----------
    z : ndarray, shape (N, T)
        Centred (or z-scored) data.
    n_modes : int
        Modes to compute (``<= min(N, T)``).
    n_oversamples, n_iter : int
        Extra random directions and power iterations of
        :func:`sklearn.utils.extmath.randomized_svd`.
    random_state : None, int, numpy.random.Generator or SeedSequence
        Seeds the random test matrix (through a ``RandomState`` seeded from it).

    Returns
    -------
    TopModes
    """
    rng = check_random_state(random_state)
    seed = int(rng.integers(2**32 - 1))
    t = z.shape[1]
    # here, not at import: scikit-learn pulls scipy.stats (about 0.5 s)
    from sklearn.utils.extmath import randomized_svd  # noqa: PLC0415

    u, s, _ = randomized_svd(
        z,
        n_modes,
        n_oversamples=n_oversamples,
        n_iter=n_iter,
        random_state=np.random.RandomState(seed),
    )
    u = np.asfortranarray(u.astype(z.dtype, copy=False))
    # C u = z (z^T u) / T, accumulated in float64 for the diagnostic
    cu = (z @ (z.T @ u)).astype(np.float64) / t
    u64 = u.astype(np.float64)
    lam = np.einsum("ik,ik->k", u64, cu)
    residuals = np.linalg.norm(cu - u64 * lam[None, :], axis=0)
    order = np.argsort(-lam, kind="stable")
    del s
    return TopModes(lam[order], np.asfortranarray(u[:, order]), residuals[order])


def direct_plan(n_kept: np.ndarray, rank: int) -> DirectionPlan:
    """The ``remove_low`` streaming plan that uses the top modes only (no complement).

    ``n_kept`` are the ascending distinct kept counts; a count ``>= rank`` is the data
    itself, every other level is the previous one plus the modes ``K_prev..K`` (columns of
    the computed top vectors).
    """
    levels = [int(k) for k in n_kept]
    slots = np.arange(len(levels))
    steps: list[Step] = []
    prev = 0
    for pos, k in enumerate(levels):
        if k >= rank:
            steps.append(Step(int(slots[pos]), "data", 0, 0))
            continue
        steps.append(Step(int(slots[pos]), "project" if prev == 0 else "add", prev, k))
        prev = k
    return DirectionPlan("remove_low", np.asarray(levels), slots, steps)


def plan_randomized(
    fractions: np.ndarray | None, n_modes: int | None, rank: int
) -> tuple[np.ndarray, np.ndarray, int, str]:
    """Fractions, kept counts and the number of top modes to compute.

    Returns ``(fractions, kept, n_compute, note)``. Kept counts follow
    :func:`rgdata.coarse.momentum` (``K = max(1, round(f * rank))``); a level with
    ``K >= rank`` is the data and needs no mode. Without *fractions* the default ladder
    is cut to the levels *n_modes* covers (said in *note*); a requested fraction that
    needs more than *n_modes* modes raises ValueError.
    """
    from .momentum import default_fractions  # the ladder of the exact path

    note = ""
    if fractions is None:
        if n_modes is None:
            raise ValueError(
                "solver='randomized' needs fractions or n_modes (it computes only the top "
                "modes the kept fractions use); got neither"
            )
        full = default_fractions(rank)
        kept = np.maximum(1, np.rint(full * rank)).astype(np.int64)
        fractions = full[(kept <= n_modes) | (kept >= rank)]
        if fractions.size < full.size:
            note = (
                f"default ladder cut to the {fractions.size} of {full.size} fractions whose "
                f"kept modes are among the n_modes={n_modes} computed"
            )
    kept = np.maximum(1, np.rint(fractions * rank)).astype(np.int64)
    below = kept[kept < rank]
    needed = int(below.max()) if below.size else 0
    if n_modes is None:
        n_modes = max(needed, 1)
    if needed > n_modes:
        bad = fractions[(kept > n_modes) & (kept < rank)]
        raise ValueError(
            f"fractions {bad.tolist()} keep up to {needed} of {rank} modes, more than "
            f"n_modes={n_modes} computed by solver='randomized'; raise n_modes to at least "
            f"{needed}, drop those fractions, or use solver='exact'"
        )
    return fractions, kept, int(n_modes), note


def randomized_modes(
    z: np.ndarray,
    fractions: np.ndarray | None,
    n_modes: int | None,
    rank: int,
    n_oversamples: int | None,
    n_iter: int,
    random_state: object,
    matrix: str,
    *,
    solve=None,
    trace=None,
) -> tuple[np.ndarray, TopModes, dict, dict, str]:
    """The ``solver="randomized"`` decomposition of :func:`rgdata.coarse.momentum`.

    Returns ``(fractions, modes, variables, attrs, warning)``: the fractions (the default
    ladder cut to *n_modes* when none were given), the top modes, the result's
    ``eigen_residual`` and ``captured_variance`` variables, the solver's attrs and a
    warning message (empty when every residual is below ``RESIDUAL_WARN`` of its
    eigenvalue). Raises ValueError when a computed mode is below 20 eps of the largest:
    the assumed rank ``min(N, T - 1)`` is then wrong.

    *solve* replaces :func:`top_modes` (same signature; the dask path's solver) and
    *trace*, called after it, returns the trace of ``C`` (default: from *z* in memory).
    """
    fractions, _, n_compute, note = plan_randomized(fractions, n_modes, rank)
    if n_oversamples is None:
        n_oversamples = max(10, n_compute)
    found = (top_modes if solve is None else solve)(
        z, n_compute, n_oversamples=n_oversamples, n_iter=n_iter, random_state=random_state
    )
    lam = found.eigenvalues
    if lam[-1] <= lam[0] * np.finfo(z.dtype).eps * 20:
        raise ValueError(
            f"solver='randomized': mode {n_compute} of the {matrix} matrix is below 20 eps of "
            f"the largest (collinear units or modes below {z.dtype}'s resolution), so the rank "
            "min(N, T - 1) it assumes is wrong; use solver='exact'"
        )
    # the trace of C, without a float64 copy
    total = float(row_mean_square(z).sum()) if trace is None else trace()
    variables = {
        "eigen_residual": (("mode",), found.residuals),
        "captured_variance": ((), float(lam.sum() / total)),
    }
    attrs = {
        "solver": "randomized",
        "n_modes_computed": n_compute,
        "n_oversamples": n_oversamples,
        "n_iter": n_iter,
        "random_state": repr(random_state),
        "solver_note": note,
    }
    worst = float(np.max(found.residuals / lam))
    warning = ""
    if worst > RESIDUAL_WARN:
        warning = (
            f"solver='randomized': a computed mode's residual ||C u - lambda u|| is {worst:.1e} "
            f"of its eigenvalue (> {RESIDUAL_WARN:g}; eigen_residual): raise n_iter or "
            "n_oversamples, or use solver='exact'"
        )
    return fractions, found, variables, attrs, warning
