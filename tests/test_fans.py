"""compute_fans: torch's layout by default, JAX's _compute_fans by axes, errors naming the argument."""

from __future__ import annotations

import math

import numpy as np
import pytest

from weightinit.fans import JAX_AXES, TORCH_AXES, Fans, compute_fans


def torch_formula(shape):
    """torch.nn.init._calculate_fan_in_and_fan_out, as documented."""
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def jax_formula(shape, in_axis=-2, out_axis=-1, batch_axis=()):
    """jax.nn.initializers._compute_fans, as written there (float divisions of the total)."""
    def size(axes):
        return shape[axes] if isinstance(axes, int) else math.prod(shape[i] for i in axes)

    in_size, out_size, batch_size = size(in_axis), size(out_axis), size(batch_axis)
    receptive = math.prod(shape) / in_size / out_size / batch_size
    return in_size * receptive, out_size * receptive


TORCH_SHAPES = [
    (3, 5), (5, 3), (1, 1), (7, 1), (64, 3, 7, 7), (16, 8, 3), (2, 3, 4, 5, 6), (8, 4, 1, 1),
    (32, 16, 3, 3, 3), (4, 6, 2, 3, 4, 5),
]

JAX_CASES = [
    ((3, 5), {}),
    ((7, 7, 3, 64), {}),
    ((3, 16, 8), {}),
    ((3, 3, 3, 16, 32), {}),
    ((4, 3, 5), {"batch_axis": 0}),
    ((4, 2, 3, 5), {"batch_axis": (0, 1)}),
    ((5, 6, 7), {"in_axis": 0, "out_axis": 2}),
    ((2, 3, 4, 5), {"in_axis": (0, 1), "out_axis": -1}),
    ((2, 3, 4, 5), {"in_axis": -2, "out_axis": (0, 1)}),
    ((6, 2, 3, 4), {"in_axis": 1, "out_axis": 3, "batch_axis": (0,)}),
    ((10, 4, 3, 3), {"in_axis": 1, "out_axis": 0}),  # torch's layout through JAX's axes
]


@pytest.mark.parametrize("shape", TORCH_SHAPES)
def test_default_layout_is_torch(shape):
    fans = compute_fans(shape)
    assert isinstance(fans, Fans)
    assert fans == torch_formula(shape)
    assert type(fans.fan_in) is int and type(fans.fan_out) is int
    assert compute_fans(shape, **TORCH_AXES) == fans


@pytest.mark.parametrize("shape, axes", JAX_CASES)
def test_axes_match_jax_compute_fans(shape, axes):
    kw = dict(JAX_AXES)
    kw.update(axes)
    fan_in, fan_out = compute_fans(shape, **kw)
    jin, jout = jax_formula(shape, kw["in_axis"], kw["out_axis"], kw["batch_axis"])
    assert (fan_in, fan_out) == (jin, jout)
    assert isinstance(fan_in, int)


def test_jax_layout_of_a_conv_kernel():
    # Flax Conv kernel (kh, kw, in, out) and torch's (out, in, kh, kw) of the same layer agree
    assert compute_fans((3, 3, 16, 32), **JAX_AXES) == compute_fans((32, 16, 3, 3)) == (144, 288)


def test_arrays_give_their_shape():
    assert compute_fans(np.empty((4, 3, 2))) == (6, 8)


def test_zero_sized_dims_follow_torch():
    assert compute_fans((0, 5)) == (5, 0)
    assert compute_fans((4, 0, 3)) == (0, 12)


@pytest.mark.parametrize("shape", [(), (5,), 7])
def test_fewer_than_two_dims_is_an_error(shape):
    with pytest.raises(ValueError, match="shape must have at least 2 dimensions"):
        compute_fans(shape)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"in_axis": 3}, ValueError, "in_axis=3 is out of range"),
        ({"out_axis": -4}, ValueError, "out_axis=-4 is out of range"),
        ({"batch_axis": (5,)}, ValueError, "batch_axis"),
        ({"in_axis": 0, "out_axis": 0}, ValueError, "in_axis and out_axis share axis 0"),
        ({"in_axis": -3, "out_axis": 0}, ValueError, "in_axis and out_axis share axis 0"),
        ({"batch_axis": 1}, ValueError, "in_axis and batch_axis share axis 1"),
        ({"batch_axis": 0}, ValueError, "out_axis and batch_axis share axis 0"),
        ({"in_axis": (1, 1)}, ValueError, "in_axis=.* repeats axis 1"),
        ({"in_axis": 1.0}, TypeError, "in_axis must be an int or a sequence of ints"),
        ({"out_axis": "0"}, TypeError, "out_axis must be an int or a sequence of ints"),
        ({"batch_axis": (True,)}, TypeError, "batch_axis"),
    ],
)
def test_bad_axes(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        compute_fans((4, 3, 2), **kwargs)


@pytest.mark.parametrize(
    "shape, exc, match",
    [
        ((3, -1), ValueError, "non-negative"),
        ((3, 2.0), TypeError, "shape must contain ints"),
        ((3, True), TypeError, "bool"),
        ("34", TypeError, "shape must be a sequence of ints"),
        (None, TypeError, "shape must be a sequence of ints"),
    ],
)
def test_bad_shapes(shape, exc, match):
    with pytest.raises(exc, match=match):
        compute_fans(shape)


def test_numpy_integers_are_ints():
    assert compute_fans((np.int64(4), np.int32(3))) == (3, 4)


@pytest.mark.parametrize("shape", TORCH_SHAPES + [(0, 5), (4, 0, 3)])
def test_equals_torch(shape):
    torch = pytest.importorskip("torch")
    from torch.nn.init import _calculate_fan_in_and_fan_out

    assert compute_fans(shape) == _calculate_fan_in_and_fan_out(torch.empty(shape))


@pytest.mark.parametrize("shape", [(), (5,)])
def test_torch_also_refuses_fewer_than_two_dims(shape):
    torch = pytest.importorskip("torch")
    from torch.nn.init import _calculate_fan_in_and_fan_out

    with pytest.raises(ValueError):
        _calculate_fan_in_and_fan_out(torch.empty(shape))
    with pytest.raises(ValueError):
        compute_fans(shape)
