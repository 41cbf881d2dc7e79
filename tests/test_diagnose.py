"""diagnose(): per-layer statistics, the verdict rule on constructed cases, and diagnose_module."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import weightinit as wi
from weightinit.diagnose import VERDICTS, LayerStats, _verdict

DEEP = [256] * 31  # 30 layers


def one_word(verdict: str) -> str:
    found = [w for w in VERDICTS if w in verdict]
    assert len(found) == 1, verdict
    return found[0]


# ------------------------------------------------------------------ verdicts on constructed nets

def test_he_on_relu_is_healthy():
    d = wi.diagnose(DEEP, "relu", "kaiming_normal", batch=64)
    assert one_word(d.verdict) == d.word == "healthy" and d.layer == 0 and d.concerns == ""
    assert 1 / 10 < d.act_ratio < 10


def test_he_doubled_on_relu_explodes():
    d = wi.diagnose(DEEP, "relu", "variance_scaling", batch=64, scale=4.0, distribution="normal")
    assert one_word(d.verdict) == "exploding" and d.concerns == "activations"
    assert d.act_ratio > 2.0 ** 20  # variance doubles per layer
    assert 2 <= d.layer <= 6  # 2^(l-1) leaves the factor 10 at layer 5, give or take


def test_xavier_on_relu_vanishes():
    d = wi.diagnose(DEEP, "relu", "xavier_normal", batch=64)
    assert one_word(d.verdict) == "vanishing" and d.concerns == "activations"
    assert d.act_ratio < 2.0 ** -20
    assert "layer" in d.verdict and str(d.layer) in d.verdict


def test_constant_weights_are_symmetric():
    for act in ("relu", "tanh", "sigmoid"):
        d = wi.diagnose([64] * 6, act, "constant", val=0.01, batch=16)
        assert one_word(d.verdict) == "symmetric" and d.layer == 1, d.verdict
        assert d.layers[0].symmetric


def test_zero_weights():
    assert wi.diagnose([64] * 6, "relu", "zeros", batch=16).word == "dead"  # all outputs 0
    assert wi.diagnose([64] * 6, "sigmoid", "zeros_", batch=16).word == "symmetric"  # all 0.5


def test_large_weights_saturate_tanh():
    d = wi.diagnose([256] * 6, "tanh", "normal", std=1.0, batch=32)
    assert one_word(d.verdict) == "saturated" and d.layer == 1
    assert d.layers[0].saturated > 0.8


def test_selu_gradients_explode_through_50_layers():
    d = wi.diagnose([256] * 51, "selu", "lecun_normal", batch=64)
    assert one_word(d.verdict) == "exploding" and d.concerns == "gradients"
    assert 1 / 3 < d.act_ratio < 3  # forward self-normalization holds
    assert 10 < d.gradient_growth < 100  # chi_1^49 = 29.6


def test_deep_sigmoid_gradient_does_not_underflow():
    d = wi.diagnose([128] * 51, "sigmoid", "xavier_uniform", batch=32)
    assert d.word == "vanishing" and d.concerns == "gradients"
    assert 0 < d.gradient_growth < 1e-50 and np.all(d.column("grad_var") > 0)


# --------------------------------------------------------------------------- the rule, exactly

def _stats(act_ratios, grad_vars, saturated=0.0, dead=0.0, symmetric_at=None):
    out = []
    for i, (r, g) in enumerate(zip(act_ratios, grad_vars)):
        out.append(LayerStats(i + 1, 8, 0.0, 1.0, 0.0, r, saturated if i == 1 else 0.0,
                              dead if i == 2 else 0.0, symmetric_at == i + 1, g, 1.0, r,
                              g / grad_vars[0], 1.0, 1.0, 1.0, 1.0))
    return out


@pytest.mark.parametrize("acts, grads, expect", [
    ([1, 1, 10.0], [1, 1, 1], "healthy"),  # a factor of exactly `tolerance` is inside
    ([1, 1, 0.1], [1, 1, 1], "healthy"),
    ([1, 1, 10.01], [1, 1, 1], "exploding"),
    ([1, 1, 0.0999], [1, 1, 1], "vanishing"),
    ([1, 1, math.inf], [1, 1, 1], "exploding"),
    ([1, 1, math.nan], [1, 1, 1], "exploding"),
    ([1, 1, 1], [10.01, 1, 1], "exploding"),  # layer 1's gradient 10.01x the last's
    ([1, 1, 1], [0.0999, 1, 1], "vanishing"),
    ([1, 1, 1], [10.0, 1, 1], "healthy"),
])
def test_rule_bands(acts, grads, expect):
    word, concerns, _, sentence = _verdict(_stats(acts, grads), 10.0)
    assert word == expect and one_word(sentence) == expect


def test_rule_order_and_thresholds():
    assert _verdict(_stats([1, 1, 1], [1, 1, 1], saturated=0.5), 10)[0] == "healthy"
    assert _verdict(_stats([1, 1, 1], [1, 1, 1], saturated=0.51), 10)[:3] == ("saturated",
                                                                               "activations", 2)
    assert _verdict(_stats([1, 1, 1], [1, 1, 1], dead=0.5), 10)[0] == "healthy"
    assert _verdict(_stats([1, 1, 1], [1, 1, 1], dead=0.51), 10)[:3] == ("dead", "activations",
                                                                          3)
    # symmetric before dead before saturated before the variance bands
    both = _stats([1, 1, 1e9], [1, 1, 1], saturated=0.9, dead=0.9, symmetric_at=3)
    assert _verdict(both, 10)[0] == "symmetric"
    assert _verdict(_stats([1, 1, 1e9], [1, 1, 1], saturated=0.9, dead=0.9), 10)[0] == "dead"
    assert _verdict(_stats([1, 1, 1e9], [1, 1, 1], saturated=0.9), 10)[0] == "saturated"
    assert _verdict(_stats([1, 1, 20], [1, 1, 1]), 100)[0] == "healthy"  # tolerance widens it


# ---------------------------------------------------------------------- statistics and theory

def test_prediction_beside_measurement():
    d = wi.diagnose([512] * 11, "tanh", "xavier_normal", gain=5 / 3, batch=256)
    np.testing.assert_allclose(d.column("act_var"), d.column("predicted_act_var"), rtol=0.1)
    np.testing.assert_allclose(d.column("preact_var"), d.column("predicted_preact_var"),
                               rtol=0.1)
    np.testing.assert_allclose(d.column("grad_var"), d.column("predicted_grad_var"), rtol=0.2)
    assert d.layers[0].act_ratio == 1.0 and d.layers[0].grad_ratio == 1.0


def test_relu_statistics():
    d = wi.diagnose([256] * 4, "relu", "kaiming_normal", batch=128)
    s = d.layers[0]
    assert s.preact_var == pytest.approx(2.0, rel=0.1)  # He: Var(z) = 2 Var(x)
    assert s.act_mean == pytest.approx(1 / math.sqrt(math.pi), rel=0.1)  # E relu(N(0, 2))
    assert s.saturated == 0.0 and s.dead == 0.0  # ReLU's off half is not saturation
    assert s.weight_grad_var > 0


def test_reproducible_and_json():
    a = wi.diagnose([32] * 5, "gelu", "kaiming_uniform", batch=16, seed=7)
    b = wi.diagnose([32] * 5, "gelu", "kaiming_uniform_", batch=16, seed=7)
    assert a.to_dict() == {**b.to_dict(), "scheme": a.scheme}
    data = json.loads(json.dumps(a.to_dict()))
    assert data["word"] == a.word and len(data["layers"]) == 4
    assert wi.diagnose([32] * 5, "gelu", "kaiming_uniform", batch=16, seed=8).to_dict() != \
        a.to_dict()
    text = str(a)
    assert a.verdict in text and len(text.splitlines()) == 4 + 3


def test_table_prints_and_returns_nothing(capsys):
    # in a REPL a returned string would be echoed a second time, quoted and with \n escapes
    d = wi.diagnose([32] * 4, "tanh", "xavier_normal", batch=16)
    assert d.table() is None
    assert capsys.readouterr().out == str(d) + "\n"


def test_to_dict_is_strict_json_after_zero_weights():
    # zero weights make every variance 0, so the ratios to layer 1 are 0/0: JSON null, not NaN
    d = wi.diagnose([16] * 4, "relu", "zeros", batch=8)
    assert math.isnan(d.layers[-1].act_ratio)
    data = json.loads(json.dumps(d.to_dict(), allow_nan=False))
    assert data["layers"][-1]["act_ratio"] is None and data["layers"][-1]["act_var"] == 0.0
    assert data["word"] == "dead"


@pytest.mark.parametrize("scheme, kwargs, word", [
    ("kaiming_normal_", {}, "healthy"),
    ("kaiming_uniform", {"nonlinearity": "relu"}, "healthy"),
    ("xavier_uniform", {}, "vanishing"),
    ("xavier_normal", {"gain": math.sqrt(2)}, "healthy"),
    ("lecun_normal", {}, "vanishing"),
    ("normal", {"std": 0.01}, "vanishing"),
    ("normal", {"std": 1.0}, "exploding"),
    ("constant", {"val": 0.1}, "symmetric"),
    ("zeros", {}, "dead"),
    ("orthogonal", {"gain": math.sqrt(2)}, "healthy"),
    ("trunc_normal", {"std": 0.01}, "vanishing"),
    ("variance_scaling", {"scale": 2.0, "mode": "fan_in", "distribution": "truncated_normal"},
     "healthy"),
])
def test_every_kind_of_scheme_name(scheme, kwargs, word):
    # ReLU at depth 12, width 128: He's scale (2 / fan_in) is the only healthy variance
    d = wi.diagnose([128] * 13, "relu", scheme, batch=64, **kwargs)
    assert d.word == word == one_word(d.verdict), d.verdict


def test_widths_as_array_and_unfilled_callable():
    a = wi.diagnose(np.full(5, 32), "relu", "kaiming_normal", batch=16)
    b = wi.diagnose([32] * 5, "relu", "kaiming_normal", batch=16)
    assert a.to_dict() == b.to_dict()
    # a callable that fills nothing leaves zeros (not leftover memory): every unit is off
    assert wi.diagnose([32] * 5, "relu", lambda w: None, batch=16).word == "dead"


def test_scheme_that_cannot_fill_a_matrix_names_scheme():
    with pytest.raises(ValueError, match="scheme dirac_"):
        wi.diagnose([16] * 3, "relu", "dirac")


def test_schemes_as_recommendation_and_callable():
    named = wi.diagnose([64] * 4, "relu", "kaiming_normal", batch=32)
    rec = wi.diagnose([64] * 4, "relu", wi.recommend("relu"), batch=32)
    call = wi.diagnose([64] * 4, "relu",
                       lambda w, seed, stream: wi.kaiming_normal_(w, seed=seed, stream=stream),
                       batch=32)
    for d in (rec, call):
        np.testing.assert_array_equal(d.column("act_var"), named.column("act_var"))
    relu = wi.diagnose([64] * 4, lambda x: np.maximum(x, 0), "kaiming_normal", batch=32)
    np.testing.assert_allclose(relu.column("act_var"), named.column("act_var"), rtol=1e-6)
    np.testing.assert_allclose(relu.column("predicted_act_var"),
                               named.column("predicted_act_var"), rtol=1e-6)


def test_softmax_runs():
    d = wi.diagnose([32] * 4, "softmax", "xavier_uniform", batch=16)
    np.testing.assert_allclose(d.layers[0].act_mean, 1 / 32, rtol=1e-5)  # rows sum to 1
    assert math.isnan(d.layers[0].predicted_act_var)


@pytest.mark.parametrize("kwargs, arg", [
    (dict(widths=[]), "widths"),
    (dict(widths=[16]), "widths"),
    (dict(widths=[16, 0, 16]), r"widths\[1\]"),
    (dict(widths="256x3"), "widths"),
    (dict(activation="relux"), "activation"),
    (dict(activation=3), "activation"),
    (dict(scheme="kaiming_nrml"), "scheme"),
    (dict(scheme=3), "scheme"),
    (dict(batch=1), "batch"),
    (dict(bias=float("nan")), "bias"),
    (dict(tolerance=1), "tolerance"),
    (dict(seed=-1), "seed"),
    (dict(bias_std=-0.1), "bias_std"),
    (dict(seed_=None, stream="x"), "stream"),
    (dict(scheme="normal", gain=2.0), "gain"),
])
def test_bad_input(kwargs, arg):
    kw = dict(widths=[16] * 3, activation="relu", scheme="kaiming_normal")
    kw.update({k: v for k, v in kwargs.items() if not k.endswith("_")})
    with pytest.raises((ValueError, TypeError), match=arg):
        wi.diagnose(kw.pop("widths"), kw.pop("activation"), kw.pop("scheme"), **kw)


def test_recommendation_refuses_extra_keywords():
    with pytest.raises(TypeError, match="Recommendation"):
        wi.diagnose([16] * 3, "relu", wi.recommend("relu"), gain=2.0)


# ------------------------------------------------------------------------- diagnose_module

def _sequential(torch, widths, act_module, seed):
    layers = []
    for k in range(1, len(widths)):
        lin = torch.nn.Linear(widths[k - 1], widths[k], bias=False)
        wi.kaiming_normal_(lin.weight.data, seed=seed, stream=f"diagnose.layer{k}.weight")
        layers += [lin, act_module()]
    return torch.nn.Sequential(*layers)


def test_diagnose_module_matches_diagnose():
    torch = pytest.importorskip("torch")
    from weightinit.torch import diagnose_module

    widths, seed = [24, 48, 48, 48, 12], 5
    for name, mod in (("relu", torch.nn.ReLU), ("tanh", torch.nn.Tanh)):
        m = _sequential(torch, widths, mod, seed)
        x = torch.from_numpy(wi.normal((64, widths[0]), seed=seed, stream="diagnose.input"))
        got = diagnose_module(m, x, seed=seed)
        want = wi.diagnose(widths, name, "kaiming_normal", batch=64, seed=seed)
        for col in ("preact_mean", "preact_var", "act_mean", "act_var", "grad_var",
                    "weight_grad_var", "act_ratio", "grad_ratio"):
            np.testing.assert_allclose(got.column(col), want.column(col), rtol=1e-4, atol=1e-9,
                                       err_msg=col)
        for col in ("saturated", "dead"):
            np.testing.assert_array_equal(got.column(col), want.column(col))
        assert got.word == want.word and got.widths == tuple(widths)
        assert all(p.grad is None for p in m.parameters())  # the model's grads are left alone


def test_diagnose_module_meta_and_conv():
    torch = pytest.importorskip("torch")
    from weightinit.torch import diagnose_module, init_module

    m = torch.nn.Sequential(torch.nn.Linear(32, 64, device="meta"), torch.nn.ReLU(),
                            torch.nn.Linear(64, 64, device="meta"), torch.nn.ReLU())
    with pytest.raises(ValueError, match="meta"):
        diagnose_module(m, torch.zeros(4, 32))
    init_module(m, 0, "recommended")
    d = diagnose_module(m, torch.randn(128, 32, generator=torch.Generator().manual_seed(0)))
    assert d.word == "healthy" and len(d.layers) == 2 and d.layers[0].saturated == 0.0
    conv = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Tanh(),
                               torch.nn.Conv2d(8, 8, 3), torch.nn.Tanh())
    with torch.no_grad():
        for p in conv.parameters():
            p.fill_(0.05)
    d = diagnose_module(conv, torch.randn(2, 3, 12, 12))
    assert d.word == "symmetric" and d.widths == (3, 8, 8)
    with pytest.raises(TypeError, match="module"):
        diagnose_module("net", torch.zeros(1))
