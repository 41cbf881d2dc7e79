"""``weightinit.inspect`` of a checkpoint against a plain sequential read of the same file, both
from a cold page cache, alternating (issue 11: inspect at least as fast as reading the file):

    weightinit init llama-7b --dtype bfloat16 --out /tmp/l7.safetensors
    sudo .venv/bin/python bench/inspect_vs_read.py /tmp/l7.safetensors llama-7b [rounds]

Dropping the page cache needs root (it writes /proc/sys/vm/drop_caches); without it the times are
warm-cache times and say so.
"""
from __future__ import annotations

import os
import sys
import time

import weightinit as wi


def drop_caches() -> bool:
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def read(path: str, block: int = 4 << 20) -> None:
    buf = memoryview(bytearray(block))
    with open(path, "rb", buffering=0) as f:
        while f.readinto(buf):
            pass


def main(argv: list[str]) -> None:
    path, expect = argv[0], argv[1] if len(argv) > 1 else None
    rounds = int(argv[2]) if len(argv) > 2 else 2
    for _ in range(rounds):
        for name, fn in (("read", lambda: read(path)), ("inspect", lambda: wi.inspect(path, expect=expect))):
            cold = drop_caches()
            t = time.perf_counter()
            fn()
            print(f"{name:8s} {time.perf_counter() - t:7.2f} s  ({'cold' if cold else 'warm'} cache)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
