"""One home for an exponent fit: a Dataset, and its columns on an ``exponent_name`` dim.

:func:`~rgdata.diagnostics.fit_exponent` returns a fit as an
``xarray.Dataset`` (scalar numbers as variables, per-block exponents on the
result's ``block`` dim, per-level flags on its ``level`` dim, the words --
quantity, method, status, notes -- as plain string attrs).
:func:`~rgdata.diagnostics.fit_exponents` stacks several fits onto a result as
variables on an ``exponent_name`` dim (alpha, beta, mu, z), named
``exponent``, ``exponent_ci_low``, ``exponent_blocks``, ``exponent_r2``...
(every fit variable ``v`` becomes ``exponent_v`` unless it already starts
with ``exponent``; string attrs become string variables), and
:func:`exponent_fit` reads one back as the Dataset that ``fit_exponent`` gave.
Nothing goes through JSON, so every number round-trips through netCDF and
lives in one place.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import describe

__all__ = ["exponent_fit", "FIT_TEXT_FIELDS"]

#: string attrs of a fit Dataset (string variables ``exponent_<name>`` when attached)
FIT_TEXT_FIELDS = ("quantity", "method", "ci_method", "k_range_rule", "ci_note", "status")


_FLOAT_FIELDS = (
    "exponent ci_low ci_high se block_sd r2 intercept curvature curvature_ci_low "
    "curvature_ci_high slope_lower_half slope_upper_half k_min k_max ci_level"
).split()
_INT_FIELDS = ("curvature_significant", "n_points", "n_blocks_used", "min_clusters")


def as_dataset(
    result: xr.Dataset, out: dict[str, Any], block_used: list[int], levels: np.ndarray
) -> xr.Dataset:
    """The fit fields of :func:`fit_exponent` as a Dataset (numbers as variables)."""
    n_blocks = result.sizes["block"]
    n_levels = result.sizes["level"]
    blocks = np.full(n_blocks, np.nan)
    blocks[np.asarray(block_used, dtype=int)] = out["block_exponents"]
    flags = {}
    for name, idx in (
        ("level_in_fit", np.unique(levels) if block_used else []),
        ("level_dropped", out["levels_dropped"]),
        ("level_lower_bound", out["levels_lower_bound"]),
    ):
        flag = np.zeros(n_levels, dtype=bool)
        flag[np.asarray(idx, dtype=int)] = True
        flags[name] = ("level", flag)
    data: dict[str, Any] = {f: ((), float(out[f])) for f in _FLOAT_FIELDS}
    data.update({f: ((), int(out[f])) for f in _INT_FIELDS})
    data["k_range_requested"] = ("bound", np.asarray(out["k_range_requested"], dtype=float))
    data["exponent_blocks"] = ("block", blocks)
    data.update(flags)
    coords = {
        "bound": ["low", "high"],
        "block": result["block"].values if "block" in result.coords else np.arange(n_blocks),
        "level": result["level"].values if "level" in result.coords else np.arange(n_levels),
    }
    attrs = {"exponent_name": str(out["exponent_name"])}
    attrs.update({f: str(out[f]) for f in FIT_TEXT_FIELDS})
    return xr.Dataset(data, coords=coords, attrs=attrs)


def attached_name(field: str) -> str:
    """Variable name of a fit field once attached on the ``exponent_name`` dim."""
    return field if field.startswith("exponent") else f"exponent_{field}"


def fit_fields(fit: xr.Dataset) -> list[str]:
    """Names of the fields of a fit Dataset: its variables, then its string attrs."""
    return [*fit.data_vars, *FIT_TEXT_FIELDS]


def stack_fits(fits: list[xr.Dataset]) -> xr.Dataset:
    """The fits as variables on an ``exponent_name`` dim (one entry per fit)."""
    columns = []
    for fit in fits:
        ds = fit.copy()
        ds.attrs = {}
        for field in FIT_TEXT_FIELDS:
            ds[field] = ((), str(fit.attrs.get(field, "")))
        columns.append(ds)
    out = xr.concat(columns, dim="exponent_name", data_vars="all", coords="minimal")
    out = out.rename({v: attached_name(str(v)) for v in out.data_vars})
    names = [str(f.attrs["exponent_name"]) for f in fits]
    return out.assign_coords(exponent_name=names)


def fill_values(fitted: xr.Dataset) -> dict[Any, Any]:
    """Per-variable fill for entries a fit does not have: NaN, 0, False or "" by dtype."""
    fill: dict[Any, Any] = {}
    for name, var in fitted.data_vars.items():
        fill[name] = {"f": np.nan, "b": False, "U": "", "S": "", "O": ""}.get(var.dtype.kind, 0)
    return fill


def reindex_symbols(fitted: xr.Dataset, symbols: tuple[str, ...]) -> xr.Dataset:
    """Fit variables on *symbols*: missing ones are NaN, 0, False or "" by dtype."""
    out = fitted.reindex(exponent_name=list(symbols), fill_value=fill_values(fitted))
    for name, var in fitted.data_vars.items():
        if var.dtype.kind == "U":
            out[name] = out[name].astype(str)
    return out


def fit_variables(result: xr.Dataset) -> list[str]:
    """The attached fit variables of *result* (the ``exponent_*`` columns)."""
    return [
        str(v)
        for v, var in result.data_vars.items()
        if "exponent_name" in var.dims and str(v).startswith("exponent")
    ]


def exponent_fit(result: xr.Dataset, exponent_name: str) -> xr.Dataset:
    """One attached exponent fit, as the Dataset :func:`fit_exponent` returned.

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`rgdata.diagnostics.fit_exponents` (or one ``null``
        of :func:`rgdata.diagnostics.run_with_nulls`, where ``exponent``,
        ``ci_low`` and ``ci_high`` of a null are its mean and 95 % prediction
        band over draws and the other fields are those of its first draw).
    exponent_name : {"alpha", "beta", "mu", "z"}
        Which exponent.

    Returns
    -------
    xarray.Dataset
        Variables ``exponent``, ``ci_low``, ``ci_high``, ``se``, ``r2``,
        ``exponent_blocks (block)``... and string attrs ``quantity``,
        ``exponent_name``, ``method``, ``ci_method``, ``k_range_rule``,
        ``ci_note``, ``status`` (empty strings where the exponent was not
        fitted).

    Raises
    ------
    TypeError
        *result* is not a Dataset.
    ValueError
        *result* holds no fits, or not this exponent.

    Examples
    --------
    >>> import numpy as np, rgdata
    >>> from rgdata.diagnostics import fit_exponents, exponent_fit
    >>> x = (np.random.default_rng(1).random((64, 4000)) < 0.2).astype(np.int8)
    >>> res = fit_exponents(rgdata.coarse.prg(rgdata.as_activity(x)), ("variance",))
    >>> fit = exponent_fit(res, "alpha")
    >>> fit.attrs["quantity"], bool(abs(float(fit["exponent"]) - 1) < 0.2)
    ('variance', True)
    """
    if not isinstance(result, xr.Dataset):
        raise TypeError(
            "result must be an xarray.Dataset from rgdata.diagnostics.fit_exponents, "
            f"got {describe(result)}"
        )
    names = fit_variables(result)
    if "exponent_quantity" not in names:
        raise ValueError(
            "result holds no exponent fits (no 'exponent_quantity' on an 'exponent_name' "
            "dim); run rgdata.diagnostics.fit_exponents on it first"
        )
    available = [str(s) for s in result["exponent_name"].values]
    if exponent_name not in available:
        raise ValueError(f"exponent_name must be one of {available}, got {exponent_name!r}")
    row = result[names].sel(exponent_name=exponent_name, drop=True)
    attrs = {"exponent_name": exponent_name}
    for field in FIT_TEXT_FIELDS:
        name = attached_name(field)
        if name in row:
            attrs[field] = str(row[name].values)
            row = row.drop_vars(name)
    back = {
        v: v[len("exponent_") :] for v in row.data_vars if v not in ("exponent", "exponent_blocks")
    }
    row = row.rename(back)
    row.attrs = attrs
    return row
