"""A Llama model with Hugging Face's own init, built on the meta device, bfloat16:

    weightinit:   with accelerate(model, seed): model.init_weights()
    HF's own:     model.to_empty(device="cpu"); model.init_weights()

Timed: build on meta + materialize + init, same process run. Full size is a config near 1B
(Llama 3.2 1B: 1.24e9 parameters, 2.5 GB in bfloat16; two models live one after the other);
the --benchmark-disable smoke run uses 4 layers of width 256. Every run checks what it made (the
std of a projection, RMSNorm weights 1, the embedding tied, inv_freq that of a CPU-built model).

    python bench/test_bench_accelerate.py [--small]   # prints the two times and their ratio
"""
from __future__ import annotations

import math
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from _bench import SEED, run  # noqa: E402
from conftest import _disabled  # noqa: E402

from weightinit.torch import accelerate  # noqa: E402

FULL = dict(vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
            num_attention_heads=32, num_key_value_heads=8, tie_word_embeddings=True)
SMALL = dict(vocab_size=4096, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
             num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True)


def _meta(cfg):
    with torch.device("meta"):
        return transformers.LlamaForCausalLM(cfg).to(torch.bfloat16)


def weightinit_init(cfg):
    m = _meta(cfg)
    with accelerate(m, seed=SEED):
        m.init_weights()
    return m


def hf_init(cfg):
    m = _meta(cfg)
    m.to_empty(device="cpu")
    m.init_weights()
    return m


def check(m, cfg):
    w = m.model.layers[0].mlp.down_proj.weight.detach()
    assert abs(float(w.float().std()) / cfg.initializer_range - 1) < 0.02
    assert bool((m.model.layers[-1].input_layernorm.weight == 1).all())
    assert m.lm_head.weight is m.model.embed_tokens.weight
    ref = (transformers.LlamaForCausalLM(cfg).to(torch.bfloat16) if cfg.hidden_size <= 256
           else None)
    if ref is not None:
        assert torch.equal(m.model.rotary_emb.inv_freq, ref.model.rotary_emb.inv_freq)
    assert torch.isfinite(m.model.rotary_emb.inv_freq).all()


@pytest.fixture(scope="module")
def cfg(request):
    return transformers.LlamaConfig(**(SMALL if _disabled(request.config) else FULL))


@pytest.mark.parametrize("impl", ["weightinit", "hf"])
def test_llama_meta_init(benchmark, cfg, impl):
    benchmark.group = f"llama meta build + init, bfloat16, {cfg.hidden_size}x{cfg.num_hidden_layers}"
    benchmark.extra_info.update(impl=impl)
    fn = weightinit_init if impl == "weightinit" else hf_init
    m = run(benchmark, lambda: fn(cfg), slow=True, rounds=2)
    check(m, cfg)


def main(small: bool) -> None:
    cfg = transformers.LlamaConfig(**(SMALL if small else FULL))
    times = {}
    for name, fn in (("weightinit", weightinit_init), ("hf", hf_init)) * 2:
        t = time.perf_counter()
        m = fn(cfg)
        times.setdefault(name, []).append(time.perf_counter() - t)
        check(m, cfg)
        del m
    n = sum(p.numel() for p in _meta(cfg).parameters())
    best = {k: min(v) for k, v in times.items()}
    print(f"llama {n / 1e9:.2f}B bfloat16, {torch.get_num_threads()} torch threads: "
          f"accelerate + init_weights {best['weightinit']:.2f} s, to_empty + HF init_weights "
          f"{best['hf']:.2f} s, ratio {best['hf'] / best['weightinit']:.1f}x "
          f"(min of 2 each, interleaved)")
    assert math.isfinite(best["hf"])


if __name__ == "__main__":
    main("--small" in sys.argv)
