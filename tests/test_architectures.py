"""Built-in architectures: published parameter counts, reference names/shapes and init."""

from __future__ import annotations

import math

import numpy as np
import pytest

from weightinit import architectures as A
from weightinit.build import init_model
from weightinit.models import ModelSpec

# name -> parameter count its reference implementation reports
# (sum(p.numel() for p in model.parameters()); GPT-2 with wpe and the LM head tied to wte)
PUBLISHED = {
    "gpt2": 124_439_808,            # HF GPT2Model "gpt2" ("124M")
    "gpt2-medium": 354_823_168,     # "355M"
    "gpt2-large": 774_030_080,      # "774M"
    "gpt2-xl": 1_557_611_200,       # "1.5B"
    "llama-1b": 1_235_814_400,      # Llama 3.2 1B ("1.24B")
    "llama-7b": 6_738_415_616,      # Llama 2 7B
    "llama-13b": 13_015_864_320,    # Llama 2 13B
    "llama-70b": 68_976_648_192,    # Llama 2 70B
    "bert-base": 109_482_240,       # HF BertModel bert-base-uncased ("110M")
    "resnet-50": 25_557_032,        # torchvision resnet50 weights table
    "vit-b-16": 86_567_656,         # torchvision vit_b_16 weights table
}


def test_every_builtin_is_tested():
    assert set(A.names()) == set(PUBLISHED)


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_parameter_counts_match_the_published_figures(name):
    spec = A.get(name)
    assert spec.num_params() == PUBLISHED[name]
    assert spec.published_params == PUBLISHED[name]
    assert A.ARCHITECTURES[name][1] == PUBLISHED[name]
    assert spec.name == name and spec.source and spec.description
    assert ModelSpec.from_json(spec.to_json()) == spec


def test_aliases_and_unknown_names():
    assert A.get("GPT2-124M").name == "gpt2"
    assert A.get("vit_b_16").name == "vit-b-16"
    assert A.get("llama-2-7b").name == "llama-7b"
    assert A.canonical("resnet50") == "resnet-50"
    with pytest.raises(ValueError, match="unknown architecture 'gpt3'.*known: gpt2"):
        A.get("gpt3")
    with pytest.raises(TypeError):
        A.get(7)


def test_gpt2_names_shapes_and_init():
    spec = A.get("gpt2")
    assert list(spec)[:4] == ["wte.weight", "wpe.weight", "h.0.ln_1.weight", "h.0.ln_1.bias"]
    assert spec["h.0.attn.c_attn.weight"].shape == (768, 2304)  # Conv1D: (in, out)
    assert spec["h.11.mlp.c_proj.weight"].shape == (3072, 768)
    assert "lm_head.weight" not in spec  # tied to wte
    for n, p in spec.items():
        if n.endswith("c_proj.weight"):
            assert p.init == "normal_" and p.kwargs["std"] == 0.02 / math.sqrt(24)
        elif n.endswith(".weight") and ".ln_" not in n and not n.startswith("ln_f"):
            assert (p.init, p.kwargs) == ("normal_", {"std": 0.02}), n
        elif n.endswith("bias"):
            assert p.init == "zeros_", n
    for n, d in (("gpt2-medium", 1024), ("gpt2-large", 1280), ("gpt2-xl", 1600)):
        s = A.get(n)
        assert s["wte.weight"].shape == (50257, d)
        layers = s.metadata["config"]["n_layer"]
        assert s["h.0.attn.c_proj.weight"].kwargs["std"] == 0.02 / math.sqrt(2 * layers)


def test_gpt2_values_have_the_scaled_residual_std():
    spec = A.gpt2(n_layer=8, n_embd=256, n_head=4, vocab_size=1000, n_positions=64)
    out = init_model(spec, seed=0)
    assert abs(out["h.0.attn.c_attn.weight"].std() - 0.02) < 0.0005
    assert abs(out["h.3.mlp.c_proj.weight"].std() - 0.02 / 4) < 0.0002
    assert (out["h.1.ln_2.weight"] == 1).all() and (out["h.1.ln_2.bias"] == 0).all()


def test_llama_shapes():
    s7 = A.get("llama-7b")
    assert s7["model.embed_tokens.weight"].shape == (32000, 4096)
    assert s7["lm_head.weight"].shape == (32000, 4096)
    assert s7["model.layers.31.mlp.down_proj.weight"].shape == (4096, 11008)
    assert s7["model.layers.0.input_layernorm.weight"].init == "ones_"
    s70 = A.get("llama-70b")
    assert s70["model.layers.0.self_attn.k_proj.weight"].shape == (1024, 8192)  # 8 KV heads
    assert s70["model.layers.79.mlp.gate_proj.weight"].shape == (28672, 8192)
    s1 = A.get("llama-1b")
    assert "lm_head.weight" not in s1  # tied
    assert s1["model.layers.0.self_attn.v_proj.weight"].shape == (512, 2048)
    for n, p in s7.items():
        assert (p.init, p.kwargs) in (("normal_", {"std": 0.02}), ("ones_", {})), n
    with pytest.raises(ValueError):
        A.llama(dim=100, n_heads=3)


def test_bert_padding_row_is_zero():
    spec = A.get("bert-base")
    assert spec["embeddings.word_embeddings.weight"].zero_rows == (0,)
    small = A.bert(n_layers=1, hidden=32, intermediate=64, vocab_size=100, max_positions=16)
    out = init_model(small, seed=1)
    w = out["embeddings.word_embeddings.weight"]
    assert not w[0].any() and w[1:].all()
    assert list(small).count("pooler.dense.weight") == 1


def test_resnet50_init_and_buffers():
    spec = A.get("resnet-50")
    conv = spec["layer3.2.conv2.weight"]
    assert conv.shape == (256, 256, 3, 3)
    assert (conv.init, conv.kwargs) == ("kaiming_normal_", {"mode": "fan_out",
                                                            "nonlinearity": "relu"})
    assert spec["layer1.0.downsample.0.weight"].shape == (256, 64, 1, 1)
    assert spec["fc.weight"].shape == (1000, 2048)
    assert spec["fc.bias"].kwargs == {"a": -1 / math.sqrt(2048), "b": 1 / math.sqrt(2048)}
    nbt = spec["bn1.num_batches_tracked"]
    assert (nbt.shape, nbt.dtype, nbt.buffer) == ((), "int64", True)
    assert spec["bn1.running_var"].buffer and spec["bn1.running_var"].init == "ones_"
    # torchvision's resnet50 state dict: 320 entries, 161 of them parameters
    assert len(spec) == 320 and sum(not p.buffer for p in spec.values()) == 161
    bn_params = sum(p.size for n, p in spec.items() if ".bn" in n or "bn1" in n
                    or "downsample.1" in n if not p.buffer)
    n_bn = sum(n.endswith("num_batches_tracked") for n in spec)
    assert sum(p.size for p in spec.values() if p.buffer) == bn_params + n_bn
    out = init_model(A.resnet(layers=(1, 1, 1, 1), num_classes=10, width=8), seed=0)
    w = out["layer4.0.conv1.weight"]
    assert w.shape == (64, 128, 1, 1)  # fan_out = 64 * 1 * 1
    assert abs(w.std() - math.sqrt(2 / 64)) < 0.05 * math.sqrt(2 / 64)


def test_vit_b16_shapes_and_init():
    spec = A.get("vit-b-16")
    assert spec["conv_proj.weight"].shape == (768, 3, 16, 16)
    assert spec["encoder.pos_embedding"].shape == (1, 197, 768)
    assert spec["conv_proj.weight"].kwargs == {"std": math.sqrt(1 / 768)}
    assert spec["encoder.layers.encoder_layer_11.self_attention.in_proj_weight"].shape == (2304, 768)
    assert spec["encoder.layers.encoder_layer_0.mlp.3.bias"].kwargs == {"std": 1e-6}
    assert spec["heads.head.weight"].init == "zeros_"
    assert list(spec)[0] == "class_token"


def test_vit_attention_matches_torch_multihead_attention_layout():
    torch = pytest.importorskip("torch")
    mha = torch.nn.MultiheadAttention(768, 12)
    spec = A.get("vit-b-16")
    prefix = "encoder.layers.encoder_layer_0.self_attention."
    for n, t in mha.state_dict().items():
        assert spec[prefix + n].shape == tuple(t.shape)


def test_builders_make_other_sizes():
    s = A.gpt2(n_layer=2, n_embd=64, n_head=2, vocab_size=100, n_positions=32, name="tiny")
    assert s.num_params() == 100 * 64 + 32 * 64 + 2 * (
        4 * 64 + 64 * 192 + 192 + 64 * 64 + 64 + 64 * 256 + 256 + 256 * 64 + 64) + 2 * 64
    assert A.vit(image_size=32, patch_size=8, n_layers=1, hidden=16, mlp_dim=32,
                 num_classes=3)["encoder.pos_embedding"].shape == (1, 17, 16)
    with pytest.raises(ValueError):
        A.gpt2(n_embd=100, n_head=3)
    with pytest.raises(ValueError):
        A.vit(image_size=30, patch_size=8)


def test_builtins_initialize(tmp_path):
    out = init_model("resnet-50", seed=0, dtype="bfloat16")
    assert len(out) == len(A.get("resnet-50"))
    assert out["bn1.num_batches_tracked"].dtype == np.int64
