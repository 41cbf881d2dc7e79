"""Model specs: a whole model's parameters as name -> (shape, dtype, initializer), and init_model.

A :class:`ModelSpec` is an ordered mapping from parameter name to :class:`Param` -- a shape, an
initializer named by its weightinit function (``"normal_"``, ``"kaiming_normal_"``,
``"xavier_uniform_"``, ...) with its keyword arguments, and optionally its own dtype. It is plain
data: it saves to and loads from JSON, one object per parameter, flat::

    {"format": "weightinit.model/1", "name": "tiny-mlp",
     "params": {
       "fc1.weight": {"shape": [256, 784], "init": "kaiming_normal_", "mode": "fan_out",
                      "nonlinearity": "relu"},
       "fc1.bias":   {"shape": [256], "init": "zeros_"},
       "emb.weight": {"shape": [1000, 64], "init": "normal_", "std": 0.02, "zero_rows": [0]}}}

Keys of a parameter object: ``shape``, ``init`` and the initializer's own keyword arguments, plus
the optional ``dtype`` (this parameter's dtype whatever the model dtype, e.g. ``"float32"`` or
``"int64"`` for a counter buffer; an int64 parameter takes ``zeros_``/``ones_``/``constant_``
only), ``zero_rows`` (rows of dim 0 set to zero after the fill, like torch's ``padding_idx``)
and ``buffer`` (true for state that is saved but is not a parameter, such as BatchNorm's running
statistics: it is initialized and written, not counted by :meth:`ModelSpec.num_params`).

Randomness: :func:`init_model` fills parameter ``name`` with ``seed=seed, stream=name`` -- the
stream of its own name -- so a parameter's values depend only on (seed, name, shape, dtype,
initializer), never on which other parameters exist or in what order they are filled.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import numbers
import os
from collections.abc import Mapping
from typing import Any, Callable, Dict, Iterator, NamedTuple, Optional, Tuple, Union

import numpy as np

from . import _random

__all__ = [
    "Param",
    "ModelSpec",
    "init_model",
    "load_spec",
    "save_spec",
    "initializer",
    "initializer_names",
    "SPEC_FORMAT",
]

SPEC_FORMAT = "weightinit.model/1"

# fills of the core; the named schemes come from weightinit.schemes
_CORE_INITS = ("uniform_", "normal_", "trunc_normal_", "constant_", "zeros_", "ones_")
_CONSTANT_INITS = ("constant_", "zeros_", "ones_")
# keyword arguments the model level owns
_RANDOMNESS = ("seed", "stream", "offset", "threads", "generator")
_RESERVED = ("shape", "init", "dtype", "zero_rows", "buffer")
_INT_DTYPES = ("int64",)


# ----------------------------------------------------------------------------- initializers


class Initializer(NamedTuple):
    """A resolved initializer: the in-place function and what it accepts."""

    name: str
    fn: Callable[..., Any]
    random: bool  # takes seed/stream
    offset: bool  # can fill a window of the flat tensor (takes ``offset``)
    fans: bool  # needs the full tensor's fans for a window (takes ``fans``)
    signature: inspect.Signature


def _scheme_names() -> Tuple[str, ...]:
    try:
        from . import schemes
    except ImportError:  # pragma: no cover - schemes ship with the package
        return ()
    return tuple(n for n in getattr(schemes, "__all__", ()) if n.endswith("_"))


@functools.lru_cache(maxsize=None)
def initializer(name: str) -> Initializer:
    """The in-place function a spec names: a core fill (``uniform_``, ``normal_``,
    ``trunc_normal_``, ``constant_``, ``zeros_``, ``ones_``) or a scheme of
    :mod:`weightinit.schemes` (``kaiming_normal_``, ``xavier_uniform_``, ``orthogonal_``, ...).
    """
    if not isinstance(name, str):
        raise TypeError(f"init must be a str naming an initializer, got {type(name).__name__}")
    if name in _CORE_INITS:
        fn = getattr(_random, name)
    elif name in _scheme_names():
        from . import schemes

        fn = getattr(schemes, name)
    else:
        raise ValueError(f"init {name!r} is not known; known: {', '.join(initializer_names())}")
    sig = inspect.signature(fn)
    ps = sig.parameters
    return Initializer(name, fn, "seed" in ps, "offset" in ps, "fans" in ps, sig)


def initializer_names() -> Tuple[str, ...]:
    """Names a spec's ``init`` accepts."""
    return _CORE_INITS + tuple(n for n in _scheme_names() if n not in _CORE_INITS)


# ----------------------------------------------------------------------------- Param


def _shape(shape: Any, where: str) -> Tuple[int, ...]:
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
            shape = (shape,)
        else:
            raise TypeError(f"{where}: shape must be a list of ints, got {shape!r}")
    out = []
    for d in shape:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 0:
            raise ValueError(f"{where}: shape must contain non-negative ints, got {list(shape)!r}")
        out.append(int(d))
    return tuple(out)


def _dtype_name(dtype: Any, where: str = "dtype") -> str:
    """The spec name of a float dtype, or "int64" (for counter buffers)."""
    if isinstance(dtype, str) and dtype in _INT_DTYPES:
        return dtype
    if not isinstance(dtype, str):
        try:
            if np.dtype(dtype) == np.int64:
                return "int64"
        except TypeError:
            pass
    return _random.parse_dtype(dtype, where).name


def np_dtype(name: str) -> np.dtype:
    """The NumPy dtype of a spec dtype name (``"bfloat16"`` is ml_dtypes')."""
    return np.dtype(np.int64) if name == "int64" else _random.parse_dtype(name)


def _json_value(value: Any, where: str) -> Any:
    """Initializer arguments are JSON scalars or lists of them."""
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(v, where) for v in value]
    raise TypeError(f"{where}: initializer arguments must be numbers, strings, booleans or lists, "
                    f"got {type(value).__name__} {value!r}")


class Param:
    """One parameter of a model spec.

    ``Param((768, 3072), "normal_", std=0.02)``: shape, the name of the in-place initializer
    and its keyword arguments (everything but the array and the randomness keywords, which the
    model level sets). Optional: ``dtype`` (overrides the model dtype for this parameter),
    ``zero_rows`` (rows of dim 0 zeroed after the fill, e.g. an embedding's padding index),
    ``buffer`` (saved state that is not a trainable parameter; not counted in parameter counts).
    """

    __slots__ = ("shape", "init", "kwargs", "dtype", "zero_rows", "buffer")

    def __init__(self, shape: Any, init: str = "zeros_", /, *, dtype: Optional[str] = None,
                 zero_rows: Any = (), buffer: bool = False, **kwargs: Any) -> None:
        where = "Param"
        self.shape = _shape(shape, where)
        self.init = initializer(init).name
        for k in kwargs:
            if k in _RANDOMNESS:
                raise ValueError(f"{where}: {k!r} is set by the model level (seed, and stream = "
                                 f"the parameter's name); remove it from the initializer arguments")
        self.kwargs = {k: _json_value(v, where) for k, v in kwargs.items()}
        self.dtype = None if dtype is None else _dtype_name(dtype)
        if isinstance(zero_rows, numbers.Integral) and not isinstance(zero_rows, bool):
            zero_rows = (zero_rows,)
        self.zero_rows = tuple(sorted({int(r) for r in zero_rows}))
        self.buffer = bool(buffer)
        self.validate()

    def validate(self, name: str = "Param") -> None:
        """Checks what can be checked without an array: arguments the initializer accepts,
        rows to zero inside the shape, int64 only with a constant initializer."""
        ini = initializer(self.init)
        try:
            ini.signature.bind(None, **self.kwargs)
        except TypeError as exc:
            accepted = [p for p in list(ini.signature.parameters)[1:] if p not in _RANDOMNESS]
            raise TypeError(f"{name}: bad arguments for {self.init}: {exc}; accepted: "
                            f"{', '.join(accepted) or 'none'}") from None
        if self.zero_rows:
            if not self.shape:
                raise ValueError(f"{name}: zero_rows needs at least 1 dimension")
            bad = [r for r in self.zero_rows if not 0 <= r < self.shape[0]]
            if bad:
                raise ValueError(f"{name}: zero_rows {bad} outside [0, {self.shape[0]})")
        if self.dtype in _INT_DTYPES and self.init not in _CONSTANT_INITS:
            raise ValueError(f"{name}: an {self.dtype} parameter takes one of "
                             f"{', '.join(_CONSTANT_INITS)}, not {self.init}")

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def to_dict(self) -> Dict[str, Any]:
        d: Dict[str, Any] = {"shape": list(self.shape), "init": self.init}
        d.update(self.kwargs)
        if self.dtype is not None:
            d["dtype"] = self.dtype
        if self.zero_rows:
            d["zero_rows"] = list(self.zero_rows)
        if self.buffer:
            d["buffer"] = True
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], name: str = "parameter") -> "Param":
        if not isinstance(d, Mapping):
            raise TypeError(f"{name}: a parameter must be an object with 'shape' and 'init', "
                            f"got {type(d).__name__}")
        missing = [k for k in ("shape", "init") if k not in d]
        if missing:
            raise ValueError(f"{name}: missing {' and '.join(repr(k) for k in missing)}")
        extra = {k: v for k, v in d.items() if k not in _RESERVED}
        try:
            return cls(d["shape"], d["init"], dtype=d.get("dtype"),
                       zero_rows=d.get("zero_rows", ()), buffer=d.get("buffer", False), **extra)
        except (TypeError, ValueError) as exc:
            msg = str(exc).replace("Param: ", "")
            raise type(exc)(msg if msg.startswith(name) else f"{name}: {msg}") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Param) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.kwargs.items())
        opt = "".join(f", {k}={getattr(self, k)!r}" for k in ("dtype", "zero_rows", "buffer")
                      if getattr(self, k))
        return f"Param({self.shape!r}, {self.init!r}{extra}{opt})"


# ----------------------------------------------------------------------------- ModelSpec


class ModelSpec(Mapping):
    """An ordered mapping parameter name -> :class:`Param`, with descriptive fields.

    ``name``, ``description``, ``source`` (where the shapes and the initialization come from),
    ``published_params`` (the parameter count its authors publish, checked by the tests) and
    ``metadata`` (free-form JSON; built-ins keep their configuration there).
    """

    def __init__(self, params: Mapping[str, Union[Param, Mapping[str, Any]]], *, name: str = "",
                 description: str = "", source: str = "", published_params: Optional[int] = None,
                 metadata: Optional[Mapping[str, Any]] = None) -> None:
        if not isinstance(params, Mapping):
            raise TypeError(f"params must be a mapping name -> Param, got {type(params).__name__}")
        self._params: Dict[str, Param] = {}
        for k, p in params.items():
            if not isinstance(k, str) or not k:
                raise TypeError(f"parameter names must be non-empty str, got {k!r}")
            self._params[k] = p if isinstance(p, Param) else Param.from_dict(p, k)
        self.name = str(name)
        self.description = str(description)
        self.source = str(source)
        self.published_params = None if published_params is None else int(published_params)
        self.metadata = dict(metadata or {})

    # Mapping
    def __getitem__(self, key: str) -> Param:
        return self._params[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModelSpec) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return (f"ModelSpec(name={self.name!r}, {len(self)} tensors, "
                f"{self.num_params():,} parameters)")

    def num_params(self) -> int:
        """Number of parameters (elements of every non-buffer tensor)."""
        return sum(p.size for p in self._params.values() if not p.buffer)

    def nbytes(self, dtype: Any = "float32") -> int:
        """Bytes of every tensor (buffers included) in ``dtype`` (per-parameter dtypes win)."""
        model = _random.parse_dtype(dtype).name
        return sum(p.size * np_dtype(p.dtype or model).itemsize for p in self._params.values())

    # JSON
    def to_dict(self) -> Dict[str, Any]:
        d: Dict[str, Any] = {"format": SPEC_FORMAT, "name": self.name}
        for k in ("description", "source"):
            if getattr(self, k):
                d[k] = getattr(self, k)
        if self.published_params is not None:
            d["published_params"] = self.published_params
        if self.metadata:
            d["metadata"] = self.metadata
        d["params"] = {k: p.to_dict() for k, p in self._params.items()}
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ModelSpec":
        if not isinstance(d, Mapping):
            raise TypeError(f"a model spec must be a JSON object, got {type(d).__name__}")
        fmt = d.get("format", SPEC_FORMAT)
        if fmt != SPEC_FORMAT:
            raise ValueError(f"unsupported spec format {fmt!r}; this version reads {SPEC_FORMAT!r}")
        if "params" not in d:
            raise ValueError("a model spec needs a 'params' object (name -> parameter)")
        unknown = set(d) - {"format", "name", "description", "source", "published_params",
                            "metadata", "params"}
        if unknown:
            raise ValueError(f"unknown spec keys: {', '.join(sorted(unknown))}")
        return cls(d["params"], name=d.get("name", ""), description=d.get("description", ""),
                   source=d.get("source", ""), published_params=d.get("published_params"),
                   metadata=d.get("metadata"))

    def to_json(self, indent: Optional[int] = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> "ModelSpec":
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"invalid JSON in model spec: {exc}") from None
        return cls.from_dict(d)

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Writes the spec as JSON (UTF-8) to ``path``."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json())
            f.write("\n")

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "ModelSpec":
        """Reads a spec saved by :meth:`save` (or written by hand)."""
        with open(path, encoding="utf-8") as f:
            return cls.from_json(f.read())


def load_spec(path: Union[str, os.PathLike]) -> ModelSpec:
    """:meth:`ModelSpec.load`."""
    return ModelSpec.load(path)


def save_spec(spec: ModelSpec, path: Union[str, os.PathLike]) -> None:
    """:meth:`ModelSpec.save`."""
    as_spec(spec).save(path)


def as_spec(spec: Any) -> ModelSpec:
    """A ModelSpec from a ModelSpec, a built-in architecture name, or a mapping (a spec's JSON
    object, or name -> Param / parameter object)."""
    if isinstance(spec, ModelSpec):
        return spec
    if isinstance(spec, str):
        from .architectures import get

        return get(spec)
    if isinstance(spec, Mapping):
        if "params" in spec and isinstance(spec["params"], Mapping):
            return ModelSpec.from_dict(spec)
        return ModelSpec(spec)
    raise TypeError(f"spec must be a ModelSpec, an architecture name or a mapping, got "
                    f"{type(spec).__name__}")


# ----------------------------------------------------------------------------- filling


def _call_kwargs(p: Param, full_shape: Tuple[int, ...], windowed: bool) -> Dict[str, Any]:
    kw = dict(p.kwargs)
    ini = initializer(p.init)
    if windowed and ini.fans and "fans" not in kw:
        from .fans import compute_fans

        axes = {k: kw[k] for k in ("in_axis", "out_axis", "batch_axis") if k in kw}
        if len(full_shape) >= 2:
            kw["fans"] = tuple(compute_fans(full_shape, **axes))
    return kw


def can_window(p: Param) -> bool:
    """True when ``p`` can be filled a window of its flat elements at a time (the initializer
    is element-wise in the stream: takes ``offset``, and ``fans`` if it needs them)."""
    return p.init in _CONSTANT_INITS or initializer(p.init).offset


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
        view[...] = {"zeros_": 0, "ones_": 1}.get(p.init, p.kwargs.get("val", 0))
    elif p.init in _CONSTANT_INITS:
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


def _check_target(arr: Any, p: Param, name: str) -> None:
    view = _random.as_target(arr, name) if not (isinstance(arr, np.ndarray)
                                                and arr.dtype == np.int64) else arr
    if tuple(view.shape) != p.shape:
        raise ValueError(f"out[{name!r}] has shape {tuple(view.shape)}, the spec says {p.shape}")
    if view.dtype == np.int64 and p.init not in _CONSTANT_INITS:
        raise TypeError(f"out[{name!r}] is int64; {p.init} needs a float array")
    if view.dtype == np.int64 and not view.flags.writeable:
        raise ValueError(f"out[{name!r}] is read-only")


def _dry_run(p: Param, name: str, dtype: np.dtype) -> None:
    """Lets the initializer validate its arguments on an empty array (writes nothing)."""
    if dtype == np.int64:
        return
    ini = initializer(p.init)
    shape = (0,) + p.shape[1:] if p.shape else (0,)
    kw = _call_kwargs(p, p.shape, False)
    if ini.random:
        kw.update(seed=0, stream=name)
    try:
        ini.fn(np.empty(shape, dtype), **kw)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name} ({p.init}): {exc}") from None


def resolve_seed(seed: Optional[int], generator: Any = None) -> int:
    """The key of a model-level init: ``seed``, else ``generator.seed``, else the default
    generator's seed (``weightinit.initial_seed()``, so the run can be repeated)."""
    return _random.resolve(seed, 0, generator)[0]


def init_model(spec: Any, seed: Optional[int] = None, dtype: Any = "float32", *,
               out: Optional[Mapping[str, Any]] = None, threads: Optional[int] = None,
               generator: Any = None) -> Dict[str, Any]:
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
    validated before the first tensor is written.
    """
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
            _check_target(out[n], p, n)
            arr = out[n]
            view = arr if isinstance(arr, np.ndarray) else _random.as_target(arr, n)
            _dry_run(p, n, view.dtype)
        targets = {n: out[n] for n in spec}
    else:
        for n, p in spec.items():
            _dry_run(p, n, np_dtype(p.dtype or model_dtype))
        targets = {n: np.empty(p.shape, np_dtype(p.dtype or model_dtype)) for n, p in spec.items()}
    for n, p in spec.items():
        fill_param(targets[n], p, n, key, threads=threads)
    return targets
