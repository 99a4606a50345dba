"""Plots for overview results."""

__all__: list[str] = []
