"""Every ```python block of README.md runs as written.

Conventions for README authors (HTML comments on the line right before the block):
``<!-- requires: torch, transformers -->`` skips the block only when one of those modules is
missing; ``<!-- ranks: N -->`` runs it as a script in N processes under ``torch.distributed.run``
(a torch.distributed example: it initializes its own process group); ``<!-- no-test: why -->`` does
not run it (sparingly: for blocks that cannot run here, saying which test runs their code instead).
Each block runs on its own, in a fresh namespace, in a temporary working directory. Blocks in
doctest style (``>>>``) run their statements; their printed output is not compared.
"""

import importlib.util
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
_MARK = re.compile(r"<!--\s*(no-test(?::[^>]*?)?|requires:([^>]*?)|ranks:\s*(\d+))\s*-->\s*$")


def _blocks():
    text = README.read_text(encoding="utf-8")
    out = []
    for m in _FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = _MARK.search(before)
        skip = bool(mark and mark.group(1).startswith("no-test"))
        needs = [n.strip() for n in mark.group(2).split(",") if n.strip()] if (
            mark and mark.group(2)) else []
        ranks = int(mark.group(3)) if mark and mark.group(3) else 0
        out.append(pytest.param(m.group(1), needs, ranks, id=f"line{line}",
                                marks=[pytest.mark.skip("<!-- no-test -->")] if skip else []))
    return out


def _source(block):
    lines = block.splitlines()
    if not any(ln.lstrip().startswith(">>>") for ln in lines):
        return block
    # doctest style: keep the statements, drop the expected output
    return "\n".join(ln.lstrip()[4:] for ln in lines
                     if ln.lstrip().startswith((">>> ", "... ")) or ln.strip() in (">>>", "..."))


def test_the_readme_has_python_blocks():
    assert len(_blocks()) >= 5


@pytest.mark.parametrize("block,needs,ranks", _blocks())
def test_readme_block_runs(block, needs, ranks, tmp_path, monkeypatch):
    for mod in needs + (["torch"] if ranks else []):
        if importlib.util.find_spec(mod) is None:
            pytest.skip(f"needs {mod}")
    monkeypatch.chdir(tmp_path)
    if ranks:
        _run_ranks(block, ranks, tmp_path)
        return
    code = compile(_source(block), "README.md block", "exec")
    exec(code, {"__name__": "__readme__"})


def _run_ranks(block: str, ranks: int, tmp_path: Path) -> None:
    """The block as a script in ``ranks`` processes (gloo on loopback), every rank exiting 0."""
    script = tmp_path / "readme_block.py"
    script.write_text(block, encoding="utf-8")
    with socket.socket() as s:  # a free port for the rendezvous (parallel runs must not collide)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    p = subprocess.run([sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={ranks}",
                        "--master-addr=127.0.0.1", f"--master-port={port}", str(script)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
