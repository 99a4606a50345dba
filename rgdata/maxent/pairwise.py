"""Pairwise and K-pairwise maximum-entropy (inverse Ising) models."""

__all__: list[str] = []
