"""Fan-in and fan-out of a weight shape.

One function, :func:`compute_fans`, serves every scheme. By default it reads a shape in PyTorch's
layout, ``(out, in, *kernel)``, exactly as ``torch.nn.init._calculate_fan_in_and_fan_out``; other
layouts are selected by axes exactly as ``jax.nn.initializers`` does (``in_axis``, ``out_axis``,
``batch_axis``): JAX/Flax/Keras kernels ``(*kernel, in, out)`` use ``in_axis=-2, out_axis=-1``.

    receptive = product of the sizes of the axes that are neither in, out nor batch axes
    fan_in    = (product of the in-axis sizes)  * receptive
    fan_out   = (product of the out-axis sizes) * receptive
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import NamedTuple, Protocol, Tuple, TypedDict, Union

from . import _validate

__all__ = ["Fans", "compute_fans", "TORCH_AXES", "JAX_AXES"]

Axes = Union[int, Sequence[int]]


class HasShape(Protocol):
    """An array or a tensor: anything with a ``.shape``."""

    @property
    def shape(self) -> Tuple[int, ...]: ...


ShapeLike = Union[int, Sequence[int], HasShape]


class AxesKwargs(TypedDict):
    """The layout keywords of compute_fans and the fan-based schemes, as ``**TORCH_AXES`` passes them."""

    in_axis: int
    out_axis: int
    batch_axis: Tuple[int, ...]


#: keyword arguments selecting PyTorch's layout (out, in, *kernel) -- the default
TORCH_AXES: AxesKwargs = {"in_axis": 1, "out_axis": 0, "batch_axis": ()}
#: keyword arguments selecting JAX/Flax/Keras' layout (*kernel, in, out)
JAX_AXES: AxesKwargs = {"in_axis": -2, "out_axis": -1, "batch_axis": ()}


class Fans(NamedTuple):
    """``(fan_in, fan_out)`` of a weight shape, as Python ints."""

    fan_in: int
    fan_out: int


def _norm_axes(axes: Axes, ndim: int, argname: str) -> tuple[int, ...]:
    """Normalize an int or a sequence of ints to non-negative axis numbers (JAX accepts both)."""
    if isinstance(axes, (str, bytes)) or (not isinstance(axes, Sequence)
                                          and not hasattr(axes, "__index__")):
        raise TypeError(f"{argname} must be an int or a sequence of ints, got {axes!r}")
    seq = [axes] if hasattr(axes, "__index__") else list(axes)
    out = []
    for a in seq:
        if isinstance(a, bool) or not hasattr(a, "__index__"):
            raise TypeError(f"{argname} must be an int or a sequence of ints, got {axes!r}")
        a = operator.index(a)
        if not -ndim <= a < ndim:
            raise ValueError(
                f"{argname}={axes!r} is out of range for a shape of {ndim} dimensions "
                f"(accepted: {-ndim} .. {ndim - 1})"
            )
        a %= ndim
        if a in out:
            raise ValueError(f"{argname}={axes!r} repeats axis {a}")
        out.append(a)
    return tuple(out)


def compute_fans(
    shape: Union[Sequence[int], HasShape],
    *,
    in_axis: Axes = 1,
    out_axis: Axes = 0,
    batch_axis: Axes = (),
) -> Fans:
    """Return ``Fans(fan_in, fan_out)`` of a weight shape.

    ``shape`` is a sequence of ints (an array or tensor gives its ``.shape``). The default axes read
    PyTorch's layout ``(out, in, *kernel)`` -- e.g. ``(64, 3, 7, 7)`` gives ``(147, 3136)``, equal
    to ``torch.nn.init._calculate_fan_in_and_fan_out``. JAX/Flax/Keras kernels ``(*kernel, in,
    out)`` use ``in_axis=-2, out_axis=-1`` (or ``**JAX_AXES``), which reproduces
    ``jax.nn.initializers``' ``_compute_fans``; each axis argument is an int or a sequence of ints,
    and ``batch_axis`` axes are excluded from both fans::

        receptive = prod(sizes of the axes not named by in_axis, out_axis, batch_axis)
        fan_in  = prod(shape[in_axis])  * receptive
        fan_out = prod(shape[out_axis]) * receptive

    Fans are exact ints (JAX returns the same values as floats). A shape with fewer than 2
    dimensions has no fans: ``ValueError``, as in torch and JAX.
    """
    dims = _validate.shape(shape, allow_array=True)  # an array or tensor gives its own shape
    if len(dims) < 2:
        raise ValueError(
            f"shape must have at least 2 dimensions to compute fan_in and fan_out, got "
            f"{len(dims)}-dimensional shape {dims}"
        )
    ins = _norm_axes(in_axis, len(dims), "in_axis")
    outs = _norm_axes(out_axis, len(dims), "out_axis")
    batch = _norm_axes(batch_axis, len(dims), "batch_axis")
    for name_a, a, name_b, b in (("in_axis", ins, "out_axis", outs),
                                 ("in_axis", ins, "batch_axis", batch),
                                 ("out_axis", outs, "batch_axis", batch)):
        common = set(a) & set(b)
        if common:
            raise ValueError(
                f"{name_a} and {name_b} share axis {min(common)}; they must be disjoint"
            )
    named = set(ins) | set(outs) | set(batch)
    receptive = math.prod(d for i, d in enumerate(dims) if i not in named)
    fan_in = math.prod(dims[i] for i in ins) * receptive
    fan_out = math.prod(dims[i] for i in outs) * receptive
    return Fans(fan_in, fan_out)
