"""diagnose() on the issue's net (51 widths of 1024, ReLU, He, batch 256) against its floor: the
same 150 float32 matrix products in bare NumPy (forward, backward, weight gradients). The ratio
shows what the fills, the activations and the statistics add; nothing asserts a time."""
from __future__ import annotations

import numpy as np

import weightinit as wi

from _bench import run

WIDTHS = [1024] * 51
BATCH = 256


def test_diagnose(benchmark):
    benchmark.group = "diagnose [1024]*51 relu kaiming_normal batch 256"
    d = run(benchmark, lambda: wi.diagnose(WIDTHS, "relu", "kaiming_normal", batch=BATCH),
            slow=True)
    assert d.word == "healthy" and len(d.layers) == 50  # the result is checked, not only timed


def test_matmul_floor(benchmark):
    benchmark.group = "diagnose [1024]*51 relu kaiming_normal batch 256"
    ws = [wi.kaiming_normal((1024, 1024), seed=0, stream=i) for i in range(50)]
    x = wi.normal((BATCH, 1024), seed=0, stream="x")

    def products():
        a, acts = x, []
        for w in ws:
            acts.append(a)
            a = np.maximum(a @ w.T, 0)
        g = np.ones_like(a)
        for w, a in zip(reversed(ws), reversed(acts)):
            _ = g.T @ a
            g = g @ w
        return g

    g = run(benchmark, products, slow=True)
    assert np.isfinite(g).all()
