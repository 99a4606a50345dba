"""Bare-array kernels of MS3D: block residuals, scale checks, Gaussian fields and their closed form.

Everything here works on numpy arrays ``(n_sample, *lattice)``; the xarray
layer and the nulls are in :mod:`rgdata.diagnostics.ms3d`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_int, check_random_state, check_real, describe

__all__ = ["check_scales", "default_scales", "block_residuals", "gaussian_field", "expected_ms3d"]


def default_scales(shape: tuple[int, ...]) -> list[int]:
    """``b = 2, 4, 8, ...`` dividing every side and leaving at least 2 blocks per side."""
    scales, b = [], 2
    while all(side % b == 0 and side // b >= 2 for side in shape):
        scales.append(b)
        b *= 2
    return scales


def check_scales(scales: Any, shape: tuple[int, ...], *, name: str = "scales") -> list[int]:
    """Validate block sides: ints >= 2, increasing, dividing every side, at least 3 of them."""
    if scales is None:
        scales = default_scales(shape)
        if len(scales) < 3:
            raise ValueError(
                f"a field of shape {shape} allows only {len(scales)} scale(s) b = 2, 4, ... "
                "(each b must divide every side and leave at least 2 blocks); MS3D needs "
                "at least 3: use sides that are multiples of 16"
            )
        return scales
    if isinstance(scales, int | np.integer) or not hasattr(scales, "__len__"):
        raise TypeError(f"{name} must be a sequence of ints, got {describe(scales)}")
    out = [check_int(b, f"{name}[{i}]", min_value=2) for i, b in enumerate(scales)]
    if len(out) < 3:
        raise ValueError(
            f"{name} must hold at least 3 block sides to compare scales, got {len(out)}: {out}"
        )
    if any(b2 <= b1 for b1, b2 in zip(out[:-1], out[1:], strict=False)):
        raise ValueError(f"{name} must be strictly increasing, got {out}")
    for b in out:
        for axis, side in enumerate(shape):
            if side % b or side // b < 2:
                raise ValueError(
                    f"field side {side} (lattice axis {axis}) is not divisible into at least "
                    f"2 blocks of side b={b} from {name}={out}; accepted: block sides that "
                    f"divide every side of the shape {shape} at least twice"
                )
    return out


def block_residuals(fields: np.ndarray, scales: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Residual sum of squares of each field about its block-averaged, upsampled copy.

    With ``x`` centred on its own mean and ``P_b`` the block average brought
    back to the fine grid (every site gets its block's mean), ``P_b`` is an
    orthogonal projection, so ``||x - P_b x||^2 = ||x||^2 - b^d sum_B m_B^2``
    (``m_B`` the block means); that identity is what is computed.

    Parameters
    ----------
    fields : numpy.ndarray
        ``(n_sample, *lattice)`` floats.
    scales : list of int
        Block sides (already checked).

    Returns
    -------
    residual : numpy.ndarray
        ``(n_sample, n_scale)``: ``||x - P_b x||^2``.
    total : numpy.ndarray
        ``(n_sample,)``: ``||x - mean(x)||^2``.
    """
    x = np.asarray(fields, dtype=np.float64)
    n, shape = x.shape[0], x.shape[1:]
    axes = tuple(range(1, x.ndim))
    x = x - x.mean(axis=axes, keepdims=True)
    total = np.square(x).reshape(n, -1).sum(axis=1)
    residual = np.empty((n, len(scales)))
    for j, b in enumerate(scales):
        split = [n]
        for side in shape:
            split += [side // b, b]
        means = x.reshape(split).mean(axis=tuple(range(2, 2 * len(shape) + 1, 2)))
        kept = b ** len(shape) * np.square(means).reshape(n, -1).sum(axis=1)
        residual[:, j] = np.maximum(total - kept, 0.0)
    return residual, total


def _wavenumbers(shape: tuple[int, ...]) -> list[np.ndarray]:
    return [2 * np.pi * np.fft.fftfreq(side) for side in shape]


def _spectrum(shape: tuple[int, ...], exponent: float) -> np.ndarray:
    """``S(k) = |k|^-exponent`` on the FFT grid (continuum |k|), ``S(0) = 0``."""
    grids = np.meshgrid(*_wavenumbers(shape), indexing="ij")
    k2 = sum(g**2 for g in grids)
    with np.errstate(divide="ignore"):
        s = np.where(k2 > 0, k2 ** (-exponent / 2), 0.0)
    return s


def _check_shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, int | np.integer) or not hasattr(shape, "__len__") or len(shape) < 1:
        raise TypeError(f"shape must be a tuple of ints (lattice sides), got {describe(shape)}")
    return tuple(check_int(s, f"shape[{i}]", min_value=2) for i, s in enumerate(shape))


def gaussian_field(
    shape: tuple[int, ...], exponent: float, n_samples: int, *, random_state: Any = None
) -> np.ndarray:
    """Periodic Gaussian random fields with power spectrum ``S(k) = |k|^-exponent``.

    White noise is filtered in Fourier space by ``sqrt(S(k))`` (``|k|`` the
    continuum norm of the FFT wavevector ``2 pi n / L``; the ``k = 0`` mode is
    removed, so every field has mean exactly 0). The covariance is the
    circulant matrix with eigenvalues ``S(k)``: ``<x_i x_j> = (1/N) sum_k S(k)
    exp(i k (i - j))``.

    Parameters
    ----------
    shape : tuple of int
        Lattice sides (1, 2 or 3 of them).
    exponent : float
        Spectral exponent ``alpha`` (``S ~ k^-alpha``); 0 is white noise.
    n_samples : int
        Number of independent fields.
    random_state : None, int or numpy.random.Generator
        Seed.

    Returns
    -------
    numpy.ndarray
        ``(n_samples, *shape)`` float64.

    Examples
    --------
    >>> x = gaussian_field((16, 16), 2.5, 3, random_state=0)
    >>> x.shape, bool(abs(x.mean()) < 1e-12)
    ((3, 16, 16), True)
    """
    shape = _check_shape(shape)
    exponent = check_real(exponent, "exponent")
    n_samples = check_int(n_samples, "n_samples", min_value=1)
    rng = check_random_state(random_state)
    amp = np.sqrt(_spectrum(shape, exponent))
    noise = rng.standard_normal((n_samples, *shape))
    axes = tuple(range(1, len(shape) + 1))
    return np.real(np.fft.ifftn(np.fft.fftn(noise, axes=axes) * amp, axes=axes))


def expected_ms3d(
    shape: tuple[int, ...], scales: Any, exponent: float
) -> tuple[np.ndarray, np.ndarray]:
    """Closed form of MS3D for :func:`gaussian_field` fields (expected residual power).

    With covariance eigenvalues ``S(k)``, ``E ||P_b x||^2 = tr(P_b C) =
    sum_k S(k) F_b(k)`` where ``F_b(k) = prod_axes sin^2(b k_a / 2) / (b^2
    sin^2(k_a / 2))`` (the Fejer kernel of a block; 1 at ``k_a = 0``), so the
    expected residual power per site is ``r_b = (1/N) sum_k S(k) (1 -
    F_b(k))`` (the field variance per site is ``(1/N) sum_k S(k)``), and
    ``1 - sum_k S F_b / sum_k S`` is the ratio of expectations that the
    pooled dissimilarity approaches for many samples.
    For ``d < alpha < d + 2`` and ``1 << b << L``, ``r_b ~ b^(alpha - d)``.

    Parameters
    ----------
    shape : tuple of int
        Lattice sides.
    scales : sequence of int
        Block sides (at least 3, each dividing every side).
    exponent : float
        Spectral exponent ``alpha``.

    Returns
    -------
    residual_power : numpy.ndarray
        ``E ||x - P_b x||^2 / N`` per scale.
    dissimilarity : numpy.ndarray
        ``E ||x - P_b x||^2 / E ||x||^2`` per scale.

    Examples
    --------
    White noise (``alpha = 0``, mean mode removed) on ``N`` sites keeps
    ``(N/b^d - 1) / (N - 1)`` of its variance:

    >>> r, d = expected_ms3d((16, 16), [2, 4, 8], 0.0)
    >>> [round(float(v), 6) for v in d]
    [0.752941, 0.941176, 0.988235]
    """
    shape = _check_shape(shape)
    exponent = check_real(exponent, "exponent")
    scales = check_scales(scales, shape)
    s = _spectrum(shape, exponent)
    n = int(np.prod(shape))
    total = s.sum()
    residual, ratio = [], []
    for b in scales:
        f = np.ones_like(s)
        for axis, k in enumerate(_wavenumbers(shape)):
            half = k / 2
            with np.errstate(divide="ignore", invalid="ignore"):
                fk = np.where(
                    np.abs(np.sin(half)) > 1e-12,
                    np.sin(b * half) ** 2 / (b**2 * np.sin(half) ** 2),
                    1.0,
                )
            view = [1] * len(shape)
            view[axis] = -1
            f = f * fk.reshape(view)
        kept = float((s * f).sum())
        residual.append((total - kept) / n)
        ratio.append(1 - kept / total)
    return np.asarray(residual), np.asarray(ratio)
