"""Checkpoint writes under faults: SIGTERM / SIGHUP mid-write (library and CLI), SIGKILL and the
next write's sweep of stale temporary files, and how a temporary file is judged stale.

Each writer runs in a subprocess whose fill pauses after a few tensors (prints "ready", then
sleeps), so the signal lands mid-write deterministically.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from weightinit import safetensors_io
from weightinit.models import ModelSpec
from weightinit.safetensors_io import remove_stale_temp_files, save_safetensors

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")

SPEC = {f"layer{i}.weight": {"shape": [256, 256], "init": "normal_", "std": 0.02}
        for i in range(8)}

WRITER = textwrap.dedent("""
    import json, sys, time
    from weightinit import cli, safetensors_io
    from weightinit.models import ModelSpec

    mode, out, spec_path = sys.argv[1:4]
    real = safetensors_io.fill_param
    calls = []

    def pausing(*args, **kw):
        calls.append(1)
        if len(calls) == 3:
            print("ready", flush=True)
            time.sleep(60)
        return real(*args, **kw)

    safetensors_io.fill_param = pausing
    if mode == "cli":
        sys.exit(cli.main(["init", spec_path, "-o", out, "--force", "--seed", "1"]))
    safetensors_io.save_safetensors(ModelSpec.load(spec_path), out, seed=1)
""")


def temp_files(directory):
    return sorted(n for n in os.listdir(directory) if n.endswith(".tmp"))


@pytest.fixture
def target(tmp_path):
    spec = tmp_path / "spec.json"
    ModelSpec.from_dict({"params": SPEC}).save(spec)
    out = tmp_path / "m.safetensors"
    out.write_bytes(b"old")
    return out, spec


def start_writer(mode, out, spec):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, mode, str(out), str(spec)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise AssertionError(f"writer did not start: {line!r} {proc.communicate()[1]}")
    return proc


@pytest.mark.parametrize("mode", ["library", "cli"])
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_signal_mid_write_removes_the_temp_file_and_keeps_the_target(target, mode, sig):
    out, spec = target
    signum = getattr(signal, sig)
    proc = start_writer(mode, out, spec)
    assert len(temp_files(out.parent)) == 1  # the write is under way
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    if mode == "library":  # the signal is delivered again after the cleanup
        assert proc.returncode == -signum, err
    else:
        assert proc.returncode == 128 + signum, err
        assert f"weightinit init: terminated by {sig}" in err
    assert "Traceback" not in err
    assert temp_files(out.parent) == []
    assert out.read_bytes() == b"old"


def test_sigkill_leaves_a_temp_file_that_the_next_write_removes(target):
    out, spec = target
    proc = start_writer("library", out, spec)
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    left = temp_files(out.parent)
    assert len(left) == 1 and left[0].startswith(".m.safetensors.")
    assert out.read_bytes() == b"old"  # the target is never truncated
    other = out.parent / f".other.safetensors.{proc.pid}-{safetensors_io._boot_id()}-1.00000000.tmp"
    other.write_bytes(b"x")  # another target's temp file: not this write's business
    save_safetensors(ModelSpec.from_dict({"params": SPEC}), out, seed=1)
    assert temp_files(out.parent) == [other.name]
    assert out.stat().st_size > 8 * 256 * 256 * 4


def test_a_live_writers_temp_file_is_left_alone(target):
    out, spec = target
    proc = start_writer("library", out, spec)
    try:
        live = temp_files(out.parent)
        assert remove_stale_temp_files(out) == []
        save_safetensors(ModelSpec.from_dict({"params": SPEC}), out, seed=2)  # a second writer
        assert temp_files(out.parent) == live
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    assert temp_files(out.parent) == []


def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_how_a_temp_file_is_judged_stale(tmp_path):
    out = tmp_path / "m.safetensors"
    boot = safetensors_io._boot_id()
    me = os.getpid()
    start = safetensors_io._start_ticks(me) or 0
    mine = tmp_path / f".m.safetensors.{me}-{boot}-{start}.0000000a.tmp"
    dead = tmp_path / f".m.safetensors.{_dead_pid()}-{boot}-{start}.0000000b.tmp"
    reused = tmp_path / f".m.safetensors.{me}-{boot}-{start + 1}.0000000c.tmp"  # pid recycled
    rebooted = tmp_path / f".m.safetensors.{me}-{'f' * 8 if boot != 'f' * 8 else 'e' * 8}-" \
                          f"{start}.0000000d.tmp"
    locked = tmp_path / f".m.safetensors.{_dead_pid()}-{boot}-{start}.0000000e.tmp"
    unrelated = [tmp_path / ".m.safetensors.1234abcd.tmp",  # old format: no owner to check
                 tmp_path / f".m.safetensors.x.{me}-{boot}-{start}.0000000f.tmp",
                 tmp_path / "m.safetensors.tmp"]
    for f in [mine, dead, reused, rebooted, locked, *unrelated]:
        f.write_bytes(b"x")
    import fcntl

    fd = os.open(locked, os.O_RDONLY)  # held by a live process (e.g. another pid namespace)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        removed = remove_stale_temp_files(out)
    finally:
        os.close(fd)
    assert sorted(removed) == sorted(map(str, [dead, reused, rebooted]))
    assert sorted(os.listdir(tmp_path)) == sorted(f.name for f in [mine, locked, *unrelated])
    # a symlink named like a stale temp file is not followed or removed
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    link = tmp_path / f".m.safetensors.{_dead_pid()}-{boot}-{start}.00000010.tmp"
    link.symlink_to(victim)
    remove_stale_temp_files(out)
    assert link.is_symlink() and victim.read_bytes() == b"keep"


def test_signals_raise_leaves_a_programs_own_handler_alone():
    seen = []

    def mine(signum, frame):
        seen.append(signum)

    old = signal.signal(signal.SIGHUP, mine)
    try:
        with safetensors_io.signals_raise():
            assert signal.getsignal(signal.SIGHUP) is mine
            signal.raise_signal(signal.SIGHUP)
        assert seen == [signal.SIGHUP]
    finally:
        signal.signal(signal.SIGHUP, old)


def test_signals_raise_turns_sigterm_into_an_exception_and_restores(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    if before is not signal.SIG_DFL:
        pytest.skip("the test runner handles SIGTERM itself")
    with pytest.raises(safetensors_io.Terminated, match="terminated by SIGTERM") as ei:
        with safetensors_io.signals_raise(redeliver=False):
            signal.raise_signal(signal.SIGTERM)
    assert ei.value.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
