"""Every scheme on a 2-D float32 view of 2**26 elements (orthogonal_: at most 2048 x 2048, it is a
QR), against torch.nn.init (the equivalent torch call for the JAX/Keras-named ones) and the NumPy
equivalent (Generator draw with ``out=``, then in-place scale and shift), with ndarray.fill of the
same buffer as the memory-write reference. The callables are those of ``weightinit.benchmark``, so
this suite and ``weightinit bench`` time the same code."""
from __future__ import annotations

import math

import numpy as np
import pytest

from weightinit import benchmark as B

from _bench import TRUNC2_STD, check_bounds, check_moments, check_normal, check_uniform, record, run

LABELS = [c.label for c in B.scheme_cases(1 << 16)]
if not LABELS:  # pragma: no cover - weightinit.schemes missing
    pytest.skip("weightinit.schemes is not available", allow_module_level=True)
SLOW_TORCH = ("sparse_",)  # torch.nn.init.sparse_ loops over columns in Python


def _check(label: str, x: np.ndarray, shape: tuple) -> None:
    """The values of scheme ``label`` (or its peer's) in ``x``, for a buffer of ``shape``."""
    rows, cols = shape[0], shape[1]
    fan_in = cols * int(np.prod(shape[2:]))
    fan_out = rows * int(np.prod(shape[2:]))
    if label == "xavier_uniform_":
        b = math.sqrt(6.0 / (fan_in + fan_out))
        check_uniform(x, -b, b)
    elif label == "xavier_normal_":
        check_normal(x, math.sqrt(2.0 / (fan_in + fan_out)))
    elif label.startswith("kaiming_uniform_"):
        b = math.sqrt(3.0) * math.sqrt(2.0 / 6.0) / math.sqrt(fan_in)
        check_uniform(x, -b, b)
    elif label.startswith("kaiming_normal_"):
        check_normal(x, math.sqrt(2.0 / fan_in))
    elif label == "lecun_uniform_":
        b = math.sqrt(3.0 / fan_in)
        check_uniform(x, -b, b)
    elif label.startswith(("lecun_normal_", "variance_scaling_")):
        var = (2.0 if label.startswith("variance") else 1.0) / fan_in
        s = math.sqrt(var) / TRUNC2_STD
        check_bounds(x, -2 * s, 2 * s)
        check_moments(x, 0.0, math.sqrt(var))
    elif label.startswith("sparse_"):
        zeros = (x == 0).sum(axis=0)
        assert (zeros >= math.ceil(0.9 * rows)).all(), zeros.min()
        nz = x[x != 0]
        assert nz.size > 0 and abs(nz.astype(np.float64).std() / 0.01 - 1) < 0.2
    elif label == "eye_":
        k = min(rows, cols)
        assert np.count_nonzero(x) == k and (np.diagonal(x) == 1).all()
    elif label == "dirac_":
        k = min(rows, cols)
        centre = tuple(d // 2 for d in shape[2:])
        i = np.arange(k)
        assert np.count_nonzero(x) == k and (x[(i, i) + centre] == 1).all()
    elif label == "orthogonal_":
        m = x.astype(np.float64)
        g = m @ m.T if rows <= cols else m.T @ m
        np.testing.assert_allclose(g, np.eye(min(rows, cols)), atol=2e-3)
    else:  # pragma: no cover - a new case in weightinit.benchmark needs its check here
        raise AssertionError(f"no check for {label}")


@pytest.fixture(scope="module")
def cases(size):
    return {c.label: c for c in B.scheme_cases(size)}


def test_reference_fill(benchmark, buffers):
    """ndarray.fill of the float32 buffer the schemes fill (the memory-write reference)."""
    x = buffers("float32")
    record(benchmark, "ndarray.fill (reference)", "float32", "ndarray.fill", x.size, 4)
    run(benchmark, B.ref_fill(x))
    assert (x == np.float32(B.REF_VALUE)).all()


# Only the (scheme, implementation) pairs that exist: NumPy has no sparse/eye/dirac equivalent.
_CASES = B.scheme_cases(1 << 16)
PAIRS = [(c.label, impl) for c in _CASES for impl in ("weightinit", "PCG64", "Philox", "torch")
         if impl == "weightinit" or (impl == "torch" and c.torch is not None)
         or (impl in ("PCG64", "Philox") and c.numpy is not None)]


@pytest.mark.parametrize("label, impl", PAIRS)
def test_scheme(benchmark, request, buffers, cases, threads, size, label, impl):
    case = cases[label]
    buf = buffers("float32")
    shape = case.shape(size) if case.shape else (size,)
    view = buf[:int(np.prod(shape))].reshape(shape)
    target = view
    slow = False
    if impl == "weightinit":
        fn = lambda: case.ours(view, threads)  # noqa: E731
        slow = label == "orthogonal_"
    elif impl in ("PCG64", "Philox"):
        gen = np.random.Generator(getattr(np.random, impl)(B.SEED))
        fn = lambda: case.numpy(gen, view)  # noqa: E731
        slow = label == "orthogonal_"
    else:
        request.getfixturevalue("torch")  # torch at the run's thread count, or a skip
        if case.torch_max and view.size > case.torch_max:
            target = view.reshape(-1)[:case.torch_max]
        t = B.torch_view(target)
        fn = lambda: case.torch(t)  # noqa: E731
        slow = bool(case.torch_max) or label.startswith(SLOW_TORCH) or label == "orthogonal_"
    record(benchmark, label, "float32", impl, target.size, 4)
    run(benchmark, fn, slow=slow)
    _check(label, target, shape)
    B.ref_fill(buf)()
