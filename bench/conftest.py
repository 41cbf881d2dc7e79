"""pytest-benchmark suites: weightinit against NumPy's Generator, torch.nn.init and ndarray.fill.

    python -m pytest bench                        # 2**26 elements per fill, then a ratio table
    python -m pytest bench -q --benchmark-disable # CI smoke run: 2**16 elements, checks only

WEIGHTINIT_BENCH_LOG2=N sets the size (2**N elements) either way. Every benchmark checks the values
it produced and asserts nothing about time. At the end of a timed run, a table of ratios computed
from the minimum times (their time / ours, on the same buffer) is printed after pytest-benchmark's
own tables. ``python -m weightinit.benchmark`` prints the same kind of table without pytest.
"""
from __future__ import annotations

import os
import sys
from collections import OrderedDict

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))  # for `import _bench` under any import mode

import weightinit as wi  # noqa: E402
from weightinit import benchmark as B  # noqa: E402

SMOKE_LOG2 = 16
FULL_LOG2 = 26


def _disabled(config) -> bool:
    bs = getattr(config, "_benchmarksession", None)
    return True if bs is None else bool(bs.disabled)


@pytest.fixture(scope="session")
def size(request) -> int:
    """Elements per large fill: 2**26, 2**16 in a --benchmark-disable smoke run, or
    2**$WEIGHTINIT_BENCH_LOG2."""
    env = os.environ.get("WEIGHTINIT_BENCH_LOG2")
    log2 = int(env) if env else (SMOKE_LOG2 if _disabled(request.config) else FULL_LOG2)
    return 1 << log2


@pytest.fixture(scope="session")
def threads() -> int:
    return wi.default_threads()


@pytest.fixture(scope="session")
def torch(threads):
    """torch with torch.set_num_threads(threads), or a skip when torch is not installed."""
    torch = B.try_torch()
    if torch is None:
        pytest.skip("torch is not installed")
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    yield torch
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def buffers(size):
    """buffers(dtype): one preallocated buffer of ``size`` elements per dtype, written once (every
    page touched) before any benchmark uses it."""
    cache = {}

    def get(dtype: str) -> np.ndarray:
        if dtype not in cache:
            buf = np.empty(size, B.dtype_of(dtype))
            B.ref_fill(buf)()
            cache[dtype] = buf
        return cache[dtype]

    yield get
    cache.clear()


# ------------------------------------------------------------------------------ ratio table


def _rows_from_benchmarks(benchmarks):
    """benchmark.Row objects (ours vs the reference, NumPy, torch, 1 thread) from the stats of
    benchmarks labelled by _bench.record."""
    by_key = OrderedDict()
    refs = {}
    ceilings = []
    for b in benchmarks:
        info = b.extra_info or {}
        if "impl" not in info or not b.stats:
            continue
        timing = B.Timing(b.stats.min, info["elements"], len(b.stats.data))
        impl, dtype = info["impl"], info["dtype"]
        if impl == "ndarray.fill":
            key = (dtype, info["elements"])
            if key not in refs or timing.seconds < refs[key][0].seconds:
                refs[key] = (timing, info["itemsize"])
            by_key.setdefault(("ndarray.fill (reference)", dtype), {})["ref"] = (timing, info)
        elif impl == "memset":
            ceilings.append(B.Row(info["fill"], "bytes", info["elements"], 1, timing,
                                  section="ceiling"))
        else:
            by_key.setdefault((info["fill"], dtype), {})[impl] = (timing, info)
    rows = list(ceilings)
    for (fill, dtype), impls in by_key.items():
        if "ref" in impls:
            t, info = impls["ref"]
            ref, itemsize = refs[(dtype, info["elements"])]
            rows.append(B.Row(fill, dtype, ref.elements, itemsize, ref, ref, section=dtype))
            continue
        if "weightinit" not in impls:
            continue
        ours, info = impls["weightinit"]
        ref = refs.get((dtype, ours.elements))
        row = B.Row(fill, dtype, ours.elements, info["itemsize"], ours,
                    ref[0] if ref else None, section=dtype)
        for impl in ("PCG64", "Philox", "torch"):
            if impl in impls:
                t, pinfo = impls[impl]
                if t.elements != ours.elements:
                    t.note = (f"{impl} timed on 2**{t.elements.bit_length() - 1} elements, "
                              "scaled linearly")
                row.peers[impl] = t
        if "weightinit-1thread" in impls:
            row.one_thread = impls["weightinit-1thread"][0]
        rows.append(row)
    return rows


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's own tables
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    bs = getattr(config, "_benchmarksession", None)
    if bs is None:
        return
    tr = terminalreporter
    if bs.disabled:
        tr.write_line("weightinit bench: benchmarks disabled (smoke run: every fill ran once and "
                      "was checked; no timings)")
        return
    rows = _rows_from_benchmarks(bs.benchmarks)
    if not rows:
        return
    tr.write_sep("=", "weightinit ratios (min times; their time / ours, same buffer)")
    info = {"threads": wi.default_threads()}
    tr.write_line(f"weightinit {wi.__version__} ({wi.isa()}), {info['threads']} threads; "
                  f"NumPy {np.__version__}; CPU {B.cpu_name()}")
    for line in B.format_table(rows, info).splitlines():
        tr.write_line(line)
    tr.write_line("")
    tr.write_line(B.LEGEND)
