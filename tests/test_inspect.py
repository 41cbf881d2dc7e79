"""weightinit.inspect: checkpoint statistics in one bounded pass, and flags for what does not fit."""

import json
import math
import os
import struct

import numpy as np
import pytest

import weightinit as wi
from weightinit import checkpoint_stats as cs
from weightinit.architectures import gpt2
from weightinit.models import ModelSpec, Param


def _spec():
    params = dict(gpt2(n_layer=2, n_embd=64, n_head=2, vocab_size=500).items())
    params["emb.weight"] = Param((100, 32), "normal_", std=1.0, zero_rows=[0])
    params["fc.weight"] = Param((96, 64), "kaiming_uniform_", nonlinearity="relu")
    return ModelSpec(params)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    d = tmp_path_factory.mktemp("inspect")
    spec = _spec()
    path = str(d / "model.safetensors")
    wi.save_safetensors(spec, path, seed=3, dtype="bfloat16")
    return spec, path


def _tamper(path, out, name, fn):
    """A copy of ``path`` with tensor ``name`` (bfloat16) replaced by fn(float32 values)."""
    header, _, start = cs.read_header(path)
    with open(path, "rb") as f:
        data = bytearray(f.read())
    lo, hi = (start + o for o in header[name]["data_offsets"])
    bits = np.frombuffer(bytes(data[lo:hi]), np.uint16).astype(np.uint32) << 16
    x = fn(bits.view(np.float32).copy())
    data[lo:hi] = (x.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()
    with open(out, "wb") as f:
        f.write(data)
    return out


def test_statistics_match_numpy(ckpt):
    spec, path = ckpt
    arrays = wi.init_model(spec, seed=3, dtype="bfloat16")
    rep = wi.inspect(path, window=8192)  # many windows per tensor
    assert list(rep.tensors) and set(rep.tensors) == set(spec)
    for name, s in rep.tensors.items():
        x = arrays[name].astype(np.float64)
        assert s.shape == spec[name].shape and s.dtype == "bfloat16"
        assert s.mean == pytest.approx(x.mean(), abs=1e-6 + 1e-4 * x.std())
        assert s.std == pytest.approx(x.std(), rel=1e-4, abs=1e-7)
        assert (s.min, s.max) == (x.min(), x.max())
        assert s.zeros == pytest.approx(np.mean(x == 0))
        assert s.nonfinite == 0
    assert rep.flagged == [] and not rep.checked


@pytest.mark.parametrize("expect", ["spec", "metadata"])
def test_own_spec_passes(ckpt, expect):
    spec, path = ckpt
    rep = wi.inspect(path, expect=spec if expect == "spec" else "metadata", dtype="bfloat16")
    assert rep.checked and rep.flagged == [], str(rep)


@pytest.mark.parametrize("name, fn, word", [
    ("h.0.mlp.c_fc.weight", lambda x: x * 1.15, "std"),  # 15% off: beyond 5% + 3.3% sampling
    ("fc.weight", lambda x: x * 0, "std"),
    ("h.1.attn.c_attn.weight", lambda x: np.where(np.arange(x.size) == 7, np.nan, x), "non-finite"),
    ("h.0.ln_1.weight", lambda x: x * 0.9, "not constant"),  # a norm weight that is not 1
    ("emb.weight", lambda x: np.where(np.arange(x.size) == 3, 0.5, x), "padding"),
])
def test_one_tampered_tensor_is_flagged_alone(ckpt, tmp_path, name, fn, word):
    spec, path = ckpt
    bad = _tamper(path, str(tmp_path / "bad.safetensors"), name, fn)
    rep = wi.inspect(bad, expect=spec)
    assert rep.flagged == [name], str(rep)
    assert any(word in p for p in rep.tensors[name].problems), rep.tensors[name].problems


def test_nan_flagged_without_expect(ckpt, tmp_path):
    _, path = ckpt
    bad = _tamper(path, str(tmp_path / "nan.safetensors"), "wte.weight",
                  lambda x: np.where(np.arange(x.size) % 1000 == 1, np.inf, x))
    rep = wi.inspect(bad)
    s = rep.tensors["wte.weight"]
    assert rep.flagged == ["wte.weight"] and s.nonfinite == math.ceil((500 * 64 - 1) / 1000)
    assert math.isfinite(s.std) and math.isfinite(s.max)


def test_shape_dtype_missing_unexpected(ckpt):
    spec, path = ckpt
    params = dict(spec.items())
    params["fc.weight"] = Param((64, 96), "kaiming_uniform_", nonlinearity="relu")  # transposed
    params["extra.bias"] = Param((4,), "zeros_")
    del params["emb.weight"]
    rep = wi.inspect(path, expect=ModelSpec(params), dtype="float32")
    assert rep.missing == ["extra.bias"]
    assert set(rep.flagged) == set(spec) | {"extra.bias"}  # every tensor: wrong dtype
    assert any("shape" in p for p in rep.tensors["fc.weight"].problems)
    assert any("unexpected" in p for p in rep.tensors["emb.weight"].problems)


def test_small_tensor_sampling_error_is_allowed(tmp_path):
    # 12 elements: the sample std is far from 0.02 by chance, and that is no defect
    spec = ModelSpec({"w": Param((3, 4), "normal_", std=0.02)})
    path = str(tmp_path / "small.safetensors")
    flagged = 0
    for seed in range(20):
        wi.save_safetensors(spec, path, seed=seed)
        flagged += bool(wi.inspect(path, expect=spec).flagged)
    assert flagged == 0


def test_hf_directory_sharded(ckpt, tmp_path):
    spec, path = ckpt
    header, meta, start = cs.read_header(path)
    with open(path, "rb") as f:
        blob = f.read()
    names = list(header)
    weight_map = {}
    for i, part in enumerate((names[::2], names[1::2])):
        fname = f"model-{i + 1:05d}-of-00002.safetensors"
        head, body, pos = {}, [], 0
        for n in part:
            lo, hi = header[n]["data_offsets"]
            head[n] = dict(header[n], data_offsets=[pos, pos + hi - lo])
            body.append(blob[start + lo:start + hi])
            pos += hi - lo
            weight_map[n] = fname
        text = json.dumps(head).encode()
        with open(tmp_path / fname, "wb") as f:
            f.write(struct.pack("<Q", len(text)) + text + b"".join(body))
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    whole = wi.inspect(path)
    shards = wi.inspect(str(tmp_path), expect=spec)
    assert shards.flagged == [] and set(shards.tensors) == set(whole.tensors)
    for n, s in whole.tensors.items():
        assert (shards.tensors[n].mean, shards.tensors[n].std) == (s.mean, s.std)


def test_bounded_memory_reads_windows(ckpt, monkeypatch):
    # the tensor data is never materialized whole: every read is at most one window
    spec, path = ckpt
    sizes = []
    real = os.preadv

    def spy(fd, buffers, offset):
        sizes.append(sum(len(b) for b in buffers))
        return real(fd, buffers, offset)

    monkeypatch.setattr(os, "preadv", spy)
    wi.inspect(path, window=4096, threads=2)
    big = max(p.size for p in spec.values()) * 2
    assert sizes and max(sizes) <= 4096 < big


def test_tensors_subset_and_plot(ckpt, tmp_path):
    plt = pytest.importorskip("matplotlib.pyplot")
    _, path = ckpt
    rep = wi.inspect(path, tensors=["wte.weight", "fc.weight"])
    assert list(rep.tensors) == ["wte.weight", "fc.weight"] or set(rep.tensors) == {
        "wte.weight", "fc.weight"}
    out = cs.plot(rep, tmp_path / "h.png", tensors=["wte.weight", "fc.weight"])
    img = plt.imread(out)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 300


def test_bad_input(ckpt, tmp_path):
    _, path = ckpt
    with pytest.raises(FileNotFoundError, match="path"):
        wi.inspect(tmp_path / "nope.safetensors")
    with pytest.raises(ValueError, match="tensors"):
        wi.inspect(path, tensors=["no.such"])
    with pytest.raises(TypeError, match="tensors"):
        wi.inspect(path, tensors="wte.weight")
    with pytest.raises(ValueError, match="window"):
        wi.inspect(path, window=10)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\xff" * 64)
    with pytest.raises(ValueError, match="not a .safetensors"):
        wi.inspect(junk)
    with pytest.raises(ValueError, match="expect"):
        wi.inspect(path, expect="no-such-architecture")


def test_cli(ckpt, tmp_path, capsys):
    from weightinit.cli import main

    _, path = ckpt
    assert main(["inspect", path, "--expect", "metadata"]) == 0
    assert "every tensor fits" in capsys.readouterr().out
    bad = _tamper(path, str(tmp_path / "bad.safetensors"), "fc.weight", lambda x: x * 2)
    assert main(["inspect", bad, "--expect", "metadata", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["flagged"] == ["fc.weight"]
    assert main(["inspect", str(tmp_path / "missing")]) == 2


def test_hf_directory_single_file(ckpt, tmp_path):
    import shutil

    spec, path = ckpt
    (tmp_path / "model").mkdir()
    shutil.copy(path, tmp_path / "model" / "model.safetensors")
    rep = wi.inspect(tmp_path / "model", expect=spec)
    assert rep.flagged == [] and set(rep.tensors) == set(spec)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no model.safetensors"):
        wi.inspect(tmp_path / "empty")
