"""Boxes of a global tensor: fill one N-d index box of a larger C-order tensor in place.

Every in-place function takes ``global_shape=`` and ``start=``: the local array is the box, and
its element ``idx`` gets the value that the full fill of ``global_shape`` puts at ``start + idx``,
which is element ``offset + ravel(start + idx, global_shape)`` of the stream (stream format v1:
element i depends only on seed, stream and i). So a box fill equals the slice of the full fill, bit
for bit, whatever the box, the thread count or the machine, and fans and gains come from
``global_shape``. Elementwise schemes cost O(box); the others are exact at a documented cost (see
``sparse_``, ``martens_sparse_``, ``orthogonal_``, ``eye_``, ``dirac_``, ``delta_orthogonal_``).
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Callable, List, Optional, Tuple, Union

import numpy as np

from . import _core, _random

__all__ = ["check_box", "fill_random_box", "ORTHOGONAL_BOX_MAX"]

#: Largest global tensor (elements) whose box orthogonal_ computes: every box of an orthogonal
#: matrix needs the whole matrix (a QR of all of it), so each box computes it in float64 and
#: slices (about 8 bytes per element and O(rows * cols * min(rows, cols)) time per box).
ORTHOGONAL_BOX_MAX = 2**24

Box = Tuple[Tuple[int, ...], Tuple[int, ...]]


def _ints(value: Any, argname: str) -> Tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{argname} must be a sequence of non-negative ints, got {type(value).__name__} {value!r}")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{argname} must be a sequence of non-negative ints, got {value!r}")
        if v < 0:
            raise ValueError(f"{argname} must contain non-negative ints, got {tuple(value)!r}")
        out.append(int(v))
    return tuple(out)


def check_box(shape: Tuple[int, ...], global_shape: Any, start: Any) -> Optional[Box]:
    """``(global_shape, start)`` as tuples after checking them against the local ``shape``, or None
    when neither is given (a whole-tensor fill). Both or neither; one entry per dimension;
    ``start + shape <= global_shape`` on every axis; the global tensor under 2**64 elements."""
    if global_shape is None and start is None:
        return None
    if global_shape is None or start is None:
        raise TypeError("pass both global_shape and start (the box's first index per axis), or neither")
    g = _ints(global_shape, "global_shape")
    s = _ints(start, "start")
    if len(g) != len(shape) or len(s) != len(shape):
        raise ValueError(
            f"global_shape and start need one entry per dimension of the box (shape {tuple(shape)}), "
            f"got global_shape={g}, start={s}"
        )
    for axis, (n, lo, ext) in enumerate(zip(g, s, shape)):
        if lo + ext > n:
            raise ValueError(
                f"the box leaves the global tensor on axis {axis}: start[{axis}] + shape[{axis}] = "
                f"{lo} + {ext} > global_shape[{axis}] = {n}"
            )
    if math.prod(g) > 2**64:
        raise ValueError(f"global_shape {g} has more than 2**64 elements")
    return g, s


def fill_random_box(x: Any, dist: str, params: Tuple[float, ...], seed: Any, stream: Any, offset: Any,
                    threads: Any, generator: Any, global_shape: Any, start: Any) -> Any:
    """The box path of random_bits_ / uniform_ / normal_ / trunc_normal_ (their ``params`` already
    checked): validates the target, the box and the randomness (in that order, so a generator only
    advances for a call that writes), then fills the box in place."""
    arr = _random.as_target(x, bits=dist == "bits")
    box = check_box(arr.shape, global_shape, start)
    assert box is not None
    g, s = box
    if dist == "uniform":
        values: Tuple[Tuple[str, float], ...] = (("a", params[0]), ("b", params[1]))
        span: Optional[float] = params[1] - params[0]
    elif dist in ("normal", "trunc_normal"):
        values, span = (("mean", params[0]), ("std", params[1])), None
    else:
        values, span = (), None
    arr, key, sid, offset, threads = _random._prepare(x, seed, stream, offset, threads, generator,
                                                      bits=dist == "bits", values=values, span=span)
    _random._check_offset(offset, math.prod(g))
    p = tuple(float(v) for v in params) + (0.0,) * (4 - len(params))
    _core.fill_random_box(arr, dist, key, sid, offset, p, list(g), list(s), threads)
    return x


def global_view_shape(view: np.ndarray, global_shape: Any, start: Any) -> Tuple[int, ...]:
    """The shape fans and gains are computed from: the global tensor's when a box is given."""
    box = check_box(view.shape, global_shape, start)
    return view.shape if box is None else box[0]


def box_slices(box: Box, shape: Tuple[int, ...]) -> Tuple[slice, ...]:
    """The box as slices of the global tensor."""
    return tuple(slice(lo, lo + n) for lo, n in zip(box[1], shape))


# ------------------------------------------------------------------ schemes that are not elementwise

def check_orthogonal(global_shape: Tuple[int, ...]) -> None:
    """orthogonal_ of a box computes the whole matrix: refused above ORTHOGONAL_BOX_MAX elements."""
    size = math.prod(global_shape)
    if size > ORTHOGONAL_BOX_MAX:
        raise ValueError(
            f"orthogonal_ cannot fill a box of a global tensor of {size} elements (global_shape="
            f"{global_shape}): every element of an orthogonal matrix depends on all of it (a QR of the "
            f"whole matrix), so each box would compute the full matrix; that is allowed up to "
            f"weightinit._box.ORTHOGONAL_BOX_MAX = {ORTHOGONAL_BOX_MAX} elements. Fill the whole tensor "
            f"once and slice it, or use an elementwise scheme."
        )


def eye_box(view: np.ndarray, box: Box, value: np.ndarray) -> None:
    """The box of gain * I (zeros written already): diagonal entries i with (i, i) inside the box."""
    (rows, cols), (r0, c0) = box
    h, w = view.shape
    i = np.arange(max(r0, c0), min(r0 + h, c0 + w, rows, cols))
    view[i - r0, i - c0] = value


def dirac_box(view: np.ndarray, box: Box, index: Tuple[np.ndarray, ...], value: np.ndarray) -> None:
    """The box of a tensor that is `value` at the global ``index`` arrays (zeros written already)."""
    _, st = box
    inside = np.ones(index[0].shape, dtype=bool)
    local = []
    for ix, lo, n in zip(index, st, view.shape):
        ix = np.asarray(ix)
        inside &= (ix >= lo) & (ix < lo + n)
        local.append(ix - lo)
    view[tuple(np.broadcast_to(ix, inside.shape)[inside] for ix in local)] = value


def delta_orthogonal_box(view: np.ndarray, box: Box, ia: int, oa: int, q: np.ndarray,
                         store: Callable[[np.ndarray, np.ndarray], None]) -> None:
    """The box of a delta-orthogonal kernel (zeros written already): the (out, in) matrix q at the
    centre tap (k - 1) // 2 of every spatial axis, where that tap lies in the box."""
    g, st = box
    idx: List[Union[slice, int]] = []
    for d, (k, lo, n) in enumerate(zip(g, st, view.shape)):
        if d in (ia, oa):
            idx.append(slice(None))
            continue
        c = (k - 1) // 2
        if not lo <= c < lo + n:
            return  # the box holds no centre tap: all zeros
        idx.append(c - lo)
    m = q if oa < ia else q.T  # the axes of view[idx], in order
    first, second = sorted((ia, oa))
    store(view[tuple(idx)], m[st[first]:st[first] + view.shape[first], st[second]:st[second] + view.shape[second]])


def select_box(view_units_first: np.ndarray, box_units: Tuple[int, int], members_shape: Tuple[int, ...],
               member_slices: Tuple[slice, ...], k: int, key: int, stream: int, threads: int, zero_selected: bool,
               block: int) -> None:
    """Zeroes, for the units [u_start, u_start + n) of a selection (the core's select_smallest: per unit
    the k members with the smallest keys word(unit * members + m) << 32 | m), the selected members
    (zero_selected) or the others, where they fall in the box. ``view_units_first`` is the box with
    the unit axis first; its other axes are ``member_slices`` of the unit's members (``members_shape``,
    C order). Cost: the selection of every unit the box touches, over all of its members (the mask
    words of the whole unit), in blocks of about ``block`` members."""
    u_start, n_units = box_units
    members = math.prod(members_shape)
    step = max(1, block // max(members, 1))
    zero = np.zeros((), dtype=view_units_first.dtype)
    for u0 in range(0, n_units, step):
        u1 = min(n_units, u0 + step)
        mask = np.empty((u1 - u0, members), dtype=bool)
        _core.select_smallest(mask, k, key, stream, u_start + u0, threads)
        hit = mask.reshape((u1 - u0,) + tuple(members_shape))[(slice(None),) + tuple(member_slices)]
        np.copyto(view_units_first[u0:u1], zero, where=hit if zero_selected else ~hit)
