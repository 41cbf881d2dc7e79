"""Dask arrays of weightinit fills: one independent box fill per chunk (the ``[dask]`` extra).

Every allocating function of weightinit has a twin here with the same arguments plus ``chunks=``
(anything :func:`dask.array.core.normalize_chunks` takes: ``"auto"``, a byte size such as
``"64MiB"``, or per-dimension sizes), returning a :class:`dask.array.Array`::

    import weightinit.dask as wd
    w = wd.normal((3001, 1999), chunks=(701, 333), dtype="float32", seed=77, stream="enc.w", std=0.02)

Its graph has one task per chunk and no dependencies between them: chunk ``(i, j, ...)`` is the
box fill (``global_shape=``, ``start=``; see :mod:`weightinit._box`) of the global tensor at the
chunk's first index, so ``w.compute()`` equals ``weightinit.normal((3001, 1999), ...)`` bit for bit
whatever the chunking, scheduler or worker, and fans come from the global shape. Task keys are
deterministic (a token of the function, its arguments, the resolved seed and the chunks).
Schemes that are not elementwise keep their box cost or refusal (orthogonal computes the whole
matrix in each chunk and is refused above ``weightinit._box.ORTHOGONAL_BOX_MAX`` elements).

``seed=None`` (or a ``generator``) is resolved once here, when the array is built, so every chunk
draws from the same (seed, stream); every argument is checked then too, by filling a one-element
box, so a bad argument raises here, not inside a worker. bfloat16 chunks are ml_dtypes arrays.

:func:`init_model` gives a whole model as ``{name: dask array}``, each chunk filled as
:func:`weightinit.build.fill_box` fills a box of a parameter.
"""

from __future__ import annotations

import functools
import inspect
import itertools
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from . import _random, schemes
from ._random import Generator
from .build import SpecLike, as_spec, check_param, fill_box, resolve_seed
from .models import Param, np_dtype

try:
    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph
except ImportError as _exc:  # pragma: no cover - exercised only without dask
    raise ImportError("weightinit.dask needs dask; install it with: pip install 'weightinit[dask]'") from _exc

_CORE = ("random_bits", "uniform", "normal", "trunc_normal", "constant", "zeros", "ones")
#: the allocating functions this module mirrors (each with ``chunks=``)
NAMES = _CORE + tuple(n for n in schemes.__all__ if not n.endswith("_") and n.islower())

__all__ = list(NAMES) + ["init_model", "from_param", "NAMES"]


def _allocating(name: str) -> Callable[..., Any]:
    return getattr(_random if name in _CORE else schemes, name)


def _inplace(name: str) -> Callable[..., Any]:
    return getattr(_random if name in _CORE else schemes, name + "_")


def _fill_chunk(name: str, dtype: np.dtype, kwargs: Dict[str, Any], global_shape: Tuple[int, ...],
                shape: Tuple[int, ...], start: Tuple[int, ...]) -> np.ndarray:
    """One task: a new chunk holding the box at ``start`` of the global fill."""
    out = np.empty(shape, dtype)
    _inplace(name)(out, **kwargs, global_shape=global_shape, start=start)
    return out


# schemes whose every box computes the whole matrix: checked on an empty box (which they validate
# fully) rather than on one element, which would cost that QR
_WHOLE = ("orthogonal", "delta_orthogonal")


def _probe(shape: Tuple[int, ...], name: str) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    """A box that checks every argument at the least cost: one element (an empty box where one
    element would cost the whole tensor, or where the tensor is empty)."""
    if all(shape) and name not in _WHOLE:
        return (1,) * len(shape), (0,) * len(shape)
    return (0,) + tuple(shape[1:]) if shape else (), (0,) * len(shape)


def _array(token_name: str, chunk_fn: Callable[[Tuple[int, ...], Tuple[int, ...]], np.ndarray],
           shape: Tuple[int, ...], chunks: Any, dtype: np.dtype, token: Any) -> "da.Array":
    """A dask array of ``shape`` whose chunk at ``start`` is ``chunk_fn(chunk shape, start)``."""
    norm = da.core.normalize_chunks(chunks, shape, dtype=dtype)
    name = f"{token_name}-{tokenize(token_name, shape, norm, dtype.str, dtype.name, token)}"
    starts = [np.concatenate(([0], np.cumsum(c)[:-1])).astype(int).tolist() if c else [] for c in norm]
    dsk: Dict[Any, Any] = {}
    for idx in itertools.product(*(range(len(c)) for c in norm)):
        box = tuple(c[i] for c, i in zip(norm, idx))
        start = tuple(s[i] for s, i in zip(starts, idx))
        dsk[(name,) + idx] = (chunk_fn, box, start)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=())
    return da.Array(graph, name, norm, dtype=dtype, meta=np.empty((0,) * len(shape), dtype))


def _twin(name: str) -> Callable[..., Any]:
    alloc = _allocating(name)
    sig = inspect.signature(alloc)

    def chunked(*args: Any, chunks: Any = "auto", **kw: Any) -> "da.Array":
        bound = sig.bind(*args, **kw)
        given = dict(bound.arguments)
        shape = _random._shape(given.pop("shape"))
        extra = given.pop("kw", {})  # the core twins take their randomness keywords as **kw
        given.update(extra)
        dtype = np.dtype(np.uint32) if name == "random_bits" else _random.parse_dtype(
            given.pop("dtype", sig.parameters["dtype"].default))
        if "seed" in inspect.signature(_inplace(name)).parameters:
            stream = given.pop("stream", None)
            key, sid = _random.resolve(given.pop("seed", None), stream, given.pop("generator", None))
            given.update(seed=key, stream=sid)
        probe_shape, probe_start = _probe(shape, name)
        _inplace(name)(np.empty(probe_shape, dtype), **given, global_shape=shape, start=probe_start)
        fn = functools.partial(_fill_chunk, name, dtype, given, shape)
        return _array(name, fn, shape, chunks, dtype, sorted(given.items(), key=lambda kv: kv[0]))

    chunked.__name__ = chunked.__qualname__ = name
    chunked.__module__ = __name__
    chunked.__doc__ = (f"A dask array of :func:`weightinit.{name}`: the same arguments plus ``chunks=``; "
                       f"each chunk is the box fill (:func:`weightinit.{name}_` with ``global_shape``, "
                       f"``start``) of the global tensor, so the computed array equals "
                       f"``weightinit.{name}(...)`` bit for bit.")
    try:
        params = [p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]
        params.append(inspect.Parameter("chunks", inspect.Parameter.KEYWORD_ONLY, default="auto"))
        if name in _CORE and name not in ("constant", "zeros", "ones"):
            params += [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=d)
                       for k, d in (("seed", None), ("stream", None), ("offset", 0), ("threads", None),
                                    ("generator", None))]
        chunked.__signature__ = sig.replace(parameters=params, return_annotation="dask.array.Array")  # type: ignore[attr-defined]
    except ValueError:  # pragma: no cover - a signature inspect cannot rebuild: keep the generic one
        pass
    return chunked


for _name in NAMES:
    globals()[_name] = _twin(_name)
del _name


def _fill_param_chunk(p: Param, name: str, key: int, dtype: np.dtype, threads: Optional[int],
                      shape: Tuple[int, ...], start: Tuple[int, ...]) -> np.ndarray:
    out = np.empty(shape, dtype)
    fill_box(out, p, name, key, start, threads=threads)
    return out


def from_param(p: Param, name: str, seed: int, dtype: Any = "float32", *, chunks: Any = "auto",
               threads: Optional[int] = None) -> "da.Array":
    """One model parameter ``p`` named ``name`` (its stream) as a dask array: chunks are boxes of
    the tensor :func:`weightinit.init_model` makes for it (``seed`` already resolved)."""
    dt = np_dtype(p.dtype or _random.parse_dtype(dtype).name)
    check_param(p, name, dt)
    if dt != np.int64 and p.shape:
        probe_shape, probe_start = _probe(p.shape, p.init.rstrip("_"))
        try:  # the box checks check_param cannot make (orthogonal's size limit, overflowing stds)
            fill_box(np.empty(probe_shape, dt), p, name, seed, probe_start, threads=threads)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{name} ({p.init}): {exc}") from None
    fn = functools.partial(_fill_param_chunk, p, name, seed, dt, threads)
    return _array("weightinit-" + name, fn, p.shape, chunks, dt,
                  (p.init, sorted(p.kwargs.items()), p.zero_rows, seed, threads))


def init_model(spec: SpecLike, seed: Optional[int] = None, dtype: Any = "float32", *, chunks: Any = "auto",
               threads: Optional[int] = None, generator: Optional[Generator] = None) -> Dict[str, "da.Array"]:
    """:func:`weightinit.init_model` as ``{name: dask array}`` in spec order: nothing is filled until
    computed, and each chunk fills only its own box (``chunks``: as the array twins, for every
    parameter; a dict ``{name: chunks}`` chooses per parameter, the others ``"auto"``). Every
    parameter is checked here, before any task exists; ``seed=None`` is resolved here once."""
    spec = as_spec(spec)
    key = resolve_seed(seed, generator)
    _random._check_threads(threads)
    model = _random.parse_dtype(dtype).name
    if isinstance(chunks, dict):
        unknown = [n for n in chunks if n not in spec]
        if unknown:
            raise KeyError(f"chunks names parameters the spec does not have: {', '.join(unknown[:5])}")
    out = {}
    for n, p in spec.items():
        c = chunks.get(n, "auto") if isinstance(chunks, dict) else chunks
        out[n] = from_param(p, n, key, model, chunks=c, threads=threads)
    return out
