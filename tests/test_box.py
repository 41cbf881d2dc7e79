"""Boxes of a global tensor (global_shape=, start=): a box fill equals the slice of the full fill,
bit for bit, for every scheme, dtype, ISA, thread count and stream position (2**32 included)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import weightinit as wi
from weightinit import _box, _core
from conftest import AVAILABLE_ISAS, CONFIGS, config_id, np_dtype

SEED, STREAM = 1234, "enc.w"


def box_fill(kind, x, **kw):
    """The core distributions as the public in-place functions, with any keywords."""
    if kind == "bits":
        return wi.random_bits_(x, **kw)
    if kind == "uniform":
        return wi.uniform_(x, -0.75, 1.5, **kw)
    if kind == "normal":
        return wi.normal_(x, 0.25, 0.02, **kw)
    return wi.trunc_normal_(x, 0.1, 1.0, -1.5, 2.0, **kw)


def same_bits(a, b) -> bool:
    return a.shape == b.shape and np.array_equal(np.ascontiguousarray(a).view(np.uint8),
                                                 np.ascontiguousarray(b).view(np.uint8))


def slices(start, shape):
    return tuple(slice(s, s + n) for s, n in zip(start, shape))


@st.composite
def boxes(draw, min_dims=1, max_dims=4):
    """(global_shape, start, box shape): boxes of every width, 1-element and full ones included."""
    nd = draw(st.integers(min_dims, max_dims))
    cap = {1: 3000, 2: 300, 3: 40, 4: 14}[nd]
    g = tuple(draw(st.integers(1, cap)) for _ in range(nd))
    start = tuple(draw(st.integers(0, n - 1)) for n in g)
    shape = tuple(draw(st.integers(1, n - s)) for n, s in zip(g, start))
    return g, start, shape


DTYPE_KIND = [("bits", "uint32")] + [(k, d) for k in ("uniform", "normal", "trunc_normal")
                                     for d in ("float32", "float64", "float16", "bfloat16")]


@pytest.mark.parametrize("isa_name", AVAILABLE_ISAS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(box=boxes(), offset=st.one_of(st.just(0), st.integers(0, 2**40)), threads=st.sampled_from([None, 1, 2]))
def test_core_box_is_the_slice(isa_name, box, offset, threads):
    g, start, shape = box
    before = _core.isa()
    _core.set_isa(isa_name)
    try:
        for kind, dt in DTYPE_KIND:
            full = np.empty(g, np_dtype(dt))
            box_fill(kind, full, seed=SEED, stream=STREAM, offset=offset)
            local = np.empty(shape, np_dtype(dt))
            box_fill(kind, local, seed=SEED, stream=STREAM, offset=offset, threads=threads,
                     global_shape=g, start=start)
            assert same_bits(local, full[slices(start, shape)]), (kind, dt)
    finally:
        _core.set_isa(before)


@pytest.mark.parametrize("cfg", CONFIGS, ids=config_id)
def test_box_params_of_every_config(cfg):
    kind, dt, p = cfg
    g, start, shape = (37, 300), (5, 129), (20, 133)  # runs with a head, whole chunks and a tail
    pos = (p.get("a", p.get("mean", 0.0)), p.get("b", p.get("std", 1.0)))
    full, local = np.empty(g, np_dtype(dt)), np.empty(shape, np_dtype(dt))
    if kind == "bits":
        wi.random_bits_(full, seed=SEED), wi.random_bits_(local, seed=SEED, global_shape=g, start=start)
    elif kind == "uniform":
        wi.uniform_(full, *pos, seed=SEED)
        wi.uniform_(local, *pos, seed=SEED, global_shape=g, start=start)
    elif kind == "normal":
        wi.normal_(full, *pos, seed=SEED)
        wi.normal_(local, *pos, seed=SEED, global_shape=g, start=start)
    else:
        args = (p.get("mean", 0.0), p.get("std", 1.0), p.get("a", -2.0), p.get("b", 2.0))
        wi.trunc_normal_(full, *args, seed=SEED)
        wi.trunc_normal_(local, *args, seed=SEED, global_shape=g, start=start)
    assert same_bits(local, full[slices(start, shape)])


# every elementwise scheme: (function, its non-random arguments)
SCHEMES = [
    (wi.xavier_uniform_, {"gain": 1.5}), (wi.xavier_normal_, {}),
    (wi.kaiming_uniform_, {"a": 0.1}), (wi.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "relu"}),
    (wi.lecun_uniform_, {}), (wi.lecun_normal_, {}), (wi.glorot_uniform_, {}), (wi.glorot_normal_, {}),
    (wi.he_uniform_, {}), (wi.he_normal_, {}),
    (wi.variance_scaling_, {"scale": 2.0, "mode": "fan_geo_avg", "distribution": "normal"}),
    (wi.variance_scaling_, {"scale": 0.5, "mode": "fan_avg", "distribution": "uniform", "in_axis": -2,
                            "out_axis": -1}),
]


@settings(max_examples=30, deadline=None)
@given(box=boxes(min_dims=2), dt=st.sampled_from(["float32", "float64", "float16", "bfloat16"]))
def test_every_elementwise_scheme_box_is_the_slice(box, dt):
    g, start, shape = box
    for fn, kw in SCHEMES:
        full = np.empty(g, np_dtype(dt))
        fn(full, seed=SEED, stream=STREAM, **kw)
        local = np.empty(shape, np_dtype(dt))
        fn(local, seed=SEED, stream=STREAM, global_shape=g, start=start, **kw)
        assert same_bits(local, full[slices(start, shape)]), fn.__name__


def test_fans_come_from_the_global_shape():
    local = np.empty((4, 3), np.float32)
    wi.kaiming_uniform_(local, seed=0, global_shape=(4096, 1024), start=(100, 7))
    assert np.abs(local).max() <= math.sqrt(6 / 1024)  # the global fan_in, not the box's 3
    assert np.abs(local).max() > math.sqrt(6 / 1024) / 8


def test_constant_boxes_are_checked_and_filled():
    local = np.full((3, 4), 7.0, np.float32)
    wi.constant_(local, 2.5, global_shape=(10, 10), start=(7, 6))
    assert (local == 2.5).all()
    wi.zeros_(local, global_shape=(10, 10), start=(0, 0))
    assert (local == 0).all()
    wi.ones_(local, global_shape=(3, 4), start=(0, 0))
    assert (local == 1).all()
    with pytest.raises(ValueError, match="axis 1"):
        wi.ones_(local, global_shape=(10, 10), start=(0, 7))
    assert (local == 1).all()


STRIDED = [  # views of a (60, 90, 14) buffer, each a box of the (50, 110, 20) global tensor at (3, 11, 2)
    lambda a: a[::2, 5:65, 1:8],
    lambda a: a[40:10:-1, ::-1, ::2][:, :50, :6],
    lambda a: a.transpose(2, 1, 0)[:7, :, :30].transpose(2, 1, 0),
    lambda a: a[:, 3, :].T[:, :20][..., None][:, :, ::-1][:5, :, :1],
]


@pytest.mark.parametrize("kind,dt", DTYPE_KIND)
def test_strided_local_views(kind, dt):
    g, start = (50, 110, 20), (3, 11, 2)
    full = np.empty(g, np_dtype(dt))
    box_fill(kind, full, seed=SEED, stream=STREAM)
    for make in STRIDED:
        base = np.zeros((60, 90, 14), np_dtype(dt))
        view = make(base)
        box_fill(kind, view, seed=SEED, stream=STREAM, global_shape=g, start=start)
        assert same_bits(view, full[slices(start, view.shape)])
        inside = np.zeros(base.shape, bool)
        make(inside)[...] = True
        assert not base[~inside].view(np.uint8).any()  # nothing written outside the view


@pytest.mark.parametrize("kind,dt", DTYPE_KIND)
def test_boxes_across_2_32_stream_elements(kind, dt):
    # a (2**20, 2**13) global tensor: row 2**19 starts at stream element 2**32; nothing that size is
    # allocated, each row of the box is checked against the 1-D offset fill of that row
    g = (2**20, 2**13)
    for start, shape in [((2**19 - 3, 8000), (6, 192)), ((2**19 - 40, 77), (80, 1)), ((2**19 - 1, 0), (2, 2**13))]:
        local = np.empty(shape, np_dtype(dt))
        box_fill(kind, local, seed=SEED, stream=STREAM, global_shape=g, start=start)
        for i in range(shape[0]):
            row = np.empty(shape[1], np_dtype(dt))
            box_fill(kind, row, seed=SEED, stream=STREAM, offset=(start[0] + i) * g[1] + start[1])
            assert same_bits(local[i], row), (start, shape, i)
    # a run crossing 2**32 in its middle, under every ISA's point kernels: offset puts it there
    for isa_name in AVAILABLE_ISAS:
        before = _core.isa()
        _core.set_isa(isa_name)
        try:
            local = np.empty((3, 300), np_dtype(dt))
            box_fill(kind, local, seed=SEED, stream=STREAM, offset=2**32 - 1000, global_shape=(9, 500),
                     start=(1, 150))
            for i in range(3):
                row = np.empty(300, np_dtype(dt))
                box_fill(kind, row, seed=SEED, stream=STREAM, offset=2**32 - 1000 + (1 + i) * 500 + 150)
                assert same_bits(local[i], row)
        finally:
            _core.set_isa(before)


@pytest.mark.parametrize("kind,dt", [("normal", "float32"), ("uniform", "float64"), ("trunc_normal", "bfloat16"),
                                     ("bits", "uint32")])
def test_one_and_two_threads_agree(kind, dt):
    g = (70000, 300)
    for start, shape in [((10, 123), (69000, 1)), ((3, 5), (700, 290)), ((0, 17), (5000, 3))]:
        a, b = np.empty(shape, np_dtype(dt)), np.empty(shape, np_dtype(dt))
        box_fill(kind, a, seed=SEED, stream=STREAM, threads=1, global_shape=g, start=start)
        box_fill(kind, b, seed=SEED, stream=STREAM, threads=2, global_shape=g, start=start)
        assert same_bits(a, b)
    # and the column against the full fill's column (the point kernels across many tasks)
    full_rows = np.empty((2000, 300), np_dtype(dt))
    box_fill(kind, full_rows, seed=SEED, stream=STREAM, global_shape=g, start=(10, 0))
    col = np.empty((2000, 1), np_dtype(dt))
    box_fill(kind, col, seed=SEED, stream=STREAM, threads=2, global_shape=g, start=(10, 123))
    assert same_bits(col, full_rows[:, 123:124])


def test_torch_tensor_box():
    torch = pytest.importorskip("torch")
    full = wi.normal((40, 30), seed=SEED, stream=STREAM, dtype="float32")
    t = torch.empty(10, 7, dtype=torch.bfloat16)
    wi.normal_(t, seed=SEED, stream=STREAM, global_shape=(40, 30), start=(30, 23))
    expect = torch.from_numpy(full[30:, 23:].copy()).to(torch.bfloat16)
    assert torch.equal(t, expect)


# ---------------------------------------------------------------- errors: named, before any write

@pytest.mark.parametrize("kw,exc,match", [
    ({"global_shape": (10, 10)}, TypeError, "both global_shape and start"),
    ({"start": (0, 0)}, TypeError, "both global_shape and start"),
    ({"global_shape": (10,), "start": (0, 0)}, ValueError, "one entry per dimension"),
    ({"global_shape": (10, 10), "start": (0,)}, ValueError, "one entry per dimension"),
    ({"global_shape": (10, 10), "start": (8, 0)}, ValueError, "axis 0"),
    ({"global_shape": (10, 3), "start": (0, 0)}, ValueError, "axis 1"),
    ({"global_shape": (10, 10), "start": (-1, 0)}, ValueError, "start must contain non-negative"),
    ({"global_shape": (10, -4), "start": (0, 0)}, ValueError, "global_shape must contain non-negative"),
    ({"global_shape": (10, 10), "start": (0.0, 0)}, TypeError, "start must be a sequence"),
    ({"global_shape": "ab", "start": (0, 0)}, TypeError, "global_shape must be a sequence"),
    ({"global_shape": (2**40, 2**40), "start": (0, 0)}, ValueError, "2\\*\\*64"),
])
@pytest.mark.parametrize("fn", [wi.uniform_, wi.normal_, wi.trunc_normal_, wi.kaiming_normal_, wi.xavier_uniform_,
                                wi.lecun_normal_, wi.sparse_, wi.orthogonal_, wi.eye_, wi.constant_])
def test_bad_boxes_are_refused_before_writing(fn, kw, exc, match):
    x = np.full((4, 5), 3.0, np.float32)
    extra = {"sparsity": 0.5} if fn is wi.sparse_ else {"val": 1.0} if fn is wi.constant_ else {}
    rnd = {} if fn in (wi.eye_, wi.constant_) else {"seed": 0}
    with pytest.raises(exc, match=match):
        fn(x, **extra, **rnd, **kw)
    assert (x == 3.0).all()


def test_offset_past_the_global_stream_is_refused():
    x = np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError, match="offset"):
        wi.normal_(x, seed=0, offset=2**64 - 10, global_shape=(100, 100), start=(0, 0))
    assert (x == 0).all()


def test_a_refused_box_does_not_advance_the_generator():
    g = wi.Generator(5)
    x = np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError):
        wi.normal_(x, generator=g, global_shape=(3, 3), start=(2, 2))
    assert g.calls == 0
    wi.normal_(x, generator=g, global_shape=(3, 3), start=(1, 1))
    assert g.calls == 1


# ---------------------------------------------------------------- schemes that are not elementwise

@settings(max_examples=25, deadline=None)
@given(box=boxes(min_dims=2, max_dims=2), sparsity=st.sampled_from([0.0, 0.1, 0.5, 0.9]))
def test_sparse_box_is_exact(box, sparsity):
    g, start, shape = box
    full = wi.sparse(g, sparsity, std=0.5, seed=SEED, stream=STREAM)
    local = np.empty(shape, np.float32)
    wi.sparse_(local, sparsity, std=0.5, seed=SEED, stream=STREAM, global_shape=g, start=start)
    assert same_bits(local, full[slices(start, shape)])


@pytest.mark.parametrize("g,out_axis,nonzeros", [((30, 40), 0, 7), ((30, 40), -1, 5), ((12, 6, 3, 3), 0, 15),
                                                 ((3, 3, 6, 12), -1, 10), ((12, 6, 3, 3), 1, 1)])
def test_martens_sparse_box_is_exact(g, out_axis, nonzeros):
    full = wi.martens_sparse(g, nonzeros, seed=SEED, stream=STREAM, out_axis=out_axis)
    rng = np.random.default_rng(3)
    for _ in range(6):
        start = tuple(int(rng.integers(0, n)) for n in g)
        shape = tuple(int(rng.integers(1, n - s + 1)) for n, s in zip(g, start))
        local = np.empty(shape, np.float32)
        wi.martens_sparse_(local, nonzeros, seed=SEED, stream=STREAM, out_axis=out_axis, global_shape=g,
                           start=start)
        assert same_bits(local, full[slices(start, shape)])


@pytest.mark.parametrize("dt", ["float32", "bfloat16"])
def test_orthogonal_box_is_the_slice_of_the_full_matrix(dt):
    for g in [(40, 25), (25, 40), (8, 4, 3, 3)]:
        full = wi.orthogonal(g, gain=1.3, dtype=dt, seed=SEED, stream=STREAM)
        start = tuple(n // 3 for n in g)
        shape = tuple(n - s - 1 if n - s > 1 else 1 for n, s in zip(g, start))
        local = np.empty(shape, np_dtype(dt))
        wi.orthogonal_(local, gain=1.3, seed=SEED, stream=STREAM, global_shape=g, start=start)
        assert same_bits(local, full[slices(start, shape)])


def test_orthogonal_box_of_a_huge_matrix_is_refused_with_the_reason():
    x = np.full((4, 4), 2.0, np.float32)
    g = wi.Generator(1)
    with pytest.raises(ValueError, match="depends on all of it"):
        wi.orthogonal_(x, generator=g, global_shape=(65536, 4096), start=(0, 0))
    assert (x == 2.0).all() and g.calls == 0
    assert _box.ORTHOGONAL_BOX_MAX == 2**24


def test_eye_dirac_delta_orthogonal_boxes_are_exact():
    rng = np.random.default_rng(11)
    cases = [
        (lambda x, **kw: wi.eye_(x, gain=2.0, **kw), (30, 20)),
        (lambda x, **kw: wi.eye_(x, **kw), (7, 40)),
        (lambda x, **kw: wi.dirac_(x, groups=2, **kw), (8, 4, 3, 3)),
        (lambda x, **kw: wi.dirac_(x, **kw), (6, 6, 5)),
        (lambda x, **kw: wi.delta_orthogonal_(x, scale=1.5, seed=SEED, stream=STREAM, **kw), (8, 6, 3, 3)),
        (lambda x, **kw: wi.delta_orthogonal_(x, seed=SEED, in_axis=-2, out_axis=-1, **kw), (3, 3, 3, 4, 6)),
    ]
    for fn, g in cases:
        full = np.empty(g, np.float32)
        fn(full)
        hits = 0
        for _ in range(25):
            start = tuple(int(rng.integers(0, n)) for n in g)
            shape = tuple(int(rng.integers(1, n - s + 1)) for n, s in zip(g, start))
            local = np.full(shape, np.nan, np.float32)
            fn(local, global_shape=g, start=start)
            expect = full[slices(start, shape)]
            assert same_bits(local, expect)
            hits += bool(np.any(expect != 0))
        assert hits > 0  # some boxes held the non-zero entries


def test_box_of_zero_elements_is_a_noop_but_checked():
    x = np.empty((0, 3), np.float32)
    wi.normal_(x, seed=0, global_shape=(5, 5), start=(5, 2))
    with pytest.raises(ValueError, match="axis 1"):
        wi.normal_(x, seed=0, global_shape=(5, 5), start=(5, 3))


@pytest.mark.parametrize("isa_name", AVAILABLE_ISAS)
@pytest.mark.parametrize("dt", ["float32", "float64", "bfloat16"])
@pytest.mark.parametrize("bounds", [(10.0, 12.0), (-13.0, -11.6), (11.4, 11.8), (-30.0, 0.5)])
def test_truncated_normal_tails_in_boxes(isa_name, dt, bounds):
    # far tails: the quantile's tail branch in most lanes, and float32's float64 deep path in some
    before = _core.isa()
    _core.set_isa(isa_name)
    try:
        g, start, shape = (300, 64), (7, 3), (250, 1)
        full = np.empty(g, np_dtype(dt))
        wi.trunc_normal_(full, 0.0, 1.0, *bounds, seed=SEED, stream=STREAM)
        local = np.empty(shape, np_dtype(dt))
        wi.trunc_normal_(local, 0.0, 1.0, *bounds, seed=SEED, stream=STREAM, global_shape=g, start=start)
        assert same_bits(local, full[slices(start, shape)])
    finally:
        _core.set_isa(before)


@pytest.mark.parametrize("kind,dt", [("normal", "float32"), ("uniform", "float64"), ("bits", "uint32")])
def test_large_boxes_with_streaming_stores(kind, dt):
    # past 8 MiB the chunk kernels stream their stores: long runs, rows at every alignment
    g, start, shape = (3000, 1537), (5, 3), (2990, 1531)
    full = np.empty(g, np_dtype(dt))
    box_fill(kind, full, seed=SEED, stream=STREAM)
    local = np.empty(shape, np_dtype(dt))
    box_fill(kind, local, seed=SEED, stream=STREAM, global_shape=g, start=start)
    assert same_bits(local, full[slices(start, shape)])


@pytest.mark.parametrize("kind,dt", DTYPE_KIND)
def test_strided_views_with_long_runs(kind, dt):
    # runs longer than two chunks through the chunk kernels into strided memory (reversed, every 2nd)
    g, start = (50, 2000), (4, 333)
    full = np.empty(g, np_dtype(dt))
    box_fill(kind, full, seed=SEED, stream=STREAM)
    for make in (lambda a: a[::3, ::-1][:, :700], lambda a: a[2:20, 1::2], lambda a: a.T[::-1].T[:, :1500]):
        base = np.zeros((40, 1600), np_dtype(dt))
        view = make(base)
        box_fill(kind, view, seed=SEED, stream=STREAM, global_shape=g, start=start)
        assert same_bits(view, full[slices(start, view.shape)])
        inside = np.zeros(base.shape, bool)
        make(inside)[...] = True
        assert not base[~inside].view(np.uint8).any()


def _column_cases(dt):
    """(global shape, start, rows): widths whose row step keeps a column in one word of its block
    (multiples of 4 elements, of 2 for float64) and widths that move it, odd starts and row counts
    that leave a partial batch of 32."""
    return [((300, 4096), (5, 1234), 295), ((301, 64), (0, 63), 301), ((300, 6), (7, 1), 77),
            ((200, 7), (3, 4), 197), ((150, 5), (1, 0), 33), ((90, 1), (2, 0), 88), ((40, 516), (39, 515), 1)]


@pytest.mark.parametrize("isa_name", AVAILABLE_ISAS)
@pytest.mark.parametrize("kind,dt", DTYPE_KIND)
def test_column_boxes_are_the_full_fills_column(isa_name, kind, dt):
    # the column kernels: contiguous (n, 1) boxes written in place, strided and reversed views scattered
    before = _core.isa()
    _core.set_isa(isa_name)
    try:
        for g, (r0, c0), rows in _column_cases(dt):
            full = np.empty(g, np_dtype(dt))
            box_fill(kind, full, seed=SEED, stream=STREAM, offset=11)
            want = full[r0:r0 + rows, c0:c0 + 1]
            local = np.empty((rows, 1), np_dtype(dt))
            box_fill(kind, local, seed=SEED, stream=STREAM, offset=11, global_shape=g, start=(r0, c0))
            assert same_bits(local, want), (g, r0, c0)
            base = np.zeros((rows, 3), np_dtype(dt))
            for view in (base[:, 1:2], base[::-1, 2:3]):
                box_fill(kind, view, seed=SEED, stream=STREAM, offset=11, global_shape=g, start=(r0, c0))
                assert same_bits(view, want), (g, r0, c0)
            assert not np.ascontiguousarray(base[:, 0]).view(np.uint8).any()  # nothing beside the views
    finally:
        _core.set_isa(before)


@pytest.mark.parametrize("isa_name", AVAILABLE_ISAS)
@pytest.mark.parametrize("kind,dt", DTYPE_KIND)
def test_column_boxes_across_2_32_blocks_and_in_3d(isa_name, kind, dt):
    # a column whose Philox block crosses 2**32 mid-batch (the high counter word changes between
    # lanes), and 1-wide boxes of a 3-D tensor (one column per leading index)
    before = _core.isa()
    _core.set_isa(isa_name)
    per_block = 2 if dt == "float64" else 4
    try:
        for width in (4, 7, 516):
            offset = 2**32 * per_block - 20 * width + 1
            full = np.empty((45, width), np_dtype(dt))
            box_fill(kind, full, seed=SEED, stream=STREAM, offset=offset)
            local = np.empty((43, 1), np_dtype(dt))
            box_fill(kind, local, seed=SEED, stream=STREAM, offset=offset, global_shape=(45, width),
                     start=(1, width - 1))
            assert same_bits(local, full[1:44, width - 1:width]), width
        g = (5, 37, 12)
        full = np.empty(g, np_dtype(dt))
        box_fill(kind, full, seed=SEED, stream=STREAM)
        for start, shape in [((1, 3, 11), (4, 34, 1)), ((0, 0, 0), (5, 37, 1)), ((2, 36, 5), (3, 1, 1))]:
            local = np.empty(shape, np_dtype(dt))
            box_fill(kind, local, seed=SEED, stream=STREAM, threads=2, global_shape=g, start=start)
            assert same_bits(local, full[slices(start, shape)]), start
    finally:
        _core.set_isa(before)
