"""Grids of simulations over (T, L, seed), serial or dask."""

__all__: list[str] = []
