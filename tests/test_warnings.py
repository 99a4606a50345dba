"""Warnings point at the user's line (this file) and fire once per public call."""

import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest

import rgdata
from rgdata._warnings import once_per_call, warn_user, warning_scope
from rgdata.diagnostics import run_with_nulls
from rgdata.io import read_prices
from rgdata.maxent import MaxEntConvergenceWarning, PairwiseMaxEnt, QuarticModel

pytestmark = pytest.mark.filterwarnings("always")


def _record(func, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        func(*args, **kwargs)
    assert caught, f"{func.__qualname__} did not warn"
    return caught


def _assert_all_from_this_file(caught):
    for w in caught:
        assert w.filename == __file__, f"{w.message!s:.80} points at {w.filename}:{w.lineno}"


def test_pairwise_fit_convergence_warning_points_here():
    # raised in _finish, three rgdata frames below fit (and the once_per_call wrapper)
    x = (np.random.default_rng(0).random((6, 3000)) < 0.3).astype(np.int8)
    model = PairwiseMaxEnt(method="exact", max_iter=2)
    caught = _record(model.fit, rgdata.as_activity(x, kind="spikes"))
    assert any(issubclass(w.category, MaxEntConvergenceWarning) for w in caught)
    _assert_all_from_this_file(caught)


def test_quartic_heavy_tail_warning_points_here():
    # raised in fit_quartic_moments, called by QuarticModel.fit
    x = np.random.default_rng(1).standard_t(4, size=5000)
    caught = _record(QuarticModel().fit, x)
    assert any("heavier tails" in str(w.message) for w in caught)
    _assert_all_from_this_file(caught)


def test_read_prices_missing_warning_points_here():
    # raised in _apply_missing, two frames below read_prices
    dates = pd.date_range("2020-01-01", periods=6)
    table = pd.DataFrame(
        {"A": [1.0, 1.1, np.nan, 1.2, 1.3, 1.2], "B": [2.0, 2.1, 2.0, 2.2, 2.1, 2.3]}, index=dates
    )
    caught = _record(read_prices, table, missing="drop_dates")
    assert any("missing price" in str(w.message) for w in caught)
    _assert_all_from_this_file(caught)


def test_run_with_nulls_warns_here_and_once_per_call():
    # fit_exponent warns the same message for the data and for each null: once per call
    x = (np.random.default_rng(0).random((16, 300)) < 0.1).astype(np.int8)
    act = rgdata.as_activity(x, kind="spikes")
    caught = _record(run_with_nulls, act, nulls=("shuffle", "random_pairing"), random_state=0)
    _assert_all_from_this_file(caught)
    counts = Counter((w.category, str(w.message)) for w in caught)
    assert max(counts.values()) == 1, counts.most_common(1)
    # the record spans the whole call (the runs return their warnings to it)
    assert hasattr(run_with_nulls, "__wrapped__")  # once_per_call's wrapper
    # a second call warns again: the record is per call
    again = _record(run_with_nulls, act, nulls=("shuffle",), random_state=0)
    assert {str(w.message) for w in again} & {msg for _, msg in counts}


# ----------------------------------------------------------------------------- the helper
@once_per_call
def _public(n_repeats, message="repeated"):
    for _ in range(n_repeats):
        warn_user(message, RuntimeWarning)
    _nested()


@once_per_call
def _nested():
    warn_user("repeated", RuntimeWarning)
    warn_user("nested only", UserWarning)


def test_once_per_call_shares_the_outermost_record():
    caught = _record(_public, 3)
    assert [str(w.message) for w in caught] == ["repeated", "nested only"]
    # separate calls each warn
    assert len(_record(_public, 2)) == 2


def test_warn_user_outside_a_scope_always_warns():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            warn_user("plain", UserWarning)
    assert [str(w.message) for w in caught] == ["plain", "plain"]
    assert {w.filename for w in caught} == {__file__}


def test_warning_scope_block():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with warning_scope():
            warn_user("a")
            warn_user("a")
            warn_user("a", RuntimeWarning)  # another category is another warning
    assert [(w.category, str(w.message)) for w in caught] == [
        (UserWarning, "a"),
        (RuntimeWarning, "a"),
    ]
