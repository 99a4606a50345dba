"""Plots for scaling results."""

__all__: list[str] = []
