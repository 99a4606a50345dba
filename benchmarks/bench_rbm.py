"""Benchmark: rgdata's RBM against scikit-learn's BernoulliRBM on critical 2D Ising configurations.

Both fit the same Wolff configurations at T_c (L = 16, 256 visible -> 64
hidden units) with the same 0/1 coding, learning rate, batch size (= number
of persistent chains), one Gibbs step per update and the same number of
epochs; rgdata's RBM is also run in its physics setting (+-1 units, L1
penalty). Quality on held-out configurations, computed the same way for
both from their fitted parameters: the exact pseudo-log-likelihood per site
(every site's conditional given the others, from the free energy) and the
one-step mean reconstruction error; then the held-out log-likelihood per
spin with log Z from annealed importance sampling (``rbm_log_likelihood``).
Data generation and the quality measures are not timed.

    .venv/bin/python benchmarks/bench_rbm.py [--quick]
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rgdata  # noqa: E402
from rgdata.lattice import exact  # noqa: E402
from rgdata.models import RBM  # noqa: E402
from rgdata.models._rbm_kernels import free_energy, hidden_mean  # noqa: E402
from rgdata.models.rbm_ais import rbm_log_likelihood  # noqa: E402


def pseudo_log_likelihood(v, W, a, b, coding):
    """Mean over sites and samples of log p(v_i | v_-i), exactly from the free energy."""
    base = free_energy(v, W, a, b, coding)
    total = 0.0
    for i in range(v.shape[1]):
        flipped = v.copy()
        flipped[:, i] = (1 - v[:, i]) if coding == "01" else -v[:, i]
        total += -np.logaddexp(0.0, base - free_energy(flipped, W, a, b, coding)).sum()
    return total / v.size


def reconstruction_error(v, W, a, b, coding):
    h = hidden_mean(v @ W + b, coding)
    return float(np.mean((v - hidden_mean(h @ W.T + a, coding)) ** 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2000 configurations, 5 epochs")
    parser.add_argument("--betas", type=int, default=2000, help="AIS annealing steps")
    args = parser.parse_args()
    n_train, n_epochs = (2000, 5) if args.quick else (10_000, 30)
    n_test = 500
    settings = {"lr": 0.05, "batch": 100}
    cfg = rgdata.lattice.sample_ising(
        16, exact.TC_2D, n_train + n_test, algorithm="wolff", random_state=0
    )
    spins = cfg.values.reshape(len(cfg), -1).astype(np.float64)
    train01, test01 = (spins[:n_train] + 1) / 2, (spins[n_train:] + 1) / 2
    print(
        f"RBM 256 -> 64 on {n_train} Wolff configurations at T_c (L = 16), {n_epochs} epochs, "
        f"batch {settings['batch']}, learning rate {settings['lr']}, PCD-1; held-out {n_test}"
    )

    from sklearn.neural_network import BernoulliRBM

    sk = BernoulliRBM(
        n_components=64,
        learning_rate=settings["lr"],
        batch_size=settings["batch"],
        n_iter=n_epochs,
        random_state=0,
    )
    t0 = time.perf_counter()
    sk.fit(train01)
    t_sk = time.perf_counter() - t0
    sk_params = (sk.components_.T, sk.intercept_visible_, sk.intercept_hidden_)

    ours = RBM(
        n_hidden=64,
        coding="01",
        learning_rate=settings["lr"],
        batch_size=settings["batch"],
        n_epochs=n_epochs,
        random_state=0,
    )
    t0 = time.perf_counter()
    ours.fit(train01)
    t_ours = time.perf_counter() - t0
    ours_params = (ours.weights_, ours.visible_bias_, ours.hidden_bias_)

    phys = RBM(
        n_hidden=64,
        coding="pm1",
        l1=1e-3,
        learning_rate=settings["lr"],
        batch_size=settings["batch"],
        n_epochs=n_epochs,
        random_state=0,
    )
    t0 = time.perf_counter()
    phys.fit(spins[:n_train])
    t_phys = time.perf_counter() - t0
    phys_params = (phys.weights_, phys.visible_bias_, phys.hidden_bias_)

    rows = [
        ("scikit-learn BernoulliRBM (0/1)", t_sk, sk_params, "01", test01),
        ("rgdata RBM (0/1)", t_ours, ours_params, "01", test01),
        ("rgdata RBM (+-1, l1=1e-3)", t_phys, phys_params, "pm1", spins[n_train:]),
    ]
    print(f"{'model':34s} {'fit s':>8s} {'ratio':>7s} {'PLL/site':>10s} {'recon err':>10s}")
    for name, t, params, coding, test in rows:
        pll = pseudo_log_likelihood(test, *params, coding)
        rec = reconstruction_error(test, *params, coding)
        if coding == "pm1":  # squared error of +-1 units is 4x that of 0/1 units
            rec /= 4
        print(f"{name:34s} {t:8.2f} {t / t_sk:7.2f} {pll:10.4f} {rec:10.4f}")
    # held-out log-likelihood per spin by AIS (the exact log Z needs <= 20 units in a layer);
    # p(v) over +-1 or 0/1 configurations is the same distribution, so the numbers compare
    print(f"\nheld-out log-likelihood per spin (AIS: 100 chains, {args.betas} betas, base rates)")
    for name, model, params, train, test in (
        ("scikit-learn BernoulliRBM (0/1)", ours, sk_params, train01, test01),
        ("rgdata RBM (0/1)", ours, ours_params, train01, test01),
        ("rgdata RBM (+-1, l1=1e-3)", phys, phys_params, spins[:n_train], spins[n_train:]),
    ):
        probe = copy.copy(model)
        probe.weights_, probe.visible_bias_, probe.hidden_bias_ = params
        ll = rbm_log_likelihood(probe, test, 100, args.betas, random_state=0, data=train)
        n_units = test.shape[1]
        print(
            f"{name:34s} {float(ll['log_likelihood']) / n_units:.4f} "
            f"+- {float(ll['log_likelihood_se']) / n_units:.4f} "
            f"(log Z {float(ll['log_z']):.2f} +- {float(ll['log_z_se']):.2f})"
        )
    last = ours.reconstruction_error_
    change = abs(last[-1] - last[-2]) / last[-1] if len(last) > 1 else float("nan")
    print(
        f"rgdata RBM (0/1) training reconstruction error: first epoch {last[0]:.4f}, "
        f"last {last[-1]:.4f}, relative change over the last epoch {change:.3%}"
    )


if __name__ == "__main__":
    main()
