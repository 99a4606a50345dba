"""Stacked RBMs on critical 2D Ising, two 4:1 reductions per L (docs/learned.md).

For each L: Wolff configurations at T_c; layer 1 is an RBM with (L/2)^2 hidden
units on the spins; its hidden samples are placed on the (L/2)^2 block lattice
by their receptive fields (``hidden_configurations``: Hungarian assignment,
sign-aligned), and layer 2, an RBM with (L/4)^2 hidden units, is trained on
those. (``DeepRBM`` passes raster-ordered hidden samples up, which have no
lattice meaning, so the stack is built here from its parts.) Per layer:
receptive-field locality in 2x2 blocks and its uniform null, overlap of the
hidden samples with majority-rule 2x2 block spins of the layer's input and its
half-lattice-shifted null, and the nearest-neighbour pseudo-likelihood
coupling of the hidden layer next to that of the block spins. Layer 2 is also
compared with the majority 4x4 blocks of the original spins. Then the held-out
log-likelihood of layer 1 per spin by AIS (``rbm_log_likelihood``), with two
annealing lengths as a consistency check.

Run: flock <bench lock> .venv/bin/python benchmarks/experiment_rbm_stack.py [--quick]
"""

import argparse
import time
import warnings

import numpy as np

from rgdata.lattice import block_spins, exact, sample_ising
from rgdata.models import RBM
from rgdata.models.rbm_ais import rbm_log_likelihood
from rgdata.models.rbm_measures import (
    block_overlap,
    hidden_configurations,
    hidden_couplings,
    receptive_fields,
)

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true", help="L = 16 only, 500 configurations")
parser.add_argument("--sizes", type=int, nargs="+", default=[16, 24, 32])
parser.add_argument("--configs", type=int, default=2000)
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--l1", type=float, default=1e-3)
args = parser.parse_args()
sizes, n_cfg = ([16], 500) if args.quick else (args.sizes, args.configs)
warnings.simplefilter("ignore")
fit = dict(n_epochs=args.epochs, l1=args.l1, learning_rate=0.05, batch_size=100)


def pm(ds, name):
    return f"{float(ds[name + '_mean']):.3f} ± {float(ds[name + '_err']):.3f}"


def nn(cp, layer):
    c = cp.sel(layer=layer, coupling="nn")
    return f"{float(c['couplings']):.3f} ± {float(c['couplings_err']):.3f}"


rows = []
ais_rows = []
for L in sizes:
    t0 = time.perf_counter()
    seed = 1000 + L
    cfg = sample_ising(L, exact.TC_2D, n_cfg, algorithm="wolff", random_state=seed)
    test = sample_ising(L, exact.TC_2D, 500, algorithm="wolff", random_state=seed + 1)
    rbm1 = RBM(n_hidden=(L // 2) ** 2, random_state=seed, **fit).fit(cfg)
    h1 = hidden_configurations(rbm1, cfg, 2, random_state=seed)
    rbm2 = RBM(n_hidden=(L // 4) ** 2, random_state=seed + 2, **fit).fit(h1)
    for layer, rbm, x in ((1, rbm1, cfg), (2, rbm2, h1)):
        rf = receptive_fields(rbm, 2)
        ov = block_overlap(rbm, x, 2, random_state=seed + 3)
        cp = hidden_couplings(rbm, x, 2, operators=["nn"], random_state=seed + 4)
        rows.append(
            f"| {L} | {layer} | {x.shape[1] ** 2} → {rbm.weights_.shape[1]} | {pm(rf, 'locality')}"
            f" ({float(rf['locality_null']):.4f}) | {pm(ov, 'overlap')} "
            f"({float(ov['overlap_null']):.3f} ± {float(ov['overlap_null_err']):.3f}) | "
            f"{nn(cp, 'hidden')} | {nn(cp, 'block')} |"
        )
    # layer 2 against the majority 4x4 blocks of the spins themselves
    h2 = hidden_configurations(rbm2, h1, 2, random_state=seed + 5).values.astype(float)
    b4 = block_spins(cfg, 4, "majority", random_state=seed + 6).values.astype(float)
    per = (h2 * b4).mean(axis=(1, 2))
    shifted = (h2 * np.roll(b4, (L // 8, L // 8), axis=(1, 2))).mean(axis=(1, 2))
    se = per.std(ddof=1) / np.sqrt(len(per))
    rows.append(
        f"| {L} | 2 vs 4x4 spins | | | {per.mean():.3f} ± {se:.3f} ({shifted.mean():.3f}) | | |"
    )
    # exact bound: E log q(v) <= -s per spin (cross-entropy >= entropy), s = (E - F) / T
    s_exact = exact.energy_per_site(exact.TC_2D, L) - exact.free_energy_per_site(exact.TC_2D, L)
    s_exact /= exact.TC_2D
    for n_betas in (1000, 3000):
        ll = rbm_log_likelihood(rbm1, test, 100, n_betas, random_state=seed, data=cfg)
        per_spin = float(ll["log_likelihood_per_unit"])
        se_spin = float(ll["log_likelihood_se"]) / L**2
        ais_rows.append(
            f"| {L} | {n_betas} | {per_spin:.4f} ± {se_spin:.4f} | "
            f"{float(ll['log_z']):.2f} ± {float(ll['log_z_se']):.2f} | {-s_exact:.4f} |"
        )
    print(f"L = {L}: {time.perf_counter() - t0:.0f} s", flush=True)

print(
    "\n| L | layer | units | locality 2x2 (null) | overlap with majority blocks (shifted null) "
    "| nn coupling, hidden | nn coupling, blocks |"
)
print("| --- | --- | --- | --- | --- | --- | --- |")
print("\n".join(rows))
print(
    "\n| L | AIS betas | held-out log-likelihood per spin (layer 1) | log Z "
    "| bound -s(L), exact (independent spins: -0.6931) |"
)
print("| --- | --- | --- | --- | --- |")
print("\n".join(ais_rows))
