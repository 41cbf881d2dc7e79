"""weightinit.hf: Hugging Face configs -> specs and loadable directories, checked against
transformers itself (names, shapes, dtypes, loading, tying, each tensor's initialization)."""

import json
import math
import os

import numpy as np
import pytest

from weightinit import hf

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")
stats = pytest.importorskip("scipy.stats")

_DEC = dict(num_hidden_layers=2, hidden_size=64, intermediate_size=96, num_attention_heads=4,
            num_key_value_heads=2, vocab_size=128, max_position_embeddings=64)
# tiny configs (2 layers, small widths, small vocab), one per supported model type
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
    "vit": dict(num_hidden_layers=2, hidden_size=64, intermediate_size=96,
                num_attention_heads=4, image_size=32, patch_size=8),
}
HEADLESS = ("bert", "vit")


def _config(key):
    mt = key.split("_tied")[0]
    return transformers.AutoConfig.for_model(mt, **TINY[key])


def _auto(head):
    return transformers.AutoModelForCausalLM if head else transformers.AutoModel


def _cases():
    return [(k, h) for k in TINY for h in (False, True) if not (h and k in HEADLESS)]


def _stored(model):
    """The state dict as a checkpoint stores it: tied duplicates once (the first name)."""
    seen, out = set(), {}
    for k, v in model.state_dict().items():
        if (v.data_ptr(), tuple(v.shape)) not in seen:
            seen.add((v.data_ptr(), tuple(v.shape)))
            out[k] = v
    return out


def _inputs(key, model):
    if key == "vit":
        return dict(pixel_values=torch.ones(1, 3, 32, 32))
    return dict(input_ids=torch.arange(5, 21).reshape(2, 8))


@pytest.mark.parametrize("key,head", _cases())
def test_names_shapes_order_of_the_transformers_model(key, head):
    cfg = _config(key)
    model = _auto(head).from_config(cfg)
    ref = {k: tuple(v.shape) for k, v in _stored(model).items()}
    spec = hf.spec_from_config(cfg.to_dict(), head=head)
    assert list(spec) == list(ref)
    assert {k: p.shape for k, p in spec.items()} == ref
    assert spec.metadata["hf_config"]["architectures"] == [type(model).__name__]
    assert spec.num_params() == sum(v.numel() for v in _stored(model).values())


def _write(tmp_path, key, head, dtype="float32", **kw):
    out = tmp_path / f"{key}-{head}"
    hf.save_pretrained(_config(key).to_dict(), out, seed=7, dtype=dtype, head=head, **kw)
    return out


@pytest.mark.parametrize("key,head", _cases())
def test_from_pretrained_loads_and_runs(tmp_path, key, head):
    out = _write(tmp_path, key, head)
    assert sorted(os.listdir(out)) == ["config.json", "model.safetensors"]
    model, info = _auto(head).from_pretrained(out, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert not info["mismatched_keys"]
    from safetensors import safe_open

    with safe_open(out / "model.safetensors", "pt") as f:
        assert f.metadata()["format"] == "pt"
        stored = _stored(model)
        assert sorted(f.keys()) == sorted(stored)
        for k in f.keys():  # the model holds exactly the file's values
            assert torch.equal(stored[k], f.get_tensor(k)), k
    if head and _config(key).tie_word_embeddings:
        emb = model.get_input_embeddings().weight
        assert model.get_output_embeddings().weight.data_ptr() == emb.data_ptr()
    with torch.no_grad():
        y = model(**_inputs(key, model))
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
    else:
        sd = b.std()
        assert abs(a.mean() - b.mean()) < 5 * sd * math.sqrt(2 / n), name
        assert abs(a.std() / sd - 1) < 5 * math.sqrt(1 / n), name


@pytest.mark.parametrize("key,head", [(k, k not in HEADLESS) for k in TINY])
def test_each_tensor_initialized_as_transformers_does(tmp_path, key, head):
    out = _write(tmp_path, key, head)
    ours = _stored(_auto(head).from_pretrained(out))
    torch.manual_seed(0)
    theirs = _stored(_auto(head).from_config(_config(key)))
    spec = hf.spec_from_config(_config(key).to_dict(), head=head)
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
    one = _write(tmp_path, "llama", True)
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
    for mt, table in hf.DEFAULTS.items():
        cfg = transformers.AutoConfig.for_model(mt)
        for k, v in table.items():
            got = getattr(cfg, k, None)
            if v is None and k == "num_key_value_heads":
                v = table["num_attention_heads"]
            if v is None and k == "head_dim":
                v = table["hidden_size"] // table["num_attention_heads"]
                got = got or v
            assert got == v, f"{mt}.{k}: transformers {got!r}, table {v!r}"


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
    with pytest.raises(ValueError, match="head"):
        hf.spec_from_config(_config("bert").to_dict(), head=True)
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
