"""Shared fixtures of the test suite.

* ``isa``: parametrizes a test over every kernel ISA this machine runs ("portable", and "avx2"
  when the CPU and the build have it) and restores the ISA that was active before.
* ``available_isas``: that list, for tests that compare the ISA paths with each other.
* ``golden``: tests/data/golden_v1.json, parsed.
* ``dask_client``: a 2-process dask.distributed LocalCluster shared by the whole run.

Plain helpers (``from conftest import fill, CONFIGS``): ``fill(kind, x, ...)`` calls the public
in-place fill of a distribution kind with keyword randomness arguments; ``CONFIGS`` lists the
(kind, dtype, params) combinations that cover every distribution and dtype.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"
if str(TESTS) not in sys.path:  # make `import reference` work whatever the import mode
    sys.path.insert(0, str(TESTS))


FLOAT_DTYPES = ("float32", "float64", "float16", "bfloat16")
BFLOAT16 = np.dtype(ml_dtypes.bfloat16)

PARAMS = {
    "bits": [{}],
    "uniform": [{}, {"a": -0.75, "b": 1.5}],
    "normal": [{}, {"mean": 0.25, "std": 0.02}],
    "trunc_normal": [{}, {"mean": 0.1, "std": 0.002, "a": -2.0, "b": 2.0},
                     {"mean": 1.0, "std": 3.0, "a": 0.5, "b": 2.0}],
}

#: (kind, dtype, params): every distribution x dtype, with default and non-default parameters
CONFIGS = [("bits", "uint32", {})] + [
    (kind, dt, p) for kind in ("uniform", "normal", "trunc_normal") for dt in FLOAT_DTYPES
    for p in PARAMS[kind]
]


def config_id(cfg) -> str:
    kind, dt, p = cfg
    return "-".join([kind, dt] + [f"{k}{v}" for k, v in p.items()])


def np_dtype(name) -> np.dtype:
    return BFLOAT16 if name == "bfloat16" else np.dtype(name)


def fill(kind, x, *, seed=None, stream=None, offset=0, threads=None, generator=None, **params):
    """Call the public in-place fill for ``kind`` (bits, uniform, normal, trunc_normal)."""
    import weightinit as wi

    kw = dict(seed=seed, stream=stream, offset=offset, threads=threads, generator=generator)
    if kind == "bits":
        return wi.random_bits_(x, **kw)
    if kind == "uniform":
        return wi.uniform_(x, params.get("a", 0.0), params.get("b", 1.0), **kw)
    if kind == "normal":
        return wi.normal_(x, params.get("mean", 0.0), params.get("std", 1.0), **kw)
    if kind == "trunc_normal":
        return wi.trunc_normal_(x, params.get("mean", 0.0), params.get("std", 1.0),
                                params.get("a", -2.0), params.get("b", 2.0), **kw)
    raise ValueError(kind)


def _available_isas() -> list[str]:
    from weightinit import _core

    before = _core.isa()
    isas = ["portable"]
    try:
        _core.set_isa("avx2")
        if _core.isa() == "avx2":
            isas.append("avx2")
    except (ValueError, RuntimeError):
        pass
    finally:
        _core.set_isa(before)
    return isas


AVAILABLE_ISAS = _available_isas()


@pytest.fixture(params=AVAILABLE_ISAS)
def isa(request):
    """Run the test under one kernel ISA; restore the previous one afterwards."""
    from weightinit import _core

    before = _core.isa()
    _core.set_isa(request.param)
    assert _core.isa() == request.param
    try:
        yield request.param
    finally:
        _core.set_isa(before)


@pytest.fixture
def available_isas():
    return list(AVAILABLE_ISAS)


@pytest.fixture(scope="session")
def golden():
    with open(DATA / "golden_v1.json", encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="session")
def dask_client():
    """One dask.distributed LocalCluster of 2 worker processes (1 thread each, loopback, its HTTP
    server on a free port: None still binds 8787, and a parallel run holding it failed the start)
    for the whole run: its startup is the slow part. A lost worker fails its task at
    once (allowed-failures 0), as the killed-worker test of the distributed checkpoint needs."""
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                           dashboard_address="127.0.0.1:0", host="127.0.0.1")
        # not the default scheduler: a later plain .compute() (a README block's to_zarr("c_fc.zarr"))
        # would run in the workers, whose working directory is the repository
        client = distributed.Client(cluster, set_as_default=False)
    yield client
    client.close()
    cluster.close()
