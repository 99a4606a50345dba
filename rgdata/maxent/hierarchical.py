"""Hierarchical maximum entropy via the RG recursion."""

__all__: list[str] = []
