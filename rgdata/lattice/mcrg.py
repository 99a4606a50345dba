"""Monte Carlo RG (Swendsen 1979)."""

__all__: list[str] = []
