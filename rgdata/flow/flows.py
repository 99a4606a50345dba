"""Parameter flows across levels, fixed points, linearised eigenvalues."""

__all__: list[str] = []
