"""recommend(): the scheme that fits an activation, and init_() applying it."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from weightinit import schemes as S
from weightinit.gains import calculate_gain
from weightinit.recommend import ACTIVATIONS, Recommendation, init_, recommend

#: activation -> (scheme, distribution, mode, gain), the advice the issue asks for
EXPECTED = {
    "linear": ("xavier_uniform_", "uniform", "fan_avg", 1.0),
    "identity": ("xavier_uniform_", "uniform", "fan_avg", 1.0),
    "sigmoid": ("xavier_uniform_", "uniform", "fan_avg", 1.0),
    "logistic": ("xavier_uniform_", "uniform", "fan_avg", 1.0),
    "tanh": ("xavier_uniform_", "uniform", "fan_avg", 5.0 / 3),
    "softmax": ("xavier_uniform_", "uniform", "fan_avg", 1.0),
    "relu": ("kaiming_normal_", "normal", "fan_in", math.sqrt(2.0)),
    "leaky_relu": ("kaiming_normal_", "normal", "fan_in", calculate_gain("leaky_relu", 0.01)),
    "prelu": ("kaiming_normal_", "normal", "fan_in", calculate_gain("leaky_relu", 0.25)),
    "elu": ("kaiming_normal_", "normal", "fan_in", math.sqrt(2.0)),
    "selu": ("lecun_normal_", "truncated_normal", "fan_in", 1.0),
    "gelu": ("kaiming_normal_", "normal", "fan_in", math.sqrt(2.0)),
    "silu": ("kaiming_normal_", "normal", "fan_in", math.sqrt(2.0)),
    "swish": ("kaiming_normal_", "normal", "fan_in", math.sqrt(2.0)),
    "mish": ("kaiming_normal_", "normal", "fan_in", math.sqrt(2.0)),
    "softplus": ("kaiming_normal_", "normal", "fan_in", math.sqrt(2.0)),
}


def test_every_required_activation_is_known():
    assert set(EXPECTED) <= set(ACTIVATIONS)


@pytest.mark.parametrize("activation", sorted(EXPECTED))
def test_advice(activation):
    rec = recommend(activation)
    assert isinstance(rec, Recommendation)
    scheme, distribution, mode, gain = EXPECTED[activation]
    assert (rec.scheme, rec.distribution, rec.mode) == (scheme, distribution, mode)
    assert rec.gain == gain
    assert rec.scale == gain * gain
    assert rec.bias == "zeros"
    assert rec.why and rec.formula
    assert rec.references and all(isinstance(r, str) and "(" in r for r in rec.references)
    assert callable(getattr(S, rec.scheme))


@pytest.mark.parametrize("activation", sorted(EXPECTED))
def test_frozen(activation):
    rec = recommend(activation)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.gain = 2.0
    assert hash(rec) == hash(recommend(activation))


def test_aliases_and_spelling():
    assert recommend("identity").activation == "linear"
    assert recommend("logistic").activation == "sigmoid"
    assert recommend("swish").activation == "silu"
    assert recommend("ReLU") == recommend("relu")
    assert recommend("Leaky-ReLU", 0.2) == recommend("leaky_relu", 0.2)
    assert recommend(" SiLU ") == recommend("silu")


def test_sigmoid_mentions_the_4x_tutorial_bound():
    assert "4x" in recommend("sigmoid").why


def test_selu_is_self_normalizing_lecun():
    rec = recommend("selu")
    assert any("Klambauer" in r for r in rec.references)
    assert "1 / fan_in" in rec.formula


def test_the_field_is_cited():
    refs = " ".join(" ".join(recommend(a).references) for a in EXPECTED)
    for author in ("Glorot", "He, K.", "LeCun", "Klambauer", "Saxe"):
        assert author in refs
    alternatives = " ".join(" ".join(recommend(a).alternatives) for a in EXPECTED)
    assert "Martens" in alternatives and "orthogonal_" in alternatives


@pytest.mark.parametrize("slope", [0.0, 0.2, 1, 3.5])
def test_slopes(slope):
    assert recommend("leaky_relu", slope).gain == calculate_gain("leaky_relu", slope)
    assert recommend("prelu", slope).gain == calculate_gain("leaky_relu", slope)
    assert dict(recommend("prelu", slope).kwargs)["a"] == slope


def test_unknown_activation_lists_the_known_ones():
    with pytest.raises(ValueError) as info:
        recommend("sine")
    for name in ACTIVATIONS:
        assert name in str(info.value)


@pytest.mark.parametrize(
    "args, exc, match",
    [
        ((None,), TypeError, "activation must be a str"),
        (("relu", 0.1), ValueError, "param is only read for leaky_relu and prelu"),
        (("leaky_relu", "0.1"), TypeError, "param must be a real number"),
        (("prelu", float("nan")), ValueError, "param must be finite"),
    ],
)
def test_bad_arguments(args, exc, match):
    with pytest.raises(exc, match=match):
        recommend(*args)


@pytest.mark.parametrize("activation", sorted(EXPECTED))
def test_init_applies_the_recommendation(activation):
    shape = (64, 32, 3)
    x = np.empty(shape, np.float32)
    assert init_(x, activation, seed=3, stream="w") is x
    rec = recommend(activation)
    ref = getattr(S, rec.scheme)(np.empty(shape, np.float32), **dict(rec.kwargs), seed=3, stream="w")
    assert x.tobytes() == ref.tobytes()
    assert rec.apply(np.empty(shape, np.float32), seed=3, stream="w").tobytes() == x.tobytes()


@pytest.mark.parametrize("activation", ["relu", "tanh", "selu", "leaky_relu"])
def test_init_variance(activation):
    shape = (500, 400)
    x = init_(np.empty(shape, np.float64), activation, seed=1)
    rec = recommend(activation)
    n = {"fan_in": 400, "fan_avg": 450}[rec.mode]
    assert abs(x.var() / (rec.scale / n) - 1) < 0.01


def test_init_passes_layout_and_randomness_keywords():
    x = init_(np.empty((3, 3, 16, 32), np.float32), "relu", in_axis=-2, out_axis=-1, seed=2,
              threads=1)
    y = S.kaiming_normal_(np.empty((3, 3, 16, 32), np.float32), nonlinearity="relu", in_axis=-2,
                          out_axis=-1, seed=2)
    assert x.tobytes() == y.tobytes()


def test_init_errors_leave_the_array_untouched():
    x = np.full((4, 3), 7.0, np.float32)
    with pytest.raises(TypeError, match="unexpected keyword argument 'gain'"):
        init_(x, "relu", gain=2.0, seed=1)
    with pytest.raises(ValueError, match="activation 'sine' is not known"):
        init_(x, "sine", seed=1)
    with pytest.raises(ValueError, match="tensor must have at least 2 dimensions"):
        init_(np.full(4, 7.0), "relu", seed=1)
    assert (x == 7.0).all()
