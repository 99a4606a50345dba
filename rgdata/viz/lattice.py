"""Plots for lattice results."""

__all__: list[str] = []
