"""Every ```python block of README.md runs as written.

Conventions for README authors (HTML comments on the line right before the block):
``<!-- requires: torch, transformers -->`` skips the block only when one of those modules is
missing; ``<!-- no-test: why -->`` does not run it (sparingly: for blocks that cannot run here,
saying which test runs their code instead).
Each block runs on its own, in a fresh namespace, in a temporary working directory. Blocks in
doctest style (``>>>``) run their statements; their printed output is not compared.
"""

import importlib.util
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
_MARK = re.compile(r"<!--\s*(no-test(?::[^>]*?)?|requires:([^>]*?))\s*-->\s*$")


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
        out.append(pytest.param(m.group(1), needs, id=f"line{line}",
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


@pytest.mark.parametrize("block,needs", _blocks())
def test_readme_block_runs(block, needs, tmp_path, monkeypatch):
    for mod in needs:
        if importlib.util.find_spec(mod) is None:
            pytest.skip(f"needs {mod}")
    monkeypatch.chdir(tmp_path)
    code = compile(_source(block), "README.md block", "exec")
    exec(code, {"__name__": "__readme__"})
