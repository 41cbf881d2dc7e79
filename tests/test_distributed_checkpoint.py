"""One .safetensors checkpoint written by many dask.distributed worker processes.

``save_safetensors(..., client=)`` gives the bytes of the single-process write for two models (the
tensors cut across tasks and workers), the file loads with safetensors, and a worker killed in the
middle of its task leaves neither a file at the target nor a temporary file.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import weightinit as wi  # noqa: E402
from weightinit import architectures, safetensors_io  # noqa: E402

MODELS = {
    "gpt2-small": lambda: architectures.gpt2(n_layer=2, n_embd=64, n_head=4, vocab_size=1000, n_positions=128),
    "resnet-small": lambda: architectures.resnet(layers=(1, 1), num_classes=10, width=16),
}


@pytest.fixture
def client(dask_client):
    return dask_client


def _no_local_fill(*args, **kwargs):
    raise AssertionError("the client process filled tensors itself")


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("model", sorted(MODELS))
def test_byte_identical_to_the_single_process_file(client, tmp_path, monkeypatch, model, dtype):
    spec = MODELS[model]()
    one = tmp_path / "one.safetensors"
    many = tmp_path / "many.safetensors"
    wi.save_safetensors(spec, one, seed=21, dtype=dtype, progress=False)
    plan = safetensors_io.plan_safetensors(spec, many, seed=21, dtype=dtype)
    data = plan.nbytes - len(plan.header)
    task_bytes = max(safetensors_io._TASK_MIN, -(-data // 8))  # as for 2 workers
    tasks = safetensors_io._tasks(plan.layout, task_bytes)
    assert len(tasks) >= 3  # the work is spread over several tasks ...
    if model == "gpt2-small":  # ... and its embedding (256 kB) cut across tasks
        assert sum(piece[0] == "wte.weight" for t in tasks for piece in t) >= 2
    monkeypatch.setattr(safetensors_io, "_fill_all", _no_local_fill)
    assert wi.save_safetensors(spec, many, seed=21, dtype=dtype, client=client, progress=False) == str(many)
    assert many.read_bytes() == one.read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["many.safetensors", "one.safetensors"]
    if dtype == "float32":
        from safetensors.numpy import load_file

        loaded = load_file(str(many))
        want = wi.init_model(spec, seed=21, dtype=dtype)
        assert loaded.keys() == want.keys()
        assert all(np.array_equal(loaded[n], want[n]) for n in want)


def test_both_workers_write(client, tmp_path):
    spec = wi.ModelSpec({f"w{i}": wi.Param((256, 256), "kaiming_normal_") for i in range(8)})
    one, many = tmp_path / "one.safetensors", tmp_path / "many.safetensors"
    wi.save_safetensors(spec, one, seed=3, progress=False)
    log = tmp_path / "pids"
    log.mkdir()

    def record_pids(log=str(log)):
        import weightinit.safetensors_io as sio

        real = sio._fill_pieces

        def recorded(*args):
            open(os.path.join(log, str(os.getpid())), "a").close()
            return real(*args)
        sio._fill_pieces = recorded

    client.run(record_pids)
    try:
        wi.save_safetensors(spec, many, seed=3, client=client, progress=False)
    finally:
        client.run(_restore_fill_pieces)
    assert many.read_bytes() == one.read_bytes()
    pids = {int(n) for n in os.listdir(log)}
    assert len(pids) == 2 and os.getpid() not in pids  # both worker processes wrote, this one did not


def _restore_fill_pieces():
    import weightinit.safetensors_io as sio

    while sio._fill_pieces.__name__ != "_fill_pieces":  # unwrap the test's wrappers
        sio._fill_pieces = next(c.cell_contents for c in sio._fill_pieces.__closure__
                                if callable(c.cell_contents))


def test_client_argument_checked_before_anything_is_written(tmp_path):
    target = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match="client must be a dask.distributed.Client"):
        wi.save_safetensors(MODELS["resnet-small"](), target, seed=0, client="tcp://127.0.0.1:8786")
    assert os.listdir(tmp_path) == []


def test_a_failing_task_leaves_nothing(client, tmp_path):
    spec = wi.ModelSpec({"w": wi.Param((64, 64), "normal_"), "v": wi.Param((9, 9), "normal_")})
    target = tmp_path / "bad.safetensors"
    target.write_bytes(b"old")

    def break_fills():
        import weightinit.safetensors_io as sio

        def fail(*args, **kwargs):
            raise ValueError("v (normal_): refused inside the worker")
        sio.fill_param = fail
    client.run(break_fills)
    try:
        with pytest.raises(ValueError, match="refused inside the worker"):
            wi.save_safetensors(spec, target, seed=0, client=client, progress=False)
    finally:
        client.run(lambda: setattr(__import__("weightinit.safetensors_io").safetensors_io, "fill_param",
                                   __import__("weightinit.build").build.fill_param))
    assert os.listdir(tmp_path) == ["bad.safetensors"] and target.read_bytes() == b"old"


def test_a_worker_killed_midway_leaves_no_file_and_no_temp(client, tmp_path):
    """Runs last: the killed worker is restarted by its nanny, without the patch."""
    spec = wi.ModelSpec({f"w{i}": wi.Param((512, 512), "normal_", std=0.02) for i in range(8)})
    target = tmp_path / "killed.safetensors"

    def kill_on_second_piece():
        import weightinit.safetensors_io as sio

        real = sio._fill_pieces

        def fill_then_die(mm, base, pieces, *args):
            real(mm, base, pieces[:1], *args)  # some bytes really land in the file first
            mm.flush()
            os._exit(1)
        sio._fill_pieces = fill_then_die
    client.run(kill_on_second_piece)
    with pytest.raises(distributed.KilledWorker):
        wi.save_safetensors(spec, target, seed=0, client=client, progress=False)
    assert os.listdir(tmp_path) == []
    client.wait_for_workers(2, timeout=60)
