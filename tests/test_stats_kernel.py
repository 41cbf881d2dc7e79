"""The core statistics kernel behind inspect (_core.tensor_stats): exact counts, min and max; sums
within float64 rounding of the exact ones; identical bits for any thread count and either ISA."""

import math
import mmap

import numpy as np
import pytest

from weightinit import _core

from conftest import BFLOAT16, FLOAT_DTYPES, np_dtype

CODE = {"float32": "F32", "float64": "F64", "float16": "F16", "bfloat16": "BF16"}
BLOCK = 1 << 16  # kStatsBlock


def _data(dtype, n, seed=0, mean=0.3, std=0.02):
    """Normal values with zeros, both infinities, nan and subnormals at scattered places."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * std + mean).astype(np_dtype(dtype))
    if n > 50:
        x[[3, n // 2, n - 1]] = 0
        x[7] = -0.0
        x[11], x[n // 3] = np.inf, -np.inf
        x[13] = np.nan
        x[17] = np.finfo(np_dtype(dtype)).smallest_subnormal
        x[19] = -np.finfo(np_dtype(dtype)).smallest_subnormal * 3
    return x


def _expected(x, shift):
    f = x.astype(np.float64)
    fin = f[np.isfinite(f)]
    d = fin - shift
    return dict(count=fin.size, sum=math.fsum(d), abs=math.fsum(np.abs(d)), sumsq=math.fsum(d * d),
                min=fin.min() if fin.size else math.inf, max=fin.max() if fin.size else -math.inf,
                zeros=int(np.count_nonzero(f == 0)), nonfinite=int(f.size - fin.size))


def _check(got, want):
    count, s, sq, lo, hi, zeros, nonfinite = got
    assert (count, zeros, nonfinite) == (want["count"], want["zeros"], want["nonfinite"])
    assert (lo, hi) == (want["min"], want["max"])
    # float64 lanes of 4096 terms, then compensated: far inside 1e-12 of the conditioned sums
    assert abs(s - want["sum"]) <= 1e-12 * want["abs"]
    assert abs(sq - want["sumsq"]) <= 1e-12 * want["sumsq"]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("n", [0, 1, 15, 17, 1000, 3 * BLOCK + 5])
def test_agrees_with_numpy_float64(dtype, n):
    x = _data(dtype, n, seed=n)
    shift = float(x[0]) if n and np.isfinite(x[0]) else 0.0
    _check(_core.tensor_stats(x, CODE[dtype], 2, shift), _expected(x, shift))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("start", [1, 2, 3, 5])
def test_misaligned_starts_and_read_only_buffers(dtype, start):
    item = np_dtype(dtype).itemsize
    n = BLOCK + 37
    x = _data(dtype, n, seed=start)
    raw = np.zeros(n * item + 8, np.uint8)
    raw[start:start + n * item] = x.view(np.uint8)
    view = raw[start:start + n * item]
    view.flags.writeable = False
    want = _expected(x, 0.25)
    _check(_core.tensor_stats(view, CODE[dtype], 2, 0.25), want)
    _check(_core.tensor_stats(memoryview(bytes(view)), CODE[dtype], 1, 0.25), want)


def test_mmap_window_of_a_file(tmp_path):
    x = _data("bfloat16", 2 * BLOCK + 3)
    path = tmp_path / "w.bin"
    path.write_bytes(b"\0" * 3 + x.tobytes())
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        view = memoryview(mm)[3:]
        try:
            _check(_core.tensor_stats(view, "BF16", 2, 0.3), _expected(x, float(np.float32(0.3))))
        finally:
            view.release()


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_same_bits_for_any_thread_count_and_isa(dtype, available_isas):
    x = _data(dtype, 9 * BLOCK + 1234, seed=5)
    before = _core.isa()
    got = {}
    try:
        for isa in available_isas:
            _core.set_isa(isa)
            for threads in (1, 2, 3, 0):
                got[isa, threads] = _core.tensor_stats(x, CODE[dtype], threads, 0.3)
    finally:
        _core.set_isa(before)
    assert len(set(got.values())) == 1, got


def test_portable_selected_by_environment_matches(available_isas):
    # WEIGHTINIT_ISA=portable at import chooses the portable kernels for statistics too
    import subprocess
    import sys

    code = ("import numpy as np; from weightinit import _core; "
            "x = np.random.default_rng(1).standard_normal(70001).astype(np.float32); "
            "print(_core.isa(), repr(_core.tensor_stats(x, 'F32', 2, 0.0)))")
    out = subprocess.run([sys.executable, "-c", code], env={**__import__("os").environ,
                         "WEIGHTINIT_ISA": "portable"}, capture_output=True, text=True, check=True)
    isa, tup = out.stdout.split(" ", 1)
    assert isa == "portable"
    x = np.random.default_rng(1).standard_normal(70001).astype(np.float32)
    assert eval(tup) == _core.tensor_stats(x, "F32", 2, 0.0)


def test_variance_does_not_cancel_far_from_zero():
    # mean 1000, std 1e-3 in float64: shifted by the first element, the variance keeps 9 digits
    x = np.random.default_rng(2).standard_normal(4 * BLOCK) * 1e-3 + 1000.0
    n, s, sq, *_ = _core.tensor_stats(x, "F64", 2, float(x[0]))
    var = sq / n - (s / n) ** 2
    assert abs(var / np.var(x) - 1) < 1e-9
    assert abs((float(x[0]) + s / n) - math.fsum(x) / x.size) < 1e-12


def test_all_nonfinite_and_all_zero():
    x = np.array([np.nan, np.inf, -np.inf] * 7, np.float32)
    assert _core.tensor_stats(x, "F32", 2) == (0, 0.0, 0.0, math.inf, -math.inf, 0, 21)
    z = np.zeros(33, BFLOAT16)
    assert _core.tensor_stats(z, "BF16", 2) == (33, 0.0, 0.0, 0.0, 0.0, 33, 0)


def test_bad_arguments():
    x = np.zeros(8, np.float32)
    with pytest.raises(ValueError, match="dtype must be one of 'F32', 'F64', 'F16', 'BF16'"):
        _core.tensor_stats(x, "I32", 1)
    with pytest.raises(ValueError, match="not a multiple of the F64 item size 8"):
        _core.tensor_stats(x[:3], "F64", 1)
    with pytest.raises(TypeError, match="buffer must be a contiguous buffer"):
        _core.tensor_stats(np.zeros((4, 4), np.float32)[:, ::2], "F32", 1)
    with pytest.raises(TypeError, match="buffer must be a contiguous buffer"):
        _core.tensor_stats(3.0, "F32", 1)
    with pytest.raises(ValueError, match="threads"):
        _core.tensor_stats(x, "F32", -1)


def test_inspect_same_figures_for_any_thread_count(tmp_path):
    from safetensors.numpy import save_file

    import weightinit as wi

    x = _data("float32", 3 * BLOCK + 9, seed=9)
    path = str(tmp_path / "m.safetensors")
    save_file({"w": x, "b": np.arange(-5, 6, dtype=np.int32)}, path)
    one, two = (wi.inspect(path, threads=t, window=1 << 16).to_dict()["tensors"] for t in (1, 2))
    strip = [{k: v for k, v in t.items() if k != "file"} for t in one]
    assert strip == [{k: v for k, v in t.items() if k != "file"} for t in two]
    w = next(t for t in one if t["name"] == "w")
    f = x.astype(np.float64)[np.isfinite(x)]
    assert w["nonfinite"] == 3 and w["min"] == f.min() and w["max"] == f.max()
    assert abs(w["mean"] - f.mean()) < 1e-12 and abs(w["std"] / f.std() - 1) < 1e-12
    b = next(t for t in one if t["name"] == "b")
    assert (b["mean"], b["min"], b["max"], b["zeros"]) == (0.0, -5.0, 5.0, 1 / 11)
