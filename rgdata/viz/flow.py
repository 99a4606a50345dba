"""Plots for flow results."""

__all__: list[str] = []
