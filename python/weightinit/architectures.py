"""Built-in architectures: the parameter shapes, names and initialization of reference models.

Every built-in reproduces the state dict (names, shapes, order) of its reference implementation
and the initialization that implementation applies, so a file written by
``weightinit.save_safetensors("gpt2", ...)`` loads into that implementation's model.

===================  ==============  ===========================================================
name                 parameters      reference (names, shapes, init)
===================  ==============  ===========================================================
gpt2                 124,439,808     Hugging Face ``GPT2Model`` (config of OpenAI's GPT-2 small)
gpt2-medium          354,823,168     ``GPT2Model``, n_embd 1024, 24 layers
gpt2-large           774,030,080     ``GPT2Model``, n_embd 1280, 36 layers
gpt2-xl            1,557,611,200     ``GPT2Model``, n_embd 1600, 48 layers
llama-1b           1,235,814,400     ``LlamaForCausalLM``, Llama 3.2 1B config (tied embeddings)
llama-7b           6,738,415,616     ``LlamaForCausalLM``, Llama 2 7B config
llama-13b         13,015,864,320     ``LlamaForCausalLM``, Llama 2 13B config
llama-70b         68,976,648,192     ``LlamaForCausalLM``, Llama 2 70B config (GQA, 8 KV heads)
bert-base            109,482,240     Hugging Face ``BertModel`` (bert-base-uncased, with pooler)
resnet-50             25,557,032     torchvision ``resnet50`` (+ BatchNorm running statistics)
vit-b-16              86,567,656     torchvision ``vit_b_16``
===================  ==============  ===========================================================

GPT-2 counts include the position embeddings and count the LM head once: it is tied to the token
embedding (``wte``), so it has no tensor of its own, as in Hugging Face's checkpoints. Parameter
counts are what ``sum(p.numel() for p in model.parameters())`` gives for the reference model;
buffers (BatchNorm running statistics) are written to checkpoints but not counted.

The builders (:func:`gpt2`, :func:`llama`, :func:`bert`, :func:`resnet`, :func:`vit`) take the
configuration, for other sizes.
"""

from __future__ import annotations

import math
from typing import Callable, Dict, List, Optional, Tuple

from .defaults import torch_layer_rules
from .models import ModelSpec, Param

__all__ = ["gpt2", "llama", "bert", "resnet", "vit", "get", "names", "ARCHITECTURES"]

def _torch_linear(out_f: int, in_f: int, bias: bool = True) -> List[Tuple[str, Param]]:
    """nn.Linear's reset_parameters, from torch's layer-defaults table (defaults.torch_layer_rules)."""
    rules = torch_layer_rules("linear", (out_f, in_f))
    shapes = {"weight": (out_f, in_f), "bias": (out_f,)}
    return [(n, Param(shapes[n], init, **kw)) for n, (init, kw) in rules.items() if bias or n == "weight"]


def _layer_norm(n: int) -> List[Tuple[str, Param]]:
    return [(k, Param((n,), init, **kw)) for k, (init, kw) in torch_layer_rules("layer_norm").items()]


def _add(params: Dict[str, Param], prefix: str, items: List[Tuple[str, Param]]) -> None:
    for k, p in items:
        params[f"{prefix}.{k}"] = p


# ------------------------------------------------------------------------------------- GPT-2

GPT2_SOURCE = (
    "Radford et al. (2019), Language Models are Unsupervised Multitask Learners; shapes and names "
    "of Hugging Face transformers' GPT2Model (Conv1D weights are (in, out)); init of "
    "GPT2PreTrainedModel._init_weights and nanoGPT: N(0, 0.02) for weights and both embeddings, "
    "residual projections (attn.c_proj, mlp.c_proj) N(0, 0.02 / sqrt(2 * n_layer)), biases 0, "
    "LayerNorm 1 / 0; LM head tied to wte"
)


def gpt2(n_layer: int = 12, n_embd: int = 768, n_head: int = 12, vocab_size: int = 50257,
         n_positions: int = 1024, initializer_range: float = 0.02, name: str = "gpt2",
         published_params: Optional[int] = None) -> ModelSpec:
    """GPT-2 (Hugging Face ``GPT2Model`` state dict; the LM head is tied to ``wte.weight``)."""
    if n_embd % n_head:
        raise ValueError(f"n_embd ({n_embd}) must be a multiple of n_head ({n_head})")
    std = initializer_range
    proj_std = initializer_range / math.sqrt(2 * n_layer)
    d = n_embd
    p: Dict[str, Param] = {
        "wte.weight": Param((vocab_size, d), "normal_", std=std),
        "wpe.weight": Param((n_positions, d), "normal_", std=std),
    }
    for i in range(n_layer):
        h = f"h.{i}"
        _add(p, f"{h}.ln_1", _layer_norm(d))
        p[f"{h}.attn.c_attn.weight"] = Param((d, 3 * d), "normal_", std=std)
        p[f"{h}.attn.c_attn.bias"] = Param((3 * d,), "zeros_")
        p[f"{h}.attn.c_proj.weight"] = Param((d, d), "normal_", std=proj_std)
        p[f"{h}.attn.c_proj.bias"] = Param((d,), "zeros_")
        _add(p, f"{h}.ln_2", _layer_norm(d))
        p[f"{h}.mlp.c_fc.weight"] = Param((d, 4 * d), "normal_", std=std)
        p[f"{h}.mlp.c_fc.bias"] = Param((4 * d,), "zeros_")
        p[f"{h}.mlp.c_proj.weight"] = Param((4 * d, d), "normal_", std=proj_std)
        p[f"{h}.mlp.c_proj.bias"] = Param((d,), "zeros_")
    _add(p, "ln_f", _layer_norm(d))
    config = dict(n_layer=n_layer, n_embd=n_embd, n_head=n_head, vocab_size=vocab_size,
                  n_positions=n_positions, initializer_range=initializer_range,
                  tie_word_embeddings=True)
    return ModelSpec(p, name=name, description=f"GPT-2 decoder, {n_layer} layers, d={n_embd}",
                     source=GPT2_SOURCE, published_params=published_params,
                     metadata={"config": config})


# ------------------------------------------------------------------------------------- Llama

LLAMA_SOURCE = (
    "Touvron et al. (2023), Llama 2 (7B, 13B, 70B) and Meta's Llama 3.2 1B model card; shapes "
    "and names of Hugging Face transformers' LlamaForCausalLM with the released configs; init of "
    "LlamaPreTrainedModel._init_weights: every Linear and the embedding N(0, initializer_range = "
    "0.02), RMSNorm weights 1"
)


def llama(n_layers: int = 32, dim: int = 4096, n_heads: int = 32, n_kv_heads: Optional[int] = None,
          ffn_dim: int = 11008, vocab_size: int = 32000, tie_embeddings: bool = False,
          initializer_range: float = 0.02, name: str = "llama",
          published_params: Optional[int] = None) -> ModelSpec:
    """A Llama-style decoder (Hugging Face ``LlamaForCausalLM`` state dict): RMSNorm,
    SwiGLU MLP (gate, up, down), grouped-query attention with ``n_kv_heads`` KV heads."""
    n_kv_heads = n_heads if n_kv_heads is None else n_kv_heads
    if dim % n_heads or n_heads % n_kv_heads:
        raise ValueError(f"dim ({dim}) must be a multiple of n_heads ({n_heads}), and n_heads of "
                         f"n_kv_heads ({n_kv_heads})")
    kv = dim // n_heads * n_kv_heads
    std = initializer_range
    p: Dict[str, Param] = {
        "model.embed_tokens.weight": Param((vocab_size, dim), "normal_", std=std)}
    for i in range(n_layers):
        L = f"model.layers.{i}"
        for proj, shape in (("q_proj", (dim, dim)), ("k_proj", (kv, dim)), ("v_proj", (kv, dim)),
                            ("o_proj", (dim, dim))):
            p[f"{L}.self_attn.{proj}.weight"] = Param(shape, "normal_", std=std)
        for proj, shape in (("gate_proj", (ffn_dim, dim)), ("up_proj", (ffn_dim, dim)),
                            ("down_proj", (dim, ffn_dim))):
            p[f"{L}.mlp.{proj}.weight"] = Param(shape, "normal_", std=std)
        p[f"{L}.input_layernorm.weight"] = Param((dim,), "ones_")
        p[f"{L}.post_attention_layernorm.weight"] = Param((dim,), "ones_")
    p["model.norm.weight"] = Param((dim,), "ones_")
    if not tie_embeddings:
        p["lm_head.weight"] = Param((vocab_size, dim), "normal_", std=std)
    config = dict(n_layers=n_layers, dim=dim, n_heads=n_heads, n_kv_heads=n_kv_heads,
                  ffn_dim=ffn_dim, vocab_size=vocab_size, tie_embeddings=tie_embeddings,
                  initializer_range=initializer_range)
    return ModelSpec(p, name=name, description=f"Llama decoder, {n_layers} layers, d={dim}",
                     source=LLAMA_SOURCE, published_params=published_params,
                     metadata={"config": config})


# ------------------------------------------------------------------------------------- BERT

BERT_SOURCE = (
    "Devlin et al. (2019), BERT; shapes and names of Hugging Face transformers' BertModel "
    "(bert-base-uncased config, with the pooler); init of BertPreTrainedModel._init_weights: "
    "Linear and Embedding N(0, 0.02), the padding row (pad_token_id 0) of the word embedding 0, "
    "biases 0, LayerNorm 1 / 0"
)


def bert(n_layers: int = 12, hidden: int = 768, intermediate: int = 3072, vocab_size: int = 30522,
         max_positions: int = 512, type_vocab_size: int = 2, pad_token_id: Optional[int] = 0,
         initializer_range: float = 0.02, name: str = "bert",
         published_params: Optional[int] = None) -> ModelSpec:
    """A BERT encoder with pooler (Hugging Face ``BertModel`` state dict)."""
    std = initializer_range
    d = hidden
    zero = () if pad_token_id is None else (pad_token_id,)
    p: Dict[str, Param] = {
        "embeddings.word_embeddings.weight": Param((vocab_size, d), "normal_", std=std,
                                                   zero_rows=zero),
        "embeddings.position_embeddings.weight": Param((max_positions, d), "normal_", std=std),
        "embeddings.token_type_embeddings.weight": Param((type_vocab_size, d), "normal_", std=std),
    }
    _add(p, "embeddings.LayerNorm", _layer_norm(d))

    def dense(prefix: str, out_f: int, in_f: int) -> None:
        p[f"{prefix}.weight"] = Param((out_f, in_f), "normal_", std=std)
        p[f"{prefix}.bias"] = Param((out_f,), "zeros_")

    for i in range(n_layers):
        L = f"encoder.layer.{i}"
        for k in ("query", "key", "value"):
            dense(f"{L}.attention.self.{k}", d, d)
        dense(f"{L}.attention.output.dense", d, d)
        _add(p, f"{L}.attention.output.LayerNorm", _layer_norm(d))
        dense(f"{L}.intermediate.dense", intermediate, d)
        dense(f"{L}.output.dense", d, intermediate)
        _add(p, f"{L}.output.LayerNorm", _layer_norm(d))
    dense("pooler.dense", d, d)
    config = dict(n_layers=n_layers, hidden=hidden, intermediate=intermediate,
                  vocab_size=vocab_size, max_positions=max_positions,
                  type_vocab_size=type_vocab_size, pad_token_id=pad_token_id,
                  initializer_range=initializer_range)
    return ModelSpec(p, name=name, description=f"BERT encoder, {n_layers} layers, d={hidden}",
                     source=BERT_SOURCE, published_params=published_params,
                     metadata={"config": config})


# ------------------------------------------------------------------------------------- ResNet

RESNET_SOURCE = (
    "He et al. (2016), Deep Residual Learning for Image Recognition; names and shapes of "
    "torchvision.models.resnet50 (bottleneck v1.5: stride on the 3x3 conv); init of "
    "torchvision's ResNet: convs kaiming_normal_(mode='fan_out', nonlinearity='relu'), BatchNorm "
    "weight 1, bias 0 (running mean 0, var 1, num_batches_tracked 0), fc torch's Linear default"
)


def resnet(layers: Tuple[int, ...] = (3, 4, 6, 3), num_classes: int = 1000, width: int = 64,
           name: str = "resnet", published_params: Optional[int] = None) -> ModelSpec:
    """A bottleneck ResNet (torchvision ``ResNet`` with ``Bottleneck`` blocks) state dict."""
    p: Dict[str, Param] = {}

    def conv(prefix: str, out_c: int, in_c: int, k: int) -> None:
        p[f"{prefix}.weight"] = Param((out_c, in_c, k, k), "kaiming_normal_", mode="fan_out",
                                      nonlinearity="relu")

    def bn(prefix: str, c: int) -> None:
        p[f"{prefix}.weight"] = Param((c,), "ones_")
        p[f"{prefix}.bias"] = Param((c,), "zeros_")
        p[f"{prefix}.running_mean"] = Param((c,), "zeros_", buffer=True)
        p[f"{prefix}.running_var"] = Param((c,), "ones_", buffer=True)
        p[f"{prefix}.num_batches_tracked"] = Param((), "zeros_", dtype="int64", buffer=True)

    expansion = 4
    conv("conv1", width, 3, 7)
    bn("bn1", width)
    inplanes = width
    for li, blocks in enumerate(layers):
        planes = width * 2 ** li
        for b in range(blocks):
            B = f"layer{li + 1}.{b}"
            conv(f"{B}.conv1", planes, inplanes, 1)
            bn(f"{B}.bn1", planes)
            conv(f"{B}.conv2", planes, planes, 3)
            bn(f"{B}.bn2", planes)
            conv(f"{B}.conv3", planes * expansion, planes, 1)
            bn(f"{B}.bn3", planes * expansion)
            if b == 0:  # stride or channel change (every first block of torchvision's ResNet-50)
                conv(f"{B}.downsample.0", planes * expansion, inplanes, 1)
                bn(f"{B}.downsample.1", planes * expansion)
            inplanes = planes * expansion
    _add(p, "fc", _torch_linear(num_classes, inplanes))
    config = dict(layers=list(layers), num_classes=num_classes, width=width)
    return ModelSpec(p, name=name, description=f"ResNet, bottleneck blocks {list(layers)}",
                     source=RESNET_SOURCE, published_params=published_params,
                     metadata={"config": config})


# ------------------------------------------------------------------------------------- ViT

VIT_SOURCE = (
    "Dosovitskiy et al. (2021), An Image is Worth 16x16 Words; names and shapes of "
    "torchvision.models.vit_b_16; init of torchvision's VisionTransformer: conv_proj "
    "trunc_normal_(std=sqrt(1/fan_in)) (torch's absolute bounds [-2, 2]), bias 0; class token 0; "
    "position embedding N(0, 0.02); attention torch's MultiheadAttention defaults (in_proj "
    "xavier_uniform_, biases 0, out_proj Linear default weight); MLP xavier_uniform_ weights, "
    "N(0, 1e-6) biases; LayerNorm 1 / 0; head weight and bias 0"
)


def vit(image_size: int = 224, patch_size: int = 16, n_layers: int = 12, hidden: int = 768,
        mlp_dim: int = 3072, num_classes: int = 1000, name: str = "vit",
        published_params: Optional[int] = None) -> ModelSpec:
    """A Vision Transformer (torchvision ``VisionTransformer`` state dict)."""
    if image_size % patch_size:
        raise ValueError(
            f"image_size ({image_size}) must be a multiple of patch_size ({patch_size})")
    d = hidden
    seq = (image_size // patch_size) ** 2 + 1
    fan_in = 3 * patch_size * patch_size
    p: Dict[str, Param] = {
        "class_token": Param((1, 1, d), "zeros_"),
        "conv_proj.weight": Param((d, 3, patch_size, patch_size), "trunc_normal_",
                                  std=math.sqrt(1 / fan_in)),
        "conv_proj.bias": Param((d,), "zeros_"),
        "encoder.pos_embedding": Param((1, seq, d), "normal_", std=0.02),
    }
    for i in range(n_layers):
        L = f"encoder.layers.encoder_layer_{i}"
        _add(p, f"{L}.ln_1", _layer_norm(d))
        p[f"{L}.self_attention.in_proj_weight"] = Param((3 * d, d), "xavier_uniform_")
        p[f"{L}.self_attention.in_proj_bias"] = Param((3 * d,), "zeros_")
        init, kw = torch_layer_rules("linear", (d, d))["weight"]  # NonDynamicallyQuantizableLinear
        p[f"{L}.self_attention.out_proj.weight"] = Param((d, d), init, **kw)
        p[f"{L}.self_attention.out_proj.bias"] = Param((d,), "zeros_")
        _add(p, f"{L}.ln_2", _layer_norm(d))
        p[f"{L}.mlp.0.weight"] = Param((mlp_dim, d), "xavier_uniform_")
        p[f"{L}.mlp.0.bias"] = Param((mlp_dim,), "normal_", std=1e-6)
        p[f"{L}.mlp.3.weight"] = Param((d, mlp_dim), "xavier_uniform_")
        p[f"{L}.mlp.3.bias"] = Param((d,), "normal_", std=1e-6)
    _add(p, "encoder.ln", _layer_norm(d))
    p["heads.head.weight"] = Param((num_classes, d), "zeros_")
    p["heads.head.bias"] = Param((num_classes,), "zeros_")
    config = dict(image_size=image_size, patch_size=patch_size, n_layers=n_layers, hidden=hidden,
                  mlp_dim=mlp_dim, num_classes=num_classes)
    return ModelSpec(p, name=name, description=f"ViT, {n_layers} layers, d={hidden}, "
                     f"patch {patch_size}", source=VIT_SOURCE, published_params=published_params,
                     metadata={"config": config})


# ------------------------------------------------------------------------------------- registry

#: name -> (builder of the spec, published parameter count, aliases)
ARCHITECTURES: Dict[str, Tuple[Callable[[], ModelSpec], int, Tuple[str, ...]]] = {
    "gpt2": (lambda: gpt2(name="gpt2", published_params=124_439_808), 124_439_808,
             ("gpt2-small", "gpt2-124m")),
    "gpt2-medium": (lambda: gpt2(24, 1024, 16, name="gpt2-medium", published_params=354_823_168),
                    354_823_168, ("gpt2-355m",)),
    "gpt2-large": (lambda: gpt2(36, 1280, 20, name="gpt2-large", published_params=774_030_080),
                   774_030_080, ("gpt2-774m",)),
    "gpt2-xl": (lambda: gpt2(48, 1600, 25, name="gpt2-xl", published_params=1_557_611_200),
                1_557_611_200, ("gpt2-1.5b",)),
    "llama-1b": (lambda: llama(16, 2048, 32, 8, 8192, 128256, tie_embeddings=True,
                               name="llama-1b", published_params=1_235_814_400),
                 1_235_814_400, ("llama-3.2-1b", "llama3.2-1b")),
    "llama-7b": (lambda: llama(32, 4096, 32, 32, 11008, 32000, name="llama-7b",
                               published_params=6_738_415_616),
                 6_738_415_616, ("llama-2-7b", "llama2-7b")),
    "llama-13b": (lambda: llama(40, 5120, 40, 40, 13824, 32000, name="llama-13b",
                                published_params=13_015_864_320),
                  13_015_864_320, ("llama-2-13b", "llama2-13b")),
    "llama-70b": (lambda: llama(80, 8192, 64, 8, 28672, 32000, name="llama-70b",
                                published_params=68_976_648_192),
                  68_976_648_192, ("llama-2-70b", "llama2-70b")),
    "bert-base": (lambda: bert(name="bert-base", published_params=109_482_240), 109_482_240,
                  ("bert-base-uncased", "bert")),
    "resnet-50": (lambda: resnet(name="resnet-50", published_params=25_557_032), 25_557_032,
                  ("resnet50",)),
    "vit-b-16": (lambda: vit(name="vit-b-16", published_params=86_567_656), 86_567_656,
                 ("vit-b/16", "vit_b_16", "vit-base-patch16-224")),
}

_ALIASES = {a: n for n, (_, _, al) in ARCHITECTURES.items() for a in al}


def names() -> Tuple[str, ...]:
    """The built-in architecture names (aliases not included)."""
    return tuple(ARCHITECTURES)


def canonical(name: str) -> str:
    """The built-in name ``name`` refers to (case-insensitive; ``_`` reads as ``-``)."""
    if not isinstance(name, str):
        raise TypeError(f"architecture name must be a str, got {type(name).__name__}")
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; known: {', '.join(ARCHITECTURES)}")
    return key


def get(name: str) -> ModelSpec:
    """The spec of built-in architecture ``name`` (see :func:`names`; aliases accepted)."""
    return ARCHITECTURES[canonical(name)][0]()
