"""Exact Ising results: Onsager, Kaufman finite torus, brute-force enumeration."""

__all__: list[str] = []
