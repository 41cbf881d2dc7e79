"""The engine that fills a model: a :class:`~weightinit.models.ModelSpec` in, arrays out.

:mod:`weightinit.models` is the spec (plain data: names, shapes, initializers); this module
fills it -- checking every parameter before the first is written (:func:`check_param`), filling
one parameter or a flat window of it (:func:`fill_param`), and :func:`init_model` for a whole
model. :mod:`weightinit.safetensors_io` and :mod:`weightinit.torch` fill through the same
functions.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from . import _random, architectures
from .fans import compute_fans
from .models import ModelSpec, Param, np_dtype
from .registry import CONSTANT_INITS, initializer

#: what every model-level function takes as its model: a spec, a built-in architecture name or a mapping
SpecLike = Union[ModelSpec, str, Mapping[str, Any]]

__all__ = ["as_spec", "available_memory", "can_window", "check_memory", "check_param", "check_target",
           "constant_value", "fill_box", "fill_param", "human_bytes", "init_model", "resolve_seed", "working_memory"]


def as_spec(spec: Any) -> ModelSpec:
    """A ModelSpec from a ModelSpec, a built-in architecture name, or a mapping (a spec's JSON
    object, or name -> Param / parameter object)."""
    if isinstance(spec, ModelSpec):
        return spec
    if isinstance(spec, str):
        return architectures.get(spec)
    if isinstance(spec, Mapping):
        if "params" in spec and isinstance(spec["params"], Mapping):
            return ModelSpec.from_dict(spec)
        return ModelSpec(spec)
    raise TypeError(f"spec must be a ModelSpec, an architecture name or a mapping, got "
                    f"{type(spec).__name__}")


def _call_kwargs(p: Param, full_shape: Tuple[int, ...], windowed: bool) -> Dict[str, Any]:
    kw = dict(p.kwargs)
    ini = initializer(p.init)
    if windowed and ini.fans and "fans" not in kw:
        axes = {k: kw[k] for k in ("in_axis", "out_axis", "batch_axis") if k in kw}
        if len(full_shape) >= 2:
            kw["fans"] = tuple(compute_fans(full_shape, **axes))
    return kw


def constant_value(p: Param) -> Any:
    """The value a constant initializer (zeros_, ones_, constant_) puts everywhere: how an integer
    tensor, which no float fill can write, is filled."""
    return {"zeros_": 0, "ones_": 1}.get(p.init, p.kwargs.get("val", 0))


def can_window(p: Param) -> bool:
    """True when ``p`` can be filled a window of its flat elements at a time (the initializer
    is element-wise in the stream: takes ``offset``, and ``fans`` if it needs them)."""
    return p.init in CONSTANT_INITS or initializer(p.init).offset


def fill_param(target: Any, p: Param, name: str, key: int, *, offset: int = 0,
               threads: Optional[int] = None) -> None:
    """Fills ``target`` with parameter ``p`` named ``name`` under seed ``key``.

    ``target`` is the whole tensor (shape ``p.shape``), or -- for :func:`can_window`
    parameters -- a 1-D window of its flat C-order elements starting at element ``offset``:
    the window gets exactly the values those elements get in a whole-tensor fill.
    """
    view = target if isinstance(target, np.ndarray) else _random.as_target(target, name)
    windowed = view.shape != p.shape or offset != 0
    if view.dtype == np.int64:
        view[...] = constant_value(p)
    elif p.init in CONSTANT_INITS:
        initializer(p.init).fn(target, **p.kwargs, threads=threads)
    else:
        ini = initializer(p.init)
        kw = _call_kwargs(p, p.shape, windowed)
        if ini.random:
            kw.update(seed=key, stream=name, threads=threads)
        if ini.offset and offset:
            kw["offset"] = offset
        ini.fn(target, **kw)
    if p.zero_rows and view.size:
        row = math.prod(p.shape[1:])
        flat = view.reshape(-1) if windowed else view.reshape(p.shape[0], -1)
        for r in p.zero_rows:
            if windowed:
                lo, hi = max(r * row, offset), min((r + 1) * row, offset + view.size)
                if lo < hi:
                    flat[lo - offset:hi - offset] = 0
            else:
                flat[r] = 0


def check_target(arr: Any, p: Param, name: str) -> None:
    view = _random.as_target(arr, name) if not (isinstance(arr, np.ndarray)
                                                and arr.dtype == np.int64) else arr
    if tuple(view.shape) != p.shape:
        raise ValueError(f"out[{name!r}] has shape {tuple(view.shape)}, the spec says {p.shape}")
    if view.dtype == np.int64 and p.init not in CONSTANT_INITS:
        raise TypeError(f"out[{name!r}] is int64; {p.init} needs a float array")
    if view.dtype == np.int64 and not view.flags.writeable:
        raise ValueError(f"out[{name!r}] is read-only")


def check_param(p: Param, name: str, dtype: np.dtype) -> None:
    """Lets the initializer validate its arguments on a zero-size box of the whole tensor (writes
    nothing, allocates nothing): every check sees the real shape -- fans, channels, units --
    as the fill will."""
    if dtype == np.int64:
        return
    ini = initializer(p.init)
    kw = dict(p.kwargs)
    if ini.random:
        kw.update(seed=0, stream=name)
    if p.shape and p.init != "orthogonal_":
        target = np.empty((0,) * len(p.shape), dtype)
        kw.update(global_shape=p.shape, start=(0,) * len(p.shape))
    else:  # orthogonal_'s checks need only the number of dims (and any box of it is size-limited)
        target = np.empty((0,) + p.shape[1:] if p.shape else (0,), dtype)
    try:
        ini.fn(target, **kw)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name} ({p.init}): {exc}") from None


# peak scratch of orthogonal_ over the target, in float64 matrices of the tensor's size: the
# normal draw, LAPACK's copy, Q, R and gain * Q (measured 5.05x with VmHWM at 4000 x 4000)
_QR_COPIES = 5


def working_memory(p: Param) -> int:
    """Bytes of memory a non-element-wise initializer needs beside its target (0 for the
    element-wise ones, which fill in place)."""
    if p.init == "orthogonal_" and len(p.shape) >= 2:
        return _QR_COPIES * 8 * math.prod(p.shape)
    if p.init == "delta_orthogonal_" and len(p.shape) >= 3:
        ia, oa = p.kwargs.get("in_axis", 1), p.kwargs.get("out_axis", 0)
        try:
            return _QR_COPIES * 8 * p.shape[ia] * p.shape[oa]
        except (IndexError, TypeError):
            return 0  # check_param names the bad axis
    return 0


def available_memory() -> Optional[int]:
    """Memory this process can still get: MemAvailable, capped by a cgroup v2 limit (None where
    the system does not tell)."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, AttributeError):
            return None
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        with open("/sys/fs/cgroup/memory.current") as f:
            used = int(f.read())
        if limit != "max":
            room = int(limit) - used
            avail = room if avail is None else min(avail, room)
    except (OSError, ValueError):
        pass
    return avail


def check_memory(spec: ModelSpec, *, available: Optional[int], resident: int = 0) -> None:
    """Raises MemoryError (one line, naming the tensor) if the largest working memory of a
    tensor's initializer plus ``resident`` bytes (arrays the caller allocates for the whole
    model) exceeds ``available`` (None: unknown, nothing refused). Checked before anything is
    allocated or written."""
    work, name = max(((working_memory(p), n) for n, p in spec.items()), default=(0, ""))
    if available is None or work + resident <= available:
        return
    beside = f" beside {human_bytes(resident)} for the model's arrays" if resident else ""
    if work:
        p = spec[name]
        raise MemoryError(f"{name} ({p.init}, shape {p.shape}) needs about {human_bytes(work)} of "
                          f"working memory (float64 QR){beside}, {human_bytes(available)} is available")
    raise MemoryError(f"the model's arrays need {human_bytes(resident)}, {human_bytes(available)} is available")


def human_bytes(n: float) -> str:
    """``n`` bytes in decimal units: "512 B", "3.1 GB"."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n} B"  # pragma: no cover


def resolve_seed(seed: Optional[int], generator: Optional[_random.Generator] = None) -> int:
    """The key of a model-level init: ``seed``, else ``generator.seed``, else the default
    generator's seed (``weightinit.initial_seed()``, so the run can be repeated)."""
    return _random.resolve(seed, 0, generator)[0]


def init_model(spec: SpecLike, seed: Optional[int] = None, dtype: _random.DTypeLike = "float32", *,
               out: Optional[Mapping[str, Any]] = None, threads: Optional[int] = None,
               generator: Optional[_random.Generator] = None, as_torch: bool = False) -> Dict[str, Any]:
    """Initializes every tensor of a model; returns ``{name: array}`` in spec order.

    ``spec`` is a :class:`ModelSpec`, a built-in architecture name (see
    :func:`weightinit.architectures.names`) or a mapping. Each parameter ``name`` is filled with
    its initializer, ``seed=seed, stream=name``: adding, removing or reordering parameters never
    changes another's values, and ``threads`` never changes any. ``dtype`` (float32, float64,
    float16, bfloat16) is the dtype of the new arrays, unless a parameter names its own.

    ``out``: a mapping with an array or CPU torch tensor for every parameter (shape as the spec;
    any supported float dtype), filled in place and returned as a dict; no new memory.
    ``seed=None`` uses ``generator``'s seed or else the default generator's
    (``weightinit.initial_seed()``). Everything -- shapes, initializer arguments, ``out`` -- is
    validated before the first tensor is written, and the memory of the new arrays plus the
    largest orthogonal_ QR is checked against the available memory before any is allocated
    (MemoryError naming the tensor).

    ``as_torch=True``: new arrays come back as CPU torch tensors sharing their memory (no copy;
    bfloat16 ones as ``torch.bfloat16``); tensors given in ``out`` are returned as they are.
    """
    if not isinstance(as_torch, bool):
        raise TypeError(f"as_torch must be True or False, got {as_torch!r}")
    spec = as_spec(spec)
    key = resolve_seed(seed, generator)
    model_dtype = _random.parse_dtype(dtype).name
    _random._check_threads(threads)
    if out is not None:
        if not isinstance(out, Mapping):
            raise TypeError(f"out must be a mapping name -> array, got {type(out).__name__}")
        missing = [n for n in spec if n not in out]
        extra = [n for n in out if n not in spec]
        if missing or extra:
            raise KeyError("out must have exactly the spec's parameters"
                           + (f"; missing: {', '.join(missing[:5])}" if missing else "")
                           + (f"; not in the spec: {', '.join(extra[:5])}" if extra else ""))
        for n, p in spec.items():
            check_target(out[n], p, n)
            arr = out[n]
            view = arr if isinstance(arr, np.ndarray) else _random.as_target(arr, n)
            check_param(p, n, view.dtype)
    else:
        for n, p in spec.items():
            check_param(p, n, np_dtype(p.dtype or model_dtype))
    check_memory(spec, available=available_memory(), resident=0 if out is not None else spec.nbytes(model_dtype))
    targets = ({n: out[n] for n in spec} if out is not None
               else {n: np.empty(p.shape, np_dtype(p.dtype or model_dtype)) for n, p in spec.items()})
    for n, p in spec.items():
        try:
            fill_param(targets[n], p, n, key, threads=threads)
        except (ValueError, TypeError) as exc:  # a check only the fill makes: name the parameter
            raise type(exc)(f"{n} ({p.init}): {exc}") from None
    if as_torch:
        return {n: _as_torch(a) for n, a in targets.items()}
    return targets


def fill_box(target: Any, p: Param, name: str, key: int, start: Tuple[int, ...], *,
             threads: Optional[int] = None) -> None:
    """Fills ``target`` (shape: the box) with the box at ``start`` of parameter ``p`` named
    ``name``: exactly the values :func:`fill_param` puts there in a whole-tensor fill (the
    initializer's box fill, ``global_shape=p.shape``; ``zero_rows`` inside the box zeroed)."""
    view = target if isinstance(target, np.ndarray) else _random.as_target(target, name)
    start = tuple(start)
    if view.shape == p.shape and not any(start):
        fill_param(target, p, name, key, threads=threads)
        return
    if view.dtype == np.int64:
        view[...] = constant_value(p)
    else:
        ini = initializer(p.init)
        kw = dict(p.kwargs)
        if ini.random:
            kw.update(seed=key, stream=name)
        if "threads" in ini.signature.parameters:
            kw["threads"] = threads
        ini.fn(target, **kw, global_shape=p.shape, start=start)
    r0 = start[0] if start else 0
    for r in p.zero_rows:
        if r0 <= r < r0 + (view.shape[0] if view.ndim else 0):
            view[r - r0] = 0


def _as_torch(a: Any) -> Any:
    """A NumPy array as a torch tensor over the same memory (bfloat16 through its int16 bits)."""
    import torch

    if not isinstance(a, np.ndarray):
        return a
    if a.dtype.name == "bfloat16":
        return torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(a)
