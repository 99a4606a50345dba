"""Shared input checks: the one place where arguments are validated.

Every public function validates through these helpers so that errors look
alike: ``TypeError`` for the wrong kind of thing, ``ValueError`` for a bad
value, and a message that names the argument, what was received and what is
accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any

import numpy as np

__all__ = [
    "check_random_state",
    "check_option",
    "check_int",
    "check_real",
    "check_array",
    "check_finite",
    "check_binary",
    "check_dataset",
    "describe",
]


def describe(value: Any) -> str:
    """Short description of *value* for error messages."""
    if isinstance(value, np.ndarray):
        return f"ndarray of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def check_random_state(random_state: Any, name: str = "random_state") -> np.random.Generator:
    """Turn *random_state* into a :class:`numpy.random.Generator`.

    Parameters
    ----------
    random_state : None, int, numpy.random.Generator or numpy.random.SeedSequence
        ``None`` gives fresh OS entropy (not reproducible), an int or a
        SeedSequence seeds a new PCG64 generator, a Generator is used as is.
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.SeedSequence):
        return np.random.default_rng(random_state)
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"{name} must be a non-negative int, got {random_state}")
        return np.random.default_rng(int(random_state))
    raise TypeError(
        f"{name} must be None, a non-negative int or a numpy.random.Generator, "
        f"got {describe(random_state)}"
    )


def check_option(value: Any, name: str, options: Iterable[str]) -> str:
    """Check that *value* is one of *options* (strings) and return it."""
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        accepted = ", ".join(repr(o) for o in options)
        raise ValueError(f"unknown {name} {value!r}; accepted: {accepted}")
    return value


def check_dtype_option(value: Any, name: str, options: Iterable[str]) -> str:
    """Check a precision option and return its name.

    *value* may be one of *options* or anything :class:`numpy.dtype` accepts
    (``np.float32``, ``np.dtype("float64")``, ``"f4"``) whose name is one of them.
    """
    options = tuple(options)
    if isinstance(value, str) and value in options:
        return value
    try:
        canonical = np.dtype(value).name if value is not None else None
    except TypeError:
        canonical = None
    if canonical not in options:
        accepted = ", ".join(repr(o) for o in options)
        raise ValueError(
            f"unknown {name} {value!r}; accepted: {accepted} (or the numpy dtype of one)"
        )
    return canonical


def _within_bounds(
    value: Any,
    name: str,
    min_value: Any = None,
    max_value: Any = None,
    *,
    strict_min: bool = False,
) -> Any:
    """Return *value* if it lies within the bounds, else raise the ValueError naming *name*."""
    if min_value is not None:
        if strict_min and value <= min_value:
            raise ValueError(f"{name} must be > {min_value}, got {value}")
        if not strict_min and value < min_value:
            raise ValueError(f"{name} must be >= {min_value}, got {value}")
    if max_value is not None and value > max_value:
        raise ValueError(f"{name} must be <= {max_value}, got {value}")
    return value


def check_int(
    value: Any, name: str, *, min_value: int | None = None, max_value: int | None = None
) -> int:
    """Check that *value* is an integer within ``[min_value, max_value]``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {describe(value)}")
    return _within_bounds(int(value), name, min_value, max_value)


def check_real(
    value: Any,
    name: str,
    *,
    min_value: float | None = None,
    max_value: float | None = None,
    strict_min: bool = False,
) -> float:
    """Check that *value* is a finite real number within bounds."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {describe(value)}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return _within_bounds(value, name, min_value, max_value, strict_min=strict_min)


def check_array(
    data: Any,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    dtype: Any = None,
    finite: bool = True,
) -> np.ndarray:
    """Convert *data* to an array and check its dimensionality and values.

    Object, string and complex arrays are refused (``TypeError``); with
    ``finite=True`` NaN or inf values raise ``ValueError`` naming how many
    and where the first one is.
    """
    try:
        arr = np.asarray(data) if dtype is None else np.asarray(data, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be array-like of numbers, got {describe(data)}") from err
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold booleans, integers or floats, got dtype {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            raise ValueError(
                f"{name} must have {' or '.join(map(str, allowed))} dimensions, "
                f"got {arr.ndim} (shape {arr.shape})"
            )
    if finite:
        check_finite(arr, name)
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` if *arr* holds NaN or inf, saying how many and where."""
    if arr.dtype.kind != "f":
        return
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} contains {int(bad.sum())} NaN/inf value(s) (first at index {first}); "
            "remove or impute them first (the loaders' missing= option does this)"
        )


def check_binary(arr: np.ndarray, name: str) -> str:
    """Check that *arr* is binary; return ``"01"`` or ``"pm1"`` for its coding.

    Runs in a few passes over the data (no sort), so it is cheap on
    recordings with tens of millions of bins.
    """
    arr = np.asarray(arr)
    if arr.dtype == bool:
        return "01"
    if arr.size:
        lo, hi = arr.min(), arr.max()
        is_01 = lo >= 0 and hi <= 1 and (arr.dtype.kind in "iu" or np.all((arr == 0) | (arr == 1)))
        if is_01:
            return "01"
        if lo >= -1 and hi <= 1:
            if not np.any(arr == 0) and (arr.dtype.kind in "iu" or np.all(np.abs(arr) == 1)):
                return "pm1"
    values = np.unique(arr)
    shown = ", ".join(str(v) for v in values[:6])
    raise ValueError(
        f"{name} must be binary, coded 0/1 or -1/+1; got values {{{shown}"
        f"{', ...' if values.size > 6 else ''}}}"
    )


def check_dataset(ds: Any, needed: Iterable[str], name: str) -> Any:
    """Check that *ds* is an :class:`xarray.Dataset` holding the variables *needed*.

    Used by the plotting functions, which take results and never compute them.
    """
    import xarray as xr

    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"{name} must be an xarray.Dataset, got {describe(ds)}")
    missing = [v for v in needed if v not in ds]
    if missing:
        raise ValueError(f"{name} lacks variable(s) {missing}; it holds {list(ds.data_vars)}")
    return ds
