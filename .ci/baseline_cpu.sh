#!/usr/bin/env bash
# Runs a small fill of every kind and dtype under an emulated baseline x86-64 CPU (qemu-user,
# -cpu Nehalem: SSE4.2, no AVX) and natively, and requires the same bytes: nothing compiled for a
# higher ISA may run before dispatch has chosen it (issue 10, defect 1), and the portable path
# the baseline CPU takes must match the native one bit for bit.
# Usage: .ci/baseline_cpu.sh [python]   (default: .ci/venv/bin/python, the venv .ci/run builds)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.ci/venv/bin/python}

if [ "$(uname -m)" != x86_64 ]; then
  echo "baseline_cpu: not an x86-64 host, nothing to check"
  exit 0
fi
if ! command -v qemu-x86_64 >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/fills.py" <<'PYEOF'
import hashlib
import sys

import ml_dtypes
import numpy as np

import weightinit as wi
from weightinit import _core

print("isa", _core.isa(), file=sys.stderr)
if len(sys.argv) > 1 and _core.isa() != sys.argv[1]:
    raise SystemExit(f"expected isa {sys.argv[1]}, got {_core.isa()}")
dtypes = [np.float32, np.float64, np.float16, ml_dtypes.bfloat16]
shape = (3, 1000)  # odd offsets into chunks, a non-contiguous view, more than one chunk
for dt in dtypes:
    name = np.dtype(dt).name
    fills = {
        "uniform": lambda x: wi.uniform_(x, -2.0, 3.0, seed=11, stream="u"),
        "normal": lambda x: wi.normal_(x, 0.5, 2.0, seed=12, stream="n"),
        "trunc_normal": lambda x: wi.trunc_normal_(x, 0.0, 1.0, -2.0, 2.0, seed=13, stream="t"),
        "trunc_normal_tail": lambda x: wi.trunc_normal_(x, 0.0, 1.0, 4.0, 9.0, seed=14),
        "constant": lambda x: wi.constant_(x, 0.3),
    }
    for kind, fill in fills.items():
        x = np.zeros(shape, dt)
        fill(x)
        fill(x[:, 7:900:3])  # strided
        print(name, kind, hashlib.sha256(x.tobytes()).hexdigest())
        y = np.zeros(shape, dt)
        wi.uniform_(y.reshape(-1)[5:], seed=3, offset=5)
        print(name, kind, "offset", hashlib.sha256(y.tobytes()).hexdigest())
b = np.zeros(4099, np.uint32)
wi.random_bits_(b, seed=2**63 + 5, stream=9)
print("uint32 bits", hashlib.sha256(b.tobytes()).hexdigest())
z = wi.normal_(np.empty(1 << 17, np.float32), seed=4, threads=2)  # past the parallel threshold: the pool
print("float32 normal threads=2", hashlib.sha256(z.tobytes()).hexdigest())
PYEOF

"$PY" "$work/fills.py" >"$work/native.txt"
timeout 300 qemu-x86_64 -cpu Nehalem "$PY" "$work/fills.py" portable >"$work/nehalem.txt"
if ! diff -u "$work/native.txt" "$work/nehalem.txt"; then
  echo "baseline_cpu: fills under -cpu Nehalem differ from the native run" >&2
  exit 1
fi
echo "baseline_cpu: $(wc -l <"$work/native.txt") fills identical under qemu -cpu Nehalem and natively"
