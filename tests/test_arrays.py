"""Zero-copy targets and allocating twins: memmaps, bytearray-backed arrays, views, torch tensors."""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest

import reference as R
import weightinit as wi
from conftest import BFLOAT16, CONFIGS, config_id, fill, np_dtype

SEED = 0xC0FFEE


def _expected(cfg, shape, **kw):
    kind, dtype, params = cfg
    x = np.zeros(shape, dtype=np_dtype(dtype))
    fill(kind, x, **kw, **params)
    return x


def _same_bytes(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and np.array_equal(np.ascontiguousarray(a).view(np.uint8),
                                                 np.ascontiguousarray(b).view(np.uint8))


@pytest.mark.parametrize("cfg", CONFIGS[:1] + CONFIGS[1::3], ids=config_id)
def test_memmap_filled_in_place(tmp_path, cfg):
    kind, dtype, params = cfg
    path = tmp_path / "w.bin"
    shape = (33, 65)
    mm = np.memmap(path, dtype=np_dtype(dtype), mode="w+", shape=shape)
    out = fill(kind, mm, seed=SEED, stream="mm", **params)
    assert out is mm
    mm.flush()
    del mm, out
    back = np.fromfile(path, dtype=np_dtype(dtype)).reshape(shape)
    assert _same_bytes(back, _expected(cfg, shape, seed=SEED, stream="mm"))


def test_memmap_view_and_read_only_memmap(tmp_path):
    path = tmp_path / "w.bin"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=(10, 10))
    mm[:] = -1
    wi.uniform_(mm[2:5, ::2], seed=1)
    mm.flush()
    back = np.fromfile(path, dtype=np.float32).reshape(10, 10)
    assert np.array_equal(back[2:5, ::2], _expected(("uniform", "float32", {}), (3, 5), seed=1))
    mask = np.ones((10, 10), bool)
    mask[2:5, ::2] = False
    assert np.all(back[mask] == -1)
    del mm
    ro = np.memmap(path, dtype=np.float32, mode="r", shape=(10, 10))
    with pytest.raises(ValueError, match="read-only"):
        wi.normal_(ro, seed=1)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_bytearray_backed_array(dtype):
    dt = np_dtype(dtype)
    buf = bytearray(dt.itemsize * 257)
    x = np.frombuffer(buf, dtype=dt)
    assert x.flags.writeable
    out = wi.normal_(x, 0.0, 0.5, seed=SEED, stream="ba")
    assert out is x
    expected = _expected(("normal", dtype, {"std": 0.5}), 257, seed=SEED, stream="ba")
    assert bytes(buf) == expected.tobytes()


def test_read_only_buffer_rejected():
    x = np.frombuffer(bytes(64), dtype=np.float32)
    with pytest.raises(ValueError, match="read-only"):
        wi.uniform_(x, seed=1)


def test_views_write_through_to_base():
    base = np.zeros((20, 30), np.float32)
    view = base[5:15, 3:27:2]
    assert np.shares_memory(base, view)
    out = wi.trunc_normal_(view, seed=SEED, stream="v")
    assert out is view
    assert np.array_equal(base[5:15, 3:27:2],
                          _expected(("trunc_normal", "float32", {}), view.shape, seed=SEED,
                                    stream="v"))
    base2 = np.zeros((20, 30), np.float32)
    base2[5:15, 3:27:2] = 1
    assert np.all(base[base2 == 0] == 0)


# The common call (an exact ndarray, float parameters, an int seed, other keywords at their
# defaults) takes a fast path in _random.py; these pin that it writes what the general path writes.


@pytest.mark.parametrize("cfg", CONFIGS[1:], ids=config_id)
def test_common_call_matches_the_general_path(cfg):
    kind, dtype, params = cfg
    fast = _expected(cfg, (7, 11), seed=SEED)
    general = _expected(cfg, (7, 11), seed=SEED, stream=0)  # an explicit stream: general path
    assert _same_bytes(fast, general)
    strided = np.zeros((7, 22), dtype=np_dtype(dtype))[:, ::2]  # not C-contiguous: general path
    fill(kind, strided, seed=SEED, **params)
    assert _same_bytes(strided, fast)
    g1, g2 = wi.Generator(SEED), wi.Generator(SEED)
    fast = _expected(cfg, (7, 11), generator=g1)
    general = np.zeros((7, 22), dtype=np_dtype(dtype))[:, ::2]
    fill(kind, general, generator=g2, **params)
    assert _same_bytes(fast, general) and g1.calls == g2.calls == 1


@pytest.mark.parametrize("kind", ["uniform", "normal", "trunc_normal"])
def test_common_call_that_fails_leaves_the_generator_alone(kind):
    bad = {"uniform": {"a": 1.0, "b": 0.5}, "normal": {"std": -1.0},
           "trunc_normal": {"a": math.nan}}[kind]
    g = wi.Generator(SEED)
    x = np.zeros(8, np.float32)
    with pytest.raises(ValueError):
        fill(kind, x, generator=g, **bad)
    with pytest.raises(ValueError, match="read-only"):
        fill(kind, np.frombuffer(bytes(32), np.float32), generator=g)
    assert g.calls == 0 and not x.any()


@pytest.mark.parametrize("kind", ["uniform", "normal", "trunc_normal"])
def test_misaligned_array_filled_like_an_aligned_one(kind):
    buf = bytearray(4 * 100 + 1)
    x = np.frombuffer(buf, dtype=np.float32, offset=1, count=100)
    assert not x.flags.aligned and x.flags.writeable
    assert fill(kind, x, seed=SEED) is x
    assert _same_bytes(x, _expected((kind, "float32", {}), 100, seed=SEED))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_constant_converts_like_numpy_assignment(dtype):
    values = [0.1, -0.0, 1e-45, 7e-46, 5e-324, 3.4028235677973366e38, 3.4028235677973362e38,
              1e39, -1e300, math.inf, math.nan, -math.nan, 1, -3, 2**24 + 1, 2**53 + 1, 10**30,
              float.fromhex("0x1.000001p0"), float.fromhex("0x1.0000010000001p0")]
    for v in values:
        x = np.zeros(5, dtype=dtype)
        with np.errstate(over="ignore"):  # NumPy's cast of 1e39 to float32 (inf) warns
            wi.constant_(x, v)
            expected = np.full(5, np.array(v, dtype=np.float64).astype(dtype))
        assert _same_bytes(x, expected), v
    with pytest.raises(OverflowError):
        wi.constant_(np.zeros(5, dtype=dtype), 2**1024)


def test_reshaped_and_flat_views_of_the_same_memory_agree():
    a = np.zeros(600, np.float64)
    wi.uniform_(a.reshape(20, 30), seed=4)
    b = np.zeros((20, 30), np.float64)
    wi.uniform_(b.reshape(-1), seed=4)
    assert _same_bytes(a, b.reshape(-1))


# ---------------------------------------------------------------------------------------------
# allocating twins
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", np.float32,
                                   np.dtype("float64"), ml_dtypes.bfloat16, BFLOAT16, np.float16])
def test_allocating_twins_match_in_place(dtype):
    dt = np.dtype(dtype) if not isinstance(dtype, str) else np_dtype(dtype)
    shape = (7, 11)
    cases = [
        (wi.uniform(shape, -0.5, 0.5, dtype=dtype, seed=SEED, stream="t"),
         wi.uniform_(np.zeros(shape, dt), -0.5, 0.5, seed=SEED, stream="t")),
        (wi.normal(shape, 0.1, 0.02, dtype=dtype, seed=SEED, stream="t", offset=3),
         wi.normal_(np.zeros(shape, dt), 0.1, 0.02, seed=SEED, stream="t", offset=3)),
        (wi.trunc_normal(shape, 0.0, 0.02, -0.04, 0.04, dtype=dtype, seed=SEED, stream="t"),
         wi.trunc_normal_(np.zeros(shape, dt), 0.0, 0.02, -0.04, 0.04, seed=SEED, stream="t")),
        (wi.constant(shape, 0.3, dtype=dtype), wi.constant_(np.zeros(shape, dt), 0.3)),
        (wi.zeros(shape, dtype=dtype), np.zeros(shape, dt)),
        (wi.ones(shape, dtype=dtype), np.ones(shape, dt)),
    ]
    for got, expected in cases:
        assert isinstance(got, np.ndarray)
        assert got.dtype == dt and got.shape == shape
        assert got.flags.c_contiguous and got.flags.writeable
        assert _same_bytes(got, expected)


def test_allocating_twins_default_dtype_and_shapes():
    x = wi.uniform(5, seed=1)
    assert x.dtype == np.float32 and x.shape == (5,)
    assert wi.normal((2, 3, 4), seed=1).shape == (2, 3, 4)
    assert wi.normal([2, 3], seed=1).shape == (2, 3)
    assert wi.trunc_normal((), seed=1).shape == ()
    assert wi.zeros((0, 3)).shape == (0, 3)
    bits = wi.random_bits((3, 5), seed=9, stream="b", offset=2**34 - 7)
    assert bits.dtype == np.uint32 and bits.shape == (3, 5)
    R.assert_matches(bits, "bits", 9, "b", 2**34 - 7)
    R.assert_matches(wi.uniform((4, 4), seed=1), "uniform", 1, 0, 0)


def test_allocating_twin_generator_advances_like_in_place():
    g1, g2 = wi.Generator(3), wi.Generator(3)
    a = wi.normal((10,), generator=g1)
    b = wi.normal_(np.zeros(10, np.float32), generator=g2)
    assert np.array_equal(a, b) and g1.calls == g2.calls == 1


@pytest.mark.parametrize("dtype", ["int32", np.int64, "complex64", "uint32", "float128x", "bool"])
def test_allocating_twin_bad_dtype(dtype):
    with pytest.raises(TypeError, match="dtype"):
        wi.uniform((3,), dtype=dtype, seed=1)


@pytest.mark.parametrize("shape", [(-1,), (2, -3)])
def test_allocating_twin_bad_shape(shape):
    with pytest.raises(ValueError):
        wi.uniform(shape, seed=1)


# ---------------------------------------------------------------------------------------------
# torch CPU tensors (filled in place, no copy)
# ---------------------------------------------------------------------------------------------


TORCH_DTYPES = ["float32", "float64", "float16", "bfloat16"]


def _torch():
    return pytest.importorskip("torch")


def _torch_dtype(torch, name):
    return getattr(torch, name)


def _tensor_bits(t):
    torch = _torch()
    itemsize = t.element_size()
    view = t.detach().contiguous().view({2: torch.int16, 4: torch.int32, 8: torch.int64}[itemsize])
    return view.numpy().view(f"u{itemsize}")


@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c[1] in TORCH_DTYPES], ids=config_id)
def test_torch_tensor_filled_in_place(cfg):
    torch = _torch()
    kind, dtype, params = cfg
    t = torch.zeros((17, 23), dtype=_torch_dtype(torch, dtype))
    ptr = t.data_ptr()
    out = fill(kind, t, seed=SEED, stream="torch", offset=5, **params)
    assert out is t
    assert t.data_ptr() == ptr
    expected = _expected(cfg, (17, 23), seed=SEED, stream="torch", offset=5)
    assert np.array_equal(_tensor_bits(t), expected.view(f"u{expected.itemsize}"))


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
def test_torch_non_contiguous_tensor(dtype):
    torch = _torch()
    base = torch.zeros((12, 9), dtype=_torch_dtype(torch, dtype))
    view = base.t()[::2]
    wi.uniform_(view, -1.0, 1.0, seed=SEED)
    expected = _expected(("uniform", dtype, {"a": -1.0, "b": 1.0}), tuple(view.shape), seed=SEED)
    assert np.array_equal(_tensor_bits(view), expected.view(f"u{expected.itemsize}"))
    untouched = torch.ones((12, 9), dtype=torch.bool)
    untouched.t()[::2] = False
    assert bool((base[untouched] == 0).all())


def test_torch_parameter_with_requires_grad():
    torch = _torch()
    p = torch.nn.Parameter(torch.empty(8, 5))
    ptr = p.data_ptr()
    out = wi.normal_(p, 0.0, 0.02, seed=1, stream="param")
    assert out is p and p.data_ptr() == ptr and p.requires_grad
    expected = _expected(("normal", "float32", {"std": 0.02}), (8, 5), seed=1, stream="param")
    assert np.array_equal(p.detach().numpy(), expected)


def test_torch_module_weight_like_nn_init():
    torch = _torch()
    lin = torch.nn.Linear(16, 8, dtype=torch.bfloat16)
    wi.trunc_normal_(lin.weight, std=0.02, seed=3, stream="fc.weight")
    wi.zeros_(lin.bias)
    expected = _expected(("trunc_normal", "bfloat16", {"std": 0.02}), (8, 16), seed=3,
                         stream="fc.weight")
    assert np.array_equal(_tensor_bits(lin.weight), expected.view(np.uint16))
    assert bool((lin.bias == 0).all())


@pytest.mark.parametrize("dtype", ["int32", "int64", "complex64", "bool"])
def test_torch_bad_dtype(dtype):
    torch = _torch()
    t = torch.zeros(4, dtype=_torch_dtype(torch, dtype))
    with pytest.raises(TypeError):
        wi.uniform_(t, seed=1)
    assert bool((t == 0).all())


def test_torch_zero_size_tensor():
    torch = _torch()
    t = torch.zeros((0, 4))
    assert wi.normal_(t, seed=1) is t
