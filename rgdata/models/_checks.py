"""``check_model``: the conformance test every model in :mod:`rgdata.models` passes."""

from __future__ import annotations

import os
import tempfile
from numbers import Integral
from typing import Any

import numpy as np
import xarray as xr
from sklearn.base import clone

from .._estimator import NotFittedError
from ._protocol import GenerativeModel

__all__ = ["check_model", "ModelCheckError"]


class ModelCheckError(AssertionError):
    """A model breaks the :mod:`rgdata.models` protocol (raised by :func:`check_model`)."""


def _values(draw: Any) -> np.ndarray:
    if isinstance(draw, xr.Dataset):
        return np.concatenate([np.ravel(draw[v].values) for v in sorted(draw.data_vars)])
    if isinstance(draw, xr.DataArray):
        return draw.values
    return np.asarray(draw)


def _fail(model: Any, message: str) -> None:
    raise ModelCheckError(f"{type(model).__name__}: {message}")


def check_model(
    model: Any,
    X: Any,
    *,
    n: int = 4,
    fit_kwargs: dict[str, Any] | None = None,
    sample_kwargs: dict[str, Any] | None = None,
) -> None:
    """Check that *model* follows the :mod:`rgdata.models` protocol on data *X*.

    Runs on a :func:`sklearn.base.clone` of *model* (the argument is left
    untouched) and checks, in order: the object satisfies
    :class:`~rgdata.models.GenerativeModel`; ``clone`` keeps its parameters;
    ``sample`` before ``fit`` raises ``NotFittedError``; ``fit(X)`` returns
    the model itself; ``sample(n, random_state=s)`` returns *n* draws,
    identical for the same seed and different for different seeds; a refit
    with the same integer ``random_state`` gives the same ``to_dataset()``;
    ``to_dataset()`` is a Dataset whose variables carry ``units`` and
    ``description`` attrs and which round-trips through netCDF
    (``engine="h5netcdf"``) unchanged; ``log_prob(X)`` gives one finite
    number per sample when ``has_log_prob`` is true and raises
    ``NotImplementedError`` otherwise.

    Parameters
    ----------
    model : estimator
        An unfitted model (fitted ones are cloned, so it does not matter).
    X : object
        Training data small enough to fit in seconds.
    n : int
        Number of samples drawn in the sampling checks.
    fit_kwargs, sample_kwargs : dict, optional
        Extra keyword arguments for ``fit`` and ``sample``.

    Raises
    ------
    ModelCheckError
        (an ``AssertionError``) naming the model and the first broken rule.

    Examples
    --------
    >>> import numpy as np
    >>> from rgdata.models import InverseRGUpsampler, check_model
    >>> spins = np.random.default_rng(0).choice(np.array([-1, 1], np.int8), (8, 8, 8))
    >>> check_model(InverseRGUpsampler(random_state=0), spins)
    """
    fit_kwargs = dict(fit_kwargs or {})
    sample_kwargs = dict(sample_kwargs or {})
    if not isinstance(model, GenerativeModel):
        missing = [
            name
            for name in ("fit", "sample", "log_prob", "to_dataset", "has_log_prob")
            if not hasattr(model, name)
        ]
        _fail(model, f"does not satisfy GenerativeModel (missing {missing})")
    params = model.get_params(deep=False)
    fresh = clone(model)
    if type(fresh) is not type(model) or sorted(fresh.get_params(deep=False)) != sorted(params):
        _fail(model, "clone() does not rebuild the same estimator with the same parameters")

    try:
        fresh.sample(n, random_state=0, **sample_kwargs)
    except NotFittedError:
        pass
    else:
        _fail(model, "sample() before fit() must raise NotFittedError")

    fitted = fresh.fit(X, **fit_kwargs)
    if fitted is not fresh:
        _fail(model, f"fit() must return self, returned {type(fitted).__name__}")

    first = fitted.sample(n, random_state=0, **sample_kwargs)
    again = fitted.sample(n, random_state=0, **sample_kwargs)
    other = fitted.sample(n, random_state=1, **sample_kwargs)
    if not isinstance(first, xr.Dataset) and len(_values(first)) != n:
        _fail(model, f"sample({n}) returned {len(_values(first))} draws")
    if not np.array_equal(_values(first), _values(again)):
        _fail(model, "sample() with the same random_state gave different draws")
    if np.array_equal(_values(first), _values(other)):
        _fail(model, "sample() with random_state=0 and 1 gave identical draws")

    ds = fitted.to_dataset()
    if not isinstance(ds, xr.Dataset):
        _fail(model, f"to_dataset() must return an xarray.Dataset, got {type(ds).__name__}")
    for name, var in ds.data_vars.items():
        absent = [key for key in ("units", "description") if key not in var.attrs]
        if absent:
            _fail(model, f"to_dataset() variable {name!r} lacks attrs {absent}")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.nc")
        try:
            ds.to_netcdf(path, engine="h5netcdf")
        except (TypeError, ValueError) as err:
            _fail(model, f"to_dataset() cannot be written to netCDF: {err}")
        with xr.open_dataset(path, engine="h5netcdf") as back:
            back = back.load()
    try:
        xr.testing.assert_identical(back, ds)
    except AssertionError as err:
        _fail(model, f"to_dataset() does not round-trip through netCDF: {err}")

    seed = params.get("random_state")
    if isinstance(seed, Integral) and not isinstance(seed, bool):
        refit = clone(model).fit(X, **fit_kwargs).to_dataset()
        try:
            xr.testing.assert_identical(refit, ds)
        except AssertionError as err:
            _fail(model, f"two fits with random_state={seed} differ: {err}")

    if model.has_log_prob:
        log_p = np.asarray(fitted.log_prob(X), dtype=np.float64)
        if log_p.ndim != 1 or not np.all(np.isfinite(log_p)):
            _fail(model, f"log_prob(X) must be a 1-d finite array, got {log_p!r}")
    else:
        try:
            fitted.log_prob(X)
        except NotImplementedError:
            pass
        else:
            _fail(model, "has_log_prob is False but log_prob() did not raise NotImplementedError")
