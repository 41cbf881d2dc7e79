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
- bert: the MLM head's output bias 0; its decoder is the word embedding (tied).
- vit: ``cls_token`` and ``position_embeddings`` truncated N(0, r) on [-2, 2].
- t5 (Raffel et al. 2020, "Exploring the Limits of Transfer Learning with a Unified
  Text-to-Text Transformer"; Mesh TensorFlow's init), with f = initializer_factor: the shared
  embedding N(0, f); q N(0, f / sqrt(d_model d_kv)); k, v N(0, f / sqrt(d_model)); o
  N(0, f / sqrt(n_heads d_kv)); ``relative_attention_bias`` (block 0 of each stack only)
  N(0, f / sqrt(d_model)); wi (wi_0, wi_1 when gated) N(0, f / sqrt(d_model)); wo
  N(0, f / sqrt(d_ff)); layer norms f. transformers 5.x always ties the LM head to ``shared``.
- Names are those ``save_pretrained`` writes (the Hub layout, which transformers 4.x and 5.x
  both load): where transformers 5.x renames a checkpoint's tensors on load, the spec keeps the
  checkpoint's name -- ViT's ``encoder.layer.N.attention.attention.query`` (``layers.N.
  attention.q_proj`` in the 5.x module), GPT-NeoX's ``embed_out.weight`` (``lm_head``).
- Tied embeddings (``tie_word_embeddings``) are stored once: no ``lm_head.weight``.
  Non-persistent buffers (rotary ``inv_freq``, BERT's ``position_ids``) are not written:
  transformers recomputes them when it loads the directory.

Families (``model_type``) and model classes (``head``; the first head is ``head=True``'s):

- llama, mistral, qwen2, qwen3, gemma, gemma2, phi3: ``LlamaModel``, ``LlamaForCausalLM``
  (``model.`` prefix, ``lm_head.weight`` when not tied), and so on for each family
- gpt2: ``GPT2Model``, ``GPT2LMHeadModel`` (``transformer.``)
- gpt_neox: ``GPTNeoXModel``, ``GPTNeoXForCausalLM`` (``gpt_neox.``)
- bert: ``BertModel``, ``BertForMaskedLM``, ``BertForPreTraining``,
  ``BertForSequenceClassification`` (``bert.``; ``cls.*`` or ``classifier.*``)
- vit: ``ViTModel``, ``ViTForImageClassification`` (``vit.``, ``classifier.*``)
- t5: ``T5Model``, ``T5ForConditionalGeneration``, ``T5EncoderModel``

:func:`save_pretrained` writes ``config.json`` and ``model.safetensors``, or
``model-0000k-of-0000n.safetensors`` + ``model.safetensors.index.json`` above
``max_shard_size`` (HF's convention: "5GB" = 5 * 10**9 bytes), each shard by
:func:`~weightinit.safetensors_io.save_safetensors` in bounded memory. Every tensor's stream is
its own name, so sharding never changes a value. The directory is assembled under a temporary
name beside the target and renamed into place, so ``out`` appears only once complete.

Config defaults: a field absent from the config takes transformers' default for the family
(its config class when transformers is installed, else :data:`DEFAULTS`, a copy of those
defaults as of transformers 5.x). Config fields that add parameters the specs do not model
(``add_cross_attention``) are refused, naming the field.
"""

from __future__ import annotations

import difflib
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
           "architectures", "FAMILIES", "DEFAULTS"]

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
                 n_positions=1024, initializer_range=0.02, tie_word_embeddings=True,
                 add_cross_attention=False),
    "gpt_neox": dict(vocab_size=50432, hidden_size=6144, intermediate_size=24576,
                     num_hidden_layers=44, num_attention_heads=64, initializer_range=0.02,
                     tie_word_embeddings=False, attention_bias=True),
    "bert": dict(vocab_size=30522, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                 num_attention_heads=12, initializer_range=0.02, pad_token_id=0,
                 max_position_embeddings=512, type_vocab_size=2, tie_word_embeddings=True,
                 add_cross_attention=False),
    "vit": dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                num_attention_heads=12, initializer_range=0.02, image_size=224, patch_size=16,
                num_channels=3, qkv_bias=True, pooler_output_size=None),
    "t5": dict(vocab_size=32128, d_model=512, d_kv=64, d_ff=2048, num_layers=6,
               num_decoder_layers=None, num_heads=8, relative_attention_num_buckets=32,
               initializer_factor=1.0, feed_forward_proj="relu"),
}
# transformers' attribute_map: other names a config may use for a field
_ALIASES: Dict[str, Dict[str, str]] = {
    "gpt2": dict(hidden_size="n_embd", max_position_embeddings="n_positions",
                 num_attention_heads="n_head", num_hidden_layers="n_layer"),
    "t5": dict(hidden_size="d_model", num_attention_heads="num_heads",
               num_hidden_layers="num_layers", head_dim="d_kv"),
}
# fields that add parameters the specs do not model: the only value accepted
_FIXED: Dict[str, Dict[str, Any]] = {
    "gpt2": dict(add_cross_attention=False), "bert": dict(add_cross_attention=False)}
# model_type -> (bare model class, {head class: prefix of the bare model's names in it}); the
# first head is the one head=True (CLI: --head) picks
_CLASSES: Dict[str, Tuple[str, Dict[str, str]]] = {
    "llama": ("LlamaModel", {"LlamaForCausalLM": "model."}),
    "mistral": ("MistralModel", {"MistralForCausalLM": "model."}),
    "qwen2": ("Qwen2Model", {"Qwen2ForCausalLM": "model."}),
    "qwen3": ("Qwen3Model", {"Qwen3ForCausalLM": "model."}),
    "gemma": ("GemmaModel", {"GemmaForCausalLM": "model."}),
    "gemma2": ("Gemma2Model", {"Gemma2ForCausalLM": "model."}),
    "phi3": ("Phi3Model", {"Phi3ForCausalLM": "model."}),
    "gpt2": ("GPT2Model", {"GPT2LMHeadModel": "transformer."}),
    "gpt_neox": ("GPTNeoXModel", {"GPTNeoXForCausalLM": "gpt_neox."}),
    "bert": ("BertModel", {"BertForMaskedLM": "bert.", "BertForPreTraining": "bert.",
                           "BertForSequenceClassification": "bert."}),
    "vit": ("ViTModel", {"ViTForImageClassification": "vit."}),
    "t5": ("T5Model", {"T5ForConditionalGeneration": "", "T5EncoderModel": ""}),
}
# fields holding sizes (ints; image_size, patch_size also [height, width]); those that may be 0
_SIZES = {k for d in DEFAULTS.values() for k, v in d.items()
          if isinstance(v, int) and not isinstance(v, bool) and k != "pad_token_id"} | {
    "num_key_value_heads", "head_dim", "n_inner", "num_decoder_layers", "pooler_output_size"}
_MAY_BE_ZERO = {"num_hidden_layers", "n_layer", "num_layers", "num_decoder_layers",
                "type_vocab_size"}
_RENAMED = {"T5WithLMHeadModel": "T5ForConditionalGeneration"}  # older Hub configs' names
FAMILIES: Tuple[str, ...] = tuple(DEFAULTS)

_SOURCE = ("Hugging Face transformers 5.x: names and shapes of {cls}; init of its "
           "PreTrainedModel._init_weights (N(0, initializer_range) for Linear/Conv weights and "
           "embeddings, padding row 0, biases 0, norms 1/0{extra})")
_T5_SOURCE = ("Hugging Face transformers 5.x: names and shapes of {cls}; init of "
              "T5PreTrainedModel._init_weights (f = initializer_factor: shared N(0, f), q "
              "N(0, f/sqrt(d_model d_kv)), k/v/wi N(0, f/sqrt(d_model)), o N(0, f/sqrt(n_heads "
              "d_kv)), relative_attention_bias N(0, f/sqrt(d_model)), wo N(0, f/sqrt(d_ff)), "
              "layer norms f)")
_OTHER_MODELS = ("for another architecture, build the model on the meta device and fill it with "
                 "weightinit.torch.init_module(model, seed=...), which runs its own init code")


def architectures(model_type: str) -> Tuple[str, ...]:
    """The transformers model classes of ``model_type`` whose names the specs give: the bare
    model first, then its heads (the first of them is ``head=True``'s)."""
    bare, heads = _CLASSES[_model_type({"model_type": model_type})]
    return (bare, *heads)


def _did_you_mean(word: Any, choices: Any) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


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
        if not os.path.isfile(os.path.join(path, "config.json")):
            raise ValueError(f"config: the directory {path} holds no config.json")
        path = os.path.join(path, "config.json")
    with open(path, "rb") as f:
        d = _validate.json_loads(f.read(), f"config {path}")
    if not isinstance(d, dict):
        raise ValueError(f"config: {path} holds a {type(d).__name__}, not a JSON object")
    return d


def _model_type(cfg: Mapping[str, Any]) -> str:
    mt = cfg.get("model_type")
    if mt not in DEFAULTS:
        what = "has no model_type" if mt is None else f"model_type {mt!r} is not supported"
        raise ValueError(f"config: {what}{_did_you_mean(mt, FAMILIES) if mt else ''}; "
                         f"supported: {', '.join(FAMILIES)}; {_OTHER_MODELS}")
    return str(mt)


def _known_fields(model_type: str) -> Tuple[Optional[set], set]:
    """(every field of transformers' config class or None without transformers, the fields
    known here)."""
    here = set(DEFAULTS[model_type]) | set(_ALIASES.get(model_type, ())) | {
        "architectures", "dtype", "torch_dtype", "num_labels", "id2label", "label2id",
        "pad_token_id", "bos_token_id", "eos_token_id", "tie_word_embeddings"}
    try:
        from transformers import CONFIG_MAPPING
    except ImportError:
        return None, here
    cls = CONFIG_MAPPING[model_type]
    return set(cls().to_dict()) | set(cls.attribute_map) | here, here


def _check_fields(model_type: str, fields: Dict[str, Any]) -> Optional[set]:
    """Refuses fields that are not ``model_type``'s (see :func:`hf_config`); returns every
    field of transformers' config class (None without transformers). Drops a ``model_type``
    equal to ``model_type``."""
    _model_type({"model_type": model_type})
    if "model_type" in fields and fields.pop("model_type") != model_type:
        raise ValueError(f"model_type: the config is {model_type!r}; the fields cannot change it")
    every, here = _known_fields(model_type)
    for k in fields:
        if every is not None and k not in every:
            raise ValueError(f"{k}: not a field of transformers' {model_type} config"
                             f"{_did_you_mean(k, every)}; a field of another name can be "
                             f"written into a config.json by hand")
        if every is None and k not in here and _did_you_mean(k, here):
            raise ValueError(f"{k}: not a field of the {model_type} config"
                             f"{_did_you_mean(k, here)}")
    return every


def hf_config(model_type: str, /, **fields: Any) -> Dict[str, Any]:
    """A complete config dict for ``model_type`` with ``fields`` set: transformers' config class
    defaults when transformers is installed, else :data:`DEFAULTS`.

    A field that is not one of the config class's (without transformers: a near miss of a
    known field, such as ``hiden_size``) is refused, as it would change nothing but the
    config.json while the default it was meant to replace stays.
    """
    fields = dict(fields)
    every = _check_fields(model_type, fields)
    if every is None:
        return {**DEFAULTS[model_type], **fields, "model_type": model_type}
    from huggingface_hub.errors import StrictDataclassError
    from transformers import AutoConfig

    try:
        d = AutoConfig.for_model(model_type, **fields).to_dict()
    except StrictDataclassError as exc:  # a field of the wrong type
        raise ValueError(f"{model_type} config: {exc}") from None
    d.pop("transformers_version", None)
    return d


def _get(cfg: Mapping[str, Any], key: str) -> Any:
    return cfg.get(key, DEFAULTS[cfg["model_type"]].get(key))


def _normalized(cfg: Mapping[str, Any], mt: str) -> Dict[str, Any]:
    """``cfg`` with its aliases (``hidden_size`` of gpt2, t5) under the field's own name,
    checked: sizes non-negative ints, initializer_range/_factor non-negative numbers, the
    fields of :data:`_FIXED` at their only supported value."""
    out = dict(cfg)
    for alias, field in _ALIASES.get(mt, {}).items():
        if alias in out:
            v = out.pop(alias)
            if field in out and out[field] != v:
                raise ValueError(f"config: {alias}={v!r} and {field}={out[field]!r} name the same "
                                 f"{mt} field; give one")
            out[field] = v
    for k, v in out.items():
        if v is None or not (k in _SIZES or k.startswith("initializer_")):
            continue
        if k.startswith("initializer_"):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < math.inf:
                raise ValueError(f"config: {k} must be a non-negative number, got {v!r}")
        elif k in _SIZES:
            low = 0 if k in _MAY_BE_ZERO else 1
            pair = k in ("image_size", "patch_size") and isinstance(v, (list, tuple))
            if not all(isinstance(x, int) and not isinstance(x, bool) and x >= low
                       for x in (v if pair else [v])) or (pair and len(v) != 2):
                raise ValueError(f"config: {k} must be an int >= {low}"
                                 f"{' or a pair of them' if pair else ''}, got {v!r}")
    for k, only in _FIXED.get(mt, {}).items():
        if out.get(k, only) != only:
            raise ValueError(f"config: {k}={out[k]!r} is not supported for {mt} (it adds "
                             f"parameters the spec does not model); supported: {only!r}")
    return out


def _architecture(cfg: Mapping[str, Any], mt: str, head: Union[None, bool, str]) -> str:
    """The model class whose names the spec gets: from ``head``, else ``architectures``."""
    bare, heads = _CLASSES[mt]
    known = (bare, *heads)
    if isinstance(head, bool):
        return next(iter(heads)) if head else bare
    if isinstance(head, str):
        if head in known:
            return head
        raise ValueError(f"head: {head!r} is not a {mt} model class weightinit knows"
                         f"{_did_you_mean(head, known)}; choose one of {', '.join(known)}")
    if head is not None:
        raise TypeError(f"head must be None, a bool or a model class name such as "
                        f"{next(iter(heads))!r}, got {type(head).__name__}")
    archs = cfg.get("architectures") or []
    archs = [archs] if isinstance(archs, str) else list(archs)
    for a in archs:
        if _RENAMED.get(a, a) in known:
            return _RENAMED.get(a, a)
    if not archs:
        return bare
    raise ValueError(f"config: architectures {archs} names no {mt} model class weightinit knows"
                     f"{_did_you_mean(archs[0], known)}; known: {', '.join(known)}; pass head=False "
                     f"(CLI: --no-head) for {bare}'s names, or a class as head= (CLI: --head "
                     f"CLASS)")


def _num_labels(cfg: Mapping[str, Any]) -> int:
    if cfg.get("id2label"):
        return len(cfg["id2label"])
    n = cfg.get("num_labels")
    if n is None:
        return 2  # transformers' default
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"config: num_labels must be a non-negative int, got {n!r}")
    return n


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
    if isinstance(pad, bool) or not isinstance(pad, int) or not -vocab <= pad < vocab:
        return ()
    return (pad % vocab,)  # torch's padding_idx counts a negative index from the end


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
    proj = std / math.sqrt(2 * nl) if nl else std  # GPT-2's scaled residual projections
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


def _bert(cfg: Mapping[str, Any], arch: str) -> Dict[str, Param]:
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
    if arch != "BertForMaskedLM":  # built with add_pooling_layer=False
        _linear(p, "pooler.dense", d, d, std, True)
    if arch == "BertModel":
        return p
    p = {"bert." + k: v for k, v in p.items()}
    if arch == "BertForSequenceClassification":
        _linear(p, "classifier", _num_labels(cfg), d, std, True)
        return p
    H = "cls.predictions"
    p[f"{H}.bias"] = Param((vocab,), "zeros_")
    _linear(p, f"{H}.transform.dense", d, d, std, True)
    _norm(p, f"{H}.transform.LayerNorm", d, True)
    if not _get(cfg, "tie_word_embeddings"):  # else the decoder is the word embedding
        _linear(p, f"{H}.decoder", vocab, d, std, True)
    if arch == "BertForPreTraining":
        _linear(p, "cls.seq_relationship", 2, d, std, True)
    return p


def _pair(v: Any) -> Tuple[int, int]:
    return (v[0], v[1]) if isinstance(v, (list, tuple)) else (v, v)


def _vit(cfg: Mapping[str, Any], arch: str) -> Dict[str, Param]:
    d, ff, nl = _get(cfg, "hidden_size"), _get(cfg, "intermediate_size"), _get(cfg, "num_hidden_layers")
    std, qkv = _get(cfg, "initializer_range"), bool(_get(cfg, "qkv_bias"))
    nh = _get(cfg, "num_attention_heads")
    inner = nh * (cfg.get("head_dim") or d // nh)
    (ih, iw), (ph, pw) = _pair(_get(cfg, "image_size")), _pair(_get(cfg, "patch_size"))
    n = (ih // ph) * (iw // pw)
    tn = dict(std=std, a=-2.0, b=2.0)  # torch's trunc_normal_ bounds are absolute
    p: Dict[str, Param] = {
        "embeddings.cls_token": Param((1, 1, d), "trunc_normal_", **tn),
        "embeddings.position_embeddings": Param((1, n + 1, d), "trunc_normal_", **tn),
        "embeddings.patch_embeddings.projection.weight": Param(
            (d, _get(cfg, "num_channels"), ph, pw), "normal_", std=std),
        "embeddings.patch_embeddings.projection.bias": Param((d,), "zeros_")}
    for i in range(nl):  # the Hub layout: transformers 5.x renames these on load
        L = f"encoder.layer.{i}"
        for k in ("query", "key", "value"):
            _linear(p, f"{L}.attention.attention.{k}", inner, d, std, qkv)
        _linear(p, f"{L}.attention.output.dense", d, inner, std, True)
        for ln in ("layernorm_before", "layernorm_after"):
            _norm(p, f"{L}.{ln}", d, True)
        _linear(p, f"{L}.intermediate.dense", ff, d, std, True)
        _linear(p, f"{L}.output.dense", d, ff, std, True)
    _norm(p, "layernorm", d, True)
    if arch == "ViTModel":
        _linear(p, "pooler.dense", _get(cfg, "pooler_output_size") or d, d, std, True)
        return p
    p = {"vit." + k: v for k, v in p.items()}  # ViTForImageClassification: no pooler
    if _num_labels(cfg):  # else the classifier is nn.Identity
        _linear(p, "classifier", _num_labels(cfg), d, std, True)
    return p


def _t5(cfg: Mapping[str, Any], arch: str) -> Dict[str, Param]:
    """T5's own init (Mesh TensorFlow's): each projection scaled by its fan-in, f = factor."""
    d, kv, ff, nh = _get(cfg, "d_model"), _get(cfg, "d_kv"), _get(cfg, "d_ff"), _get(cfg, "num_heads")
    f = _get(cfg, "initializer_factor")
    proj = str(_get(cfg, "feed_forward_proj"))
    parts = proj.split("-")
    if len(parts) > 2 or len(parts) == 2 and parts[0] != "gated":
        raise ValueError(f"config: feed_forward_proj must be 'ACT' or 'gated-ACT' (such as 'relu', "
                         f"'gated-gelu'), got {proj!r}")
    gated = cfg.get("is_gated_act", parts[0] == "gated")  # saved configs hold it: it decides
    wi = ("wi_0", "wi_1") if gated else ("wi",)
    if arch == "T5EncoderModel" and cfg.get("is_decoder"):
        raise ValueError("config: is_decoder=True gives T5EncoderModel's stack cross-attention "
                         "layers the spec does not model; supported: False")

    def norm() -> Param:
        return Param((d,), "ones_") if f == 1.0 else Param((d,), "constant_", val=float(f))

    p: Dict[str, Param] = {"shared.weight": Param((_get(cfg, "vocab_size"), d), "normal_", std=f)}

    def attention(prefix: str, relative: bool) -> None:
        p[f"{prefix}.q.weight"] = Param((nh * kv, d), "normal_", std=f * (d * kv) ** -0.5)
        p[f"{prefix}.k.weight"] = Param((nh * kv, d), "normal_", std=f * d ** -0.5)
        p[f"{prefix}.v.weight"] = Param((nh * kv, d), "normal_", std=f * d ** -0.5)
        p[f"{prefix}.o.weight"] = Param((d, nh * kv), "normal_", std=f * (nh * kv) ** -0.5)
        if relative:
            p[f"{prefix}.relative_attention_bias.weight"] = Param(
                (_get(cfg, "relative_attention_num_buckets"), nh), "normal_", std=f * d ** -0.5)

    def stack(name: str, layers: int, cross: bool) -> None:
        for i in range(layers):
            B = f"{name}.block.{i}.layer"
            attention(f"{B}.0.SelfAttention", i == 0)  # only block 0 holds the position bias
            p[f"{B}.0.layer_norm.weight"] = norm()
            if cross:
                attention(f"{B}.1.EncDecAttention", False)
                p[f"{B}.1.layer_norm.weight"] = norm()
            F = f"{B}.{2 if cross else 1}"
            for w in wi:
                p[f"{F}.DenseReluDense.{w}.weight"] = Param((ff, d), "normal_", std=f * d ** -0.5)
            p[f"{F}.DenseReluDense.wo.weight"] = Param((d, ff), "normal_", std=f * ff ** -0.5)
            p[f"{F}.layer_norm.weight"] = norm()
        p[f"{name}.final_layer_norm.weight"] = norm()

    nl = _get(cfg, "num_layers")
    stack("encoder", nl, False)
    if arch != "T5EncoderModel":
        nd = _get(cfg, "num_decoder_layers")
        stack("decoder", nl if nd is None else nd, True)
    return p  # embed_tokens of both stacks and lm_head are tied to shared: stored once


def _dtype_of(cfg: Mapping[str, Any]) -> Optional[str]:
    dt = cfg.get("dtype") or cfg.get("torch_dtype")
    return str(dt).replace("torch.", "") if dt else None


def spec_from_config(config: Union[Mapping[str, Any], str, os.PathLike], *,
                     head: Union[None, bool, str] = None) -> ModelSpec:
    """The :class:`ModelSpec` of a Hugging Face config (dict, ``config.json`` path or directory).

    ``head``: the model class whose names the spec gets -- True for the family's first head
    (``LlamaForCausalLM``, ``GPT2LMHeadModel``, ``BertForMaskedLM``,
    ``ViTForImageClassification``, ``T5ForConditionalGeneration``, ...), False for the bare
    model (``LlamaModel``, ...), or a class name from :func:`architectures`; None (default)
    follows the config's ``architectures`` (the bare model when it names none).
    The spec's ``metadata["hf_config"]`` is the config to write beside the weights
    (``model_type``, ``architectures`` and ``dtype`` set), ``metadata["dtype"]`` the config's
    dtype (None when it names none).
    """
    raw = load_config(config)
    mt = _model_type(raw)
    cfg = _normalized(raw, mt)
    arch = _architecture(cfg, mt, head)
    bare, heads = _CLASSES[mt]
    if mt in ("bert", "vit", "t5"):
        params = {"bert": _bert, "vit": _vit, "t5": _t5}[mt](cfg, arch)
    else:
        body = {"gpt2": _gpt2, "gpt_neox": _gpt_neox}.get(mt, lambda c: _decoder(c, mt))(cfg)
        params = body if arch == bare else {heads[arch] + k: v for k, v in body.items()}
        if arch != bare and not _get(cfg, "tie_word_embeddings"):
            emb = next(iter(body.values()))  # the token embedding comes first in every family
            out = "embed_out.weight" if mt == "gpt_neox" else "lm_head.weight"  # Hub name
            params[out] = Param(emb.shape, "normal_", std=_get(cfg, "initializer_range"))
    extra = {"gpt2": "; residual c_proj N(0, r / sqrt(2 n_layer))",
             "gemma": "; RMSNorm weights 0 (x (1 + w))", "gemma2": "; RMSNorm weights 0",
             "vit": "; cls_token, position_embeddings truncated normal"}.get(mt, "")
    out_cfg = dict(raw)
    out_cfg["model_type"] = mt
    out_cfg["architectures"] = [arch]
    return ModelSpec(params, name=cfg.get("_name_or_path") or mt, description=f"{arch} ({mt})",
                     source=(_T5_SOURCE if mt == "t5" else _SOURCE).format(cls=arch, extra=extra),
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
    """True for a directory (a config.json is looked for in it), or a JSON file with a
    ``model_type``."""
    if os.path.isdir(path):
        return True
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

    head = args.head
    if isinstance(head, str) and not args.model and not args.hf and (
            os.path.exists(head) or not head.isidentifier()):
        args.model, head = head, True  # 'init --head config.json': the flag, then the config
    if args.hf and args.model:
        raise ValueError(f"give a config ({args.model!r}) or --hf {args.hf}, not both")
    if args.hf:
        cfg = hf_config(args.hf, **_parse_sets(args.set))
    elif args.model and is_config(args.model):
        cfg = load_config(args.model)
        sets = _parse_sets(args.set)
        _check_fields(_model_type(cfg), sets)
        cfg.update(sets)
    else:
        raise ValueError("--set/--head/--no-head need a Hugging Face config.json (or a directory "
                         "holding one) or --hf MODEL_TYPE")
    spec = spec_from_config(cfg, head=head)
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
