"""Seeds, streams, generators and the core random fills (stream format v1).

Every fill here validates all of its arguments before the first byte is written, then hands
the caller's own buffer to the C++ core, which fills it in place with the GIL released.
"""
from __future__ import annotations

import functools
import hashlib
import numbers
import secrets
import struct
import sys
import threading
import weakref
from types import ModuleType
from typing import Any, Dict, Optional, Sequence, Tuple, TypeVar, Union

import numpy as np

from . import _core
from . import _validate as _v
from ._validate import pages_writable

__all__ = [
    "Generator",
    "manual_seed",
    "initial_seed",
    "stream_id",
    "philox4x32",
    "default_threads",
    "isa",
    "random_bits_",
    "uniform_",
    "normal_",
    "trunc_normal_",
    "constant_",
    "zeros_",
    "ones_",
    "random_bits",
    "uniform",
    "normal",
    "trunc_normal",
    "constant",
    "zeros",
    "ones",
]

T = TypeVar("T")
Stream = Union[int, str]
Shape = Union[int, Sequence[int]]
DTypeLike = Any

_U64 = 2**64
_FMAX = sys.float_info.max  # -_FMAX <= v <= _FMAX holds exactly for finite floats (False for nan, inf)
_FLOAT_NAMES = ("float32", "float64", "float16", "bfloat16")
# spellings of the ML world; a bare "float" keeps NumPy's meaning (float64), torch.float is float32
DTYPE_ALIASES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16", "fp64": "float64",
                 "half": "float16", "single": "float32", "double": "float64",
                 "torch.float32": "float32", "torch.float": "float32", "torch.float16": "float16",
                 "torch.half": "float16", "torch.bfloat16": "bfloat16",
                 "torch.float64": "float64", "torch.double": "float64"}


# ---------------------------------------------------------------- seeds and streams


_check_u64 = _v.u64


def stream_id(name: Stream) -> int:
    """The 64-bit stream id of ``name``.

    An int in [0, 2**64) is its own id; a string maps to
    ``int.from_bytes(blake2b(name.encode("utf-8"), digest_size=8).digest(), "little")``,
    so a parameter named ``"layer1.weight"`` has the same stream in every program.
    """
    if type(name) is int and 0 <= name < _U64:
        return name
    if isinstance(name, str):
        digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "little")
    if isinstance(name, bool) or not isinstance(name, numbers.Integral):
        raise TypeError(f"stream must be an int in [0, 2**64) or a str, got {type(name).__name__} {name!r}")
    return _check_u64(name, "stream")


def derive_stream(stream: int, tag: str) -> int:
    """A sub-stream of ``stream`` for one of several independent draws of a scheme."""
    payload = int(stream).to_bytes(8, "little") + tag.encode("utf-8")
    return int.from_bytes(hashlib.blake2b(payload, digest_size=8).digest(), "little")


class Generator:
    """A seed plus a call counter: each call that uses it without an explicit ``stream``
    draws from its own stream, so successive fills differ but a rerun repeats them all.

    Call ``k`` (counted from 0) uses ``stream_id(f"weightinit.Generator/{k}")``. A call that
    passes ``stream=`` explicitly uses this generator's seed with that stream and does not
    advance the counter (order-independent, like model-level init by parameter name).

    >>> g = Generator(1234)
    >>> a = normal((3,), generator=g); b = normal((3,), generator=g)   # differ
    >>> g2 = Generator(1234); (normal((3,), generator=g2) == a).all()
    True
    """

    def __init__(self, seed: Optional[int] = None) -> None:
        self._seed = secrets.randbits(64) if seed is None else _check_u64(seed, "seed")
        self._calls = 0
        self._lock = threading.Lock()

    @property
    def seed(self) -> int:
        """The key of every stream this generator hands out."""
        return self._seed

    @property
    def calls(self) -> int:
        """How many streams this generator has handed out."""
        return self._calls

    def next_stream(self) -> int:
        """Hands out the stream of the next call and advances the counter."""
        with self._lock:
            k = self._calls
            self._calls += 1
        # == stream_id(f"weightinit.Generator/{k}"): the hash of the fixed prefix is copied
        # rather than recomputed (a third of the cost of a call that draws from a generator).
        h = _GENERATOR_PREFIX.copy()
        h.update(str(k).encode("ascii"))
        return int.from_bytes(h.digest(), "little")

    def manual_seed(self, seed: int) -> "Generator":
        """Restarts this generator at ``seed`` with its counter at 0."""
        seed = _check_u64(seed, "seed")
        with self._lock:
            self._seed = seed
            self._calls = 0
        return self

    def __repr__(self) -> str:
        return f"weightinit.Generator(seed={self._seed}, calls={self._calls})"


_GENERATOR_PREFIX = hashlib.blake2b(b"weightinit.Generator/", digest_size=8)  # only ever copied

_default_lock = threading.Lock()
_default_generator: Optional[Generator] = None


def default_generator() -> Generator:
    """The process-wide generator behind every call with neither ``seed`` nor ``generator``;
    seeded from OS entropy on first use unless :func:`manual_seed` was called."""
    global _default_generator
    gen = _default_generator  # one atomic read: once set, it is only ever replaced, never unset
    if gen is not None:
        return gen
    with _default_lock:
        if _default_generator is None:
            _default_generator = Generator(None)
        return _default_generator


def manual_seed(seed: int) -> Generator:
    """Reseeds the default generator (like ``torch.manual_seed``) and returns it."""
    global _default_generator
    seed = _check_u64(seed, "seed")
    with _default_lock:
        _default_generator = Generator(seed)
        return _default_generator


def initial_seed() -> int:
    """The seed of the default generator: print it, and ``manual_seed`` it to repeat a run."""
    return default_generator().seed


def resolve(seed: Optional[int], stream: Optional[Stream], generator: Optional[Generator]) -> Tuple[int, int]:
    """(key, stream id) of one call, per the rules in the README's "Reproducibility" section."""
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(f"generator must be a weightinit.Generator or None, got {type(generator).__name__}")
    if seed is not None:
        if generator is not None:
            raise TypeError("pass either seed or generator, not both")
        key = _check_u64(seed, "seed")
        return key, (0 if stream is None else stream_id(stream))
    gen = generator if generator is not None else default_generator()
    if stream is None:
        return gen.seed, gen.next_stream()
    return gen.seed, stream_id(stream)


def philox4x32(counter: Sequence[int], key: Sequence[int]) -> Tuple[int, int, int, int]:
    """Philox4x32-10 (Salmon et al., SC'11) of one 4-word counter under a 2-word key."""
    counter, key = list(counter), list(key)
    if len(counter) != 4:
        raise ValueError(f"counter must have 4 words, got {len(counter)}")
    if len(key) != 2:
        raise ValueError(f"key must have 2 words, got {len(key)}")
    for name, words in (("counter", counter), ("key", key)):
        for w in words:
            if isinstance(w, bool) or not isinstance(w, numbers.Integral) or not 0 <= int(w) < 2**32:
                raise ValueError(f"{name} words must be ints in [0, 2**32), got {w!r}")
    return _core.philox4x32([int(w) for w in counter], [int(w) for w in key])


def default_threads() -> int:
    """Threads a fill uses by default: $WEIGHTINIT_NUM_THREADS, else this process's usable CPUs."""
    return int(_core.default_threads())


def isa() -> str:
    """The kernel set in use: ``"avx2"`` or ``"portable"`` (force the latter with WEIGHTINIT_ISA=portable)."""
    return str(_core.isa())


# ---------------------------------------------------------------- arrays


def dtype_name(dtype: DTypeLike, name: str = "dtype") -> str:
    """The name ("float32", "float64", "float16" or "bfloat16") of a float dtype, of its
    :data:`DTYPE_ALIASES` spellings or of torch's dtype objects; never imports ml_dtypes."""
    if type(dtype).__module__ == "torch":
        dtype = str(dtype)  # torch.bfloat16 -> "torch.bfloat16"
    if isinstance(dtype, str):
        dtype = DTYPE_ALIASES.get(dtype.lower(), dtype)
        if dtype == "bfloat16":
            return dtype
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"{name} must be one of {', '.join(_FLOAT_NAMES)}, got {dtype!r}") from exc
    if dt.name not in _FLOAT_NAMES:
        raise TypeError(f"{name} must be one of {', '.join(_FLOAT_NAMES)}, got {dt.name}")
    return dt.name


#: bytes per element of each float dtype, known without importing ml_dtypes
ITEMSIZE = {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2}


def parse_dtype(dtype: DTypeLike, name: str = "dtype") -> np.dtype:
    """float32, float64, float16 or bfloat16 as a NumPy dtype (bfloat16 from ml_dtypes, imported
    here on first use); also their :data:`DTYPE_ALIASES` and torch's dtype objects."""
    if isinstance(dtype, np.dtype) and _v.is_float_dtype(dtype):
        return dtype
    dt_name = dtype_name(dtype, name)
    return _v.bfloat16() if dt_name == "bfloat16" else np.dtype(dt_name)


def _torch_view(x: Any) -> Optional[np.ndarray]:
    """A NumPy array sharing a CPU torch tensor's memory, or None if x is not a tensor."""
    mod = type(x).__module__
    if not (mod.startswith("torch") and hasattr(x, "data_ptr") and hasattr(x, "dtype")):
        return None
    import torch

    if not isinstance(x, torch.Tensor):
        return None
    if x.device.type != "cpu":
        raise ValueError(f"tensor must be on the CPU, got device {x.device}")
    if x.layout != torch.strided or x.is_quantized or getattr(x, "is_nested", False):
        raise TypeError(f"tensor must be a dense (strided) tensor, got layout {x.layout}"
                        f"{' (nested)' if getattr(x, 'is_nested', False) else ''}")
    if x.is_neg() or x.is_conj():  # the memory holds -x (or conj x): a fill there would read back negated
        raise ValueError("tensor is a lazily negated or conjugated view (torch._neg_view / .conj()); "
                         "fill the tensor it views, or x.resolve_neg() / x.resolve_conj()")
    _check_pages(x)
    t = x.detach()
    if t.dtype == torch.bfloat16:
        import ml_dtypes

        # Shares memory: torch reinterprets the bits as int16, NumPy reads them as bfloat16.
        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    names = {torch.float32: "float32", torch.float64: "float64", torch.float16: "float16"}
    if t.dtype not in names:
        raise TypeError(f"tensor must have dtype float32, float64, float16 or bfloat16, got {t.dtype}")
    return t.numpy()


_U32 = np.dtype(np.uint32)
# id(storage) -> page check of a torch storage seen before (dropped when the storage dies): the
# memory of a live storage is not remapped under it, and reading /proc/self/maps costs ~1 ms.
_WRITABLE_STORAGES: Dict[int, "weakref.ref[Any]"] = {}


def _forget_storage(key: int, _: Any) -> None:
    """The weakref callback of a storage in _WRITABLE_STORAGES: its id may be reused."""
    _WRITABLE_STORAGES.pop(key, None)


def _check_pages(x: Any) -> None:
    """Refuses a CPU tensor over read-only pages (``torch.from_numpy(np.load(f, mmap_mode="r"))``),
    which NumPy would refuse as read-only and a write would crash on (SIGSEGV)."""
    storage = x.untyped_storage()
    key = id(storage)
    if key in _WRITABLE_STORAGES:
        return
    lo = storage.data_ptr()
    if pages_writable(lo, lo + storage.nbytes()) is False:
        raise ValueError("tensor is read-only (its memory is mapped without write permission, e.g. "
                         "np.load(..., mmap_mode='r')); fill a writable copy")
    try:
        _WRITABLE_STORAGES[key] = weakref.ref(storage, functools.partial(_forget_storage, key))
    except TypeError:  # a storage without weak references: checked on every call
        pass


def as_target(x: Any, argname: str = "tensor", *, bits: bool = False) -> np.ndarray:
    """The writable NumPy view the core fills in place for ``x`` (an ndarray or a CPU tensor).

    Never copies: anything that is not already an array sharing the caller's memory is
    refused, so the values cannot land in a temporary."""
    arr: Optional[np.ndarray]
    if type(x) is np.ndarray:
        arr = x
    else:
        arr = _torch_view(x)
        if arr is None:
            if not isinstance(x, np.ndarray):
                raise TypeError(
                    f"{argname} must be a numpy.ndarray or a CPU torch.Tensor (filled in place), "
                    f"got {type(x).__name__}"
                )
            arr = x
    dt = arr.dtype
    if not (dt == _U32 if bits else _v.is_float_dtype(dt)):
        if dt.byteorder == (">" if np.little_endian else "<"):
            raise ValueError(f"{argname} must be in native byte order, got {dt}")
        wanted = "uint32 for random bits" if bits else "float32, float64, float16 or bfloat16"
        raise TypeError(f"{argname} must have dtype {wanted}, got {dt}")
    if not arr.flags.writeable:
        raise ValueError(f"{argname} is read-only")
    if 0 in arr.strides and arr.size > 1 and any(s == 0 and n > 1 for s, n in zip(arr.strides, arr.shape)):
        raise ValueError(f"{argname} has overlapping elements (a zero stride); fill the base array instead")
    return arr


def _box() -> ModuleType:
    from . import _box as box  # imported on first use: _box builds on this module

    return box


_check_threads = _v.threads


def _check_offset(offset: int, size: int) -> int:
    if type(offset) is int and offset == 0:
        return 0
    if isinstance(offset, bool) or not isinstance(offset, numbers.Integral):
        raise TypeError(f"offset must be a non-negative int, got {type(offset).__name__}")
    offset = int(offset)
    if offset < 0:
        raise ValueError(f"offset must be >= 0, got {_v.shown(offset)}")
    if offset + size > _U64:
        raise ValueError(f"offset + size must be <= 2**64, got {_v.shown(offset)} + {size}")
    return offset


def _check_real(value: Any, name: str) -> float:
    return _v.real(value, name)


def _check_std(std: Any) -> float:
    std = _check_real(std, "std")
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}")
    return std


def _check_bounds(a: Any, b: Any, names: Tuple[str, str] = ("a", "b")) -> Tuple[float, float]:
    a = _check_real(a, names[0])
    b = _check_real(b, names[1])
    if a > b:
        raise ValueError(f"{names[0]} must be <= {names[1]}, got {names[0]}={a}, {names[1]}={b}")
    return a, b


# Largest finite value of each output dtype. float16 and bfloat16 are computed in float32, so
# their spans (b - a) must also be finite in float32.
_FINITE_MAX = _v.FINITE_MAX


def _limits(dt: np.dtype) -> Tuple[float, float]:
    return _FINITE_MAX[dt.name], _FINITE_MAX["float64" if dt.name == "float64" else "float32"]


# dtype -> (largest finite value, largest span of its arithmetic), for the float dtypes met so far
# (keyed by the dtype itself: it hashes fast, dtype.name is slow). A dtype that compares unequal
# to these (non-native byte order) is not a key, so a lookup also checks the dtype. bfloat16 joins
# when first met, so that recognising it never imports ml_dtypes.
_LIMITS = {np.dtype(t): _limits(np.dtype(t)) for t in (np.float32, np.float64, np.float16)}


def _check_representable(dt: np.dtype, values: Tuple[Tuple[str, float], ...], span: Optional[float] = None) -> None:
    lims = _LIMITS.get(dt)
    if lims is None:
        lims = _LIMITS[dt] = _limits(dt)
    limit, span_limit = lims
    for name, v in values:
        if abs(v) > limit:
            raise ValueError(f"{name}={v} is outside the finite range of {dt.name} (|{name}| <= {limit:g})")
    if span is not None and span > span_limit:
        arith = "float64" if dt.name == "float64" else "float32"
        raise ValueError(f"b - a = {span} overflows the {arith} arithmetic of a {dt.name} fill")


_UNIFORM, _NORMAL, _TRUNC_NORMAL = 0, 1, 2  # the fills with a fast path


def _fast_fill(kind: int, tensor: Any, seed: Any, stream: Any, offset: Any, threads: Any, generator: Any,
               p: Any, q: Any, a: Any = 0.0, b: Any = 0.0) -> bool:
    """The one fast path of uniform_ (``p, q`` = a, b), normal_ (``p, q`` = mean, std) and
    trunc_normal_ (mean, std, a, b), for the common call on an exact ``np.ndarray``: ``seed`` an
    int, or None with or without a ``Generator``; ``stream``, ``offset`` and ``threads`` at their
    defaults; the array writeable, aligned and C-contiguous (hence no zero stride) of a native float
    dtype met before; the parameters Python floats in the range the general path accepts (plain
    comparisons: False for nan and inf). Then it fills and returns True; else it returns False
    having changed nothing (not even the generator), and the general path, which raises the
    errors, runs. The two paths accept the same calls and write the same values. (One function
    with a switch rather than a callback per fill: a Python call costs ~10% of a small fill.)"""
    if (type(tensor) is np.ndarray and type(p) is float and type(q) is float and stream is None
            and threads is None and type(offset) is int and offset == 0
            and (type(seed) is int and generator is None and 0 <= seed < _U64
                 or seed is None and (generator is None or type(generator) is Generator))):
        lim = _LIMITS.get(tensor.dtype)
        if lim is None or not tensor.flags.carray:
            return False
        top = lim[0]
        if kind == _UNIFORM:
            if not (-top <= p <= q <= top and q - p <= lim[1]):
                return False
        elif not (-top <= p <= top and 0.0 <= q <= top):
            return False
        elif kind == _TRUNC_NORMAL and not (type(a) is float and type(b) is float and -_FMAX <= a <= b <= _FMAX):
            return False
        key, sid = (seed, 0) if seed is not None else resolve(None, None, generator)
        if kind == _UNIFORM:
            _core.fill_uniform(tensor, key, sid, 0, p, q, 0)
        elif kind == _NORMAL:
            _core.fill_normal(tensor, key, sid, 0, p, q, 0)
        else:
            _core.fill_trunc_normal(tensor, key, sid, 0, p, q, a, b, 0)
        return True
    return False


def _prepare(x: Any, seed: Any, stream: Any, offset: Any, threads: Any, generator: Any, bits: bool = False,
             values: Tuple[Tuple[str, float], ...] = (),
             span: Optional[float] = None) -> Tuple[np.ndarray, int, int, int, int]:
    """Validates the target and the randomness of one fill; returns (array, key, stream, offset, threads).
    The generator advances only after everything else has been checked."""
    arr = as_target(x, bits=bits)
    if values:
        _check_representable(arr.dtype, values, span)
    offset = _check_offset(offset, arr.size)
    threads = _check_threads(threads)
    if seed is not None and generator is None:
        return arr, _check_u64(seed, "seed"), (0 if stream is None else stream_id(stream)), offset, threads
    if stream is not None:
        stream_id(stream)  # type check before a generator advances
    key, sid = resolve(seed, stream, generator)
    return arr, key, sid, offset, threads


def random_bits_(
    tensor: T,
    *,
    seed: Optional[int] = None,
    stream: Optional[Stream] = None,
    offset: int = 0,
    threads: Optional[int] = None,
    generator: Optional[Generator] = None,
    global_shape: Optional[Sequence[int]] = None,
    start: Optional[Sequence[int]] = None,
) -> T:
    """Fills a uint32 array with the raw words of the stream: element i is word offset + i.

    With ``global_shape`` and ``start`` the array is the box at ``start`` of a larger tensor: element
    idx gets word ``offset + ravel(start + idx, global_shape)`` (see the README's "Boxes of a
    global tensor"); likewise for every in-place function.
    """
    if global_shape is not None or start is not None:  # a box of a larger tensor: _box.py
        return _box().fill_random_box(tensor, "bits", (), seed, stream, offset, threads, generator,
                                      global_shape, start)
    _core.fill_bits(*_prepare(tensor, seed, stream, offset, threads, generator, bits=True))
    return tensor


def uniform_(
    tensor: T,
    a: float = 0.0,
    b: float = 1.0,
    *,
    seed: Optional[int] = None,
    stream: Optional[Stream] = None,
    offset: int = 0,
    threads: Optional[int] = None,
    generator: Optional[Generator] = None,
    global_shape: Optional[Sequence[int]] = None,
    start: Optional[Sequence[int]] = None,
) -> T:
    """Fills ``tensor`` with U[a, b): ``a + (b - a) * u`` (torch.nn.init.uniform_).

    float32: u = (w >> 8) * 2**-24 from one word; float64: 53 bits from two words; float16 and
    bfloat16 get the float32 value rounded to nearest even.
    """
    if global_shape is not None or start is not None:  # a box of a larger tensor: _box.py
        a, b = _check_bounds(a, b)
        return _box().fill_random_box(tensor, "uniform", (a, b), seed, stream, offset, threads, generator,
                                      global_shape, start)
    if _fast_fill(_UNIFORM, tensor, seed, stream, offset, threads, generator, a, b):
        return tensor
    a, b = _check_bounds(a, b)
    arr, key, sid, offset, threads = _prepare(tensor, seed, stream, offset, threads, generator,
                                              values=(("a", a), ("b", b)), span=b - a)
    _core.fill_uniform(arr, key, sid, offset, a, b, threads)
    return tensor


def normal_(
    tensor: T,
    mean: float = 0.0,
    std: float = 1.0,
    *,
    seed: Optional[int] = None,
    stream: Optional[Stream] = None,
    offset: int = 0,
    threads: Optional[int] = None,
    generator: Optional[Generator] = None,
    global_shape: Optional[Sequence[int]] = None,
    start: Optional[Sequence[int]] = None,
) -> T:
    """Fills ``tensor`` with N(mean, std**2) by Box-Muller (torch.nn.init.normal_)."""
    if global_shape is not None or start is not None:  # a box of a larger tensor: _box.py
        params = (_check_real(mean, "mean"), _check_std(std))
        return _box().fill_random_box(tensor, "normal", params, seed, stream, offset, threads, generator,
                                      global_shape, start)
    if _fast_fill(_NORMAL, tensor, seed, stream, offset, threads, generator, mean, std):
        return tensor
    mean = _check_real(mean, "mean")
    std = _check_std(std)
    arr, key, sid, offset, threads = _prepare(tensor, seed, stream, offset, threads, generator,
                                              values=(("mean", mean), ("std", std)))
    _core.fill_normal(arr, key, sid, offset, mean, std, threads)
    return tensor


def trunc_normal_(
    tensor: T,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    *,
    seed: Optional[int] = None,
    stream: Optional[Stream] = None,
    offset: int = 0,
    threads: Optional[int] = None,
    generator: Optional[Generator] = None,
    global_shape: Optional[Sequence[int]] = None,
    start: Optional[Sequence[int]] = None,
) -> T:
    """Fills ``tensor`` with N(mean, std**2) truncated to [a, b] (a, b absolute, as in
    torch.nn.init.trunc_normal_), by inverse CDF: one uniform per element, no rejection.

    x = Phi^-1(Phi(alpha) + u' (Phi(beta) - Phi(alpha))) with alpha = (a - mean) / std, beta =
    (b - mean) / std, computed from both tails so no value lies beyond the quantile of the
    extreme uniforms (about 5.4 std in float32) even when [a, b] is wide against std.
    """
    if global_shape is not None or start is not None:  # a box of a larger tensor: _box.py
        params = (_check_real(mean, "mean"), _check_std(std)) + _check_bounds(a, b)
        return _box().fill_random_box(tensor, "trunc_normal", params, seed, stream, offset, threads,
                                      generator, global_shape, start)
    if _fast_fill(_TRUNC_NORMAL, tensor, seed, stream, offset, threads, generator, mean, std, a, b):
        return tensor
    mean = _check_real(mean, "mean")
    std = _check_std(std)
    a, b = _check_bounds(a, b)
    arr, key, sid, offset, threads = _prepare(tensor, seed, stream, offset, threads, generator,
                                              values=(("mean", mean), ("std", std)))
    _core.fill_trunc_normal(arr, key, sid, offset, mean, std, a, b, threads)
    return tensor


# float32 and float64 values as bytes without a NumPy scalar: the same C cast as NumPy's (round to
# nearest even, nan kept with its payload) but OverflowError where NumPy would give inf. float16 and
# bfloat16 are left to NumPy (struct's float16 drops nan payloads; it has no bfloat16).
_PACK = {np.dtype(np.float32): struct.Struct("=f").pack, np.dtype(np.float64): struct.Struct("=d").pack}


def constant_(tensor: T, val: float, *, threads: Optional[int] = None,
              global_shape: Optional[Sequence[int]] = None, start: Optional[Sequence[int]] = None) -> T:
    """Fills ``tensor`` with ``val`` (converted to its dtype as NumPy assignment would).

    ``global_shape`` and ``start`` (a box of a larger tensor) are checked; the values do not
    depend on them."""
    if global_shape is not None or start is not None:
        _box().check_box(as_target(tensor).shape, global_shape, start)
    x: object = tensor  # mypy narrows an object, not a TypeVar, by type(x) is
    if type(x) is np.ndarray and threads is None and (type(val) is float or type(val) is int):
        pack = _PACK.get(x.dtype)  # the common call: as the general path, a few us sooner
        if pack is not None and x.flags.carray:  # see _fast_fill
            try:
                value = pack(float(val))
            except OverflowError:  # out of the dtype's range: the general path casts it (to inf)
                pass
            else:
                _core.fill_constant(x, value, 0)
                return tensor
    arr = as_target(tensor)
    if isinstance(val, bool) or not isinstance(val, numbers.Real):
        raise TypeError(f"val must be a real number, got {type(val).__name__} {val!r}")
    nthreads = _check_threads(threads)
    if isinstance(val, numbers.Integral):
        val = _v.real(val, "val")  # an int beyond float64 is a ValueError, not an OverflowError
    value = np.array(val, dtype=np.float64).astype(arr.dtype).tobytes()
    _core.fill_constant(arr, value, nthreads)
    return tensor


def zeros_(tensor: T, *, threads: Optional[int] = None, global_shape: Optional[Sequence[int]] = None,
           start: Optional[Sequence[int]] = None) -> T:
    """Fills ``tensor`` with 0."""
    return constant_(tensor, 0.0, threads=threads, global_shape=global_shape, start=start)


def ones_(tensor: T, *, threads: Optional[int] = None, global_shape: Optional[Sequence[int]] = None,
          start: Optional[Sequence[int]] = None) -> T:
    """Fills ``tensor`` with 1."""
    return constant_(tensor, 1.0, threads=threads, global_shape=global_shape, start=start)


# ---------------------------------------------------------------- allocating twins


def _shape(shape: Shape) -> Tuple[int, ...]:
    return _v.shape(shape, "shape")


def _alloc(shape: Shape, dt: np.dtype) -> np.ndarray:
    dims = _shape(shape)
    try:
        return np.empty(dims, dtype=dt)
    except ValueError as exc:  # NumPy's "array is too big": more bytes than an address space
        raise ValueError(f"shape {dims} is too large for one {dt.name} array ({exc})") from None


def empty(shape: Shape, dtype: DTypeLike = "float32") -> np.ndarray:
    """An uninitialized C-contiguous array of a supported float dtype."""
    return _alloc(shape, parse_dtype(dtype))


def random_bits(shape: Shape, **kw: Any) -> np.ndarray:
    """A new uint32 array of stream words; keywords as :func:`random_bits_`."""
    return random_bits_(_alloc(shape, _U32), **kw)


def uniform(shape: Shape, a: float = 0.0, b: float = 1.0, *, dtype: DTypeLike = "float32", **kw: Any) -> np.ndarray:
    """A new array of U[a, b); keywords as :func:`uniform_`."""
    return uniform_(empty(shape, dtype), a, b, **kw)


def normal(shape: Shape, mean: float = 0.0, std: float = 1.0, *, dtype: DTypeLike = "float32", **kw: Any) -> np.ndarray:
    """A new array of N(mean, std**2); keywords as :func:`normal_`."""
    return normal_(empty(shape, dtype), mean, std, **kw)


def trunc_normal(
    shape: Shape,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    *,
    dtype: DTypeLike = "float32",
    **kw: Any,
) -> np.ndarray:
    """A new array of N(mean, std**2) truncated to [a, b]; keywords as :func:`trunc_normal_`."""
    return trunc_normal_(empty(shape, dtype), mean, std, a, b, **kw)


def constant(shape: Shape, val: float, *, dtype: DTypeLike = "float32", threads: Optional[int] = None) -> np.ndarray:
    """A new array filled with ``val``."""
    return constant_(empty(shape, dtype), val, threads=threads)


def zeros(shape: Shape, *, dtype: DTypeLike = "float32", threads: Optional[int] = None) -> np.ndarray:
    """A new array of zeros."""
    return constant(shape, 0.0, dtype=dtype, threads=threads)


def ones(shape: Shape, *, dtype: DTypeLike = "float32", threads: Optional[int] = None) -> np.ndarray:
    """A new array of ones."""
    return constant(shape, 1.0, dtype=dtype, threads=threads)
