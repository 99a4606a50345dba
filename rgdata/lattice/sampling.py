"""Ising model sampling (numba kernels)."""

__all__: list[str] = []
