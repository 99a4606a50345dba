"""Gaussian-plus-quartic models for momentum-space RG flows."""

__all__: list[str] = []
