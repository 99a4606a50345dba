"""The numerics under momentum-space RG: partial eigensolver, filter plans, complement path."""

import sys

import numpy as np
import pytest
import xarray as xr

import rgdata
from rgdata.coarse import default_fractions, momentum
from rgdata.coarse._momentum_kernels import Step, plan_filters, spectrum, standardize


def _factor_data(rng, n, t, n_factors=5):
    load = rng.standard_normal((n, n_factors)) * 2.0
    return load @ rng.standard_normal((n_factors, t)) + rng.standard_normal((n, t))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("n", "t"), [(60, 400), (50, 30)])  # covariance and Gram paths
# more than an eighth of the modes: divide and conquer; fewer: MRRR on the two ranges
@pytest.mark.parametrize(("top", "bottom"), [(7, 5), (2, 1)])
def test_partial_eigenvectors_are_eigenvectors(rng, dtype, n, t, top, bottom):
    """Top and bottom blocks of eigenvectors: orthonormal, C u = lambda u to the backward
    error of a Householder reduction (a small multiple of n eps ||C||), and the eigenvalues
    equal numpy's full eigvalsh (a different LAPACK algorithm)."""
    z, _ = standardize(_factor_data(rng, n, t), "correlation", dtype)
    spec = spectrum(z)
    c = z.astype(np.float64) @ z.T.astype(np.float64) / t
    ref = np.linalg.eigvalsh(c)[::-1][: spec.rank]
    eps = np.finfo(dtype).eps
    lam_max = ref[0]
    assert spec.method == ("eigh_covariance" if n <= t else "eigh_gram")
    assert spec.rank == min(n, t - 1)
    np.testing.assert_allclose(spec.eigenvalues, ref, rtol=0, atol=10 * n * eps * lam_max)
    r = spec.rank
    u = spec.vectors(top, bottom).astype(np.float64)
    assert u.shape == (n, top + bottom) and u.flags.f_contiguous
    idx = np.r_[0:top, r - bottom : r]
    lam = spec.eigenvalues[idx]
    np.testing.assert_allclose(u.T @ u, np.eye(top + bottom), atol=10 * n * eps)
    resid = np.abs(c @ u - u * lam[None, :]).max()
    assert resid < 10 * n * eps * lam_max, resid
    # overlapping blocks give every mode once
    assert spec.vectors(r - 2, 5).shape == (n, r)
    assert spec.vectors(0, 0).shape == (n, 0)


def _implied_sets(plan, rank, top, bottom):
    """Replay a plan's steps on index sets: the modes each slot keeps."""
    cols = np.r_[0:top, rank - bottom : rank]  # column -> descending mode index
    sets, current = {}, None
    for step in plan.steps:
        modes = set(cols[step.c0 : step.c1].tolist())
        if step.op == "data":
            sets[step.slot] = set(range(rank))
            continue
        if step.op == "project":
            current = set(modes)
        elif step.op == "complement":
            current = set(range(rank)) - modes
        elif step.op == "add":
            assert not (modes & current)
            current = current | modes
        elif step.op == "remove":
            assert modes <= current
            current = current - modes
        sets[step.slot] = set(current)
    return sets


@pytest.mark.parametrize("seed", range(40))
def test_plans_keep_the_right_modes(seed):
    """Any ladder, either direction or both: every slot's steps keep exactly the K largest
    (remove_low) or K smallest (remove_high) non-zero modes, using only computed columns."""
    rng = np.random.default_rng(seed)
    rank = int(rng.integers(2, 60))
    n_levels = int(rng.integers(1, min(rank, 8) + 1))
    kept = np.unique(rng.choice(np.arange(1, rank + 1), n_levels, replace=False))
    for directions in (("remove_low",), ("remove_high",), ("remove_low", "remove_high")):
        top, bottom, plans = plan_filters(kept, rank, directions, 100, 1000)
        assert top + bottom <= rank
        for plan in plans:
            sets = _implied_sets(plan, rank, top, bottom)
            assert sorted(sets) == sorted(plan.slots.tolist())
            for k, slot in zip(plan.n_kept, plan.slots, strict=True):
                expect = range(k) if plan.direction == "remove_low" else range(rank - k, rank)
                assert sets[slot] == set(expect), (plan.direction, k)


def test_plans_compute_few_vectors():
    rank = 10_000
    kept = np.unique(np.rint(default_fractions(rank) * rank).astype(int))
    # the RG direction on the default ladder: the top half only, no complement
    top, bottom, (plan,) = plan_filters(kept, rank, ("remove_low",), rank, 2 * rank)
    assert (top, bottom) == (rank // 2, 0)
    assert {s.op for s in plan.steps} == {"data", "project", "add"}
    # both directions: three quarters of the modes, one level built as a complement
    top, bottom, plans = plan_filters(kept, rank, ("remove_low", "remove_high"), rank, 2 * rank)
    assert top + bottom == 3 * rank // 4
    assert sum(s.op == "complement" for p in plans for s in p.steps) == 1
    # removing the top mode only: one vector, z minus its projection
    top, bottom, (plan,) = plan_filters(
        np.array([rank - 1, rank]), rank, ("remove_high",), rank, 2 * rank
    )
    assert (top, bottom) == (1, 0)
    assert [s.op for s in plan.steps] == ["data", "complement"]


def _naive_moments(z, u, kept_cols):
    phi = u[:, kept_cols] @ (u[:, kept_cols].T @ z)
    return np.mean(phi**4, 1) / np.mean(phi**2, 1) ** 2


@pytest.mark.parametrize("direction", ["remove_low", "remove_high", "both"])
def test_complement_levels_equal_direct_projection(rng, direction):
    """Ladders near the full set are built as z minus the removed modes: same fourth moments
    as a direct projection on the kept modes of numpy's eigh (float64 round-off)."""
    n, t = 30, 3000
    x = _factor_data(rng, n, t) + 0.5 * rng.laplace(size=(1, t))
    fractions = [1, 29 / 30, 0.9, 0.8, 0.5, 0.1]
    z = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    lam, u = np.linalg.eigh(z @ z.T / t)
    u = u[:, ::-1]
    directions = ("remove_low", "remove_high") if direction == "both" else (direction,)
    kept = np.unique(np.maximum(1, np.rint(np.asarray(fractions) * n)).astype(int))
    _, _, plans = plan_filters(kept, n, directions, n, t)
    assert any(s.op in ("complement", "remove") for p in plans for s in p.steps)
    ds = momentum(rgdata.as_activity(x), fractions, direction=direction)
    for which in directions:
        sub = ds.sel(direction=which) if direction == "both" else ds
        for frac, k in zip(sub.fraction.values, sub.n_modes.values, strict=True):
            cols = np.arange(k) if which == "remove_low" else np.arange(n - k, n)
            np.testing.assert_allclose(
                sub.fourth_moment.sel(fraction=frac), _naive_moments(z, u, cols), rtol=1e-9
            )
            kept_var = (u[:, cols] ** 2 * lam[::-1][cols]).sum(1)
            np.testing.assert_allclose(
                sub.retained_variance.sel(fraction=frac), kept_var, rtol=1e-9, atol=1e-12
            )


def _flows(z, c, n_modes):
    """Fourth moments by direction and kept count from numpy's full eigh of c."""
    lam, u = np.linalg.eigh(c)
    u = u[:, ::-1]
    n = u.shape[0]
    return {
        (which, k): _naive_moments(
            z, u, np.arange(k) if which == "remove_low" else np.arange(n - k, n)
        )
        for which in ("remove_low", "remove_high")
        for k in n_modes
    }


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_partial_solver_matches_full_eigh_flow(dtype):
    """Planted independent Laplace sources with a geometric spectrum (gaps of 2%), default
    ladder, both directions: the fourth-moment flow equals the one from numpy's full float64
    eigh to the working precision. The answer is defined only up to the backward error of a
    Householder eigensolver, ~10 eps ||C||: the tolerance is 10 times the change of the
    reference flow under a random symmetric perturbation of C of that norm (this carries the
    conditioning of each cut, eps lambda_max / gap), plus the rounding of phi."""
    rng = np.random.default_rng(7)
    n, t = 200, 2000
    lam = 1.02 ** -np.arange(n)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    x = q @ (np.sqrt(lam)[:, None] * rng.laplace(size=(n, t)))
    ds = momentum(rgdata.as_activity(x), direction="both", dtype=dtype)
    z = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    c = z @ z.T / t
    eps = np.finfo(dtype).eps
    e = rng.standard_normal((n, n))
    e = (e + e.T) * (10 * eps * np.linalg.norm(c, 2) / np.linalg.norm(e + e.T, 2))
    n_modes = [int(k) for k in ds.n_modes.values if k < n]
    ref, moved = _flows(z, c, n_modes), _flows(z, c + e, n_modes)
    worst = 0.0
    for (which, k), expect in ref.items():
        got = ds.fourth_moment.sel(direction=which).sel(fraction=ds.fraction[ds.n_modes == k])
        err = np.max(np.abs(got.values - expect))
        tol = 10 * np.max(np.abs(moved[which, k] - expect)) + 40 * eps * np.max(expect)
        assert err < tol, (which, k, err, tol)
        worst = max(worst, tol)
    # the flow itself moves by far more than the tolerance
    assert np.ptp(ds.fourth_moment_median.values) > 100 * worst


def test_float32_complement_below_resolution_is_nan_and_warned():
    """Unit 0 is 10 s + 0.1 (unit 1), s uncorrelated with every other unit: the top mode is
    unit 0 tilted by ~0.1/99 towards unit 1, so removing it leaves unit 0 ~1e-8 of its
    variance. float64 resolves it (matching a direct projection on the other modes);
    float32, which builds the level as z minus the top mode, cannot and says so."""
    rng = np.random.default_rng(3)
    n, t = 6, 4000
    x = rng.standard_normal((n, t))
    # make the common source exactly uncorrelated with the other units in the sample
    basis, _ = np.linalg.qr((x[1:] - x[1:].mean(1, keepdims=True)).T)
    s = rng.standard_normal(t)
    s -= s.mean()
    s -= basis @ (basis.T @ s)
    s /= s.std()
    x[0] = 10 * s + 0.1 * x[1]
    act = rgdata.as_activity(x)
    fractions = [1, (n - 1) / n]
    wide = momentum(act, fractions, direction="remove_high", matrix="covariance")
    assert 1e-10 < float(wide.retained_variance.sel(fraction=fractions[1], unit=0)) < 1e-6
    assert np.isfinite(wide.fourth_moment).all()
    z = x - x.mean(1, keepdims=True)
    _, u = np.linalg.eigh(z @ z.T / t)
    direct = _naive_moments(z, u, np.arange(n - 1))  # eigh is ascending: all but the top
    np.testing.assert_allclose(wide.fourth_moment.sel(fraction=fractions[1]), direct, rtol=1e-6)
    with pytest.warns(UserWarning, match="float32 does not resolve"):
        narrow = momentum(
            act, fractions, direction="remove_high", matrix="covariance", dtype="float32"
        )
    assert np.isnan(narrow.fourth_moment.sel(fraction=fractions[1], unit=0))
    assert np.isfinite(narrow.fourth_moment.sel(fraction=fractions[1]).values[1:]).all()
    assert "does not resolve" in narrow.attrs["warnings"]
    np.testing.assert_allclose(
        narrow.fourth_moment.sel(fraction=fractions[1]).values[1:],
        wide.fourth_moment.sel(fraction=fractions[1]).values[1:],
        rtol=1e-4,
    )


def test_auto_dtype_is_float32_for_many_units_only(rng, monkeypatch):
    module = sys.modules["rgdata.coarse.momentum"]
    x = rng.standard_normal((40, 500)) + rng.standard_normal((1, 500)) ** 3
    act = rgdata.as_activity(x)
    assert module.AUTO_FLOAT32_UNITS == 2048
    assert momentum(act).attrs["dtype"] == "float64"
    monkeypatch.setattr(module, "AUTO_FLOAT32_UNITS", 40)
    auto = momentum(act, direction="both")
    assert auto.attrs["dtype"] == "float32"
    assert auto.attrs["dtype_requested"] == "auto" and auto.attrs["dtype_note"] == ""
    explicit = momentum(act, direction="both", dtype="float32")
    assert explicit.attrs["dtype_requested"] == "float32"
    explicit.attrs["dtype_requested"] = "auto"
    xr.testing.assert_identical(auto, explicit)
    # the covariance matrix keeps float64 (units' variances can span more than float32 resolves)
    assert momentum(act, matrix="covariance").attrs["dtype"] == "float64"


def test_auto_falls_back_to_float64_when_float32_loses_modes(monkeypatch):
    # T close to N: the Marchenko-Pastur lower edge (1 - sqrt(N/T))^2 is tiny, and a strong
    # common mode makes lambda_max large, so float32 cannot resolve the smallest genuine modes
    module = sys.modules["rgdata.coarse.momentum"]
    rng = np.random.default_rng(7)
    n, t = 600, 610
    x = rng.laplace(size=(n, t)) + 3.0 * rng.standard_normal((1, t))
    act = rgdata.as_activity(x)
    with pytest.warns(UserWarning, match="float32's resolution"):
        f32 = momentum(act, dtype="float32")
    f64 = momentum(act, dtype="float64")
    assert f32.attrs["rank"] < f64.attrs["rank"] == min(n, t - 1)  # float32 alone loses modes
    monkeypatch.setattr(module, "AUTO_FLOAT32_UNITS", 500)
    auto = momentum(act)
    assert auto.attrs["dtype"] == "float64" and auto.attrs["dtype_requested"] == "auto"
    assert "recomputed in float64" in auto.attrs["dtype_note"]
    np.testing.assert_array_equal(auto["n_modes"].values, f64["n_modes"].values)
    np.testing.assert_allclose(auto["fourth_moment"], f64["fourth_moment"], rtol=1e-12)


def test_float32_keeps_fluctuations_of_offset_rows():
    # centring in float64 before rounding: an offset of 1e5 with sd 0.01 is 1e7 sd, beyond
    # float32's 24-bit mantissa if the raw values were rounded first
    rng = np.random.default_rng(3)
    x = rng.laplace(size=(30, 4000)) * 0.01 + 1e5
    act = rgdata.as_activity(x)
    f32 = momentum(act, dtype="float32")
    f64 = momentum(act, dtype="float64")
    se = np.sqrt(24.0 / 4000)
    # float32 round-off of centred data moves fourth moments by ~1e-6 relative, far below se
    assert np.nanmax(np.abs(f32["fourth_moment"] - f64["fourth_moment"])) < 1e-3 * se


def test_standardize_refuses_constant_rows():
    x = np.ones((3, 50))
    x[0] = np.arange(50)
    with pytest.raises(ValueError, match="constant"):
        standardize(x, "correlation", np.float32)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    ("m", "k", "p", "block", "columns"), [(9, 8, 5, 3, 2), (40, 40, 7, 16, 3), (70, 33, 12, 8, 100)]
)
def test_blocked_householder_equals_explicit_product(rng, dtype, m, k, p, block, columns):
    """The compact-WY back-transformation equals the product of the reflectors formed one by
    one (I - tau v v^T, float64) and LAPACK's ?ormqr, for blocks and column passes that do
    not divide the sizes, a reflector with tau = 0 and garbage on and above the diagonal
    (which must not be read)."""
    from scipy.linalg import get_lapack_funcs

    from rgdata.coarse._momentum_kernels import apply_householder

    a = rng.standard_normal((m, k))
    qr, tau = np.linalg.qr(a, mode="raw")  # LAPACK geqrf layout, transposed
    refl = np.asfortranarray(qr.T).astype(dtype)
    tau = tau.astype(dtype)
    tau[k // 2] = 0.0  # an identity reflector
    refl[np.triu_indices(m, 0, k)] = 1e3  # not referenced
    c = rng.standard_normal((m, p)).astype(dtype)
    q = np.eye(m)
    for i in range(k):
        v = np.zeros(m)
        v[i] = 1.0
        v[i + 1 :] = refl[i + 1 :, i]
        q = q @ (np.eye(m) - float(tau[i]) * np.outer(v, v))
    out = apply_householder(refl, tau, c, block=block, columns=columns)
    assert out.dtype == dtype and out.flags.f_contiguous
    tol = 50 * m * np.finfo(dtype).eps
    np.testing.assert_allclose(out, q @ c.astype(np.float64), atol=tol)
    ormqr = get_lapack_funcs("ormqr", (refl,))
    ref, _, info = ormqr("L", "N", refl, tau, np.asfortranarray(c), max(1, 64 * p))
    assert info == 0
    np.testing.assert_allclose(out, ref, atol=tol)


@pytest.mark.parametrize("computed", [0.0, 1e-13, 5e-11, 1e-9, 1e-6])
def test_float32_complement_diagnosis_does_not_depend_on_round_off(computed):
    """A float32 complement's retained share below the resolution (64 eps) cannot be told
    from zero: whatever the BLAS kernel's round-off makes of a true ~1e-8 (exactly 0, below
    the 1e-10 zero threshold, or above it), the variable is 'unresolved', never 'no weight'.
    Feeds the computed share directly, so the check does not rely on this CPU's kernel."""
    module = sys.modules["rgdata.coarse.momentum"]
    step = Step(0, "complement", 0, 1)
    vec = np.array([[np.sqrt(1.0 - computed)], [0.0]])
    total = np.ones(2)
    for eps, want_unresolved in ((np.finfo(np.float32).eps, True), (np.finfo(float).eps, False)):
        variances, retained, unresolved = module._expected_variances(
            [step], vec, np.ones(1), total, total, eps
        )
        assert retained[0, 0] == pytest.approx(computed, abs=1e-15)
        assert variances[0, 0] == 0.0 or not want_unresolved
        if want_unresolved:
            assert unresolved[0, 0], (eps, computed)
        else:
            # float64 resolves it: zero weight below 1e-10, a real variance above
            assert not unresolved[0, 0]
            assert (variances[0, 0] > 0) == (computed > module._ZERO_VARIANCE)
        # unit 1 has nothing removed: all of its variance is kept in either precision
        assert variances[0, 1] == 1.0 and not unresolved[0, 1]
