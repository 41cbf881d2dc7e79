"""Where the time goes: one thread, a buffer that stays in L2, so the memory system is out of the
picture and what is left is the kernel's compute cost per element.

    python bench/cycles.py              # ns per element; cycles too with --ghz (the core clock)
    python bench/cycles.py --ghz 3.1

Prints, per fill and dtype, nanoseconds and (with --ghz) cycles per element and bytes written per
cycle. Best of many calls of 2**16 elements (256 KiB of float32); the call overhead (about 2 us)
is included, about 0.03 ns per element. Not a pytest-benchmark suite: a diagnostic.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from ml_dtypes import bfloat16

import weightinit as wi

FILLS = {
    "uniform_": lambda x: wi.uniform_(x, seed=1, threads=1),
    "normal_": lambda x: wi.normal_(x, seed=1, threads=1),
    "trunc_normal_": lambda x: wi.trunc_normal_(x, seed=1, threads=1),
    "random_bits_": lambda x: wi.random_bits_(x, seed=1, threads=1),
}


def best_ns_per_element(fill, x, calls: int) -> float:
    fill(x)
    best = float("inf")
    for _ in range(calls):
        t = time.perf_counter_ns()
        fill(x)
        best = min(best, time.perf_counter_ns() - t)
    return best / x.size


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ghz", type=float, default=None, help="core clock in GHz, for cycles per element")
    ap.add_argument("--size", type=int, default=1 << 16)
    ap.add_argument("--calls", type=int, default=1500)
    args = ap.parse_args(argv)
    print(f"weightinit {wi.__version__} ({wi.isa()}), 1 thread, {args.size} elements per call, best of {args.calls}")
    head = "| fill | dtype | ns/elem |" + (" cycles/elem | bytes/cycle |" if args.ghz else "")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for dtype in (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16), np.dtype(bfloat16),
                  np.dtype(np.uint32)):
        for name, fill in FILLS.items():
            if (name == "random_bits_") != (dtype == np.uint32):
                continue
            x = np.empty(args.size, dtype=dtype)
            ns = best_ns_per_element(fill, x, args.calls)
            row = f"| {name} | {dtype.name} | {ns:.3f} |"
            if args.ghz:
                cyc = ns * args.ghz
                row += f" {cyc:.2f} | {dtype.itemsize / cyc:.2f} |"
            print(row)


if __name__ == "__main__":
    main()
