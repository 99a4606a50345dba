"""Null models (surrogates) run through the same pipeline."""

__all__: list[str] = []
