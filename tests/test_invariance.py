"""Invariance: thread counts, chunkings, 16-bit dtypes and non-contiguous views.

The same (seed, stream) gives the same bytes however the work is split: across thread counts, when
a buffer is filled in arbitrary chunks with matching offsets, and through strided views, which are
filled in their logical C order without touching anything else in their base array.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reference as R
from conftest import CONFIGS, config_id, fill, np_dtype

SEED = 20240923
BIG = 3 * 10**6 + 5  # large enough that every pool thread gets several blocks

# one configuration per (kind, dtype), non-default parameters where there are some
PER_KIND_DTYPE = {}
for _cfg in CONFIGS:
    PER_KIND_DTYPE[(_cfg[0], _cfg[1])] = _cfg
KIND_DTYPE_CONFIGS = list(PER_KIND_DTYPE.values())


def _fill_new(cfg, shape, **kw):
    kind, dtype, params = cfg
    x = np.zeros(shape, dtype=np_dtype(dtype))
    fill(kind, x, **kw, **params)
    return x


def _bytes_equal(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(
        np.ascontiguousarray(a).view(np.uint8), np.ascontiguousarray(b).view(np.uint8))


@pytest.mark.parametrize("cfg", CONFIGS, ids=config_id)
def test_thread_counts_give_identical_bytes(cfg):
    ref = _fill_new(cfg, BIG, seed=SEED, stream="threads", offset=3, threads=1)
    for threads in (2, 3, 7):
        x = _fill_new(cfg, BIG, seed=SEED, stream="threads", offset=3, threads=threads)
        assert _bytes_equal(x, ref), f"threads={threads} differs from threads=1"
    default = _fill_new(cfg, BIG, seed=SEED, stream="threads", offset=3)
    assert _bytes_equal(default, ref), "default thread count differs from threads=1"
    kind, dtype, params = cfg
    # spot-check the common result against the reference at the start, middle and end
    for start in (0, BIG // 2 - 1001, BIG - 1500):
        R.assert_matches(ref[start:start + 1500], kind, SEED, "threads", 3 + start,
                         dtype=np_dtype(dtype), **params)


@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c[0] in ("bits", "uniform") and
                                 c[1] in ("uint32", "float32", "float64") and not c[2]],
                         ids=config_id)
def test_multithreaded_fill_equals_reference_everywhere(cfg):
    kind, dtype, params = cfg
    x = _fill_new(cfg, BIG, seed=SEED, stream=11, offset=2**34 - BIG // 2, threads=7)
    R.assert_matches(x, kind, SEED, 11, 2**34 - BIG // 2, **params)


@pytest.mark.parametrize("cfg", CONFIGS, ids=config_id)
def test_chunked_fill_equals_one_fill(cfg):
    n = 200_003
    whole = _fill_new(cfg, n, seed=SEED, stream="chunks", offset=17)
    rng = np.random.default_rng(7)
    x = np.zeros(n, dtype=whole.dtype)
    kind, dtype, params = cfg
    start = 0
    while start < n:
        size = int(rng.choice([1, 2, 3, int(rng.integers(1, 50)), int(rng.integers(1, 40_000))]))
        stop = min(n, start + size)
        fill(kind, x[start:stop], seed=SEED, stream="chunks", offset=17 + start,
             threads=int(rng.integers(1, 4)), **params)
        start = stop
    assert _bytes_equal(x, whole)


@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c[1] in ("float16", "bfloat16")],
                         ids=config_id)
def test_16bit_equals_float32_fill_rounded(isa, cfg):
    kind, dtype, params = cfg
    n = 300_007
    x16 = _fill_new(cfg, n, seed=SEED, stream="half", offset=5)
    x32 = _fill_new((kind, "float32", params), n, seed=SEED, stream="half", offset=5)
    rounded = x32.astype(np_dtype(dtype))  # ml_dtypes / NumPy astype: round to nearest even
    assert _bytes_equal(x16, rounded)


def test_float16_overflow_and_subnormals_round_like_numpy():
    """Values past float16's overflow threshold (a wide normal: bounds beyond float16's range are
    refused, but std = 60000 still reaches it) and in its subnormal range round like NumPy."""
    for kind, params in (("normal", dict(mean=0.0, std=60000.0)), ("uniform", dict(a=-1e-5, b=1e-5))):
        n = 100_001
        x16 = np.empty(n, dtype=np.float16)
        x32 = np.empty(n, dtype=np.float32)
        with np.errstate(over="ignore"):
            fill(kind, x16, seed=1, **params)
            fill(kind, x32, seed=1, **params)
            expected = x32.astype(np.float16)
        assert _bytes_equal(x16, expected)
        if kind == "normal":
            assert np.isinf(x16).any()  # the overflow branch was exercised
        else:
            assert (np.abs(x16) < np.float16(2**-14)).sum() > n // 2  # mostly subnormals


def _views(base):
    """Named non-contiguous (and odd) views of a 3-D base array."""
    return {
        "transpose": base.T,
        "transpose-102": base.transpose(1, 0, 2),
        "negative-stride-0": base[::-1],
        "negative-stride-all": base[::-1, ::-1, ::-1],
        "strided-slices": base[1::2, ::3, 1::2],
        "mixed-neg-strided": base[4:0:-2, 1:, ::-3],
        "last-axis-fixed": base[:, :, 5],
        "middle-axis-fixed-neg": base[2:, 3, ::-1],
        "swapaxes-strided": base.swapaxes(0, 2)[::2],
        "single-element": base[3:4, 4:5, 6:7],
        "empty": base[:, 2:2, :],
    }


VIEW_NAMES = list(_views(np.zeros((6, 7, 9))).keys())


@pytest.mark.parametrize("view_name", VIEW_NAMES)
@pytest.mark.parametrize("cfg", KIND_DTYPE_CONFIGS, ids=config_id)
def test_non_contiguous_views(cfg, view_name):
    kind, dtype, params = cfg
    dt = np_dtype(dtype)
    base = np.zeros((6, 7, 9), dtype=dt)
    sentinel = np.array([0xA5A5A5A5A5A5A5A5], dtype=np.uint64).view(np.uint8)[: dt.itemsize]
    base.view(np.uint8).reshape(-1, dt.itemsize)[:] = sentinel
    before = base.copy()
    view = _views(base)[view_name]
    out = fill(kind, view, seed=SEED, stream="view", offset=9, **params)
    assert out is view
    # values: the view in logical C order is the stream
    contiguous = _fill_new(cfg, view.shape, seed=SEED, stream="view", offset=9)
    assert _bytes_equal(np.ascontiguousarray(view), contiguous)
    R.assert_matches(np.ascontiguousarray(view), kind, SEED, "view", 9, **params)
    # nothing outside the view was written
    index = np.arange(base.size).reshape(base.shape)
    covered = np.zeros(base.size, dtype=bool)
    covered[_views(index)[view_name].reshape(-1)] = True
    flat_now = base.reshape(-1).view(f"u{dt.itemsize}")
    flat_before = before.reshape(-1).view(f"u{dt.itemsize}")
    assert np.array_equal(flat_now[~covered], flat_before[~covered])
    if view.size:
        assert not np.array_equal(flat_now[covered], flat_before[covered])


def test_fortran_order_array_filled_in_logical_c_order():
    x = np.zeros((301, 7), dtype=np.float32, order="F")
    fill("uniform", x, seed=SEED, stream=0)
    R.assert_matches(np.ascontiguousarray(x), "uniform", SEED, 0, 0)


@pytest.mark.parametrize("cfg", [("uniform", "float32", {}), ("normal", "float64", {}),
                                 ("trunc_normal", "bfloat16", {})], ids=config_id)
def test_large_strided_view_is_thread_invariant(cfg):
    """A big transposed view (pool in use) equals the contiguous fill, for 1 and 3 threads."""
    kind, dtype, params = cfg
    base = np.zeros((1001, 3001), dtype=np_dtype(dtype))
    expected = _fill_new(cfg, (3001, 1001), seed=SEED, stream="T")
    for threads in (1, 3):
        base[:] = 0
        fill(kind, base.T, seed=SEED, stream="T", threads=threads, **params)
        assert _bytes_equal(base.T, expected), f"threads={threads}"
    view = base[::-2, 1::3]
    before = base.copy()
    fill(kind, view, seed=SEED, stream="S", threads=2, **params)
    assert _bytes_equal(view, _fill_new(cfg, view.shape, seed=SEED, stream="S"))
    untouched = np.ones(base.shape, dtype=bool)
    untouched[::-2, 1::3] = False
    assert _bytes_equal(base[untouched], before[untouched])


def test_same_arguments_same_bytes_repeatedly():
    cfg = ("normal", "float32", {"mean": 0.0, "std": 0.02})
    first = _fill_new(cfg, 100_000, seed=3, stream="again")
    for _ in range(3):
        assert _bytes_equal(_fill_new(cfg, 100_000, seed=3, stream="again"), first)


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(cfg=st.sampled_from(CONFIGS),
       cuts=st.lists(st.integers(0, 50_000), max_size=8),
       threads=st.lists(st.integers(1, 7), min_size=9, max_size=9),
       offset=st.integers(0, 2**64 - 50_001))
def test_property_any_chunking_and_threads_equal_one_fill(cfg, cuts, threads, offset):
    kind, dtype, params = cfg
    n = 50_000
    whole = _fill_new(cfg, n, seed=SEED, stream=offset % 5, offset=offset, threads=1)
    x = np.zeros(n, dtype=whole.dtype)
    bounds = sorted(set([0, n] + cuts))
    for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        fill(kind, x[lo:hi], seed=SEED, stream=offset % 5, offset=offset + lo, threads=threads[i],
             **params)
    assert _bytes_equal(x, whole)
