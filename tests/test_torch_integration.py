"""weightinit.torch.init_module: torch's per-layer defaults, in place, meta modules, schemes."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
stats = pytest.importorskip("scipy.stats")
nn = torch.nn

import weightinit as wi  # noqa: E402
from weightinit import build, models  # noqa: E402
from weightinit.torch import init_module, plan_module  # noqa: E402


def U(bound):
    return ("U", bound)


def N(std):
    return ("N", std)


def lstm_u(h):
    return U(1 / math.sqrt(h))


# layer -> (factory, {parameter: expected distribution}) for the random parameters; every other
# tensor must equal what torch's own construction gives (ones, zeros, running stats)
LAYERS = {
    "Linear": (lambda: nn.Linear(300, 200), {"weight": U(1 / math.sqrt(300)),
                                            "bias": U(1 / math.sqrt(300))}),
    "Conv1d": (lambda: nn.Conv1d(16, 32, 5), {"weight": U(1 / math.sqrt(80)),
                                             "bias": U(1 / math.sqrt(80))}),
    "Conv2d": (lambda: nn.Conv2d(16, 64, 3), {"weight": U(1 / 12), "bias": U(1 / 12)}),
    "Conv3d": (lambda: nn.Conv3d(4, 16, 3), {"weight": U(1 / math.sqrt(108)),
                                            "bias": U(1 / math.sqrt(108))}),
    # torch's fan_in of a transposed conv weight (in, out, k, k) is out * k * k
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(32, 16, 3), {"weight": U(1 / 12),
                                                                "bias": U(1 / 12)}),
    "ConvTranspose1d": (lambda: nn.ConvTranspose1d(8, 12, 4, groups=2),
                        {"weight": U(1 / math.sqrt(24)), "bias": U(1 / math.sqrt(24))}),
    "Bilinear": (lambda: nn.Bilinear(20, 30, 40), {"weight": U(1 / math.sqrt(20)),
                                                  "bias": U(1 / math.sqrt(20))}),
    "Embedding": (lambda: nn.Embedding(1000, 32, padding_idx=5), {"weight": N(1.0)}),
    "EmbeddingBag": (lambda: nn.EmbeddingBag(500, 16, padding_idx=0), {"weight": N(1.0)}),
    "LayerNorm": (lambda: nn.LayerNorm(64), {}),
    "LayerNorm-nobias": (lambda: nn.LayerNorm(64, bias=False), {}),
    "GroupNorm": (lambda: nn.GroupNorm(4, 64), {}),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(48), {}),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(64), {}),
    "InstanceNorm1d": (lambda: nn.InstanceNorm1d(32, affine=True, track_running_stats=True), {}),
    "RMSNorm": (lambda: nn.RMSNorm(64), {}),
    "RNN": (lambda: nn.RNN(16, 32), {n: lstm_u(32) for n in
                                     ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")}),
    "LSTM": (lambda: nn.LSTM(32, 64, num_layers=2, proj_size=16),
             {n: lstm_u(64) for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                      "weight_hr_l0", "weight_ih_l1", "weight_hh_l1",
                                      "bias_ih_l1", "bias_hh_l1", "weight_hr_l1")}),
    "GRU": (lambda: nn.GRU(32, 48, bidirectional=True),
            {n: lstm_u(48) for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                     "weight_ih_l0_reverse", "weight_hh_l0_reverse",
                                     "bias_ih_l0_reverse", "bias_hh_l0_reverse")}),
    "LSTMCell": (lambda: nn.LSTMCell(16, 32), {n: lstm_u(32) for n in
                                               ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}),
    "PReLU": (lambda: nn.PReLU(8, init=0.1), {}),
    "MultiheadAttention": (lambda: nn.MultiheadAttention(64, 4), {
        "in_proj_weight": U(math.sqrt(6 / (64 + 192))),
        "out_proj.weight": U(1 / 8)}),
    "MultiheadAttention-kv": (lambda: nn.MultiheadAttention(64, 4, kdim=32, vdim=48,
                                                            add_bias_kv=True), {
        "q_proj_weight": U(math.sqrt(6 / 128)), "k_proj_weight": U(math.sqrt(6 / 96)),
        "v_proj_weight": U(math.sqrt(6 / 112)), "out_proj.weight": U(1 / 8),
        "bias_k": N(math.sqrt(2 / 128)), "bias_v": N(math.sqrt(2 / 128))}),
}


def _np(t):
    t = t.detach()
    return t.float().numpy() if t.dtype in (torch.bfloat16, torch.float16) else t.numpy()


def _scramble(module):
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            t.fill_(7)


@pytest.mark.parametrize("layer", list(LAYERS))
def test_torch_scheme_gives_torchs_distribution(layer):
    factory, expected = LAYERS[layer]
    torch.manual_seed(0)
    ref = factory()
    ours = factory()
    _scramble(ours)
    assert init_module(ours, seed=1) is ours
    ref_sd = ref.state_dict()
    for name, t in ours.state_dict().items():
        x, r = _np(t).ravel(), _np(ref_sd[name]).ravel()
        if name in expected:
            kind, p = expected[name]
            if kind == "U":
                assert np.abs(x).max() <= p * (1 + 1e-6), name
                assert np.abs(x).max() > (0.9 if x.size > 100 else 0.5) * p, name
                assert stats.kstest(x, stats.uniform(-p, 2 * p).cdf).pvalue > 1e-3, name
            else:
                keep = x != 0 if layer.startswith("Embedding") else slice(None)
                assert stats.kstest(x[keep], stats.norm(0, p).cdf).pvalue > 1e-3, name
            # and the same distribution as torch's own reset_parameters
            assert stats.ks_2samp(x, r).pvalue > 1e-3, name
        else:  # constants: exactly what torch's construction gives
            np.testing.assert_array_equal(x, r, err_msg=name)


def test_padding_rows_are_zero():
    e = nn.Embedding(100, 8, padding_idx=-3)
    init_module(e, seed=0)
    assert not e.weight[97].any() and e.weight[96].all()


def test_values_are_the_named_streams_of_the_seed():
    lin = nn.Linear(40, 30)
    init_module(lin, seed=5)
    w = wi.kaiming_uniform(tuple(lin.weight.shape), a=math.sqrt(5), seed=5, stream="weight")
    b = wi.uniform((30,), -1 / math.sqrt(40), 1 / math.sqrt(40), seed=5, stream="bias")
    np.testing.assert_array_equal(lin.weight.detach().numpy(), w)
    np.testing.assert_array_equal(lin.bias.detach().numpy(), b)
    seq = nn.Sequential(nn.Linear(40, 30))
    init_module(seq, seed=5)
    w0 = wi.kaiming_uniform((30, 40), a=math.sqrt(5), seed=5, stream="0.weight")
    np.testing.assert_array_equal(seq[0].weight.detach().numpy(), w0)


def test_init_module_agrees_with_init_model_by_name():
    m = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 4))
    init_module(m, seed=3, scheme={"*.weight": {"init": "normal_", "std": 0.02}, "*.bias": "zeros_"})
    spec = models.ModelSpec({n: models.Param(tuple(p.shape), "normal_", std=0.02)
                             if n.endswith("weight") else models.Param(tuple(p.shape), "zeros_")
                             for n, p in m.named_parameters()})
    want = build.init_model(spec, seed=3)
    for n, p in m.named_parameters():
        np.testing.assert_array_equal(p.detach().numpy(), want[n])


def test_init_model_fills_torch_tensors_in_place():
    spec = models.ModelSpec({"w": models.Param((64, 32), "normal_", std=0.02),
                             "b": models.Param((64,), "zeros_")})
    out = {"w": torch.empty(64, 32, dtype=torch.bfloat16), "b": torch.ones(64)}
    ptr = out["w"].data_ptr()
    got = build.init_model(spec, seed=1, out=out)
    assert got["w"] is out["w"] and out["w"].data_ptr() == ptr and not out["b"].any()
    want = build.init_model(spec, seed=1, dtype="bfloat16")["w"]
    np.testing.assert_array_equal(out["w"].view(torch.int16).numpy(), want.view(np.int16))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_16_bit_tensors_are_filled_in_place(dtype):
    m = nn.Sequential(nn.Linear(64, 128), nn.LayerNorm(128), nn.Embedding(50, 128)).to(dtype)
    ptrs = {n: p.data_ptr() for n, p in m.named_parameters()}
    init_module(m, seed=2)
    assert {n: p.data_ptr() for n, p in m.named_parameters()} == ptrs
    ref = nn.Sequential(nn.Linear(64, 128), nn.LayerNorm(128), nn.Embedding(50, 128))
    init_module(ref, seed=2)
    for (n, p), (_, q) in zip(m.named_parameters(), ref.named_parameters()):
        assert p.dtype == dtype
        assert torch.equal(p, q.detach().to(dtype)), n  # the float32 values, rounded


def test_meta_device_modules_are_materialized_and_filled():
    def build():
        return nn.Sequential(nn.Embedding(100, 32), nn.TransformerEncoderLayer(32, 4, 64),
                             nn.BatchNorm1d(32), nn.LSTM(32, 16), )

    with torch.device("meta"):
        meta = build()
    assert meta[0].weight.is_meta
    init_module(meta, seed=4)
    cpu = build()
    init_module(cpu, seed=4)
    sd_meta, sd_cpu = meta.state_dict(), cpu.state_dict()
    assert list(sd_meta) == list(sd_cpu)
    for k in sd_cpu:
        assert sd_meta[k].device.type == "cpu"
        assert torch.equal(sd_meta[k], sd_cpu[k]), k
    out = meta[1](meta[0](torch.arange(10).view(2, 5)))  # usable
    assert torch.isfinite(out).all()


def test_meta_bfloat16_model():
    with torch.device("meta"):
        m = nn.Sequential(nn.Linear(256, 256, dtype=torch.bfloat16),
                          nn.RMSNorm(256, dtype=torch.bfloat16))
    init_module(m, seed=0)
    assert m[0].weight.dtype == torch.bfloat16 and m[0].weight.device.type == "cpu"
    assert (m[1].weight == 1).all()
    assert 0.06 < m[0].weight.float().abs().max() <= 1 / 16


class WithCustom(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)
        self.cls_token = nn.Parameter(torch.full((1, 8), 3.0))
        self.register_buffer("pos", torch.arange(8.0))


def test_uncovered_parameters_are_left_alone_or_refused():
    m = WithCustom()
    init_module(m, seed=0)
    assert (m.cls_token == 3).all() and torch.equal(m.pos, torch.arange(8.0))
    assert ("cls_token", "untouched") in plan_module(m)
    with pytest.raises(ValueError, match="no torch default for 'cls_token'"):
        init_module(WithCustom(), seed=0, strict=True)
    with torch.device("meta"):
        meta = WithCustom()
    with pytest.raises(ValueError, match="cls_token"):
        init_module(meta, seed=0)
    assert meta.lin.weight.is_meta  # refused before materializing
    with pytest.warns(RuntimeWarning, match="pos"):
        init_module(meta, seed=0, scheme={"cls_token": {"init": "trunc_normal_", "std": 0.02}})
    assert meta.cls_token.device.type == "cpu" and meta.cls_token.abs().max() <= 0.04
    with torch.device("meta"):
        meta = WithCustom()
    init_module(meta, seed=0, scheme={"cls_token": "zeros_", "pos": "zeros_"})  # no warning
    assert not meta.pos.any()


def test_mapping_scheme():
    m = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 8), nn.LayerNorm(8))
    with torch.no_grad():
        m[3].weight.fill_(5)
    seen = {}

    def custom(t, *, seed, stream, threads):
        seen["args"] = (seed, stream, threads)
        wi.constant_(t, 0.5)

    init_module(m, seed=9, scheme={
        "0.weight": {"init": "normal_", "std": 0.5},
        "*.bias": "zeros_",
        "2.weight": custom,
        "3.weight": "skip",
    })
    np.testing.assert_array_equal(m[0].weight.detach().numpy(),
                                  wi.normal((64, 32), 0, 0.5, seed=9, stream="0.weight"))
    assert not m[0].bias.any() and not m[2].bias.any() and not m[3].bias.any()
    assert (m[2].weight == 0.5).all() and seen["args"] == (9, "2.weight", None)
    assert (m[3].weight == 5).all()
    with pytest.raises(ValueError, match="mode"):
        init_module(m, seed=0, scheme={"*.weight": {"init": "kaiming_normal_", "mode": "x"}})
    with pytest.raises(ValueError, match="not known"):
        init_module(m, seed=0, scheme={"*": "magic_"})
    with pytest.raises(ValueError, match="scheme must be one of"):
        init_module(m, seed=0, scheme="tensorflow")
    assert (m[2].weight == 0.5).all()  # nothing was written by the failed calls


def test_mapping_rules_on_integer_buffers():
    bn = nn.BatchNorm1d(4)
    with torch.no_grad():
        bn.num_batches_tracked.fill_(9)
    init_module(bn, seed=0, scheme={"*": "ones_"})
    assert bn.num_batches_tracked.item() == 1 and (bn.running_mean == 1).all()
    with torch.no_grad():
        bn.weight.fill_(5)
    with pytest.raises(TypeError, match="num_batches_tracked"):
        init_module(bn, seed=0, scheme={"*": "normal_"})
    assert (bn.weight == 5).all()


def test_recommended_scheme_reads_the_activation():
    m = nn.Sequential(nn.Linear(512, 256), nn.ReLU(), nn.Dropout(), nn.Linear(256, 256),
                      nn.Tanh(), nn.Linear(256, 10))
    init_module(m, seed=1, scheme="recommended")
    w0, w3, w5 = (m[i].weight.detach().numpy() for i in (0, 3, 5))
    assert abs(w0.std() - math.sqrt(2 / 512)) < 0.02 * math.sqrt(2 / 512)  # He, relu
    b3 = 5 / 3 * math.sqrt(6 / 512)  # Xavier, tanh gain
    assert b3 * 0.99 < np.abs(w3).max() <= b3
    assert np.abs(w5).max() <= math.sqrt(6 / 266)  # last layer: linear
    assert not any(m[i].bias.any() for i in (0, 3, 5))
    single = nn.Linear(400, 100)
    init_module(single, seed=1, scheme="recommended", activation="selu")
    np.testing.assert_array_equal(single.weight.detach().numpy(),
                                  wi.lecun_normal((100, 400), seed=1, stream="weight"))
    lrelu = nn.Sequential(nn.Conv2d(8, 16, 3), nn.LeakyReLU(0.2))
    init_module(lrelu, seed=1, scheme="recommended")
    np.testing.assert_array_equal(
        lrelu[0].weight.detach().numpy(),
        wi.kaiming_normal((16, 8, 3, 3), a=0.2, nonlinearity="leaky_relu", seed=1,
                          stream="0.weight"))
    with pytest.raises(ValueError):
        init_module(single, seed=1, scheme="recommended", activation="nope")


def test_transformer_resets_every_matrix_with_xavier():
    t = nn.Transformer(d_model=32, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                       dim_feedforward=64, batch_first=True)
    init_module(t, seed=0)
    w = t.encoder.layers[0].linear1.weight.detach().numpy()  # (64, 32)
    bound = math.sqrt(6 / 96)
    assert 0.95 * bound < np.abs(w).max() <= bound
    b = t.encoder.layers[0].linear1.bias.detach().numpy()  # Linear default
    assert np.abs(b).max() <= 1 / math.sqrt(32)
    assert (t.encoder.norm.weight == 1).all()


def test_tied_parameters_are_filled_once():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(100, 16)
            self.head = nn.Linear(16, 100, bias=False)
            self.head.weight = self.emb.weight

    m = Tied()
    init_module(m, seed=3)
    np.testing.assert_array_equal(m.head.weight.detach().numpy(),
                                  wi.normal((100, 16), seed=3, stream="emb.weight"))
    assert [n for n, _ in plan_module(m)] == ["emb.weight"]


def test_errors():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        init_module(np.zeros(3), seed=0)
    with pytest.raises(ValueError, match="lazy"):
        init_module(nn.LazyLinear(4), seed=0)
    with pytest.raises(ValueError):
        init_module(nn.Linear(2, 2), seed=-1)
    with pytest.raises(TypeError):
        init_module(nn.Linear(2, 2), seed=0, scheme=3)


def test_int_and_double_tensors():
    m = nn.Linear(8, 8).double()
    init_module(m, seed=1)
    np.testing.assert_array_equal(m.weight.detach().numpy(),
                                  wi.kaiming_uniform((8, 8), a=math.sqrt(5), dtype="float64",
                                                     seed=1, stream="weight"))


def test_the_module_imports_the_real_torch():
    import weightinit.torch as wt

    assert wt.torch is torch and wt.nn is torch.nn


def test_init_model_as_torch_shares_memory_bfloat16_included():
    spec = wi.ModelSpec({"w": wi.Param((64, 32), "normal_", std=0.02),
                         "b": wi.Param((64,), "zeros_")})
    for dtype, tdtype in (("bfloat16", torch.bfloat16), ("float32", torch.float32)):
        got = build.init_model(spec, seed=4, dtype=dtype, as_torch=True)
        want = build.init_model(spec, seed=4, dtype=dtype)
        assert all(isinstance(t, torch.Tensor) and t.dtype == tdtype for t in got.values())
        bits = got["w"].view(torch.int16).numpy() if dtype == "bfloat16" else got["w"].numpy()
        np.testing.assert_array_equal(bits, want["w"].view(bits.dtype))
        before = got["w"].data_ptr()
        build.init_model(spec, seed=5, dtype=dtype, out=got)  # fills the same memory
        assert got["w"].data_ptr() == before
    with pytest.raises(TypeError, match="as_torch"):
        build.init_model(spec, seed=0, as_torch="yes")

