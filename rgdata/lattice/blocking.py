"""Block-spin transforms: majority rule and decimation."""

__all__: list[str] = []
