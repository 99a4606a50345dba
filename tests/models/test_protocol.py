"""The models protocol: GenerativeModel, RGModel, check_model (and that it can fail), require_ml."""

import sys

import numpy as np
import pytest
import xarray as xr

from rgdata.models import (
    GenerativeModel,
    InverseRGUpsampler,
    NotFittedError,
    RGModel,
    check_model,
    require_ml,
)
from rgdata.models._checks import ModelCheckError


@pytest.fixture
def spins():
    return np.random.default_rng(3).choice(np.array([-1, 1], np.int8), (8, 8, 8))


def test_reference_model_passes_check_model(spins):
    model = InverseRGUpsampler(random_state=0)
    check_model(model, spins)
    check_model(model, spins, sample_kwargs={"size": 16, "seed_size": 2})
    assert not hasattr(model, "coef_")  # the argument itself is left unfitted


def test_reference_model_is_a_generative_model():
    assert isinstance(InverseRGUpsampler(), GenerativeModel)
    assert not isinstance(object(), GenerativeModel)


class FitReturnsNone(InverseRGUpsampler):
    def fit(self, X, y=None, *, coarse=None):
        super().fit(X, y, coarse=coarse)


class IgnoresSeed(InverseRGUpsampler):
    def sample(self, n, random_state=None, **kwargs):
        return super().sample(n, 0, **kwargs)


class Unseeded(InverseRGUpsampler):
    def sample(self, n, random_state=None, **kwargs):
        return super().sample(n, None, **kwargs)


class WrongCount(InverseRGUpsampler):
    def sample(self, n, random_state=None, **kwargs):
        return super().sample(n + 1, random_state, **kwargs)


class NoUnits(InverseRGUpsampler):
    def to_dataset(self):
        ds = super().to_dataset()
        del ds["stderr"].attrs["units"]
        return ds


class NotWritable(InverseRGUpsampler):
    def to_dataset(self):
        return super().to_dataset().assign_attrs(settings={"nested": 1})


class ClaimsNoLogProb(InverseRGUpsampler):
    has_log_prob = False


class SampleBeforeFit(InverseRGUpsampler):
    def sample(self, n, random_state=None, **kwargs):
        if not hasattr(self, "coef_"):
            return np.zeros((n, 8, 8))
        return super().sample(n, random_state, **kwargs)


class RandomFit(InverseRGUpsampler):
    def fit(self, X, y=None, *, coarse=None):
        super().fit(X, y, coarse=coarse)
        self.coef_ = self.coef_ + np.random.default_rng().normal(size=3)
        return self


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (FitReturnsNone, "fit\\(\\) must return self"),
        (IgnoresSeed, "random_state=0 and 1 gave identical draws"),
        (Unseeded, "same random_state gave different draws"),
        (WrongCount, "sample\\(4\\) returned 5 draws"),
        (NoUnits, "variable 'stderr' lacks attrs \\['units'\\]"),
        (NotWritable, "cannot be written to netCDF"),
        (ClaimsNoLogProb, "did not raise NotImplementedError"),
        (SampleBeforeFit, "before fit\\(\\) must raise NotFittedError"),
        (RandomFit, "two fits with random_state=0 differ"),
    ],
)
def test_check_model_catches_each_broken_rule(broken, message, spins):
    with pytest.raises(ModelCheckError, match=message):
        check_model(broken(random_state=0), spins)


def test_check_model_refuses_objects_without_the_protocol(spins):
    class NoSample:
        has_log_prob = False

        def fit(self, X, y=None):
            return self

    with pytest.raises(ModelCheckError, match=r"missing \['sample', 'log_prob', 'to_dataset'\]"):
        check_model(NoSample(), spins)


class Constant(RGModel):
    """A minimal model without a likelihood: samples a fitted mean plus seeded noise."""

    _fitted_attribute = "mean_"

    def __init__(self, scale=1.0):
        self.scale = scale

    def fit(self, X, y=None):
        self._reset_fit_state()
        self.mean_ = float(np.mean(X))
        return self

    def sample(self, n, random_state=None):
        self._check_fitted()
        rng, seed = self._seeded_rng(random_state)
        return xr.DataArray(
            self.mean_ + self.scale * rng.normal(size=n), dims="sample", attrs={"seed": seed}
        )

    def to_dataset(self):
        self._check_fitted()
        return xr.Dataset(
            {"mean": ((), self.mean_, {"units": "1", "description": "fitted mean"})},
            attrs={"model": "Constant", "scale": self.scale},
        )


def test_rgmodel_base_gives_a_model_without_log_prob(spins):
    model = Constant()
    check_model(model, spins.astype(float))
    with pytest.raises(NotImplementedError, match="Constant has no tractable log_prob"):
        Constant().fit(spins).log_prob(spins)
    with pytest.raises(NotFittedError, match=r"call fit\(\.\.\.\) first"):
        Constant().sample(3)


def test_seeded_rng_records_a_seed_that_reproduces_the_draw():
    rng, seed = RGModel._seeded_rng(7)
    assert seed == 7
    rng, seed = RGModel._seeded_rng(np.random.default_rng(1))
    again, _ = RGModel._seeded_rng(seed)
    assert rng.random() == again.random()
    with pytest.raises(ValueError, match="random_state must be a non-negative int"):
        RGModel._seeded_rng(-1)


def test_require_ml_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)  # makes `import jax` fail
    with pytest.raises(ImportError, match=r"RBM\.fit needs JAX.*pip install rgdata\[ml\]"):
        require_ml("RBM.fit")


def test_require_ml_returns_jax_when_installed(monkeypatch):
    fake = type(sys)("jax")
    monkeypatch.setitem(sys.modules, "jax", fake)
    assert require_ml() is fake
