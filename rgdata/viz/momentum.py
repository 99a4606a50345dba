"""Plots for momentum results."""

__all__: list[str] = []
