"""Coupling operators for Monte Carlo RG: shapes, their lattice-symmetry images, values.

An operator is a *shape*: a tuple of site offsets whose spins are multiplied.
Its value on a configuration is the sum over every lattice site and every
distinct image of the shape under the hypercubic point group (rotations and
reflections), up to translation, of the product of the spins. So "nn" in 2D
is ``sum_i (s_i s_{i+x} + s_i s_{i+y})``, an extensive total.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from .._validation import check_int, describe

# name -> 2D shape; 3D shapes add a leading zero offset
_SHAPES_2D_EVEN = {
    "nn": ((0, 0), (0, 1)),
    "nnn": ((0, 0), (1, 1)),
    "third": ((0, 0), (0, 2)),
    "plaquette": ((0, 0), (0, 1), (1, 0), (1, 1)),
    "knight": ((0, 0), (1, 2)),
    "diag2": ((0, 0), (2, 2)),
    "fourth": ((0, 0), (0, 3)),
}
_SHAPES_2D_ODD = {
    "magnetization": ((0, 0),),
    "corner3": ((0, 0), (0, 1), (1, 0)),
    "line3": ((0, 0), (0, 1), (0, 2)),
    "diag3": ((0, 0), (1, 1), (2, 2)),
}
_SHAPES_3D_EVEN = {
    "nn": ((0, 0, 0), (0, 0, 1)),
    "nnn": ((0, 0, 0), (0, 1, 1)),
    "body": ((0, 0, 0), (1, 1, 1)),
    "third": ((0, 0, 0), (0, 0, 2)),
    "plaquette": ((0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1)),
    "knight": ((0, 0, 0), (0, 1, 2)),
    "tetrahedron": ((0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 0)),
}
_SHAPES_3D_ODD = {
    "magnetization": ((0, 0, 0),),
    "corner3": ((0, 0, 0), (0, 0, 1), (0, 1, 0)),
    "line3": ((0, 0, 0), (0, 0, 1), (0, 0, 2)),
    "diag3": ((0, 0, 0), (0, 1, 1), (0, 2, 2)),
}

DEFAULT_OPERATORS = {
    (2, "even"): _SHAPES_2D_EVEN,
    (2, "odd"): _SHAPES_2D_ODD,
    (3, "even"): _SHAPES_3D_EVEN,
    (3, "odd"): _SHAPES_3D_ODD,
}


def operator_items(
    operators: Any,
    *,
    arg: str,
    pool: dict[str, tuple],
    default: list[tuple[str, tuple]],
    ranked: dict[str, tuple] | None = None,
    what: str = "operator",
) -> list[tuple[Any, Any]]:
    """Parse an ``operators``-style argument into ``(name, shape)`` pairs.

    Parameters
    ----------
    operators : None, int, list of str or dict
        ``None``: *default*; an int ``n``: the first ``n`` operators of
        *ranked*; a list of names of *pool*; a dict name -> shape (shapes are
        checked later, by :func:`operator_offsets`).
    arg : str
        The argument's name, for error messages.
    pool : dict
        The named operators a list or an int may choose from.
    default : list of (str, tuple)
        What ``None`` stands for.
    ranked : dict, optional
        The operators an int counts off, in order (default *pool*).
    what : str
        How an unknown name is described (``"unknown {what} 'x'"``).

    Returns
    -------
    list of (name, shape)
    """
    accepted = "None, an int, a list of operator names or a dict name -> shape"
    if operators is None:
        return list(default)
    if isinstance(operators, int) and not isinstance(operators, bool):
        ranked = pool if ranked is None else ranked
        n = check_int(operators, arg, min_value=1, max_value=len(ranked))
        return list(ranked.items())[:n]
    if isinstance(operators, str):
        raise TypeError(
            f"{arg} must be {accepted}, got the string {operators!r} (wrap one name in a list)"
        )
    if isinstance(operators, dict):
        return list(operators.items())
    if not isinstance(operators, list | tuple):
        raise TypeError(f"{arg} must be {accepted}, got {describe(operators)}")
    for name in operators:
        if not isinstance(name, str) or name not in pool:
            raise ValueError(
                f"unknown {what} {name!r}; accepted: {', '.join(pool)} (or a dict name -> shape)"
            )
    return [(name, pool[name]) for name in operators]


def operator_offsets(name: str, shape, dim: int) -> tuple[tuple[int, ...], ...]:
    """Validate a user-given operator shape: a non-empty tuple of *dim*-D integer offsets.

    Returns the offsets as a tuple of int tuples; raises ValueError naming the
    operator and the accepted form otherwise (including ragged offsets, which
    numpy cannot make an array of).
    """
    try:
        arr = np.asarray(shape)
    except (TypeError, ValueError):
        example = ((0,) * dim, (0,) * (dim - 1) + (1,))
        raise ValueError(
            f"operator {name!r} shape must be a tuple of {dim}-D integer offsets, every "
            f"offset a tuple of {dim} ints (e.g. {example} for a nearest-neighbour pair), "
            f"got {shape!r}"
        ) from None
    if arr.ndim != 2 or arr.shape[1] != dim or arr.dtype.kind not in "iu" or len(arr) < 1:
        raise ValueError(
            f"operator {name!r} shape must be a tuple of {dim}-D integer offsets, got {shape!r}"
        )
    return tuple(map(tuple, arr.tolist()))


def _canonical(offsets: np.ndarray) -> tuple:
    rows = sorted(map(tuple, offsets.tolist()))
    base = np.array(rows[0])
    return tuple(tuple(int(v) for v in np.array(r) - base) for r in rows)


def orientations(shape: tuple, dim: int) -> list[tuple]:
    """Distinct images of *shape* under the point group of the hypercubic lattice."""
    offsets = np.array(shape, dtype=np.int64).reshape(len(shape), dim)
    seen = set()
    for perm in itertools.permutations(range(dim)):
        for signs in itertools.product((1, -1), repeat=dim):
            img = offsets[:, perm] * np.array(signs)
            seen.add(_canonical(img))
    return sorted(seen)


def operator_values(spins: np.ndarray, images: list[list[tuple]]) -> np.ndarray:
    """Values ``(n_sample, n_operator)`` of operators given by their orientation lists.

    ``spins`` is ``(n_sample, *lattice)`` int8; each operator is a list of
    orientations, each a tuple of offsets (one per spin in the product).
    """
    axes = tuple(range(1, spins.ndim))
    out = np.zeros((spins.shape[0], len(images)), dtype=np.float64)
    for j, per_site in enumerate(site_sums(spins, images)):
        out[:, j] = per_site.sum(axis=axes, dtype=np.int64)
    return out


def site_sums(spins: np.ndarray, groups: list[list[tuple]]):
    """For each group of spin products, the per-site sum of its products.

    ``spins`` is ``(n_sample, *lattice)`` (+-1, periodic); each group is a
    list of products, each a tuple of offsets: the product of the spins at
    ``site + offset``. Yields one int16 array shaped like *spins* per group
    (one group in memory at a time); shifted copies of the lattice are made
    once per distinct offset.
    """
    axes = tuple(range(1, spins.ndim))
    cache: dict[tuple, np.ndarray] = {}

    def shifted(offset: tuple) -> np.ndarray:
        if offset not in cache:
            if not any(offset):
                cache[offset] = spins
            else:
                cache[offset] = np.roll(spins, tuple(-o for o in offset), axis=axes)
        return cache[offset]

    for group in groups:
        total = np.zeros(spins.shape, dtype=np.int16)
        for term in group:
            prod = shifted(term[0])
            for off in term[1:]:
                prod = prod * shifted(off)
            total += prod
        yield total
