"""save_safetensors: a valid file, equal to init_model, reproducible bytes, no half-written
files, bounded memory."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from weightinit import architectures as A
from weightinit import safetensors_io
from weightinit.build import init_model
from weightinit.models import ModelSpec, Param
from weightinit.safetensors_io import DiskSpaceError, save_safetensors

safetensors = pytest.importorskip("safetensors")
from safetensors import safe_open  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402


def spec_small() -> ModelSpec:
    return ModelSpec({
        "emb.weight": Param((300, 64), "normal_", std=0.02, zero_rows=[0]),
        "blk.0.w": Param((128, 64), "kaiming_uniform_", a=5 ** 0.5),
        "blk.0.b": Param((128,), "uniform_", a=-0.125, b=0.125),
        "blk.0.q": Param((64, 64), "orthogonal_"),
        "blk.0.conv": Param((16, 8, 3, 3), "kaiming_normal_", mode="fan_out",
                            nonlinearity="relu"),
        "norm.weight": Param((64,), "ones_"),
        "norm.bias": Param((64,), "zeros_"),
        "odd": Param((7, 3), "trunc_normal_", std=0.5),
        "fp32": Param((5,), "normal_", dtype="float32"),
        "count": Param((), "zeros_", dtype="int64", buffer=True),
        "empty": Param((0, 4), "normal_"),
    }, name="small")


def sha(path) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def read_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return n, json.loads(f.read(n))


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64"])
def test_loads_with_safetensors_and_equals_init_model(tmp_path, dtype):
    path = tmp_path / "m.safetensors"
    assert save_safetensors(spec_small(), path, seed=3, dtype=dtype, window=4096) == str(path)
    got = load_file(str(path))
    want = init_model(spec_small(), seed=3, dtype=dtype)
    assert set(got) == set(want)
    for k in want:
        assert got[k].dtype == want[k].dtype and got[k].shape == want[k].shape, k
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)


def test_bfloat16_loads_with_torch_and_equals_init_model(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file as load_torch

    path = tmp_path / "m.safetensors"
    save_safetensors(spec_small(), path, seed=3, dtype="bfloat16", window=4096)
    got = load_torch(str(path))
    want = init_model(spec_small(), seed=3, dtype="bfloat16")
    assert got["emb.weight"].dtype == torch.bfloat16
    assert got["fp32"].dtype == torch.float32 and got["count"].dtype == torch.int64
    for k, w in want.items():
        t = got[k]
        a = t.view(torch.int16).numpy() if t.dtype == torch.bfloat16 else t.numpy()
        np.testing.assert_array_equal(a, w.view(np.int16) if w.dtype.itemsize == 2 else w)


def test_header_layout(tmp_path):
    path = tmp_path / "m.safetensors"
    save_safetensors(spec_small(), path, seed=12, dtype="bfloat16", metadata={"note": "hi"})
    n, header = read_header(path)
    assert (8 + n) % 8 == 0
    meta = header.pop("__metadata__")
    assert meta["format"] == "pt" and meta["weightinit.seed"] == "12" and meta["note"] == "hi"
    assert meta["weightinit.dtype"] == "bfloat16"
    assert ModelSpec.from_json(meta["weightinit.spec"]) == spec_small()
    spans = sorted((v["data_offsets"], v["dtype"], k) for k, v in header.items())
    pos = 0
    for (lo, hi), dt, k in spans:
        assert lo == pos, k
        item = {"I64": 8, "F32": 4, "BF16": 2}[dt]
        assert lo % item == 0, k  # every tensor aligned to its item size
        pos = hi
    assert 8 + n + pos == os.path.getsize(path)
    assert header["emb.weight"] == {"dtype": "BF16", "shape": [300, 64],
                                    "data_offsets": header["emb.weight"]["data_offsets"]}
    assert header["count"]["shape"] == []


def test_same_seed_same_bytes_for_any_threads_and_window(tmp_path):
    spec = A.gpt2(n_layer=2, n_embd=128, n_head=2, vocab_size=5000, n_positions=64)
    paths = []
    for i, (threads, window) in enumerate([(1, 4096), (2, 1 << 20), (None, 64 << 20)]):
        p = tmp_path / f"m{i}.safetensors"
        save_safetensors(spec, p, seed=42, dtype="bfloat16", threads=threads, window=window)
        paths.append(p)
    assert len({sha(p) for p in paths}) == 1
    other = tmp_path / "other.safetensors"
    save_safetensors(spec, other, seed=43, dtype="bfloat16")
    assert sha(other) != sha(paths[0])


def test_builtin_by_name(tmp_path):
    path = tmp_path / "r.safetensors"
    save_safetensors("resnet-50", path, seed=0, dtype="bfloat16")
    with safe_open(str(path), "np") as f:
        assert len(f.keys()) == len(A.get("resnet-50"))
        assert f.get_tensor("bn1.num_batches_tracked") == 0


class Boom(RuntimeError):
    pass


@pytest.mark.parametrize("exc", [Boom, KeyboardInterrupt])
def test_a_failed_write_leaves_no_file(tmp_path, monkeypatch, exc):
    real = safetensors_io.fill_param
    calls = []

    def failing(*args, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise exc("disk on fire")
        return real(*args, **kw)

    monkeypatch.setattr(safetensors_io, "fill_param", failing)
    path = tmp_path / "m.safetensors"
    with pytest.raises(exc):
        save_safetensors(spec_small(), path, seed=1)
    assert os.listdir(tmp_path) == []
    # an existing file under the final name is left as it was
    path.write_bytes(b"old")
    calls.clear()
    with pytest.raises(exc):
        save_safetensors(spec_small(), path, seed=1)
    assert os.listdir(tmp_path) == ["m.safetensors"] and path.read_bytes() == b"old"


def test_existing_file_is_replaced_atomically(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"old")
    save_safetensors(spec_small(), path, seed=1, fsync=True)
    assert load_file(str(path))["odd"].shape == (7, 3)
    assert os.listdir(tmp_path) == ["m.safetensors"]


def test_not_enough_disk_space_is_refused_up_front(tmp_path, monkeypatch):
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(safetensors_io.shutil, "disk_usage",
                        lambda p: usage._replace(free=1000))
    with pytest.raises(DiskSpaceError, match="not enough free disk space") as ei:
        save_safetensors(spec_small(), tmp_path / "m.safetensors", seed=1)
    assert isinstance(ei.value, OSError) and ei.value.errno == 28
    assert os.listdir(tmp_path) == []


def test_bad_paths_and_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_safetensors(spec_small(), tmp_path / "no" / "m.safetensors", seed=1)
    with pytest.raises(IsADirectoryError):
        save_safetensors(spec_small(), tmp_path, seed=1)
    bad = ModelSpec({"w": Param((4,), "xavier_uniform_")})
    with pytest.raises(ValueError, match="2 dimensions"):
        save_safetensors(bad, tmp_path / "m.safetensors", seed=1)
    with pytest.raises(ValueError, match="window"):
        save_safetensors(spec_small(), tmp_path / "m.safetensors", seed=1, window=10)
    with pytest.raises(TypeError):
        save_safetensors(spec_small(), tmp_path / "m.safetensors", seed=1, dtype="int8")
    assert os.listdir(tmp_path) == []


def _make_unwritable(d):
    """Make directory d unwritable for this user; as root (CI) mode bits do not stop writes, so
    set the immutable attribute instead. Returns the undo function."""
    if os.geteuid() != 0:
        d.chmod(0o500)
        return lambda: d.chmod(0o700)
    import shutil
    import subprocess

    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(d)], capture_output=True).returncode != 0:
        pytest.fail("cannot make a directory unwritable for root here (chattr +i failed)")
    return lambda: subprocess.run([chattr, "-i", str(d)], check=True)


def test_unwritable_directory(tmp_path):
    d = tmp_path / "ro"
    d.mkdir()
    undo = _make_unwritable(d)
    try:
        with pytest.raises(PermissionError, match="cannot write"):
            save_safetensors(spec_small(), d / "m.safetensors", seed=1)
        assert os.listdir(d) == []
    finally:
        undo()


def test_progress_bar_only_when_asked_or_on_a_terminal(tmp_path, capsys):
    pytest.importorskip("tqdm")
    save_safetensors(spec_small(), tmp_path / "a.safetensors", seed=1)  # stderr is no TTY
    assert capsys.readouterr().err == ""
    save_safetensors(spec_small(), tmp_path / "b.safetensors", seed=1, progress=True)
    err = capsys.readouterr().err
    assert "b.safetensors" in err and "100%" in err
    save_safetensors(spec_small(), tmp_path / "c.safetensors", seed=1, progress=False)
    assert capsys.readouterr().err == ""


RSS_CHILD = textwrap.dedent("""
    import json, os, resource, sys
    from weightinit import architectures, safetensors_io

    def hwm_kib():
        # VmHWM: peak RSS of this process image. ru_maxrss is kept across fork + exec on Linux,
        # so in a child of a big pytest process it reports the parent's peak, not ours.
        try:
            with open("/proc/self/status") as f:
                return int(next(l for l in f if l.startswith("VmHWM")).split()[1])
        except (OSError, StopIteration):
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    spec = architectures.llama(n_layers=8, dim=2048, n_heads=16, ffn_dim=5632, vocab_size=32000)
    before = hwm_kib()
    safetensors_io.save_safetensors(spec, sys.argv[1], seed=7, dtype="float32", progress=False)
    print(json.dumps({"before_kib": before, "peak_kib": hwm_kib(),
                      "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "size": os.path.getsize(sys.argv[1])}))
""")


@pytest.mark.slow
def test_peak_rss_of_a_multi_gib_write_stays_bounded(tmp_path):
    # 542M float32 parameters: a 2.2 GB file; a whole-model approach would need >= 2 GiB RSS
    need = A.llama(n_layers=8, dim=2048, n_heads=16, ffn_dim=5632,
                   vocab_size=32000).nbytes("float32")
    if shutil.disk_usage(tmp_path).free < 2 * need:
        pytest.skip("not enough free disk space for the 2.2 GB file")
    path = tmp_path / "big.safetensors"
    try:
        r = subprocess.run([sys.executable, "-c", RSS_CHILD, str(path)], capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        res = json.loads(r.stdout)
        assert res["size"] > need > 2 * 2**30
        peak_mib = res["peak_kib"] / 1024
        grown_mib = (res["peak_kib"] - res["before_kib"]) / 1024
        assert grown_mib < 128, res  # about one 32 MiB window
        assert peak_mib < 384, res
        with safe_open(str(path), "np") as f:  # spot check: the last tensor's values
            np.testing.assert_array_equal(
                f.get_slice("lm_head.weight")[:2],
                init_model(ModelSpec({"lm_head.weight": Param((32000, 2048), "normal_",
                                                              std=0.02)}),
                           seed=7)["lm_head.weight"][:2])
    finally:
        if path.exists():
            path.unlink()


def test_overwrite_false_refuses_an_existing_file_before_and_after_writing(tmp_path,
                                                                            monkeypatch):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"old")
    with pytest.raises(FileExistsError, match="overwrite=False"):
        save_safetensors(spec_small(), path, seed=1, overwrite=False)
    assert os.listdir(tmp_path) == ["m.safetensors"] and path.read_bytes() == b"old"
    with pytest.raises(TypeError, match="overwrite"):
        save_safetensors(spec_small(), tmp_path / "n.safetensors", seed=1, overwrite="yes")
    # a file appearing during the write is not replaced either (hard link, not rename)
    path.unlink()
    real = safetensors_io.fill_param
    calls = []

    def appears(*args, **kw):
        calls.append(1)
        if len(calls) == 2:
            path.write_bytes(b"theirs")
        return real(*args, **kw)

    monkeypatch.setattr(safetensors_io, "fill_param", appears)
    with pytest.raises(FileExistsError, match="appeared during the write"):
        save_safetensors(spec_small(), path, seed=1, overwrite=False)
    assert os.listdir(tmp_path) == ["m.safetensors"] and path.read_bytes() == b"theirs"
    monkeypatch.undo()
    new = tmp_path / "new.safetensors"
    save_safetensors(spec_small(), new, seed=1, overwrite=False)
    assert sorted(os.listdir(tmp_path)) == ["m.safetensors", "new.safetensors"]
    assert load_file(str(new))["odd"].shape == (7, 3)


def test_a_symlink_is_written_through(tmp_path):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / "m.safetensors"
    target.write_bytes(b"old")
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    save_safetensors(spec_small(), link, seed=4)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert sha(target) == sha(link) and load_file(str(target))["odd"].shape == (7, 3)
    assert os.listdir(real_dir) == ["m.safetensors"]  # the temp file lived beside the target
    # a chain of links, and a dangling one (created where it points, as open() would)
    chain = tmp_path / "chain"
    chain.symlink_to(link)
    save_safetensors(spec_small(), chain, seed=5)
    assert chain.is_symlink() and link.is_symlink()
    assert read_header(target)[1]["__metadata__"]["weightinit.seed"] == "5"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(real_dir / "later.safetensors")
    save_safetensors(spec_small(), dangling, seed=6)
    assert dangling.is_symlink() and (real_dir / "later.safetensors").is_file()
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(OSError, match="cannot write .*symbolic links"):
        save_safetensors(spec_small(), loop, seed=1)
    assert loop.is_symlink()


def test_non_regular_targets_are_refused(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    sub = tmp_path / "dir"
    sub.mkdir()
    to_fifo = tmp_path / "to_fifo"
    to_fifo.symlink_to(fifo)
    to_dir = tmp_path / "to_dir"
    to_dir.symlink_to(sub)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(FileExistsError, match="fifo is a FIFO, not a regular file"):
        save_safetensors(spec_small(), fifo, seed=1)
    with pytest.raises(FileExistsError, match=r"to_fifo \(-> .*fifo\) is a FIFO"):
        save_safetensors(spec_small(), to_fifo, seed=1)
    with pytest.raises(IsADirectoryError, match="is a directory"):
        save_safetensors(spec_small(), to_dir, seed=1)
    assert sorted(os.listdir(tmp_path)) == before and os.listdir(sub) == []
    assert to_fifo.is_symlink() and fifo.is_fifo()
    if os.path.exists("/dev/null"):  # refused before anything is created, so safe as root
        with pytest.raises(FileExistsError, match="character device"):
            safetensors_io.plan_safetensors(spec_small(), "/dev/null", seed=1)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs procfs")
def test_the_file_systems_own_error_is_reported():
    with pytest.raises(FileNotFoundError, match="cannot write /proc/x: No such file"):
        save_safetensors(spec_small(), "/proc/x", seed=1)


def test_working_memory_is_checked_before_writing(tmp_path, monkeypatch):
    P = Param
    assert safetensors_io.working_memory(P((600, 400), "orthogonal_")) == 5 * 8 * 600 * 400
    assert safetensors_io.working_memory(P((64, 32, 3, 3), "delta_orthogonal_")) == \
        5 * 8 * 64 * 32
    assert safetensors_io.working_memory(P((600, 400), "normal_")) == 0
    assert safetensors_io.working_memory(P((600, 400), "sparse_", sparsity=0.5)) == 0
    spec = ModelSpec({"a": Param((64, 64), "normal_"), "q": Param((512, 256), "orthogonal_")})
    monkeypatch.setattr(safetensors_io, "_available_memory", lambda: 5 * 8 * 512 * 256 - 1)
    with pytest.raises(MemoryError, match=r"q \(orthogonal_, shape \(512, 256\)\) needs about "
                                          r"5\.2 MB .* 5\.2 MB is available"):
        save_safetensors(spec, tmp_path / "m.safetensors", seed=1)
    assert os.listdir(tmp_path) == []
    monkeypatch.setattr(safetensors_io, "_available_memory", lambda: 5 * 8 * 512 * 256)
    save_safetensors(spec, tmp_path / "m.safetensors", seed=1)
    monkeypatch.setattr(safetensors_io, "_available_memory", lambda: None)  # unknown: no check
    save_safetensors(spec, tmp_path / "n.safetensors", seed=1)


def test_available_memory_is_plausible():
    avail = safetensors_io._available_memory()
    if avail is None:
        pytest.skip("no way to read the available memory on this platform")
    assert 0 < avail < 2**50


def test_progress_true_without_tqdm_is_refused_before_writing(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import raises ImportError
    with pytest.raises(ImportError, match="progress=True needs tqdm"):
        save_safetensors(spec_small(), tmp_path / "m.safetensors", seed=1, progress=True)
    with pytest.raises(TypeError, match="progress must be"):
        save_safetensors(spec_small(), tmp_path / "m.safetensors", seed=1, progress="yes")
    assert os.listdir(tmp_path) == []
    save_safetensors(spec_small(), tmp_path / "m.safetensors", seed=1)  # None: quiet, no error


@pytest.mark.parametrize("spelling", ["bf16", "torch.bfloat16"])
def test_dtype_spellings(tmp_path, spelling):
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    save_safetensors(spec_small(), a, seed=2, dtype="bfloat16")
    save_safetensors(spec_small(), b, seed=2, dtype=spelling)
    assert sha(a) == sha(b)


def test_plan_is_what_gets_written(tmp_path):
    path = tmp_path / "m.safetensors"
    plan = safetensors_io.plan_safetensors(spec_small(), path, seed=8, dtype="float16")
    assert os.listdir(tmp_path) == []
    assert plan.real_path == str(path) and not plan.exists and plan.seed == 8
    save_safetensors(spec_small(), path, seed=8, dtype="float16")
    assert os.path.getsize(path) == plan.nbytes
    with open(path, "rb") as f:
        assert f.read(len(plan.header)) == plan.header
    assert safetensors_io.plan_safetensors(spec_small(), path, seed=8).exists


def test_an_error_only_the_fill_finds_names_the_parameter(tmp_path):
    spec = ModelSpec({"a": Param((8, 8), "normal_"),
                      "enc.w": Param((3, 4), "martens_sparse_", nonzeros=9)})
    with pytest.raises(ValueError, match=r"^enc\.w \(martens_sparse_\): nonzeros=9"):
        save_safetensors(spec, tmp_path / "m.safetensors", seed=1)
    assert os.listdir(tmp_path) == []
