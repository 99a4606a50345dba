"""MPS classifier on scikit-learn's digits: test error against chi, next to the baselines.

Run from the repository root (through the shared timing lock)::

    .venv/bin/python benchmarks/bench_mps.py [--quick]

Fits ``MPSClassifier`` (3 sweeps) on a stratified 75/25 split of the 1,797
8x8 digits rescaled to [0, 1], at each chi, and scikit-learn's
LogisticRegression and SVC (RBF) on the same split in the same run; prints the
test error with its binomial standard error and the time ratio against
LogisticRegression. ``--quick`` runs chi = 2, 10, 20 only on the same data.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

from rgdata.models.mps import MPSClassifier


def _timed(make, Xtr, ytr, Xte, yte):
    t0 = time.perf_counter()
    model = make().fit(Xtr, ytr)
    seconds = time.perf_counter() - t0
    err = 1.0 - float(np.mean(model.predict(Xte) == yte))
    return seconds, err


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="chi = 2, 10, 20 only")
    args = parser.parse_args()
    digits = load_digits()
    X, y = digits.data / 16.0, digits.target
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    n_test = len(yte)

    def se(err: float) -> float:
        return float(np.sqrt(err * (1 - err) / n_test))

    rows = [
        ("LogisticRegression", lambda: LogisticRegression(max_iter=2000)),
        ("SVC (rbf)", lambda: SVC()),
    ]
    chis = (2, 10, 20) if args.quick else (2, 5, 10, 20)
    rows += [(f"MPS chi={c}", lambda c=c: MPSClassifier(chi=c, random_state=0)) for c in chis]
    base = None
    print(f"digits: {len(ytr)} train, {n_test} test, {X.shape[1]} sites")
    for name, make in rows:
        seconds, err = _timed(make, Xtr, ytr, Xte, yte)
        base = base if base is not None else seconds
        print(
            f"{name:<20s} test error {err:.4f} +- {se(err):.4f}   "
            f"time {seconds:7.2f} s   ratio to LogisticRegression {seconds / base:8.1f}"
        )


if __name__ == "__main__":
    main()
