"""Exponents of the shipped datasets beside their nulls, each null over 10 seeded draws.

Prints the markdown table quoted in docs/coarse_graining.md ("On the shipped data"):
data exponent with its 95 % block CI, and for every null the mean over draws with the
95 % prediction band (mean +- t_{n-1} sd sqrt(1 + 1/n)) and
z = (data - null mean) / sqrt(se_data^2 + sd_null^2).

    python benchmarks/shipped_nulls.py [--datasets retina stocks ftse100]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from rgdata import datasets
from rgdata.diagnostics import run_with_nulls

SYMBOLS = ("alpha", "beta", "mu", "z")


def _load(name: str):
    if name == "retina":
        return datasets.load_retina(), (
            "shuffle",
            "circular_shift",
            "trial_shuffle",
            "random_pairing",
        )
    if name == "stocks":
        return datasets.load_stocks(), ("shuffle", "circular_shift", "random_pairing")
    return datasets.load_ftse100(missing="drop_dates"), (
        "shuffle",
        "circular_shift",
        "random_pairing",
    )


def _cell(res, null: str, sym: str) -> str:
    sel = res.sel(null=null, exponent_name=sym)
    value = float(sel["exponent"])
    if not np.isfinite(value):
        return "-"
    lo, hi = float(sel["exponent_ci_low"]), float(sel["exponent_ci_high"])
    band = f"[{lo:.3f}, {hi:.3f}]" if np.isfinite(lo) else "[no CI]"
    if null == "data":
        return f"{value:.3f} {band}"
    return f"{value:.3f} {band}, z {float(sel['z_vs_data']):.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["retina", "stocks", "ftse100"])
    args = ap.parse_args()
    for name in args.datasets:
        act, nulls = _load(name)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = run_with_nulls(act, nulls=nulls, n_surrogates=10, random_state=0)
        took = time.perf_counter() - start
        shape = "x".join(str(v) for v in act.shape)
        print(f"\n{name} ({shape}), 10 draws per null, {took:.0f} s\n")
        print("| run | " + " | ".join(SYMBOLS) + " |")
        print("|---|" + "---|" * len(SYMBOLS))
        for null in res["null"].values:
            print(f"| {null} | " + " | ".join(_cell(res, str(null), s) for s in SYMBOLS) + " |")


if __name__ == "__main__":
    main()
