"""weightinit.hf: Hugging Face configs -> specs and loadable directories, checked against
transformers itself (names, shapes, dtypes, loading, tying, each tensor's initialization)."""

import json
import math
import os
import sys

import numpy as np
import pytest

from weightinit import hf

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")
stats = pytest.importorskip("scipy.stats")

_DEC = dict(num_hidden_layers=2, hidden_size=64, intermediate_size=96, num_attention_heads=4,
            num_key_value_heads=2, vocab_size=128, max_position_embeddings=64)
_T5 = dict(num_layers=2, d_model=64, d_ff=96, d_kv=16, num_heads=4, vocab_size=128)
# tiny configs (2 layers, small widths, small vocab), one per supported model type and variant
TINY = {
    "llama": dict(_DEC),
    "llama_tied": dict(_DEC, tie_word_embeddings=True, pad_token_id=3),
    "mistral": dict(_DEC),
    "qwen2": dict(_DEC),
    "qwen3": dict(_DEC, head_dim=16),
    "gemma": dict(_DEC, head_dim=16),
    "gemma2": dict(_DEC, head_dim=16),
    "phi3": dict(_DEC, pad_token_id=0, eos_token_id=1, bos_token_id=1),
    "gpt2": dict(n_layer=2, n_embd=64, n_head=4, vocab_size=128, n_positions=64),
    "gpt_neox": dict(num_hidden_layers=2, hidden_size=64, intermediate_size=96,
                     num_attention_heads=4, vocab_size=128, max_position_embeddings=64),
    "bert": dict(num_hidden_layers=2, hidden_size=64, intermediate_size=96,
                 num_attention_heads=4, vocab_size=128, max_position_embeddings=64),
    "bert_untied": dict(num_hidden_layers=2, hidden_size=64, intermediate_size=96,
                        num_attention_heads=4, vocab_size=128, max_position_embeddings=64,
                        tie_word_embeddings=False, num_labels=3),
    "vit": dict(num_hidden_layers=2, hidden_size=64, intermediate_size=96,
                num_attention_heads=4, image_size=32, patch_size=8),
    "t5": dict(_T5),
    # T5 v1.1's layout: gated FFN, tie_word_embeddings=False (transformers 5.x ties anyway);
    # a factor other than 1 scales every std and the norms; decoder deeper than the encoder
    "t5_gated": dict(_T5, feed_forward_proj="gated-gelu", tie_word_embeddings=False,
                     initializer_factor=0.5, num_decoder_layers=3),
}


def _mt(key):
    return key if key in hf.FAMILIES else key.rsplit("_", 1)[0]


def _config(key):
    return transformers.AutoConfig.for_model(_mt(key), **TINY[key])


def _cls(arch):
    return getattr(transformers, arch)


# how a user loads each class: the Auto class that maps to it (T5EncoderModel has none)
_AUTO = {"ForCausalLM": "AutoModelForCausalLM", "LMHeadModel": "AutoModelForCausalLM",
         "ForMaskedLM": "AutoModelForMaskedLM", "ForPreTraining": "AutoModelForPreTraining",
         "ForSequenceClassification": "AutoModelForSequenceClassification",
         "ForImageClassification": "AutoModelForImageClassification",
         "ForConditionalGeneration": "AutoModelForSeq2SeqLM", "T5EncoderModel": "T5EncoderModel"}


def _auto(arch):
    name = next((a for s, a in _AUTO.items() if arch.endswith(s)), "AutoModel")
    return getattr(transformers, name)


def _cases():
    """Every (config, model class): bare and each head."""
    return [(k, a) for k in TINY for a in hf.architectures(_mt(k))]


def _stored(model):
    """The state dict as a checkpoint stores it: tied duplicates once (the first name)."""
    seen, out = set(), {}
    for k, v in model.state_dict().items():
        if (v.data_ptr(), tuple(v.shape)) not in seen:
            seen.add((v.data_ptr(), tuple(v.shape)))
            out[k] = v
    return out


def _saved(model):
    """name -> tensor as save_pretrained writes them, in the model's order: tied duplicates once,
    names in the Hub layout (transformers' reverse renaming, e.g. ViT's attention.attention.query)."""
    from transformers.core_model_loading import revert_weight_conversion

    stored = _stored(model)
    name_of = {id(v): k for k, v in revert_weight_conversion(model, dict(stored)).items()}
    return {name_of[id(v)]: v for v in stored.values()}


def _inputs(key, arch):
    if _mt(key) == "vit":
        return dict(pixel_values=torch.ones(1, 3, 32, 32))
    ids = torch.arange(5, 21).reshape(2, 8)
    if arch in ("T5Model", "T5ForConditionalGeneration"):
        return dict(input_ids=ids, decoder_input_ids=ids[:, :4])
    return dict(input_ids=ids)


@pytest.mark.parametrize("key,arch", _cases())
def test_names_shapes_order_of_the_transformers_model(key, arch):
    cfg = _config(key)
    model = _cls(arch)(cfg)
    ref = {k: tuple(v.shape) for k, v in _saved(model).items()}
    spec = hf.spec_from_config(cfg.to_dict(), head=arch)
    assert list(spec) == list(ref)
    assert {k: p.shape for k, p in spec.items()} == ref
    assert spec.metadata["hf_config"]["architectures"] == [type(model).__name__]
    assert spec.num_params() == sum(v.numel() for v in _stored(model).values())


def _write(tmp_path, key, arch, dtype="float32", **kw):
    out = tmp_path / f"{key}-{arch}"
    hf.save_pretrained(_config(key).to_dict(), out, seed=7, dtype=dtype, head=arch, **kw)
    return out


@pytest.mark.parametrize("key,arch", _cases())
def test_from_pretrained_loads_and_runs(tmp_path, key, arch):
    out = _write(tmp_path, key, arch)
    assert sorted(os.listdir(out)) == ["config.json", "model.safetensors"]
    model, info = _auto(arch).from_pretrained(out, output_loading_info=True)
    assert type(model).__name__ == arch
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert not info["mismatched_keys"]
    from safetensors import safe_open

    with safe_open(out / "model.safetensors", "pt") as f:
        assert f.metadata()["format"] == "pt"
        stored = _saved(model)
        assert sorted(f.keys()) == sorted(stored)
        for k in f.keys():  # the model holds exactly the file's values
            assert torch.equal(stored[k], f.get_tensor(k)), k
        ours = sorted(f.keys())
    _cls(arch)(_config(key)).save_pretrained(tmp_path / "hf")  # the keys transformers writes
    with safe_open(tmp_path / "hf" / "model.safetensors", "pt") as f:
        assert sorted(f.keys()) == ours
    head = model.get_output_embeddings()
    if head is not None and model.config.tie_word_embeddings:
        assert head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    with torch.no_grad():
        y = model(**_inputs(key, arch))
    assert torch.isfinite(y[0]).all()


def _check_same_init(name, ours, theirs):
    """Constants exactly; random tensors by a two-sample KS test (large) or mean and std within
    standard-error bounds (small)."""
    a = ours.double().flatten().numpy()
    b = theirs.double().flatten().numpy()
    if np.all(b == b[0]):
        assert np.array_equal(a, b), f"{name}: HF's constant {b[0]}, ours {a[:4]}"
        return
    assert np.ptp(a) > 0, f"{name}: ours is constant, HF's random"
    n = a.size
    if n >= 2000:
        p = stats.ks_2samp(a, b).pvalue
        assert p > 1e-4, f"{name}: KS p={p:.2g}, std ours {a.std():.4g} HF {b.std():.4g}"
        # KS is weak on scale near 0: the ratio of two sample stds has standard error ~ 1/sqrt(n)
        assert abs(a.std() / b.std() - 1) < 5 / math.sqrt(n), f"{name}: std {a.std():.4g} HF {b.std():.4g}"
    else:
        sd = b.std()
        assert abs(a.mean() - b.mean()) < 5 * sd * math.sqrt(2 / n), name
        assert abs(a.std() / sd - 1) < 5 * math.sqrt(1 / n), name


# the bare model's tensors are those of its first head's body: one case per head class
_INIT_CASES = [(k, a) for k in TINY for a in hf.architectures(_mt(k))[1:]]


@pytest.mark.parametrize("key,arch", _INIT_CASES)
def test_each_tensor_initialized_as_transformers_does(tmp_path, key, arch):
    out = _write(tmp_path, key, arch)
    ours = _saved(_cls(arch).from_pretrained(out))
    torch.manual_seed(0)
    theirs = _saved(_cls(arch)(_config(key)))
    spec = hf.spec_from_config(_config(key).to_dict(), head=arch)
    for name, p in spec.items():
        _check_same_init(name, ours[name], theirs[name])
        for r in p.zero_rows:  # the padding row: zero in both
            assert not ours[name][r].any() and not theirs[name][r].any()


def test_gpt2_scaled_residual_projections_and_gemma_norm_zero():
    spec = hf.spec_from_config(_config("gpt2").to_dict())
    r = 0.02 / math.sqrt(2 * 2)
    assert spec["h.1.attn.c_proj.weight"].kwargs["std"] == pytest.approx(r)
    assert spec["h.1.mlp.c_proj.weight"].kwargs["std"] == pytest.approx(r)
    assert spec["h.1.mlp.c_fc.weight"].kwargs["std"] == 0.02
    g = hf.spec_from_config(_config("gemma").to_dict())
    assert g["norm.weight"].init == "zeros_"  # gemma's RMSNorm is x (1 + w)


def test_t5_stds_follow_its_own_init_weights():
    """T5's _init_weights, factor f: each projection N(0, f / sqrt(fan-in)), shared N(0, f)."""
    f, d, kv, h, ff = 0.5, 64, 16, 4, 96
    spec = hf.spec_from_config(_config("t5_gated").to_dict(), head=True)
    std = {k: p.kwargs.get("std") for k, p in spec.items()}
    assert std["shared.weight"] == f and "lm_head.weight" not in spec  # tied even if untied
    for stack in ("encoder", "decoder"):
        a = f"{stack}.block.1.layer.0.SelfAttention"
        assert std[f"{a}.q.weight"] == pytest.approx(f / math.sqrt(d * kv))
        assert std[f"{a}.k.weight"] == std[f"{a}.v.weight"] == pytest.approx(f / math.sqrt(d))
        assert std[f"{a}.o.weight"] == pytest.approx(f / math.sqrt(h * kv))
        assert f"{a}.relative_attention_bias.weight" not in spec  # block 0 only
        rel = spec[f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
        assert rel.shape == (32, h) and rel.kwargs["std"] == pytest.approx(f / math.sqrt(d))
        assert spec[f"{stack}.final_layer_norm.weight"].init == "constant_"
        assert spec[f"{stack}.final_layer_norm.weight"].kwargs["val"] == f
    ffn = "decoder.block.2.layer.2.DenseReluDense"
    assert std[f"{ffn}.wi_0.weight"] == std[f"{ffn}.wi_1.weight"] == pytest.approx(f / math.sqrt(d))
    assert std[f"{ffn}.wo.weight"] == pytest.approx(f / math.sqrt(ff))
    enc = hf.spec_from_config(_config("t5").to_dict(), head="T5EncoderModel")
    assert not any(k.startswith("decoder.") for k in enc)
    assert enc["encoder.final_layer_norm.weight"].init == "ones_"


def test_bert_and_vit_heads():
    mlm = hf.spec_from_config(_config("bert").to_dict(), head=True)
    assert mlm.description == "BertForMaskedLM (bert)"
    assert mlm["cls.predictions.bias"].init == "zeros_"
    assert "cls.predictions.decoder.weight" not in mlm  # tied to the word embedding
    assert "bert.pooler.dense.weight" not in mlm  # BertForMaskedLM has no pooler
    clf = hf.spec_from_config(_config("bert_untied").to_dict(), head="BertForSequenceClassification")
    assert clf["classifier.weight"].shape == (3, 64) and clf["classifier.weight"].kwargs["std"] == 0.02
    untied = hf.spec_from_config(_config("bert_untied").to_dict(), head=True)
    assert untied["cls.predictions.decoder.weight"].shape == (128, 64)
    vit = hf.spec_from_config(dict(_config("vit").to_dict(), id2label={i: str(i) for i in range(5)}),
                              head=True)
    assert vit["classifier.weight"].shape == (5, 64) and "vit.pooler.dense.weight" not in vit
    none = hf.spec_from_config(dict(_config("vit").to_dict(), id2label=None, num_labels=0), head=True)
    assert not any(k.startswith("classifier") for k in none)  # nn.Identity
    rect = hf.spec_from_config(dict(_config("vit").to_dict(), image_size=[32, 48], patch_size=[8, 16]))
    assert rect["embeddings.position_embeddings"].shape == (1, 4 * 3 + 1, 64)
    assert rect["embeddings.patch_embeddings.projection.weight"].shape == (64, 3, 8, 16)


def _meta_names(arch, cfg):
    from transformers.core_model_loading import revert_weight_conversion

    with torch.device("meta"):
        model = _cls(arch)(cfg)
    kept = model.state_dict()
    out = dict(model.named_parameters())  # tied ones once
    out.update((k, v) for k, v in model.named_buffers() if k in kept)
    return {k: tuple(v.shape) for k, v in revert_weight_conversion(model, out).items()}


@pytest.mark.parametrize("mt", hf.FAMILIES)
def test_each_config_field_changes_names_as_transformers_does(mt):
    """Every int and bool field of the config class, changed alone: the spec's names and shapes
    still equal the transformers model's (built on the meta device), or the spec refuses the
    field by name (one it does not model, such as add_cross_attention)."""
    base = {k: v for k, v in _config(mt).to_dict().items()
            if k not in ("transformers_version", "model_type")}
    checked = refused = 0
    for field, v in base.items():
        if field.startswith("_") or not isinstance(v, (int, bool)):
            continue
        for arch in hf.architectures(mt):
            try:  # a value transformers itself refuses has nothing to compare with
                cfg = transformers.AutoConfig.for_model(mt, **{**base, field: (not v) if isinstance(
                    v, bool) else v + 2})
                ref = _meta_names(arch, cfg)
            except Exception:  # transformers' own validation, of any type
                continue
            try:
                spec = hf.spec_from_config(cfg.to_dict(), head=arch)
            except ValueError as exc:
                assert field in str(exc)
                refused += 1
                continue
            assert {k: p.shape for k, p in spec.items()} == ref, (arch, field)
            checked += 1
    assert checked > 10 and refused <= 4


def test_model_type_and_fields_refused_with_suggestions():
    with pytest.raises(ValueError, match="'lama'.*did you mean 'llama'"):
        hf.spec_from_config({"model_type": "lama"})
    with pytest.raises(ValueError, match="mixtral.*init_module"):
        hf.hf_config("mixtral")
    with pytest.raises(ValueError, match="has no model_type"):
        hf.spec_from_config({"hidden_size": 8})
    with pytest.raises(ValueError, match="hiden_size.*did you mean 'hidden_size'"):
        hf.hf_config("llama", hiden_size=64)
    with pytest.raises(ValueError, match="model_type"):
        hf.hf_config("llama", model_type="gpt2")
    assert hf.hf_config("llama", model_type="llama", hidden_size=64)["hidden_size"] == 64
    with pytest.raises(ValueError, match="hidden_size"):
        hf.hf_config("llama", hidden_size="wide")  # transformers' typed field, as a ValueError
    with pytest.raises(ValueError, match="add_cross_attention=True"):
        hf.spec_from_config(_config("gpt2").to_dict() | {"add_cross_attention": True})
    with pytest.raises(ValueError, match="num_attention_heads must be an int >= 1"):
        hf.spec_from_config({"model_type": "vit", "num_attention_heads": 0})
    with pytest.raises(ValueError, match="initializer_range"):
        hf.spec_from_config({"model_type": "llama", "initializer_range": -0.1})
    with pytest.raises(ValueError, match="feed_forward_proj"):
        hf.spec_from_config({"model_type": "t5", "feed_forward_proj": "gelu-gated"})
    with pytest.raises(ValueError, match="is_decoder"):
        hf.spec_from_config({"model_type": "t5", "is_decoder": True}, head="T5EncoderModel")


def test_aliases_of_a_hand_written_config():
    """transformers reads gpt2's hidden_size as n_embd (its attribute_map): so do the specs."""
    a = hf.spec_from_config({"model_type": "gpt2", "hidden_size": 32, "num_hidden_layers": 1})
    b = hf.spec_from_config({"model_type": "gpt2", "n_embd": 32, "n_layer": 1})
    assert dict(a.items()) == dict(b.items()) and a["wte.weight"].shape == (50257, 32)
    assert a.metadata["hf_config"]["hidden_size"] == 32  # written as given
    with pytest.raises(ValueError, match="hidden_size=32 and n_embd=64"):
        hf.spec_from_config({"model_type": "gpt2", "hidden_size": 32, "n_embd": 64})


def test_negative_pad_token_id_counts_from_the_end():
    cfg = dict(_config("llama").to_dict(), pad_token_id=-1)
    assert hf.spec_from_config(cfg)["embed_tokens.weight"].zero_rows == (127,)
    with torch.device("meta"):  # torch's padding_idx, as the model builds it
        assert transformers.LlamaModel(_config("llama")).embed_tokens.padding_idx is None
    assert torch.nn.Embedding(128, 4, padding_idx=-1).padding_idx == 127


def test_head_from_architectures_argument_and_refusals():
    cfg = _config("t5").to_dict()
    for arch in hf.architectures("t5"):
        assert hf.spec_from_config(dict(cfg, architectures=[arch])).description == f"{arch} (t5)"
    old = hf.spec_from_config(dict(cfg, architectures=["T5WithLMHeadModel"]))  # older Hub name
    assert old.metadata["hf_config"]["architectures"] == ["T5ForConditionalGeneration"]
    assert hf.spec_from_config(dict(cfg, architectures="T5EncoderModel")).description.startswith(
        "T5EncoderModel")
    llama = dict(_config("llama").to_dict(), architectures=["LlamaForCausalLM"])
    assert next(iter(hf.spec_from_config(llama, head=False))) == "embed_tokens.weight"
    with pytest.raises(ValueError, match="LlamaForSequenceClassification.*LlamaForCausalLM.*head=False"):
        hf.spec_from_config(dict(llama, architectures=["LlamaForSequenceClassification"]))
    with pytest.raises(ValueError, match="'BertForMaskLM'.*did you mean 'BertForMaskedLM'"):
        hf.spec_from_config(_config("bert").to_dict(), head="BertForMaskLM")
    with pytest.raises(TypeError, match="head must be"):
        hf.spec_from_config(_config("bert").to_dict(), head=1)
    assert hf.architectures("bert")[:2] == ("BertModel", "BertForMaskedLM")


def test_bfloat16_dtype_from_config_and_in_config(tmp_path):
    cfg = dict(_config("llama").to_dict(), dtype="bfloat16")
    out = tmp_path / "bf16"
    hf.save_pretrained(cfg, out, seed=1, head=True)
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"
    model = transformers.AutoModelForCausalLM.from_pretrained(out)
    assert {v.dtype for v in model.state_dict().values() if v.is_floating_point()} == {
        torch.bfloat16}
    from safetensors.torch import load_file

    for k, v in load_file(out / "model.safetensors").items():
        assert v.dtype == torch.bfloat16 and torch.equal(v, model.state_dict()[k])


def test_sharded_write_loads_the_same_values(tmp_path):
    one = _write(tmp_path, "llama", "LlamaForCausalLM")
    out = tmp_path / "sharded"
    hf.save_pretrained(_config("llama").to_dict(), out, seed=7, head=True,
                       max_shard_size="40KB")
    index = json.loads((out / "model.safetensors.index.json").read_text())
    files = sorted(set(index["weight_map"].values()))
    assert len(files) > 2 and files[0] == f"model-00001-of-{len(files):05d}.safetensors"
    assert sorted(os.listdir(out)) == sorted(files + ["config.json",
                                                      "model.safetensors.index.json"])
    spec = hf.spec_from_config(_config("llama").to_dict(), head=True)
    for f in files:  # each shard within the limit unless one tensor alone is larger
        names = [k for k, v in index["weight_map"].items() if v == f]
        assert len(names) == 1 or sum(spec[k].size * 4 for k in names) <= 40_000
    assert index["metadata"]["total_size"] == spec.nbytes("float32")
    a, info = transformers.AutoModelForCausalLM.from_pretrained(out, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    b = transformers.AutoModelForCausalLM.from_pretrained(one)
    for k, v in b.state_dict().items():  # sharding never changes a value
        assert torch.equal(v, a.state_dict()[k]), k


def test_parse_size_follows_transformers():
    assert hf.parse_size("5GB") == 5 * 10**9
    assert hf.parse_size("500MB") == 500 * 10**6
    assert hf.parse_size("2GiB") == 2 * 2**30
    assert hf.parse_size("100KB") == 100_000
    assert hf.parse_size(1234) == hf.parse_size("1234") == 1234
    from transformers.utils.hub import convert_file_size_to_int

    for s in ("5GB", "500MB", "2GiB", "10KiB", "3mib", "8Gb", "40kB"):
        assert hf.parse_size(s) == convert_file_size_to_int(s)
    for bad in ("", "5XB", "-1GB", 0, True, "GB", "1.5GB", None):
        with pytest.raises(ValueError, match="max_shard_size"):
            hf.parse_size(bad)


def test_defaults_table_matches_transformers_config_classes():
    # a None default stands for a value derived from other fields, as the config class derives it
    derived = dict(num_key_value_heads="num_attention_heads", num_decoder_layers="num_layers",
                   pooler_output_size="hidden_size")
    for mt, table in hf.DEFAULTS.items():
        cfg = transformers.AutoConfig.for_model(mt)
        for k, v in table.items():
            got = getattr(cfg, k, None)
            if v is None and k in derived:
                v = table[derived[k]]
            if v is None and k == "head_dim":
                v = table["hidden_size"] // table["num_attention_heads"]
                got = got or v
            assert got == v, f"{mt}.{k}: transformers {got!r}, table {v!r}"


def test_aliases_are_transformers_attribute_maps():
    from transformers import CONFIG_MAPPING

    for mt in hf.FAMILIES:
        assert hf._ALIASES.get(mt, {}) == CONFIG_MAPPING[mt].attribute_map, mt


def test_config_from_file_directory_and_architectures(tmp_path):
    cfg = _config("gpt2").to_dict()
    cfg["architectures"] = ["GPT2LMHeadModel"]
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    a = hf.spec_from_config(tmp_path)
    b = hf.spec_from_config(tmp_path / "config.json")
    assert a == b and next(iter(a)) == "transformer.wte.weight"
    assert "lm_head.weight" not in a  # tied to wte: stored once
    assert next(iter(hf.spec_from_config(tmp_path, head=False))) == "wte.weight"


def test_bad_input_refused_before_writing(tmp_path):
    with pytest.raises(ValueError, match="model_type 't9'.*llama"):
        hf.spec_from_config({"model_type": "t9"})
    with pytest.raises(ValueError, match="head: 'GPT2LMHeadModel'.*BertForMaskedLM"):
        hf.spec_from_config(_config("bert").to_dict(), head="GPT2LMHeadModel")
    with pytest.raises(ValueError, match="hidden_size"):
        hf.spec_from_config({"model_type": "llama", "hidden_size": -4})
    out = tmp_path / "exists"
    out.mkdir()
    (out / "keep").write_text("x")
    with pytest.raises(FileExistsError, match="exists"):
        hf.save_pretrained(_config("llama").to_dict(), out, seed=0)
    with pytest.raises(ValueError, match="max_shard_size"):
        hf.save_pretrained(_config("llama").to_dict(), tmp_path / "new", seed=0,
                           max_shard_size="lots")
    assert sorted(os.listdir(tmp_path)) == ["exists"]
    assert os.listdir(out) == ["keep"]


def test_overwrite_replaces_a_directory_whole(tmp_path):
    out = tmp_path / "d"
    hf.save_pretrained(_config("gpt2").to_dict(), out, seed=0, max_shard_size="20KB")
    assert (out / "model.safetensors.index.json").exists()
    hf.save_pretrained(_config("gpt2").to_dict(), out, seed=0, overwrite=True)
    assert sorted(os.listdir(out)) == ["config.json", "model.safetensors"]
    assert sorted(os.listdir(tmp_path)) == ["d"]  # no temporary left


# ----------------------------------------------------------------------------- CLI


def _cli(*argv):
    from weightinit.cli import main

    return main([str(a) for a in argv])


def test_cli_init_config_json_and_directory(tmp_path, capsys):
    cfg = _config("llama").to_dict()
    cfg["architectures"] = ["LlamaForCausalLM"]
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    assert _cli("init", tmp_path / "config.json", "--out", tmp_path / "a", "--seed", 3, "-q") == 0
    assert _cli("init", tmp_path, "--out", tmp_path / "b", "--seed", 3, "-q",
                "--max-shard-size", "50KB") == 0
    a = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "a")
    b, info = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "b",
                                                                output_loading_info=True)
    assert not info["missing_keys"]
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k])
    assert _cli("init", tmp_path, "--out", tmp_path / "a", "-q") != 0  # exists, no --force
    assert "--force" in capsys.readouterr().err


def test_cli_hf_set_head_dry_run_and_json(tmp_path, capsys):
    args = ["init", "--hf", "gpt2", "--set", "n_layer=2", "n_embd=32", "n_head=4",
            "vocab_size=64", "n_positions=16", "--head"]
    assert _cli(*args, "--out", tmp_path / "g", "--dry-run", "--json") == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["dry_run"] and plan["tensors"][0]["name"] == "transformer.wte.weight"
    assert not (tmp_path / "g").exists()
    assert _cli(*args, "--out", tmp_path / "g", "--dtype", "bf16", "--json", "-q") == 0
    res = json.loads(capsys.readouterr().out)
    assert res["model"] == "GPT2LMHeadModel" and res["dtype"] == "bfloat16"
    m = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "g")
    assert type(m).__name__ == "GPT2LMHeadModel" and m.config.n_layer == 2
    assert m.transformer.wte.weight.dtype == torch.bfloat16
    assert _cli("init", "--hf", "nope", "--out", tmp_path / "x") == 2
    assert "nope" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_cli_builtins_still_work(tmp_path):
    assert _cli("init", "gpt2", "--dry-run", "--out", tmp_path / "g.safetensors") == 0
    spec = {"params": {"w": {"shape": [4, 4], "init": "normal_", "std": 0.1}}}
    (tmp_path / "s.json").write_text(json.dumps(spec))
    assert _cli("init", tmp_path / "s.json", "--out", tmp_path / "s.safetensors", "-q") == 0
    assert (tmp_path / "s.safetensors").stat().st_size > 64


@pytest.mark.parametrize("key", list(TINY))
def test_cli_as_a_user_would_every_family(tmp_path, key):
    """config.json in a directory -> weightinit init: the head model (from architectures) in
    float32, and bf16 in shards, load with the Auto class, the bf16 values the float32 ones
    rounded to nearest even; --no-head gives the bare model."""
    bare, head = hf.architectures(_mt(key))[:2]
    src = tmp_path / "src"
    src.mkdir()
    (src / "config.json").write_text(json.dumps(dict(_config(key).to_dict(), architectures=[head])))
    assert _cli("init", src, "--out", tmp_path / "f32", "--seed", 5, "-q") == 0
    assert _cli("init", src, "--out", tmp_path / "bf16", "--seed", 5, "-q", "--dtype", "bf16",
                "--max-shard-size", "20KB") == 0
    assert (tmp_path / "bf16" / "model.safetensors.index.json").exists()
    a = _auto(head).from_pretrained(tmp_path / "f32")
    b, info = _auto(head).from_pretrained(tmp_path / "bf16", output_loading_info=True)
    assert type(a).__name__ == type(b).__name__ == head
    assert not info["missing_keys"] and not info["unexpected_keys"]
    for k, v in _stored(a).items():
        assert b.state_dict()[k].dtype == torch.bfloat16 and torch.equal(
            b.state_dict()[k], v.to(torch.bfloat16)), k
    assert _cli("init", src, "--no-head", "--out", tmp_path / "bare", "-q") == 0
    assert type(transformers.AutoModel.from_pretrained(tmp_path / "bare")).__name__ == bare


def test_cli_head_class_no_head_and_refusals(tmp_path, capsys):
    src = tmp_path / "t5"
    assert _cli("init", "--hf", "t5", "--set", *[f"{k}={v}" for k, v in TINY["t5"].items()],
                "--out", src, "-q", "--head", "T5EncoderModel") == 0
    assert json.loads((src / "config.json").read_text())["architectures"] == ["T5EncoderModel"]
    assert type(transformers.T5EncoderModel.from_pretrained(src)).__name__ == "T5EncoderModel"
    # '--head DIR': the flag, then the config (argparse hands DIR to --head)
    assert _cli("init", "--head", src, "--out", tmp_path / "cg", "-q") == 0
    assert json.loads((tmp_path / "cg" / "config.json").read_text())["architectures"] == [
        "T5ForConditionalGeneration"]
    capsys.readouterr()
    (tmp_path / "empty").mkdir()
    assert _cli("init", tmp_path / "empty", "--out", tmp_path / "x") == 2
    assert "holds no config.json" in capsys.readouterr().err
    assert _cli("init", src, "--set", "d_modle=8", "--out", tmp_path / "x") == 2
    assert "did you mean 'd_model'" in capsys.readouterr().err
    assert _cli("init", src, "--head", "T5Encoder", "--out", tmp_path / "x") == 2
    assert "did you mean 'T5EncoderModel'" in capsys.readouterr().err
    assert _cli("init", "--hf", "t5", "--set", "d_model=wide", "--out", tmp_path / "x") == 2
    assert "d_model" in capsys.readouterr().err
    assert _cli("init", "--hf", "mixtral", "--out", tmp_path / "x") == 2
    assert "init_module" in capsys.readouterr().err
    assert _cli("init", "gpt2", "--no-head", "--out", tmp_path / "x") == 2
    assert not (tmp_path / "x").exists()


def test_cli_spec_of_a_config(tmp_path, capsys):
    (tmp_path / "config.json").write_text(json.dumps(dict(_config("bert").to_dict(),
                                                         architectures=["BertForMaskedLM"])))
    assert _cli("spec", tmp_path) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["description"] == "BertForMaskedLM (bert)"
    assert list(printed["params"]) == list(hf.spec_from_config(tmp_path))


def test_without_transformers_the_defaults_table_gives_the_same_specs(monkeypatch):
    full = {mt: hf.spec_from_config(hf.hf_config(mt, **({"num_layers": 1} if mt == "t5" else
                                                        {"num_hidden_layers": 1})))
            for mt in ("llama", "bert", "t5")}
    monkeypatch.setitem(sys.modules, "transformers", None)  # import transformers -> ImportError
    for mt, spec in full.items():
        cfg = hf.hf_config(mt, **({"num_layers": 1} if mt == "t5" else {"num_hidden_layers": 1}))
        assert cfg == {**hf.DEFAULTS[mt], **cfg, "model_type": mt}
        assert dict(hf.spec_from_config(cfg).items()) == dict(spec.items()), mt
    assert hf.hf_config("llama", rope_theta=5e5)["rope_theta"] == 5e5  # unknown here, kept
    with pytest.raises(ValueError, match="did you mean 'hidden_size'"):
        hf.hf_config("llama", hiden_size=64)  # a near miss of a field the spec reads
