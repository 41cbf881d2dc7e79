"""Box fills (global_shape=, start=): a 1-column-wide box of a (65536, 4096) matrix against the
same number of elements in one run (issue 9's target: within 2x), per distribution and dtype.

A column's elements are 4096 apart in the stream, so each takes its own Philox block (4 words)
where a run spends one word per float32 element (two per float64): the column does 4x (float64:
2x) the Philox work by construction, about 5 of the run's 1.3 cycles per uniform float32 element
on one core. The column kernels form the block counters in the vector lanes and write straight
into the box; the ratio left is that Philox floor plus the call. Ratios in one process run, best of
many calls for both sides (a loaded machine only ever slows a call down):

    .venv/bin/python bench/test_bench_box.py            # a table of best times and ratios
    .venv/bin/python -m pytest bench/test_bench_box.py  # the same fills under pytest-benchmark
"""
from __future__ import annotations

import time

import numpy as np
import pytest

import weightinit as wi

GLOBAL = (65536, 4096)
COLUMN = 1234
CASES = [(fill, dtype) for dtype in ("float32", "float64", "float16", "bfloat16")
         for fill in ("uniform_", "normal_", "trunc_normal_")]


def _dtype(name):
    return wi._random.parse_dtype(name)


def column_fill(fill: str, dtype: str, threads=None):
    """The (65536, 1) box at column COLUMN of the global matrix, and its check."""
    x = np.empty((GLOBAL[0], 1), _dtype(dtype))
    fn = getattr(wi, fill)
    call = lambda: fn(x, seed=7, stream="w", threads=threads, global_shape=GLOBAL, start=(0, COLUMN))  # noqa: E731
    return x, call


def run_fill(fill: str, dtype: str, threads=None):
    """The same number of elements in one run (a contiguous 1-D fill)."""
    x = np.empty(GLOBAL[0], _dtype(dtype))
    fn = getattr(wi, fill)
    return x, lambda: fn(x, seed=7, stream="w", threads=threads)  # noqa: E731


def check_column(fill: str, dtype: str, x: np.ndarray) -> None:
    """The column equals column COLUMN of row-block fills of the global matrix (spot rows)."""
    rows = np.empty((64, GLOBAL[1]), _dtype(dtype))
    for r0 in (0, 30000, GLOBAL[0] - 64):
        getattr(wi, fill)(rows, seed=7, stream="w", global_shape=GLOBAL, start=(r0, 0))
        np.testing.assert_array_equal(x[r0:r0 + 64, 0], rows[:, COLUMN])


@pytest.mark.parametrize("fill,dtype", CASES)
@pytest.mark.parametrize("layout", ["column box", "one run"])
def test_box_column(benchmark, fill, dtype, layout):
    x, call = (column_fill if layout == "column box" else run_fill)(fill, dtype)
    benchmark.group = f"box {fill} {dtype}"
    benchmark.extra_info.update(layout=layout, elements=GLOBAL[0])
    benchmark(call)
    if layout == "column box":
        check_column(fill, dtype, x)


def _best(call, reps: int = 200) -> float:
    call()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    print(f"1-column box of {GLOBAL} vs {GLOBAL[0]} elements in one run (best of 200 calls each)")
    print(f"{'fill':15s} {'dtype':9s} {'threads':>7s} {'box us':>9s} {'run us':>9s} {'ratio':>6s}")
    for fill, dtype in CASES:
        for threads in (None, 1):
            x, box = column_fill(fill, dtype, threads)
            _, run = run_fill(fill, dtype, threads)
            tb, tr = _best(box), _best(run)
            check_column(fill, dtype, x)
            print(f"{fill:15s} {dtype:9s} {threads or 'default':>7} {tb * 1e6:9.1f} {tr * 1e6:9.1f} {tb / tr:6.2f}")


def widths() -> None:
    """Boxes of 2**18 elements, 1 to 1024 columns wide, at column 100 of a 4096-wide matrix."""
    n = 1 << 18
    print(f"\nboxes of {n} elements at column 100, 1 thread, normal_ float32 (best of 100 calls)")
    run = np.empty(n, np.float32)
    for w in (1, 4, 64, 255, 333, 1024):
        box = np.empty((n // w, w), np.float32)
        fill = lambda box=box, w=w: wi.normal_(box, seed=1, threads=1, global_shape=(n // w, 4096), start=(0, 100))  # noqa: E731
        tb = _best(fill, 100)
        tr = _best(lambda: wi.normal_(run, seed=1, threads=1), 100)
        print(f"width {w:5d}: box {tb * 1e6:8.1f} us, run {tr * 1e6:8.1f} us, ratio {tb / tr:5.2f}")


if __name__ == "__main__":
    main()
    widths()
