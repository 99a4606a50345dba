"""rgdata.diagnostics (see README module map)."""

__all__: list[str] = []
