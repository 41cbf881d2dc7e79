"""Throughput of weightinit's fills as ratios measured in one run (``weightinit bench``).

Timings on shared machines are noisy, so every figure this module prints is either a rate or a
ratio of two timings taken in the same process, on the same preallocated buffer:

* ``x fill``: against ``ndarray.fill`` of the same buffer, the memory-write reference (for
  bfloat16, whose ml_dtypes ``fill`` runs an element-by-element path, the fill of the buffer's
  uint16 view, which writes the same bytes);
* ``x PCG64``, ``x Philox``: against NumPy's ``Generator`` filling the same buffer with ``out=``
  where NumPy can (float32 and float64), otherwise with the closest equivalent (noted in the table);
* ``x torch``: against ``torch.nn.init`` on a tensor sharing the same buffer (when torch is
  importable), with ``torch.set_num_threads`` set to the same thread count;
* ``1->N thr``: weightinit with ``threads=1`` against ``threads=N``;
* ``memset`` (libc, through ctypes) of a non-zero byte: the physical ceiling for writing data.

Every timing is the best (minimum) of several calls after a warm-up call; buffers are allocated and
written once before anything is timed. Our fill, the reference fill and the 1-thread run of a row
are timed round-robin, so a burst of load from elsewhere hits them alike.

Run ``python -m weightinit.benchmark --help`` (or ``weightinit bench --help``).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import ctypes
import ctypes.util
import functools
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

if TYPE_CHECKING:
    import torch as _torch

__all__ = [
    "Timing",
    "Row",
    "best_time",
    "best_times_round_robin",
    "best_time_small",
    "best_times_small_round_robin",
    "memset_ceiling",
    "libc_memset",
    "ref_fill",
    "try_torch",
    "dtype_of",
    "cpu_name",
    "LEGEND",
    "numpy_fill",
    "Case",
    "basic_cases",
    "scheme_cases",
    "torch_view",
    "run",
    "format_table",
    "main",
]

DEFAULT_SIZE = 1 << 27
QUICK_SIZE = 1 << 22
DEFAULT_DTYPES = ("float32", "float64", "float16", "bfloat16")
SMALL_N = 1000
#: torch's trunc_normal_ (rejection sampling since torch 2.12) is timed on at most this many
#: elements and scaled linearly; its cost per element is about flat from 2**24 up (it grows from
#: 2**20 to 2**24 as its temporaries leave the caches), so the scaled figure does not flatter us.
TORCH_SLOW_MAX = 1 << 24
#: orthogonal_ is a QR factorization (compute-bound, O(rows * cols * min(rows, cols))): timed on a
#: matrix of at most this many elements.
ORTHO_MAX = 1 << 22
#: ... and with --quick: a 256x256 QR takes milliseconds where 2048x2048 took ~10 s per call here
QUICK_ORTHO_MAX = 1 << 16
#: float16 / bfloat16 NumPy peers draw float32 into a scratch of this many elements, then cast.
NUMPY_CHUNK = 1 << 16
REF_VALUE = 0.5  # the value ndarray.fill writes (non-zero: zero stores can take a faster path)
SEED = 20240501


# ----------------------------------------------------------------------------------------- timing


@dataclass
class Timing:
    """The best time of one call of something, on ``elements`` elements."""

    seconds: float
    elements: int
    runs: int
    note: str = ""

    def scaled(self, elements: int) -> float:
        """The time for ``elements`` elements at this timing's rate."""
        return self.seconds * elements / self.elements


def _ns() -> int:
    return time.perf_counter_ns()


def best_time(fn: Callable[[], Any], repeat: int = 5, budget: float = 3.0, warmup: int = 1,
              elements: int = 0, note: str = "",
              warmup_fn: Optional[Callable[[], Any]] = None) -> Timing:
    """Best of ``repeat`` calls of ``fn`` after ``warmup`` untimed calls (of ``warmup_fn`` if
    given: the same code on a part of the buffer, for slow peers).

    Slow callables get fewer runs: timing stops once at least 2 runs are in and ``budget`` seconds
    have been spent on timed runs."""
    for _ in range(warmup):
        (warmup_fn or fn)()
    best = math.inf
    spent = 0.0
    runs = 0
    while runs < max(1, repeat):
        t0 = _ns()
        fn()
        dt = (_ns() - t0) * 1e-9
        best = min(best, dt)
        spent += dt
        runs += 1
        if runs >= 2 and spent >= budget:
            break
    return Timing(best, elements, runs, note)


def best_times_round_robin(fns: Dict[str, Callable[[], Any]], repeat: int = 5,
                           budget: float = 6.0, elements: int = 0) -> Dict[str, Timing]:
    """Best time of each callable, calling them in turn (one warm-up call each first), so that
    load from elsewhere falls on all of them alike."""
    for fn in fns.values():
        fn()
    best = {k: math.inf for k in fns}
    spent = 0.0
    runs = 0
    while runs < max(1, repeat):
        for k, fn in fns.items():
            t0 = _ns()
            fn()
            dt = (_ns() - t0) * 1e-9
            best[k] = min(best[k], dt)
            spent += dt
        runs += 1
        if runs >= 2 and spent >= budget:
            break
    return {k: Timing(v, elements, runs) for k, v in best.items()}


def _calibrate(fn: Callable[[], Any], min_batch_seconds: float) -> Tuple[int, float]:
    """After a warm-up, the number of calls of ``fn`` whose batch lasts >= ``min_batch_seconds``,
    and that batch's duration in seconds."""
    for _ in range(10):
        fn()
    number = 1
    while True:
        t0 = _ns()
        for _ in range(number):
            fn()
        dt = (_ns() - t0) * 1e-9
        if dt >= min_batch_seconds:
            break
        number *= 2 if dt <= 0 else max(2, min(10, int(min_batch_seconds / dt) + 1))
    return number, dt


def best_time_small(fn: Callable[[], Any], repeat: int = 7, min_batch_seconds: float = 0.02,
                    elements: int = SMALL_N) -> Timing:
    """Per-call time of a fast callable: batches of calls lasting >= ``min_batch_seconds``, best
    batch of ``repeat``."""
    number, dt = _calibrate(fn, min_batch_seconds)
    best = dt / number
    for _ in range(max(1, repeat) - 1):
        t0 = _ns()
        for _ in range(number):
            fn()
        best = min(best, (_ns() - t0) * 1e-9 / number)
    return Timing(best, elements, repeat)


def best_times_small_round_robin(fns: Dict[str, Callable[[], Any]], repeat: int = 7,
                                 min_batch_seconds: float = 0.01,
                                 elements: int = SMALL_N) -> Dict[str, Timing]:
    """Per-call time of each fast callable: batches of calls lasting >= ``min_batch_seconds``,
    the callables' batches taken in turn, best batch of ``repeat`` kept for each."""
    numbers = {}
    for k, fn in fns.items():
        numbers[k] = _calibrate(fn, min_batch_seconds)[0]
    best = {k: math.inf for k in fns}
    for _ in range(max(1, repeat)):
        for k, fn in fns.items():
            number = numbers[k]
            t0 = _ns()
            for _ in range(number):
                fn()
            best[k] = min(best[k], (_ns() - t0) * 1e-9 / number)
    return {k: Timing(v, elements, repeat) for k, v in best.items()}


# ------------------------------------------------------------------------------------ ceilings


def libc_memset() -> Optional[Callable]:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else ctypes.CDLL(None)
        memset = libc.memset
    except (OSError, AttributeError):
        return None
    memset.restype = ctypes.c_void_p
    memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    return memset


def memset_ceiling(buf: np.ndarray, byte: int, threads: int, repeat: int = 5,
                   pool: Optional[concurrent.futures.Executor] = None) -> Optional[Timing]:
    """Best time of libc ``memset(buf, byte, nbytes)``, split over ``threads`` Python threads
    (ctypes releases the GIL), or None without a libc."""
    memset = libc_memset()
    if memset is None:
        return None
    base = buf.ctypes.data
    nbytes = buf.nbytes
    if threads <= 1 or pool is None:
        return best_time(lambda: memset(base, byte, nbytes), repeat, elements=nbytes)
    step = -(-nbytes // threads)
    step = -(-step // 4096) * 4096  # page-aligned slices
    parts = [(base + i, min(step, nbytes - i)) for i in range(0, nbytes, step)]

    def run_all() -> None:
        for f in [pool.submit(memset, p, byte, n) for p, n in parts]:
            f.result()

    return best_time(run_all, repeat, elements=nbytes)


# ------------------------------------------------------------------------------------- peers


def _is_native(dtype: np.dtype) -> bool:
    return dtype in (np.dtype(np.float32), np.dtype(np.float64))


def _draw(rng: np.random.Generator, x: np.ndarray, kind: str, lo: float, hi: float) -> None:
    """x (flat, float32 or float64) <- standard draw of ``kind``; ``trunc`` resamples the values
    outside [lo, hi] (rejection, as torch and SciPy users would do it with NumPy)."""
    if kind == "uniform":
        rng.random(out=x, dtype=x.dtype)
        return
    rng.standard_normal(out=x, dtype=x.dtype)
    if kind == "trunc":
        bad = np.flatnonzero((x < lo) | (x > hi))
        while bad.size:
            vals = rng.standard_normal(bad.size, dtype=x.dtype)
            x[bad] = vals
            bad = bad[(vals < lo) | (vals > hi)]


def _affine(x: np.ndarray, scale: float, shift: float) -> None:
    if scale != 1.0:
        np.multiply(x, x.dtype.type(scale), out=x)
    if shift != 0.0:
        np.add(x, x.dtype.type(shift), out=x)


def numpy_fill(rng: np.random.Generator, x: np.ndarray, kind: str, scale: float = 1.0,
               shift: float = 0.0, lo: float = -2.0, hi: float = 2.0) -> np.ndarray:
    """The closest NumPy equivalent of a weightinit fill, in place: ``scale * d + shift`` with d
    U[0,1) (``kind="uniform"``), N(0,1) (``"normal"``) or N(0,1) truncated to [lo, hi]
    (``"trunc"``, by rejection). float32/float64 draw straight into ``x`` with ``out=``; other
    dtypes (no ``out=`` in NumPy) draw float32 into a small scratch and cast it into ``x``."""
    flat = x.reshape(-1)  # a view: x is C-contiguous
    if _is_native(x.dtype):
        _draw(rng, flat, kind, lo, hi)
        _affine(flat, scale, shift)
        return x
    scratch = np.empty(min(NUMPY_CHUNK, flat.size), np.float32)
    for i in range(0, flat.size, NUMPY_CHUNK):
        part = flat[i:i + NUMPY_CHUNK]
        s = scratch[:part.size]
        _draw(rng, s, kind, lo, hi)
        _affine(s, scale, shift)
        np.copyto(part, s, casting="unsafe")
    return x


def try_torch() -> Optional[ModuleType]:
    try:
        import torch  # noqa: F401
    except Exception:  # torch is optional; a broken install counts as absent
        return None
    return torch


def torch_view(x: np.ndarray) -> _torch.Tensor:
    """A torch tensor sharing ``x``'s memory (bfloat16 through an int16 view)."""
    import torch

    if x.dtype.name == "bfloat16":
        return torch.from_numpy(x.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(x)


# --------------------------------------------------------------------------------------- rows


@dataclass
class Row:
    """One line of the table: our fill of ``elements`` elements of ``dtype`` and what it is
    compared with (Timings, or a string saying why there is no figure)."""

    label: str
    dtype: str
    elements: int
    itemsize: int
    ours: Optional[Timing]
    ref: Optional[Timing] = None          # ndarray.fill of the same buffer
    peers: Dict[str, Any] = field(default_factory=dict)   # "PCG64" / "Philox" / "torch"
    one_thread: Optional[Timing] = None
    background: Optional[float] = None    # CPUs kept busy by other processes while timing ours
    section: str = ""
    notes: List[str] = field(default_factory=list)

    def ratio(self, other: Optional[Timing]) -> Optional[float]:
        if other is None or self.ours is None or self.ours.seconds <= 0:
            return None
        return other.scaled(self.ours.elements) / self.ours.seconds


@dataclass
class Case:
    label: str
    ours: Callable[[np.ndarray, int], Any]             # (x, threads) -> filled x
    numpy: Optional[Callable[[np.random.Generator, np.ndarray], Any]] = None
    numpy_note: str = ""
    torch: Optional[Callable[[Any], Any]] = None        # (tensor) -> None
    torch_note: str = ""
    torch_max: int = 0                                  # time torch on <= this many elements
    shape: Optional[Callable[[int], Tuple[int, ...]]] = None   # view of the buffer to fill
    scaling: bool = False                               # also time threads=1
    ref: bool = True                                    # show x fill
    notes: Tuple[str, ...] = ()


def _matrix(n: int) -> Tuple[int, int]:
    """A 2-D shape of n elements, as square as powers of two allow: (rows, cols), rows <= cols."""
    tz = (n & -n).bit_length() - 1
    rows = 1 << min(tz, (n.bit_length() - 1) // 2)
    return rows, n // rows


def _conv(n: int) -> Tuple[int, ...]:
    """A conv-weight shape (out, in, 4, 4) of n elements for dirac_ ((out, in, 1) if 16 does not
    divide n)."""
    if n % 16:
        return _matrix(n) + (1,)
    return _matrix(n // 16) + (4, 4)


def basic_cases(wi: ModuleType) -> List[Case]:
    """The core fills (1-D)."""
    torch_note = ("torch.nn.init.trunc_normal_ (rejection sampling) timed on "
                  f"2**{TORCH_SLOW_MAX.bit_length() - 1} elements of the buffer and scaled linearly")
    return [
        Case("uniform_", lambda x, t: wi.uniform_(x, seed=SEED, threads=t),
             lambda g, x: numpy_fill(g, x, "uniform"), "",
             lambda t: __import__("torch").nn.init.uniform_(t), scaling=True),
        Case("normal_", lambda x, t: wi.normal_(x, seed=SEED, threads=t),
             lambda g, x: numpy_fill(g, x, "normal"), "",
             lambda t: __import__("torch").nn.init.normal_(t), scaling=True),
        Case("trunc_normal_", lambda x, t: wi.trunc_normal_(x, seed=SEED, threads=t),
             lambda g, x: numpy_fill(g, x, "trunc"),
             "NumPy has no truncated normal: standard_normal(out=) then redraw the 4.6% outside [-2, 2]",
             lambda t: __import__("torch").nn.init.trunc_normal_(t), torch_note, TORCH_SLOW_MAX,
             scaling=True),
        Case("constant_", lambda x, t: wi.constant_(x, 0.25, threads=t), None, "",
             lambda t: __import__("torch").nn.init.constant_(t, 0.25), scaling=True),
        Case("zeros_", lambda x, t: wi.zeros_(x, threads=t), None, "",
             lambda t: __import__("torch").nn.init.zeros_(t), scaling=True),
    ]


def scheme_cases(n: int, ortho_max: int = ORTHO_MAX) -> List[Case]:
    """Every scheme with a torch.nn.init or NumPy counterpart, on a 2-D view of the buffer
    (orthogonal_, a QR, on at most ``ortho_max`` elements)."""
    try:
        from . import schemes as S
    except Exception:
        return []
    rows, cols = _matrix(n)
    fan_in, fan_out = cols, rows
    shape2 = lambda n: _matrix(n)  # noqa: E731
    trunc = 0.87962566103423978
    xb = math.sqrt(6.0 / (fan_in + fan_out))
    xs = math.sqrt(2.0 / (fan_in + fan_out))
    kb = math.sqrt(3.0) * math.sqrt(2.0 / (1 + 5.0)) / math.sqrt(fan_in)  # a = sqrt(5): torch Linear
    ks = math.sqrt(2.0) / math.sqrt(fan_in)
    lb = math.sqrt(3.0 / fan_in)
    ls = math.sqrt(1.0 / fan_in) / trunc
    hs = math.sqrt(2.0 / fan_in) / trunc
    torch_eq = "no torch.nn.init function: torch's equivalent call, "
    tslow = (f"timed on 2**{TORCH_SLOW_MAX.bit_length() - 1} elements and scaled linearly")
    T = lambda: __import__("torch").nn.init  # noqa: E731
    cases = [
        Case("xavier_uniform_", lambda x, t: S.xavier_uniform_(x, seed=SEED, threads=t),
             lambda g, x: numpy_fill(g, x, "uniform", 2 * xb, -xb),
             "random(out=) then in-place scale and shift",
             lambda t: T().xavier_uniform_(t), shape=shape2),
        Case("xavier_normal_", lambda x, t: S.xavier_normal_(x, seed=SEED, threads=t),
             lambda g, x: numpy_fill(g, x, "normal", xs), "standard_normal(out=) then in-place scale",
             lambda t: T().xavier_normal_(t), shape=shape2),
        Case("kaiming_uniform_(a=sqrt(5))",
             lambda x, t: S.kaiming_uniform_(x, a=math.sqrt(5), seed=SEED, threads=t),
             lambda g, x: numpy_fill(g, x, "uniform", 2 * kb, -kb),
             "random(out=) then in-place scale and shift",
             lambda t: T().kaiming_uniform_(t, a=math.sqrt(5)), shape=shape2),
        Case("kaiming_normal_(relu)",
             lambda x, t: S.kaiming_normal_(x, nonlinearity="relu", seed=SEED, threads=t),
             lambda g, x: numpy_fill(g, x, "normal", ks), "standard_normal(out=) then in-place scale",
             lambda t: T().kaiming_normal_(t, nonlinearity="relu"), shape=shape2),
        Case("lecun_uniform_", lambda x, t: S.lecun_uniform_(x, seed=SEED, threads=t),
             lambda g, x: numpy_fill(g, x, "uniform", 2 * lb, -lb),
             "random(out=) then in-place scale and shift",
             lambda t: T().uniform_(t, -lb, lb), torch_eq + "uniform_(t, -b, b)", shape=shape2),
        Case("lecun_normal_ (truncated)", lambda x, t: S.lecun_normal_(x, seed=SEED, threads=t),
             lambda g, x: numpy_fill(g, x, "trunc", ls),
             "standard_normal(out=), redraw outside [-2, 2], scale",
             lambda t: T().trunc_normal_(t, 0.0, ls, -2 * ls, 2 * ls),
             torch_eq + "trunc_normal_(t, 0, s, -2s, 2s), " + tslow, TORCH_SLOW_MAX, shape=shape2),
        Case("variance_scaling_(2, fan_in, truncated_normal)",
             lambda x, t: S.variance_scaling_(x, 2.0, "fan_in", "truncated_normal", seed=SEED,
                                              threads=t),
             lambda g, x: numpy_fill(g, x, "trunc", hs),
             "standard_normal(out=), redraw outside [-2, 2], scale",
             lambda t: T().trunc_normal_(t, 0.0, hs, -2 * hs, 2 * hs),
             torch_eq + "trunc_normal_(t, 0, s, -2s, 2s), " + tslow, TORCH_SLOW_MAX, shape=shape2),
        Case("sparse_(0.9)", lambda x, t: S.sparse_(x, 0.9, seed=SEED, threads=t), None, "",
             lambda t: T().sparse_(t, 0.9), shape=shape2),
        Case("eye_", lambda x, t: S.eye_(x), None, "", lambda t: T().eye_(t), shape=shape2),
        Case("dirac_", lambda x, t: S.dirac_(x), None, "", lambda t: T().dirac_(t), shape=_conv),
    ]
    orows, ocols = _matrix(min(n, ortho_max))

    def ortho_numpy(g: np.random.Generator, x: np.ndarray) -> None:
        a = g.standard_normal((x.shape[1], x.shape[0]) if x.shape[0] < x.shape[1] else x.shape)
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diagonal(r))
        np.copyto(x, q.T if x.shape[0] < x.shape[1] else q, casting="unsafe")

    cases.append(Case(
        "orthogonal_", lambda x, t: S.orthogonal_(x, seed=SEED, threads=t),
        ortho_numpy, "standard_normal float64, np.linalg.qr, sign fix, cast copy",
        lambda t: T().orthogonal_(t), shape=lambda n: (orows, ocols), ref=False,
        notes=(f"orthogonal_ is a QR factorization (compute-bound), timed on a {orows}x{ocols} "
               "matrix, so no x fill",)))
    return cases


# ---------------------------------------------------------------------------------------- run


def ref_fill(buf: np.ndarray) -> Callable[[], None]:
    """ndarray.fill of ``buf`` with a non-zero value; bfloat16 through its uint16 view (ml_dtypes'
    own fill is element-by-element, about 3x slower than NumPy's)."""
    if buf.dtype.name == "bfloat16":
        u = buf.view(np.uint16)
        bits = int(np.array(REF_VALUE, np.float32).view(np.uint32)) >> 16
        return lambda: u.fill(bits)
    return lambda: buf.fill(REF_VALUE)


def dtype_of(name: str) -> np.dtype:
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def _head(view: np.ndarray) -> np.ndarray:
    """A leading block of ``view`` (same number of dimensions) of about 2**20 elements, to warm
    up a slow peer's code without paying for a whole call."""
    if view.ndim == 0 or view.size <= (1 << 21) or view.shape[0] < 2:
        return view
    rows = max(1, view.shape[0] * (1 << 20) // view.size)
    return view[:rows]


def _torch_time(torch: ModuleType, case: Case, view: np.ndarray, repeat: int, budget: float) -> Any:
    fill = case.torch
    if fill is None:
        return "-"
    target = view
    note = case.torch_note
    if case.torch_max and view.size > case.torch_max:
        target = view.reshape(-1)[:case.torch_max]
    try:
        t = torch_view(target)
        head = t if case.label == "orthogonal_" else torch_view(_head(target))
        return best_time(lambda: fill(t), repeat, budget, elements=target.size, note=note,
                         warmup_fn=lambda: fill(head))
    except Exception as e:  # e.g. no QR for float16 in torch
        return f"n/a ({type(e).__name__}: {str(e).splitlines()[0][:60]})"


def run(size: int = DEFAULT_SIZE, dtypes: Sequence[str] = DEFAULT_DTYPES, threads: Optional[int] = None,
        repeat: int = 5, peers: bool = True, use_torch: bool = True, schemes: bool = True,
        small: bool = True, only: Optional[Sequence[str]] = None, budget: float = 3.0,
        quiet_wait: float = 0.0, passes: int = 1, ortho_max: int = ORTHO_MAX,
        log: Callable[[str], None] = lambda s: None) -> Tuple[List[Row], Dict[str, Any]]:
    """Measure every fill; returns (rows, info). ``only``: substrings of the fills to keep;
    ``quiet_wait``: seconds to wait, before timing each row, for other processes to go idle (and
    re-time a row once or twice when they did not); ``passes``: how many times ours, the
    reference and the 1-thread run of every row are timed (peers once), best kept."""
    import weightinit as wi

    nthreads = threads or wi.default_threads()
    torch = try_torch() if (peers and use_torch) else None
    torch_threads = None
    if torch is not None:
        torch_threads = torch.get_num_threads()
        torch.set_num_threads(nthreads)
    info: Dict[str, Any] = {
        "weightinit": wi.__version__, "isa": wi.isa(), "threads": nthreads,
        "default_threads": wi.default_threads(), "size": size, "repeat": repeat, "passes": passes,
        "numpy": np.__version__, "torch": getattr(torch, "__version__", None),
        "cpu": cpu_name(), "python": platform.python_version(), "machine": platform.machine(),
    }
    run_snap = _cpu_snapshot()
    keep = (lambda label: any(o in label for o in only)) if only else (lambda label: True)
    peer_repeat = min(repeat, 3)
    rows: List[Row] = []
    pool = concurrent.futures.ThreadPoolExecutor(nthreads) if nthreads > 1 else None
    try:
        for di, dname in enumerate(dtypes):
            dt = dtype_of(dname)
            buf = np.empty(size, dt)
            ref = ref_fill(buf)
            ref()  # touch every page before anything is timed
            log(f"{dname}: {size} elements, {buf.nbytes / 2**20:.0f} MiB")
            ref_best = best_time(ref, repeat, budget, elements=size)
            if di == 0:
                for byte, label, nt in ((0x5A, "memset(0x5A), 1 thread", 1),
                                        (0x5A, f"memset(0x5A), {nthreads} threads", nthreads),
                                        (0x00, f"memset(0), {nthreads} threads", nthreads)):
                    if nt > 1 and pool is None:
                        continue
                    tm = memset_ceiling(buf, byte, nt, repeat, pool)
                    if tm is not None:
                        rows.append(Row(label, "bytes", buf.nbytes, 1, tm, section="ceiling"))
                ref()
            cases = basic_cases(wi) + (scheme_cases(size, ortho_max) if schemes else [])
            ref_row = Row("ndarray.fill (reference)", dname, size, dt.itemsize, ref_best, ref_best,
                          section=dname)
            rows.append(ref_row)
            measured: Dict[str, Tuple[Case, Dict[str, Callable[[], Any]], Row]] = {}
            for case in cases:
                if not keep(case.label):
                    continue
                shape = case.shape(size) if case.shape else (size,)
                nel = int(np.prod(shape))
                view = buf[:nel].reshape(shape)
                log(f"  {case.label} {dname} {shape}")
                # partial binds this iteration's view and case (a fill of 2**27 elements: no overhead to see)
                fns: Dict[str, Callable[[], Any]] = {"ours": functools.partial(case.ours, view, nthreads)}
                if case.ref and nel == size:
                    fns["ref"] = ref
                if case.scaling and nthreads > 1:
                    fns["one"] = functools.partial(case.ours, view, 1)
                try:
                    got, background = _measure_quietly(fns, repeat, 2 * budget, nel, quiet_wait)
                except Exception as e:  # a scheme that refuses this dtype
                    rows.append(Row(case.label, dname, nel, dt.itemsize, None, section=dname,
                                    notes=[f"n/a: {type(e).__name__}: {e}"]))
                    continue
                if "ref" in got and got["ref"].seconds < ref_best.seconds:
                    ref_best.seconds = got["ref"].seconds
                row = Row(case.label, dname, nel, dt.itemsize, got["ours"],
                          ref_best if case.ref else None, one_thread=got.get("one"),
                          section=dname, notes=list(case.notes))
                row.background = background
                if peers:
                    _wait_quiet(quiet_wait)
                    for gname, bitgen in (("PCG64", np.random.PCG64), ("Philox", np.random.Philox)):
                        np_fill = case.numpy
                        if np_fill is None:
                            row.peers[gname] = "-"
                            continue
                        g = np.random.Generator(bitgen(SEED))
                        note = case.numpy_note
                        if not _is_native(dt):
                            note = (note + "; " if note else "") + (
                                f"NumPy has no {dname} out=: float32 into a {NUMPY_CHUNK}-element "
                                "scratch, cast copy")
                        head = view if case.label == "orthogonal_" else _head(view)
                        row.peers[gname] = best_time(functools.partial(np_fill, g, view),
                                                     peer_repeat, budget, elements=nel, note=note,
                                                     warmup_fn=functools.partial(np_fill, g, head))
                    if torch is not None:
                        row.peers["torch"] = _torch_time(torch, case, view, peer_repeat, budget)
                    elif use_torch:
                        row.peers["torch"] = "not installed"
                rows.append(row)
                measured[case.label] = (case, fns, row)
                ref()  # leave the buffer in a known state
            # Later passes re-time ours, the reference and the 1-thread run (not the slow peers),
            # minutes after the first: a burst of load elsewhere rarely spans every pass.
            for p in range(1, passes):
                log(f"  {dname}: pass {p + 1} of {passes}")
                for _case, fns, row in measured.values():
                    got, background = _measure_quietly(fns, repeat, 2 * budget, row.elements,
                                                       quiet_wait)
                    if row.ours is None or got["ours"].seconds < row.ours.seconds:
                        row.ours, row.background = got["ours"], background
                    if "one" in got and (row.one_thread is None or got["one"].seconds < row.one_thread.seconds):
                        row.one_thread = got["one"]
                    if "ref" in got and got["ref"].seconds < ref_best.seconds:
                        ref_best.seconds = got["ref"].seconds
                    ref()
            del buf
        if small and (not only or any(o in "small" for o in only)):
            _wait_quiet(quiet_wait)
            rows.extend(_small_rows(wi, torch if peers else None, peers, repeat, quiet_wait))
    finally:
        if pool is not None:
            pool.shutdown()
        if torch is not None and torch_threads is not None:
            torch.set_num_threads(torch_threads)
    info["other_load"] = _other_load(run_snap)
    return rows, info


BUSY = 0.25     # a row timed while other processes kept more CPUs than this busy is re-timed
QUIET = 0.1     # ... after waiting for them to keep fewer than this busy


def _wait_quiet(max_wait: float, window: float = 0.5) -> Optional[float]:
    """Wait (at most ``max_wait`` s) until other processes keep < QUIET CPUs busy over a
    ``window``; returns the last load seen."""
    load = None
    deadline = time.perf_counter() + max_wait
    while time.perf_counter() < deadline:
        snap = _cpu_snapshot()
        if snap is None:
            return None
        time.sleep(window)
        load = _other_load(snap)
        if load is None or load < QUIET:
            break
    return load


def _measure_quietly(fns: Dict[str, Callable[[], Any]], repeat: int, budget: float, elements: int,
                     quiet_wait: float, retries: int = 2) -> Tuple[Dict[str, Timing], Optional[float]]:
    """best_times_round_robin, re-timed (up to ``retries`` times, keeping each callable's best)
    when other processes kept more than BUSY CPUs busy meanwhile. Returns the timings and the
    background load of the attempt that gave our best time."""
    best: Dict[str, Timing] = {}
    background = None
    for _attempt in range(1 + (retries if quiet_wait > 0 else 0)):
        if quiet_wait > 0:
            _wait_quiet(quiet_wait)
        snap = _cpu_snapshot()
        got = best_times_round_robin(fns, repeat, budget, elements=elements)
        load = _other_load(snap)
        for k, t in got.items():
            if k not in best or t.seconds < best[k].seconds:
                best[k] = t
                if k == "ours":
                    background = load
        if load is None or load <= BUSY:
            break
    return best, background


def _cpu_snapshot() -> Optional[Tuple[float, float, float]]:
    """(busy CPU seconds of the whole machine, CPU seconds of this process, wall seconds), from
    /proc/stat on Linux; None elsewhere."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        hz = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    busy = sum(fields[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy / hz, time.process_time(), time.perf_counter()


def _other_load(start: Optional[Tuple[float, float, float]]) -> Optional[float]:
    """Average number of CPUs kept busy by everything but this process since ``start``: a
    benchmark taken while this is well above 0 measured a shared machine."""
    end = _cpu_snapshot()
    if start is None or end is None or end[2] <= start[2]:
        return None
    other = (end[0] - start[0]) - (end[1] - start[1])
    return round(max(0.0, other) / (end[2] - start[2]), 2)


def _small_rows(wi: ModuleType, torch: Optional[ModuleType], peers: bool, repeat: int,
                quiet_wait: float = 0.0) -> List[Row]:
    """Call overhead: fills of SMALL_N float32 elements, each timed round-robin with its peers and
    ndarray.fill of the same 1,000 elements."""
    x = np.zeros(SMALL_N, np.float32)
    t = torch_view(x) if torch is not None else None
    tm: Any = torch  # the torch lambdas below are listed only when torch is not None
    out = []
    specs = [
        ("uniform_", lambda: wi.uniform_(x, seed=SEED),
         lambda g: g.random(out=x, dtype=np.float32), (lambda: tm.nn.init.uniform_(t))),
        ("normal_", lambda: wi.normal_(x, seed=SEED),
         lambda g: g.standard_normal(out=x, dtype=np.float32), (lambda: tm.nn.init.normal_(t))),
        ("trunc_normal_", lambda: wi.trunc_normal_(x, seed=SEED),
         lambda g: numpy_fill(g, x, "trunc"), (lambda: tm.nn.init.trunc_normal_(t))),
        ("constant_", lambda: wi.constant_(x, 0.25), None,
         (lambda: tm.nn.init.constant_(t, 0.25))),
    ]
    for label, ours, np_fn, torch_fn in specs:
        fns: Dict[str, Callable[[], Any]] = {"ours": ours, "ref": lambda: x.fill(REF_VALUE)}
        if peers:
            for gname, bitgen in (("PCG64", np.random.PCG64), ("Philox", np.random.Philox)):
                if np_fn is not None:
                    g = np.random.Generator(bitgen(SEED))

                    def peer(g: np.random.Generator = g, f: Callable[[np.random.Generator], Any] = np_fn) -> Any:
                        return f(g)  # a def, not a lambda with defaults, so that mypy can type it

                    fns[gname] = peer
            if torch is not None:
                fns["torch"] = torch_fn
        _wait_quiet(quiet_wait)
        snap = _cpu_snapshot()
        got = best_times_small_round_robin(fns, max(repeat, 7))
        row = Row(f"{label} n={SMALL_N}", "float32", SMALL_N, 4, got.pop("ours"), got.pop("ref"),
                  section="small")
        row.background = _other_load(snap)
        if peers:
            row.peers = {k: got.get(k, "-") for k in ("PCG64", "Philox", "torch")
                         if k in got or k != "torch"}
        out.append(row)
    return out


# ------------------------------------------------------------------------------------ format


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _fmt_time(s: float) -> str:
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.1f} us"


def _fmt_ratio(r: Optional[float]) -> str:
    if r is None:
        return "-"
    if r >= 100:
        return f"{r:.0f}"
    if r >= 10:
        return f"{r:.1f}"
    return f"{r:.2f}"


def format_table(rows: Sequence[Row], info: Optional[Dict[str, Any]] = None,
                 columns: Optional[Sequence[str]] = None) -> str:
    """The table as GitHub-flavoured Markdown (readable as plain text too), then its notes.

    Ratios are (their time) / (our time) on the same number of elements: above 1 means weightinit
    is faster; ``x fill`` is the reference's time over ours (1.00 = writes as fast as
    ndarray.fill)."""
    notes: List[str] = []
    if columns is None:
        present = {k for r in rows for k in r.peers}
        columns = [c for c in ("PCG64", "Philox", "torch") if c in present]

    def mark(note: str) -> str:
        """Footnote markers for ``note`` ("; " separates independent notes)."""
        out = ""
        for part in filter(None, note.split("; ")):
            if part not in notes:
                notes.append(part)
            out += f"[{notes.index(part) + 1}]"
        return " " + out if out else ""

    thr = info.get("threads") if info else None
    head = ["fill", "dtype", "time", "G elem/s", "GB/s", "x fill"] + [f"x {c}" for c in columns]
    head.append(f"1->{thr} thr" if thr else "1->N thr")
    show_bg = any(r.background is not None for r in rows)
    if show_bg:
        head.append("bg CPUs")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        if r.ours is None:
            cells = [r.label + "".join(mark(n) for n in r.notes), r.dtype] + ["-"] * (len(head) - 2)
            lines.append("| " + " | ".join(cells) + " |")
            continue
        s = r.ours.seconds
        label = r.label + "".join(mark(n) for n in r.notes)
        if r.section == "ceiling":
            cells = [label, "-", _fmt_time(s), "-", f"{r.elements / s / 1e9:.1f}", "-"]
        else:
            cells = [label, r.dtype, _fmt_time(s), f"{r.elements / s / 1e9:.3f}",
                     f"{r.elements * r.itemsize / s / 1e9:.1f}", _fmt_ratio(r.ratio(r.ref))]
        for c in columns:
            p = r.peers.get(c)
            if isinstance(p, Timing):
                cells.append(_fmt_ratio(r.ratio(p)) + mark(p.note))
            elif isinstance(p, str) and p not in ("", "-"):
                cells.append(mark(f"{c}: {p}").strip())
            else:
                cells.append("-")
        cells.append(_fmt_ratio(r.ratio(r.one_thread)) if r.one_thread else "-")
        if show_bg:
            cells.append("-" if r.background is None else f"{r.background:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    out = "\n".join(lines)
    if notes:
        out += "\n\n" + "\n".join(f"[{i + 1}] {n}" for i, n in enumerate(notes))
    return out


def _header(info: Dict[str, Any], argv: Sequence[str]) -> str:
    n = info["size"]
    size = f"2**{n.bit_length() - 1}" if n & (n - 1) == 0 else str(n)
    return (
        f"weightinit {info['weightinit']} ({info['isa']}), {info['threads']} threads; "
        f"NumPy {info['numpy']}, torch {info['torch'] or 'absent'}; Python {info['python']}\n"
        f"CPU: {info['cpu']} ({os.cpu_count()} logical CPUs); {size} elements per fill; "
        f"best of up to {info['repeat']} calls x {info.get('passes', 1)} passes (peers: 3 calls, "
        f"1 pass) after a warm-up;\nother processes kept "
        f"{info.get('other_load')} CPUs busy on average during the run\n"
        f"command: python -m weightinit.benchmark {' '.join(argv)}".rstrip()
    )


LEGEND = (
    "x fill: ndarray.fill time / our time on the same buffer (bfloat16: fill of its uint16 view). "
    "x PCG64, x Philox, x torch: their time / ours (>1: weightinit faster); NumPy is "
    "single-threaded, torch runs torch.set_num_threads(threads). 1->N thr: our time with threads=1 / "
    "threads=N. memset rows (libc via ctypes, GB/s) are the physical ceiling."
)
_LEGEND_BG = (
    " bg CPUs: CPUs kept busy by other processes (from /proc/stat) while our fill was timed; rows "
    "well above 0 were timed on a shared machine."
)


# -------------------------------------------------------------------------------------- cli


def _size(text: str) -> int:
    """An element count: an int, or ``2**N``."""
    try:
        if "**" in text:
            base, exp = text.split("**")
            return int(base) ** int(exp)
        return int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int or 2**N, got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="weightinit bench",
        description="Throughput of weightinit's fills as ratios measured in one run: vs "
                    "ndarray.fill on the same buffer (memory-write reference), vs NumPy's Generator "
                    "(PCG64, Philox), vs torch.nn.init, 1 vs N threads; memset as the ceiling.")
    p.add_argument("--size", type=_size, default=None,
                   help="elements per fill (default 2**27; 2**22 with --quick); accepts 2**N")
    p.add_argument("--dtype", action="append", choices=DEFAULT_DTYPES, default=None,
                   help="dtype to measure (repeatable; default: all of %(choices)s)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for weightinit and torch (default: weightinit.default_threads())")
    p.add_argument("--repeat", type=int, default=None, help="timed calls of weightinit, the "
                   "reference and the 1-thread run, round-robin, best kept (default 7; 3 with "
                   "--quick); peers get at most 3, or 2 once past a time budget")
    p.add_argument("--no-peers", action="store_true", help="skip NumPy and torch")
    p.add_argument("--no-torch", action="store_true", help="skip torch even if installed")
    p.add_argument("--no-schemes", action="store_true", help="only the core fills")
    p.add_argument("--only", action="append", default=None, metavar="SUBSTRING",
                   help="keep only fills whose name contains SUBSTRING (repeatable; 'small' for "
                        "the call-overhead rows)")
    p.add_argument("--quick", action="store_true",
                   help="a fast smoke run: 2**22 elements, float32 only unless --dtype, 3 repeats")
    p.add_argument("--quiet-wait", type=float, default=None, metavar="SECONDS",
                   help="before timing each row, wait up to SECONDS for other processes to go "
                        "idle, and re-time a row (up to twice) if they kept > 0.25 CPUs busy "
                        "(default 20; 0 with --quick; 0 disables)")
    p.add_argument("--passes", type=int, default=None,
                   help="time weightinit, the reference and the 1-thread runs in this many passes "
                        "over the rows of a dtype, keeping the best (peers: first pass only; "
                        "default 2; 1 with --quick)")
    p.add_argument("--json", metavar="PATH", default=None, help="also write the raw timings here")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    """``weightinit bench``: print the ratio table; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:  # --help, or a usage error (already printed)
        return int(e.code or 0) if not isinstance(e.code, str) else 2
    argv = list(sys.argv[1:] if argv is None else argv)
    size = args.size or (QUICK_SIZE if args.quick else DEFAULT_SIZE)
    dtypes = args.dtype or (["float32"] if args.quick else list(DEFAULT_DTYPES))
    repeat = args.repeat or (3 if args.quick else 7)
    if size < 1 or repeat < 1 or (args.threads is not None and args.threads < 1):
        print("weightinit bench: --size, --repeat and --threads must be >= 1", file=sys.stderr)
        return 2
    t0 = time.time()
    rows, info = run(size, dtypes, args.threads, repeat, peers=not args.no_peers,
                     use_torch=not args.no_torch, schemes=not args.no_schemes, only=args.only,
                     budget=1.5 if args.quick else 3.0,
                     quiet_wait=(args.quiet_wait if args.quiet_wait is not None
                                 else 0.0 if args.quick else 20.0),
                     passes=max(1, args.passes or (1 if args.quick else 2)),
                     ortho_max=QUICK_ORTHO_MAX if args.quick else ORTHO_MAX,
                     log=lambda s: print(s, file=sys.stderr, flush=True))
    print(_header(info, argv))
    print()
    print(format_table(rows, info))
    print()
    print(LEGEND + (_LEGEND_BG if any(r.background is not None for r in rows) else ""))
    print(f"({time.time() - t0:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"info": info, "rows": [_row_json(r) for r in rows]}, f, indent=1)
    return 0


def _row_json(r: Row) -> Dict[str, Any]:
    def t(x: Any) -> Any:
        return x.__dict__ if isinstance(x, Timing) else x

    return {"label": r.label, "dtype": r.dtype, "elements": r.elements, "itemsize": r.itemsize,
            "ours": t(r.ours), "ref": t(r.ref), "one_thread": t(r.one_thread),
            "peers": {k: t(v) for k, v in r.peers.items()}, "notes": r.notes,
            "background": r.background}


if __name__ == "__main__":
    sys.exit(main())
