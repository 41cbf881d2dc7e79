"""calculate_gain: torch's names and values, to the last bit; unknown names list the known ones."""

from __future__ import annotations

import math

import numpy as np
import pytest

from weightinit.gains import NONLINEARITIES, calculate_gain

DOCUMENTED = {
    "linear": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0, "conv_transpose1d": 1.0,
    "conv_transpose2d": 1.0, "conv_transpose3d": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3,
    "relu": math.sqrt(2.0), "leaky_relu": math.sqrt(2.0 / (1 + 0.01**2)), "selu": 0.75,
}
SLOPES = [None, 0, 1, 3, 0.2, -0.3, 0.01, math.sqrt(5), 1e-8]


def test_known_names():
    assert set(NONLINEARITIES) == set(DOCUMENTED)


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_documented_values(name):
    assert calculate_gain(name) == DOCUMENTED[name]


@pytest.mark.parametrize("slope", SLOPES)
def test_leaky_relu_formula(slope):
    s = 0.01 if slope is None else slope
    assert calculate_gain("leaky_relu", slope) == math.sqrt(2.0 / (1 + s**2))


def test_param_ignored_except_for_leaky_relu():
    assert calculate_gain("relu", 0.5) == math.sqrt(2.0)
    assert calculate_gain("tanh", "anything") == 5.0 / 3


def test_numpy_scalar_slope_is_a_double():
    assert calculate_gain("leaky_relu", np.float32(0.2)) == math.sqrt(2.0 / (1 + float(np.float32(0.2))**2))


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError) as info:
        calculate_gain("swishy")
    msg = str(info.value)
    assert "'swishy'" in msg
    for name in NONLINEARITIES:
        assert name in msg


@pytest.mark.parametrize(
    "args, exc, match",
    [
        ((None,), TypeError, "nonlinearity must be a str"),
        (("leaky_relu", True), TypeError, "param"),
        (("leaky_relu", "0.1"), TypeError, "param"),
        (("leaky_relu", float("nan")), ValueError, "param .* must be finite"),
        (("leaky_relu", float("inf")), ValueError, "param .* must be finite"),
    ],
)
def test_bad_arguments(args, exc, match):
    with pytest.raises(exc, match=match):
        calculate_gain(*args)


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_equals_torch(name):
    pytest.importorskip("torch")
    from torch.nn.init import calculate_gain as torch_gain

    assert calculate_gain(name) == torch_gain(name)


@pytest.mark.parametrize("slope", SLOPES)
def test_leaky_relu_equals_torch(slope):
    pytest.importorskip("torch")
    from torch.nn.init import calculate_gain as torch_gain

    assert calculate_gain("leaky_relu", slope) == torch_gain("leaky_relu", slope)
