"""Every estimator: one NotFittedError before fit, and a refit equals a fresh fit."""

import warnings

import numpy as np
import pytest
import xarray as xr
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import rgdata
from rgdata.maxent import (
    HierarchicalMaxEnt,
    IndependentMaxEnt,
    KPairwiseMaxEnt,
    MaxEntConvergenceWarning,
    PairwiseMaxEnt,
    QuarticModel,
)


def _spikes(n_units, n_time=4000, p=0.2, seed=0):
    x = (np.random.default_rng(seed).random((n_units, n_time)) < p).astype(np.int8)
    return rgdata.as_activity(x, kind="spikes")


def _assert_same_fitted_state(refit, fresh):
    """Same learned attributes (``name_``) with equal values, and no extra private state."""
    assert set(vars(refit)) == set(vars(fresh))
    for name in vars(fresh):
        if name.endswith("_"):
            np.testing.assert_equal(getattr(refit, name), getattr(fresh, name), err_msg=name)


# ----------------------------------------------------------------------------- not fitted
_ACT = _spikes(4, 500)
_PAIRWISE_CALLS = {
    "predict_means": lambda m: m.predict_means(),
    "predict_correlations": lambda m: m.predict_correlations(),
    "predict_count_distribution": lambda m: m.predict_count_distribution(),
    "predict_three_point": lambda m: m.predict_three_point([[0, 1, 2]]),
    "entropy": lambda m: m.entropy(),
    "log_likelihood": lambda m: m.log_likelihood(_ACT),
    "multi_information_fraction": lambda m: m.multi_information_fraction(_ACT),
    "sample": lambda m: m.sample(10, random_state=0),
    "to_dataset": lambda m: m.to_dataset(),
    "goodness_of_fit": lambda m: m.goodness_of_fit(_ACT),
}


@pytest.mark.parametrize("cls", [PairwiseMaxEnt, KPairwiseMaxEnt, IndependentMaxEnt])
@pytest.mark.parametrize("call", sorted(_PAIRWISE_CALLS))
def test_pairwise_family_not_fitted(cls, call):
    with pytest.raises(NotFittedError, match=rf"this {cls.__name__} is not fitted yet: call fit"):
        _PAIRWISE_CALLS[call](cls())


@pytest.mark.parametrize("call", ["moments", "pdf", "sample"])
def test_quartic_not_fitted(call):
    args = {"moments": (), "pdf": (0.0,), "sample": (10,)}[call]
    with pytest.raises(NotFittedError, match=r"QuarticModel is not fitted yet: call fit\(x\)"):
        getattr(QuarticModel(), call)(*args)


def test_hierarchical_not_fitted():
    m = HierarchicalMaxEnt([1.0, 1.0], maps=[np.array([0, 0, 1, 1])])
    with pytest.raises(
        NotFittedError, match=r"HierarchicalMaxEnt is not fitted yet: call fit\(f\)"
    ):
        m.to_dataset()


def test_not_fitted_error_is_a_value_error():
    # callers that caught the old ValueError keep working
    with pytest.raises(ValueError, match="not fitted"):
        PairwiseMaxEnt().predict_means()


# ----------------------------------------------------------------------------- refits
@pytest.mark.filterwarnings("ignore::rgdata.maxent.MaxEntConvergenceWarning")
@pytest.mark.filterwarnings("ignore:only .* time samples:UserWarning")
def test_boltzmann_22_then_pseudolikelihood_24_equals_fresh_fit():
    # the reported failure: the Boltzmann fit's persistent chains (22 units) were reused
    # for the Monte Carlo residual of the 24-unit refit ("cannot reshape ... into (24)")
    act = _spikes(24)
    m = PairwiseMaxEnt(method="boltzmann", max_iter=2, max_samples=20_000, random_state=0)
    m.fit(act.isel(unit=slice(0, 22)))
    assert m.n_units_ == 22 and m.method_ == "boltzmann"
    m.method = "pseudolikelihood"
    m.fit(act)
    fresh = clone(m).fit(act)  # same parameters, never fitted
    assert m.J_.shape == (24, 24)
    _assert_same_fitted_state(m, fresh)


@pytest.mark.filterwarnings("ignore::rgdata.maxent.MaxEntConvergenceWarning")
def test_monte_carlo_then_exact_refits_on_other_sizes_and_codings_equal_fresh_fits():
    big, small = _spikes(7, seed=1), _spikes(5, seed=2)
    m = KPairwiseMaxEnt(method="boltzmann", max_iter=1, max_samples=5000, random_state=0)
    m.fit(big)
    m.method = "exact"
    m.fit(small)  # no Monte Carlo chains or init_ left over from the Boltzmann fit
    _assert_same_fitted_state(m, clone(m).fit(small))
    m.coding = "pm1"
    m.fit(big)
    fresh = clone(m).fit(big)
    _assert_same_fitted_state(m, fresh)
    # predictions use the new fit's caches, not the previous fit's
    np.testing.assert_array_equal(
        m.predict_count_distribution(), fresh.predict_count_distribution()
    )


def test_independent_refit_equals_fresh_fit():
    m = IndependentMaxEnt(random_state=0).fit(_spikes(6, seed=3))
    m.predict_means()  # fills the moment cache
    act = _spikes(4, seed=4)
    m.fit(act)
    fresh = IndependentMaxEnt(random_state=0).fit(act)
    _assert_same_fitted_state(m, fresh)
    np.testing.assert_array_equal(m.predict_means(), fresh.predict_means())


def test_failed_refit_leaves_no_previous_state():
    m = PairwiseMaxEnt(method="exact").fit(_spikes(5))
    m.method = "newton"
    with pytest.raises(ValueError, match="unknown method 'newton'"):
        m.fit(_spikes(5))
    with pytest.raises(NotFittedError):
        m.predict_means()


def test_quartic_refit_equals_fresh_fit():
    rng = np.random.default_rng(5)
    m = QuarticModel().fit(rng.uniform(-1, 1, size=3000))
    x = rng.normal(size=2000)
    m.fit(x)
    _assert_same_fitted_state(m, QuarticModel().fit(x))


def test_hierarchical_refit_on_more_states_equals_fresh_fit():
    m = HierarchicalMaxEnt([1.0, 0.5], maps=[np.array([0, 0, 1, 1])])
    m.fit(np.array([0.0, 1.0, 1.0, 2.0]))
    f8 = np.arange(8.0) % 3
    m.maps = [np.array([0, 0, 1, 1, 2, 2, 3, 3])]
    m.fit(f8)
    fresh = HierarchicalMaxEnt([1.0, 0.5], maps=[np.array([0, 0, 1, 1, 2, 2, 3, 3])]).fit(f8)
    _assert_same_fitted_state(m, fresh)
    assert m.to_dataset().identical(fresh.to_dataset())


def test_refit_keeps_constructor_parameters():
    m = PairwiseMaxEnt(method="exact", l2=0.01, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MaxEntConvergenceWarning)
        m.fit(_spikes(5)).fit(_spikes(4))
    assert (m.method, m.l2, m.random_state) == ("exact", 0.01, 3)


def _fitted_estimators():
    """One fitted instance of every rgdata estimator (small, exact or closed-form fits)."""
    rng = np.random.default_rng(5)
    x = (rng.random((5, 2000)) < 0.3).astype(np.int8)
    act = rgdata.as_activity(x, kind="spikes", unit=[f"n{i}" for i in range(5)])
    f = np.array([0.0, 1.0, 1.0, 2.0])
    return [
        PairwiseMaxEnt(method="exact").fit(act),
        KPairwiseMaxEnt(method="exact").fit(act),
        IndependentMaxEnt().fit(act),
        QuarticModel().fit(rng.normal(size=2000)),
        HierarchicalMaxEnt([1.0, 0.5], beta=1.0, maps=[np.array([0, 0, 1, 1])]).fit(f),
    ]


@pytest.mark.parametrize("index", range(5))
def test_every_estimator_follows_the_sklearn_contract_and_to_dataset(index, tmp_path):
    """BaseEstimator (repr, get_params, clone), and to_dataset() whose fitted parameters
    carry labels (unit coordinates or units/description attrs) and round-trip netCDF."""
    from sklearn.base import BaseEstimator

    model = _fitted_estimators()[index]
    assert isinstance(model, BaseEstimator)
    assert type(model).__name__ in repr(model)
    copy = clone(model)
    assert repr(copy) == repr(model) and set(copy.get_params()) == set(model.get_params())
    assert not any(k.endswith("_") and not k.startswith("_") for k in vars(copy))
    ds = model.to_dataset()
    path = tmp_path / "model.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    back = xr.load_dataset(path, engine="h5netcdf")
    xr.testing.assert_allclose(back, ds)
    labelled = [
        name
        for name, var in ds.data_vars.items()
        if "units" in var.attrs or any(d in ("unit", "state", "level") for d in var.dims)
    ]
    assert labelled, f"{type(model).__name__}.to_dataset() labels none of its variables"
