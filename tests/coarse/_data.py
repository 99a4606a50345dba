"""Test data shared by the PRG pairing tests."""

import numpy as np


def tied_spikes(n: int, t: int, seed: int, dtype=np.int8) -> np.ndarray:
    """Binary spikes of *n* units in groups of 8 sharing a drive: many exactly tied correlations."""
    rng = np.random.default_rng(seed)
    drive = rng.random((n // 8, t)) < 0.05
    x = (rng.random((n, t)) < 0.02) | drive[np.arange(n) % (n // 8)] & (rng.random((n, t)) < 0.5)
    return x.astype(dtype)
