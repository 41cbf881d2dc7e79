"""Every named initialization scheme, as thin calls of the core's fills.

Conventions (see also ``weightinit.fans``):

* In-place functions end in ``_`` and return the array (or tensor) they filled; each has an
  allocating twin without the ``_`` that takes ``shape`` and ``dtype`` (default float32) and returns
  a new C-contiguous array with the same values the in-place function writes into an array of that
  shape and dtype.
* Shapes are read in PyTorch's layout ``(out, in, *kernel)`` by default, for every function, the
  JAX/Keras-named ones included. JAX/Flax/Keras kernels ``(*kernel, in, out)`` take
  ``in_axis=-2, out_axis=-1`` (``**weightinit.fans.JAX_AXES``). ``fans=(fan_in, fan_out)`` overrides
  the shape's fans (for a shard of a larger tensor filled with ``offset``).
* Torch-named functions (``xavier_*``, ``kaiming_*``, ``orthogonal_``, ``sparse_``, ``eye_``,
  ``dirac_``) keep torch.nn.init's meaning and compute their bound or std with torch's float
  operations, so the parameter is torch's to the last bit. JAX/Keras-named functions
  (``variance_scaling_``, ``glorot_*``, ``he_*``, ``lecun_*``, ``delta_orthogonal_``) keep
  jax.nn.initializers' meaning: ``glorot_normal``, ``he_normal`` and ``lecun_normal`` are
  *truncated* normals (at +-2 std, rescaled by 1/0.87962566103423978), and the parameter is computed
  in the array's dtype as JAX does.
* Randomness: keyword-only ``seed``, ``stream``, ``offset``, ``threads``, ``generator`` as in the
  core fills. Schemes with one draw pass them to the core; schemes with several draws (orthogonal,
  sparse) resolve (seed, stream, generator) once and derive sub-streams, so they are reproducible
  from (seed, stream) and independent of ``threads``. NumPy's random module is never used.
* Boxes: every in-place function takes ``global_shape=`` and ``start=`` and fills its array with
  the box at ``start`` of the fill of ``global_shape`` (fans from ``global_shape``), bit for bit;
  see ``weightinit._box`` for the cost of the schemes that are not elementwise.
* Every argument is validated before the first write; on error the array is untouched.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import Any, Callable, Dict, Optional, Protocol, Tuple

import numpy as np

from . import _box, _core, _random, _validate
from ._random import DTypeLike, Generator, Shape, Stream, T
from .fans import Axes, Fans, _norm_axes, compute_fans
from .gains import calculate_gain

__all__ = [
    "variance_scaling_", "variance_scaling",
    "xavier_uniform_", "xavier_uniform", "xavier_normal_", "xavier_normal",
    "kaiming_uniform_", "kaiming_uniform", "kaiming_normal_", "kaiming_normal",
    "lecun_uniform_", "lecun_uniform", "lecun_normal_", "lecun_normal",
    "glorot_uniform_", "glorot_uniform", "glorot_normal_", "glorot_normal",
    "he_uniform_", "he_uniform", "he_normal_", "he_normal",
    "orthogonal_", "orthogonal", "delta_orthogonal_", "delta_orthogonal",
    "sparse_", "sparse", "martens_sparse_", "martens_sparse",
    "eye_", "eye", "dirac_", "dirac",
    "MODES", "DISTRIBUTIONS", "DISTRIBUTION_ALIASES",
]

#: modes of variance_scaling, as JAX's (fan_geo_avg: n = sqrt(fan_in * fan_out))
MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
#: distributions of variance_scaling, with JAX's meanings ("normal" is untruncated)
DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")
#: other accepted spellings: Keras 3's "untruncated_normal" is JAX's "normal". Keras' own "normal"
#: means truncated_normal there: the name "normal" keeps JAX's meaning here (write
#: "truncated_normal" or "untruncated_normal" to be unambiguous in both).
DISTRIBUTION_ALIASES = {"untruncated_normal": "normal"}
_TORCH_MODES = ("fan_in", "fan_out")
# std of N(0, 1) truncated to [-2, 2]; the literal JAX and Keras divide by
_TRUNC_STD_2 = 0.87962566103423978
# Elements per block of a sparse pattern selection: the block mask stays in cache while sparse_
# writes it transposed (measured best on 2**26 elements)
_SPARSE_BLOCK = 1 << 19


# ----------------------------------------------------------------------------- validation helpers

def _real(value: Any, argname: str, *, lo: Optional[float] = None, lo_open: bool = False,
          hi: Optional[float] = None, hi_open: bool = False) -> float:
    """A finite real number (bool refused) within optional bounds; an int stays an int (as torch
    computes with it), other reals become Python floats. See :func:`_validate.real`."""
    return _validate.real(value, argname, lo=lo, lo_open=lo_open, hi=hi, hi_open=hi_open, keep_int=True)


def _int(value: Any, argname: str, *, lo: Optional[int] = None) -> int:
    return _validate.integer(value, argname, lo=lo)


def _choice(value: Any, argname: str, accepted: Sequence[str], *, lower: bool = False) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{argname} must be a str, one of {', '.join(accepted)}; got {value!r}")
    v = value.lower() if lower else value
    if v not in accepted:
        raise ValueError(f"{argname}={value!r} is not supported; accepted: {', '.join(accepted)}")
    return v


def _target(x: Any, argname: str = "tensor") -> np.ndarray:
    """The ndarray view sharing x's memory, after the core's checks (float dtype, writeable...)."""
    return _random.as_target(x, argname)


def _as_stored(view: np.ndarray, values: Any) -> np.ndarray:
    """Float ``values`` converted to ``view``'s dtype (rounded to nearest even)."""
    return np.asarray(values, dtype=np.float64).astype(view.dtype)


def _store(view: np.ndarray, values: Any) -> None:
    view[...] = _as_stored(view, values)


def _fans(shape: Tuple[int, ...], in_axis: Axes, out_axis: Axes, batch_axis: Axes,
          fans: Optional[Sequence[int]], argname: str) -> Fans:
    if fans is not None:
        if isinstance(fans, (str, bytes)) or not isinstance(fans, Sequence) or len(fans) != 2:
            raise TypeError(f"fans must be a pair (fan_in, fan_out) of ints, got {fans!r}")
        return Fans(_int(fans[0], "fans[0]", lo=1), _int(fans[1], "fans[1]", lo=1))
    if len(shape) < 2:
        raise ValueError(
            f"{argname} must have at least 2 dimensions to compute fan_in and fan_out, got shape "
            f"{shape}"
        )
    return compute_fans(shape, in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)


def _new(shape: Shape, dtype: DTypeLike) -> np.ndarray:
    return _random.empty(shape, dtype)


def _rk(seed: Optional[int], stream: Optional[Stream], offset: int, threads: Optional[int],
        generator: Optional[Generator], global_shape: Optional[Sequence[int]] = None,
        start: Optional[Sequence[int]] = None) -> Dict[str, Any]:
    return dict(seed=seed, stream=stream, offset=offset, threads=threads, generator=generator,
                global_shape=global_shape, start=start)


def _fan_shape(view: np.ndarray, rk: Dict[str, Any]) -> Tuple[int, ...]:
    """Fans come from the global tensor when the target is a box of it (see _box)."""
    return _box.global_view_shape(view, rk["global_shape"], rk["start"])


def _noop_fill(x: T, rk: Dict[str, Any]) -> T:
    """A zero-size x: let the core validate the randomness keywords (and do nothing)."""
    return _random.uniform_(x, 0.0, 0.0, **rk)


def _no_fans(f: Fans) -> bool:
    """Fans of an empty tensor: no std to compute. A zero-size box of a non-empty tensor (or an
    empty array with ``fans=``) still computes it, so its checks run (build.check_param)."""
    return not (f.fan_in and f.fan_out)


# ----------------------------------------------------------------------------- variance scaling

def _vs_param(fans: Fans, scale: float, mode: str, distribution: str, dtype: np.dtype) -> float:
    """JAX's std (truncated_normal: of the untruncated normal; normal) or bound (uniform).

    As jax.nn.initializers.variance_scaling: the fans are floats, ``scale / denominator`` is a
    Python division, then everything is computed in ``dtype``.
    """
    fan_in, fan_out = float(fans.fan_in), float(fans.fan_out)
    if mode == "fan_in":
        denominator = fan_in
    elif mode == "fan_out":
        denominator = fan_out
    elif mode == "fan_avg":
        denominator = (fan_in + fan_out) / 2
    else:
        denominator = (fan_in * fan_out) ** 0.5
    with np.errstate(over="ignore"):
        variance = np.asarray(scale / denominator, dtype=dtype)
        if distribution == "truncated_normal":
            p = np.sqrt(variance) / np.asarray(_TRUNC_STD_2, dtype=dtype)
        elif distribution == "normal":
            p = np.sqrt(variance)
        else:
            p = np.sqrt(3 * variance)
    p = float(p)
    if not math.isfinite(p):
        raise ValueError(
            f"scale={scale!r} over n={denominator!r} gives a {distribution} parameter that "
            f"overflows {dtype.name}"
        )
    return p


def _variance_scaling(x: T, scale: float, mode: str, distribution: str, in_axis: Axes, out_axis: Axes,
                      batch_axis: Axes, fans: Optional[Sequence[int]], rk: Dict[str, Any], argname: str) -> T:
    view = _target(x)
    scale = _real(scale, "scale", lo=0, lo_open=True)
    mode = _choice(mode, "mode", MODES)
    distribution = _choice(distribution, "distribution", DISTRIBUTIONS + tuple(DISTRIBUTION_ALIASES))
    distribution = DISTRIBUTION_ALIASES.get(distribution, distribution)
    f = _fans(_fan_shape(view, rk), in_axis, out_axis, batch_axis, fans, argname)
    if _no_fans(f):
        return _noop_fill(x, rk)
    p = _vs_param(f, scale, mode, distribution, view.dtype)
    if distribution == "truncated_normal":
        return _random.trunc_normal_(x, 0.0, p, -2.0 * p, 2.0 * p, **rk)
    if distribution == "normal":
        return _random.normal_(x, 0.0, p, **rk)
    return _random.uniform_(x, -p, p, **rk)


def variance_scaling_(tensor: T, scale: float = 1.0, mode: str = "fan_in",
                      distribution: str = "truncated_normal", in_axis: Axes = 1, out_axis: Axes = 0,
                      batch_axis: Axes = (), *, fans: Optional[Sequence[int]] = None,
                      seed: Optional[int] = None, stream: Optional[Stream] = None, offset: int = 0,
                      threads: Optional[int] = None, generator: Optional[Generator] = None,
                      global_shape: Optional[Sequence[int]] = None,
                      start: Optional[Sequence[int]] = None) -> T:
    r"""Fill ``tensor`` by variance scaling (jax.nn.initializers / Keras ``VarianceScaling``).

    ``n`` is ``fan_in``, ``fan_out``, ``(fan_in + fan_out) / 2`` (``"fan_avg"``) or
    ``sqrt(fan_in * fan_out)`` (``"fan_geo_avg"``) by ``mode``; ``variance = scale / n``:

    * ``"truncated_normal"``: N(0, s^2) truncated to [-2 s, 2 s] with
      ``s = sqrt(variance) / 0.87962566103423978`` (the std of N(0,1) truncated to [-2, 2]), so the
      samples' std is ``sqrt(variance)``;
    * ``"normal"`` (JAX's name) or ``"untruncated_normal"`` (Keras'): N(0, variance). Keras'
      ``"normal"`` means truncated_normal; here ``"normal"`` keeps JAX's meaning, so code ported
      from Keras should say ``"truncated_normal"`` (see :data:`DISTRIBUTION_ALIASES`);
    * ``"uniform"``: U(-b, b) with ``b = sqrt(3 * variance)``.

    ``s`` and ``b`` are computed as JAX does: ``scale / n`` in Python floats, then in the array's dtype.
    Fans come from :func:`weightinit.compute_fans` with ``in_axis``, ``out_axis``, ``batch_axis``,
    which default to PyTorch's layout (out, in, \*kernel), not JAX's (\*kernel, in, out): pass
    ``in_axis=-2, out_axis=-1`` for JAX/Flax/Keras kernels. (Keras clamps fans to >= 1; a non-empty
    array always has fans >= 1, and an empty one is left as is.)

    ``scale`` > 0; ``mode`` in :data:`MODES`; ``distribution`` in :data:`DISTRIBUTIONS` or
    :data:`DISTRIBUTION_ALIASES`.
    Returns ``tensor``. Reference: the unifying form of Glorot & Bengio (2010), He et al. (2015) and
    LeCun et al. (1998) used by Keras and JAX.
    """
    return _variance_scaling(tensor, scale, mode, distribution, in_axis, out_axis, batch_axis, fans,
                             _rk(seed, stream, offset, threads, generator, global_shape, start),
                             "tensor")


def variance_scaling(shape: Shape, scale: float = 1.0, mode: str = "fan_in",
                     distribution: str = "truncated_normal", in_axis: Axes = 1, out_axis: Axes = 0,
                     batch_axis: Axes = (), *, dtype: DTypeLike = "float32",
                     fans: Optional[Sequence[int]] = None, seed: Optional[int] = None,
                     stream: Optional[Stream] = None, offset: int = 0, threads: Optional[int] = None,
                     generator: Optional[Generator] = None) -> np.ndarray:
    """Allocating twin of :func:`variance_scaling_`: a new array of ``shape`` and ``dtype``."""
    return _variance_scaling(_new(shape, dtype), scale, mode, distribution, in_axis, out_axis,
                             batch_axis, fans, _rk(seed, stream, offset, threads, generator),
                             "shape")


# ------------------------------------------------------------------------ torch: xavier, kaiming

def _xavier_std(fans: Fans, gain: float) -> float:
    # torch.nn.init.xavier_*_: the same operations, so the same double
    return gain * math.sqrt(2.0 / float(fans.fan_in + fans.fan_out))


def _xavier(x: T, gain: float, distribution: str, in_axis: Axes, out_axis: Axes, batch_axis: Axes,
            fans: Optional[Sequence[int]], rk: Dict[str, Any], argname: str) -> T:
    view = _target(x)
    gain = _real(gain, "gain", lo=0)
    gain = gain if isinstance(gain, int) else float(gain)
    f = _fans(_fan_shape(view, rk), in_axis, out_axis, batch_axis, fans, argname)
    if _no_fans(f):
        return _noop_fill(x, rk)
    std = _xavier_std(f, gain)
    if distribution == "uniform":
        a = math.sqrt(3.0) * std  # torch: "Calculate uniform bounds from standard deviation"
        return _random.uniform_(x, -a, a, **rk)
    return _random.normal_(x, 0.0, std, **rk)


def xavier_uniform_(tensor: T, gain: float = 1.0, *, in_axis: Axes = 1, out_axis: Axes = 0,
                    batch_axis: Axes = (), fans: Optional[Sequence[int]] = None, seed: Optional[int] = None,
                    stream: Optional[Stream] = None, offset: int = 0, threads: Optional[int] = None,
                    generator: Optional[Generator] = None, global_shape: Optional[Sequence[int]] = None,
                    start: Optional[Sequence[int]] = None) -> T:
    r"""Fill ``tensor`` from U(-a, a), ``a = gain * sqrt(6 / (fan_in + fan_out))`` (Xavier uniform).

    torch.nn.init.xavier_uniform_'s meaning and arithmetic: ``std = gain * sqrt(2 / (fan_in +
    fan_out))``, ``a = sqrt(3) * std`` in doubles, equal to torch's bound to the last bit.
    ``gain`` >= 0 (see :func:`weightinit.calculate_gain`). Fans from the (out, in, \*kernel) layout
    unless axes or ``fans`` say otherwise. The JAX/Keras-named :func:`glorot_uniform_` has the
    same distribution with the bound computed as JAX does.

    Glorot, X. & Bengio, Y. (2010). Understanding the difficulty of training deep feedforward
    neural networks. AISTATS.
    """
    return _xavier(tensor, gain, "uniform", in_axis, out_axis, batch_axis, fans,
                   _rk(seed, stream, offset, threads, generator, global_shape, start), "tensor")


def xavier_uniform(shape: Shape, gain: float = 1.0, *, dtype: DTypeLike = "float32", in_axis: Axes = 1,
                   out_axis: Axes = 0, batch_axis: Axes = (), fans: Optional[Sequence[int]] = None,
                   seed: Optional[int] = None, stream: Optional[Stream] = None, offset: int = 0,
                   threads: Optional[int] = None, generator: Optional[Generator] = None) -> np.ndarray:
    """Allocating twin of :func:`xavier_uniform_`: a new array of ``shape`` and ``dtype``."""
    return _xavier(_new(shape, dtype), gain, "uniform", in_axis, out_axis, batch_axis, fans,
                   _rk(seed, stream, offset, threads, generator), "shape")


def xavier_normal_(tensor: T, gain: float = 1.0, *, in_axis: Axes = 1, out_axis: Axes = 0,
                   batch_axis: Axes = (), fans: Optional[Sequence[int]] = None, seed: Optional[int] = None,
                   stream: Optional[Stream] = None, offset: int = 0, threads: Optional[int] = None,
                   generator: Optional[Generator] = None, global_shape: Optional[Sequence[int]] = None,
                   start: Optional[Sequence[int]] = None) -> T:
    r"""Fill ``tensor`` from N(0, std^2), ``std = gain * sqrt(2 / (fan_in + fan_out))`` (Xavier).

    torch.nn.init.xavier_normal_'s meaning (a plain, untruncated normal) and arithmetic. Note
    that JAX's and Keras' ``glorot_normal`` is a *truncated* normal: see :func:`glorot_normal_`.
    ``gain`` >= 0.

    Glorot, X. & Bengio, Y. (2010). Understanding the difficulty of training deep feedforward
    neural networks. AISTATS.
    """
    return _xavier(tensor, gain, "normal", in_axis, out_axis, batch_axis, fans,
                   _rk(seed, stream, offset, threads, generator, global_shape, start), "tensor")


def xavier_normal(shape: Shape, gain: float = 1.0, *, dtype: DTypeLike = "float32", in_axis: Axes = 1,
                  out_axis: Axes = 0, batch_axis: Axes = (), fans: Optional[Sequence[int]] = None,
                  seed: Optional[int] = None, stream: Optional[Stream] = None, offset: int = 0,
                  threads: Optional[int] = None, generator: Optional[Generator] = None) -> np.ndarray:
    """Allocating twin of :func:`xavier_normal_`: a new array of ``shape`` and ``dtype``."""
    return _xavier(_new(shape, dtype), gain, "normal", in_axis, out_axis, batch_axis, fans,
                   _rk(seed, stream, offset, threads, generator), "shape")


def _kaiming_std(fans: Fans, a: float, mode: str, nonlinearity: str) -> float:
    # torch.nn.init.kaiming_*_: the same operations, so the same double
    fan = fans.fan_in if mode == "fan_in" else fans.fan_out
    gain = calculate_gain(nonlinearity, a)
    return gain / math.sqrt(fan)


def _kaiming(x: T, a: float, mode: str, nonlinearity: str, distribution: str, in_axis: Axes,
             out_axis: Axes, batch_axis: Axes, fans: Optional[Sequence[int]], rk: Dict[str, Any],
             argname: str) -> T:
    view = _target(x)
    mode = _choice(mode, "mode", _TORCH_MODES, lower=True)
    if nonlinearity == "leaky_relu":
        _real(a, "a")  # the slope; ignored by the other nonlinearities, as in torch
    calculate_gain(nonlinearity, a)  # validates nonlinearity
    f = _fans(_fan_shape(view, rk), in_axis, out_axis, batch_axis, fans, argname)
    if _no_fans(f):
        return _noop_fill(x, rk)
    std = _kaiming_std(f, a, mode, nonlinearity)
    if distribution == "uniform":
        bound = math.sqrt(3.0) * std  # torch: "Calculate uniform bounds from standard deviation"
        return _random.uniform_(x, -bound, bound, **rk)
    return _random.normal_(x, 0.0, std, **rk)


def kaiming_uniform_(tensor: T, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", *, in_axis: Axes = 1, out_axis: Axes = 0,
                     batch_axis: Axes = (), fans: Optional[Sequence[int]] = None, seed: Optional[int] = None,
                     stream: Optional[Stream] = None, offset: int = 0, threads: Optional[int] = None,
                     generator: Optional[Generator] = None, global_shape: Optional[Sequence[int]] = None,
                     start: Optional[Sequence[int]] = None) -> T:
    r"""Fill ``tensor`` from U(-b, b), ``b = gain * sqrt(3 / fan_mode)`` (Kaiming/He uniform).

    torch.nn.init.kaiming_uniform_'s meaning and arithmetic: ``gain = calculate_gain(nonlinearity,
    a)``, ``std = gain / sqrt(fan)``, ``b = sqrt(3) * std``. ``a`` is the negative slope of the
    rectifier (read only with ``nonlinearity="leaky_relu"``, the default, so the default gain is
    sqrt(2)); ``mode`` is ``"fan_in"`` (preserve forward variance) or ``"fan_out"`` (backward).
    The JAX/Keras-named :func:`he_uniform_` is variance scaling with scale 2.

    He, K., Zhang, X., Ren, S. & Sun, J. (2015). Delving deep into rectifiers: Surpassing
    human-level performance on ImageNet classification. ICCV.
    """
    return _kaiming(tensor, a, mode, nonlinearity, "uniform", in_axis, out_axis, batch_axis, fans,
                    _rk(seed, stream, offset, threads, generator, global_shape, start), "tensor")


def kaiming_uniform(shape: Shape, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", *, dtype: DTypeLike = "float32", in_axis: Axes = 1,
                    out_axis: Axes = 0, batch_axis: Axes = (), fans: Optional[Sequence[int]] = None,
                    seed: Optional[int] = None, stream: Optional[Stream] = None, offset: int = 0,
                    threads: Optional[int] = None, generator: Optional[Generator] = None) -> np.ndarray:
    """Allocating twin of :func:`kaiming_uniform_`: a new array of ``shape`` and ``dtype``."""
    return _kaiming(_new(shape, dtype), a, mode, nonlinearity, "uniform", in_axis, out_axis,
                    batch_axis, fans, _rk(seed, stream, offset, threads, generator), "shape")


def kaiming_normal_(tensor: T, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", *, in_axis: Axes = 1, out_axis: Axes = 0,
                    batch_axis: Axes = (), fans: Optional[Sequence[int]] = None, seed: Optional[int] = None,
                    stream: Optional[Stream] = None, offset: int = 0, threads: Optional[int] = None,
                    generator: Optional[Generator] = None, global_shape: Optional[Sequence[int]] = None,
                    start: Optional[Sequence[int]] = None) -> T:
    r"""Fill ``tensor`` from N(0, std^2), ``std = gain / sqrt(fan_mode)`` (Kaiming/He normal).

    torch.nn.init.kaiming_normal_'s meaning (a plain, untruncated normal) and arithmetic, with
    ``gain = calculate_gain(nonlinearity, a)``. JAX's and Keras' ``he_normal`` is a *truncated*
    normal: see :func:`he_normal_`.

    He, K., Zhang, X., Ren, S. & Sun, J. (2015). Delving deep into rectifiers: Surpassing
    human-level performance on ImageNet classification. ICCV.
    """
    return _kaiming(tensor, a, mode, nonlinearity, "normal", in_axis, out_axis, batch_axis, fans,
                    _rk(seed, stream, offset, threads, generator, global_shape, start), "tensor")


def kaiming_normal(shape: Shape, a: float = 0, mode: str = "fan_in",
                   nonlinearity: str = "leaky_relu", *, dtype: DTypeLike = "float32", in_axis: Axes = 1,
                   out_axis: Axes = 0, batch_axis: Axes = (), fans: Optional[Sequence[int]] = None,
                   seed: Optional[int] = None, stream: Optional[Stream] = None, offset: int = 0,
                   threads: Optional[int] = None, generator: Optional[Generator] = None) -> np.ndarray:
    """Allocating twin of :func:`kaiming_normal_`: a new array of ``shape`` and ``dtype``."""
    return _kaiming(_new(shape, dtype), a, mode, nonlinearity, "normal", in_axis, out_axis,
                    batch_axis, fans, _rk(seed, stream, offset, threads, generator), "shape")


# ------------------------------------------------------------------------ JAX/Keras-named aliases

class _VSInPlace(Protocol):
    """The signature of a variance-scaling alias's in-place function (glorot_uniform_ ...)."""

    def __call__(self, tensor: T, *, in_axis: Axes = 1, out_axis: Axes = 0, batch_axis: Axes = (),
                 fans: Optional[Sequence[int]] = None, seed: Optional[int] = None,
                 stream: Optional[Stream] = None, offset: int = 0, threads: Optional[int] = None,
                 generator: Optional[Generator] = None, global_shape: Optional[Sequence[int]] = None,
                 start: Optional[Sequence[int]] = None) -> T: ...


class _VSTwin(Protocol):
    """The signature of a variance-scaling alias's allocating twin (glorot_uniform ...)."""

    def __call__(self, shape: Shape, dtype: DTypeLike = "float32", *, in_axis: Axes = 1,
                 out_axis: Axes = 0, batch_axis: Axes = (), fans: Optional[Sequence[int]] = None,
                 seed: Optional[int] = None, stream: Optional[Stream] = None, offset: int = 0,
                 threads: Optional[int] = None, generator: Optional[Generator] = None) -> np.ndarray: ...


def _vs_alias(name: str, scale: float, mode: str, distribution: str, formula: str,
              cite: str) -> Tuple[_VSInPlace, _VSTwin]:
    """Build the in-place function and its allocating twin of a variance-scaling alias."""

    def inplace(tensor: T, *, in_axis: Axes = 1, out_axis: Axes = 0, batch_axis: Axes = (),
                fans: Optional[Sequence[int]] = None, seed: Optional[int] = None,
                stream: Optional[Stream] = None, offset: int = 0, threads: Optional[int] = None,
                generator: Optional[Generator] = None, global_shape: Optional[Sequence[int]] = None,
                start: Optional[Sequence[int]] = None) -> T:
        return _variance_scaling(tensor, scale, mode, distribution, in_axis, out_axis, batch_axis,
                                 fans, _rk(seed, stream, offset, threads, generator, global_shape,
                                           start), "tensor")

    def twin(shape: Shape, dtype: DTypeLike = "float32", *, in_axis: Axes = 1, out_axis: Axes = 0,
             batch_axis: Axes = (), fans: Optional[Sequence[int]] = None, seed: Optional[int] = None,
             stream: Optional[Stream] = None, offset: int = 0, threads: Optional[int] = None,
             generator: Optional[Generator] = None) -> np.ndarray:
        return _variance_scaling(_new(shape, dtype), scale, mode, distribution, in_axis,
                                 out_axis, batch_axis, fans,
                                 _rk(seed, stream, offset, threads, generator), "shape")

    inplace.__name__ = inplace.__qualname__ = name + "_"
    twin.__name__ = twin.__qualname__ = name
    trunc = (" -- a *truncated* normal, unlike torch's xavier_normal_ and kaiming_normal_"
             if distribution == "truncated_normal" else "")
    inplace.__doc__ = (
        f"Fill ``tensor`` as jax.nn.initializers.{name} / Keras' {name} do.\n\n"
        + textwrap.indent(textwrap.fill(
            f"Values: {formula}{trunc}; that is ``variance_scaling_(tensor, {scale!r}, "
            f"{mode!r}, {distribution!r})``.", 92), "    ") + "\n"
        "    Fans from PyTorch's layout (out, in, *kernel) by default; pass\n"
        "    ``in_axis=-2, out_axis=-1`` for JAX/Flax/Keras kernels (*kernel, in, out).\n"
        "    Returns ``tensor``.\n\n"
        + textwrap.indent(textwrap.fill(cite, 92), "    ") + "\n"
    )
    twin.__doc__ = (
        f"Allocating twin of :func:`{name}_`: a new array of ``shape`` and ``dtype``\n"
        f"(``dtype`` may be passed positionally, as in JAX's ``init(key, shape, dtype)``).\n"
    )
    inplace.__module__ = twin.__module__ = __name__
    return inplace, twin


_GLOROT = ("Glorot, X. & Bengio, Y. (2010). Understanding the difficulty of training deep "
           "feedforward neural networks. AISTATS.")
_HE = ("He, K., Zhang, X., Ren, S. & Sun, J. (2015). Delving deep into rectifiers: Surpassing "
       "human-level performance on ImageNet classification. ICCV.")
_LECUN = ("LeCun, Y., Bottou, L., Orr, G. B. & Mueller, K.-R. (1998). Efficient BackProp. "
          "Neural Networks: Tricks of the Trade; Klambauer, G. et al. (2017). Self-normalizing "
          "neural networks. NeurIPS.")

glorot_uniform_, glorot_uniform = _vs_alias(
    "glorot_uniform", 1.0, "fan_avg", "uniform",
    "U(-b, b), b = sqrt(3 / ((fan_in + fan_out) / 2))", _GLOROT)
glorot_normal_, glorot_normal = _vs_alias(
    "glorot_normal", 1.0, "fan_avg", "truncated_normal",
    "a normal truncated at +-2 s, s = sqrt(1 / ((fan_in + fan_out) / 2)) / 0.87962566103423978",
    _GLOROT)
he_uniform_, he_uniform = _vs_alias(
    "he_uniform", 2.0, "fan_in", "uniform", "U(-b, b), b = sqrt(6 / fan_in)", _HE)
he_normal_, he_normal = _vs_alias(
    "he_normal", 2.0, "fan_in", "truncated_normal",
    "a normal truncated at +-2 s, s = sqrt(2 / fan_in) / 0.87962566103423978", _HE)
lecun_uniform_, lecun_uniform = _vs_alias(
    "lecun_uniform", 1.0, "fan_in", "uniform", "U(-b, b), b = sqrt(3 / fan_in)", _LECUN)
lecun_normal_, lecun_normal = _vs_alias(
    "lecun_normal", 1.0, "fan_in", "truncated_normal",
    "a normal truncated at +-2 s, s = sqrt(1 / fan_in) / 0.87962566103423978", _LECUN)


# ----------------------------------------------------------------------------- orthogonal

def _orthogonal_matrix(rows: int, cols: int, key: int, stream: int, threads: Optional[int]) -> np.ndarray:
    """torch.nn.init.orthogonal_'s construction, in float64, from a normal fill of the core.

    A (rows, cols) N(0, 1) float64 fill (element order = C order of the target); QR of A, or of
    A^T when rows < cols; Q's columns multiplied by sign(diag(R)) so Q is Haar distributed
    (Mezzadri 2007); transposed back when rows < cols.
    """
    a = np.empty((rows, cols), dtype=np.float64)
    _random.normal_(a, seed=key, stream=stream, threads=threads)
    wide = rows < cols
    q, r = np.linalg.qr(a.T if wide else a)
    q *= np.where(np.diagonal(r) < 0, -1.0, 1.0)  # sign(diag(R)), with sign(0) taken as +1
    return q.T if wide else q


def _resolve(seed: Optional[int], stream: Optional[Stream],
             generator: Optional[Generator]) -> Tuple[int, int]:
    return _random.resolve(seed, stream, generator)


def _orthogonal(x: T, gain: float, seed: Optional[int], stream: Optional[Stream], threads: Optional[int],
                generator: Optional[Generator], argname: str, global_shape: Optional[Sequence[int]] = None,
                start: Optional[Sequence[int]] = None, column_axis: Optional[int] = None) -> T:
    view = _target(x)
    box = _box.check_box(view.shape, global_shape, start)
    shape = view.shape if box is None else box[0]
    gain = _real(gain, "gain")
    _validate.check_fits(view.dtype, "gain", gain)  # |gain * Q| <= |gain|: no inf when gain fits
    if len(shape) < 2:
        raise ValueError(f"{argname} must have at least 2 dimensions, got shape {shape}")
    if column_axis is not None:
        (column_axis,) = _norm_axes(_int(column_axis, "column_axis"), len(shape), "column_axis")
    if box is not None:
        _box.check_orthogonal(shape)
    _threads(threads)
    key, s = _resolve(seed, stream, generator)
    if view.size == 0:
        return x
    if column_axis is None:  # torch: (shape[0], rest)
        rows = shape[0]
        q = (float(gain) * _orthogonal_matrix(rows, math.prod(shape) // rows, key, s, threads)).reshape(shape)
    else:  # JAX: (rest, shape[column_axis]), that axis moved back into place
        cols = shape[column_axis]
        rest = tuple(d for i, d in enumerate(shape) if i != column_axis)
        q = float(gain) * _orthogonal_matrix(math.prod(rest), cols, key, s, threads)
        q = np.moveaxis(q.reshape(rest + (cols,)), -1, column_axis)
    _store(view, q if box is None else q[_box.box_slices(box, view.shape)])
    return x


def _threads(threads: Optional[int]) -> None:
    _random._check_threads(threads)


def orthogonal_(tensor: T, gain: float = 1.0, *, column_axis: Optional[int] = None, seed: Optional[int] = None,
                stream: Optional[Stream] = None, threads: Optional[int] = None,
                generator: Optional[Generator] = None, global_shape: Optional[Sequence[int]] = None,
                start: Optional[Sequence[int]] = None) -> T:
    r"""Fill ``tensor`` with a (semi-)orthogonal matrix times ``gain`` (torch.nn.init.orthogonal_).

    ``tensor`` has n >= 2 dims and is seen as a (rows, cols) = (shape[0], prod(shape[1:]))
    matrix, as in torch. ``A`` = the N(0, 1) float64 fill of (seed, stream) in that shape;
    ``Q, R = qr(A)`` (of ``A^T`` when rows < cols, then transposed back); ``Q *= sign(diag(R))``
    (so Q is uniformly -- Haar -- distributed, Mezzadri 2007); ``tensor = gain * Q``, rounded to
    its dtype. Then ``Q^T Q = gain^2 I`` when rows >= cols and ``Q Q^T = gain^2 I`` otherwise.
    The QR runs in float64 with numpy.linalg, so every dtype gets the same matrix, rounded;
    results are bit-reproducible for one NumPy/LAPACK build (and for any ``threads``). ``gain`` is
    any finite number within the dtype's range (a larger one would write inf: ValueError). No
    ``offset``: the matrix is one draw. A box (``global_shape``, ``start``) computes the whole
    matrix and keeps its box, so it is allowed only for global tensors of at most
    ``weightinit._box.ORTHOGONAL_BOX_MAX`` (2**24) elements and refused with a ValueError above.

    ``column_axis`` (an int) takes JAX's meaning instead (jax.nn.initializers.orthogonal, Keras'
    Orthogonal): the matrix is (prod of the other axes, shape[column_axis]) and that axis is made
    orthonormal -- JAX's default is ``column_axis=-1``, the last axis of a (\*kernel, in, out)
    kernel. ``None`` (the default) keeps torch's (shape[0], rest) flattening. For 2-D shapes
    ``column_axis=-1`` and ``None`` give the same values.

    Saxe, A. M., McClelland, J. L. & Ganguli, S. (2013). Exact solutions to the nonlinear
    dynamics of learning in deep linear neural networks. arXiv:1312.6120.
    """
    return _orthogonal(tensor, gain, seed, stream, threads, generator, "tensor", global_shape, start,
                       column_axis)


def orthogonal(shape: Shape, gain: float = 1.0, *, dtype: DTypeLike = "float32",
               column_axis: Optional[int] = None, seed: Optional[int] = None, stream: Optional[Stream] = None,
               threads: Optional[int] = None, generator: Optional[Generator] = None) -> np.ndarray:
    """Allocating twin of :func:`orthogonal_`: a new array of ``shape`` and ``dtype``."""
    return _orthogonal(_new(shape, dtype), gain, seed, stream, threads, generator, "shape",
                       column_axis=column_axis)


def _delta_orthogonal(x: T, scale: float, in_axis: int, out_axis: int, seed: Optional[int],
                      stream: Optional[Stream], threads: Optional[int], generator: Optional[Generator],
                      argname: str, global_shape: Optional[Sequence[int]] = None,
                      start: Optional[Sequence[int]] = None) -> T:
    view = _target(x)
    box = _box.check_box(view.shape, global_shape, start)
    shape = view.shape if box is None else box[0]
    scale = _real(scale, "scale")
    _validate.check_fits(view.dtype, "scale", scale)  # |scale * Q| <= |scale|: no inf when scale fits
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"{argname} must have 3, 4 or 5 dimensions, got shape {shape}")
    (ia,) = _norm_axes(_int(in_axis, "in_axis"), len(shape), "in_axis")
    (oa,) = _norm_axes(_int(out_axis, "out_axis"), len(shape), "out_axis")
    if ia == oa:
        raise ValueError(f"in_axis and out_axis must differ, both are axis {ia}")
    n_in, n_out = shape[ia], shape[oa]
    if n_in > n_out:
        raise ValueError(
            f"delta_orthogonal needs in channels <= out channels (JAX: fan_in <= fan_out); "
            f"{argname} has {n_in} in (axis {ia}) > {n_out} out (axis {oa})"
        )
    _threads(threads)
    key, s = _resolve(seed, stream, generator)
    if view.size == 0:
        return x
    q = float(scale) * _orthogonal_matrix(n_out, n_in, key, s, threads)  # (out, in), Q^T Q = I
    _random.zeros_(view)  # multithreaded stream stores; ml_dtypes assigns bfloat16 per element
    if box is not None:  # the (out, in) matrix is small beside the kernel: computed whole, sliced
        _box.delta_orthogonal_box(view, box, ia, oa, q, _store)
        return x
    # JAX puts the matrix at kernel index (k - 1) // 2 of every spatial axis
    idx = tuple(slice(None) if d in (ia, oa) else (k - 1) // 2 for d, k in enumerate(view.shape))
    _store(view[idx], q if oa < ia else q.T)
    return x


def delta_orthogonal_(tensor: T, scale: float = 1.0, *, in_axis: int = 1, out_axis: int = 0,
                      seed: Optional[int] = None, stream: Optional[Stream] = None,
                      threads: Optional[int] = None, generator: Optional[Generator] = None,
                      global_shape: Optional[Sequence[int]] = None,
                      start: Optional[Sequence[int]] = None) -> T:
    r"""Fill a 3-, 4- or 5-D conv kernel with a delta-orthogonal kernel (jax.nn.initializers).

    Zero everywhere except at the centre tap ``(k - 1) // 2`` of every spatial axis (JAX's centre;
    torch's :func:`dirac_` uses ``k // 2``), where the (out, in) slice is ``scale * Q``, ``Q`` as in
    :func:`orthogonal_` for an (out, in) matrix: ``Q^T Q = I``. Needs in <= out channels. Layout
    (out, in, \*kernel) by default; JAX's (\*kernel, in, out) with ``in_axis=-2, out_axis=-1``.
    A conv layer with this kernel preserves the norm of its input at initialization (dynamical
    isometry). A box (``global_shape``, ``start``) is exact: each box computes the (out, in) matrix
    (a QR of out x in, small beside the kernel) and writes the part of it that falls in the box.
    A ``scale`` outside the dtype's finite range is refused (ValueError) rather than written as inf.

    Xiao, L., Bahri, Y., Sohl-Dickstein, J., Schoenholz, S. S. & Pennington, J. (2018).
    Dynamical isometry and a mean field theory of CNNs: How to train 10,000-layer vanilla
    convolutional neural networks. ICML.
    """
    return _delta_orthogonal(tensor, scale, in_axis, out_axis, seed, stream, threads, generator,
                             "tensor", global_shape, start)


def delta_orthogonal(shape: Shape, scale: float = 1.0, *, dtype: DTypeLike = "float32", in_axis: int = 1,
                     out_axis: int = 0, seed: Optional[int] = None, stream: Optional[Stream] = None,
                     threads: Optional[int] = None, generator: Optional[Generator] = None) -> np.ndarray:
    """Allocating twin of :func:`delta_orthogonal_`: a new array of ``shape`` and ``dtype``."""
    return _delta_orthogonal(_new(shape, dtype), scale, in_axis, out_axis, seed, stream, threads,
                             generator, "shape")


# ----------------------------------------------------------------------------- sparse

def _pattern(key: int, stream: int, units: int, members: int, k: int, threads: Optional[int],
             write: Callable[[int, int, np.ndarray], None]) -> None:
    """Select, in each unit, the ``k`` members with the smallest keys; ``write(u0, u1, mask)``.

    The key of (unit u, member m) is ``word(u * members + m) << 32 | m`` of the pattern stream
    (equal words ordered by m), so the selection is a pure function of (seed, stream). The core's
    ``select_smallest`` computes a block of units at a time, in parallel over units; ``mask`` is
    a (u1 - u0, members) bool array, True at the selected members.
    """
    nthreads = _random._check_threads(threads)
    step = max(1, _SPARSE_BLOCK // max(members, 1))
    mask = np.empty((min(step, units), members), dtype=bool)
    for u0 in range(0, units, step):
        u1 = min(units, u0 + step)
        block = mask[: u1 - u0]
        _core.select_smallest(block, k, key, stream, u0, nthreads)
        write(u0, u1, block)


def _units_by_members(moved: np.ndarray, units: int, fan: int) -> Optional[np.ndarray]:
    """``moved`` (units, *rest) as a (units, fan) view when its rest axes collapse into one
    stride (C order), else None (a reshape would copy)."""
    shape, strides = moved.shape[1:], moved.strides[1:]
    kept = [(n, st) for n, st in zip(shape, strides) if n != 1]
    for (_, outer), (inner_n, inner) in zip(kept, kept[1:]):
        if outer != inner * inner_n:
            return None
    step = kept[-1][1] if kept else moved.itemsize
    return np.lib.stride_tricks.as_strided(moved, shape=(units, fan), strides=(moved.strides[0], step))


def _sparse(x: T, sparsity: float, std: float, seed: Optional[int], stream: Optional[Stream],
            threads: Optional[int], generator: Optional[Generator], argname: str,
            global_shape: Optional[Sequence[int]] = None, start: Optional[Sequence[int]] = None) -> T:
    view = _target(x)
    box = _box.check_box(view.shape, global_shape, start)
    shape = view.shape if box is None else box[0]
    if len(shape) != 2:
        raise ValueError(f"{argname} must have 2 dimensions, got shape {shape}")
    sparsity = _real(sparsity, "sparsity", lo=0, hi=1, hi_open=True)
    std = _real(std, "std", lo=0)
    _threads(threads)
    key, s = _resolve(seed, stream, generator)
    rows, cols = shape
    num_zeros = math.ceil(sparsity * rows)  # torch.nn.init.sparse_
    _random.normal_(x, 0.0, std, seed=key, stream=s, threads=threads, global_shape=global_shape,
                    start=start)
    if num_zeros == 0 or view.size == 0:
        return x
    if box is not None:  # each column of the box: the selection over all of its global rows
        (r0, c0), (h, w) = box[1], view.shape
        _box.select_box(view.T, (c0, w), (rows,), (slice(r0, r0 + h),), num_zeros, key,
                        _random.derive_stream(s, "sparse_/zeros"), _random._check_threads(threads),
                        True, _SPARSE_BLOCK)
        return x
    # units are the columns, members the rows: the transposed view, zeroed in place by the core
    _core.zero_by_selection(view.T, num_zeros, True, key, _random.derive_stream(s, "sparse_/zeros"),
                            _random._check_threads(threads))
    return x


def sparse_(tensor: T, sparsity: float, std: float = 0.01, *, seed: Optional[int] = None,
            stream: Optional[Stream] = None, threads: Optional[int] = None,
            generator: Optional[Generator] = None, global_shape: Optional[Sequence[int]] = None,
            start: Optional[Sequence[int]] = None) -> T:
    """Fill a 2-D ``tensor`` as a sparse matrix, with torch.nn.init.sparse_'s meaning.

    Every element is drawn from N(0, std^2) (the normal fill of (seed, stream)); then in each
    column ``ceil(sparsity * rows)`` elements are set to zero. The zeros of column c are the rows
    with the smallest keys, key(r, c) = word ``c * rows + r`` of the sub-stream
    ``derive_stream(stream, "sparse_/zeros")`` (ties by row), so -- unlike torch, whose zero
    pattern ignores its generator -- the pattern is reproducible from (seed, stream).
    ``0 <= sparsity < 1``, ``std >= 0``. For Martens' fixed number of non-zero incoming weights
    per unit see :func:`martens_sparse_`. A box (``global_shape``, ``start``) is exact: it draws its
    own values and, for each of its columns, the pattern words of the whole global column (one
    32-bit word per row, no values), so it costs O(box + rows * box columns).

    Martens, J. (2010). Deep learning via Hessian-free optimization. ICML.
    """
    return _sparse(tensor, sparsity, std, seed, stream, threads, generator, "tensor", global_shape,
                   start)


def sparse(shape: Shape, sparsity: float, std: float = 0.01, *, dtype: DTypeLike = "float32",
           seed: Optional[int] = None, stream: Optional[Stream] = None, threads: Optional[int] = None,
           generator: Optional[Generator] = None) -> np.ndarray:
    """Allocating twin of :func:`sparse_`: a new array of ``shape`` and ``dtype``."""
    return _sparse(_new(shape, dtype), sparsity, std, seed, stream, threads, generator, "shape")


def _martens_sparse(x: T, nonzeros: int, std: float, out_axis: int, seed: Optional[int],
                    stream: Optional[Stream], threads: Optional[int], generator: Optional[Generator],
                    argname: str, global_shape: Optional[Sequence[int]] = None,
                    start: Optional[Sequence[int]] = None) -> T:
    view = _target(x)
    box = _box.check_box(view.shape, global_shape, start)
    shape = view.shape if box is None else box[0]
    if len(shape) < 2:
        raise ValueError(f"{argname} must have at least 2 dimensions, got shape {shape}")
    nonzeros = _int(nonzeros, "nonzeros", lo=1)
    std = _real(std, "std", lo=0)
    (oa,) = _norm_axes(_int(out_axis, "out_axis"), len(shape), "out_axis")
    units = shape[oa]
    size = math.prod(shape)
    fan = size // units if units else 0
    if size and nonzeros > fan:
        raise ValueError(
            f"nonzeros={nonzeros} exceeds the {fan} incoming weights of each unit of {argname} "
            f"with shape {shape} (out_axis={out_axis})"
        )
    _threads(threads)
    key, s = _resolve(seed, stream, generator)
    _random.normal_(x, 0.0, std, seed=key, stream=s, threads=threads, global_shape=global_shape,
                    start=start)  # for an empty view: only std's checks
    if nonzeros == fan or view.size == 0:
        return x
    moved = np.moveaxis(view, oa, 0)  # a view: unit first, its incoming weights after (C order)
    pattern_stream = _random.derive_stream(s, "martens_sparse_/nonzeros")
    if box is not None:  # each unit of the box: the selection over all of its incoming weights
        rest = [d for d in range(len(shape)) if d != oa]
        slices = _box.box_slices(box, view.shape)
        _box.select_box(moved, (box[1][oa], view.shape[oa]), tuple(shape[d] for d in rest),
                        tuple(slices[d] for d in rest), nonzeros, key, pattern_stream,
                        _random._check_threads(threads), False, _SPARSE_BLOCK)
        return x
    flat = _units_by_members(moved, units, fan)
    if flat is not None:  # the core zeroes the unselected weights in place
        _core.zero_by_selection(flat, nonzeros, False, key, pattern_stream, _random._check_threads(threads))
        return x
    zero = np.zeros((), dtype=view.dtype)

    def write(u0: int, u1: int, keep: np.ndarray) -> None:
        sub = moved[u0:u1]
        np.copyto(sub, zero, where=~keep.reshape(sub.shape))

    _pattern(key, pattern_stream, units, fan, nonzeros, threads, write)
    return x


def martens_sparse_(tensor: T, nonzeros: int = 15, std: float = 1.0, *, out_axis: int = 0,
                    seed: Optional[int] = None, stream: Optional[Stream] = None,
                    threads: Optional[int] = None, generator: Optional[Generator] = None,
                    global_shape: Optional[Sequence[int]] = None,
                    start: Optional[Sequence[int]] = None) -> T:
    r"""Martens' sparse initialization: exactly ``nonzeros`` non-zero incoming weights per unit.

    A unit is an index along ``out_axis`` (rows of a torch (out, in, \*kernel) weight by default;
    ``out_axis=-1`` for JAX's (in, out), where units are columns); its incoming weights are all
    the elements with that index. Each unit keeps the ``nonzeros`` incoming weights with the
    smallest keys -- key(u, m) = word ``u * fan_in + m`` of ``derive_stream(stream,
    "martens_sparse_/nonzeros")``, m the C-order index of the weight within the unit -- with
    values from N(0, std^2) (the normal fill of (seed, stream)); every other weight is 0. Martens
    used 15 non-zero weights from a unit Gaussian and zero biases (0.5 for tanh units).
    ``1 <= nonzeros <= fan_in``, ``std >= 0``. A box (``global_shape``, ``start``) is exact: for each
    unit it touches it draws the pattern words of all the unit's fan_in weights (no values), so it
    costs O(box + fan_in * box units).

    Martens, J. (2010). Deep learning via Hessian-free optimization. ICML.
    """
    return _martens_sparse(tensor, nonzeros, std, out_axis, seed, stream, threads, generator,
                           "tensor", global_shape, start)


def martens_sparse(shape: Shape, nonzeros: int = 15, std: float = 1.0, *, dtype: DTypeLike = "float32",
                   out_axis: int = 0, seed: Optional[int] = None, stream: Optional[Stream] = None,
                   threads: Optional[int] = None, generator: Optional[Generator] = None) -> np.ndarray:
    """Allocating twin of :func:`martens_sparse_`: a new array of ``shape`` and ``dtype``."""
    return _martens_sparse(_new(shape, dtype), nonzeros, std, out_axis, seed, stream, threads,
                           generator, "shape")


# ----------------------------------------------------------------------------- identities

def _eye(x: T, gain: float, argname: str, global_shape: Optional[Sequence[int]] = None,
         start: Optional[Sequence[int]] = None) -> T:
    view = _target(x)
    box = _box.check_box(view.shape, global_shape, start)
    shape = view.shape if box is None else box[0]
    if len(shape) != 2:
        raise ValueError(f"{argname} must have 2 dimensions, got shape {shape}")
    gain = _real(gain, "gain")
    _validate.check_fits(view.dtype, "gain", gain)  # written as it is: refused where it would be inf
    if view.size == 0:
        return x
    _random.zeros_(view)  # multithreaded stream stores; ml_dtypes assigns bfloat16 per element
    if box is not None:
        _box.eye_box(view, box, _as_stored(view, gain))
        return x
    i = np.arange(min(view.shape))
    view[i, i] = _as_stored(view, gain)
    return x


def eye_(tensor: T, gain: float = 1.0, *, global_shape: Optional[Sequence[int]] = None,
         start: Optional[Sequence[int]] = None) -> T:
    """Fill a 2-D ``tensor`` with ``gain`` times the identity (torch.nn.init.eye_, Keras Identity).

    ``x[i, i] = gain`` for i < min(rows, cols), zero elsewhere; with gain 1 a Linear layer
    passes as many of its inputs through unchanged as it can. A box (``global_shape``, ``start``)
    is exact: the diagonal entries that fall in it. A ``gain`` outside the dtype's finite range
    is refused (ValueError) rather than written as inf.
    """
    return _eye(tensor, gain, "tensor", global_shape, start)


def eye(shape: Shape, gain: float = 1.0, *, dtype: DTypeLike = "float32") -> np.ndarray:
    """Allocating twin of :func:`eye_`: a new array of ``shape`` and ``dtype``."""
    return _eye(_new(shape, dtype), gain, "shape")


def _dirac(x: T, groups: int, argname: str, global_shape: Optional[Sequence[int]] = None,
           start: Optional[Sequence[int]] = None) -> T:
    view = _target(x)
    box = _box.check_box(view.shape, global_shape, start)
    shape = view.shape if box is None else box[0]
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"{argname} must have 3, 4 or 5 dimensions, got shape {shape}")
    groups = _int(groups, "groups", lo=1)
    if shape[0] % groups:
        raise ValueError(
            f"groups={groups} must divide the size of dim 0 of {argname} ({shape[0]})"
        )
    if view.size == 0:
        return x
    out_per_group = shape[0] // groups
    d = np.arange(min(out_per_group, shape[1]))
    g = np.arange(groups)
    out_idx = (g[:, None] * out_per_group + d[None, :]).ravel()
    in_idx = np.tile(d, groups)
    centre = tuple(k // 2 for k in shape[2:])  # torch's centre
    _random.zeros_(view)  # multithreaded stream stores; ml_dtypes assigns bfloat16 per element
    if box is not None:
        _box.dirac_box(view, box, (out_idx, in_idx) + tuple(np.array(c) for c in centre),
                       _as_stored(view, 1.0))
        return x
    view[(out_idx, in_idx) + centre] = _as_stored(view, 1.0)
    return x


def dirac_(tensor: T, groups: int = 1, *, global_shape: Optional[Sequence[int]] = None,
           start: Optional[Sequence[int]] = None) -> T:
    """Fill a 3-, 4- or 5-D conv weight with the Dirac delta (torch.nn.init.dirac_).

    Zero except ``x[g * out_per_group + d, d, k1 // 2, ...] = 1`` for every group g and
    d < min(out_per_group, in): a conv layer with this weight is the identity on as many input
    channels as it can keep, in each of its ``groups`` (which must divide x.shape[0]). A box
    (``global_shape``, ``start``) is exact: the ones that fall in it.
    """
    return _dirac(tensor, groups, "tensor", global_shape, start)


def dirac(shape: Shape, groups: int = 1, *, dtype: DTypeLike = "float32") -> np.ndarray:
    """Allocating twin of :func:`dirac_`: a new array of ``shape`` and ``dtype``."""
    return _dirac(_new(shape, dtype), groups, "shape")
