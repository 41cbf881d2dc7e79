"""Every initialization scheme, driven by one table.

Each row of SCHEMES names a scheme (in-place function and allocating twin), the arguments it is
tested with, the dimensions it accepts, its dtypes, and the exact target distribution of its
values, computed here from the documented formulas (torch's for torch-named schemes, JAX's for
JAX/Keras-named ones). Generic tests run every row: a KS test at n >= 10**6 against that target,
bounds, reproducibility from (seed, stream), thread invariance, twins, views, zero-size arrays,
torch tensors and errors with the array untouched. Scheme-specific properties (orthogonality,
sparsity patterns, identities) and the bit-exact parameters against torch and JAX follow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import ml_dtypes
import numpy as np
import pytest
from scipy import stats

import weightinit._random as _random
from weightinit import schemes as S
from weightinit._random import Generator, derive_stream, stream_id

BF16 = np.dtype(ml_dtypes.bfloat16)
ALL_DTYPES = ("float32", "float64", "float16", "bfloat16")
P_MIN = 1e-4  # KS p-value floor; seeds are fixed, so a pass is a pass on every run
TRUNC_STD_2 = 0.87962566103423978


def np_dtype(name):
    return BF16 if name == "bfloat16" else np.dtype(name)


# ------------------------------------------------------------------- documented formulas

def torch_fans(shape):
    rf = math.prod(shape[2:])
    return shape[1] * rf, shape[0] * rf


def torch_xavier_std(shape, gain=1.0):
    fan_in, fan_out = torch_fans(shape)
    return gain * math.sqrt(2.0 / float(fan_in + fan_out))


def torch_kaiming_std(shape, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    fan_in, fan_out = torch_fans(shape)
    fan = fan_in if mode == "fan_in" else fan_out
    gains = {"relu": math.sqrt(2.0), "linear": 1.0, "tanh": 5.0 / 3, "selu": 0.75,
             "sigmoid": 1.0}
    gain = math.sqrt(2.0 / (1 + a**2)) if nonlinearity == "leaky_relu" else gains[nonlinearity]
    return gain / math.sqrt(fan)


def jax_param(shape, scale, mode, distribution, dtype, in_axis=1, out_axis=0):
    """jax.nn.initializers.variance_scaling's std / bound, written as JAX computes it."""
    in_size, out_size = shape[in_axis], shape[out_axis]
    rf = math.prod(shape) / in_size / out_size
    fan_in, fan_out = in_size * rf, out_size * rf
    den = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2,
           "fan_geo_avg": (fan_in * fan_out) ** 0.5}[mode]
    variance = np.array(scale / den, dtype=dtype)
    if distribution == "truncated_normal":
        return float(np.sqrt(variance) / np.array(TRUNC_STD_2, dtype=dtype))
    if distribution == "normal":
        return float(np.sqrt(variance))
    return float(np.sqrt(3 * variance))


# ------------------------------------------------------------------- the table

@dataclass
class Scheme:
    name: str
    inplace: Callable
    twin: Callable
    kwargs: dict
    dims: tuple            # accepted numbers of dimensions (a test shape for each is SHAPES[d])
    target: Callable       # (shape, dtype) -> ("uniform", b) | ("normal", s) | ("trunc", s) | ...
    ks_shape: tuple        # >= 10**6 elements
    dtypes: tuple = ALL_DTYPES
    random: bool = True
    offset: bool = True    # accepts offset= (one draw from the core)
    extra: dict = field(default_factory=dict)


def U(b):
    return ("uniform", b)


def N(s):
    return ("normal", s)


def T(s):
    return ("trunc", s)


SCHEMES = [
    Scheme("xavier_uniform", S.xavier_uniform_, S.xavier_uniform, {"gain": 1.5}, (2, 3, 4, 5),
           lambda sh, dt: U(math.sqrt(3.0) * torch_xavier_std(sh, 1.5)), (1000, 250, 2, 2)),
    Scheme("xavier_normal", S.xavier_normal_, S.xavier_normal, {}, (2, 3, 4, 5),
           lambda sh, dt: N(torch_xavier_std(sh)), (500, 2000)),
    Scheme("kaiming_uniform", S.kaiming_uniform_, S.kaiming_uniform,
           {"a": math.sqrt(5)}, (2, 3, 4, 5),
           lambda sh, dt: U(math.sqrt(3.0) * torch_kaiming_std(sh, math.sqrt(5))),
           (400, 100, 5, 5)),
    Scheme("kaiming_normal", S.kaiming_normal_, S.kaiming_normal,
           {"mode": "fan_out", "nonlinearity": "relu"}, (2, 3, 4, 5),
           lambda sh, dt: N(torch_kaiming_std(sh, 0, "fan_out", "relu")), (1000, 1000)),
    Scheme("variance_scaling", S.variance_scaling_, S.variance_scaling,
           {"scale": 0.5, "mode": "fan_geo_avg", "distribution": "normal"}, (2, 3, 4, 5),
           lambda sh, dt: N(jax_param(sh, 0.5, "fan_geo_avg", "normal", dt)), (250, 1000, 4)),
    Scheme("variance_scaling_trunc", S.variance_scaling_, S.variance_scaling,
           {"scale": 3.0, "mode": "fan_out"}, (2, 3, 4, 5),
           lambda sh, dt: T(jax_param(sh, 3.0, "fan_out", "truncated_normal", dt)), (1000, 1000)),
    Scheme("glorot_uniform", S.glorot_uniform_, S.glorot_uniform, {}, (2, 3, 4, 5),
           lambda sh, dt: U(jax_param(sh, 1.0, "fan_avg", "uniform", dt)), (1000, 1000)),
    Scheme("glorot_normal", S.glorot_normal_, S.glorot_normal, {}, (2, 3, 4, 5),
           lambda sh, dt: T(jax_param(sh, 1.0, "fan_avg", "truncated_normal", dt)), (1000, 1000)),
    Scheme("he_uniform", S.he_uniform_, S.he_uniform, {}, (2, 3, 4, 5),
           lambda sh, dt: U(jax_param(sh, 2.0, "fan_in", "uniform", dt)), (100, 400, 5, 5)),
    Scheme("he_normal", S.he_normal_, S.he_normal, {}, (2, 3, 4, 5),
           lambda sh, dt: T(jax_param(sh, 2.0, "fan_in", "truncated_normal", dt)), (100, 400, 25)),
    Scheme("lecun_uniform", S.lecun_uniform_, S.lecun_uniform, {}, (2, 3, 4, 5),
           lambda sh, dt: U(jax_param(sh, 1.0, "fan_in", "uniform", dt)), (1000, 1000)),
    Scheme("lecun_normal", S.lecun_normal_, S.lecun_normal, {}, (2, 3, 4, 5),
           lambda sh, dt: T(jax_param(sh, 1.0, "fan_in", "truncated_normal", dt)), (1000, 1000)),
    Scheme("orthogonal", S.orthogonal_, S.orthogonal, {"gain": 1.5}, (2, 3, 4, 5),
           lambda sh, dt: ("haar", 1.5), (1000, 1000), offset=False),
    Scheme("delta_orthogonal", S.delta_orthogonal_, S.delta_orthogonal, {"scale": 0.5}, (3, 4, 5),
           lambda sh, dt: ("delta", 0.5), (1000, 1000, 3), offset=False),
    Scheme("sparse", S.sparse_, S.sparse, {"sparsity": 0.3, "std": 0.5}, (2,),
           lambda sh, dt: ("sparse", 0.5), (1000, 1500), offset=False),
    Scheme("martens_sparse", S.martens_sparse_, S.martens_sparse, {"nonzeros": 7, "std": 2.0},
           (2, 3, 4, 5), lambda sh, dt: ("martens", 2.0), (2000, 1000), offset=False,
           extra={"ks_kwargs": {"nonzeros": 500}}),
    Scheme("eye", S.eye_, S.eye, {"gain": 3.0}, (2,), lambda sh, dt: ("fixed",), (10, 7),
           random=False, offset=False),
    Scheme("dirac", S.dirac_, S.dirac, {"groups": 2}, (3, 4, 5), lambda sh, dt: ("fixed",),
           (6, 4, 3), random=False, offset=False),
]
RANDOM = [s for s in SCHEMES if s.random]
IDS = [s.name for s in SCHEMES]
RANDOM_IDS = [s.name for s in RANDOM]

#: a test shape for each number of dimensions (>= 2**17 elements when threads matter)
SHAPES = {2: (96, 80), 3: (24, 16, 5), 4: (12, 8, 3, 3), 5: (8, 6, 3, 2, 2)}
THREAD_SHAPES = {2: (512, 300), 3: (128, 128, 9), 4: (64, 64, 6, 6), 5: (32, 32, 8, 4, 4)}


def rnd(**kw):
    base = dict(seed=20240611, stream="test")
    base.update(kw)
    return base


def fill(row, shape, dtype="float32", **kw):
    kwargs = dict(row.kwargs)
    kwargs.update(kw)
    x = np.empty(shape, dtype=np_dtype(dtype))
    out = row.inplace(x, **kwargs)
    assert out is x
    return x


def ks(x, dist, *args):
    p = stats.kstest(np.asarray(x, dtype=np.float64).ravel(), dist, args=args).pvalue
    assert p > P_MIN, f"KS p-value {p:.3g} against {dist}{args}"


# ------------------------------------------------------------------- distributions

@pytest.mark.parametrize("row", RANDOM, ids=RANDOM_IDS)
def test_ks_against_the_exact_target(row):
    shape = row.ks_shape
    assert math.prod(shape) >= 10**6
    kw = rnd(**row.extra.get("ks_kwargs", {}))
    x = fill(row, shape, **kw)
    kind, *p = row.target(shape, np.dtype("float32"))
    if kind == "uniform":
        b = np.float32(p[0])
        assert np.abs(x).max() <= b, "uniform value outside the bound"
        ks(x, "uniform", -p[0], 2 * p[0])
    elif kind == "normal":
        ks(x, "norm", 0.0, p[0])
    elif kind == "trunc":
        s = p[0]
        assert np.abs(x).max() <= np.float32(2 * s)
        ks(x, "truncnorm", -2.0, 2.0, 0.0, s)
        # JAX's rescaling makes the std of the samples sqrt(variance)
        assert abs(x.std() / (s * TRUNC_STD_2) - 1) < 5e-3
    elif kind == "haar":
        # each column of a Haar orthogonal n x n matrix is uniform on the sphere:
        # an entry q has q^2 ~ Beta(1/2, (n - 1)/2)
        n = shape[0]
        ks((x / p[0]) ** 2, "beta", 0.5, (n - 1) / 2)
    elif kind == "delta":
        out, inn, k = shape
        centre = x[:, :, (k - 1) // 2]
        assert not np.any(np.delete(x, (k - 1) // 2, axis=2))
        ks((centre / p[0]) ** 2, "beta", 0.5, (out - 1) / 2)
    elif kind == "sparse":
        nz = x[x != 0]
        assert nz.size >= 10**6
        ks(nz, "norm", 0.0, p[0])
    elif kind == "martens":
        nz = x[x != 0]
        assert nz.size >= 10**6 - 100
        ks(nz, "norm", 0.0, p[0])
    else:  # pragma: no cover
        raise AssertionError(kind)


@pytest.mark.parametrize("row", [r for r in RANDOM if r.target((2, 2), np.float32)[0] == "uniform"],
                         ids=lambda r: r.name)
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_uniform_never_outside_the_bound(row, dtype):
    shape = THREAD_SHAPES[2]
    dt = np_dtype(dtype)
    x = fill(row, shape, dtype, **rnd())
    b = row.target(shape, dt)[1]
    # the bound as the array's dtype holds it (the core rounds it to float32, then to 16 bits)
    bound = np.array(np.float32(b), dtype=dt).astype(np.float64)
    assert np.abs(x.astype(np.float64)).max() <= bound


JAX_PARAM_IN_DTYPE = ("variance_scaling", "variance_scaling_trunc", "glorot_uniform",
                      "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal")


@pytest.mark.parametrize("row", RANDOM, ids=RANDOM_IDS)
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_every_dtype(row, dtype):
    shape = SHAPES[row.dims[0]]
    dt = np_dtype(dtype)
    x = fill(row, shape, dtype, **rnd())
    assert x.dtype == dt
    v = x.astype(np.float64)
    assert np.isfinite(v).all() and v.std() > 0
    if row.name in ("orthogonal", "delta_orthogonal"):
        # one float64 matrix, rounded to each dtype
        assert np.array_equal(x, fill(row, shape, "float64", **rnd()).astype(dt))
    elif dt.itemsize == 2:
        # 16-bit values are the float32 values rounded (stream format v1)
        ref = fill(row, shape, "float32", **rnd())
        if row.name in JAX_PARAM_IN_DTYPE:  # JAX computes the parameter in the dtype itself
            rtol = 2e-3 if dtype == "float16" else 1.6e-2
            np.testing.assert_allclose(v, ref, rtol=rtol, atol=rtol * np.abs(ref).max() / 64)
        else:
            assert np.array_equal(x, ref.astype(dt))


# ------------------------------------------------------------------- reproducibility

@pytest.mark.parametrize("row", RANDOM, ids=RANDOM_IDS)
def test_seeded_reproducibility(row):
    shape = SHAPES[row.dims[-1]]
    a = fill(row, shape, **rnd())
    b = fill(row, shape, **rnd())
    assert a.tobytes() == b.tobytes()
    assert fill(row, shape, **rnd(seed=20240612)).tobytes() != a.tobytes()
    assert fill(row, shape, **rnd(stream="other")).tobytes() != a.tobytes()
    # a str stream is its stream id
    assert fill(row, shape, **rnd(stream=stream_id("test"))).tobytes() == a.tobytes()
    # the twin gives what the in-place function writes
    tw = row.twin(shape, **row.kwargs, **rnd())
    assert tw.dtype == np.float32 and tw.flags.c_contiguous
    assert tw.tobytes() == a.tobytes()
    tw64 = row.twin(shape, **row.kwargs, dtype="float64", **rnd())
    assert tw64.tobytes() == fill(row, shape, "float64", **rnd()).tobytes()


@pytest.mark.parametrize("row", RANDOM, ids=RANDOM_IDS)
def test_generator(row):
    shape = SHAPES[row.dims[0]]
    g = Generator(77)
    a, b = fill(row, shape, generator=g), fill(row, shape, generator=g)
    assert g.calls == 2
    assert a.tobytes() != b.tobytes()
    g2 = Generator(77)
    assert fill(row, shape, generator=g2).tobytes() == a.tobytes()
    assert fill(row, shape, generator=g2).tobytes() == b.tobytes()
    # call k of a generator is stream "weightinit.Generator/k" under its seed
    assert fill(row, shape, seed=77, stream="weightinit.Generator/1").tobytes() == b.tobytes()
    # an explicit stream does not advance the generator
    g3 = Generator(77)
    fill(row, shape, generator=g3, stream="w")
    assert g3.calls == 0


@pytest.mark.parametrize("row", RANDOM, ids=RANDOM_IDS)
def test_thread_invariance(row):
    shape = THREAD_SHAPES[row.dims[-1]]
    assert math.prod(shape) >= 2**17
    one = fill(row, shape, **rnd(threads=1))
    two = fill(row, shape, **rnd(threads=2))
    default = fill(row, shape, **rnd())
    assert one.tobytes() == two.tobytes() == default.tobytes()


@pytest.mark.parametrize("row", [r for r in RANDOM if r.offset], ids=lambda r: r.name)
def test_offset_fills_a_shard_with_the_full_tensor_fans(row):
    full_shape = (8, 60, 3)
    full = fill(row, full_shape, **rnd())
    rf = 3
    fans = (60 * rf, 8 * rf)
    shard = fill(row, (3, 60, 3), **rnd(offset=2 * 60 * 3), fans=fans)
    assert shard.tobytes() == full[2:5].tobytes()


@pytest.mark.parametrize("row", SCHEMES, ids=IDS)
def test_non_contiguous_views_in_logical_order(row):
    shape = SHAPES[row.dims[-1]]
    kw = rnd() if row.random else {}
    ref = fill(row, shape, **kw)
    base = np.full(shape[::-1], 7.0, dtype=np.float32)
    view = base.T  # logical shape `shape`, Fortran-ordered memory
    assert row.inplace(view, **row.kwargs, **kw) is view
    assert np.array_equal(view, ref)
    padded = np.full((shape[0] * 2,) + shape[1:], 7.0, dtype=np.float32)
    row.inplace(padded[::2], **row.kwargs, **kw)
    assert np.array_equal(padded[::2], ref)
    assert (padded[1::2] == 7.0).all()


@pytest.mark.parametrize("row", SCHEMES, ids=IDS)
def test_zero_size_is_a_no_op(row):
    shape = SHAPES[row.dims[0]][:-1] + (0,)
    x = np.empty(shape, dtype=np.float32)
    kw = rnd() if row.random else {}
    assert row.inplace(x, **row.kwargs, **kw) is x
    assert row.twin(shape, **row.kwargs, **kw).shape == shape


# ------------------------------------------------------------------- errors

def sentinel(shape, dtype=np.float32):
    return np.full(shape, 7.0, dtype=dtype)


def assert_untouched(x):
    assert (np.asarray(x, dtype=np.float64) == 7.0).all()


@pytest.mark.parametrize("row", SCHEMES, ids=IDS)
def test_read_only_and_non_float_arrays(row):
    shape = SHAPES[row.dims[0]]
    kw = rnd() if row.random else {}
    x = sentinel(shape)
    x.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        row.inplace(x, **row.kwargs, **kw)
    assert_untouched(x)
    for bad in (np.zeros(shape, dtype=np.int32), np.zeros(shape, dtype=np.complex64)):
        with pytest.raises(TypeError, match="dtype"):
            row.inplace(bad, **row.kwargs, **kw)
        assert not bad.any()
    with pytest.raises(TypeError, match="tensor must be a numpy.ndarray"):
        row.inplace(np.zeros(shape).tolist(), **row.kwargs, **kw)
    with pytest.raises(TypeError, match="dtype"):
        row.twin(shape, **row.kwargs, dtype="int32", **kw)


@pytest.mark.parametrize("row", SCHEMES, ids=IDS)
def test_wrong_number_of_dimensions(row):
    kw = rnd() if row.random else {}
    any_from_2 = row.dims == (2, 3, 4, 5)  # fan-based, orthogonal, martens: any n >= 2
    for nd in range(7):
        if nd in row.dims or (any_from_2 and nd >= 2):
            continue
        shape = (3,) * nd
        x = sentinel(shape)
        with pytest.raises(ValueError, match="tensor must have"):
            row.inplace(x, **row.kwargs, **kw)
        assert_untouched(x)
        with pytest.raises(ValueError, match="shape must have"):
            row.twin(shape, **row.kwargs, **kw)


@pytest.mark.parametrize("row", RANDOM, ids=RANDOM_IDS)
@pytest.mark.parametrize(
    "kw, exc, match",
    [
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": 2**64}, ValueError, "seed"),
        ({"seed": "1"}, TypeError, "seed"),
        ({"seed": 1.0}, TypeError, "seed"),
        ({"seed": 1, "generator": Generator(1)}, TypeError, "seed or generator"),
        ({"generator": 5}, TypeError, "generator"),
        ({"seed": 1, "stream": 1.5}, TypeError, "stream"),
        ({"seed": 1, "stream": -1}, ValueError, "stream"),
        ({"seed": 1, "threads": 0}, ValueError, "threads"),
        ({"seed": 1, "threads": 1.0}, TypeError, "threads"),
    ],
    ids=lambda v: repr(v) if not isinstance(v, dict) else "-".join(sorted(v)),
)
def test_bad_randomness_keywords(row, kw, exc, match):
    shape = SHAPES[row.dims[0]]
    x = sentinel(shape)
    with pytest.raises(exc, match=match):
        row.inplace(x, **row.kwargs, **kw)
    assert_untouched(x)


@pytest.mark.parametrize("row", RANDOM, ids=RANDOM_IDS)
def test_offset_keyword(row):
    shape = SHAPES[row.dims[0]]
    x = sentinel(shape)
    if row.offset:
        with pytest.raises(ValueError, match="offset"):
            row.inplace(x, **row.kwargs, **rnd(offset=-1))
        with pytest.raises(ValueError, match="offset"):
            row.inplace(x, **row.kwargs, **rnd(offset=2**64 - 10))
    else:  # one draw for the whole matrix: no offset
        with pytest.raises(TypeError, match="offset"):
            row.inplace(x, **row.kwargs, **rnd(offset=0))
    assert_untouched(x)


@pytest.mark.parametrize("row", RANDOM, ids=RANDOM_IDS)
def test_errors_do_not_advance_a_generator(row):
    g = Generator(3)
    x = sentinel(SHAPES[row.dims[0]])
    with pytest.raises(ValueError):
        row.inplace(x, **row.kwargs, generator=g, threads=0)
    assert g.calls == 0
    assert_untouched(x)


BAD_ARGS = [
    (S.xavier_uniform_, {"gain": -1.0}, ValueError, "gain must be >= 0"),
    (S.xavier_uniform_, {"gain": float("nan")}, ValueError, "gain must be finite"),
    (S.xavier_normal_, {"gain": "2"}, TypeError, "gain must be a real number"),
    (S.xavier_normal_, {"gain": True}, TypeError, "gain"),
    (S.kaiming_uniform_, {"mode": "fan_avg"}, ValueError, "mode='fan_avg' is not supported; accepted: fan_in, fan_out"),
    (S.kaiming_uniform_, {"mode": 1}, TypeError, "mode must be a str"),
    (S.kaiming_normal_, {"nonlinearity": "swish"}, ValueError, "nonlinearity 'swish' is not supported; known: linear"),
    (S.kaiming_normal_, {"nonlinearity": None}, TypeError, "nonlinearity must be a str"),
    (S.kaiming_normal_, {"a": "x"}, TypeError, "a must be a real number"),
    (S.kaiming_normal_, {"a": float("inf")}, ValueError, "a must be finite"),
    (S.variance_scaling_, {"scale": 0.0}, ValueError, "scale must be > 0"),
    (S.variance_scaling_, {"scale": -1}, ValueError, "scale must be > 0"),
    (S.variance_scaling_, {"mode": "fan_sum"}, ValueError,
     "mode='fan_sum' is not supported; accepted: fan_in, fan_out, fan_avg, fan_geo_avg"),
    (S.variance_scaling_, {"distribution": "gaussian"}, ValueError,
     "distribution='gaussian' is not supported; accepted: truncated_normal, normal, uniform"),
    (S.variance_scaling_, {"distribution": None}, TypeError, "distribution must be a str"),
    (S.variance_scaling_, {"in_axis": 4}, ValueError, "in_axis=4 is out of range"),
    (S.variance_scaling_, {"in_axis": 0}, ValueError, "in_axis and out_axis share axis 0"),
    (S.variance_scaling_, {"batch_axis": (1, 1)}, ValueError, "batch_axis=.* repeats axis 1"),
    (S.glorot_uniform_, {"out_axis": 1.0}, TypeError, "out_axis must be an int"),
    (S.he_normal_, {"fans": (0, 3)}, ValueError, r"fans\[0\] must be >= 1"),
    (S.lecun_normal_, {"fans": "ab"}, TypeError, "fans must be a pair"),
    (S.lecun_uniform_, {"fans": (3, 2.5)}, TypeError, r"fans\[1\] must be an int"),
    (S.orthogonal_, {"gain": float("inf")}, ValueError, "gain must be finite"),
    (S.orthogonal_, {"gain": None}, TypeError, "gain must be a real number"),
    (S.delta_orthogonal_, {"scale": "1"}, TypeError, "scale must be a real number"),
    (S.delta_orthogonal_, {"in_axis": 0}, ValueError, "in_axis and out_axis must differ"),
    (S.delta_orthogonal_, {"in_axis": 7}, ValueError, "in_axis=7 is out of range"),
    (S.delta_orthogonal_, {"out_axis": (0,)}, TypeError, "out_axis must be an int"),
    (S.sparse_, {"sparsity": 1.0}, ValueError, "sparsity must be < 1"),
    (S.sparse_, {"sparsity": -0.1}, ValueError, "sparsity must be >= 0"),
    (S.sparse_, {"sparsity": "0.1"}, TypeError, "sparsity must be a real number"),
    (S.sparse_, {"sparsity": 0.1, "std": -1.0}, ValueError, "std must be >= 0"),
    (S.martens_sparse_, {"nonzeros": 0}, ValueError, "nonzeros must be >= 1"),
    (S.martens_sparse_, {"nonzeros": 2.0}, TypeError, "nonzeros must be an int"),
    (S.martens_sparse_, {"nonzeros": 4}, ValueError, "nonzeros=4 exceeds the 3 incoming weights"),
    (S.martens_sparse_, {"std": float("nan")}, ValueError, "std must be finite"),
    (S.martens_sparse_, {"out_axis": 2}, ValueError, "out_axis=2 is out of range"),
    (S.eye_, {"gain": "3"}, TypeError, "gain must be a real number"),
    (S.dirac_, {"groups": 0}, ValueError, "groups must be >= 1"),
    (S.dirac_, {"groups": 2.0}, TypeError, "groups must be an int"),
    (S.dirac_, {"groups": 4}, ValueError, r"groups=4 must divide the size of dim 0 of tensor \(6\)"),
]


@pytest.mark.parametrize("fn, kw, exc, match", BAD_ARGS,
                         ids=[f"{f.__name__}-{'-'.join(k)}-{exc.__name__}" for f, k, exc, _ in BAD_ARGS])
def test_bad_scheme_arguments_leave_the_array_untouched(fn, kw, exc, match):
    shapes = {S.sparse_: (6, 3), S.martens_sparse_: (5, 3), S.eye_: (6, 3), S.dirac_: (6, 3, 3),
              S.delta_orthogonal_: (6, 3, 3)}
    x = sentinel(shapes.get(fn, (6, 3)))
    g = Generator(1)
    with pytest.raises(exc, match=match):
        fn(x, **kw) if fn in (S.eye_, S.dirac_) else fn(x, **kw, generator=g)
    assert_untouched(x)
    assert g.calls == 0


def test_delta_orthogonal_needs_in_le_out():
    x = sentinel((3, 5, 3))
    with pytest.raises(ValueError, match="in channels <= out channels"):
        S.delta_orthogonal_(x, seed=1)
    assert_untouched(x)


@pytest.mark.parametrize(
    "shape, exc, match",
    [((5, -1), ValueError, "shape must contain non-negative"), ("ab", TypeError, "shape"),
     (np.zeros((3, 3)), TypeError, "in-place function"), ((2.0, 3), TypeError, "shape")],
)
def test_bad_twin_shapes(shape, exc, match):
    with pytest.raises(exc, match=match):
        S.xavier_uniform(shape, seed=1)


def test_twins_take_dtype_positionally_where_jax_does():
    a = S.glorot_normal((30, 20), "float64", seed=1)
    assert a.dtype == np.float64
    assert np.array_equal(a, S.glorot_normal((30, 20), dtype=np.float64, seed=1))


# ------------------------------------------------------------------- exact parameters

class Recorder:
    """Replaces the core fills the schemes call and records their parameters."""

    def __init__(self, monkeypatch):
        self.calls = []
        for name in ("uniform_", "normal_", "trunc_normal_"):
            monkeypatch.setattr(_random, name, self._make(name))

    def _make(self, name):
        def fake(x, *args, **kw):
            self.calls.append((name,) + tuple(float(a) for a in args))
            return x
        return fake


TORCH_SHAPES = [(3, 5), (5, 3), (64, 3, 7, 7), (16, 8, 3), (2, 3, 4, 5, 6), (1000, 1), (7, 7)]


@pytest.mark.parametrize("shape", TORCH_SHAPES)
@pytest.mark.parametrize("gain", [1.0, 0.5, 5.0 / 3, 2])
def test_xavier_parameters_are_torch_formula(monkeypatch, shape, gain):
    rec = Recorder(monkeypatch)
    S.xavier_uniform_(np.empty(shape, np.float32), gain, seed=1)
    S.xavier_normal_(np.empty(shape, np.float32), gain, seed=1)
    std = torch_xavier_std(shape, gain)
    a = math.sqrt(3.0) * std
    assert rec.calls == [("uniform_", -a, a), ("normal_", 0.0, std)]


KAIMING_ARGS = [(0, "fan_in", "leaky_relu"), (math.sqrt(5), "fan_in", "leaky_relu"),
                (0.2, "fan_out", "leaky_relu"), (0, "fan_in", "relu"), (0, "FAN_OUT", "relu"),
                (0, "fan_in", "tanh"), (0, "fan_out", "linear"), (0, "fan_in", "selu")]


@pytest.mark.parametrize("shape", TORCH_SHAPES)
@pytest.mark.parametrize("a, mode, nl", KAIMING_ARGS)
def test_kaiming_parameters_are_torch_formula(monkeypatch, shape, a, mode, nl):
    rec = Recorder(monkeypatch)
    S.kaiming_uniform_(np.empty(shape, np.float32), a, mode, nl, seed=1)
    S.kaiming_normal_(np.empty(shape, np.float32), a, mode, nl, seed=1)
    std = torch_kaiming_std(shape, a, mode.lower(), nl)
    bound = math.sqrt(3.0) * std
    assert rec.calls == [("uniform_", -bound, bound), ("normal_", 0.0, std)]


JAX_NAMED = [
    (S.glorot_uniform_, 1.0, "fan_avg", "uniform"),
    (S.glorot_normal_, 1.0, "fan_avg", "truncated_normal"),
    (S.he_uniform_, 2.0, "fan_in", "uniform"),
    (S.he_normal_, 2.0, "fan_in", "truncated_normal"),
    (S.lecun_uniform_, 1.0, "fan_in", "uniform"),
    (S.lecun_normal_, 1.0, "fan_in", "truncated_normal"),
]


def expected_call(p, distribution):
    if distribution == "truncated_normal":
        return ("trunc_normal_", 0.0, p, -2.0 * p, 2.0 * p)
    if distribution == "normal":
        return ("normal_", 0.0, p)
    return ("uniform_", -p, p)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("fn, scale, mode, distribution", JAX_NAMED, ids=lambda v: getattr(v, "__name__", str(v)))
def test_jax_named_parameters_are_jax_formula(monkeypatch, dtype, fn, scale, mode, distribution):
    rec = Recorder(monkeypatch)
    dt = np_dtype(dtype)
    shapes = [(3, 5), (7, 7, 3, 64), (3, 16, 8), (1000, 1), (3, 3, 3, 16, 32)]
    for shape in shapes:  # JAX layout (..., in, out)
        fn(np.empty(shape, dt), in_axis=-2, out_axis=-1, seed=1)
    assert rec.calls == [
        expected_call(jax_param(sh, scale, mode, distribution, dt, -2, -1), distribution)
        for sh in shapes
    ]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode", S.MODES)
@pytest.mark.parametrize("distribution", S.DISTRIBUTIONS)
@pytest.mark.parametrize("scale", [1.0, 2.0, 0.1, 1 / 3])
def test_variance_scaling_parameters_are_jax_formula(monkeypatch, dtype, mode, distribution, scale):
    rec = Recorder(monkeypatch)
    shapes = [(5, 3), (64, 3, 7, 7), (16, 8, 3), (999, 1001)]
    for shape in shapes:  # torch layout, the default
        S.variance_scaling_(np.empty(shape, dtype), scale, mode, distribution, seed=1)
    assert rec.calls == [
        expected_call(jax_param(sh, scale, mode, distribution, np.dtype(dtype)), distribution)
        for sh in shapes
    ]


def test_jax_named_differ_from_torch_named_in_meaning():
    shape = (400, 300)
    # JAX's glorot_normal / he_normal are truncated at 2 std, torch's xavier/kaiming_normal_ are not
    jx = S.glorot_normal(shape, seed=3)
    s = jax_param(shape, 1.0, "fan_avg", "truncated_normal", np.float32)
    assert np.abs(jx).max() <= np.float32(2 * s)
    tx = S.xavier_normal(shape, seed=3)
    assert np.abs(tx).max() > 2 * torch_xavier_std(shape) * 1.5
    # the same variance
    assert abs(jx.std() / tx.std() - 1) < 0.01


def test_layouts_agree_for_the_same_layer():
    torch_w = S.he_uniform((32, 16, 3, 3), seed=5)
    jax_w = S.he_uniform((3, 3, 16, 32), in_axis=-2, out_axis=-1, seed=5)
    assert np.abs(torch_w).max() <= math.sqrt(6 / 144) * (1 + 1e-6)
    assert np.abs(torch_w).max() > 0.99 * math.sqrt(6 / 144)
    assert np.abs(jax_w).max() > 0.99 * math.sqrt(6 / 144)


# ------------------------------------------------------------------- orthogonal

ORTHO_SHAPES = [(64, 64), (128, 32), (32, 128), (16, 8, 3, 3), (128, 4, 3, 3), (4, 2, 2, 2, 2),
                (1, 10), (10, 1)]


@pytest.mark.parametrize("shape", ORTHO_SHAPES)
@pytest.mark.parametrize("dtype, tol", [("float32", 2e-6), ("float64", 1e-13)])
@pytest.mark.parametrize("gain", [1.0, 2.5, -0.5])
def test_orthogonal_qtq_is_gain_squared_identity(shape, dtype, tol, gain):
    x = S.orthogonal(shape, gain, dtype=dtype, seed=11)
    m = x.reshape(shape[0], -1).astype(np.float64)
    rows, cols = m.shape
    g = m.T @ m if rows >= cols else m @ m.T
    assert np.abs(g - gain**2 * np.eye(min(rows, cols))).max() <= tol * max(rows, cols) * gain**2


def test_orthogonal_is_the_documented_construction():
    shape = (12, 5, 2)
    x = S.orthogonal(shape, 2.0, dtype="float64", seed=4, stream="q")
    a = _random.normal((12, 10), dtype="float64", seed=4, stream="q")
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    assert np.allclose(x.reshape(12, 10), 2.0 * q, atol=1e-14, rtol=0)
    wide = S.orthogonal((4, 9), dtype="float64", seed=4, stream="q")
    a = _random.normal((4, 9), dtype="float64", seed=4, stream="q")
    q, r = np.linalg.qr(a.T)
    q *= np.sign(np.diag(r))
    assert np.allclose(wide, q.T, atol=1e-14, rtol=0)


def test_orthogonal_dtypes_share_one_matrix():
    a = S.orthogonal((40, 30), dtype="float64", seed=2)
    for dt in ("float32", "float16", "bfloat16"):
        b = S.orthogonal((40, 30), dtype=dt, seed=2)
        assert np.array_equal(b, a.astype(np_dtype(dt)))


def test_delta_orthogonal_structure():
    for shape, axes, centre in [((8, 4, 3), {}, (slice(None), slice(None), 1)),
                                ((6, 6, 4, 5), {}, (slice(None), slice(None), 1, 2)),
                                ((8, 4, 2, 3, 5), {}, (slice(None), slice(None), 0, 1, 2))]:
        x = S.delta_orthogonal(shape, 2.0, dtype="float64", seed=9, **axes)
        m = x[centre]
        assert np.allclose(m.T @ m, 4.0 * np.eye(shape[1]), atol=1e-12)
        mask = np.zeros(shape, bool)
        mask[centre] = True
        assert not x[~mask].any()
    # JAX layout (*kernel, in, out) gives the transposed matrix at JAX's centre
    t = S.delta_orthogonal((8, 4, 3), dtype="float64", seed=9)
    j = S.delta_orthogonal((3, 4, 8), in_axis=-2, out_axis=-1, dtype="float64", seed=9)
    assert np.array_equal(j[1], t[:, :, 1].T)


# ------------------------------------------------------------------- sparse

def pattern_keys(seed, stream, tag, units, members):
    """The documented zero/non-zero keys: word u * members + m of derive_stream(stream, tag)."""
    bits = _random.random_bits((units, members), seed=seed, stream=derive_stream(stream_id(stream), tag))
    return bits.astype(np.uint64) << np.uint64(32) | np.arange(members, dtype=np.uint64)


@pytest.mark.parametrize("rows, cols, sparsity", [(100, 30, 0.1), (10, 7, 0.5), (33, 4, 0.0),
                                                  (50, 3, 0.99), (1, 5, 0.5), (7, 1, 0.3)])
def test_sparse_exact_zeros_per_column(rows, cols, sparsity):
    x = S.sparse((rows, cols), sparsity, std=0.1, dtype="float64", seed=8, stream="s")
    k = math.ceil(sparsity * rows)
    assert ((x == 0).sum(axis=0) == k).all()
    # non-zeros are the normal fill of (seed, stream); zeros are the k smallest keys per column
    ref = _random.normal((rows, cols), 0.0, 0.1, dtype="float64", seed=8, stream="s")
    keys = pattern_keys(8, "s", "sparse_/zeros", cols, rows)
    zero = np.zeros((cols, rows), bool)
    np.put_along_axis(zero, np.argsort(keys, axis=1)[:, :k], True, axis=1)
    assert np.array_equal(x, np.where(zero.T, 0.0, ref))


def test_sparse_pattern_large_columns():
    """Columns of 4096 rows and more take the histogram selection; same documented keys."""
    rows, cols, k = 5000, 3, 4500
    x = S.sparse((rows, cols), k / rows, std=0.1, dtype="float32", seed=3, stream="big")
    keys = pattern_keys(3, "big", "sparse_/zeros", cols, rows)
    zero = np.zeros((cols, rows), bool)
    np.put_along_axis(zero, np.argsort(keys, axis=1)[:, :k], True, axis=1)
    assert np.array_equal(x == 0, zero.T)


@pytest.mark.parametrize("make", [lambda a: a, lambda a: np.asfortranarray(a), lambda a: a[::-1],
                                  lambda a: a[:, ::-2]])
def test_sparse_patterns_on_strided_views(make):
    """The core zeroes through the view's own strides: any layout, same values as a fresh array."""
    view = make(np.full((40, 30), 5.0, dtype=np.float32))
    S.sparse_(view, 0.6, std=0.2, seed=4, stream="v")
    ref = S.sparse(view.shape, 0.6, std=0.2, dtype="float32", seed=4, stream="v")
    assert np.array_equal(view, ref)
    for out_axis in (0, -1):
        m = make(np.full((12, 10), 5.0))
        S.martens_sparse_(m, 3, out_axis=out_axis, seed=6)
        assert np.array_equal(m, S.martens_sparse(m.shape, 3, out_axis=out_axis, seed=6, dtype="float64"))
    conv = np.full((6, 4, 3, 3), 5.0)[:, :, ::-1, :]  # rest axes that do not collapse: mask path
    S.martens_sparse_(conv, 7, seed=6)
    assert np.array_equal(conv, S.martens_sparse(conv.shape, 7, seed=6, dtype="float64"))


def test_sparse_zero_count_equals_torch():
    torch = pytest.importorskip("torch")
    for rows, cols, sparsity in [(100, 30, 0.1), (10, 7, 0.55), (37, 4, 0.333)]:
        t = torch.empty(rows, cols, dtype=torch.float64)
        torch.nn.init.sparse_(t, sparsity, std=0.1)
        ours = S.sparse((rows, cols), sparsity, 0.1, dtype="float64", seed=1)
        assert ((t == 0).sum(0).numpy() == (ours == 0).sum(0)).all()


@pytest.mark.parametrize("shape, nonzeros, out_axis", [
    ((20, 50), 15, 0), ((50, 20), 15, -1), ((8, 4, 3, 3), 5, 0), ((3, 3, 4, 8), 36, -1),
    ((6, 9), 9, 0), ((6, 9), 1, 0),
])
def test_martens_exactly_k_nonzeros_per_unit(shape, nonzeros, out_axis):
    x = S.martens_sparse(shape, nonzeros, dtype="float64", out_axis=out_axis, seed=5)
    per_unit = np.moveaxis(x != 0, out_axis, 0).reshape(shape[out_axis], -1).sum(axis=1)
    assert (per_unit == nonzeros).all()
    if len(shape) == 2 and out_axis == -1:  # (in, out): k non-zeros in every column
        assert ((x != 0).sum(axis=0) == nonzeros).all()
    ref = _random.normal(shape, dtype="float64", seed=5)
    assert np.array_equal(x[x != 0], ref[x != 0])


def test_martens_pattern_is_the_documented_keys():
    x = S.martens_sparse((6, 10), 4, dtype="float64", seed=2, stream="m")
    keys = pattern_keys(2, "m", "martens_sparse_/nonzeros", 6, 10)
    keep = np.zeros((6, 10), bool)
    np.put_along_axis(keep, np.argsort(keys, axis=1)[:, :4], True, axis=1)
    assert np.array_equal(x != 0, keep)


def test_sparse_patterns_change_with_seed_and_stream():
    a = S.sparse((100, 40), 0.5, seed=1) == 0
    assert not np.array_equal(a, S.sparse((100, 40), 0.5, seed=2) == 0)
    assert not np.array_equal(a, S.sparse((100, 40), 0.5, seed=1, stream=1) == 0)


# ------------------------------------------------------------------- identities

@pytest.mark.parametrize("shape", [(3, 3), (3, 5), (5, 3), (1, 4)])
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_eye(shape, dtype):
    x = S.eye(shape, 3.0, dtype=dtype)
    assert x.dtype == np_dtype(dtype)
    assert np.array_equal(x.astype(np.float64), 3.0 * np.eye(*shape))


@pytest.mark.parametrize("shape, groups", [((6, 4, 3), 2), ((4, 4, 3, 3), 1), ((6, 2, 4, 5), 3),
                                            ((4, 6, 3, 3, 3), 2), ((3, 8, 2), 1)])
def test_dirac_formula(shape, groups):
    x = S.dirac(shape, groups, dtype="float64")
    expected = np.zeros(shape)
    per = shape[0] // groups
    centre = tuple(k // 2 for k in shape[2:])
    for g in range(groups):
        for d in range(min(per, shape[1])):
            expected[(g * per + d, d) + centre] = 1
    assert np.array_equal(x, expected)


@pytest.mark.parametrize("shape, groups", [((6, 4, 3), 2), ((4, 4, 3, 3), 1), ((6, 2, 4, 5), 3),
                                            ((4, 6, 3, 3, 3), 2)])
def test_dirac_and_eye_equal_torch(shape, groups):
    torch = pytest.importorskip("torch")
    t = torch.empty(shape)
    torch.nn.init.dirac_(t, groups)
    assert np.array_equal(S.dirac(shape, groups), t.numpy())
    t = torch.empty(shape[:2])
    torch.nn.init.eye_(t)
    assert np.array_equal(S.eye(shape[:2]), t.numpy())


# ------------------------------------------------------------------- against torch itself

class TorchRecorder:
    def __init__(self, monkeypatch, torch, feed=None):
        self.calls = []
        rec = self

        def uniform_(t, a=0.0, b=1.0, generator=None):
            rec.calls.append(("uniform_", float(a), float(b)))
            return t

        def normal_(t, mean=0.0, std=1.0, generator=None):
            rec.calls.append(("normal_", float(mean), float(std)))
            if feed is not None:
                t.copy_(torch.from_numpy(feed))
            return t

        monkeypatch.setattr(torch.Tensor, "uniform_", uniform_)
        monkeypatch.setattr(torch.Tensor, "normal_", normal_)


@pytest.mark.parametrize("shape", TORCH_SHAPES)
def test_parameters_equal_torch_to_the_last_bit(monkeypatch, shape):
    torch = pytest.importorskip("torch")
    cases = [("xavier_uniform_", {"gain": g}) for g in (1.0, 0.5, 5.0 / 3)]
    cases += [("xavier_normal_", {"gain": g}) for g in (1.0, 2)]
    for a, mode, nl in KAIMING_ARGS:
        cases += [(f, {"a": a, "mode": mode, "nonlinearity": nl})
                  for f in ("kaiming_uniform_", "kaiming_normal_")]
    theirs = TorchRecorder(monkeypatch, torch)
    for name, kw in cases:
        getattr(torch.nn.init, name)(torch.empty(shape), **kw)
    ours = Recorder(monkeypatch)
    for name, kw in cases:
        getattr(S, name)(np.empty(shape, np.float32), **kw, seed=0)
    assert ours.calls == theirs.calls and len(ours.calls) == len(cases)


@pytest.mark.parametrize("shape", [(6, 6), (9, 4), (4, 9), (5, 3, 2, 2), (3, 4, 5)])
@pytest.mark.parametrize("gain", [1.0, 1.7])
def test_orthogonal_equals_torch_on_the_same_gaussian(monkeypatch, shape, gain):
    torch = pytest.importorskip("torch")
    rows = shape[0]
    cols = math.prod(shape) // rows
    a = _random.normal((rows, cols), dtype="float64", seed=6)
    TorchRecorder(monkeypatch, torch, feed=a)
    t = torch.empty(shape, dtype=torch.float64)
    torch.nn.init.orthogonal_(t, gain)
    monkeypatch.undo()
    ours = S.orthogonal(shape, gain, dtype="float64", seed=6)
    assert np.allclose(ours, t.numpy(), atol=1e-12, rtol=0)


@pytest.mark.parametrize("row", RANDOM, ids=RANDOM_IDS)
@pytest.mark.parametrize("tdtype", ["float32", "bfloat16", "float16", "float64"])
def test_torch_tensors_filled_in_place(row, tdtype):
    torch = pytest.importorskip("torch")
    shape = SHAPES[row.dims[0]]
    t = torch.empty(shape, dtype=getattr(torch, tdtype))
    ptr = t.data_ptr()
    assert row.inplace(t, **row.kwargs, **rnd()) is t
    assert t.data_ptr() == ptr
    ref = fill(row, shape, tdtype, **rnd())
    got = t.view(torch.int16).numpy().view(BF16) if tdtype == "bfloat16" else t.numpy()
    assert got.tobytes() == ref.tobytes()


def test_eye_and_dirac_fill_torch_tensors():
    torch = pytest.importorskip("torch")
    t = torch.empty(3, 4, dtype=torch.bfloat16)
    assert S.eye_(t, 2.0) is t
    assert torch.equal(t, 2.0 * torch.eye(3, 4, dtype=torch.bfloat16))
    t = torch.empty(4, 4, 3, dtype=torch.float16)
    ref = torch.empty(4, 4, 3, dtype=torch.float16)
    torch.nn.init.dirac_(ref)
    assert torch.equal(S.dirac_(t), ref)


@pytest.mark.parametrize("fn, args, kw", [(S.sparse, (0.7,), {}),
                                          (S.martens_sparse, (9,), {"out_axis": 0}),
                                          (S.martens_sparse, (9,), {"out_axis": -1})])
def test_sparse_patterns_independent_of_blocks_and_threads(monkeypatch, fn, args, kw):
    shape = (300, 256)
    ref = fn(shape, *args, **kw, seed=12, threads=1)
    for block in (512, 4096, 1 << 15):
        monkeypatch.setattr(S, "_SPARSE_BLOCK", block)
        for threads in (1, 2, 3):
            got = fn(shape, *args, **kw, seed=12, threads=threads)
            assert got.tobytes() == ref.tobytes()


def first_tie(seed, stream, tag, members):
    """A word value occurring twice in unit 0, and k such that it is the k-th smallest key."""
    words = _random.random_bits(members, seed=seed, stream=derive_stream(stream_id(stream), tag))
    values, counts = np.unique(words, return_counts=True)
    v = values[counts > 1][0]
    first, second = np.flatnonzero(words == v)[:2]
    return int((words < v).sum()) + 1, first, second


def test_equal_words_are_ordered_by_member():
    members = 1 << 20  # ~128 pairs of equal words among 2**20
    k, first, second = first_tie(4, "t", "martens_sparse_/nonzeros", members)
    x = S.martens_sparse((1, members), k, dtype="float64", seed=4, stream="t")
    assert x[0, first] != 0 and x[0, second] == 0
    assert (x != 0).sum() == k
    k, first, second = first_tie(4, "t", "sparse_/zeros", members)
    x = S.sparse((members, 1), (k - 0.5) / members, dtype="float64", seed=4, stream="t")
    assert x[first, 0] == 0 and x[second, 0] != 0
    assert (x == 0).sum() == k


def test_jax_parameter_overflowing_the_dtype_is_an_error():
    x = np.full((2, 2), 7.0, np.float16)
    with pytest.raises(ValueError, match="overflows float16"):
        S.variance_scaling_(x, 1e6, seed=1)
    assert_untouched(x)
    assert np.isfinite(S.variance_scaling((2, 2), 1e6, dtype="float32", seed=1)).all()


# ---------------------------------------------------------------- JAX / Keras parity: column_axis, names


def jax_orthogonal_reference(shape, column_axis, gain, seed):
    """jax.nn.initializers.orthogonal's steps (matrix (rest, shape[column_axis]), QR, sign fix,
    reshape, moveaxis), fed with weightinit's N(0, 1) draw of the (rows, cols) matrix."""
    cols = shape[column_axis]
    rest = tuple(np.delete(np.array(shape), column_axis))
    rows = math.prod(rest)
    a = S._random.normal((rows, cols), dtype="float64", seed=seed)
    wide = rows < cols
    q, r = np.linalg.qr(a.T if wide else a)
    q = q * np.sign(np.diag(r))
    if wide:
        q = q.T
    return gain * np.moveaxis(q.reshape(rest + (cols,)), -1, column_axis)


@pytest.mark.parametrize("shape, column_axis", [((3, 3, 16, 32), -1), ((3, 3, 32, 16), -1), ((4, 6, 5), 1),
                                                ((2, 3, 40), 0), ((8, 5), -1), ((5, 8), 0)])
def test_orthogonal_column_axis_is_jax_formula(shape, column_axis):
    got = S.orthogonal(shape, 1.5, column_axis=column_axis, seed=11, dtype="float64")
    ref = jax_orthogonal_reference(shape, column_axis, 1.5, seed=11)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-13)
    m = np.moveaxis(got, column_axis, -1).reshape(-1, shape[column_axis]) / 1.5
    if m.shape[0] >= m.shape[1]:  # the column axis is orthonormal
        np.testing.assert_allclose(m.T @ m, np.eye(m.shape[1]), atol=1e-12)
    else:
        np.testing.assert_allclose(m @ m.T, np.eye(m.shape[0]), atol=1e-12)


def test_orthogonal_default_stays_torch_flattening():
    shape = (16, 3, 3, 8)
    torch_like = S.orthogonal(shape, seed=4, dtype="float64").reshape(16, -1)
    np.testing.assert_allclose(torch_like @ torch_like.T, np.eye(16), atol=1e-12)
    assert not np.array_equal(S.orthogonal(shape, seed=4), S.orthogonal(shape, column_axis=-1, seed=4))
    # a matrix reads the same either way
    assert np.array_equal(S.orthogonal((6, 9), seed=4), S.orthogonal((6, 9), column_axis=-1, seed=4))
    assert np.array_equal(S.orthogonal((6, 9), seed=4), S.orthogonal((6, 9), column_axis=1, seed=4))


@pytest.mark.parametrize("column_axis, exc", [(4, ValueError), (-5, ValueError), (1.0, TypeError), ("1", TypeError)])
def test_orthogonal_bad_column_axis(column_axis, exc):
    x = np.full((2, 3, 4, 5), 7.0, np.float32)
    with pytest.raises(exc, match="column_axis"):
        S.orthogonal_(x, column_axis=column_axis, seed=1)
    assert (x == 7.0).all()


def test_keras_untruncated_normal_is_jax_normal():
    for dt in ("float32", "float64"):
        a = S.variance_scaling((30, 40), 2.0, "fan_avg", "untruncated_normal", seed=3, dtype=dt)
        b = S.variance_scaling((30, 40), 2.0, "fan_avg", "normal", seed=3, dtype=dt)
        assert a.tobytes() == b.tobytes()
    # "normal" keeps JAX's meaning (untruncated): values beyond 2 std occur; truncated_normal has none
    n = S.variance_scaling((400, 400), 1.0, "fan_in", "normal", seed=3)
    t = S.variance_scaling((400, 400), 1.0, "fan_in", "truncated_normal", seed=3)
    std = math.sqrt(1 / 400)
    assert np.abs(n).max() > 3 * std
    assert np.abs(t).max() <= 2 * std / 0.87962566103423978 * (1 + 1e-6)
