"""DTensor parameters: init_module fills each rank's shard as a box of the global tensor.

Two processes on the gloo backend (loopback) shard a module's parameters with Shard(0), Shard(1)
and Replicate (uneven shards included), and an FSDP2 ``fully_shard`` module built on the meta
device; each rank runs init_module; the gathered parameters equal the single-process init_module
result. fill_shard_ is checked in one process: the shards of every rank, put together, are the
whole fill.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import weightinit as wi  # noqa: E402
import weightinit.torch as wt  # noqa: E402

SEED = 11
# a mapping scheme that reaches every kind of fill: random with fans, zero_rows, an orthogonal box,
# a non-random eye_ (no threads argument), constants
MAPPING = {
    "0.weight": {"init": "trunc_normal_", "std": 0.02, "zero_rows": [5, 36]},
    "1.weight": "orthogonal_",
    "3.weight": "eye_",
    "4.weight": {"init": "constant_", "val": 0.5},
    "*": "torch",
}


def model():
    return nn.Sequential(nn.Embedding(37, 12, padding_idx=5), nn.Linear(12, 30), nn.ReLU(),
                         nn.Linear(30, 7), nn.LayerNorm(7))


def _rank_main(out: str) -> None:
    """One rank of the 2-process run: every case, gathered, saved by rank 0."""
    import torch.distributed as dist
    from torch.distributed.fsdp import fully_shard
    from torch.distributed.tensor import Replicate, Shard, distribute_tensor, init_device_mesh

    dist.init_process_group("gloo")
    mesh = init_device_mesh("cpu", (dist.get_world_size(),))
    results = {}
    for label, placement in (("shard0", Shard(0)), ("shard1", Shard(1)), ("replicate", Replicate())):
        for scheme in ("torch", "mapping"):
            m = model()
            for mod in m.modules():
                for n, p in list(mod.named_parameters(recurse=False)):
                    pl = Shard(0) if isinstance(placement, Shard) and p.dim() == 1 else placement
                    mod.register_parameter(n, nn.Parameter(distribute_tensor(p.data, mesh, [pl])))
            wt.init_module(m, seed=SEED, scheme=MAPPING if scheme == "mapping" else scheme)
            results[f"{label}-{scheme}"] = {n: p.full_tensor() for n, p in m.named_parameters()}
            if label == "shard0":  # the shards really are shards
                results[f"local-{label}-{scheme}"] = {n: p.to_local().shape[0] for n, p in m.named_parameters()}
    with torch.device("meta"):
        m = model()
    for layer in (m[0], m[1], m[3]):
        fully_shard(layer, mesh=mesh)
    fully_shard(m, mesh=mesh)
    wt.init_module(m, seed=SEED, scheme=MAPPING)
    results["fsdp2-mapping"] = {n: p.full_tensor() for n, p in m.named_parameters()}
    try:
        wt.init_module(m, seed=SEED, scheme={"1.weight": lambda t, **kw: t, "*": "torch"})
    except TypeError as exc:
        results["callable-refused"] = str(exc)
    if dist.get_rank() == 0:
        torch.save(results, out)
    dist.barrier()
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def gathered(tmp_path_factory):
    pytest.importorskip("torch.distributed")
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("torch without the gloo backend")
    out = str(tmp_path_factory.mktemp("dtensor") / "gathered.pt")
    env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()), WORLD_SIZE="2",
               GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, __file__, out], env=dict(env, RANK=str(r), LOCAL_RANK=str(r)),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for r in range(2)]
    logs = [p.communicate(timeout=240)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), "\n".join(logs)
    return torch.load(out)


def _single(scheme):
    m = model()
    wt.init_module(m, seed=SEED, scheme=MAPPING if scheme == "mapping" else scheme)
    return dict(m.named_parameters())


@pytest.mark.parametrize("case", ["shard0-torch", "shard0-mapping", "shard1-torch", "shard1-mapping",
                                  "replicate-torch", "replicate-mapping", "fsdp2-mapping"])
def test_gathered_equals_single_process(gathered, case):
    want = _single(case.split("-")[1])
    got = gathered[case]
    assert got.keys() == want.keys()
    for n in want:
        assert torch.equal(got[n], want[n].detach()), (case, n)


def test_shards_are_local_boxes_and_rules_checked(gathered):
    local = gathered["local-shard0-torch"]
    assert local["0.weight"] == 19 and local["3.weight"] == 4  # 37 and 7 rows cut unevenly over 2 ranks
    assert "callable rule" in gathered["callable-refused"]
    assert torch.all(_single("mapping")["0.weight"][[5, 36]] == 0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fill_shard_pieces_make_the_whole_fill(dtype):
    want = wi.kaiming_normal((10, 7), dtype="bfloat16" if dtype == torch.bfloat16 else "float32", seed=4,
                             stream="w", mode="fan_out")
    for axis in (0, 1):
        pieces = []
        for lo, hi in ((0, 4), (4, 7)) if axis == 1 else ((0, 6), (6, 10)):
            shape = (hi - lo, 7) if axis == 0 else (10, hi - lo)
            start = (lo, 0) if axis == 0 else (0, lo)
            local = torch.empty(shape, dtype=dtype)
            assert wt.fill_shard_(local, (10, 7), start, "kaiming_normal_", seed=4, stream="w",
                                  mode="fan_out") is local
            pieces.append(local)
        whole = torch.cat(pieces, dim=axis)
        assert whole.view(torch.int16 if dtype == torch.bfloat16 else torch.int32).numpy().tobytes() == \
            want.tobytes()
    with pytest.raises(TypeError, match="no random numbers"):
        wt.fill_shard_(torch.empty(2, 2), (4, 4), (0, 0), "eye_", seed=1)
    with pytest.raises(ValueError, match="box leaves the global tensor"):
        wt.fill_shard_(torch.empty(3, 2), (4, 4), (2, 0), "normal_", seed=1)
    eye = torch.empty(2, 3)
    wt.fill_shard_(eye, (4, 6), (1, 0), "eye_")
    assert np.array_equal(eye.numpy(), np.eye(4, 6, dtype=np.float32)[1:3, 0:3])


if __name__ == "__main__":
    _rank_main(sys.argv[1])
