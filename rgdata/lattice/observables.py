"""Observables with error bars and finite-size scaling."""

__all__: list[str] = []
