"""Plots for maxent results."""

__all__: list[str] = []
