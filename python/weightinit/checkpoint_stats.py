"""Inspect a checkpoint before a long training job: per-tensor statistics, and what does not fit.

:func:`inspect` reads a .safetensors file or a Hugging Face directory (one ``model.safetensors`` or
shards with ``model.safetensors.index.json``) in one pass, in bounded memory: Python walks the
file a window at a time (``window`` bytes, 4 MiB, ``pread`` by a reader thread into one of two
reused buffers: no page faults, the GIL released) and the core's statistics kernel
(``_core.tensor_stats``: AVX2 or portable, on the core's threads, GIL released) reduces each window
to a count, float64 sums of ``x - x0`` and its square (``x0`` the tensor's first element, so the
variance does not cancel), min, max, zeros and non-finite values, in an order fixed
by the data (the same figures for any thread count). Integer and bool tensors go through NumPy.

Per tensor: shape, dtype, mean, std (population), min, max, fraction of exact zeros and the count
of non-finite values. Given ``expect`` (a model spec, an architecture name, a spec file, an HF
config when :mod:`weightinit.hf` is installed, or ``"metadata"`` for the spec weightinit stored in
the file), each tensor is checked against its initializer: shape and dtype, a constant (a norm
weight of ones, a zero bias) exactly constant, the padding rows zero, and the std and mean within
5% of the initializer's plus six standard errors of sampling (so a 10-element bias is not flagged
for chance). Non-finite values are flagged always.

The reference std of a random initializer is measured on a 2**20-element window of a stream
(the same fill, fans from the full shape; relative error 0.07%), so every scheme, including ones
added later, is checked the same way without a table of formulas.
"""

from __future__ import annotations

import functools
import json
import math
import mmap
import os
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _validate

__all__ = ["CheckpointReport", "TensorStats", "inspect", "read_header"]

#: how far a std may be off its initializer's before it is flagged (plus sampling error)
STD_TOLERANCE = 0.05
#: standard errors of sampling allowed on top of STD_TOLERANCE
Z = 6.0
#: bytes reduced per task (L2-sized slices inside it keep the passes in cache)
DEFAULT_WINDOW = 4 << 20
_REFERENCE = 1 << 20  # elements of the reference sample of a random initializer
_WHOLE_REFERENCE = 1 << 22  # non-element-wise initializers are filled whole up to this size
_ST_NUMPY = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
             "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8",
             "BOOL": "bool"}
_ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
             "U8": 1, "BOOL": 1}


@dataclass
class TensorStats:
    """One tensor's statistics (``std`` is the population std; ``zeros`` a fraction) and, after
    a check, ``expected`` (what the initializer gives) and ``problems`` (why it is flagged)."""

    name: str
    shape: Tuple[int, ...]
    dtype: str
    file: str
    size: int
    mean: float
    std: float
    min: float
    max: float
    zeros: float
    nonfinite: int
    expected: str = ""
    problems: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        d = dict(self.__dict__)
        d["shape"] = list(self.shape)
        return d


@dataclass
class CheckpointReport:
    """What :func:`inspect` found: ``tensors`` (name -> :class:`TensorStats`, file order),
    ``flagged`` (names whose statistics do not fit, plus missing tensors), ``missing`` (in the
    expectation, not in the checkpoint), ``bytes`` read and ``seconds`` taken."""

    path: str
    tensors: Dict[str, TensorStats]
    flagged: List[str]
    missing: List[str]
    checked: bool
    bytes: int
    seconds: float

    def table(self) -> None:
        """Print the per-tensor table, flagged rows marked with ``!`` and their reasons below
        (``str(report)`` is the same text; None returned so a REPL does not echo it again)."""
        print(self)

    def __str__(self) -> str:
        w = max([len(n) for n in self.tensors] + [6])
        head = (f"  {'tensor':<{w}} {'shape':<16} {'dtype':<8} {'mean':>10} {'std':>10} "
                f"{'min':>10} {'max':>10} {'zeros':>6} {'nonfin':>6}")
        rows = [head]
        for s in self.tensors.values():
            mark = "!" if s.problems else " "
            rows.append(f"{mark} {s.name:<{w}} {'x'.join(map(str, s.shape)) or '()':<16} "
                        f"{s.dtype:<8} {s.mean:>10.3g} {s.std:>10.3g} {s.min:>10.3g} "
                        f"{s.max:>10.3g} {s.zeros:>6.1%} {s.nonfinite:>6}")
        for n in self.missing:
            rows.append(f"! {n:<{w}} missing from the checkpoint")
        rate = self.bytes / self.seconds / 1e9 if self.seconds > 0 else float("inf")
        rows.append(f"{len(self.tensors)} tensors, {self.bytes / 1e9:.2f} GB in "
                    f"{self.seconds:.2f} s ({rate:.2f} GB/s)")
        if self.flagged:
            rows.append(f"{len(self.flagged)} flagged:")
            for n in self.flagged:
                why = self.tensors[n].problems if n in self.tensors else ["missing"]
                rows.append(f"  {n}: {'; '.join(why)}")
        elif self.checked:
            rows.append("every tensor fits its initializer")
        return "\n".join(rows)

    def to_dict(self) -> Dict[str, Any]:
        return {"path": self.path, "checked": self.checked, "flagged": list(self.flagged),
                "missing": list(self.missing), "bytes": self.bytes, "seconds": self.seconds,
                "tensors": [s.to_dict() for s in self.tensors.values()]}


# ------------------------------------------------------------------------------------ the files

def read_header(path: Union[str, os.PathLike]) -> Tuple[Dict[str, Any], Dict[str, str], int]:
    """(tensors: name -> {dtype, shape, data_offsets}, metadata, data start) of a .safetensors
    file, checked against the file's size."""
    path = os.fspath(path)
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            raise ValueError(f"{path} is not a .safetensors file (shorter than 8 bytes)")
        (n,) = struct.unpack("<Q", raw)
        if n > min(size - 8, 100 << 20):
            raise ValueError(f"{path} is not a .safetensors file (header length {n} bytes)")
        try:
            header = _validate.json_loads(f.read(n), "the header")
        except ValueError as exc:
            raise ValueError(f"{path} is not a .safetensors file ({exc})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path} is not a .safetensors file (header is not an object)")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ValueError(f"{path} is not a .safetensors file (__metadata__ is not an object of strings)")
    start = 8 + n
    for name, t in header.items():
        if not (isinstance(t, dict) and _is_ints(t.get("shape"))
                and _is_ints(t.get("data_offsets")) and len(t["data_offsets"]) == 2):
            raise ValueError(f"{path} is not a .safetensors file (tensor {name!r} needs dtype, shape "
                             f"and data_offsets, got {str(t)[:80]})")
        if t.get("dtype") not in _ST_NUMPY:
            raise ValueError(f"{path}: tensor {name!r} has dtype {t.get('dtype')!r}; supported: "
                             f"{', '.join(_ST_NUMPY)}")
        lo, hi = t["data_offsets"]
        if hi - lo != math.prod(t["shape"]) * _ITEMSIZE[t["dtype"]] or start + hi > size:
            raise ValueError(f"{path}: tensor {name!r} has inconsistent data_offsets {lo, hi}")
    return header, meta, start


def _files(path: str) -> List[str]:
    """The .safetensors files of a checkpoint path (a file, or an HF directory)."""
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise FileNotFoundError(f"path {path!r} is neither a .safetensors file nor a directory")
    index = os.path.join(path, "model.safetensors.index.json")
    if os.path.isfile(index):
        with open(index, "rb") as f:
            weight_map = _validate.json_loads(f.read(), index)
        weight_map = weight_map.get("weight_map") if isinstance(weight_map, dict) else None
        if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
            raise ValueError(f"{index} has no 'weight_map' object of tensor name -> file name")
        return [os.path.join(path, s) for s in dict.fromkeys(weight_map.values())]
    single = os.path.join(path, "model.safetensors")
    if os.path.isfile(single):
        return [single]
    found = sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(".safetensors"))
    if not found:
        raise ValueError(f"path {path!r}: no model.safetensors, index or .safetensors file in it")
    return found


# ------------------------------------------------------------------------------- the reduction

def _as_float(raw: np.ndarray, dtype: str) -> np.ndarray:
    """Raw bytes as float32 (float64 for F64 and 64-bit ints): a new array unless F32/F64."""
    if dtype == "BF16":  # bfloat16 is the high half of a float32
        return (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    dt = np.dtype(_ST_NUMPY[dtype])
    arr = raw.view(dt)
    if dt == np.float32 or dt == np.float64:
        return arr
    return arr.astype(np.float64 if dt.itemsize == 8 else np.float32)


_KERNEL_DTYPES = ("F32", "F64", "F16", "BF16")  # reduced by the C++ kernel; the rest by NumPy


def _numpy_stats(raw: np.ndarray, dtype: str, shift: float) -> Tuple[float, ...]:
    """The kernel's tuple for the integer and bool dtypes (rare in checkpoints): NumPy, float64."""
    x = raw.view(_ST_NUMPY[dtype]).astype(np.float64)
    zeros = int(np.count_nonzero(x == 0))
    if x.size == 0:
        return (0, 0.0, 0.0, math.inf, -math.inf, 0, 0)
    d = x - shift
    return (x.size, float(d.sum()), float(np.dot(d, d)), float(x.min()), float(x.max()), zeros, 0)


def _window_stats(raw: np.ndarray, dtype: str, shift: float, threads: int) -> Tuple[float, ...]:
    """(finite n, sum(x - shift), sum((x - shift)^2), min, max, zeros, non-finite) of a window:
    one pass of the core's statistics kernel on its threads, GIL released, nothing copied."""
    if dtype in _KERNEL_DTYPES:
        from . import _core

        return _core.tensor_stats(raw, dtype, threads, shift)
    return _numpy_stats(raw, dtype, shift)


def _read(fd: int, buf: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Bytes [lo, hi) of the file into buf (pread: no page faults, GIL released)."""
    raw = buf[:hi - lo]
    got = 0
    while got < raw.size:
        n = os.preadv(fd, [memoryview(raw[got:])], lo + got)  # type: ignore[arg-type]
        if n <= 0:
            raise OSError(f"unexpected end of file at byte {lo + got}")
        got += n
    return raw


def _first(fd: int, dtype: str, lo: int) -> float:
    """The tensor's first element (0 if not finite): the shift that keeps its variance sum exact
    (16/32-bit floats are shifted in float32, where their first element is exact)."""
    raw = np.frombuffer(os.pread(fd, _ITEMSIZE[dtype], lo), np.uint8)
    v = float(_as_float(raw, dtype)[0])
    return v if math.isfinite(v) else 0.0


def _tasks(header: Dict[str, Any], start: int, window: int) -> Iterator[Tuple[str, int, int]]:
    for name, t in header.items():
        lo, hi = start + t["data_offsets"][0], start + t["data_offsets"][1]
        step = max(window // _ITEMSIZE[t["dtype"]], 1) * _ITEMSIZE[t["dtype"]]
        for a in range(lo, hi, step):
            yield name, a, min(a + step, hi)


def _scan(path: str, threads: int, window: int, only: Optional[set]) -> Tuple[List[TensorStats], Dict[str, str], int]:
    header, meta, start = read_header(path)
    if only is not None:
        header = {n: t for n, t in header.items() if n in only}
    order = sorted(header, key=lambda n: header[n]["data_offsets"][0])
    header = {n: header[n] for n in order}
    size = os.path.getsize(path)
    # per tensor: n, [sums], [sums of squares] (fsum'd at the end), min, max, zeros, non-finite
    acc: Dict[str, List[Any]] = {n: [0, [], [], math.inf, -math.inf, 0, 0] for n in header}
    shift: Dict[str, float] = {}
    total = 0
    if size > start:
        with open(path, "rb", buffering=0) as f, ThreadPoolExecutor(1) as reader:
            fd = f.fileno()
            for name, t in header.items():
                if t["data_offsets"][1] > t["data_offsets"][0]:
                    shift[name] = _first(fd, t["dtype"], start + t["data_offsets"][0])
            # two window buffers: the reader fills one while the kernel reduces the other
            tasks = list(_tasks(header, start, window))
            bufs = [np.empty(min(window, size), np.uint8) for _ in range(2)]
            nxt = reader.submit(_read, fd, bufs[0], *tasks[0][1:]) if tasks else None
            for i, (name, lo, hi) in enumerate(tasks):
                raw = nxt.result()  # type: ignore[union-attr]
                if i + 1 < len(tasks):
                    nxt = reader.submit(_read, fd, bufs[(i + 1) % 2], *tasks[i + 1][1:])
                part = _window_stats(raw, header[name]["dtype"], shift[name], threads)
                a = acc[name]
                a[0] += part[0]
                a[1].append(part[1])
                a[2].append(part[2])
                a[3] = min(a[3], part[3])
                a[4] = max(a[4], part[4])
                a[5] += part[5]
                a[6] += part[6]
                total += hi - lo
    stats = []
    for name, t in header.items():
        a = acc[name]
        n_all = math.prod(t["shape"])
        n = a[0]
        k = shift.get(name, 0.0)
        m = math.fsum(a[1]) / n if n else math.nan
        var = max(math.fsum(a[2]) / n - m * m, 0.0) if n else math.nan
        stats.append(TensorStats(
            name, tuple(t["shape"]), _ST_NUMPY[t["dtype"]], path, n_all, k + m,
            math.sqrt(var), a[3] if n else math.nan, a[4] if n else math.nan,
            a[5] / n_all if n_all else 0.0, int(a[6])))
    return stats, meta, total


def _is_ints(value: Any) -> bool:
    return isinstance(value, list) and all(type(v) is int and v >= 0 for v in value)


# ------------------------------------------------------------------------------ the expectation

def _expected_spec(expect: Any, meta: Dict[str, str]) -> Any:
    from .build import as_spec
    from .models import ModelSpec

    if isinstance(expect, str) and expect == "metadata":
        if "weightinit.spec" not in meta:
            raise ValueError("expect='metadata' needs a checkpoint written by weightinit (its "
                             "metadata has no 'weightinit.spec')")
        return ModelSpec.from_json(meta["weightinit.spec"])
    if isinstance(expect, (str, os.PathLike)) and not (isinstance(expect, str)
                                                        and not os.path.exists(expect)):
        p = os.fspath(expect)
        if os.path.isdir(p):
            p = os.path.join(p, "config.json")
        with open(p, "rb") as f:
            data = _validate.json_loads(f.read(), p)
        if isinstance(data, dict) and "params" in data:
            return ModelSpec.from_dict(data)
        return _hf_spec(data)
    if isinstance(expect, Mapping) and "model_type" in expect:
        return _hf_spec(expect)
    try:
        return as_spec(expect)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"expect must be a ModelSpec, an architecture name, a spec or HF config "
                        f"file, a mapping, or 'metadata': {exc}") from None


def _hf_spec(config: Mapping[str, Any]) -> Any:
    try:
        from . import hf
    except ImportError:
        raise ValueError("expect: an HF config needs weightinit.hf (not in this version); pass "
                         "a spec, an architecture name or 'metadata'") from None
    for fn in ("spec_from_config", "config_to_spec", "from_config"):
        if hasattr(hf, fn):
            return getattr(hf, fn)(dict(config))
    raise ValueError("expect: weightinit.hf offers no config -> spec function")


def _reference(p: Any, dtype: np.dtype) -> Optional[Tuple[float, float, float]]:
    """(mean, std, kurtosis) of the initializer on a sample (zero rows left out), or None when
    it is too large to fill whole and not element-wise; one sample per distinct parameter."""
    plain = {k: v for k, v in p.to_dict().items() if k not in ("zero_rows", "dtype")}
    return _reference_of(json.dumps(plain, sort_keys=True), np.dtype(dtype).str)


@functools.lru_cache(maxsize=256)
def _reference_of(param_json: str, dtype: str) -> Optional[Tuple[float, float, float]]:
    from .build import can_window, fill_param
    from .models import Param

    name = "weightinit.inspect.reference"
    plain = Param.from_dict(json.loads(param_json))
    if can_window(plain):
        wide = np.dtype(dtype) == np.float64
        sample = np.empty(min(plain.size, _REFERENCE), np.float64 if wide else np.float32)
        fill_param(sample, plain, name, 0x5EED)
    elif plain.size <= _WHOLE_REFERENCE:
        sample = np.empty(plain.shape, np.float32)
        fill_param(sample, plain, name, 0x5EED)
    else:
        return None
    x = sample.astype(np.float64).ravel()
    m = float(x.mean())
    d2 = np.square(x - m)
    v = float(d2.mean())
    kurt = float(np.dot(d2, d2) / d2.size / v**2) if v > 0 else 3.0
    return m, math.sqrt(v), kurt


def _check(s: TensorStats, p: Any, mm_rows: Optional[np.ndarray], dtype: Optional[str]) -> None:
    from .models import np_dtype
    from .registry import CONSTANT_INITS

    if s.nonfinite:
        s.problems.append(f"{s.nonfinite} non-finite values")
    if s.shape != p.shape:
        s.problems.append(f"shape {s.shape}, expected {p.shape}")
        return
    want = p.dtype or dtype
    if want and s.dtype != want:
        s.problems.append(f"dtype {s.dtype}, expected {want}")
    if s.size == 0:
        return
    zr = len(p.zero_rows) * (s.size // p.shape[0]) if p.zero_rows else 0
    if mm_rows is not None and np.any(mm_rows != 0):
        s.problems.append(f"padding rows {list(p.zero_rows)} are not 0")
    if p.init in CONSTANT_INITS:
        v = {"zeros_": 0.0, "ones_": 1.0}.get(p.init, p.kwargs.get("val", 0.0))
        stored = float(np.asarray(v).astype(np_dtype(s.dtype) if s.dtype != "bool" else bool))
        s.expected = f"all {v:g}"
        if zr and stored != 0:  # the zero rows lie outside the constant
            ok = s.min == min(0.0, stored) and s.max == max(0.0, stored)
        else:
            ok = s.min == stored and s.max == stored
        if not ok:
            s.problems.append(f"not constant {v:g} (min {s.min:.4g}, max {s.max:.4g})")
        return
    ref = _reference(p, np_dtype(s.dtype) if s.dtype != "bool" else np.dtype(np.float32))
    if ref is None:
        s.expected = f"{p.init} (too large to check)"
        return
    m_ref, sd_ref, kurt = ref
    keep = (s.size - zr) / s.size  # zero rows dilute the variance and the mean
    var_exp = keep * (sd_ref**2 + m_ref**2) - (keep * m_ref) ** 2
    sd_exp, m_exp = math.sqrt(var_exp), keep * m_ref
    s.expected = f"{p.init}: mean {m_exp:.4g}, std {sd_exp:.4g}"
    n = s.size - zr
    if sd_exp == 0:
        if s.std != 0:
            s.problems.append(f"std {s.std:.4g}, expected 0")
        return
    # relative standard error of a sample std: sqrt((kurtosis - 1) / (4 n))
    tol = STD_TOLERANCE + Z * math.sqrt(max(kurt - 1, 0.5) / (4 * max(n, 1)))
    if not abs(s.std / sd_exp - 1) <= tol:
        s.problems.append(f"std {s.std:.4g}, expected {sd_exp:.4g} (off by "
                          f"{s.std / sd_exp - 1:+.1%}, allowed {tol:.1%})")
    m_tol = STD_TOLERANCE * sd_exp + Z * sd_exp / math.sqrt(max(n, 1))
    if not abs(s.mean - m_exp) <= m_tol:
        s.problems.append(f"mean {s.mean:.4g}, expected {m_exp:.4g} (+- {m_tol:.2g})")


def _zero_rows(path: str, name: str, p: Any) -> Optional[np.ndarray]:
    if not p.zero_rows:
        return None
    header, _, start = read_header(path)
    t = header[name]
    row = math.prod(t["shape"][1:]) * _ITEMSIZE[t["dtype"]]
    out = []
    with open(path, "rb") as f:
        for r in p.zero_rows:
            f.seek(start + t["data_offsets"][0] + r * row)
            out.append(np.frombuffer(f.read(row), np.uint8))
    # +0.0 and -0.0 are both zero: compare as floats
    return np.concatenate([_as_float(o, t["dtype"]) for o in out]) if out else None


# ----------------------------------------------------------------------------------- inspect

def inspect(path: Union[str, os.PathLike], expect: Any = None, *, dtype: Optional[str] = None,
            tensors: Optional[Sequence[str]] = None, threads: Optional[int] = None,
            window: int = DEFAULT_WINDOW) -> CheckpointReport:
    """Per-tensor statistics of a checkpoint, and the tensors that do not fit ``expect``.

    ``path``: a .safetensors file or a Hugging Face directory (``model.safetensors``, or shards
    listed by ``model.safetensors.index.json``). ``expect``: what the checkpoint was meant to
    follow -- a :class:`~weightinit.ModelSpec`, an architecture name, a spec .json file, an HF
    ``config.json`` (path, directory or dict; needs :mod:`weightinit.hf`), or ``"metadata"`` (the
    spec weightinit stored in the file). ``dtype``: the dtype every tensor should have (a
    parameter's own spec dtype wins). ``tensors``: read only these names. ``threads``: reducing
    threads (default: every usable CPU). One pass, ``window`` bytes per task, memory bounded.

    Flagged (``report.flagged``): non-finite values; and with ``expect``: wrong shape or dtype,
    a constant initializer (norm weight 1, bias 0) not exactly constant, padding rows not 0,
    std off by more than 5% plus 6 sampling standard errors (sqrt((kurtosis - 1) / 4n)
    relative), mean off by more than 5% of the std plus 6 standard errors, and tensors missing or
    unexpected.
    """
    import time

    from . import _random

    path = os.fspath(path)
    if isinstance(window, bool) or not isinstance(window, int) or window < 4096:
        raise ValueError(f"window must be an int >= 4096 (bytes), got {window!r}")
    _random._check_threads(threads)
    nthreads = threads or _random.default_threads()
    if dtype is not None:
        dtype = _random.parse_dtype(dtype).name
    only = None
    if tensors is not None:
        if isinstance(tensors, str):
            raise TypeError("tensors must be a list of names, not a str")
        only = set(tensors)
    files = _files(path)
    t0 = time.perf_counter()
    stats: Dict[str, TensorStats] = {}
    meta: Dict[str, str] = {}
    nbytes = 0
    for f in files:
        part, m, b = _scan(f, nthreads, window, only)
        meta = meta or m
        nbytes += b
        for s in part:
            stats[s.name] = s
    if only is not None:
        unknown = sorted(only - set(stats))
        if unknown:
            raise ValueError(f"tensors: not in the checkpoint: {', '.join(unknown[:5])}")
    missing: List[str] = []
    if expect is not None:
        spec = _expected_spec(expect, meta)
        for name, s in stats.items():
            if name not in spec:
                s.problems.append("unexpected: not in the expected spec")
                continue
            p = spec[name]
            rows = _zero_rows(s.file, name, p) if s.shape == p.shape else None
            _check(s, p, rows, dtype)
        if only is None:
            missing = [n for n in spec if n not in stats]
    else:
        for s in stats.values():
            if s.nonfinite:
                s.problems.append(f"{s.nonfinite} non-finite values")
    seconds = time.perf_counter() - t0
    flagged = [n for n, s in stats.items() if s.problems] + missing
    return CheckpointReport(path, stats, flagged, missing, expect is not None, nbytes, seconds)


def plot(report: CheckpointReport, out: Union[str, os.PathLike],
         tensors: Optional[Sequence[str]] = None, bins: int = 100) -> str:
    """Histograms of the flagged tensors (or ``tensors``) of ``report`` into ``out`` (PNG, or
    SVG/PDF by extension); each tensor is sampled (at most 2**20 evenly spaced elements)."""
    from .report import _pyplot

    plt = _pyplot()
    names = list(tensors) if tensors else [n for n in report.flagged if n in report.tensors]
    if not names:
        raise ValueError("nothing to plot: no tensor is flagged; choose some with tensors=")
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    for ax, name in zip(axes.ravel(), names):
        s = report.tensors[name]
        x = _sample(s)
        x = x[np.isfinite(x)]
        ax.hist(x, bins=bins, color="tab:red" if s.problems else "tab:blue")
        ax.set_title(f"{name}\n{s.dtype} {'x'.join(map(str, s.shape))}", fontsize=9)
        ax.set_xlabel(f"mean {s.mean:.3g}, std {s.std:.3g}", fontsize=8)
        if s.problems:
            ax.text(0.02, 0.97, "\n".join(s.problems)[:120], transform=ax.transAxes, va="top",
                    fontsize=7, color="tab:red", wrap=True)
    fig.tight_layout()
    fig.savefig(os.fspath(out), dpi=110)
    plt.close(fig)
    return os.fspath(out)


def _sample(s: TensorStats) -> np.ndarray:
    header, _, start = read_header(s.file)
    t = header[s.name]
    item = _ITEMSIZE[t["dtype"]]
    n = s.size
    stride = max(n // _REFERENCE, 1)
    with open(s.file, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        raw = np.frombuffer(mm, np.uint8, count=n * item, offset=start + t["data_offsets"][0])
        picked = raw.reshape(n, item)[::stride].copy().ravel()
        del raw
    return _as_float(picked, t["dtype"]).astype(np.float64)
