"""The weightinit command line: every command, --help, exit codes, refusals, --dry-run, --json.

Commands run in-process through ``cli.main([...])`` (capsys holds their output); a few tests run
the real entry points in a subprocess for what only a new process shows (the module and console
script start, exit status seen by a shell). Signals mid-write: tests/test_checkpoint_faults.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from weightinit import architectures as A
from weightinit import cli, safetensors_io
from weightinit.models import ModelSpec, Param

TINY = ModelSpec({"emb.weight": Param((100, 16), "normal_", std=0.02),
                  "fc.weight": Param((16, 16), "kaiming_normal_"),
                  "fc.bias": Param((16,), "zeros_")}, name="tiny")


def run_main(capsys, *args):
    """(exit status, stdout, stderr) of ``cli.main`` in this process."""
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def run_process(*args, cwd=None, timeout=120):
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


# --- the real entry points, in a subprocess ---------------------------------------------------

def test_module_entry_point_and_exit_codes(tmp_path):
    r = run_process("--version")
    assert r.returncode == 0 and r.stdout.startswith("weightinit ")
    r = run_process("init", "gpt5", cwd=tmp_path)
    assert r.returncode == 2 and "unknown architecture 'gpt5'" in r.stderr
    r = run_process("init", tmp_path / "missing-dir" / "x.json")
    assert r.returncode == 2
    # in a process of its own: importing the benchmark module here would defeat the fakes below
    r = run_process("bench", "--help")
    assert r.returncode == 0 and "usage: weightinit" in r.stdout
    assert os.listdir(tmp_path) == []


def test_console_script_is_installed():
    exe = shutil.which("weightinit", path=os.path.dirname(sys.executable))
    if exe is None:
        pytest.skip("console script not installed next to this interpreter")
    r = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("weightinit ")


def test_a_failed_write_exits_1_from_the_shell(tmp_path, tiny_spec):
    out = tmp_path / "x.safetensors"
    out.write_bytes(b"old")
    r = run_process("init", tiny_spec, "-o", out)
    assert r.returncode == 1 and "exists; pass --force" in r.stderr
    assert out.read_bytes() == b"old"


# --- in-process ----------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["--help"], ["init", "--help"], ["list", "--help"],
                                  ["spec", "--help"], ["recommend", "--help"]])
def test_help_everywhere(capsys, args):
    code, out, _ = run_main(capsys, *args)
    assert code == 0
    assert "usage: weightinit" in out


def test_no_command_and_unknown_command(capsys):
    code, _, err = run_main(capsys)
    assert code == 2 and "usage: weightinit" in err
    code, _, err = run_main(capsys, "frobnicate")
    assert code == 2 and "invalid choice" in err and "did you mean" not in err
    code, _, err = run_main(capsys, "innit")
    assert code == 2 and "did you mean 'init'?" in err
    code, _, err = run_main(capsys, "lst")
    assert code == 2 and "did you mean 'list'?" in err


def test_list(capsys):
    code, out, _ = run_main(capsys, "list")
    assert code == 0
    for name in A.names():
        assert name in out
    assert "124,439,808" in out and "6,738,415,616" in out
    code, out, _ = run_main(capsys, "list", "--json")
    rows = json.loads(out)
    assert {row["name"]: row["params"] for row in rows} == {
        n: A.ARCHITECTURES[n][1] for n in A.names()}


def test_spec_prints_and_saves(capsys, tmp_path):
    code, out, _ = run_main(capsys, "spec", "gpt2")
    assert code == 0
    assert ModelSpec.from_json(out) == A.get("gpt2")
    path = tmp_path / "r.json"
    assert run_main(capsys, "spec", "resnet50", "--out", path)[0] == 0
    assert ModelSpec.load(path) == A.get("resnet-50")
    code, _, err = run_main(capsys, "spec", "nope")
    assert code == 2 and "unknown architecture 'nope'" in err


def test_init_a_spec_file(capsys, tmp_path, tiny_spec, monkeypatch):
    pytest.importorskip("safetensors")
    from safetensors.numpy import load_file

    from weightinit.build import init_model

    out = tmp_path / "a.safetensors"
    code, stdout, err = run_main(capsys, "init", tiny_spec, "--seed", 5, "--dtype", "float16",
                                 "--out", out)
    assert code == 0, err
    assert "wrote" in stdout and "seed 5" in stdout
    assert f"load_file('{out}')" in err  # how to load the result
    got = load_file(str(out))
    want = init_model(TINY, seed=5, dtype="float16")
    for k in want:
        assert (got[k] == want[k]).all()
    again = tmp_path / "b.safetensors"
    assert run_main(capsys, "init", tiny_spec, "--seed", 5, "--dtype", "fp16", "--threads", 1,
                    "-o", again)[0] == 0
    assert sha(again) == sha(out)
    # default output name from the spec's name, in the working directory
    monkeypatch.chdir(tmp_path)
    assert run_main(capsys, "init", tiny_spec, "--seed", 1)[0] == 0
    assert (tmp_path / "tiny-init.safetensors").exists()


def test_init_default_is_gpt2(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(capsys, "init", "--seed", "0", "--dtype", "bfloat16")
    assert code == 0, err
    path = tmp_path / "gpt2-init.safetensors"
    assert path.stat().st_size > 124_439_808 * 2
    assert "124,439,808 parameters" in err
    assert err.count("\r") == 0  # no progress bar when stderr is not a terminal


def test_init_without_seed_prints_the_seed_it_drew(capsys, tmp_path, tiny_spec):
    code, out, _ = run_main(capsys, "init", tiny_spec, "-o", tmp_path / "x.safetensors")
    assert code == 0
    seed = int(out.rsplit("seed ", 1)[1])
    assert run_main(capsys, "init", tiny_spec, "--seed", seed,
                    "-o", tmp_path / "y.safetensors")[0] == 0
    assert sha(tmp_path / "x.safetensors") == sha(tmp_path / "y.safetensors")


@pytest.mark.parametrize("args,code,message", [
    (["init", "gpt5"], 2, "unknown architecture 'gpt5' (did you mean 'gpt2'?)"),
    (["init", "lama-7b"], 2, "did you mean 'llama-7b'"),
    (["init", "missing.json"], 2, "not found"),
    (["init", "gpt2", "--dtype", "int8"], 2, "invalid choice"),
    (["init", "gpt2", "--dtype", "bf61"], 2, "did you mean 'bf16'?"),
    (["init", "gpt2", "--seed", "-1"], 2, "[0, 2**64)"),
    (["init", "gpt2", "--threads", "0"], 2, "must be >= 1"),
    (["recommend", "bogus"], 2, "activation 'bogus' is not known"),
    (["recommend", "rleu"], 2, "did you mean 'relu'"),
    (["recommend", "relu", "--param", "0.1"], 2, "param is only read"),
])
def test_usage_errors(capsys, tmp_path, monkeypatch, args, code, message):
    monkeypatch.chdir(tmp_path)
    got, _, err = run_main(capsys, *args)
    assert got == code, err
    assert message in err
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("spelling,canonical", [
    ("fp32", "float32"), ("float", "float32"), ("torch.float", "float32"), ("FP16", "float16"),
    ("half", "float16"), ("torch.float16", "float16"), ("bf16", "bfloat16"),
    ("torch.bfloat16", "bfloat16"), ("double", "float64"), ("fp64", "float64"),
    ("float64", "float64"),
])
def test_dtype_spellings(spelling, canonical):
    assert cli._dtype(spelling) == canonical


def test_dtype_spelling_reaches_the_file(capsys, tmp_path, tiny_spec):
    out = tmp_path / "t.safetensors"
    assert run_main(capsys, "init", tiny_spec, "--dtype", "torch.bfloat16", "--seed", 1,
                    "-o", out)[0] == 0
    with open(out, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    assert header["fc.weight"]["dtype"] == "BF16"


def test_invalid_spec_file(capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"params": {"w": {"shape": [4], "init": "xavier_uniform_"}}}')
    code, _, err = run_main(capsys, "init", bad, "-o", tmp_path / "out.safetensors")
    assert code == 2 and "2 dimensions" in err
    bad.write_text("{not json")
    code, _, err = run_main(capsys, "init", bad, "-o", tmp_path / "out.safetensors")
    assert code == 2 and "invalid spec file" in err
    assert sorted(os.listdir(tmp_path)) == ["bad.json"]


def test_deeply_nested_spec_is_a_one_line_error(capsys, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    code, out, err = run_main(capsys, "init", deep, "-o", tmp_path / "out.safetensors")
    assert code == 2
    assert err.strip().count("\n") == 0 and "nested too deeply" in err
    assert "Traceback" not in err and out == ""
    assert sorted(os.listdir(tmp_path)) == ["deep.json"]


def test_orthogonal_beyond_memory_is_refused_before_writing(capsys, tmp_path, monkeypatch):
    spec = tmp_path / "big.json"
    spec.write_text('{"params": {"w": {"shape": [60000, 60000], "init": "orthogonal_"}}}')
    monkeypatch.setattr(safetensors_io, "_available_memory", lambda: 24 << 30)
    code, out, err = run_main(capsys, "init", spec, "-o", tmp_path / "out.safetensors")
    assert code == 1
    assert err.strip().count("\n") == 0, err
    assert "w (orthogonal_, shape (60000, 60000)) needs about 144.0 GB" in err
    assert "25.8 GB is available" in err
    assert sorted(os.listdir(tmp_path)) == ["big.json"]


def test_existing_out_needs_force(capsys, tmp_path, tiny_spec):
    out = tmp_path / "x.safetensors"
    out.write_bytes(b"old")
    code, _, err = run_main(capsys, "init", tiny_spec, "--seed", 1, "-o", out)
    assert code == 1 and f"{out} exists; pass --force to replace it" in err
    assert out.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == [
        "tiny.json", "x.safetensors"]
    code, _, err = run_main(capsys, "init", tiny_spec, "--seed", 1, "-o", out, "--force")
    assert code == 0, err
    assert out.stat().st_size > 100 * 16 * 4


def test_non_regular_and_unwritable_targets(capsys, tmp_path, tiny_spec):
    code, _, err = run_main(capsys, "init", tiny_spec, "-o", tmp_path / "nodir" / "x.st")
    assert code == 1 and "does not exist" in err
    code, _, err = run_main(capsys, "init", tiny_spec, "-o", tmp_path, "--force")
    assert code == 1 and "is a directory" in err
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    code, _, err = run_main(capsys, "init", tiny_spec, "-o", fifo, "--force")
    assert code == 1 and "is a FIFO, not a regular file" in err
    f = tmp_path / "file"
    f.write_text("")
    code, _, err = run_main(capsys, "init", tiny_spec, "-o", f / "x.safetensors")
    assert code == 1 and "Not a directory" in err
    assert sorted(os.listdir(tmp_path)) == ["fifo", "file", "tiny.json"]


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs procfs")
def test_procfs_target_reports_the_file_systems_error(capsys, tiny_spec):
    code, _, err = run_main(capsys, "init", tiny_spec, "-o", "/proc/weightinit-x")
    assert code == 1
    assert "cannot write /proc/weightinit-x: No such file or directory" in err
    assert "disk space" not in err


def test_disk_too_small_is_refused_before_writing(capsys, tmp_path, monkeypatch):
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(safetensors_io.shutil, "disk_usage",
                        lambda p: usage._replace(free=10**9))
    code, _, err = run_main(capsys, "init", "llama-70b", "-o", tmp_path / "x.safetensors")
    assert code == 1
    assert "not enough free disk space" in err and "275.9 GB" in err
    assert os.listdir(tmp_path) == []


def test_dry_run_writes_nothing_and_tells_what_would_be_written(capsys, tmp_path, tiny_spec):
    out = tmp_path / "t.safetensors"
    code, text, _ = run_main(capsys, "init", tiny_spec, "--seed", 3, "--dtype", "bf16", "-o",
                             out, "--dry-run")
    assert code == 0
    assert sorted(os.listdir(tmp_path)) == ["tiny.json"]
    assert "nothing written" in text and str(out) in text
    assert "emb.weight" in text and "(100, 16)" in text and "bfloat16" in text
    assert "kaiming_normal_()" in text and "normal_(std=0.02)" in text
    code, js, _ = run_main(capsys, "init", tiny_spec, "--seed", 3, "--dtype", "bf16", "-o",
                           out, "--dry-run", "--json")
    plan = json.loads(js)
    assert plan["dry_run"] is True and plan["exists"] is False and plan["seed"] == 3
    assert {t["name"]: (t["shape"], t["dtype"], t["init"]) for t in plan["tensors"]} == {
        "emb.weight": ([100, 16], "bfloat16", "normal_"),
        "fc.weight": ([16, 16], "bfloat16", "kaiming_normal_"),
        "fc.bias": ([16], "bfloat16", "zeros_")}
    assert sum(t["bytes"] for t in plan["tensors"]) == (100 * 16 + 16 * 16 + 16) * 2
    assert os.listdir(tmp_path) == ["tiny.json"]
    # the plan's size is the file's size
    assert run_main(capsys, "init", tiny_spec, "--seed", 3, "--dtype", "bf16", "-o", out)[0] == 0
    assert out.stat().st_size == plan["bytes"]
    assert f"{plan['bytes']:,} bytes" in text
    # a dry run fails as the write would
    code, _, err = run_main(capsys, "init", tiny_spec, "-o", out, "--dry-run")
    assert code == 1 and "pass --force" in err


def test_init_json(capsys, tmp_path, tiny_spec):
    out = tmp_path / "t.safetensors"
    code, text, err = run_main(capsys, "init", tiny_spec, "--seed", 9, "-o", out, "--json")
    assert code == 0, err
    d = json.loads(text)
    assert d["path"] == str(out) and d["seed"] == 9 and d["dtype"] == "float32"
    assert d["params"] == TINY.num_params() and d["tensors"] == 3
    assert d["bytes"] == out.stat().st_size and "load_file" in d["load"]


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_quiet_otherwise(capsys, tmp_path, tiny_spec, monkeypatch):
    pytest.importorskip("tqdm")
    code, _, err = run_main(capsys, "init", tiny_spec, "-o", tmp_path / "a.st")
    assert code == 0 and "100%" not in err  # not a terminal
    code, _, err = run_main(capsys, "init", tiny_spec, "-o", tmp_path / "b.st", "--progress")
    assert code == 0 and "100%" in err
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert cli.main(["init", str(tiny_spec), "-o", str(tmp_path / "c.st")]) == 0
    assert "100%" in term.getvalue() and "c.st" in term.getvalue()
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert cli.main(["init", str(tiny_spec), "-o", str(tmp_path / "d.st"), "--quiet"]) == 0
    assert term.getvalue() == ""  # --quiet: no bar, no messages
    assert "wrote" in capsys.readouterr().out  # the result line stays


def test_progress_without_tqdm_is_an_error_not_ignored(capsys, tmp_path, tiny_spec,
                                                       monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import raises ImportError
    code, _, err = run_main(capsys, "init", tiny_spec, "-o", tmp_path / "a.st", "--progress")
    assert code == 1 and "needs tqdm" in err
    assert os.listdir(tmp_path) == ["tiny.json"]


def test_recommend(capsys):
    code, out, _ = run_main(capsys, "recommend", "relu")
    assert code == 0
    assert "kaiming_normal_" in out and "He" in out
    code, out, _ = run_main(capsys, "recommend", "leaky_relu", "--param", "0.2", "--json")
    d = json.loads(out)
    assert d["scheme"] == "kaiming_normal_" and d["kwargs"]["a"] == 0.2


def test_did_you_mean():
    assert cli.did_you_mean("innit", ["init", "list"]) == " (did you mean 'init'?)"
    assert cli.did_you_mean("zzz", ["init", "list"]) == ""


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


def test_socket_target_is_refused(capsys, tmp_path, tiny_spec):
    path = tmp_path / "s"
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(path))
        code, _, err = run_main(capsys, "init", tiny_spec, "-o", path, "--force")
        assert code == 1 and "is a socket, not a regular file" in err
    finally:
        s.close()
