"""Self-similarity scores between successive coarse-graining levels."""

__all__: list[str] = []
