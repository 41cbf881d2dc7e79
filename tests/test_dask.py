"""weightinit.dask: chunked arrays whose chunks are independent box fills.

Every chunking (uneven last chunks, single-element chunks, "auto", byte sizes) computes to the
bytes of the in-memory fill, on the threaded scheduler and on a 2-process LocalCluster; the graph
has one task per chunk and no dependencies; keys are deterministic; bad arguments fail when the
array is built; to_zarr round-trips.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
wd = pytest.importorskip("weightinit.dask")

import weightinit as wi  # noqa: E402
from weightinit import _box, architectures  # noqa: E402

# two small models of the built-in families (the named ones are hundreds of MB)
MODELS = {
    "gpt2-small": lambda: architectures.gpt2(n_layer=2, n_embd=64, n_head=4, vocab_size=1000, n_positions=128),
    "resnet-small": lambda: architectures.resnet(layers=(1, 1), num_classes=10, width=8),
}

SHAPE = (301, 199)
CHUNKINGS = [(70, 33), (301, 199), (1, 199), ((100, 1, 200), (1, 198)), "auto", "16KiB", 97]

# (name, args, kwargs): every allocating function, each with a non-default argument where it has one
CASES = [
    ("random_bits", (), {}),
    ("uniform", (-0.5, 1.5), {}),
    ("normal", (0.1, 0.02), {}),
    ("trunc_normal", (0.0, 1.0, -1.0, 2.5), {}),
    ("constant", (0.25,), {}),
    ("zeros", (), {}),
    ("ones", (), {}),
    ("variance_scaling", (2.0, "fan_avg", "uniform"), {}),
    ("xavier_uniform", (), {"gain": 1.5}),
    ("xavier_normal", (), {}),
    ("kaiming_uniform", (), {"a": math.sqrt(5)}),
    ("kaiming_normal", (), {"mode": "fan_out", "nonlinearity": "relu"}),
    ("lecun_uniform", (), {}),
    ("lecun_normal", (), {}),
    ("glorot_uniform", (), {}),
    ("glorot_normal", (), {}),
    ("he_uniform", (), {}),
    ("he_normal", (), {"in_axis": -2, "out_axis": -1}),
    ("orthogonal", (), {"gain": 2.0}),
    ("sparse", (0.3,), {}),
    ("martens_sparse", (), {"nonzeros": 5}),
    ("eye", (), {}),
]
RANDOM = {n for n, _, _ in CASES} - {"constant", "zeros", "ones", "eye"}


def _kw(name, kw, dtype="float32"):
    kw = dict(kw)
    if name != "random_bits":
        kw["dtype"] = dtype
    if name in RANDOM:
        kw.update(seed=77, stream="enc.w")
    return kw


def test_names_cover_every_allocating_function():
    assert {n for n, _, _ in CASES} | {"delta_orthogonal", "dirac"} == set(wd.NAMES)
    for n in wd.NAMES:
        assert callable(getattr(wd, n)) and n + "_" in dir(wi)


@pytest.mark.parametrize("name,args,kw", CASES, ids=[c[0] for c in CASES])
def test_every_scheme_equals_the_in_memory_fill(name, args, kw):
    want = getattr(wi, name)(SHAPE, *args, **_kw(name, kw))
    chunks = (151, 100) if name == "orthogonal" else (70, 33)  # each orthogonal chunk does the whole QR
    got = getattr(wd, name)(SHAPE, *args, chunks=chunks, **_kw(name, kw))
    assert isinstance(got, da.Array) and got.dtype == want.dtype and got.shape == want.shape
    # orthogonal chunks on one thread: concurrent LAPACK calls oversubscribe BLAS's own threads
    assert got.compute(scheduler="sync" if name == "orthogonal" else "threads").tobytes() == want.tobytes()


@pytest.mark.parametrize("chunks", CHUNKINGS, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_chunkings_and_dtypes(chunks, dtype):
    want = wi.normal(SHAPE, 0.0, 0.02, dtype=dtype, seed=77, stream="enc.w")
    got = wd.normal(SHAPE, 0.0, 0.02, chunks=chunks, dtype=dtype, seed=77, stream="enc.w")
    out = got.compute(scheduler="threads")
    assert out.dtype == want.dtype  # bfloat16 chunks are ml_dtypes arrays
    assert out.tobytes() == want.tobytes()


def test_single_element_chunks_and_conv_kernels():
    want = wi.kaiming_normal((5, 3, 3, 2), dtype="float64", seed=3, stream="conv")
    got = wd.kaiming_normal((5, 3, 3, 2), chunks=1, dtype="float64", seed=3, stream="conv")
    assert got.numblocks == (5, 3, 3, 2)
    assert got.compute(scheduler="sync").tobytes() == want.tobytes()
    for name in ("delta_orthogonal", "dirac"):
        kw = {"seed": 3, "stream": "d"} if name == "delta_orthogonal" else {}
        want = getattr(wi, name)((6, 4, 3, 3), **kw)
        got = getattr(wd, name)((6, 4, 3, 3), chunks=(4, 3, 2, 2), **kw)
        assert got.compute(scheduler="threads").tobytes() == want.tobytes()


def test_offset_and_fans_pass_through():
    want = wi.xavier_uniform((64, 10), seed=1, stream=5, offset=2**32 - 300, fans=(7, 9))
    got = wd.xavier_uniform((64, 10), chunks=(9, 4), seed=1, stream=5, offset=2**32 - 300, fans=(7, 9))
    assert got.compute().tobytes() == want.tobytes()


def test_graph_one_independent_task_per_chunk_and_deterministic_keys():
    a = wd.normal((3001, 1999), chunks=(701, 333), dtype=np.float32, seed=77, stream="enc.w", std=0.02)
    graph = dict(a.__dask_graph__())
    assert len(graph) == math.prod(a.numblocks) == 5 * 7
    assert set(graph) == {(a.name, i, j) for i in range(5) for j in range(7)}
    assert a.__dask_graph__().dependencies == {a.name: set()}
    b = wd.normal((3001, 1999), chunks=(701, 333), dtype=np.float32, seed=77, stream="enc.w", std=0.02)
    c = wd.normal((3001, 1999), chunks=(701, 333), dtype=np.float32, seed=78, stream="enc.w", std=0.02)
    assert a.name == b.name != c.name
    # one chunk computed alone is its box of the full fill, without computing any other
    full = wi.normal((3001, 1999), dtype=np.float32, seed=77, stream="enc.w", std=0.02)
    assert np.array_equal(a.blocks[4, 6].compute(), full[2804:, 1998:])


def test_seed_none_is_resolved_once_when_built():
    gen = wi.Generator(123)
    a = wd.uniform((40, 30), chunks=7, generator=gen)
    first = a.compute()
    assert np.array_equal(first, a.compute())  # recomputing never draws another stream
    again = wi.Generator(123)
    assert np.array_equal(first, wi.uniform((40, 30), generator=again))
    b = wd.normal((10, 10), chunks=3)
    assert np.array_equal(b.compute(), b.compute())


def test_bad_arguments_fail_when_built():
    with pytest.raises(ValueError, match="std"):
        wd.normal((10, 10), 0.0, -1.0, chunks=3, seed=0)
    with pytest.raises(TypeError, match="dtype"):
        wd.normal((10, 10), chunks=3, seed=0, dtype="int32")
    with pytest.raises(ValueError, match="mode"):
        wd.kaiming_normal((10, 10), mode="fan_sideways", chunks=3, seed=0)
    with pytest.raises(ValueError, match="overflows"):
        wd.variance_scaling((4, 4), 1e300, dtype="float16", distribution="normal", chunks=2, seed=0)
    with pytest.raises(TypeError):
        wd.normal((10, 10), chunks=3, seed=0, bogus=1)
    with pytest.raises(ValueError, match="ORTHOGONAL_BOX_MAX"):
        wd.orthogonal((2**13, 2**11 + 1), chunks=(1024, 1024), seed=0)
    assert _box.ORTHOGONAL_BOX_MAX < 2**13 * (2**11 + 1)


@pytest.mark.parametrize("arch", sorted(MODELS))
def test_init_model_equals_in_memory(arch):
    spec = MODELS[arch]()
    want = wi.init_model(spec, seed=5, dtype="bfloat16")
    got = wd.init_model(spec, seed=5, dtype="bfloat16", chunks="8KiB")
    assert list(got) == list(want)
    computed = dask.compute(got, scheduler="threads")[0]
    for n in want:
        assert computed[n].dtype == want[n].dtype and computed[n].tobytes() == want[n].tobytes(), n


def test_init_model_zero_rows_int64_and_per_parameter_chunks():
    spec = wi.ModelSpec({
        "emb.weight": wi.Param((50, 8), "normal_", std=0.02, zero_rows=(0, 17, 49)),
        "w": wi.Param((12, 9), "orthogonal_"),
        "steps": wi.Param((3,), "zeros_", dtype="int64"),
        "b": wi.Param((9,), "uniform_", a=-0.1, b=0.1),
    })
    want = wi.init_model(spec, seed=9)
    got = wd.init_model(spec, seed=9, chunks={"emb.weight": (7, 3), "w": 5})
    assert got["emb.weight"].chunks[0][0] == 7
    for n, v in dask.compute(got)[0].items():
        assert v.dtype == want[n].dtype and v.tobytes() == want[n].tobytes(), n
    with pytest.raises(KeyError, match="nope"):
        wd.init_model(spec, seed=9, chunks={"nope": 3})
    big = wi.ModelSpec({"q": wi.Param((2**13, 2**11 + 1), "orthogonal_")})
    with pytest.raises(ValueError, match="q .orthogonal_.*ORTHOGONAL_BOX_MAX"):
        wd.init_model(big, seed=0, chunks=(1024, 1024))


def test_to_zarr_round_trip(tmp_path):
    zarr = pytest.importorskip("zarr")
    a = wd.trunc_normal((257, 130), 0.0, 0.02, -0.04, 0.04, chunks=(64, 64), seed=2, stream="z")
    a.to_zarr(str(tmp_path / "w.zarr"))
    back = zarr.open_array(str(tmp_path / "w.zarr"), mode="r")
    assert back.dtype == np.float32
    assert np.asarray(back[...]).tobytes() == wi.trunc_normal((257, 130), 0.0, 0.02, -0.04, 0.04, seed=2,
                                                             stream="z").tobytes()


def test_core_package_does_not_import_dask():
    code = "import sys, weightinit, weightinit.build, weightinit.safetensors_io; print('dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------- a LocalCluster of 2 worker processes

@pytest.fixture
def client(dask_client):
    return dask_client


def test_local_cluster_computes_the_same_bytes(client):
    pids = set(client.run(lambda: __import__("os").getpid()).values())
    assert len(pids) == 2
    arrays = [
        wd.normal(SHAPE, 0.0, 0.02, chunks=(70, 33), dtype="bfloat16", seed=77, stream="enc.w"),
        wd.kaiming_uniform(SHAPE, chunks=((100, 1, 200), (1, 198)), dtype="float64", seed=1, stream="k"),
        wd.sparse(SHAPE, 0.5, chunks=(41, 50), seed=4, stream="s"),
    ]
    wants = [wi.normal(SHAPE, 0.0, 0.02, dtype="bfloat16", seed=77, stream="enc.w"),
             wi.kaiming_uniform(SHAPE, dtype="float64", seed=1, stream="k"),
             wi.sparse(SHAPE, 0.5, seed=4, stream="s")]
    got = client.compute(arrays, sync=True)
    for g, w in zip(got, wants):
        assert g.dtype == w.dtype and g.tobytes() == w.tobytes()
    spec = MODELS["resnet-small"]()
    computed = client.compute(wd.init_model(spec, seed=11, chunks="4KiB"), sync=True)
    want = wi.init_model(spec, seed=11)
    assert all(computed[n].tobytes() == want[n].tobytes() for n in want)
