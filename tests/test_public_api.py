"""The public API: ``weightinit.__all__`` lists exactly what the package documents, and importing
the package stays light (no optional heavy dependency is imported by ``import weightinit``)."""
import ast
import inspect
import pathlib
import re
import subprocess
import sys

import weightinit as wi

ROOT = pathlib.Path(__file__).resolve().parents[1]
INIT = pathlib.Path(wi.__file__)


def _names_imported_by_init():
    """Public names that weightinit/__init__.py binds by ``from ... import``."""
    names = []
    for node in ast.parse(INIT.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            names += [a.asname or a.name for a in node.names if not (a.asname or a.name).startswith("_")]
    return names


def test_all_lists_every_public_name_once_and_each_exists():
    assert len(wi.__all__) == len(set(wi.__all__)), "a name is listed twice"
    missing = [n for n in wi.__all__ if not hasattr(wi, n)]
    assert not missing, f"in __all__ but not defined: {missing}"
    assert set(wi.__all__) == set(_names_imported_by_init())


def test_star_import_gives_exactly_all():
    ns: dict = {}
    exec("from weightinit import *", ns)
    assert set(ns) - {"__builtins__"} == set(wi.__all__)


def test_every_name_the_readme_calls_is_exported():
    used = set(re.findall(r"\bwi\.([A-Za-z_][A-Za-z0-9_]*)\b", (ROOT / "README.md").read_text()))
    used -= {n for n in used if inspect.ismodule(getattr(wi, n, None))}  # wi.torch, wi.architectures...
    assert used <= set(wi.__all__), f"README uses names not in __all__: {sorted(used - set(wi.__all__))}"


HEAVY = ("ml_dtypes", "torch", "scipy", "matplotlib", "dask", "transformers")


def test_import_does_not_import_heavy_optional_dependencies():
    code = ("import sys, weightinit, numpy as np; weightinit.uniform((3, 4), seed=1); "
            "weightinit.kaiming_normal((3, 4), seed=1); "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"imported by import weightinit and a float32 fill: {out.stdout}"


def test_bfloat16_imports_ml_dtypes_only_when_asked_for():
    code = ("import sys, weightinit as wi; x = wi.normal((4,), dtype='bfloat16', seed=1); "
            "print('ml_dtypes' in sys.modules, x.dtype.name)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "bfloat16"]
