"""Run a module's own init code on weightinit's fills: :func:`accelerate`.

Inside ``with accelerate(module, seed=s):`` every random fill that init code makes on a
parameter or buffer of ``module`` -- ``torch.nn.init.uniform_`` / ``normal_`` /
``trunc_normal_`` / ``kaiming_uniform_`` / ``kaiming_normal_`` / ``xavier_*`` / ``orthogonal_``
/ ``sparse_``'s values, and the tensor methods ``Tensor.uniform_`` / ``Tensor.normal_`` that
hand-written code calls -- is drawn by weightinit from ``seed=s, stream=<the tensor's
state-dict name>``, with the distribution torch's call would give (torch's own arithmetic for
bounds and fans: the torch.nn.init functions that do not dispatch run as written and reach the
tensor methods). Deterministic writes (``zero_``, ``fill_``, ``copy_``, ``constant_``, ...) and
everything else run in torch untouched. So the values depend on (seed, name, element) only: the
same for any thread count and for meta- or CPU-built modules.

A tensor is recognised as a member by its storage and position (data pointer, shape, strides),
not by identity, so ``p.data``, ``p.detach()`` and views of part of ``p`` are seen: a view that is
a contiguous run of the flat parameter is filled with ``offset=``, another box with
``global_shape=`` / ``start=``, and any other view by filling the whole tensor's values into a
temporary and copying the view's elements -- each element gets exactly the value it gets in a
whole-tensor fill. Members on CUDA or of integer dtype pass through to torch (one warning).
"""

from __future__ import annotations

import sys
import warnings
from types import FrameType
from typing import Any, Dict, List, Optional, Set, Tuple

import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode

from .. import _random
from ..build import resolve_seed

__all__ = ["accelerate", "Accelerator"]

_T = torch.Tensor
_FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
# torch.nn.init functions that dispatch to modes themselves (has_torch_function): handled here
_INIT = torch.nn.init
_ORTHOGONAL_CODE = _INIT.orthogonal_.__code__
_ORIGINAL_TRUNC = _INIT._no_grad_trunc_normal_
# random fills weightinit does not carry out: torch's generator draws them, not (seed, name)
_TORCH_RANDOM = frozenset(getattr(_T, n) for n in (
    "random_", "bernoulli_", "exponential_", "geometric_", "cauchy_", "log_normal_"))

_active: List["Accelerator"] = []  # innermost last; read by the trunc_normal_ hook


class _Member:
    __slots__ = ("name", "tensor", "ptr", "shape", "stride", "storage", "persistent")

    def __init__(self, name: str, t: Any, persistent: bool):
        self.name, self.tensor, self.persistent = name, t, persistent
        self.ptr, self.shape, self.stride = t.data_ptr(), tuple(t.shape), tuple(t.stride())
        self.storage = t.untyped_storage().data_ptr()


def _storage_ptr(t: Any) -> Optional[int]:
    try:
        return t.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError):  # tensors without storage (meta, functional)
        return None


def _tie_groups(module: Any) -> List[List[str]]:
    """Names under which one Parameter object appears more than once (tied weights)."""
    seen: Dict[int, List[str]] = {}
    for n, p in module.named_parameters(remove_duplicate=False):
        seen.setdefault(id(p), []).append(n)
    return [g for g in seen.values() if len(g) > 1]


def _retie(module: Any, groups: List[List[str]]) -> None:
    for first, *rest in groups:
        p = module.get_parameter(first)
        for n in rest:
            owner, _, attr = n.rpartition(".")
            setattr(module.get_submodule(owner) if owner else module, attr, p)


def transient_buffers(module: Any) -> List[str]:
    """The names of ``module``'s non-persistent buffers (not in its state dict)."""
    return [f"{mname}.{b}" if mname else b for mname, m in module.named_modules()
            for b in m._non_persistent_buffers_set if m._buffers.get(b) is not None]


def materialize(module: Any) -> List[str]:
    """``module.to_empty(device="cpu")`` keeping tied parameters tied; returns the names of its
    non-persistent buffers (their memory is garbage until init code recomputes them)."""
    groups = _tie_groups(module)
    transient = transient_buffers(module)
    module.to_empty(device="cpu")
    _retie(module, groups)
    return transient


class Accelerator(TorchFunctionMode):
    """The mode behind :func:`accelerate` (see there); ``written`` holds the names of the
    members that init code wrote while it was active."""

    def __init__(self, module: Any, seed: Optional[int] = None, *, threads: Optional[int] = None,
                 generator: Any = None, check: bool = True):
        super().__init__()
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        self.key = resolve_seed(seed, generator)
        _random._check_threads(threads)
        self.module, self.threads, self.check = module, threads, check
        self.written: Set[str] = set()
        self.transient: List[str] = []
        self._warned = False
        self._members: Dict[int, List[_Member]] = {}

    # ---- members -------------------------------------------------------------------------
    def _index(self) -> None:
        self._members = {}
        persistent = {n for n in self.module.state_dict(keep_vars=True)}
        named = list(self.module.named_parameters()) + [
            (n, b) for n, b in self.module.named_buffers() if b is not None]
        for n, t in named:
            sp = _storage_ptr(t) if t.device.type != "meta" else None
            if sp is None:
                continue
            self._members.setdefault(sp, []).append(_Member(n, t, n in persistent))

    def _find(self, t: Any) -> Optional[_Member]:
        if not isinstance(t, _T) or t.device.type == "meta":
            return None
        sp = _storage_ptr(t)
        for m in self._members.get(sp, ()) if sp is not None else ():
            lo = m.ptr
            hi = lo + m.tensor.numel() * m.tensor.element_size()
            if lo <= t.data_ptr() < hi or (t.numel() == 0 and lo <= t.data_ptr() <= hi):
                return m
        return None

    def __enter__(self) -> "Accelerator":
        if any(t.device.type == "meta" for t in
               list(self.module.parameters()) + list(self.module.buffers())):
            self.transient = materialize(self.module)
        obj: Any  # a module, parameter or buffer
        for m in self.module.modules():  # transformers skips modules and tensors it flagged done
            for obj in [m] + list(m.parameters(recurse=False)) + list(m.buffers(recurse=False)):
                if getattr(obj, "_is_hf_initialized", False):
                    obj._is_hf_initialized = False
        self._index()
        super().__enter__()
        _active.append(self)
        if len(_active) == 1:
            _INIT._no_grad_trunc_normal_ = _trunc_hook
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        _active.remove(self)
        if not _active:
            _INIT._no_grad_trunc_normal_ = _ORIGINAL_TRUNC
        super().__exit__(exc_type, exc, tb)
        if exc_type is None and self.check and self.transient:
            missing = [n for n in self.transient if n not in self.written]
            if missing:
                raise RuntimeError(
                    f"non-persistent buffers {', '.join(missing)} hold uninitialized memory after "
                    "to_empty() and the init code run under accelerate() did not recompute them; "
                    "build the module on the CPU, or set them after the init code")

    # ---- fills ---------------------------------------------------------------------------
    def _usable(self, m: _Member, t: Any) -> bool:
        if t.device.type == "cpu" and t.dtype in _FLOATS:
            return True
        self._warn(f"accelerate(): {m.name!r} is a {t.dtype} tensor on {t.device}; its "
                   "fills pass through to torch")
        return False

    def _warn(self, message: str, stacklevel: int = 4) -> None:
        if not self._warned:  # one warning per accelerate() block, not one per tensor
            self._warned = True
            warnings.warn(message, UserWarning, stacklevel=stacklevel)

    def fill(self, m: _Member, t: Any, kind: str, *params: float) -> Any:
        """Fills ``t`` (``m.tensor`` or a view of it) with ``kind`` ("uniform", "normal",
        "trunc_normal") as element-for-element the same values as the whole member gets."""
        fn = getattr(_random, kind + "_")
        rk = dict(seed=self.key, stream=m.name, threads=self.threads)
        t = t.detach()
        d = (t.data_ptr() - m.ptr) // t.element_size()
        whole = m.tensor.is_contiguous()
        if tuple(t.shape) == m.shape and tuple(t.stride()) == m.stride and d == 0:
            fn(t, *params, **rk)
        elif whole and t.is_contiguous():  # a run of the flat parameter
            fn(t, *params, offset=d, **rk)
        elif whole and t.dim() == len(m.shape) and tuple(t.stride()) == m.stride:
            start, rem = [], d  # a box: unravel the element offset along the member's strides
            for s in m.stride:
                start.append(rem // s if s else 0)
                rem -= start[-1] * s
            fn(t, *params, global_shape=m.shape, start=start, **rk)
        else:  # any other view: the whole tensor's values through a temporary of its layout
            tmp = torch.empty_strided(m.shape, m.stride, dtype=t.dtype)
            fn(tmp, *params, **rk)
            t.copy_(tmp.as_strided(t.shape, t.stride(), d))
        self.written.add(m.name)
        return t

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        t = args[0] if args else kwargs.get("tensor", kwargs.get("input"))
        m = self._find(t) if isinstance(t, _T) else None
        if m is None:
            if func is _T.normal_ and isinstance(t, _T):
                m = _orthogonal_target(self)  # torch.nn.init.orthogonal_'s draw
                if m is not None and t.dtype in _FLOATS and t.device.type == "cpu":
                    mean, std = _args(args, kwargs, ("mean", 0.0), ("std", 1.0))
                    with torch.no_grad():
                        _random.normal_(t, mean, std, seed=self.key, stream=m.name,
                                        threads=self.threads)
                    return t
            return func(*args, **kwargs)
        if func in (_T.uniform_, _INIT.uniform_) and self._usable(m, t):
            a, b = _args(args, kwargs, ("from", "a", 0.0), ("to", "b", 1.0))
            with torch.no_grad():
                return self.fill(m, t, "uniform", a, b)
        if func in (_T.normal_, _INIT.normal_) and self._usable(m, t):
            mean, std = _args(args, kwargs, ("mean", 0.0), ("std", 1.0))
            with torch.no_grad():
                return self.fill(m, t, "normal", mean, std)
        if func is _INIT.kaiming_uniform_ and self._usable(m, t) and t.numel():
            a, mode, nl = _args(args, kwargs, ("a", 0.0), ("mode", "fan_in"),
                                ("nonlinearity", "leaky_relu"))
            # torch's own arithmetic: gain / sqrt(fan), times sqrt(3)
            fan = _INIT._calculate_correct_fan(t, mode)
            bound = 3.0 ** 0.5 * (_INIT.calculate_gain(nl, a) / fan ** 0.5)
            with torch.no_grad():
                return self.fill(m, t, "uniform", -bound, bound)
        if func in _TORCH_RANDOM:
            self._warn(f"accelerate(): {func.__name__} on {m.name!r} passes through to torch's "
                       "generator; its values do not follow seed= and differ between meta- and "
                       "CPU-built modules", stacklevel=3)
        name = getattr(func, "__name__", "")
        if name == "__setitem__" or (name.endswith("_") and not name.startswith("__")):
            self.written.add(m.name)  # an in-place write (zero_, copy_, constant_, ...): torch's
        return func(*args, **kwargs)


def _args(args: Any, kwargs: Dict[str, Any], *spec: Tuple[Any, ...]) -> List[Any]:
    """Positional-or-keyword arguments after the tensor: each spec is (names..., default)."""
    out = []
    for i, (*names, default) in enumerate(spec):
        if len(args) > i + 1:
            out.append(args[i + 1])
        else:
            out.append(next((kwargs[n] for n in names if n in kwargs), default))
    return out


def _orthogonal_target(acc: Accelerator) -> Optional[_Member]:
    f: Optional[FrameType] = sys._getframe(2)
    for _ in range(6):  # a few frames up: the torch_function machinery sits in between
        if f is None:
            return None
        if f.f_code is _ORTHOGONAL_CODE:
            return acc._find(f.f_locals.get("tensor"))
        f = f.f_back
    return None


def _trunc_hook(tensor: Any, mean: float, std: float, a: float, b: float,
                generator: Any = None) -> Any:
    """torch.nn.init._no_grad_trunc_normal_ while an accelerate() is active: a member is filled
    by weightinit's inverse-CDF truncated normal (a, b absolute, as torch), others by torch."""
    acc = _active[-1] if _active else None
    m = acc._find(tensor) if acc is not None else None
    if acc is None or m is None or not acc._usable(m, tensor):
        return _ORIGINAL_TRUNC(tensor, mean, std, a, b, generator=generator)
    if tensor.numel():
        with torch.no_grad():
            acc.fill(m, tensor, "trunc_normal", mean, std, a, b)
    return tensor


def accelerate(module: Any, seed: Optional[int] = None, *, threads: Optional[int] = None,
               generator: Any = None, check: bool = True) -> Accelerator:
    """A context manager under which ``module``'s own init code runs on weightinit's fills.

    ``with accelerate(model, seed=0): model.init_weights()`` (transformers),
    ``model.apply(model._init_weights)`` or a loop of ``reset_parameters()`` gives the
    distributions the model's authors wrote, each random tensor named ``name`` drawn from
    ``seed=seed, stream=name`` (``seed=None``: ``generator``'s or the default generator's seed),
    at weightinit's speed and identical for any ``threads``. What is intercepted and how views
    are handled: see this module's docstring. Everything that is not a random fill of a member
    runs in torch unchanged.

    A module with tensors on the meta device is materialized on entry (``to_empty`` on the CPU,
    tied parameters re-tied); on exit, non-persistent buffers that the init code did not write
    raise a RuntimeError naming them (``check=False`` skips that). transformers' per-module
    ``_is_hf_initialized`` flags are cleared on entry so its init code runs again.
    """
    return Accelerator(module, seed, threads=threads, generator=generator, check=check)
