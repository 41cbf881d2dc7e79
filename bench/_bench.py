"""Helpers shared by the bench/ suites: recording a benchmark for the ratio table, and the checks
each benchmark runs on the values it produced (no benchmark asserts anything about time)."""
from __future__ import annotations

import math

import numpy as np

#: the seed of every weightinit and NumPy fill in bench/
SEED = 20240501


def record(benchmark, fill: str, dtype: str, impl: str, elements: int, itemsize: int) -> None:
    """Label a benchmark for pytest-benchmark's grouping and for conftest's ratio table.

    impl: "weightinit", "weightinit-1thread", "PCG64", "Philox", "torch", "ndarray.fill",
    "memset"; elements: how many elements one call writes (torch's trunc_normal_ runs on a slice)."""
    benchmark.group = f"{fill} {dtype}"
    benchmark.extra_info.update(fill=fill, dtype=dtype, impl=impl, elements=int(elements),
                                itemsize=int(itemsize))


def run(benchmark, fn, *, slow: bool = False, rounds: int = 3):
    """benchmark(fn); a slow callable runs ``rounds`` rounds after one warm-up round."""
    if slow:
        return benchmark.pedantic(fn, rounds=rounds, warmup_rounds=1, iterations=1)
    return benchmark(fn)


def sample(x: np.ndarray, target: int = 1 << 22) -> np.ndarray:
    """Every k-th element of x as float64, about ``target`` of them (mean and std of 2**26 values
    in float64 would cost more than the fill)."""
    flat = np.asarray(x).reshape(-1)
    step = max(1, flat.size // target)
    return flat[::step].astype(np.float64)


def check_moments(x: np.ndarray, mean: float, std: float, rel: float = 0.02) -> None:
    """mean within 6 standard errors (plus rounding), std within ``rel`` of ``std``."""
    s = sample(x)
    assert np.isfinite(s).all()
    se = std / math.sqrt(s.size)
    got_mean, got_std = s.mean(), s.std()
    assert abs(got_mean - mean) <= 6 * se + 1e-3 * std, (got_mean, mean, std)
    assert abs(got_std / std - 1) <= rel, (got_std, std)


def check_bounds(x: np.ndarray, lo: float, hi: float, *, hi_open: bool = False) -> None:
    """Every value in [lo, hi] ([lo, hi) with hi_open), with float32 rounding of the bounds."""
    lo_, hi_ = np.min(x), np.max(x)
    assert float(lo_) >= lo - abs(lo) * 1e-6, (lo_, lo)
    if hi_open:
        assert float(hi_) < hi, (hi_, hi)
    else:
        assert float(hi_) <= hi + abs(hi) * 1e-6, (hi_, hi)


def check_uniform(x: np.ndarray, lo: float = 0.0, hi: float = 1.0) -> None:
    check_bounds(x, lo, hi, hi_open=(lo, hi) == (0.0, 1.0))
    check_moments(x, (lo + hi) / 2, (hi - lo) / math.sqrt(12))


def check_normal(x: np.ndarray, std: float = 1.0) -> None:
    check_moments(x, 0.0, std)


#: std of N(0, 1) truncated to [-2, 2]
TRUNC2_STD = 0.87962566103423978


def check_trunc(x: np.ndarray, s: float = 1.0) -> None:
    """N(0, s^2) truncated to [-2s, 2s]."""
    check_bounds(x, -2 * s, 2 * s)
    check_moments(x, 0.0, s * TRUNC2_STD)


def check_constant(x: np.ndarray, value: float) -> None:
    flat = np.asarray(x).reshape(-1)
    assert flat[0] == value and flat[-1] == value
    assert (flat == flat.dtype.type(value)).all()
