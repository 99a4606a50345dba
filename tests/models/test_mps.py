"""MPSClassifier: contraction against brute force and quimb, truncation, planted classifier."""

import itertools
import sys

import numpy as np
import pytest
import xarray as xr

from rgdata.models import check_model
from rgdata.models._mps_kernels import contract, dense_weights, feature_map, split_bond
from rgdata.models.mps import MPSClassifier


def _random_mps(N, D, L, label_site, rng):
    dims = [1] + [D] * (N - 1) + [1]
    ts = [rng.standard_normal((dims[j], 2, dims[j + 1])) for j in range(N)]
    ts[label_site] = rng.standard_normal((dims[label_site], 2, dims[label_site + 1], L))
    return ts


@pytest.mark.parametrize("label_site", [0, 3, 5])
def test_contraction_matches_brute_force_sum(label_site):
    rng = np.random.default_rng(1)
    N, L = 6, 3
    ts = _random_mps(N, 3, L, label_site, rng)
    x = rng.uniform(size=(5, N))
    phi = feature_map(x)
    # brute force: the sum over all 2^N physical configurations of the product of matrices
    brute = np.zeros((5, L))
    for s in itertools.product((0, 1), repeat=N):
        weight = np.prod([phi[:, j, s[j]] for j in range(N)], axis=0)
        for label in range(L):
            mats = [t[:, s[j], :, label] if t.ndim == 4 else t[:, s[j]] for j, t in enumerate(ts)]
            brute[:, label] += weight * np.linalg.multi_dot(mats)[0, 0]
    np.testing.assert_allclose(contract(ts, label_site, phi), brute, rtol=1e-10, atol=1e-12)
    W = dense_weights(ts, label_site)
    dense = np.einsum("abcdefl,na,nb,nc,nd,ne,nf->nl", W, *[phi[:, j] for j in range(N)])
    np.testing.assert_allclose(dense, brute, rtol=1e-10, atol=1e-12)


@pytest.mark.slow  # importing quimb takes ~15 s here
def test_fitted_classifier_contracts_like_quimb():
    qtn = pytest.importorskip("quimb.tensor")
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(60, 5))
    clf = MPSClassifier(chi=3, n_sweeps=1, random_state=0).fit(X, (X[:, 1] > 0.5).astype(int))
    tn = clf.to_quimb()
    phi = feature_map(X[:3])
    for n in range(3):
        vecs = [qtn.Tensor(phi[n, j], inds=(f"k{j}",)) for j in range(5)]
        out = (tn & qtn.TensorNetwork(vecs)).contract(output_inds=("label",))
        np.testing.assert_allclose(out.data, clf.decision_function(X[n : n + 1])[0], rtol=1e-10)


def test_truncation_error_is_discarded_weight():
    rng = np.random.default_rng(2)
    B = rng.standard_normal((3, 2, 2, 4, 2))
    for move_right in (True, False):
        left, right, s, err = split_bond(B, chi=2, cutoff=0.0, move_right=move_right)
        approx = (
            np.einsum("asb,btcl->astcl", left, right)
            if move_right
            else np.einsum("asbl,btc->astcl", left, right)
        )
        # Eckart-Young: the squared Frobenius error of the best rank-2 approximation
        frob = np.sum((B - approx) ** 2) / np.sum(B**2)
        assert err == pytest.approx(frob, rel=1e-10)
        assert err == pytest.approx(np.sum(s[2:] ** 2) / np.sum(s**2), rel=1e-12)
        assert 0 < err < 1
    # nothing dropped when chi covers the rank; the cutoff drops up to its weight
    _, _, s, err = split_bond(B, chi=100, cutoff=0.0, move_right=True)
    assert err == 0.0
    w = np.sort(s**2)[::-1] / np.sum(s**2)
    _, right, _, err = split_bond(B, chi=100, cutoff=1.01 * w[-1], move_right=True)
    assert right.shape[0] == len(s) - 1 and err == pytest.approx(w[-1])


def _xor_data(n, rng):
    x = rng.uniform(size=(n, 6))
    x[:, [1, 4]] = np.where(x[:, [1, 4]] > 0.5, 0.75, 0.25) + rng.uniform(-0.2, 0.2, (n, 2))
    y = ((x[:, 1] > 0.5) ^ (x[:, 4] > 0.5)).astype(int)
    return x, y


def test_exactly_representable_classifier_needs_and_gets_chi_2():
    # XOR of sites 1 and 4: f_1 - f_0 = -(cos - sin)(x_1) (cos - sin)(x_4) times a positive
    # product, an MPS of bond dimension 2; with chi = 1 the label's amplitude factorises and
    # cannot separate the four quadrants.
    rng = np.random.default_rng(3)
    X, y = _xor_data(400, rng)
    Xt, yt = _xor_data(400, rng)
    exact = {"n_sweeps": 6, "n_steps": 30, "alpha": 0.0, "random_state": 0}
    good = MPSClassifier(chi=2, **exact).fit(X, y)
    bad = MPSClassifier(chi=1, **exact).fit(X, y)
    # the squared loss on one-hot targets is not the margin, so a few points near the
    # boundary stay wrong; chance level is 0.5
    assert good.score(Xt, yt) >= 0.95
    assert bad.score(Xt, yt) < 0.65


def test_model_protocol_and_seeded_reproducibility():
    rng = np.random.default_rng(4)
    X = rng.uniform(size=(40, 4))
    y = (X[:, 0] > 0.5).astype(int)
    check_model(MPSClassifier(chi=2, n_sweeps=1, random_state=0), X, fit_kwargs={"y": y})
    a = MPSClassifier(chi=2, n_sweeps=1, random_state=0).fit(X, y).to_dataset()
    b = MPSClassifier(chi=2, n_sweeps=1, random_state=1).fit(X, y).to_dataset()
    assert not np.array_equal(a.label_tensor.values, b.label_tensor.values)
    assert isinstance(a, xr.Dataset) and a.attrs["seed"] == 0


def test_born_samples_follow_squared_amplitudes():
    rng = np.random.default_rng(5)
    X = rng.uniform(size=(50, 3))
    clf = MPSClassifier(chi=2, n_sweeps=1, random_state=0).fit(X, (X[:, 0] > 0.5).astype(int))
    draws = clf.sample(4000, random_state=0, label=1)
    W = dense_weights(clf.tensors_, clf.label_site_)[..., 1]
    p = (W**2).ravel() / np.sum(W**2)
    codes = draws.values @ np.array([4, 2, 1])
    counts = np.bincount(codes, minlength=8)
    expected = 4000 * p
    chi2 = np.sum((counts - expected) ** 2 / np.where(expected > 0, expected, 1))
    assert chi2 < 24.3  # 99.9% quantile of chi-squared with 7 degrees of freedom


def test_bad_input_messages():
    X = np.full((10, 4), 0.5)
    y = np.arange(10) % 2
    with pytest.raises(ValueError, match="chi must be >= 1, got 0"):
        MPSClassifier(chi=0).fit(X, y)
    with pytest.raises(ValueError, match=r"X must lie in \[0, 1\].*got values in \[0.5, 2\]"):
        MPSClassifier().fit(np.where(X > 0, 2.0, X) * np.r_[1, 0.25, 0.25, 0.25], y)
    clf = MPSClassifier(chi=2, n_sweeps=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="X has 9 features per sample but the MPS has 4 sites"):
        clf.predict(np.full((2, 3, 3), 0.5))
    with pytest.raises(ValueError, match="y must be 1-d with one label per sample"):
        MPSClassifier().fit(X, y[:5])


def test_missing_quimb_names_the_extra(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(10, 3))
    clf = MPSClassifier(chi=2, n_sweeps=1, random_state=0).fit(X, np.arange(10) % 2)
    monkeypatch.setitem(sys.modules, "quimb.tensor", None)
    monkeypatch.setitem(sys.modules, "quimb", None)
    with pytest.raises(ImportError, match=r"rgdata\[tn\]"):
        clf.to_quimb()
