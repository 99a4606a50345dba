"""MPS classifier on L = 16 Ising configurations: ordered (T = 1.6-2.0) vs disordered (2.6-3.0),
then the fraction classified ordered on a T grid and its 0.5 crossing (docs/tensor_networks.md).

Run: .venv/bin/python benchmarks/experiment_mps_ising.py
"""

import time

import numpy as np

import rgdata
from rgdata.lattice import exact
from rgdata.models.mps import MPSClassifier

t0 = time.perf_counter()


def cfgs(T, n, seed):
    c = rgdata.lattice.sample_ising(16, T, n, algorithm="wolff", random_state=seed)
    return ((c.values.reshape(n, -1) + 1) / 2).astype(float)


Ttr_lo, Ttr_hi = (1.6, 1.8, 2.0), (2.6, 2.8, 3.0)
X = np.concatenate([cfgs(T, 100, i) for i, T in enumerate(Ttr_lo + Ttr_hi)])
y = np.repeat([1] * 3 + [0] * 3, 100)
X = np.concatenate([X, 1 - X])
y = np.concatenate([y, y])  # both signs of the magnetisation
clf = MPSClassifier(chi=8, n_sweeps=3, random_state=0).fit(X, y)
print("train acc", clf.score(X, y))
Ts = np.round(np.arange(1.9, 2.75, 0.1), 2)
frac = []
se = []
for i, T in enumerate(Ts):
    p = clf.predict(cfgs(T, 200, 100 + i))
    f = p.mean()
    frac.append(f)
    se.append(np.sqrt(f * (1 - f) / 200))
    print(f"T={T:.2f} P(ordered)={f:.3f} +- {se[-1]:.3f}", flush=True)
frac = np.array(frac)
k = np.flatnonzero((frac[:-1] >= 0.5) & (frac[1:] < 0.5))[0]
Tx = Ts[k] + (frac[k] - 0.5) / (frac[k] - frac[k + 1]) * (Ts[k + 1] - Ts[k])
print("crossing", Tx, "exact Tc", exact.TC_2D, "time", time.perf_counter() - t0)
