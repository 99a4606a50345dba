"""How the report sections write a value with its error (one rule for every section)."""

from __future__ import annotations

__all__ = ["plus_minus", "plus_minus_sig"]


def plus_minus(value: float, err: float, digits: int = 3) -> str:
    """``value ± err`` with *digits* decimals each.

    Examples
    --------
    >>> plus_minus(1.23456, 0.0123)
    '1.235 ± 0.012'
    """
    return f"{value:.{digits}f} ± {err:.{digits}f}"


def plus_minus_sig(value: float, err: float) -> str:
    """``value ± err`` with three significant digits for the value and two for the error.

    Examples
    --------
    >>> plus_minus_sig(1234.5, 0.0123)
    '1.23e+03 ± 0.012'
    """
    return f"{value:.3g} ± {err:.2g}"
