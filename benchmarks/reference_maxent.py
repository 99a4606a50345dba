"""Run one ConIII 3.0.1 solver on planted data (executed inside benchmarks/.venv-coniii).

Usage: python reference_maxent.py IN.npz|IN.npy OUT.npz SOLVER [key=value ...]
IN.npz holds ``x`` (T, N) spins +-1 and MCH settings; IN.npy holds ``x`` only, the MCH
settings (mch_sample_size, mch_maxiter) then come as key=value arguments. OUT.npz
receives ``h``, ``J`` (+-1 coding, log P = h.s + sum_{i<j} J_ij s_i s_j) and ``seconds``
(solve time only). Called by bench_maxent.py and bench_peers_maxent.py; not part of
rgdata.
"""

import os
import sys
import time
import warnings

os.environ.setdefault("CONDA_PREFIX", sys.prefix)
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402


def main() -> None:
    src, dst, solver = sys.argv[1:4]
    if src.endswith(".npy"):
        data = {"x": np.load(src)}
        data.update((k, int(v)) for k, v in (a.split("=") for a in sys.argv[4:]))
    else:
        data = np.load(src)
    x = data["x"].astype(np.int64)
    n = x.shape[1]
    from coniii import MCH, Enumerate, Pseudo  # noqa: I001
    from coniii.utils import define_ising_helper_functions

    t0 = time.perf_counter()
    if solver == "enumerate":
        s = Enumerate(x, iprint=False)
        mult = s.solve()
    elif solver == "pseudo":
        s = Pseudo(x, iprint=False)
        mult = s.solve()
    elif solver == "mch":
        sample_size = int(data["mch_sample_size"])
        maxiter = int(data["mch_maxiter"])
        s = MCH(
            x,
            sample_size=sample_size,
            iprint=False,
            n_cpus=1,
            rng=np.random.RandomState(0),
        )
        # ConIII 3.0.1's sampler returns int8 samples but its numba calc_e is typed for
        # int64: cast them (a compatibility shim; the algorithm is unchanged)
        approx = s.mch_approximation
        s.mch_approximation = lambda samples, dlamda: approx(samples.astype(np.int64), dlamda)
        mult = s.solve(
            initial_guess=np.zeros(n + n * (n - 1) // 2),
            maxiter=maxiter,
            n_iters=10 * n,
            burn_in=10 * n,
            custom_convergence_f=lambda i: (
                {"maxdlamda": 0.1, "eta": 0.5} if i < 10 else {"maxdlamda": 0.05, "eta": 0.1}
            ),
        )
    else:
        raise SystemExit(f"unknown solver {solver}")
    seconds = time.perf_counter() - t0
    del define_ising_helper_functions
    h = np.asarray(mult[:n])
    J = np.zeros((n, n))
    J[np.triu_indices(n, 1)] = mult[n:]
    np.savez(dst, h=h, J=J + J.T, seconds=seconds)


if __name__ == "__main__":
    main()
