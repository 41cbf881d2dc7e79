"""Hugging Face ``config.json`` in, a loadable Hugging Face directory out.

:func:`spec_from_config` turns a transformers config (a dict, a ``config.json`` path or a
directory holding one) into a :class:`~weightinit.models.ModelSpec` with the parameter names,
shapes and initialization of transformers' model class: its ``PreTrainedModel._init_weights``
(transformers 5.x) draws every ``nn.Linear``/``Conv`` weight and every embedding from
N(0, initializer_range), zeroes biases and the embedding row of ``pad_token_id``, sets
LayerNorm/RMSNorm weights to 1 and biases to 0; family rules on top:

- gpt2: Conv1D weights N(0, r); residual projections ``c_proj`` N(0, r / sqrt(2 n_layer))
  (Radford et al. 2019, "Language Models are Unsupervised Multitask Learners").
- gemma, gemma2: RMSNorm computes x (1 + w), so its weight is initialized to 0.
- vit: ``cls_token`` and ``position_embeddings`` truncated N(0, r) on [-2, 2].
- Tied embeddings (``tie_word_embeddings``) are stored once: no ``lm_head.weight``.
  Non-persistent buffers (rotary ``inv_freq``, BERT's ``position_ids``) are not written:
  transformers recomputes them when it loads the directory.

Families (``model_type``): llama, mistral, qwen2, qwen3, gemma, gemma2, phi3, gpt2, gpt_neox,
bert, vit. ``head=True`` (or a config whose ``architectures`` names a causal-LM class) gives
the names of the LM-head model (``LlamaForCausalLM``: ``model.`` prefix and ``lm_head.weight``
when not tied; ``GPT2LMHeadModel``: ``transformer.``; ``GPTNeoXForCausalLM``: ``gpt_neox.``); bert and vit
have the bare model's names only.

:func:`save_pretrained` writes ``config.json`` and ``model.safetensors``, or
``model-0000k-of-0000n.safetensors`` + ``model.safetensors.index.json`` above
``max_shard_size`` (HF's convention: "5GB" = 5 * 10**9 bytes), each shard by
:func:`~weightinit.safetensors_io.save_safetensors` in bounded memory. Every tensor's stream is
its own name, so sharding never changes a value. The directory is assembled under a temporary
name beside the target and renamed into place, so ``out`` appears only once complete.

Config defaults: a field absent from the config takes transformers' default for the family
(its config class when transformers is installed, else :data:`DEFAULTS`, a copy of those
defaults as of transformers 5.x).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from . import _validate
from .models import ModelSpec, Param

__all__ = ["spec_from_config", "load_config", "hf_config", "save_pretrained", "parse_size",
           "FAMILIES", "DEFAULTS"]

# transformers 5.x config-class defaults of the fields the specs read (used without transformers)
DEFAULTS: Dict[str, Dict[str, Any]] = {
    "llama": dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                  num_attention_heads=32, num_key_value_heads=None, head_dim=None,
                  initializer_range=0.02, tie_word_embeddings=False, pad_token_id=None,
                  attention_bias=False, mlp_bias=False),
    "mistral": dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336,
                    num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                    head_dim=None, initializer_range=0.02, tie_word_embeddings=False,
                    pad_token_id=None),
    "qwen2": dict(vocab_size=151936, hidden_size=4096, intermediate_size=22016,
                  num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
                  initializer_range=0.02, tie_word_embeddings=False, pad_token_id=None),
    "qwen3": dict(vocab_size=151936, hidden_size=4096, intermediate_size=22016,
                  num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
                  head_dim=128, initializer_range=0.02, tie_word_embeddings=False,
                  pad_token_id=None, attention_bias=False),
    "gemma": dict(vocab_size=256000, hidden_size=3072, intermediate_size=24576,
                  num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=16,
                  head_dim=256, initializer_range=0.02, tie_word_embeddings=True, pad_token_id=0,
                  attention_bias=False),
    "gemma2": dict(vocab_size=256000, hidden_size=2304, intermediate_size=9216,
                   num_hidden_layers=26, num_attention_heads=8, num_key_value_heads=4,
                   head_dim=256, initializer_range=0.02, tie_word_embeddings=True,
                   pad_token_id=0, attention_bias=False),
    "phi3": dict(vocab_size=32064, hidden_size=3072, intermediate_size=8192, num_hidden_layers=32,
                 num_attention_heads=32, num_key_value_heads=None, initializer_range=0.02,
                 tie_word_embeddings=False, pad_token_id=32000),
    "gpt2": dict(vocab_size=50257, n_embd=768, n_layer=12, n_head=12, n_inner=None,
                 n_positions=1024, initializer_range=0.02, tie_word_embeddings=True),
    "gpt_neox": dict(vocab_size=50432, hidden_size=6144, intermediate_size=24576,
                     num_hidden_layers=44, num_attention_heads=64, initializer_range=0.02,
                     tie_word_embeddings=False, attention_bias=True),
    "bert": dict(vocab_size=30522, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                 num_attention_heads=12, initializer_range=0.02, pad_token_id=0,
                 max_position_embeddings=512, type_vocab_size=2),
    "vit": dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                num_attention_heads=12, initializer_range=0.02, image_size=224, patch_size=16,
                num_channels=3, qkv_bias=True),
}
# (bare model class, LM-head class or None, prefix of the bare model's names in the head class)
_CLASSES: Dict[str, Tuple[str, Optional[str], str]] = {
    "llama": ("LlamaModel", "LlamaForCausalLM", "model."),
    "mistral": ("MistralModel", "MistralForCausalLM", "model."),
    "qwen2": ("Qwen2Model", "Qwen2ForCausalLM", "model."),
    "qwen3": ("Qwen3Model", "Qwen3ForCausalLM", "model."),
    "gemma": ("GemmaModel", "GemmaForCausalLM", "model."),
    "gemma2": ("Gemma2Model", "Gemma2ForCausalLM", "model."),
    "phi3": ("Phi3Model", "Phi3ForCausalLM", "model."),
    "gpt2": ("GPT2Model", "GPT2LMHeadModel", "transformer."),
    "gpt_neox": ("GPTNeoXModel", "GPTNeoXForCausalLM", "gpt_neox."),
    "bert": ("BertModel", None, ""),
    "vit": ("ViTModel", None, ""),
}
FAMILIES: Tuple[str, ...] = tuple(DEFAULTS)

_SOURCE = ("Hugging Face transformers 5.x: names and shapes of {cls}; init of its "
           "PreTrainedModel._init_weights (N(0, initializer_range) for Linear/Conv weights and "
           "embeddings, padding row 0, biases 0, norms 1/0{extra})")


# ----------------------------------------------------------------------------- config


def load_config(config: Union[Mapping[str, Any], str, os.PathLike]) -> Dict[str, Any]:
    """A config as a dict: ``config`` itself, or read from a ``config.json`` file or a
    directory holding one."""
    if isinstance(config, Mapping):
        return dict(config)
    if not isinstance(config, (str, os.PathLike)):
        raise TypeError(f"config must be a dict, a config.json path or a directory, got "
                        f"{type(config).__name__}")
    path = os.fspath(config)
    if os.path.isdir(path):
        path = os.path.join(path, "config.json")
    with open(path, "rb") as f:
        d = _validate.json_loads(f.read(), f"config {path}")
    if not isinstance(d, dict):
        raise ValueError(f"config: {path} holds a {type(d).__name__}, not a JSON object")
    return d


def _model_type(cfg: Mapping[str, Any]) -> str:
    mt = cfg.get("model_type")
    if mt not in DEFAULTS:
        raise ValueError(f"config: model_type {mt!r} is not supported; supported: "
                         f"{', '.join(FAMILIES)}")
    return str(mt)


def hf_config(model_type: str, **fields: Any) -> Dict[str, Any]:
    """A complete config dict for ``model_type`` with ``fields`` set: transformers' config class
    defaults when transformers is installed, else :data:`DEFAULTS`."""
    _model_type({"model_type": model_type})
    try:
        from transformers import AutoConfig
    except ImportError:
        return {**DEFAULTS[model_type], **fields, "model_type": model_type}
    d = AutoConfig.for_model(model_type, **fields).to_dict()
    d.pop("transformers_version", None)
    return d


def _get(cfg: Mapping[str, Any], key: str) -> Any:
    v = cfg.get(key, DEFAULTS[cfg["model_type"]].get(key))
    return v


def _wants_head(cfg: Mapping[str, Any], head: Optional[bool]) -> bool:
    if head is not None:
        return bool(head)
    return any(re.search(r"(ForCausalLM|LMHeadModel)$", a) for a in cfg.get("architectures") or ())


# ----------------------------------------------------------------------------- specs


def _norm(p: Dict[str, Param], prefix: str, n: int, bias: bool, one: str = "ones_") -> None:
    p[f"{prefix}.weight"] = Param((n,), one)
    if bias:
        p[f"{prefix}.bias"] = Param((n,), "zeros_")


def _linear(p: Dict[str, Param], prefix: str, out_f: int, in_f: int, std: float,
            bias: bool) -> None:
    p[f"{prefix}.weight"] = Param((out_f, in_f), "normal_", std=std)
    if bias:
        p[f"{prefix}.bias"] = Param((out_f,), "zeros_")


def _pad_rows(cfg: Mapping[str, Any], vocab: int) -> Tuple[int, ...]:
    pad = _get(cfg, "pad_token_id")
    return (int(pad),) if isinstance(pad, int) and 0 <= pad < vocab else ()


def _decoder(cfg: Mapping[str, Any], mt: str) -> Dict[str, Param]:
    """llama, mistral, qwen2, qwen3, gemma, gemma2, phi3: RMSNorm, gated MLP, GQA."""
    d, ff, nl = _get(cfg, "hidden_size"), _get(cfg, "intermediate_size"), _get(cfg, "num_hidden_layers")
    nh = _get(cfg, "num_attention_heads")
    kvh = _get(cfg, "num_key_value_heads") or nh
    hd = _get(cfg, "head_dim") or d // nh
    vocab, std = _get(cfg, "vocab_size"), _get(cfg, "initializer_range")
    one = "zeros_" if mt in ("gemma", "gemma2") else "ones_"  # gemma's RMSNorm is x (1 + w)
    attn_bias = mt == "qwen2" or bool(_get(cfg, "attention_bias"))
    mlp_bias = bool(_get(cfg, "mlp_bias"))
    p: Dict[str, Param] = {"embed_tokens.weight": Param((vocab, d), "normal_", std=std,
                                                        zero_rows=_pad_rows(cfg, vocab))}
    for i in range(nl):
        L = f"layers.{i}"
        if mt == "phi3":
            _linear(p, f"{L}.self_attn.o_proj", d, nh * hd, std, False)
            _linear(p, f"{L}.self_attn.qkv_proj", (nh + 2 * kvh) * hd, d, std, False)
            _linear(p, f"{L}.mlp.gate_up_proj", 2 * ff, d, std, False)
            _linear(p, f"{L}.mlp.down_proj", d, ff, std, False)
        else:
            _linear(p, f"{L}.self_attn.q_proj", nh * hd, d, std, attn_bias)
            _linear(p, f"{L}.self_attn.k_proj", kvh * hd, d, std, attn_bias)
            _linear(p, f"{L}.self_attn.v_proj", kvh * hd, d, std, attn_bias)
            _linear(p, f"{L}.self_attn.o_proj", d, nh * hd, std, attn_bias and mt != "qwen2")
            if mt == "qwen3":
                _norm(p, f"{L}.self_attn.q_norm", hd, False)
                _norm(p, f"{L}.self_attn.k_norm", hd, False)
            _linear(p, f"{L}.mlp.gate_proj", ff, d, std, mlp_bias)
            _linear(p, f"{L}.mlp.up_proj", ff, d, std, mlp_bias)
            _linear(p, f"{L}.mlp.down_proj", d, ff, std, mlp_bias)
        _norm(p, f"{L}.input_layernorm", d, False, one)
        _norm(p, f"{L}.post_attention_layernorm", d, False, one)
        if mt == "gemma2":
            _norm(p, f"{L}.pre_feedforward_layernorm", d, False, one)
            _norm(p, f"{L}.post_feedforward_layernorm", d, False, one)
    _norm(p, "norm", d, False, one)
    return p


def _gpt2(cfg: Mapping[str, Any]) -> Dict[str, Param]:
    d, nl, std = _get(cfg, "n_embd"), _get(cfg, "n_layer"), _get(cfg, "initializer_range")
    inner = _get(cfg, "n_inner") or 4 * d
    proj = std / math.sqrt(2 * nl)  # GPT-2's scaled residual projections
    p: Dict[str, Param] = {"wte.weight": Param((_get(cfg, "vocab_size"), d), "normal_", std=std),
                           "wpe.weight": Param((_get(cfg, "n_positions"), d), "normal_", std=std)}
    for i in range(nl):
        h = f"h.{i}"
        _norm(p, f"{h}.ln_1", d, True)
        for name, shape, s in (("attn.c_attn", (d, 3 * d), std), ("attn.c_proj", (d, d), proj)):
            p[f"{h}.{name}.weight"] = Param(shape, "normal_", std=s)  # Conv1D: (in, out)
            p[f"{h}.{name}.bias"] = Param((shape[1],), "zeros_")
        _norm(p, f"{h}.ln_2", d, True)
        for name, shape, s in (("mlp.c_fc", (d, inner), std), ("mlp.c_proj", (inner, d), proj)):
            p[f"{h}.{name}.weight"] = Param(shape, "normal_", std=s)
            p[f"{h}.{name}.bias"] = Param((shape[1],), "zeros_")
    _norm(p, "ln_f", d, True)
    return p


def _gpt_neox(cfg: Mapping[str, Any]) -> Dict[str, Param]:
    d, ff, nl = _get(cfg, "hidden_size"), _get(cfg, "intermediate_size"), _get(cfg, "num_hidden_layers")
    std, bias = _get(cfg, "initializer_range"), bool(_get(cfg, "attention_bias"))
    p: Dict[str, Param] = {"embed_in.weight": Param((_get(cfg, "vocab_size"), d), "normal_",
                                                    std=std)}
    for i in range(nl):
        L = f"layers.{i}"
        _norm(p, f"{L}.input_layernorm", d, True)
        _norm(p, f"{L}.post_attention_layernorm", d, True)
        _linear(p, f"{L}.attention.query_key_value", 3 * d, d, std, bias)
        _linear(p, f"{L}.attention.dense", d, d, std, bias)
        _linear(p, f"{L}.mlp.dense_h_to_4h", ff, d, std, True)
        _linear(p, f"{L}.mlp.dense_4h_to_h", d, ff, std, True)
    _norm(p, "final_layer_norm", d, True)
    return p


def _bert(cfg: Mapping[str, Any]) -> Dict[str, Param]:
    d, ff, nl = _get(cfg, "hidden_size"), _get(cfg, "intermediate_size"), _get(cfg, "num_hidden_layers")
    vocab, std = _get(cfg, "vocab_size"), _get(cfg, "initializer_range")
    p: Dict[str, Param] = {
        "embeddings.word_embeddings.weight": Param((vocab, d), "normal_", std=std,
                                                   zero_rows=_pad_rows(cfg, vocab)),
        "embeddings.position_embeddings.weight": Param(
            (_get(cfg, "max_position_embeddings"), d), "normal_", std=std),
        "embeddings.token_type_embeddings.weight": Param(
            (_get(cfg, "type_vocab_size"), d), "normal_", std=std)}
    _norm(p, "embeddings.LayerNorm", d, True)
    for i in range(nl):
        L = f"encoder.layer.{i}"
        for k in ("query", "key", "value"):
            _linear(p, f"{L}.attention.self.{k}", d, d, std, True)
        _linear(p, f"{L}.attention.output.dense", d, d, std, True)
        _norm(p, f"{L}.attention.output.LayerNorm", d, True)
        _linear(p, f"{L}.intermediate.dense", ff, d, std, True)
        _linear(p, f"{L}.output.dense", d, ff, std, True)
        _norm(p, f"{L}.output.LayerNorm", d, True)
    _linear(p, "pooler.dense", d, d, std, True)
    return p


def _vit(cfg: Mapping[str, Any]) -> Dict[str, Param]:
    d, ff, nl = _get(cfg, "hidden_size"), _get(cfg, "intermediate_size"), _get(cfg, "num_hidden_layers")
    std, ps, qkv = _get(cfg, "initializer_range"), _get(cfg, "patch_size"), bool(_get(cfg, "qkv_bias"))
    n = (_get(cfg, "image_size") // ps) ** 2
    tn = dict(std=std, a=-2.0, b=2.0)  # torch's trunc_normal_ bounds are absolute
    p: Dict[str, Param] = {
        "embeddings.cls_token": Param((1, 1, d), "trunc_normal_", **tn),
        "embeddings.position_embeddings": Param((1, n + 1, d), "trunc_normal_", **tn),
        "embeddings.patch_embeddings.projection.weight": Param(
            (d, _get(cfg, "num_channels"), ps, ps), "normal_", std=std),
        "embeddings.patch_embeddings.projection.bias": Param((d,), "zeros_")}
    for i in range(nl):
        L = f"layers.{i}"
        for k, bias in (("q_proj", qkv), ("k_proj", qkv), ("v_proj", qkv), ("o_proj", True)):
            _linear(p, f"{L}.attention.{k}", d, d, std, bias)
        for ln in ("layernorm_before", "layernorm_after"):
            _norm(p, f"{L}.{ln}", d, True)
        for k, out_f, in_f in (("fc1", ff, d), ("fc2", d, ff)):
            _linear(p, f"{L}.mlp.{k}", out_f, in_f, std, True)
    _norm(p, "layernorm", d, True)
    _linear(p, "pooler.dense", d, d, std, True)
    return p


def _dtype_of(cfg: Mapping[str, Any]) -> Optional[str]:
    dt = cfg.get("dtype") or cfg.get("torch_dtype")
    return str(dt).replace("torch.", "") if dt else None


def spec_from_config(config: Union[Mapping[str, Any], str, os.PathLike], *,
                     head: Optional[bool] = None) -> ModelSpec:
    """The :class:`ModelSpec` of a Hugging Face config (dict, ``config.json`` path or directory).

    ``head``: True for the LM-head model's names (``LlamaForCausalLM``, ``GPT2LMHeadModel``,
    ...), False for the bare model's; None (default) follows the config's ``architectures``.
    The spec's ``metadata["hf_config"]`` is the config to write beside the weights
    (``model_type``, ``architectures`` and ``dtype`` set), ``metadata["dtype"]`` the config's
    dtype (None when it names none).
    """
    cfg = load_config(config)
    mt = _model_type(cfg)
    for k, v in cfg.items():
        if k in DEFAULTS[mt] and isinstance(DEFAULTS[mt][k], int) and not isinstance(
                DEFAULTS[mt][k], bool) and v is not None and (
                isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise ValueError(f"config: {k} must be a non-negative int, got {v!r}")
    bare_cls, head_cls, prefix = _CLASSES[mt]
    want_head = _wants_head(cfg, head)
    if want_head and head_cls is None:
        raise ValueError(f"head: {mt} has the bare model's names only ({bare_cls}); pass "
                         f"head=False (CLI: without --head)")
    build = {"gpt2": _gpt2, "gpt_neox": _gpt_neox, "bert": _bert, "vit": _vit}.get(mt)
    body = build(cfg) if build else _decoder(cfg, mt)
    tied = bool(_get(cfg, "tie_word_embeddings")) if mt != "vit" else False
    if want_head:
        params = {prefix + k: v for k, v in body.items()}
        if not tied:
            emb = next(iter(body.values()))  # the token embedding comes first in every family
            params["lm_head.weight"] = Param(emb.shape, "normal_", std=_get(cfg, "initializer_range"))
    else:
        params = body
    cls = head_cls if want_head else bare_cls
    extra = {"gpt2": "; residual c_proj N(0, r / sqrt(2 n_layer))",
             "gemma": "; RMSNorm weights 0 (x (1 + w))", "gemma2": "; RMSNorm weights 0",
             "vit": "; cls_token, position_embeddings truncated normal"}.get(mt, "")
    out_cfg = dict(cfg)
    out_cfg["model_type"] = mt
    out_cfg["architectures"] = [cls]
    return ModelSpec(params, name=cfg.get("_name_or_path") or mt, description=f"{cls} ({mt})",
                     source=_SOURCE.format(cls=cls, extra=extra),
                     metadata={"hf_config": out_cfg, "dtype": _dtype_of(cfg)})


# ----------------------------------------------------------------------------- writing


def parse_size(size: Union[int, str]) -> int:
    """Bytes of a size as transformers' ``convert_file_size_to_int`` reads ``max_shard_size``:
    an int (or a string of digits), or digits and a unit: "5GB" = 5 * 10**9, "500MB", "100KB",
    "2GiB" = 2 * 2**30, "MiB", "KiB"; a lowercase final "b" ("5Gb") means bits (/ 8)."""
    if isinstance(size, str) and size.strip().isdigit():
        size = int(size)
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        return size
    m = re.fullmatch(r"(\d+)([KMG])(I?)(B)", size, re.IGNORECASE) if isinstance(size, str) else None
    if m is None or int(m[1]) <= 0:
        raise ValueError(f"max_shard_size must be a positive int of bytes or digits and a unit "
                         f"(KB, MB, GB = 10**3.., KiB, MiB, GiB = 2**10..), such as '5GB', got "
                         f"{size!r}")
    power = "KMG".index(m[2].upper()) + 1
    if m[3]:
        return int(m[1]) * 2 ** (10 * power)
    n = int(m[1]) * 10 ** (3 * power)
    return n // 8 if m[4] == "b" else n  # transformers: "Gb" is gigabits


def _shards(spec: ModelSpec, dtype: str, limit: int) -> List[List[str]]:
    """HF's greedy split: tensors in order, a new shard when the next would pass ``limit``."""
    from .models import np_dtype

    shards: List[List[str]] = [[]]
    size = 0
    for name, p in spec.items():
        n = p.size * np_dtype(p.dtype or dtype).itemsize
        if shards[-1] and size + n > limit:
            shards.append([])
            size = 0
        shards[-1].append(name)
        size += n
    return shards


def save_pretrained(spec: Union[ModelSpec, Mapping[str, Any], str, os.PathLike],
                    out: Union[str, os.PathLike], seed: Optional[int] = None,
                    dtype: Any = None, *, max_shard_size: Union[int, str] = "5GB",
                    head: Optional[bool] = None, threads: Optional[int] = None,
                    progress: Optional[bool] = None, overwrite: bool = False) -> str:
    """Writes a directory ``out`` that ``transformers.AutoModel*.from_pretrained(out)`` loads.

    ``spec``: a spec from :func:`spec_from_config`, or a config (dict, path, directory) made
    into one with ``head``. ``dtype``: the tensors' dtype (default: the config's ``dtype``, else
    float32), also written to config.json. Sharding as transformers' ``save_pretrained`` does
    (greedy, in parameter order, ``max_shard_size`` per shard; one tensor larger than it gets a
    shard of its own). ``seed=None`` draws one from the OS (in every file's metadata). The
    directory is built under a temporary name beside ``out`` and renamed into place when
    complete; an existing ``out`` is refused unless ``overwrite`` (then replaced after the new
    one is complete). Returns ``out``.
    """
    from . import safetensors_io as st
    from ._random import parse_dtype
    from .build import resolve_seed

    if not isinstance(spec, ModelSpec):
        spec = spec_from_config(spec, head=head)
    cfg = dict(spec.metadata.get("hf_config") or {})
    if not cfg:
        raise ValueError("spec: not made from a Hugging Face config (no metadata['hf_config']); "
                         "use weightinit.hf.spec_from_config")
    dt = parse_dtype(dtype if dtype is not None else (spec.metadata.get("dtype") or "float32"))
    limit = parse_size(max_shard_size)
    seed = resolve_seed(seed)
    out = os.fspath(out)
    if os.path.lexists(out) and not (overwrite and os.path.isdir(out)):
        raise FileExistsError(f"out: {out} exists" + ("" if overwrite else
                                                      "; pass overwrite=True to replace it"))
    parent = os.path.dirname(os.path.abspath(out))
    cfg["dtype"] = dt.name
    cfg.pop("torch_dtype", None)
    shards = _shards(spec, dt.name, limit)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.", suffix=".tmp", dir=parent)
    try:
        with open(os.path.join(tmp, "config.json"), "w", encoding="utf-8") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
            f.write("\n")
        n = len(shards)
        weight_map: Dict[str, str] = {}
        for k, names in enumerate(shards, 1):
            fname = ("model.safetensors" if n == 1
                     else f"model-{k:05d}-of-{n:05d}.safetensors")
            sub = ModelSpec({name: spec[name] for name in names}, name=spec.name)
            st.save_safetensors(sub, os.path.join(tmp, fname), seed=seed, dtype=dt,
                                threads=threads, progress=progress)
            weight_map.update(dict.fromkeys(names, fname))
        if n > 1:
            total = spec.nbytes(dt)
            with open(os.path.join(tmp, "model.safetensors.index.json"), "w",
                      encoding="utf-8") as f:
                json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f,
                          indent=2)
                f.write("\n")
        if os.path.lexists(out):  # overwrite: move the old one aside, then swap
            old = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.", suffix=".old",
                                   dir=parent)
            os.rename(out, os.path.join(old, "x"))
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


# ----------------------------------------------------------------------------- CLI


def is_config(path: str) -> bool:
    """True for a directory holding a config.json, or a JSON file with a ``model_type``."""
    if os.path.isdir(path):
        return os.path.isfile(os.path.join(path, "config.json"))
    if not (path.endswith(".json") and os.path.isfile(path)):
        return False
    try:
        d = load_config(path)
    except (OSError, ValueError):
        return False  # the spec reader reports it
    return "model_type" in d and "params" not in d


def _parse_sets(pairs: List[str]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for kv in pairs:
        key, sep, text = kv.partition("=")
        if not sep or not key:
            raise ValueError(f"--set: expected KEY=VALUE, got {kv!r}")
        try:
            out[key] = _validate.json_loads(text, "--set")
        except ValueError:
            out[key] = text
    return out


def cli_init(args: Any) -> int:
    """``weightinit init config.json | DIR | --hf MODEL_TYPE [--set k=v ...]``: the directory."""
    import secrets
    import sys
    import time

    if args.hf and args.model:
        raise ValueError(f"give a config ({args.model!r}) or --hf {args.hf}, not both")
    if args.hf:
        cfg = hf_config(args.hf, **_parse_sets(args.set))
    elif args.model and is_config(args.model):
        cfg = {**load_config(args.model), **_parse_sets(args.set)}
    else:
        raise ValueError("--set/--head need a Hugging Face config.json (or a directory holding "
                         "one) or --hf MODEL_TYPE")
    spec = spec_from_config(cfg, head=args.head)
    dtype = args.dtype or spec.metadata.get("dtype") or "float32"
    out = args.out or re.sub(r"[^A-Za-z0-9_.+-]+", "-", spec.name) + "-init"
    seed = args.seed if args.seed is not None else secrets.randbits(64)
    shards = _shards(spec, str(dtype), parse_size(args.max_shard_size))
    total = spec.nbytes(dtype)
    if os.path.lexists(out) and not args.force:
        raise FileExistsError(f"{out} exists")
    if args.dry_run:
        plan = dict(dry_run=True, path=out, exists=os.path.lexists(out), model=spec.description,
                    seed=seed, dtype=str(dtype), params=spec.num_params(), bytes=total,
                    shards=len(shards), tensors=[dict(name=n, **spec[n].to_dict())
                                                 for n in spec])
        if args.json:
            print(json.dumps(plan, indent=1))
        else:
            print(f"dry run, nothing written: {spec.description}, {spec.num_params():,} "
                  f"parameters, {len(spec)} tensors, {total:,} bytes of {dtype} in "
                  f"{len(shards)} file(s), seed {seed} -> {out}/")
            for n in spec:
                print(f"  {n}  {spec[n].to_dict()}")
        return 0
    quiet = getattr(args, "quiet", False)
    if not quiet:
        print(f"weightinit: {spec.description}: {spec.num_params():,} parameters, {dtype}, "
              f"seed {seed} -> {out}/ ({len(shards)} file(s))", file=sys.stderr)
    t0 = time.perf_counter()
    save_pretrained(spec, out, seed=seed, dtype=dtype, max_shard_size=args.max_shard_size,
                    threads=args.threads, progress=False if quiet else args.progress,
                    overwrite=args.force)
    dt = time.perf_counter() - t0
    cls = spec.metadata["hf_config"]["architectures"][0]
    hint = f"load it with: from transformers import {cls}; model = {cls}.from_pretrained({out!r})"
    if args.json:
        print(json.dumps(dict(path=out, model=cls, seed=seed, dtype=str(dtype),
                              params=spec.num_params(), bytes=total, files=len(shards),
                              seconds=round(dt, 3), load=hint), indent=1))
    else:
        print(f"wrote {out}/: {total:,} bytes in {len(shards)} file(s), {dt:.2f} s, seed {seed}")
        if not quiet:
            print(hint, file=sys.stderr)
    return 0
