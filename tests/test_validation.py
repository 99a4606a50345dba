"""The shared scalar checks: one set of bound messages for ints and reals."""

import math

import pytest

from rgdata._validation import check_int, check_real


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: check_int(1, "n", min_value=2), "n must be >= 2, got 1"),
        (lambda: check_int(9, "n", max_value=8), "n must be <= 8, got 9"),
        (lambda: check_real(0.5, "x", min_value=1.0), "x must be >= 1.0, got 0.5"),
        (lambda: check_real(0.0, "x", min_value=0.0, strict_min=True), "x must be > 0.0, got 0.0"),
        (lambda: check_real(2.5, "x", max_value=2.0), "x must be <= 2.0, got 2.5"),
        (lambda: check_real(math.inf, "x"), "x must be finite, got inf"),
    ],
)
def test_out_of_bounds_values_name_the_argument_and_the_bound(call, message):
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: check_int(2, "n", min_value=2, max_value=2), 2),
        (lambda: check_real(1.0, "x", min_value=1.0, max_value=1.0), 1.0),
        (lambda: check_real(1e-300, "x", min_value=0.0, strict_min=True), 1e-300),
    ],
)
def test_values_on_the_bounds_are_accepted(call, expected):
    value = call()
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("bad", [True, 1.5, "3"])
def test_check_int_refuses_non_integers(bad):
    with pytest.raises(TypeError, match="n must be an int"):
        check_int(bad, "n")
