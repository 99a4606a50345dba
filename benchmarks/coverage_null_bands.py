"""Calibration of the null bands and z_vs_data of ``run_with_nulls``.

How the bands are used: the report captions (``report/sections/scaling.py``,
``_closest_null``) and the exponent table put the data's exponent next to each
null's mean and band over its draws, with ``z_vs_data`` and the fraction of
draws as far out as the data. The question they answer is "could the data be
one more draw of this null?". So the band is a *prediction* band, and its
coverage is the probability that one new, independent draw of the same null
falls inside it. For ``n`` exchangeable draws the band between the 2.5 and
97.5 percentiles (numpy's linear interpolation, positions ``0.025 (n - 1)``
and ``0.975 (n - 1)``; the library's band before #14) covers a new draw with
probability about ``0.95 (n - 1) / (n + 1)``: 77.7% for the default
``n = 10``, not 95%. The library's band is now the 95% prediction interval
``mean +- t_{n-1} sd sqrt(1 + 1/n)``
(:func:`rgdata.diagnostics.prediction_band`), exact for Gaussian draws.

Measured here: ``N`` independent Gaussian AR(1) units (tau = 5 bins),
greedy pairing (the default), nulls shuffle and circular shift, each drawn
``n + 1`` times; the band of the first ``n`` draws against the held-out last
one, for the old percentile band and for the library's prediction band; plus
how often the data (independent units: exchangeable with their circular
shifts up to the one wrap point) fall in each circular-shift band and how
often ``|z_vs_data| > 1.96`` there.

Run from the repository root: ``PYTHONPATH=. python benchmarks/coverage_null_bands.py
[--reps 200]``.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import scipy.signal

import rgdata
from rgdata.diagnostics import prediction_band, run_with_nulls

N_UNITS, N_TIME, TAU = 32, 2000, 5.0


def ar1(rng: np.random.Generator, n: int, t: int, tau: float) -> np.ndarray:
    """``n`` independent stationary AR(1) series with ``C(lag) = exp(-lag / tau)``."""
    a = np.exp(-1.0 / tau)
    e = rng.normal(size=(n, t)) * np.sqrt(1 - a * a)
    e[:, 0] = rng.normal(size=n)
    return scipy.signal.lfilter([1.0], [1.0, -a], e, axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    n = args.draws
    rng = np.random.default_rng(args.seed)
    nulls = ("shuffle", "circular_shift")
    hits = {(k, m): [] for k in nulls for m in ("pct", "pred")}
    data_in = {"pct": [], "pred": []}
    z_big = []
    for rep in range(args.reps):
        act = rgdata.as_activity(ar1(rng, N_UNITS, N_TIME, TAU), kind="calcium")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = run_with_nulls(
                act, nulls, n_surrogates=n + 1, quantities=("variance",), random_state=rep
            )
        alpha = out["null_exponent"].sel(exponent_name="alpha")
        data = float(out["exponent"].sel(null="data", exponent_name="alpha"))
        se = float(out["exponent_se"].sel(null="data", exponent_name="alpha"))
        for k in nulls:
            d = alpha.sel(null=k).values
            band, new = d[:n], d[n]
            lo, hi = np.percentile(band, [2.5, 97.5])
            hits[(k, "pct")].append(lo <= new <= hi)
            plo, phi = prediction_band(band)
            hits[(k, "pred")].append(bool(plo <= new <= phi))
            if k == "circular_shift":
                data_in["pct"].append(lo <= data <= hi)
                data_in["pred"].append(bool(plo <= data <= phi))
                m, s = band.mean(), band.std(ddof=1)
                z_big.append(abs(data - m) / np.sqrt(se**2 + s**2) > 1.96)
    print(
        f"N = {N_UNITS} independent AR(1) units (tau = {TAU:g}), T = {N_TIME}, greedy pairing, "
        f"{args.reps} replicates, band over {n} draws; expectation for a new draw: "
        f"percentile band {0.95 * (n - 1) / (n + 1):.1%}, t prediction interval 95%"
    )
    print("| null | new draw in 2.5-97.5% band (before) | new draw in 95% prediction band |")
    print("|---|---|---|")
    for k in nulls:
        cells = []
        for m in ("pct", "pred"):
            p = float(np.mean(hits[(k, m)]))
            cells.append(f"{p:.1%} +- {np.sqrt(p * (1 - p) / args.reps):.1%}")
        print(f"| {k} | {cells[0]} | {cells[1]} |")
    p, pp, z = (float(np.mean(v)) for v in (data_in["pct"], data_in["pred"], z_big))
    print(
        f"data in circular-shift band: percentile {p:.1%}, prediction {pp:.1%}; "
        f"|z_vs_data| > 1.96: {z:.1%}"
    )


if __name__ == "__main__":
    main()
