"""Tree tensor network on PRG's tree against PRG sums and majority blocks (docs/tensor_networks.md).

Ising at T_c (L = 16, Wolff) and the retina (the first ``--trials`` repeats):
retained variance per level (``rgdata.models.ttn_compare.compare_retained``)
and the variance exponent alpha with its block CI for PRG (its own result),
the PRG sums of the clusters and the tree's readout of them
(``ttn_variance_scaling``), at bond dimensions 2 and 4.

Run: flock <bench lock> .venv/bin/python benchmarks/experiment_ttn_prg.py [--quick]
"""

import argparse
import time
import warnings

import numpy as np

import rgdata
from rgdata.activity import drop_constant_units
from rgdata.coarse import prg
from rgdata.diagnostics import fit_exponent
from rgdata.lattice import exact, sample_ising
from rgdata.models.ttn import TreeTensorNetwork
from rgdata.models.ttn_compare import compare_retained, ttn_variance_scaling
from rgdata.models.ttn_entropy import merge_entropy_retained

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true", help="500 configurations, 10 trials")
parser.add_argument("--configs", type=int, default=2000)
parser.add_argument("--trials", type=int, default=30)
args = parser.parse_args()
n_cfg, n_trials = (500, 10) if args.quick else (args.configs, args.trials)
warnings.simplefilter("ignore")  # prg's and fit_exponent's notes; the statuses are printed


def alpha(ds):
    f = fit_exponent(ds, "variance")
    return f"{float(f['exponent']):.3f} [{float(f['ci_low']):.3f}, {float(f['ci_high']):.3f}]"


def run(name, X, act, L=None):
    t0 = time.perf_counter()
    res = prg(act, random_state=0)
    cmp = compare_retained(X, res, bond_dim=2, lattice_side=L, random_state=0)
    print(f"\n## {name}: {X.shape[0]} samples x {X.shape[1]} units\n")
    print("| level (K) | " + " | ".join(str(s) for s in cmp["scheme"].values) + " |")
    print("| --- " * (cmp.sizes["scheme"] + 1) + "|")
    for lev in cmp["level"].values:
        cells = []
        for s in cmp["scheme"].values:
            r = cmp.sel(scheme=s, level=lev)
            m, e = float(r["retained_variance"]), float(r["retained_variance_se"])
            f = float(r["ttn_fidelity"])
            cells.append(
                "-"
                if np.isnan(m)
                else f"{m:.3f} ± {e:.3f}" + ("" if np.isnan(f) else f" ({f:.3f})")
            )
        print(f"| {lev} ({2**lev}) | " + " | ".join(cells) + " |")
    ent = merge_entropy_retained(X, res, bond_dim=2, lattice_side=L, random_state=0)
    print("\nmerge entropy fraction H(coarse)/H(children), mean ± SE (nodes used):\n")
    print("| level (K) | " + " | ".join(str(s) for s in ent["scheme"].values) + " |")
    print("| --- " * (ent.sizes["scheme"] + 1) + "|")
    for lev in ent["level"].values:
        cells = []
        for s in ent["scheme"].values:
            r = ent.sel(scheme=s, level=lev)
            m, e, u = (
                float(r[v]) for v in ("entropy_retained", "entropy_retained_se", "nodes_used")
            )
            cells.append("-" if np.isnan(m) else f"{m:.3f} ± {e:.3f} ({u:.2f})")
        print(f"| {lev} ({2**lev}) | " + " | ".join(cells) + " |")
    print(f"\nalpha, PRG's own result: {alpha(res)}")
    for k in (2, 4):
        ds = ttn_variance_scaling(TreeTensorNetwork(bond_dim=k, tree=res).fit(X), X, res)
        frac = (ds["variance"].sel(scheme="ttn") / ds["variance"].sel(scheme="prg_sum")).values
        print(
            f"bond_dim={k}: alpha sums {alpha(ds.sel(scheme='prg_sum'))}, "
            f"tree {alpha(ds.sel(scheme='ttn'))}; kept var(P S)/var(S) per level "
            + ", ".join(f"{v:.3f}" for v in frac)
        )
    print(f"({time.perf_counter() - t0:.1f} s)")


cfg = sample_ising(16, exact.TC_2D, n_cfg, algorithm="wolff", random_state=0)
Xi = ((cfg.values.reshape(n_cfg, -1) + 1) / 2).astype(float)
run("Ising T_c, L = 16", Xi, rgdata.configurations_as_activity(cfg), L=16)

ret = rgdata.datasets.load_retina().isel(trial=slice(0, n_trials))
act = drop_constant_units(rgdata.stack_trials(ret))
Xr = act.values.T.astype(float)
run(f"retina, {n_trials} repeats", Xr, act)
