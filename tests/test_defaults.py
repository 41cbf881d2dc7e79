"""torch_default_: torch's reset_parameters, with the same parameters, from weightinit's streams."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import weightinit._random as _random
from weightinit import schemes as S
from weightinit._random import Generator, derive_stream, stream_id
from weightinit.defaults import TORCH_DEFAULT_KINDS, torch_default_


class Recorder:
    def __init__(self, monkeypatch):
        self.calls = []
        for name in ("uniform_", "normal_"):
            monkeypatch.setattr(_random, name, self._make(name))

    def _make(self, name):
        default = {"uniform_": (0.0, 1.0), "normal_": (0.0, 1.0)}[name]

        def fake(x, *args, **kw):
            args = tuple(float(a) for a in args) + default[len(args):]
            self.calls.append((name, tuple(x.shape)) + args)
            return x
        return fake


def torch_bound(weight_shape):
    fan_in = weight_shape[1] * math.prod(weight_shape[2:])
    return 1 / math.sqrt(fan_in) if fan_in > 0 else 0


@pytest.mark.parametrize("kind, shape", [("linear", (64, 32)), ("conv1d", (16, 8, 5)),
                                         ("conv2d", (16, 8, 3, 3)), ("conv3d", (8, 4, 3, 3, 3)),
                                         ("Conv2d", (4, 2, 1, 1)), ("conv_transpose2d", (8, 4, 3, 3))])
def test_linear_and_conv_formula(monkeypatch, kind, shape):
    rec = Recorder(monkeypatch)
    torch_default_(kind, np.empty(shape, np.float32), np.empty(shape[0] if "transpose" not in kind
                                                                else shape[1], np.float32), seed=1)
    fan_in = shape[1] * math.prod(shape[2:])
    gain = math.sqrt(2.0 / (1 + math.sqrt(5) ** 2))
    wb = math.sqrt(3.0) * (gain / math.sqrt(fan_in))
    bb = 1 / math.sqrt(fan_in)
    bias_len = shape[0] if "transpose" not in kind else shape[1]
    assert rec.calls == [("uniform_", shape, -wb, wb), ("uniform_", (bias_len,), -bb, bb)]
    assert abs(wb - bb) < 1e-15  # torch issue 57109: a = sqrt(5) means U(-1/sqrt(fan_in), ...)


def test_values_and_streams():
    w, b = np.empty((64, 32), np.float32), np.empty(64, np.float32)
    torch_default_("linear", w, b, seed=5, stream="fc")
    ref_w = S.kaiming_uniform((64, 32), a=math.sqrt(5), seed=5, stream="fc")
    assert w.tobytes() == ref_w.tobytes()
    bound = torch_bound((64, 32))
    ref_b = _random.uniform((64,), -bound, bound, seed=5,
                            stream=derive_stream(stream_id("fc"), "bias"))
    assert b.tobytes() == ref_b.tobytes()
    assert np.abs(w).max() <= np.float32(bound) and np.abs(b).max() <= np.float32(bound)
    # model-level init names both streams
    torch_default_("linear", w, b, seed=5, stream="fc.weight", bias_stream="fc.bias")
    assert b.tobytes() == _random.uniform((64,), -bound, bound, seed=5, stream="fc.bias").tobytes()
    assert w.tobytes() == S.kaiming_uniform((64, 32), a=math.sqrt(5), seed=5,
                                            stream="fc.weight").tobytes()


def test_reproducible_and_thread_invariant():
    def run(**kw):
        w, b = np.empty((1024, 256), np.float32), np.empty(1024, np.float32)
        return torch_default_("linear", w, b, seed=9, **kw)

    a, b1, c = run(), run(threads=1), run(threads=2)
    assert a[0].tobytes() == b1[0].tobytes() == c[0].tobytes()
    assert a[1].tobytes() == b1[1].tobytes() == c[1].tobytes()
    g = Generator(4)
    first = torch_default_("linear", np.empty((8, 4)), np.empty(8), generator=g)
    assert g.calls == 1  # one resolution for weight and bias
    second = torch_default_("linear", np.empty((8, 4)), np.empty(8), generator=Generator(4))
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])


def test_embedding():
    w = np.empty((1000, 1000), np.float32)
    torch_default_("Embedding", w, padding_idx=-2, seed=3)
    assert not w[998].any()
    rest = np.delete(w, 998, axis=0)
    assert stats.kstest(rest.ravel().astype(np.float64), "norm").pvalue > 1e-4
    ref = _random.normal((1000, 1000), seed=3)
    assert np.array_equal(rest, np.delete(ref, 998, axis=0))


@pytest.mark.parametrize("kind", ["layer_norm", "BatchNorm2d", "group_norm", "InstanceNorm1d",
                                  "batch_norm"])
def test_norms_are_ones_and_zeros_and_draw_nothing(kind):
    w, b = np.full((3, 4), 7.0), np.full((3, 4), 7.0)
    g = Generator(1)
    assert torch_default_(kind, w, b, generator=g) == (w, b)
    assert (w == 1).all() and (b == 0).all() and g.calls == 0
    w = np.full(5, 7.0, np.float32)
    torch_default_("rms_norm", w)
    assert (w == 1).all()


@pytest.mark.parametrize("kind, gates", [("lstm", 4), ("gru", 3), ("rnn", 1), ("LSTMCell", 4)])
def test_rnns(monkeypatch, kind, gates):
    rec = Recorder(monkeypatch)
    hidden = 20
    torch_default_(kind, np.empty((gates * hidden, 7)), np.empty(gates * hidden), seed=1)
    torch_default_(kind, np.empty((gates * hidden, hidden)), seed=1)
    torch_default_(kind, np.empty((5, hidden)), hidden_size=hidden, seed=1)  # LSTM weight_hr
    stdv = 1.0 / math.sqrt(hidden)
    assert [c[2:] for c in rec.calls] == [(-stdv, stdv)] * 4


def test_bilinear(monkeypatch):
    rec = Recorder(monkeypatch)
    torch_default_("bilinear", np.empty((6, 5, 4)), np.empty(6), seed=1)
    bound = 1 / math.sqrt(5)
    assert [c[2:] for c in rec.calls] == [(-bound, bound)] * 2


def test_kinds():
    assert {"linear", "conv1d", "conv2d", "conv3d", "embedding", "layer_norm",
            "batch_norm"} <= set(TORCH_DEFAULT_KINDS)
    with pytest.raises(ValueError) as info:
        torch_default_("attention", np.empty((3, 3)), seed=1)
    for kind in TORCH_DEFAULT_KINDS:
        assert kind in str(info.value)
    with pytest.raises(TypeError, match="kind must be a str"):
        torch_default_(None, np.empty((3, 3)), seed=1)


@pytest.mark.parametrize(
    "args, kw, exc, match",
    [
        (("linear", (3, 4, 5), (3,)), {}, ValueError, "weight of a linear layer must have 2 dimensions"),
        (("conv2d", (3, 4, 5), (3,)), {}, ValueError, "weight of a conv2d layer must have 4"),
        (("linear", (3, 4), (4,)), {}, ValueError, r"bias must have shape \(3,\)"),
        (("embedding", (3, 4), (3,)), {}, ValueError, "bias must be None for an embedding"),
        (("embedding", (3, 4), None), {"padding_idx": 3}, ValueError, "padding_idx must be in"),
        (("rms_norm", (4,), (4,)), {}, ValueError, "bias must be None for rms_norm"),
        (("lstm", (6, 4), None), {}, ValueError, "cannot derive hidden_size"),
        (("linear", None, (3,)), {}, TypeError, "weight is required"),
        (("linear", (3, 4), (3,)), {"seed": -1}, ValueError, "seed"),
        (("linear", (3, 4), (3,)), {"threads": 0}, ValueError, "threads"),
        (("linear", (3, 4), (3,)), {"bias_stream": 1.5}, TypeError, "stream"),
    ],
)
def test_errors_leave_everything_untouched(args, kw, exc, match):
    kind, wshape, bshape = args
    w = None if wshape is None else np.full(wshape, 7.0)
    b = None if bshape is None else np.full(bshape, 7.0)
    with pytest.raises(exc, match=match):
        torch_default_(kind, w, b, **kw)
    for p in (w, b):
        assert p is None or (p == 7.0).all()


def test_read_only_bias_leaves_the_weight_untouched():
    w, b = np.full((3, 4), 7.0), np.full(3, 7.0)
    b.flags.writeable = False
    with pytest.raises(ValueError, match="bias is read-only"):
        torch_default_("linear", w, b, seed=1)
    assert (w == 7.0).all()


# ------------------------------------------------------------------- against torch itself

def torch_calls(monkeypatch, torch, make):
    calls = []

    def uniform_(t, a=0.0, b=1.0, generator=None):
        calls.append(("uniform_", tuple(t.shape), float(a), float(b)))
        return t

    def normal_(t, mean=0.0, std=1.0, generator=None):
        calls.append(("normal_", tuple(t.shape), float(mean), float(std)))
        return t

    monkeypatch.setattr(torch.Tensor, "uniform_", uniform_)
    monkeypatch.setattr(torch.Tensor, "normal_", normal_)
    module = make()
    monkeypatch.undo()
    return module, calls


MODULES = [
    ("linear", lambda nn: nn.Linear(32, 64)),
    ("linear", lambda nn: nn.Linear(1, 3)),
    ("conv1d", lambda nn: nn.Conv1d(8, 16, 5)),
    ("conv2d", lambda nn: nn.Conv2d(6, 12, 3, groups=3)),
    ("conv3d", lambda nn: nn.Conv3d(4, 8, (3, 2, 1))),
    ("conv_transpose2d", lambda nn: nn.ConvTranspose2d(8, 6, 3, groups=2)),
    ("bilinear", lambda nn: nn.Bilinear(5, 4, 6)),
    ("embedding", lambda nn: nn.Embedding(10, 4, padding_idx=2)),
    ("layer_norm", lambda nn: nn.LayerNorm((4, 5))),
    ("batch_norm", lambda nn: nn.BatchNorm2d(7)),
]


@pytest.mark.parametrize("kind, make", MODULES, ids=[m[0] for m in MODULES])
def test_parameters_equal_torch_to_the_last_bit(monkeypatch, kind, make):
    torch = pytest.importorskip("torch")
    module, theirs = torch_calls(monkeypatch, torch, lambda: make(torch.nn))
    ours = Recorder(monkeypatch)
    weight = np.empty(tuple(module.weight.shape), np.float32)
    bias = None if getattr(module, "bias", None) is None else np.empty(tuple(module.bias.shape),
                                                                       np.float32)
    torch_default_(kind, weight, bias, padding_idx=getattr(module, "padding_idx", None), seed=0)
    assert ours.calls == theirs
    if kind == "embedding":
        assert not weight[module.padding_idx].any()
    if kind in ("layer_norm", "batch_norm"):
        assert np.array_equal(weight, module.weight.detach().numpy())
        assert np.array_equal(bias, module.bias.detach().numpy())


def test_lstm_equals_torch(monkeypatch):
    torch = pytest.importorskip("torch")
    module, theirs = torch_calls(monkeypatch, torch, lambda: torch.nn.LSTM(7, 20, proj_size=5))
    ours = Recorder(monkeypatch)
    for p in module.parameters():
        torch_default_("lstm", np.empty(tuple(p.shape)), hidden_size=20, seed=0)
    assert [c[1:] for c in ours.calls] == [c[1:] for c in theirs]


def test_fills_torch_parameters_in_place():
    torch = pytest.importorskip("torch")
    lin = torch.nn.Linear(16, 8).to(torch.bfloat16)
    torch_default_("linear", lin.weight, lin.bias, seed=1, stream="fc")
    ref = S.kaiming_uniform((8, 16), a=math.sqrt(5), dtype="bfloat16", seed=1, stream="fc")
    assert np.array_equal(lin.weight.detach().float().numpy(), ref.astype(np.float32))
    assert lin.weight.requires_grad


def test_one_table_of_torch_layer_defaults_is_what_every_reader_uses():
    from weightinit import architectures
    from weightinit.defaults import torch_layer_rules
    rules = torch_layer_rules("linear", (64, 32))
    assert rules == {"weight": ("kaiming_uniform_", {"a": math.sqrt(5)}),
                     "bias": ("uniform_", {"a": -1 / math.sqrt(32), "b": 1 / math.sqrt(32)})}
    got = dict(architectures._torch_linear(64, 32))
    assert (got["weight"].init, got["weight"].kwargs) == rules["weight"]
    assert (got["bias"].init, got["bias"].kwargs) == rules["bias"]
    assert torch_layer_rules("Conv2d", (16, 8, 3, 3))["bias"][1]["b"] == 1 / math.sqrt(72)
    assert torch_layer_rules("lstm", hidden_size=4)["weight"] == ("uniform_", {"a": -0.5, "b": 0.5})
    assert torch_layer_rules("rms_norm") == {"weight": ("ones_", {})}
