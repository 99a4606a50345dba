"""The blocked Gram product equals numpy's ``a @ a.T`` and survives sizes where numpy crashes."""

import subprocess
import sys

import numpy as np
import pytest

from rgdata._gram import SYRK_MAX_ROWS, gram


@pytest.mark.parametrize("block", [1, 3, 7, 64])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocked_equals_matmul(block, dtype):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, size=(50, 40)).astype(dtype)  # exact products: equal bits
    np.testing.assert_array_equal(gram(a, block=block), a @ a.T)
    b = rng.standard_normal((37, 11)).astype(dtype)
    got = gram(b, block=block)
    np.testing.assert_allclose(got, b.astype(np.float64) @ b.T.astype(np.float64), rtol=1e-5)
    np.testing.assert_array_equal(got, got.T)


def test_small_inputs_keep_numpys_product_bit_for_bit():
    a = np.random.default_rng(1).standard_normal((300, 20))
    np.testing.assert_array_equal(gram(a), a @ a.T)


@pytest.mark.slow
def test_23000_rows_float64_does_not_crash():
    """numpy's threaded dsyrk segfaults here (numpy/numpy#19685); gram must not. ~20 s."""
    code = (
        "import numpy as np; from rgdata._gram import gram; "
        "a = np.random.default_rng(0).standard_normal((23000, 100)); "
        "g = gram(a); print(float(g[22999, 22999] - a[22999] @ a[22999]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert abs(float(out.stdout)) < 1e-9
    assert SYRK_MAX_ROWS < 23000
