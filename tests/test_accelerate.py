"""weightinit.torch.accelerate: a model's own init code on weightinit's fills.

transformers GPT-2, Llama and BERT (tiny configs), built on the meta device and on the CPU:
the same bytes for both and for 1 and 2 threads, each tensor's distribution equal to the one
Hugging Face's own init gives, tied weights tied and non-persistent buffers exactly those of a
normally built model. Plain modules with reset_parameters, views of parameters.
"""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import weightinit as wi  # noqa: E402
from weightinit.torch import accelerate, init_module  # noqa: E402


def _tiny(kind):
    tf = pytest.importorskip("transformers")
    if kind == "gpt2":
        cfg = tf.GPT2Config(vocab_size=300, n_positions=64, n_embd=64, n_layer=2, n_head=4)
        return cfg, tf.GPT2LMHeadModel
    if kind == "llama":
        cfg = tf.LlamaConfig(vocab_size=300, hidden_size=64, intermediate_size=128,
                             num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                             max_position_embeddings=64, tie_word_embeddings=True)
        return cfg, tf.LlamaForCausalLM
    cfg = tf.BertConfig(vocab_size=300, hidden_size=64, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=128, max_position_embeddings=64)
    return cfg, tf.BertForMaskedLM


def _build(kind, device):
    cfg, cls = _tiny(kind)
    if device == "meta":
        with torch.device("meta"):
            return cls(cfg)
    torch.manual_seed(0)
    return cls(cfg)


def _state(m):
    return {k: v.clone() for k, v in m.state_dict().items()}


@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert"])
def test_hf_models_same_bytes_meta_or_cpu_any_thread_count(kind):
    runs = {}
    for device, threads in (("meta", 1), ("cpu", 2), ("meta", 2)):
        m = _build(kind, device)
        with accelerate(m, seed=11, threads=threads):
            m.init_weights()
        runs[device, threads] = m
    a, b, c = (_state(m) for m in runs.values())
    assert list(a) == list(b) == list(c)
    for k in a:
        assert a[k].device.type == "cpu"
        assert torch.equal(a[k], b[k]) and torch.equal(a[k], c[k]), k
    # the values are weightinit's stream of the tensor's name, not torch's generator
    m = runs["cpu", 2]
    name, w = next((n, p) for n, p in m.named_parameters() if p.dim() == 2)
    std = m.config.initializer_range
    want = wi.normal(tuple(w.shape), 0.0, std, seed=11, stream=name)
    np.testing.assert_array_equal(w.detach().numpy(), want)


@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert"])
def test_hf_distribution_ties_and_buffers_equal_hfs_own(kind):
    ref = _build(kind, "cpu")  # transformers' own init (torch's generator)
    m = _build(kind, "meta")
    with accelerate(m, seed=3):
        m.init_weights()
    sd, sr = m.state_dict(), ref.state_dict()
    assert list(sd) == list(sr)
    for k in sr:
        x, y = sd[k].float(), sr[k].float()
        if x.numel() < 64 or float(y.std()) == 0:  # constants: exactly
            assert torch.equal(sd[k], sr[k]), k
            continue
        n = x.numel()
        assert abs(float(x.mean()) - float(y.mean())) < 6 * float(y.std()) / math.sqrt(n), k
        assert abs(float(x.std()) / float(y.std()) - 1) < 6 / math.sqrt(n), k
        assert not torch.equal(x, y)
    # tying as in a normally built model; non-persistent buffers exactly equal
    assert ([n for n, _ in m.named_parameters(remove_duplicate=False)]
            == [n for n, _ in ref.named_parameters(remove_duplicate=False)])
    ids_m = [id(p) for _, p in m.named_parameters(remove_duplicate=False)]
    ids_r = [id(p) for _, p in ref.named_parameters(remove_duplicate=False)]
    assert [ids_m.index(i) for i in ids_m] == [ids_r.index(i) for i in ids_r]
    bm, br = dict(m.named_buffers()), dict(ref.named_buffers())
    assert list(bm) == list(br)
    for k in br:
        assert torch.equal(bm[k], br[k]), k
    if kind == "llama":
        assert m.lm_head.weight is m.model.embed_tokens.weight
        assert "model.rotary_emb.inv_freq" in bm
    if kind == "bert":
        assert torch.equal(bm["bert.embeddings.position_ids"], torch.arange(64).view(1, -1))
    if kind == "gpt2":  # the scaled residual projections: std 0.02 / sqrt(2 * n_layer)
        w = m.transformer.h[0].attn.c_proj.weight.detach()
        assert abs(float(w.std()) / (0.02 / 2) - 1) < 0.05
        assert m.lm_head.weight is m.transformer.wte.weight


def test_init_module_auto_runs_hf_init_and_forward_is_sane():
    tf = pytest.importorskip("transformers")
    cfg, cls = _tiny("gpt2")
    with torch.device("meta"):
        m = cls(cfg)
    init_module(m, seed=0)  # scheme="auto": the model's init_weights under accelerate
    assert m.lm_head.weight is m.transformer.wte.weight
    with torch.no_grad():
        out = m(torch.arange(10).view(1, -1)).logits
    assert torch.isfinite(out).all() and float(out.std()) < 2  # not N(0, 1) embeddings
    cpu = cls(cfg)
    init_module(cpu, seed=0, threads=1)
    for (k, v), (_, w) in zip(m.state_dict().items(), cpu.state_dict().items()):
        assert torch.equal(v, w), k
    assert isinstance(tf.__version__, str)


class Custom(nn.Module):
    """A layer type no table knows, with its own reset_parameters."""

    def __init__(self, n=32, m=48):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(m, n))
        self.scale = nn.Parameter(torch.empty(m))
        self.register_buffer("freq", torch.empty(n // 2), persistent=False)
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        with torch.no_grad():
            self.scale.fill_(1.0)
            self.freq.copy_(1.0 / (10000 ** (torch.arange(0, 32, 2).float() / 32)))
            self.weight.data[:, :4].normal_(0, 0.5)  # a box of the weight
            self.weight[-1].uniform_(-3, -2)  # a contiguous run


def test_plain_module_reset_parameters_meta_and_cpu():
    def build():
        return nn.Sequential(nn.Linear(32, 32), Custom(), nn.LayerNorm(48))

    with torch.device("meta"):
        meta = build()
    init_module(meta, seed=5)  # auto: reset_parameters of each submodule, children first
    cpu = build()
    with accelerate(cpu, seed=5, threads=2):
        for mod in reversed(list(cpu.modules())):
            if hasattr(mod, "reset_parameters"):
                mod.reset_parameters()
    for (k, v), (_, w) in zip(meta.state_dict().items(), cpu.state_dict().items()):
        assert torch.equal(v, w), k
    assert torch.equal(meta[1].freq, Custom().freq)  # the non-persistent buffer recomputed
    w = meta[1].weight.detach()
    full = wi.kaiming_uniform((48, 32), a=math.sqrt(5), seed=5, stream="1.weight")
    box = wi.normal((48, 32), 0, 0.5, seed=5, stream="1.weight")
    run = wi.uniform((48, 32), -3, -2, seed=5, stream="1.weight")
    np.testing.assert_array_equal(w[:-1, 4:].numpy(), full[:-1, 4:])
    np.testing.assert_array_equal(w[:-1, :4].numpy(), box[:-1, :4])  # the box's own values
    np.testing.assert_array_equal(w[-1].numpy(), run[-1])


def test_views_of_every_kind_get_the_whole_tensors_values():
    lin = nn.Linear(16, 12)
    with accelerate(lin, seed=2):
        with torch.no_grad():
            lin.weight.t()[3:7].normal_()  # strided, not a box of the weight: via a temporary
            lin.weight.data.view(-1)[5:40].uniform_()  # a flat run
    full_n = wi.normal((12, 16), seed=2, stream="weight")
    full_u = wi.uniform((12, 16), seed=2, stream="weight")
    w = lin.weight.detach().numpy()
    np.testing.assert_array_equal(w.T[3:7][:, 3:], full_n.T[3:7][:, 3:])
    np.testing.assert_array_equal(w.reshape(-1)[5:40], full_u.reshape(-1)[5:40])


def test_non_members_pass_through_to_torch():
    lin = nn.Linear(4, 4)
    other = torch.empty(100)
    with accelerate(lin, seed=0):
        torch.manual_seed(1)
        other.normal_()
        nn.init.uniform_(lin.weight.clone())  # a copy: not a member
    torch.manual_seed(1)
    assert torch.equal(other, torch.empty(100).normal_())  # torch's generator, untouched


def test_integer_member_fill_passes_through_with_one_warning():
    m = nn.Module()
    m.register_buffer("x", torch.zeros(8, dtype=torch.float32))
    m.register_buffer("k", torch.zeros(8, dtype=torch.int32))
    with accelerate(m, seed=0):
        with pytest.warns(UserWarning, match="'k'"), pytest.raises(NotImplementedError):
            m.k.normal_()  # torch's own outcome: no normal_ for int32
        with pytest.raises(NotImplementedError):
            m.k.normal_()  # the warning is given once
        m.x.uniform_()
    np.testing.assert_array_equal(m.x.numpy(), wi.uniform(8, seed=0, stream="x"))


def test_meta_regressions_ties_and_buffers():
    def tied():  # an LM head sharing the embedding, and a buffer only code can make
        with torch.device("meta"):
            m = nn.Module()
            m.emb, m.head = nn.Embedding(50, 8), nn.Linear(8, 50, bias=False)
        m.head.weight = m.emb.weight
        m.register_buffer("inv_freq", torch.empty(4, device="meta"), persistent=False)
        return m

    m = tied()
    # torch scheme: the tie survives to_empty; the buffer nothing recomputes is refused, named
    with pytest.raises(ValueError, match="inv_freq"):
        init_module(m, seed=0, scheme="torch")
    assert m.emb.weight.is_meta  # refused before anything was allocated
    init_module(m, seed=0, scheme={"inv_freq": "zeros_", "*": "torch"})
    assert m.head.weight is m.emb.weight  # filled once, as the stream of its first name
    np.testing.assert_array_equal(m.head.weight.detach().numpy(),
                                  wi.normal((50, 8), seed=0, stream="emb.weight"))
    m = tied()
    with pytest.raises(RuntimeError, match="inv_freq"):
        with accelerate(m, seed=0):
            m.emb.reset_parameters()
    assert m.head.weight is m.emb.weight


def test_unknown_layers_under_torch_scheme_name_the_ways_out():
    class Norm(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(8))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(8, 8)
            self.norm = Norm()

    with torch.device("meta"):
        m = Net()
    with pytest.raises(ValueError, match="norm.weight.*auto.*'ones_'") as e:
        init_module(m, seed=0, scheme="recommended")
    assert "normal_" not in str(e.value)
    assert m.lin.weight.is_meta


def test_random_fills_weightinit_does_not_carry_out_warn_once():
    # random_/bernoulli_/exponential_... on a member draw from torch's generator: say so, once
    m = nn.Module()
    m.register_buffer("idx", torch.zeros(8, dtype=torch.long))
    m.w = nn.Parameter(torch.zeros(8))
    with pytest.warns(UserWarning, match="random_ on 'idx'.*seed=") as rec:
        with accelerate(m, seed=0), torch.no_grad():
            m.idx.random_(0, 10)
            m.w.exponential_()
            m.w.bernoulli_(0.5)
    assert len([w for w in rec if "accelerate()" in str(w.message)]) == 1
    assert rec[0].filename == __file__
    assert ((m.idx >= 0) & (m.idx < 10)).all() and set(m.w.tolist()) <= {0.0, 1.0}


def test_hand_written_init_through_data_views_no_grad_and_wrappers():
    # init code as people write it: .data, views, no_grad, computed copy_, a timm-style
    # trunc_normal_ (uniform_ then erfinv_), integer buffers; meta/CPU and 1/2 threads agree
    def timm_trunc_normal_(t, std=1.0, a=-2.0, b=2.0):
        cdf = [(1.0 + math.erf(x / std / math.sqrt(2.0))) / 2.0 for x in (a, b)]
        with torch.no_grad():
            t.uniform_(2 * cdf[0] - 1, 2 * cdf[1] - 1).erfinv_().mul_(std * math.sqrt(2.0))
            return t.clamp_(min=a, max=b)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(64, 32)
            self.d = nn.Parameter(torch.empty(40, 40))
            self.e = nn.Parameter(torch.empty(4000))
            self.register_buffer("steps", torch.zeros(4, dtype=torch.long))
            self.register_buffer("freq", torch.empty(8), persistent=False)

        def init_weights(self):
            self.lin.weight.data.normal_(0, 0.02)
            nn.init.zeros_(self.lin.bias)
            self.d.data[:, ::2].normal_(0, 3)
            self.d.data[:, 1::2].zero_()
            timm_trunc_normal_(self.e, std=0.5, a=-1.0, b=1.0)
            with torch.no_grad():
                self.steps.fill_(7)
                self.freq.copy_(1.0 / 10000 ** (torch.arange(8.0) / 8))

    runs = []
    for device, threads in (("meta", 1), ("cpu", 2)):
        with torch.device(device):
            m = Net()
        with accelerate(m, seed=5, threads=threads):
            m.init_weights()
        runs.append(_state(m) | {"freq": m.freq.clone()})
    a, b = runs
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert abs(a["lin.weight"].std() - 0.02) < 0.002 and not a["lin.bias"].any()
    assert not a["d"][:, 1::2].any() and abs(a["d"][:, ::2].std() - 3) < 0.2
    assert a["e"].abs().max() <= 1.0 and a["steps"].tolist() == [7] * 4
    # std of N(0, 0.5) truncated to +-2 sigma: 0.5 * 0.8796
    assert abs(a["e"].std() - 0.5 * 0.8796) < 0.02
    assert torch.equal(a["freq"], 1.0 / 10000 ** (torch.arange(8.0) / 8))


@pytest.mark.parametrize("kind", ["t5", "vit", "qwen2"])
def test_more_hf_families_meta_equals_cpu_and_hfs_own(kind):
    tf = pytest.importorskip("transformers")
    cfg, cls = {
        "t5": (lambda: tf.T5Config(vocab_size=300, d_model=64, d_kv=16, d_ff=128, num_layers=2,
                                   num_heads=4), "T5ForConditionalGeneration"),
        "vit": (lambda: tf.ViTConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                     intermediate_size=128, image_size=32, patch_size=8),
                "ViTForImageClassification"),
        "qwen2": (lambda: tf.Qwen2Config(vocab_size=300, hidden_size=64, intermediate_size=128,
                                         num_hidden_layers=2, num_attention_heads=4,
                                         num_key_value_heads=2, max_position_embeddings=64,
                                         tie_word_embeddings=True), "Qwen2ForCausalLM"),
    }[kind]
    cls = getattr(tf, cls)
    with torch.device("meta"):
        meta = cls(cfg())
    with accelerate(meta, seed=2, threads=1):
        meta.apply(meta._init_weights)
    torch.manual_seed(0)
    cpu, hf = cls(cfg()), cls(cfg())
    with accelerate(cpu, seed=2, threads=2):
        cpu.init_weights()
    a, b, h = _state(meta), _state(cpu), hf.state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]), k
        if a[k].is_floating_point() and a[k].numel() >= 1000:  # std within 4 standard errors
            assert abs(a[k].std() - h[k].std()) <= 4 * h[k].std() / math.sqrt(a[k].numel()), k
    for (n, x), (_, y) in zip(meta.named_buffers(), hf.named_buffers()):
        assert torch.equal(x, y), n
    ties = [n for n, _ in hf.named_parameters(remove_duplicate=False)]
    assert [n for n, _ in meta.named_parameters(remove_duplicate=False)] == ties
    assert len(list(meta.parameters())) == len(list(hf.parameters()))  # tied stay tied
