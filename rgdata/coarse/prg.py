"""Real-space phenomenological RG (Meshulam et al. 2019)."""

__all__: list[str] = []
