"""The weightinit command line, through subprocess: every command, --help, exit codes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from weightinit import architectures as A
from weightinit import cli
from weightinit.models import ModelSpec, Param

TINY = ModelSpec({"emb.weight": Param((100, 16), "normal_", std=0.02),
                  "fc.weight": Param((16, 16), "kaiming_normal_"),
                  "fc.bias": Param((16,), "zeros_")}, name="tiny")


def run(*args, cwd=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "weightinit", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def sha(path) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture
def tiny_spec(tmp_path) -> Path:
    p = tmp_path / "tiny.json"
    TINY.save(p)
    return p


@pytest.mark.parametrize("args", [["--help"], ["init", "--help"], ["list", "--help"],
                                  ["spec", "--help"], ["recommend", "--help"],
                                  ["bench", "--help"]])
def test_help_everywhere(args):
    r = run(*args)
    assert r.returncode == 0, r.stderr
    assert "usage: weightinit" in r.stdout


def test_console_script_is_installed():
    exe = shutil.which("weightinit", path=os.path.dirname(sys.executable))
    if exe is None:
        pytest.skip("console script not installed next to this interpreter")
    r = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("weightinit ")


def test_no_command_and_unknown_command():
    r = run()
    assert r.returncode == 2 and "usage: weightinit" in r.stderr
    r = run("frobnicate")
    assert r.returncode == 2 and "invalid choice" in r.stderr


def test_list():
    r = run("list")
    assert r.returncode == 0, r.stderr
    for name in A.names():
        assert name in r.stdout
    assert "124,439,808" in r.stdout and "6,738,415,616" in r.stdout
    rows = json.loads(run("list", "--json").stdout)
    assert {row["name"]: row["params"] for row in rows} == {
        n: A.ARCHITECTURES[n][1] for n in A.names()}


def test_spec_prints_and_saves(tmp_path):
    r = run("spec", "gpt2")
    assert r.returncode == 0
    assert ModelSpec.from_json(r.stdout) == A.get("gpt2")
    out = tmp_path / "r.json"
    assert run("spec", "resnet50", "--out", out).returncode == 0
    assert ModelSpec.load(out) == A.get("resnet-50")
    r = run("spec", "nope")
    assert r.returncode == 2 and "unknown architecture 'nope'" in r.stderr


def test_init_a_spec_file(tmp_path, tiny_spec):
    pytest.importorskip("safetensors")
    from safetensors.numpy import load_file

    from weightinit.build import init_model

    out = tmp_path / "a.safetensors"
    r = run("init", tiny_spec, "--seed", 5, "--dtype", "float16", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and "seed 5" in r.stdout
    got = load_file(str(out))
    want = init_model(TINY, seed=5, dtype="float16")
    for k in want:
        assert (got[k] == want[k]).all()
    again = tmp_path / "b.safetensors"
    assert run("init", tiny_spec, "--seed", 5, "--dtype", "float16", "--threads", 1,
               "-o", again).returncode == 0
    assert sha(again) == sha(out)
    # default output name from the spec's name, in the working directory
    assert run("init", tiny_spec, "--seed", 1, cwd=tmp_path).returncode == 0
    assert (tmp_path / "tiny-init.safetensors").exists()


def test_init_default_is_gpt2(tmp_path):
    r = run("init", "--seed", "0", "--dtype", "bfloat16", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    path = tmp_path / "gpt2-init.safetensors"
    assert path.stat().st_size > 124_439_808 * 2
    assert "124,439,808 parameters" in r.stderr
    assert r.stderr.count("\r") == 0  # no progress bar when stderr is not a terminal


def test_init_without_seed_prints_the_seed_it_drew(tmp_path, tiny_spec):
    r = run("init", tiny_spec, "-o", tmp_path / "x.safetensors")
    assert r.returncode == 0
    seed = int(r.stdout.rsplit("seed ", 1)[1])
    r2 = run("init", tiny_spec, "--seed", seed, "-o", tmp_path / "y.safetensors")
    assert r2.returncode == 0
    assert sha(tmp_path / "x.safetensors") == sha(tmp_path / "y.safetensors")


@pytest.mark.parametrize("args,code,message", [
    (["init", "gpt5"], 2, "unknown architecture 'gpt5'"),
    (["init", "missing.json"], 2, "not found"),
    (["init", "gpt2", "--dtype", "int8"], 2, "invalid choice"),
    (["init", "gpt2", "--seed", "-1"], 2, "[0, 2**64)"),
    (["init", "gpt2", "--threads", "0"], 2, "must be >= 1"),
    (["recommend", "bogus"], 2, "activation 'bogus' is not known"),
    (["recommend", "relu", "--param", "0.1"], 2, "param is only read"),
])
def test_usage_errors(tmp_path, args, code, message):
    r = run(*args, cwd=tmp_path)
    assert r.returncode == code, (r.stdout, r.stderr)
    assert message in r.stderr
    assert os.listdir(tmp_path) == []


def test_invalid_spec_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"params": {"w": {"shape": [4], "init": "xavier_uniform_"}}}')
    r = run("init", bad, "-o", tmp_path / "out.safetensors")
    assert r.returncode == 2 and "2 dimensions" in r.stderr
    bad.write_text("{not json")
    r = run("init", bad, "-o", tmp_path / "out.safetensors")
    assert r.returncode == 2 and "invalid spec file" in r.stderr
    assert sorted(os.listdir(tmp_path)) == ["bad.json"]


def test_unwritable_paths(tmp_path, tiny_spec):
    r = run("init", tiny_spec, "-o", tmp_path / "nodir" / "x.safetensors")
    assert r.returncode == 1 and "does not exist" in r.stderr
    r = run("init", tiny_spec, "-o", tmp_path)
    assert r.returncode == 1 and "is a directory" in r.stderr
    f = tmp_path / "file"
    f.write_text("")
    r = run("init", tiny_spec, "-o", f / "x.safetensors")
    assert r.returncode == 1 and "error" in r.stderr


def test_disk_too_small_is_refused_before_writing(tmp_path):
    need = A.get("llama-70b").nbytes("float32")  # 276 GB
    if shutil.disk_usage(tmp_path).free >= need:
        pytest.skip("this disk could hold llama-70b in float32")
    r = run("init", "llama-70b", "-o", tmp_path / "x.safetensors", timeout=60)
    assert r.returncode == 1
    assert "not enough free disk space" in r.stderr and "275.9 GB" in r.stderr
    assert os.listdir(tmp_path) == []


def test_recommend():
    r = run("recommend", "relu")
    assert r.returncode == 0
    assert "kaiming_normal_" in r.stdout and "He" in r.stdout
    r = run("recommend", "leaky_relu", "--param", "0.2", "--json")
    d = json.loads(r.stdout)
    assert d["scheme"] == "kaiming_normal_" and d["kwargs"]["a"] == 0.2


def test_bench_forwards_its_arguments(monkeypatch):
    seen = {}

    class FakeBenchmark:
        @staticmethod
        def main(argv):
            seen["argv"] = argv
            return 3

    monkeypatch.setitem(sys.modules, "weightinit.benchmark", FakeBenchmark)
    assert cli.main(["bench", "--size", "1024", "--quick"]) == 3
    assert seen["argv"] == ["--size", "1024", "--quick"]


def test_bench_without_the_benchmark_module(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "weightinit.benchmark", None)  # import raises ImportError
    assert cli.main(["bench"]) == 2
    assert "benchmark module is not available" in capsys.readouterr().err
