"""The core fills (uniform_, normal_, trunc_normal_, constant_, zeros_) on 1-D float32 and float64
buffers of 2**26 elements, against NumPy's Generator (PCG64 and Philox, ``out=``), torch.nn.init
and ndarray.fill on the same buffer (the memory-write reference); weightinit on 1 thread for the
scaling ratio; memset as the physical ceiling; and the call overhead of 1,000-element fills."""
from __future__ import annotations

import numpy as np
import pytest

import weightinit as wi
from weightinit import benchmark as B

from _bench import SEED, check_constant, check_normal, check_trunc, check_uniform, record, run

DTYPES = ("float32", "float64")
FILLS = ("uniform_", "normal_", "trunc_normal_")
IMPLS = ("weightinit", "weightinit-1thread", "PCG64", "Philox", "torch")
KIND = {"uniform_": "uniform", "normal_": "normal", "trunc_normal_": "trunc"}
CHECK = {"uniform_": check_uniform, "normal_": check_normal, "trunc_normal_": check_trunc}
TWIN = {"uniform_": wi.uniform, "normal_": wi.normal, "trunc_normal_": wi.trunc_normal}


@pytest.mark.parametrize("dtype", DTYPES)
def test_reference_fill(benchmark, buffers, dtype):
    """ndarray.fill of the buffer: the memory-write reference of every ratio."""
    x = buffers(dtype)
    record(benchmark, "ndarray.fill (reference)", dtype, "ndarray.fill", x.size, x.itemsize)
    run(benchmark, B.ref_fill(x))
    check_constant(x, B.REF_VALUE)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("fill", FILLS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_random_fill(benchmark, request, buffers, threads, dtype, fill, impl):
    x = buffers(dtype)
    target = x
    if impl in ("weightinit", "weightinit-1thread"):
        nthreads = 1 if impl == "weightinit-1thread" else threads
        func = getattr(wi, fill)
        fn = lambda: func(x, seed=SEED, threads=nthreads)  # noqa: E731
        slow = False
    elif impl in ("PCG64", "Philox"):
        gen = np.random.Generator(getattr(np.random, impl)(SEED))
        fn = lambda: B.numpy_fill(gen, x, KIND[fill])  # noqa: E731
        slow = False
    else:
        torch = request.getfixturevalue("torch")
        if fill == "trunc_normal_" and x.size > B.TORCH_SLOW_MAX:
            target = x[:B.TORCH_SLOW_MAX]  # rejection sampling: seconds per 2**26 elements
        t = B.torch_view(target)
        func = getattr(torch.nn.init, fill)
        fn = lambda: func(t)  # noqa: E731
        slow = fill == "trunc_normal_"
    record(benchmark, fill, dtype, impl, target.size, x.itemsize)
    run(benchmark, fn, slow=slow)
    CHECK[fill](target)
    if impl.startswith("weightinit"):  # the values of stream format v1, not just plausible ones
        np.testing.assert_array_equal(x[:64], TWIN[fill](64, dtype=dtype, seed=SEED))
    B.ref_fill(x)()  # leave the shared buffer in a known state


@pytest.mark.parametrize("impl", ("weightinit", "weightinit-1thread", "torch"))
@pytest.mark.parametrize("fill", ("constant_", "zeros_"))
@pytest.mark.parametrize("dtype", DTYPES)
def test_constant_fill(benchmark, request, buffers, threads, dtype, fill, impl):
    x = buffers(dtype)
    value = 0.25 if fill == "constant_" else 0.0
    if impl == "torch":
        torch = request.getfixturevalue("torch")
        t = B.torch_view(x)
        fn = (lambda: torch.nn.init.constant_(t, value)) if fill == "constant_" else (
            lambda: torch.nn.init.zeros_(t))
    else:
        nthreads = 1 if impl == "weightinit-1thread" else threads
        fn = (lambda: wi.constant_(x, value, threads=nthreads)) if fill == "constant_" else (
            lambda: wi.zeros_(x, threads=nthreads))
    record(benchmark, fill, dtype, impl, x.size, x.itemsize)
    run(benchmark, fn)
    check_constant(x, value)
    B.ref_fill(x)()


@pytest.mark.parametrize("byte", (0x5A, 0x00))
def test_memset_ceiling(benchmark, buffers, threads, byte):
    """libc memset of the float32 buffer over ``threads`` threads: the physical ceiling."""
    import concurrent.futures

    x = buffers("float32")
    memset = B.libc_memset()
    if memset is None:
        pytest.skip("no libc memset")
    step = -(-x.nbytes // threads)
    parts = [(x.ctypes.data + i, min(step, x.nbytes - i)) for i in range(0, x.nbytes, step)]
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        def fn():
            for f in [pool.submit(memset, p, byte, n) for p, n in parts]:
                f.result()

        record(benchmark, f"memset(0x{byte:02X}), {threads} threads", "bytes", "memset", x.nbytes, 1)
        run(benchmark, fn)
    u = x.view(np.uint8)
    assert u[0] == byte and u[-1] == byte and (u[:: 4093] == byte).all()
    B.ref_fill(x)()


SMALL = {  # fill -> (weightinit, NumPy with out=, values in [0, 1)?)
    "uniform_": (lambda x: wi.uniform_(x, seed=SEED),
                 lambda g, x: g.random(out=x, dtype=np.float32), True),
    "normal_": (lambda x: wi.normal_(x, seed=SEED),
                lambda g, x: g.standard_normal(out=x, dtype=np.float32), False),
}


@pytest.mark.parametrize("impl", ("weightinit", "PCG64", "Philox"))
@pytest.mark.parametrize("fill", tuple(SMALL))
def test_small_call_overhead(benchmark, fill, impl):
    """A fill of 1,000 float32 elements vs rng.random / standard_normal(out=..., dtype=float32)."""
    x = np.zeros(B.SMALL_N, np.float32)
    ours, numpy_fn, unit = SMALL[fill]
    if impl == "weightinit":
        fn = lambda: ours(x)  # noqa: E731
    else:
        gen = np.random.Generator(getattr(np.random, impl)(SEED))
        fn = lambda: numpy_fn(gen, x)  # noqa: E731
    record(benchmark, f"{fill} n={B.SMALL_N}", "float32", impl, x.size, 4)
    run(benchmark, fn)
    assert np.isfinite(x).all() and x.std() > 0.2
    if unit:
        assert x.min() >= 0 and x.max() < 1
    if impl == "weightinit":
        np.testing.assert_array_equal(x, getattr(wi, fill[:-1])(B.SMALL_N, seed=SEED))
