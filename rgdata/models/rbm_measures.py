"""What an RBM trained on lattices learned, as numbers: receptive fields, block overlap, flow.

Answers the questions of Mehta & Schwab's variational-RG picture with
measurements rather than pictures: is each hidden unit's receptive field a
local block (:func:`receptive_fields`); does the hidden layer reproduce
majority-rule block spins (:func:`block_overlap`); are its couplings those
of block spins (:func:`hidden_couplings`); where does the "RBM flow" of Iso,
Shiba & Yokoo (2018) go (:func:`rbm_flow`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy.optimize import brentq, linear_sum_assignment

from .._validation import check_int, check_option, describe
from ..activity import as_configurations, check_configurations
from ._protocol import RGModel
from ._rbm_kernels import draw_units, hidden_mean
from .rbm import RBM

__all__ = [
    "receptive_fields",
    "arrange_hidden",
    "block_copy_rbm",
    "hidden_configurations",
    "block_overlap",
    "hidden_couplings",
    "rbm_flow",
]


def _lattice_rbm(rbm: Any, name: str = "rbm") -> tuple[int, int]:
    if not isinstance(rbm, RBM):
        raise TypeError(f"{name} must be a fitted rgdata.models.RBM, got {describe(rbm)}")
    rbm._check_fitted()
    shape = rbm.input_.get("shape")
    if shape is None or len(shape) != 2:
        raise ValueError(
            f"{name} was fitted on {rbm.input_['layout']} data; accepted: an RBM fitted on 2D "
            "lattice configurations (sample, y, x)"
        )
    return int(shape[0]), int(shape[1])


def _block_fractions(rbm: RBM, b: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Fraction of each hidden unit's |W| in every periodic b x b block ``(hidden, Ly, Lx)``."""
    ly, lx = _lattice_rbm(rbm)
    b = check_int(b, "b", min_value=1, max_value=min(ly, lx))
    w = np.abs(rbm.weights_).T.reshape(-1, ly, lx)
    w = w / w.sum(axis=(1, 2), keepdims=True)
    # sum over the b x b window whose top-left corner is (y, x), periodic
    out = np.zeros_like(w)
    for dy in range(b):
        for dx in range(b):
            out += np.roll(w, (-dy, -dx), axis=(1, 2))
    return out, (ly, lx)


def receptive_fields(rbm: RBM, b: int) -> xr.Dataset:
    """Locality and size of each hidden unit's receptive field (its column of ``|W|``).

    Parameters
    ----------
    rbm : RBM
        Fitted on 2D lattice configurations.
    b : int
        Block side: ``locality`` is the largest fraction of a unit's summed
        ``|W|`` inside any periodic ``b x b`` block.

    Returns
    -------
    xarray.Dataset
        On ``hidden``: ``locality``, ``block_y``/``block_x`` (top-left corner
        of the best block), ``centre_y``/``centre_x`` (periodic centre of mass
        of ``|W|``) and ``spread`` (``|W|``-weighted RMS minimal-image
        distance from the centre, in lattice spacings). Scalars
        ``locality_mean``/``locality_err`` and ``spread_mean``/``spread_err``
        (mean over hidden units, standard error of that mean),
        ``locality_null = b**2 / N`` (uniform weights) and ``spread_null``
        (spread of uniform weights on the torus).

    Examples
    --------
    >>> import numpy as np
    >>> rbm = RBM(n_hidden=4).fit(np.random.default_rng(0).choice([-1, 1], (20, 4, 4)))
    >>> ds = receptive_fields(block_copy_rbm(rbm, 2), b=2)
    >>> ds.locality.values.tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    frac, (ly, lx) = _block_fractions(rbm, b)
    flat = frac.reshape(frac.shape[0], -1)
    best = flat.argmax(axis=1)
    w = np.abs(rbm.weights_).T.reshape(-1, ly, lx)
    w = w / w.sum(axis=(1, 2), keepdims=True)
    ys, xs = np.meshgrid(np.arange(ly), np.arange(lx), indexing="ij")
    centres, sq = [], np.zeros(w.shape[0])
    for coord, side in ((ys, ly), (xs, lx)):
        phase = np.exp(2j * np.pi * coord / side)
        centre = (np.angle((w * phase).sum(axis=(1, 2))) * side / (2 * np.pi)) % side
        d = (coord[None] - centre[:, None, None] + side / 2) % side - side / 2
        sq += (w * d**2).sum(axis=(1, 2))
        centres.append(centre)
    spread = np.sqrt(sq)
    dy = (ys + ly / 2) % ly - ly / 2  # minimal-image offsets from site 0 on the torus
    dx = (xs + lx / 2) % lx - lx / 2
    spread_null = float(np.sqrt(np.mean(dy**2 + dx**2)))
    n_h = w.shape[0]

    def var(dims, values, units, description):
        return xr.Variable(dims, np.asarray(values), {"units": units, "description": description})

    def sem(x):
        return float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float("nan")

    locality = flat.max(axis=1)
    return xr.Dataset(
        {
            "locality": var("hidden", locality, "1", f"largest fraction of |W| in a {b}x{b} block"),
            "block_y": var("hidden", best // lx, "lattice site", "row of the best block's corner"),
            "block_x": var(
                "hidden", best % lx, "lattice site", "column of the best block's corner"
            ),
            "centre_y": var("hidden", centres[0], "lattice site", "periodic centre of mass of |W|"),
            "centre_x": var("hidden", centres[1], "lattice site", "periodic centre of mass of |W|"),
            "spread": var("hidden", spread, "lattice spacing", "|W|-weighted RMS distance"),
            "locality_mean": var((), locality.mean(), "1", "mean locality over hidden units"),
            "locality_err": var((), sem(locality), "1", "standard error of locality_mean"),
            "locality_null": var((), b * b / (ly * lx), "1", "locality of uniform weights"),
            "spread_mean": var((), spread.mean(), "lattice spacing", "mean spread"),
            "spread_err": var((), sem(spread), "lattice spacing", "standard error of spread_mean"),
            "spread_null": var((), spread_null, "lattice spacing", "spread of uniform weights"),
        },
        coords={"hidden": np.arange(n_h)},
        attrs={"analysis": "receptive_fields", "b": b, "lattice_shape": [ly, lx]},
    )


def block_copy_rbm(rbm: RBM, b: int, strength: float = 20.0) -> RBM:
    """A copy of *rbm* whose hidden unit ``j`` copies the ``j``-th ``b x b`` block (row-major).

    Weights ``strength`` on the block's sites and 0 elsewhere, zero biases:
    for odd ``b**2`` each hidden sample is the block's majority spin with
    probability ``1 - O(exp(-2 strength))``. For checks and as a reference.

    Parameters
    ----------
    rbm : RBM
        Fitted on 2D lattices of side divisible by *b*, with
        ``(L / b)**2`` hidden units.
    b : int
        Block side.
    strength : float
        Weight of each block site.

    Returns
    -------
    RBM
        A new fitted RBM (the input is not changed).
    """
    from sklearn.base import clone

    ly, lx = _lattice_rbm(rbm)
    b = check_int(b, "b", min_value=1)
    if ly % b or lx % b or rbm.weights_.shape[1] != (ly // b) * (lx // b):
        raise ValueError(
            f"block_copy_rbm needs lattice sides divisible by b and (L/b)**2 hidden units; got "
            f"shape {(ly, lx)}, b={b}, n_hidden={rbm.weights_.shape[1]}"
        )
    out = clone(rbm)
    for name, value in vars(rbm).items():
        if name.endswith("_"):
            setattr(out, name, value)
    ys, xs = np.meshgrid(np.arange(ly), np.arange(lx), indexing="ij")
    block = ((ys // b) * (lx // b) + xs // b).ravel()
    W = np.zeros_like(rbm.weights_)
    W[np.arange(ly * lx), block] = strength
    out.weights_ = W
    out.visible_bias_ = np.zeros(ly * lx)
    out.hidden_bias_ = np.zeros(W.shape[1])
    return out


def arrange_hidden(rbm: RBM, b: int) -> xr.Dataset:
    """Place each hidden unit on the ``(L/b, L/b)`` block lattice by its receptive field.

    Hidden units are assigned one-to-one to the non-overlapping ``b x b``
    blocks maximising the total fraction of ``|W|`` inside the assigned blocks
    (Hungarian algorithm), and given the sign of their summed weight there, so
    that a positive overlap means "copies the block spin".

    Parameters
    ----------
    rbm : RBM
        Fitted on 2D lattices of side divisible by *b*, with ``(L/b)**2`` hidden units.
    b : int
        Block side.

    Returns
    -------
    xarray.Dataset
        On ``hidden``: ``block_y``, ``block_x`` (block-lattice coordinates),
        ``sign`` (+-1) and ``fraction`` (of ``|W|`` in the assigned block).
    """
    ly, lx = _lattice_rbm(rbm)
    b = check_int(b, "b", min_value=1)
    n_h = rbm.weights_.shape[1]
    if ly % b or lx % b or n_h != (ly // b) * (lx // b):
        raise ValueError(
            f"arranging hidden units on blocks needs lattice sides divisible by b and "
            f"(L/b)**2 hidden units; got lattice {(ly, lx)}, b={b}, n_hidden={n_h} "
            f"(accepted n_hidden: {(ly // b) * (lx // b)} for b={b})"
        )
    W = rbm.weights_.T.reshape(n_h, ly // b, b, lx // b, b)
    absw = np.abs(W).sum(axis=(2, 4)).reshape(n_h, -1)
    frac = absw / absw.sum(axis=1, keepdims=True)
    rows, cols = linear_sum_assignment(-frac)
    signed = W.sum(axis=(2, 4)).reshape(n_h, -1)[rows, cols]
    sign = np.where(signed >= 0, 1, -1)
    return xr.Dataset(
        {
            "block_y": ("hidden", cols // (lx // b), {"units": "block", "description": "row"}),
            "block_x": ("hidden", cols % (lx // b), {"units": "block", "description": "column"}),
            "sign": ("hidden", sign, {"units": "1", "description": "sign of summed block weight"}),
            "fraction": (
                "hidden",
                frac[rows, cols],
                {"units": "1", "description": "fraction of |W| in the assigned block"},
            ),
        },
        coords={"hidden": rows},
        attrs={"analysis": "arrange_hidden", "b": b},
    )


def hidden_configurations(
    rbm: RBM, X: Any, b: int, random_state: Any = None, mode: str = "sample"
) -> xr.DataArray:
    """The hidden layer's samples as Configurations on the block lattice (:func:`arrange_hidden`).

    Parameters
    ----------
    rbm : RBM
        As in :func:`arrange_hidden`.
    X : xarray.DataArray
        Configurations the hidden units see.
    b : int
        Block side.
    random_state : None, int or numpy.random.Generator
        Seeds the hidden draws (``attrs["seed"]``).
    mode : {"sample", "mean"}
        ``"mean"`` returns ``sign * E[h|v]`` as floats (not Configurations).

    Returns
    -------
    xarray.DataArray
        ``(sample, y, x)`` of side ``L / b``, sign-aligned with the blocks.
    """
    check_option(mode, "mode", ("sample", "mean"))
    X = check_configurations(X, "X")
    layout = arrange_hidden(rbm, b)
    data = X.values.reshape(X.shape[0], -1).astype(np.float64)
    if rbm.coding_ == "01":
        data = (data + 1) / 2
    field = data @ rbm.weights_ + rbm.hidden_bias_
    rng, seed = RGModel._seeded_rng(random_state)
    h = hidden_mean(field, rbm.coding_) if mode == "mean" else draw_units(field, rbm.coding_, rng)
    if rbm.coding_ == "01":
        h = 2 * h - 1
    side_y, side_x = X.shape[1] // b, X.shape[2] // b
    grid = np.zeros((X.shape[0], side_y, side_x))
    hid = layout.hidden.values
    grid[:, layout.block_y.values, layout.block_x.values] = h[:, hid] * layout.sign.values
    attrs = {"source": "RBM hidden layer on blocks", "b": b, "seed": seed}
    if mode == "mean":
        return xr.DataArray(grid, dims=("sample", "y", "x"), attrs=attrs)
    return as_configurations(grid.astype(np.int8), **attrs)


def block_overlap(rbm: RBM, X: Any, b: int, random_state: Any = None) -> xr.Dataset:
    """Overlap of the (sign-aligned) hidden samples with majority-rule block spins.

    Parameters
    ----------
    rbm : RBM
        As in :func:`arrange_hidden`.
    X : xarray.DataArray
        Configurations.
    b : int
        Block side (odd ``b`` has no majority ties; even ``b`` breaks ties by
        seeded coins, see :func:`rgdata.lattice.block_spins`).
    random_state : None, int or numpy.random.Generator
        Seeds the hidden draws and the tie coins.

    Returns
    -------
    xarray.Dataset
        ``overlap`` on ``(y, x)`` (mean of ``h * B`` over samples per block),
        scalars ``overlap_mean`` with ``overlap_err`` (standard error over
        samples of the per-sample mean overlap), and ``overlap_null``: the
        same with the block spins shifted by half the block lattice (what
        correlations between distant blocks alone give).
    """
    from ..lattice import block_spins

    rng, seed = RGModel._seeded_rng(random_state)
    X = check_configurations(X, "X")
    hidden = hidden_configurations(rbm, X, b, random_state=rng).values.astype(np.float64)
    blocks = block_spins(X, b=b, rule="majority", random_state=rng).values.astype(np.float64)
    per_sample = (hidden * blocks).mean(axis=(1, 2))
    shift = (blocks.shape[1] // 2, blocks.shape[2] // 2)
    null = (hidden * np.roll(blocks, shift, axis=(1, 2))).mean(axis=(1, 2))
    n = len(per_sample)

    def var(dims, values, description):
        return xr.Variable(dims, np.asarray(values), {"units": "1", "description": description})

    return xr.Dataset(
        {
            "overlap": var(("y", "x"), (hidden * blocks).mean(axis=0), "<h B> per block"),
            "overlap_mean": var((), per_sample.mean(), "mean overlap with block spins"),
            "overlap_err": var((), per_sample.std(ddof=1) / np.sqrt(n), "standard error"),
            "overlap_null": var((), null.mean(), "overlap with half-lattice-shifted blocks"),
            "overlap_null_err": var((), null.std(ddof=1) / np.sqrt(n), "standard error"),
        },
        attrs={"analysis": "block_overlap", "b": b, "seed": seed, "n_samples": n},
    )


def hidden_couplings(
    rbm: RBM, X: Any, b: int, operators: Any = ("nn", "nnn"), random_state: Any = None
) -> xr.Dataset:
    """Pseudo-likelihood couplings of the hidden layer next to those of majority block spins.

    Parameters
    ----------
    rbm : RBM
        As in :func:`arrange_hidden`.
    X : xarray.DataArray
        Configurations (in chain order: the jackknife blocks are contiguous).
    b : int
        Block side.
    operators : sequence of str
        Passed to :func:`rgdata.lattice.lattice_couplings`.
    random_state : None, int or numpy.random.Generator
        Seeds the hidden draws and the majority tie coins.

    Returns
    -------
    xarray.Dataset
        ``couplings`` and ``couplings_err`` on ``(layer, coupling)`` with
        ``layer = ["hidden", "block"]``.
    """
    from ..lattice import block_spins, lattice_couplings

    rng, seed = RGModel._seeded_rng(random_state)
    X = check_configurations(X, "X")
    ops = list(operators)
    hidden = hidden_configurations(rbm, X, b, random_state=rng)
    blocks = block_spins(X, b=b, rule="majority", random_state=rng)
    fits = [lattice_couplings(c, operators=ops) for c in (hidden, blocks)]
    out = xr.concat([f[["couplings", "couplings_err"]] for f in fits], dim="layer")
    out = out.assign_coords(layer=["hidden", "block"])
    out.attrs = {"analysis": "hidden_couplings", "b": b, "seed": seed}
    return out


def _energy(spins: np.ndarray) -> np.ndarray:
    s = spins.astype(np.float64)
    return -(s * np.roll(s, 1, axis=1) + s * np.roll(s, 1, axis=2)).mean(axis=(1, 2))


def rbm_flow(rbm: RBM, X: Any, n_steps: int = 10, random_state: Any = None) -> xr.Dataset:
    """The RBM flow (Iso, Shiba & Yokoo 2018): iterated reconstructions, temperature read by energy.

    Step ``k + 1`` draws ``h ~ p(h | v_k)`` then ``v_{k+1} ~ p(v | h)``.
    Each step's energy per site (nearest-neighbour, periodic) is turned into
    a temperature by inverting the exact finite-lattice energy of the 2D
    Ising model (:func:`rgdata.lattice.exact.energy_per_site`, Kaufman), its
    error propagated through the exact specific heat.

    Parameters
    ----------
    rbm : RBM
        Fitted on square 2D lattices.
    X : xarray.DataArray
        Starting configurations ``v_0`` (any temperature).
    n_steps : int
        Reconstruction steps.
    random_state : None, int or numpy.random.Generator
        Seeds every draw.

    Returns
    -------
    xarray.Dataset
        On ``step`` (0..n_steps): ``energy``, ``energy_err`` (standard error
        over configurations), ``temperature``, ``temperature_err`` (NaN where
        the energy is outside the exact curve's range on (0.05, 50)).
    """
    from ..lattice import exact

    ly, lx = _lattice_rbm(rbm)
    if ly != lx:
        raise ValueError(f"rbm_flow needs square lattices, the RBM was fitted on {(ly, lx)}")
    X = check_configurations(X, "X")
    n_steps = check_int(n_steps, "n_steps", min_value=0)
    rng, seed = RGModel._seeded_rng(random_state)
    v = X.values.reshape(X.shape[0], -1).astype(np.float64)
    if rbm.coding_ == "01":
        v = (v + 1) / 2
    W, a, bias = rbm.weights_, rbm.visible_bias_, rbm.hidden_bias_
    energies, errors = [], []
    for step in range(n_steps + 1):
        if step:
            h = draw_units(v @ W + bias, rbm.coding_, rng)
            v = draw_units(h @ W.T + a, rbm.coding_, rng)
        spins = (v if rbm.coding_ == "pm1" else 2 * v - 1).reshape(-1, ly, lx)
        e = _energy(spins)
        energies.append(e.mean())
        errors.append(e.std(ddof=1) / np.sqrt(len(e)))
    temps, temp_errs = [], []
    lo, hi = 0.05, 50.0
    e_lo, e_hi = exact.energy_per_site(lo, ly), exact.energy_per_site(hi, ly)
    for e, de in zip(energies, errors, strict=True):
        if not e_lo < e < e_hi:
            temps.append(np.nan)
            temp_errs.append(np.nan)
            continue
        t = brentq(lambda T, e=e: exact.energy_per_site(T, ly) - e, lo, hi)
        temps.append(t)
        temp_errs.append(de / exact.specific_heat_per_site(t, ly))
    steps = np.arange(n_steps + 1)

    def var(values, units, description):
        return xr.Variable(
            "step", np.asarray(values, np.float64), {"units": units, "description": description}
        )

    return xr.Dataset(
        {
            "energy": var(energies, "J per site", "mean nearest-neighbour energy per site"),
            "energy_err": var(errors, "J per site", "standard error over configurations"),
            "temperature": var(temps, "J/k_B", "temperature whose exact energy (L) matches"),
            "temperature_err": var(temp_errs, "J/k_B", "energy error / exact specific heat"),
        },
        coords={"step": steps},
        attrs={
            "analysis": "rbm_flow",
            "seed": seed,
            "size": ly,
            "start_temperature": float(X.attrs.get("temperature", np.nan)),
            "critical_temperature": float(exact.TC_2D),
        },
    )
