"""Momentum-space PCA-RG (Bradde & Bialek 2017)."""

__all__: list[str] = []
