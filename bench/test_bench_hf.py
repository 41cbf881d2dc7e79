"""A Hugging Face directory from a config.json: ``weightinit init config.json --out DIR`` against
transformers' ``AutoModelForCausalLM.from_config`` + ``save_pretrained`` (issue 12's target:
at least 5x faster, under a tenth of the peak memory), each in a child process of the same run,
timed from outside (interpreter and imports included) and from inside (the work alone), peak
RSS from the child's rusage:

    .venv/bin/python bench/test_bench_hf.py               # Llama 3.2 1B config, bfloat16
    .venv/bin/python bench/test_bench_hf.py --layers 4    # a smaller variant
    .venv/bin/python -m pytest bench/test_bench_hf.py     # the same on a tiny config (smoke)

Both directories are checked to load with the same names and dtypes.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import pytest

# Llama 3.2 1B (meta-llama/Llama-3.2-1B config.json; 1,235,814,400 parameters, tied embeddings)
LLAMA_1B = dict(model_type="llama", architectures=["LlamaForCausalLM"], hidden_size=2048,
                intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
                num_key_value_heads=8, head_dim=64, vocab_size=128256,
                max_position_embeddings=131072, rms_norm_eps=1e-5, rope_theta=500000.0,
                tie_word_embeddings=True, initializer_range=0.02, dtype="bfloat16")
TINY = dict(LLAMA_1B, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, head_dim=16, vocab_size=256)

_HF_CHILD = """
import sys, time
t0 = time.perf_counter()
import torch
from transformers import AutoConfig, AutoModelForCausalLM
t1 = time.perf_counter()
cfg = AutoConfig.from_pretrained(sys.argv[1])
model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
model.save_pretrained(sys.argv[2])
print(time.perf_counter() - t1)
"""


def _child(argv):
    """(wall seconds, peak RSS bytes, stdout) of a child process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with p.stdout, p.stderr:  # read both to the end (HF's is short), then reap with rusage
        out = p.stdout.read()
        err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if p.returncode:
        raise RuntimeError(f"{argv[:4]} failed ({p.returncode}): {err[-2000:]}")
    return wall, ru.ru_maxrss * 1024, out


def measure(config: dict, workdir: str, threads=None) -> dict:
    src = os.path.join(workdir, "src")
    os.makedirs(src, exist_ok=True)
    with open(os.path.join(src, "config.json"), "w") as f:
        json.dump(config, f)
    wi_out, hf_out = os.path.join(workdir, "wi"), os.path.join(workdir, "hf")
    argv = [sys.executable, "-m", "weightinit", "init", src, "--out", wi_out, "--seed", "0",
            "--json", "-q"] + (["--threads", str(threads)] if threads else [])
    wi_wall, wi_rss, wi_json = _child(argv)
    hf_wall, hf_rss, hf_inner = _child([sys.executable, "-c", _HF_CHILD, src, hf_out])
    return dict(wi_wall=wi_wall, wi_work=json.loads(wi_json)["seconds"], wi_rss=wi_rss,
                hf_wall=hf_wall, hf_work=float(hf_inner.strip()), hf_rss=hf_rss,
                wi_out=wi_out, hf_out=hf_out)


def _same_layout(a: str, b: str) -> None:
    """Both directories hold the same tensor names, shapes and dtypes."""
    from safetensors import safe_open

    def layout(d):
        out = {}
        for f in sorted(os.listdir(d)):
            if f.endswith(".safetensors"):
                with safe_open(os.path.join(d, f), "np") as st:
                    for k in st.keys():
                        sl = st.get_slice(k)
                        out[k] = (tuple(sl.get_shape()), sl.get_dtype())
        return out

    la, lb = layout(a), layout(b)
    assert la == lb, sorted(set(la) ^ set(lb))[:5]


def test_hf_directory_vs_transformers_smoke(tmp_path):
    pytest.importorskip("transformers")
    r = measure(TINY, str(tmp_path))
    _same_layout(r["wi_out"], r["hf_out"])
    assert r["wi_rss"] > 0 and r["hf_rss"] > 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=LLAMA_1B["num_hidden_layers"])
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    cfg = dict(LLAMA_1B, num_hidden_layers=args.layers)
    with tempfile.TemporaryDirectory() as d:  # never inside the worktree: git would see GBs
        r = measure(cfg, d, args.threads)
        _same_layout(r["wi_out"], r["hf_out"])
        size = sum(os.path.getsize(os.path.join(r["wi_out"], f)) for f in os.listdir(r["wi_out"]))
    print(f"Llama config, {args.layers} layers, bfloat16, {size / 1e9:.2f} GB")
    print(f"{'':34} {'wall s':>8} {'work s':>8} {'peak RSS MB':>12}")
    print(f"{'weightinit init config.json':34} {r['wi_wall']:8.2f} {r['wi_work']:8.2f} "
          f"{r['wi_rss'] / 2**20:12.0f}")
    print(f"{'from_config + save_pretrained':34} {r['hf_wall']:8.2f} {r['hf_work']:8.2f} "
          f"{r['hf_rss'] / 2**20:12.0f}")
    print(f"ratio (HF / weightinit): wall {r['hf_wall'] / r['wi_wall']:.1f}x, work "
          f"{r['hf_work'] / r['wi_work']:.1f}x, peak RSS {r['hf_rss'] / r['wi_rss']:.1f}x")


if __name__ == "__main__":
    main()
