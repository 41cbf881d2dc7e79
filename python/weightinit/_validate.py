"""One place for the argument rules every public function shares: shapes, real numbers,
integers, thread counts, seeds and float dtypes.

Each check raises TypeError (wrong kind) or ValueError (right kind, wrong value) naming the
argument and what it accepts; none raises OverflowError (an int beyond float64 is a ValueError).
"""
from __future__ import annotations

import json
import math
import numbers
import operator
from collections.abc import Sequence
from typing import Any, Optional, Tuple

import numpy as np

__all__ = ["NumberRangeError", "BoolAsNumberError", "shape", "real", "integer", "threads", "u64",
           "FLOAT_NAMES", "FINITE_MAX", "is_float_dtype", "bfloat16", "check_fits", "json_loads"]

_U64 = 2**64
#: names of the float dtypes a fill writes
FLOAT_NAMES = ("float32", "float64", "float16", "bfloat16")
# the three NumPy-native ones: bfloat16 is recognised by name so that meeting it needs no ml_dtypes
_NATIVE = frozenset(np.dtype(t) for t in (np.float32, np.float64, np.float16))


class NumberRangeError(ValueError, OverflowError):
    """A number that does not fit a float64 (an int >= 2**1024): a ValueError naming the argument,
    and still an OverflowError for callers that caught what ``float()`` used to raise."""


class BoolAsNumberError(TypeError, ValueError):
    """A bool where a number is expected: a TypeError by this package's rule, and a ValueError as
    torch raises it (``torch.nn.init.calculate_gain("leaky_relu", True)``)."""


def shape(value: Any, argname: str = "shape", *, allow_array: bool = False) -> Tuple[int, ...]:
    """A shape as a tuple of non-negative ints: an int or a sequence of ints, or a 1-D integer
    array of sizes (``np.array([2, 3])`` is the shape (2, 3)). With ``allow_array`` (fans of a
    weight), any array or tensor stands for its own ``.shape`` instead."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{argname} must be a sequence of ints (or one int), got {type(value).__name__} {value!r}")
    own = getattr(value, "shape", None)
    if isinstance(own, tuple) and not isinstance(value, Sequence) and hasattr(value, "dtype"):  # array, tensor
        if allow_array and len(own) > 0:
            return tuple(int(d) for d in own)
        kind = getattr(getattr(value, "dtype", None), "kind", "")  # NumPy integer arrays only
        if len(own) > 1 or kind not in ("i", "u"):
            raise TypeError(
                f"{argname} must be a sequence of ints (or one int), got {type(value).__name__} of shape "
                f"{own} (to fill an existing array, call the in-place function, whose name ends with '_')")
        if len(own) == 0:
            return (_dim(value, argname),)
        return tuple(_dim(d, argname) for d in value.tolist())
    if hasattr(value, "__index__"):
        return (_dim(value, argname),)
    try:
        dims = list(value)
    except TypeError:
        raise TypeError(f"{argname} must be a sequence of ints (or one int), got {type(value).__name__} "
                        f"{value!r}") from None
    return tuple(_dim(d, argname) for d in dims)


def _dim(d: Any, argname: str) -> int:
    if isinstance(d, (bool, np.bool_)):
        raise TypeError(f"{argname} must contain ints, got bool {d!r}")
    try:
        d = operator.index(d)
    except TypeError:
        raise TypeError(f"{argname} must contain ints, got {type(d).__name__} {d!r}") from None
    if d < 0:
        raise ValueError(f"{argname} must contain non-negative sizes, got {d}")
    if d >= 2**63:  # NumPy's dimensions are int64
        raise ValueError(f"{argname} must contain sizes < 2**63, got {shown(d)}")
    return d


def shown(value: int) -> str:
    """An int for an error message: its digits, or its size in bits when it is huge (10**400)."""
    return str(value) if abs(value) < 10**30 else f"an int of {value.bit_length()} bits"


def real(value: Any, argname: str, *, lo: Optional[float] = None, lo_open: bool = False,
         hi: Optional[float] = None, hi_open: bool = False, keep_int: bool = False) -> Any:
    """A finite real number (bool refused) within optional bounds, as a Python float (an int stays
    an int with ``keep_int``, as torch keeps it). An int too large for a float64 is a ValueError."""
    if type(value) is float:
        out: Any = value
    elif isinstance(value, bool) or isinstance(value, np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{argname} must be a real number, got {type(value).__name__} {value!r}")
    else:
        try:
            f = float(value)
        except OverflowError:  # an int >= 2**1024
            size = shown(value) if isinstance(value, int) else repr(value)
            raise NumberRangeError(f"{argname} must be finite and within float64's range, got {size}") from None
        out = int(value) if keep_int and isinstance(value, numbers.Integral) else f
        value = f
    if not math.isfinite(value):
        raise ValueError(f"{argname} must be finite, got {value!r}")
    if lo is not None and (value < lo or (lo_open and value == lo)):
        raise ValueError(f"{argname} must be {'>' if lo_open else '>='} {lo}, got {value!r}")
    if hi is not None and (value > hi or (hi_open and value == hi)):
        raise ValueError(f"{argname} must be {'<' if hi_open else '<='} {hi}, got {value!r}")
    return out


def integer(value: Any, argname: str, *, lo: Optional[int] = None) -> int:
    """An int (anything with ``__index__``, bool refused), at least ``lo``."""
    if isinstance(value, (bool, np.bool_)) or not hasattr(value, "__index__"):
        raise TypeError(f"{argname} must be an int, got {type(value).__name__} {value!r}")
    value = operator.index(value)
    if lo is not None and value < lo:
        raise ValueError(f"{argname} must be >= {lo}, got {shown(value)}")
    return value


_MAX_THREADS = 2**31 - 1  # the core's C int


def threads(value: Any) -> int:
    """A thread count: None (0 to the core: its default) or an int in [1, 2**31 - 1] (the core
    caps it at its pool)."""
    if value is None:
        return 0
    if type(value) is int and 1 <= value <= _MAX_THREADS:
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"threads must be a positive int or None, got {type(value).__name__} {value!r}")
    count = int(value)
    if not 1 <= count <= _MAX_THREADS:
        raise ValueError(f"threads must be >= 1 (and <= 2**31 - 1) or None, got {shown(count)}")
    return count


def u64(value: Any, argname: str) -> int:
    """An int in [0, 2**64) (a seed, a stream id)."""
    if type(value) is int and 0 <= value < _U64:  # the common case, without ABC checks
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{argname} must be an int in [0, 2**64), got {type(value).__name__} {value!r}")
    value = int(value)
    if not 0 <= value < _U64:
        raise ValueError(f"{argname} must be an int in [0, 2**64), got {shown(value)}")
    return value


def is_float_dtype(dt: np.dtype) -> bool:
    """True for the native-order float32, float64, float16 and bfloat16 dtypes, without importing
    ml_dtypes (bfloat16 is recognised by its name and its NumPy kind)."""
    return dt in _NATIVE or (dt.name == "bfloat16" and dt.itemsize == 2 and dt.isnative)


def bfloat16() -> np.dtype:
    """ml_dtypes' bfloat16, importing ml_dtypes on first use only (it costs ~1 s to import)."""
    import ml_dtypes

    return np.dtype(ml_dtypes.bfloat16)


#: largest finite value of each output dtype
FINITE_MAX = {"float64": 1.7976931348623157e308, "float32": 3.4028234663852886e38,
              "float16": 65504.0, "bfloat16": 3.3895313892515355e38}


def check_fits(dt: np.dtype, argname: str, value: float) -> None:
    """Refuses a scale whose largest written value ``value`` would be inf in ``dt`` (checked
    before anything is written, as every fill does)."""
    limit = FINITE_MAX[dt.name]
    if not abs(value) <= limit:
        raise ValueError(f"{argname}={value:g} gives values outside the finite range of {dt.name} "
                         f"(|values| <= {limit:g})")


def json_loads(text: Any, what: str) -> Any:
    """JSON text (str or bytes) -> its value; malformed, non-UTF-8 or too deeply nested JSON is a
    one-line ValueError naming ``what`` (json's decoder recurses once per level: a file nested
    100,000 levels deep would otherwise be a RecursionError)."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"invalid JSON in {what}: {exc}") from None
    except RecursionError:
        raise ValueError(f"invalid JSON in {what}: nested too deeply") from None


_MAPS = "/proc/self/maps"


def pages_writable(lo: int, hi: int) -> Optional[bool]:
    """Whether every page of the byte range [lo, hi) is mapped writable, from the page protections
    in /proc/self/maps (Linux); None where the system does not tell (then nothing is refused).
    Costs a read of the map (~1 ms in a process with torch loaded): callers cache the answer."""
    if hi <= lo:
        return True
    try:
        with open(_MAPS, "rb") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    at = lo
    for line in lines:  # sorted by address, non-overlapping
        span, perms = line.split(b" ", 2)[:2]
        start_s, end_s = span.split(b"-")
        start, end = int(start_s, 16), int(end_s, 16)
        if end <= at:
            continue
        if start > at or perms[1:2] != b"w":  # a hole, or a page that is not writable
            return False
        at = end
        if at >= hi:
            return True
    return False
