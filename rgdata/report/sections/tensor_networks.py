"""Report section: tensor networks, the MPS classifier against chi next to scikit-learn's
baselines on the digits, and the tree tensor network's retained fraction per level on critical
Ising configurations next to the block-spin subspace. Dataset-independent (it makes its data)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._validation import check_random_state
from ...lattice import exact, sample_ising
from ...models.mps import MPSClassifier
from ...models.ttn import TreeTensorNetwork, aligned_pair_retained
from ...models.ttn_compare import compare_retained
from ...viz.tensor_networks import plot_mps_error, plot_retained_comparison, plot_ttn_retained
from ._text import plus_minus

__all__ = ["add_tensor_networks_section"]

_SECTION = "Tensor networks"


def _digits(seed: int) -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    return tuple(
        train_test_split(
            d.data / 16.0, d.target, test_size=0.25, random_state=seed, stratify=d.target
        )
    )


def add_tensor_networks_section(
    report: Any,
    *,
    random_state: Any = 0,
    progress: bool = False,
    chis: tuple[int, ...] = (2, 5, 10),
    n_sweeps: int = 2,
    L: int = 16,
    n_configs: int = 300,
    quick: bool = False,
) -> dict[str, float]:
    """Add MPS test error against chi (digits) and TTN retained fractions (Ising at T_c).

    Parameters
    ----------
    report : rgdata.report.Report
        Where the figure, results and headlines go.
    random_state : int, Generator or None
        Seeds the split, the MPS and the Ising sampler.
    progress : bool
        Progress bars.
    chis : tuple of int
        Bond dimensions of the MPS.
    n_sweeps : int
        Sweeps per MPS fit (2 keeps the section under a minute).
    L, n_configs : int
        Ising lattice side (a power of 2 squared sites) and number of Wolff configurations.
    quick : bool
        The ``--quick`` report: bond dimensions 2 and 10 only, and 100 configurations.

    Returns
    -------
    dict
        ``mps_error`` (at the largest chi), ``logreg_error``, ``ttn_retained_level1``,
        ``block_retained_level1``.
    """
    from sklearn.linear_model import LogisticRegression

    if quick:
        chis, n_configs = tuple(c for c in chis if c in (2, 10)) or chis[:1], min(n_configs, 100)
    rng = check_random_state(random_state)
    seed = int(rng.integers(2**31))
    Xtr, Xte, ytr, yte = _digits(seed)
    n_test = len(yte)
    errors = []
    for chi in chis:
        clf = MPSClassifier(chi=chi, n_sweeps=n_sweeps, random_state=seed, progress=progress)
        errors.append(1.0 - clf.fit(Xtr, ytr).score(Xte, yte))
    err = np.asarray(errors)
    se = np.sqrt(err * (1 - err) / n_test)
    logreg = 1.0 - LogisticRegression(max_iter=2000).fit(Xtr, ytr).score(Xte, yte)
    logreg_se = float(np.sqrt(logreg * (1 - logreg) / n_test))

    cfg = sample_ising(L, exact.TC_2D, n_configs, algorithm="wolff", random_state=seed)
    X = ((cfg.values.reshape(n_configs, -1) + 1) / 2).astype(float)
    ttn = TreeTensorNetwork(bond_dim=2, lattice=True).fit(X)  # the tree of 2x2 blocks
    retained = ttn.to_dataset()
    block = aligned_pair_retained(X)
    block_mean, block_se = float(block.mean()), float(block.std(ddof=1) / np.sqrt(len(block)))
    # exact P(aligned neighbours) = (1 + <s s'>)/2, <s s'> = -e/2 (two bonds per site)
    aligned_exact = float((1.0 - exact.energy_per_site(exact.TC_2D, L) / 2.0) / 2.0)
    level1 = ttn.retained_[0]
    level1_mean = float(level1.mean())
    level1_se = float(level1.std(ddof=1) / np.sqrt(len(level1)))

    per_chi = "; ".join(
        f"chi={c}: {e:.3f} +- {s:.3f}" for c, e, s in zip(chis, err, se, strict=True)
    )
    per_level = ", ".join(f"{v:.4f}" for v in retained["retained_mean"].values)
    caption = (
        f"MPS classifier (Stoudenmire-Schwab, {n_sweeps} sweeps) test error on the "
        f"8x8 digits ({len(ytr)} train / {n_test} test, +- binomial SE): {per_chi}; "
        f"logistic regression {logreg:.3f} +- {logreg_se:.3f} (chance 0.9)."
    )
    ttn_caption = (
        f"Tree tensor network (2x2-block tree, bond dimension 2) on {n_configs} Wolff "
        "configurations at "
        f"T_c, L={L}: retained fraction per level {per_level}; the block-spin subspace "
        f"span(|00>, |11>) keeps {block_mean:.4f} +- {block_se:.4f} at level 1 (mean +- SE "
        f"over pairs); exact (1 + <ss'>)/2 = {aligned_exact:.4f} from Kaufman's energy at "
        f"T_c, L={L}."
    )
    report.add_figure(
        plot_mps_error(chis, err, se, baselines={"logistic regression": float(logreg)}),
        "mps_error_vs_chi",
        caption,
        section=_SECTION,
    )
    report.add_figure(
        plot_ttn_retained(retained, block=(block_mean, block_se)),
        "ttn_retained",
        ttn_caption,
        section=_SECTION,
    )
    report.add_result(
        retained, "ttn_retained", "TTN retained fraction per level.", section=_SECTION
    )
    comparison = _prg_comparison(report, cfg, X, L, seed)
    report.add_headline(
        f"MPS test error on digits, chi={chis[-1]}",
        float(err[-1]),
        ci_low=float(err[-1] - 1.96 * se[-1]),
        ci_high=float(err[-1] + 1.96 * se[-1]),
        nulls=[
            {
                "name": "logistic regression",
                "mean": float(logreg),
                "band_low": float(logreg - 1.96 * logreg_se),
                "band_high": float(logreg + 1.96 * logreg_se),
            }
        ],
        section=_SECTION,
    )
    report.add_headline(
        "TTN level-1 retained fraction (Ising T_c)",
        level1_mean,
        ci_low=level1_mean - 1.96 * level1_se,
        ci_high=level1_mean + 1.96 * level1_se,
        nulls=[
            {
                "name": "block-spin subspace",
                "mean": block_mean,
                "band_low": block_mean - 1.96 * block_se,
                "band_high": block_mean + 1.96 * block_se,
            }
        ],
        reference=aligned_exact,
        reference_name="exact P(aligned pair)",
        section=_SECTION,
    )
    return {
        "mps_error": float(err[-1]),
        "logreg_error": float(logreg),
        "ttn_retained_level1": level1_mean,
        "block_retained_level1": block_mean,
        "aligned_exact": aligned_exact,
        "comparison": comparison,
    }


def _prg_comparison(report: Any, cfg: Any, X: np.ndarray, L: int, seed: int) -> Any:
    """Retained variance per level: TTN on PRG's tree and on 2x2 blocks, PRG sums, majority."""
    from ...activity import configurations_as_activity
    from ...coarse import prg

    res = prg(configurations_as_activity(cfg), random_state=seed)
    comparison = compare_retained(X, res, bond_dim=2, lattice_side=L, random_state=seed)

    def cell(scheme: str, level: int) -> str:
        r = comparison.sel(scheme=scheme, level=level)
        return plus_minus(float(r["retained_variance"]), float(r["retained_variance_se"]), 3)

    top = int(comparison["level"].values[-1])
    top_fid = float(comparison["ttn_fidelity"].sel(scheme="ttn_prg_tree", level=top))
    top_ret = float(comparison["retained_variance"].sel(scheme="ttn_prg_tree", level=top))
    rows = "; ".join(
        f"K={2**lev}: TTN(PRG tree) {cell('ttn_prg_tree', lev)}, PRG sum {cell('prg_sum', lev)}"
        + (f", majority {cell('majority_block', lev)}" if lev % 2 == 0 else "")
        for lev in comparison["level"].values
    )
    caption = (
        f"Retained variance per level on the same {X.shape[0]} configurations (T_c, L={L}): "
        "the fraction of the cluster's spin variance that a linear readout of its coarse "
        "variables keeps (1: every spin recoverable; null 1/K: a sum of independent spins), "
        f"mean ± SE over nodes, bond dimension 2. {rows}. At the top level (K={2**top}) the "
        f"tree's own fidelity (kept eigenvalue weight of the last merge) is {top_fid:.3f} "
        f"while it keeps {top_ret:.3f} of the spins' variance: two dimensions per node keep "
        "the two likeliest configurations of each merge, not the cluster's magnetisation."
    )
    report.add_figure(
        plot_retained_comparison(comparison),
        "ttn_prg_retained",
        caption,
        section=_SECTION,
    )
    report.add_result(
        comparison,
        "ttn_prg_retained",
        "Retained variance per level: TTN on PRG's and the 2x2 tree, PRG sums, majority blocks.",
        section=_SECTION,
    )
    return comparison
