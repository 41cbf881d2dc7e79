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

import json
import math
import numbers
import os
from collections.abc import Mapping
from typing import Any, Dict, Iterator, Optional, Tuple, Union

import numpy as np

from . import _random, _validate
from .registry import CONSTANT_INITS, RANDOMNESS, initializer, initializer_names

__all__ = [
    "Param",
    "ModelSpec",
    "load_spec",
    "save_spec",
    "np_dtype",
    "initializer",
    "initializer_names",
    "SPEC_FORMAT",
]

SPEC_FORMAT = "weightinit.model/1"

_RESERVED = ("shape", "init", "dtype", "zero_rows", "buffer")
_INT_DTYPES = ("int64",)


# ----------------------------------------------------------------------------- Param


def _shape(shape: Any, where: str) -> Tuple[int, ...]:
    try:
        return _validate.shape(shape, "shape")
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where}: {exc}") from None


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
    return _random.dtype_name(dtype, where)


def np_dtype(name: str) -> np.dtype:
    """The NumPy dtype of a spec dtype name (``"bfloat16"`` is ml_dtypes')."""
    return np.dtype(np.int64) if name == "int64" else _random.parse_dtype(name)


_MAX_NESTING = 32  # lists in initializer arguments: deeper is a malformed spec, not a RecursionError


def _json_value(value: Any, where: str, depth: int = 0) -> Any:
    """Initializer arguments are JSON scalars or lists of them."""
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        if depth >= _MAX_NESTING:
            raise ValueError(f"{where}: initializer arguments nested more than {_MAX_NESTING} lists deep")
        return [_json_value(v, where, depth + 1) for v in value]
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
        self._build("Param", shape, init, dtype, zero_rows, buffer, kwargs)

    def _build(self, where: str, shape: Any, init: str, dtype: Optional[str], zero_rows: Any, buffer: bool,
               kwargs: Dict[str, Any]) -> None:
        """Sets and checks every field; errors start with ``where`` (the parameter's name in a spec)."""
        try:
            self.init = initializer(init).name
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{where}: {exc}") from None
        self.shape = _shape(shape, where)
        for k in kwargs:
            if k in RANDOMNESS:
                raise ValueError(f"{where}: {k!r} is set by the model level (seed, and stream = "
                                 f"the parameter's name); remove it from the initializer arguments")
        self.kwargs = {k: _json_value(v, where) for k, v in kwargs.items()}
        try:
            self.dtype = None if dtype is None else _dtype_name(dtype)
            self.zero_rows = _validate.shape(zero_rows, "zero_rows")  # non-negative ints, like a shape
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{where}: {exc}") from None
        self.zero_rows = tuple(sorted(set(self.zero_rows)))
        self.buffer = bool(buffer)
        self.validate(where)

    def validate(self, name: str = "Param") -> None:
        """Checks what can be checked without an array: arguments the initializer accepts,
        rows to zero inside the shape, int64 only with a constant initializer."""
        ini = initializer(self.init)
        try:
            ini.signature.bind(None, **self.kwargs)
        except TypeError as exc:
            accepted = [p for p in list(ini.signature.parameters)[1:] if p not in RANDOMNESS]
            raise TypeError(f"{name}: bad arguments for {self.init}: {exc}; accepted: "
                            f"{', '.join(accepted) or 'none'}") from None
        if self.zero_rows:
            if not self.shape:
                raise ValueError(f"{name}: zero_rows needs at least 1 dimension")
            bad = [r for r in self.zero_rows if not 0 <= r < self.shape[0]]
            if bad:
                raise ValueError(f"{name}: zero_rows {bad} outside [0, {self.shape[0]})")
        if self.dtype in _INT_DTYPES and self.init not in CONSTANT_INITS:
            raise ValueError(f"{name}: an {self.dtype} parameter takes one of "
                             f"{', '.join(CONSTANT_INITS)}, not {self.init}")

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
        p = cls.__new__(cls)
        p._build(name, d["shape"], d["init"], d.get("dtype"), d.get("zero_rows", ()), d.get("buffer", False), extra)
        return p

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
        model = _random.dtype_name(dtype)
        sizes = {**_random.ITEMSIZE, "int64": 8}  # by name: counting bytes needs no ml_dtypes
        return sum(p.size * sizes[p.dtype or model] for p in self._params.values())

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
        return cls.from_dict(_validate.json_loads(text, "model spec"))

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


def save_spec(spec: Union[ModelSpec, Mapping[str, Any]], path: Union[str, os.PathLike]) -> None:
    """:meth:`ModelSpec.save` (a mapping is made a :class:`ModelSpec` first)."""
    (spec if isinstance(spec, ModelSpec) else ModelSpec(spec)).save(path)
