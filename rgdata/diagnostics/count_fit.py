"""How well a model predicts the distribution P(K) of the number of active units.

:func:`count_distribution_z` turns the ``pk_*`` variables of a maximum-entropy
goodness-of-fit Dataset (:meth:`rgdata.maxent.PairwiseMaxEnt.goodness_of_fit`)
into one number: the rms over the counts K seen in the data of
``(P_model(K) - P_data(K)) / SE(K)``, with ``SE`` the block standard error of
the data.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._validation import describe

__all__ = ["count_distribution_z"]


def count_distribution_z(gof: xr.Dataset, prediction: str = "pk_model") -> float:
    """rms z-score of a predicted count distribution P(K) against the data.

    Parameters
    ----------
    gof : xarray.Dataset
        A goodness-of-fit Dataset with ``pk_data``, ``pk_se`` and *prediction*
        on the count dim.
    prediction : str
        The variable holding the prediction: ``"pk_model"`` (the fitted
        model) or ``"pk_independent"`` (the independent null).

    Returns
    -------
    float
        ``sqrt(mean_K ((P_pred(K) - P_data(K)) / SE(K))^2)`` over the counts
        K with ``P_data(K) > 0`` (NaN when there are none).

    Examples
    --------
    >>> import xarray as xr
    >>> gof = xr.Dataset({"pk_data": ("K", [0.5, 0.5, 0.0]), "pk_se": ("K", [0.1, 0.1, 0.1]),
    ...                   "pk_model": ("K", [0.6, 0.3, 0.1])})
    >>> round(count_distribution_z(gof), 6)  # z = 1 and 2 on the seen counts
    1.581139
    """
    if not isinstance(gof, xr.Dataset):
        raise TypeError(f"gof must be an xarray.Dataset, got {describe(gof)}")
    missing = [v for v in ("pk_data", "pk_se", prediction) if v not in gof]
    if missing:
        raise ValueError(
            f"gof lacks {missing}; accepted: a goodness-of-fit Dataset with pk_data, pk_se "
            f"and the prediction (variables here: {sorted(gof.data_vars)[:8]})"
        )
    data, se = gof["pk_data"].values, gof["pk_se"].values
    seen = data > 0
    if not seen.any():
        return float("nan")
    z = (gof[prediction].values[seen] - data[seen]) / se[seen]
    return float(np.sqrt(np.mean(z**2)))
