"""Regenerate tests/data/golden_v1.json from the pure-NumPy reference (never from the C++ core).

    python tests/data/make_golden.py            # rewrites golden_v1.json
    python tests/data/make_golden.py --check    # exit 1 if the file differs from a fresh generation

Golden values pin stream format v1: once released they never change without a new format version.
Exact kinds (bits, uniform) are stored as hexadecimal bit patterns; transcendental kinds (normal,
trunc_normal) as float64 reference values (JSON floats round-trip exactly in Python).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import reference as R  # noqa: E402

N = 16
OUT = HERE / "golden_v1.json"

# (name, kind, dtype, seed, stream, offset, params)
CASES = [
    ("bits/seed0", "bits", "uint32", 0, 0, 0, {}),
    ("bits/seed42-str", "bits", "uint32", 42, "layer1.weight", 7, {}),
    ("bits/max-key-max-stream-c1-crossing", "bits", "uint32", 2**64 - 1, 2**64 - 1, 2**34 - 5, {}),
    ("uniform/f32", "uniform", "float32", 42, 0, 0, {"a": 0.0, "b": 1.0}),
    ("uniform/f32-ab-offset", "uniform", "float32", 1234, 5, 2**34 - 5, {"a": -0.5, "b": 0.25}),
    ("uniform/f32-ab-str", "uniform", "float32", 7, "encoder.0.attn.q_proj.weight", 3,
     {"a": -0.0625, "b": 0.0625}),
    ("uniform/f64", "uniform", "float64", 42, 0, 0, {"a": 0.0, "b": 1.0}),
    ("uniform/f64-ab-offset", "uniform", "float64", 1234, 5, 2**33 - 3, {"a": -3.0, "b": 7.5}),
    ("uniform/f16", "uniform", "float16", 42, 0, 0, {"a": 0.0, "b": 1.0}),
    ("uniform/f16-ab", "uniform", "float16", 99, "w", 11, {"a": -2.0, "b": 2.0}),
    ("uniform/bf16", "uniform", "bfloat16", 42, 0, 0, {"a": 0.0, "b": 1.0}),
    ("uniform/bf16-ab", "uniform", "bfloat16", 99, "w", 11, {"a": -2.0, "b": 2.0}),
    ("normal/f32", "normal", "float32", 42, 0, 0, {"mean": 0.0, "std": 1.0}),
    ("normal/f32-odd-offset-str", "normal", "float32", 3, "decoder.embed", 2**40 + 1,
     {"mean": 0.0, "std": 1.0}),
    ("normal/f32-mean-std", "normal", "float32", 3, 17, 5, {"mean": 0.5, "std": 0.02}),
    ("normal/f64", "normal", "float64", 42, 0, 0, {"mean": 0.0, "std": 1.0}),
    ("normal/f64-offset", "normal", "float64", 2**63 + 5, 2**63, 2**63 - 3, {"mean": -1.0, "std": 3.0}),
    ("normal/f16", "normal", "float16", 42, 0, 0, {"mean": 0.0, "std": 1.0}),
    ("normal/bf16", "normal", "bfloat16", 42, 0, 1, {"mean": 0.0, "std": 0.02}),
    ("trunc_normal/f32", "trunc_normal", "float32", 42, 0, 0,
     {"mean": 0.0, "std": 1.0, "a": -2.0, "b": 2.0}),
    ("trunc_normal/f32-std0.002", "trunc_normal", "float32", 42, 0, 0,
     {"mean": 0.0, "std": 0.002, "a": -2.0, "b": 2.0}),
    ("trunc_normal/f32-shifted", "trunc_normal", "float32", 5, "head.weight", 2**34 - 5,
     {"mean": 1.0, "std": 2.0, "a": 0.0, "b": 3.0}),
    ("trunc_normal/f32-tail", "trunc_normal", "float32", 6, 0, 0,
     {"mean": 0.0, "std": 1.0, "a": 3.0, "b": 5.0}),
    ("trunc_normal/f64", "trunc_normal", "float64", 42, 0, 0,
     {"mean": 0.0, "std": 1.0, "a": -2.0, "b": 2.0}),
    ("trunc_normal/f64-std0.002-offset", "trunc_normal", "float64", 42, "x", 2**33 + 1,
     {"mean": 0.0, "std": 0.002, "a": -2.0, "b": 2.0}),
    ("trunc_normal/f16", "trunc_normal", "float16", 42, 0, 0,
     {"mean": 0.0, "std": 0.02, "a": -0.04, "b": 0.04}),
    ("trunc_normal/bf16-std0.002", "trunc_normal", "bfloat16", 42, 0, 0,
     {"mean": 0.0, "std": 0.002, "a": -2.0, "b": 2.0}),
]

EXACT_KINDS = {"bits", "uniform"}
BITS_DTYPE = {"uint32": np.uint32, "float32": np.uint32, "float64": np.uint64,
              "float16": np.uint16, "bfloat16": np.uint16}


def values_of(kind, dtype, seed, stream, offset, n, params):
    if kind == "bits":
        return R.bits(seed, stream, offset, n)
    if kind == "uniform":
        return R.uniform(seed, stream, offset, n, params["a"], params["b"], dtype=dtype)
    if kind == "normal":
        return R.normal(seed, stream, offset, n, params["mean"], params["std"], dtype=dtype)
    if kind == "trunc_normal":
        return R.trunc_normal(seed, stream, offset, n, params["mean"], params["std"],
                              params["a"], params["b"], dtype=dtype)
    raise ValueError(kind)


def find_extreme_words(seed, stream, chunk=1 << 22, limit=1 << 27):
    """First indices where w >> 8 is 0 and 0xFFFFFF: the extreme float32 uniforms.

    Element i of a float32 trunc_normal_ / uniform_ fill uses exactly word i, so these indices pin
    the tails (u' = 2**-25 and u' = 1 - 2**-25) without sampling 10**8 values.
    """
    found = {}
    for start in range(0, limit, chunk):
        k = R.words(seed, stream, start, chunk) >> np.uint32(8)
        for name, target in (("min", 0), ("max", 0xFFFFFF)):
            if name not in found:
                hit = np.flatnonzero(k == target)
                if hit.size:
                    found[name] = start + int(hit[0])
        if len(found) == 2:
            return found
    raise RuntimeError("extreme words not found")


def generate() -> dict:
    cases = []
    for name, kind, dtype, seed, stream, offset, params in CASES:
        vals = values_of(kind, dtype, seed, stream, offset, N, params)
        case = {"name": name, "kind": kind, "dtype": dtype, "seed": seed, "stream": stream,
                "offset": offset, "n": N, "params": params, "exact": kind in EXACT_KINDS}
        if kind in EXACT_KINDS:
            raw = np.asarray(vals).view(BITS_DTYPE[dtype])
            width = 2 * np.dtype(BITS_DTYPE[dtype]).itemsize
            case["bits"] = [f"0x{int(v):0{width}x}" for v in raw]
            case["values"] = [float(v) for v in np.asarray(vals, dtype=np.float64)] \
                if dtype != "uint32" else [int(v) for v in raw]
        else:
            case["values"] = [float(v) for v in vals]
        cases.append(case)
    extremes = []
    for seed, stream in ((2024, 0), (7, "weightinit/tails")):
        found = find_extreme_words(seed, stream)
        for which, index in sorted(found.items()):
            extremes.append({"seed": seed, "stream": stream, "which": which, "index": index,
                             "word": int(R.words(seed, stream, index, 1)[0])})
    return {
        "format": "weightinit stream format v1",
        "generated_by": "tests/data/make_golden.py from tests/reference.py (pure NumPy)",
        "cases": cases,
        "extreme_words": extremes,
    }


def main(argv):
    text = json.dumps(generate(), indent=1) + "\n"
    if "--check" in argv:
        same = OUT.exists() and OUT.read_text() == text
        print("golden_v1.json is up to date" if same else "golden_v1.json differs")
        return 0 if same else 1
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
