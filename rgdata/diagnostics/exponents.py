"""Scaling-exponent fits with block confidence intervals."""

__all__: list[str] = []
