"""Bad input gets a clear TypeError / ValueError naming the argument, and nothing is written.

Every check fills a sentinel array and asserts its bytes are unchanged after the error.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest

import weightinit as wi
from conftest import fill, np_dtype

FLOAT_FILLS = {
    "uniform_": lambda x, **kw: wi.uniform_(x, **kw),
    "normal_": lambda x, **kw: wi.normal_(x, **kw),
    "trunc_normal_": lambda x, **kw: wi.trunc_normal_(x, **kw),
}
ALL_RANDOM_FILLS = ["uniform", "normal", "trunc_normal"]


def _sentinel(shape=(4, 5), dtype=np.float32):
    x = np.empty(shape, dtype=dtype)
    x.view(np.uint8)[...] = 0x5A
    return x


def _raises_untouched(exc, match, func, x, *args, **kwargs):
    """Assert func(x, ...) raises exc whose message contains every word of ``match``; x unchanged."""
    before = np.array(x, copy=True)
    with pytest.raises(exc) as info:
        func(x, *args, **kwargs)
    msg = str(info.value)
    for word in ([match] if isinstance(match, str) else match):
        assert word in msg, f"{word!r} not in error message {msg!r}"
    assert np.array_equal(before.view(np.uint8), np.asarray(x).view(np.uint8)), "array was modified"
    return info


# ---------------------------------------------------------------------------------------------
# the array argument
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ALL_RANDOM_FILLS + ["bits"])
def test_read_only_array(kind):
    x = _sentinel(dtype=np.uint32 if kind == "bits" else np.float32)
    x.flags.writeable = False
    _raises_untouched(ValueError, ["tensor", "read-only"], lambda a: fill(kind, a, seed=1), x)


@pytest.mark.parametrize("kind", ALL_RANDOM_FILLS)
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.uint32, np.bool_, np.complex64,
                                   np.complex128, np.dtype("<M8[s]")])
def test_non_float_dtype_is_type_error(kind, dtype):
    x = np.zeros(6, dtype=dtype)
    # names the argument and the accepted dtypes
    _raises_untouched(TypeError, ["tensor", "float32", "float64", "float16", "bfloat16"],
                      lambda a: fill(kind, a, seed=1), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.uint64, np.int64])
def test_random_bits_requires_uint32(dtype):
    x = _sentinel(dtype=dtype)
    _raises_untouched(TypeError, ["tensor", "uint32"], lambda a: fill("bits", a, seed=1), x)


@pytest.mark.parametrize("kind", ALL_RANDOM_FILLS)
@pytest.mark.parametrize("obj", [[1.0, 2.0], (1.0,), 3.0, "abc", None])
def test_non_array_is_type_error(kind, obj):
    with pytest.raises(TypeError, match="tensor"):
        fill(kind, obj, seed=1)


def test_non_native_byte_order_is_rejected_or_correct():
    """A big-endian float32 array must not receive little-endian bytes silently."""
    x = np.zeros(8, dtype=">f4")
    try:
        wi.uniform_(x, seed=1)
    except (TypeError, ValueError):
        assert np.all(x == 0)
        return
    y = wi.uniform_(np.zeros(8, dtype=np.float32), seed=1)
    assert np.array_equal(x.astype(np.float32), y)


# ---------------------------------------------------------------------------------------------
# distribution parameters
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("std", [-1.0, -1e-30, -math.inf])
def test_negative_std(std):
    for name in ("normal_", "trunc_normal_"):
        exc = ValueError
        _raises_untouched(exc, "std", FLOAT_FILLS[name], _sentinel(), std=std, seed=1)


def test_a_greater_than_b():
    _raises_untouched(ValueError, ["a", "b"], wi.uniform_, _sentinel(), 1.0, 0.5, seed=1)
    _raises_untouched(ValueError, ["a", "b"], wi.trunc_normal_, _sentinel(), 0.0, 1.0, 2.0, -2.0,
                      seed=1)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("func,param", [
    ("uniform_", "a"), ("uniform_", "b"),
    ("normal_", "mean"), ("normal_", "std"),
    ("trunc_normal_", "mean"), ("trunc_normal_", "std"), ("trunc_normal_", "a"),
    ("trunc_normal_", "b"),
])
def test_non_finite_parameters(func, param, bad):
    if param == "std" and bad == -math.inf:
        return  # covered by test_negative_std (either message is acceptable there)
    x = _sentinel()
    kw = {param: bad}
    if func == "uniform_" and param == "a" and bad == -math.inf:
        kw["b"] = 1.0
    _raises_untouched(ValueError, param, FLOAT_FILLS[func], x, seed=1, **kw)


@pytest.mark.parametrize("func,param", [("uniform_", "a"), ("normal_", "std"),
                                        ("trunc_normal_", "mean")])
@pytest.mark.parametrize("bad", ["0.5", None, [1.0], 1 + 2j])
def test_non_numeric_parameters_are_type_errors(func, param, bad):
    _raises_untouched(TypeError, param, FLOAT_FILLS[func], _sentinel(), seed=1, **{param: bad})


# ---------------------------------------------------------------------------------------------
# randomness arguments
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ALL_RANDOM_FILLS + ["bits"])
@pytest.mark.parametrize("seed", [-1, 2**64, 2**100, -(2**64)])
def test_seed_out_of_range(kind, seed):
    x = _sentinel(dtype=np.uint32 if kind == "bits" else np.float32)
    _raises_untouched(ValueError, "seed", lambda a: fill(kind, a, seed=seed), x)


@pytest.mark.parametrize("seed", [True, False, 1.0, "1", b"1", 1 + 0j, [1]])
def test_seed_wrong_type(seed):
    _raises_untouched(TypeError, "seed", lambda a: fill("normal", a, seed=seed), _sentinel())


def test_numpy_integer_seed_is_accepted_like_int():
    a = wi.normal_(np.zeros(16, np.float32), seed=np.uint64(2**63 + 1))
    b = wi.normal_(np.zeros(16, np.float32), seed=2**63 + 1)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("offset", [-1, -(2**40)])
def test_negative_offset(offset):
    _raises_untouched(ValueError, "offset", lambda a: fill("uniform", a, seed=1, offset=offset),
                      _sentinel())


def test_offset_past_end_of_stream():
    x = _sentinel()  # 20 elements
    _raises_untouched(ValueError, "offset", lambda a: fill("uniform", a, seed=1, offset=2**64 - 19),
                      x)
    _raises_untouched(ValueError, "offset", lambda a: fill("uniform", a, seed=1, offset=2**64), x)
    fill("uniform", x, seed=1, offset=2**64 - 20)  # exactly up to the end is fine


@pytest.mark.parametrize("offset", [1.0, "3", True])
def test_offset_wrong_type(offset):
    _raises_untouched(TypeError, "offset", lambda a: fill("uniform", a, seed=1, offset=offset),
                      _sentinel())


@pytest.mark.parametrize("threads", [0, -1, -100])
def test_threads_below_one(threads):
    _raises_untouched(ValueError, "threads", lambda a: fill("normal", a, seed=1, threads=threads),
                      _sentinel())


@pytest.mark.parametrize("threads", [1.5, "2", True])
def test_threads_wrong_type(threads):
    _raises_untouched(TypeError, "threads", lambda a: fill("normal", a, seed=1, threads=threads),
                      _sentinel())


def test_seed_and_generator_both_given():
    g = wi.Generator(5)
    calls = g.calls
    _raises_untouched(TypeError, ["seed", "generator"],
                      lambda a: fill("normal", a, seed=1, generator=g), _sentinel())
    assert g.calls == calls


@pytest.mark.parametrize("stream", [1.5, b"name", ["a"], ("a",), True, object()])
def test_stream_wrong_type(stream):
    _raises_untouched(TypeError, "stream", lambda a: fill("uniform", a, seed=1, stream=stream),
                      _sentinel())


@pytest.mark.parametrize("stream", [-1, 2**64, 2**70])
def test_stream_out_of_range(stream):
    _raises_untouched(ValueError, "stream", lambda a: fill("uniform", a, seed=1, stream=stream),
                      _sentinel())


def test_stream_id_errors():
    with pytest.raises(ValueError):
        wi.stream_id(-1)
    with pytest.raises(ValueError):
        wi.stream_id(2**64)
    with pytest.raises(TypeError):
        wi.stream_id(1.5)
    with pytest.raises(TypeError):
        wi.stream_id(b"abc")


def test_generator_wrong_type():
    _raises_untouched(TypeError, "generator",
                      lambda a: fill("uniform", a, generator=np.random.default_rng(0)), _sentinel())


@pytest.mark.parametrize("seed", [-1, 2**64, True, 1.5])
def test_generator_and_manual_seed_validate_seed(seed):
    exc = TypeError if isinstance(seed, (bool, float)) else ValueError
    with pytest.raises(exc, match="seed"):
        wi.Generator(seed)
    before = wi.initial_seed()
    with pytest.raises(exc, match="seed"):
        wi.manual_seed(seed)
    assert wi.initial_seed() == before


# ---------------------------------------------------------------------------------------------
# the no-op and small-dimension cases
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ALL_RANDOM_FILLS + ["bits"])
@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 4, 5)])
def test_zero_size_is_a_no_op(kind, shape):
    dtype = np.uint32 if kind == "bits" else np.float32
    x = np.empty(shape, dtype=dtype)
    assert fill(kind, x, seed=1) is x
    assert x.shape == shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, ml_dtypes.bfloat16])
def test_constant_zero_size_is_a_no_op(dtype):
    x = np.empty((0, 3), dtype=dtype)
    assert wi.constant_(x, 1.5) is x
    assert wi.zeros_(x) is x
    assert wi.ones_(x) is x


@pytest.mark.parametrize("kind", ALL_RANDOM_FILLS)
def test_zero_dimensional_and_one_dimensional_arrays(kind):
    x0 = np.zeros((), dtype=np.float32)
    assert fill(kind, x0, seed=3, stream=4) is x0
    x1 = np.zeros(1, dtype=np.float32)
    fill(kind, x1, seed=3, stream=4)
    assert x0.item() == x1[0] != 0.0


def test_constant_validation():
    _raises_untouched(TypeError, ["tensor", "float32"], wi.constant_, np.zeros(4, np.int32), 1.0)
    x = _sentinel()
    x.flags.writeable = False
    _raises_untouched(ValueError, ["tensor", "read-only"], wi.constant_, x, 1.0)
    _raises_untouched(ValueError, "threads", wi.constant_, _sentinel(), 1.0, threads=0)


def test_constant_fills():
    for dtype in (np.float32, np.float64, np.float16, ml_dtypes.bfloat16):
        x = _sentinel((3, 5), dtype)
        assert wi.constant_(x, 0.1) is x
        assert np.all(x == np.asarray(0.1).astype(dtype))
        assert np.all(wi.zeros_(x) == 0) and not np.signbit(x.astype(np.float32)).any()
        assert np.all(wi.ones_(x) == 1)
        v = _sentinel((4, 6), dtype)
        before = v.copy()
        wi.constant_(v[::-1, 1::2], -2.5)
        assert np.all(v[:, 1::2] == -2.5)
        assert np.array_equal(np.ascontiguousarray(v[:, 0::2]).view(np.uint8),
                              np.ascontiguousarray(before[:, 0::2]).view(np.uint8))


@pytest.mark.parametrize("seed", [None, 1])  # 1: the fast path of the common call
@pytest.mark.parametrize(
    "dtype, call, match",
    [
        ("float32", lambda x, **kw: wi.uniform_(x, -3e38, 3e38, **kw), "b - a"),
        ("float32", lambda x, **kw: wi.normal_(x, std=1e39, **kw), "std"),
        ("float16", lambda x, **kw: wi.uniform_(x, -1e5, 1e5, **kw), "float16"),
        ("float16", lambda x, **kw: wi.normal_(x, mean=7e4, **kw), "mean"),
        ("bfloat16", lambda x, **kw: wi.trunc_normal_(x, std=1e39, **kw), "std"),
        ("float64", lambda x, **kw: wi.uniform_(x, -1e308, 1e308, **kw), "b - a"),
    ],
)
def test_parameters_beyond_the_dtype_range(dtype, call, match, seed):
    x = np.full(16, 7, dtype=np_dtype(dtype))
    before = x.tobytes()
    with pytest.raises(ValueError, match=match):
        call(x, seed=seed)
    assert x.tobytes() == before


@pytest.mark.parametrize("kind", ALL_RANDOM_FILLS + ["bits", "constant"])
def test_zero_stride_array_is_rejected(kind):
    dtype = np.uint32 if kind == "bits" else np.float32
    base = np.zeros(4, dtype)
    x = np.lib.stride_tricks.as_strided(base, shape=(3, 4), strides=(0, base.itemsize),
                                        writeable=True)
    with pytest.raises(ValueError, match="tensor has overlapping elements"):
        if kind == "constant":
            wi.constant_(x, 0.5)
        else:
            fill(kind, x, seed=1)
    assert not base.any()


def test_wide_truncation_bounds_are_fine_for_16_bit_dtypes():
    x = wi.trunc_normal((1000,), std=0.02, a=-1e6, b=1e6, dtype="float16", seed=1)
    assert np.all(np.abs(x.astype(np.float32)) <= 0.02 * 5.5)
