"""Benchmark the loaders and readers against bare baselines run in the same process.

Each line prints the rgdata time, the baseline time and their ratio (the
overhead of validation, cleaning and labelling). Machines are noisy: compare
ratios, not absolute times.

    python benchmarks/bench_io.py           # full size
    python benchmarks/bench_io.py --quick   # a few seconds
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from rgdata import datasets
from rgdata.io import bin_spike_times, read_prices

DATA = Path(__file__).resolve().parents[1] / "datasets"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import best_of, ratio_line  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    args = parser.parse_args()
    repeat = 1 if args.quick else 3
    warnings.simplefilter("ignore")

    retina_npz = DATA / "retina_fishmovie" / "bint_fishmovie32_100.npz"
    ratio_line(
        "load_retina",
        best_of(datasets.load_retina, repeat),
        best_of(lambda: np.load(retina_npz)["spikes"].astype(np.int8), repeat),
        "np.load + astype",
    )
    close_csv = DATA / "stocks_sklearn" / "close_prices.csv"

    def bare_stocks():
        f = pd.read_csv(close_csv, index_col=0, parse_dates=True)
        return np.diff(np.log(f.to_numpy()), axis=0)

    ratio_line(
        "load_stocks('close')",
        best_of(datasets.load_stocks, repeat),
        best_of(bare_stocks, repeat),
        "read_csv + log diff",
    )
    ftse = DATA / "ftse100" / "ftse100_dataset.csv.gz"

    def bare_ftse():
        f = pd.read_csv(ftse, index_col=0, parse_dates=True).dropna()
        return np.diff(np.log(f.to_numpy()), axis=0)

    ratio_line(
        "load_ftse100()",
        best_of(datasets.load_ftse100, repeat),
        best_of(bare_ftse, repeat),
        "read_csv + dropna + log diff",
    )

    n_unit, n_day = (50, 1000) if args.quick else (500, 5000)
    rng = np.random.default_rng(0)
    prices = pd.DataFrame(
        100 * np.exp(np.cumsum(rng.normal(0, 0.01, size=(n_day, n_unit)), axis=0)),
        index=pd.bdate_range("2000-01-03", periods=n_day),
        columns=[f"T{j}" for j in range(n_unit)],
    )
    ratio_line(
        f"read_prices {n_unit}x{n_day} (frame)",
        best_of(lambda: read_prices(prices, corrections="auto"), repeat),
        best_of(lambda: np.diff(np.log(prices.to_numpy()), axis=0), repeat),
        "log diff only",
    )

    n_unit, rate, dur = (20, 5.0, 200.0) if args.quick else (200, 10.0, 2000.0)
    trains = [np.sort(rng.uniform(0, dur, size=rng.poisson(rate * dur))) for _ in range(n_unit)]
    width = 0.02
    edges = np.arange(0, dur + width, width)

    def bare_hist():
        return np.stack([np.histogram(t, bins=edges)[0] for t in trains])

    n_spikes = sum(len(t) for t in trains)
    ratio_line(
        f"bin_spike_times {n_unit} u, {n_spikes} sp",
        best_of(lambda: bin_spike_times(trains, width, t_start=0.0, t_stop=dur), repeat),
        best_of(bare_hist, repeat),
        "np.histogram per unit",
    )


if __name__ == "__main__":
    main()
