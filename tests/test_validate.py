"""One table drives every public fill through the shared argument rules of ``weightinit._validate``:
bad shapes, bad numbers, integers too large for a float64, bad thread counts. Every refusal is a
ValueError or TypeError naming the argument, raised before anything is written."""
import json
import math
import struct

import numpy as np
import pytest

import weightinit as wi
import weightinit.hf
from weightinit import _validate
from weightinit import checkpoint_stats as cs

HUGE = 10**400  # float(HUGE) raises OverflowError: the functions must not

# in-place function, target shape, its real-number arguments (name -> a valid value), takes threads
INPLACE = [
    (wi.uniform_, (4, 6), {"a": 0.0, "b": 1.0}, True),
    (wi.normal_, (4, 6), {"mean": 0.0, "std": 1.0}, True),
    (wi.trunc_normal_, (4, 6), {"mean": 0.0, "std": 1.0, "a": -2.0, "b": 2.0}, True),
    (wi.constant_, (4, 6), {"val": 0.5}, True),
    (wi.zeros_, (4, 6), {}, True),
    (wi.ones_, (4, 6), {}, True),
    (wi.xavier_uniform_, (4, 6), {"gain": 1.0}, True),
    (wi.xavier_normal_, (4, 6), {"gain": 1.0}, True),
    (wi.kaiming_uniform_, (4, 6), {"a": 0.0}, True),
    (wi.kaiming_normal_, (4, 6), {"a": 0.0}, True),
    (wi.glorot_uniform_, (4, 6), {}, True),
    (wi.glorot_normal_, (4, 6), {}, True),
    (wi.he_uniform_, (4, 6), {}, True),
    (wi.he_normal_, (4, 6), {}, True),
    (wi.lecun_uniform_, (4, 6), {}, True),
    (wi.lecun_normal_, (4, 6), {}, True),
    (wi.variance_scaling_, (4, 6), {"scale": 1.0}, True),
    (wi.orthogonal_, (4, 6), {"gain": 1.0}, True),
    (wi.delta_orthogonal_, (6, 4, 3), {"scale": 1.0}, True),
    (wi.sparse_, (4, 6), {"sparsity": 0.5, "std": 0.01}, True),
    (wi.martens_sparse_, (4, 20), {"std": 1.0}, True),
    (wi.eye_, (4, 6), {"gain": 1.0}, False),
    (wi.dirac_, (6, 4, 3), {}, False),
]
IDS = [f.__name__ for f, *_ in INPLACE]
SENTINEL = 7.0


def _target(shape):
    return np.full(shape, SENTINEL, np.float32)


def _call(fn, x, numbers, **kw):
    if fn is wi.sparse_:  # sparsity is positional-required
        numbers = dict(numbers)
        return fn(x, numbers.pop("sparsity"), **numbers, **kw)
    if fn is wi.constant_:
        numbers = dict(numbers)
        return fn(x, numbers.pop("val"), **kw)
    return fn(x, **numbers, **kw)


def _random_kw(fn):
    return {} if fn in (wi.constant_, wi.zeros_, wi.ones_, wi.eye_, wi.dirac_) else {"seed": 3}


@pytest.mark.parametrize("fn, shape, numbers, threads", INPLACE, ids=IDS)
def test_valid_call_writes(fn, shape, numbers, threads):
    x = _target(shape)
    _call(fn, x, numbers, **_random_kw(fn))
    assert not (x == SENTINEL).all()


@pytest.mark.parametrize("fn, shape, numbers, threads", INPLACE, ids=IDS)
@pytest.mark.parametrize("bad", [HUGE, -HUGE, math.inf, math.nan, "1.0", True, None])
def test_bad_number_names_the_argument_and_writes_nothing(fn, shape, numbers, threads, bad):
    for name in numbers:
        if fn is wi.constant_ and isinstance(bad, float):
            continue  # constant_ converts like NumPy assignment: inf and nan are values (tested below)
        x = _target(shape)
        with pytest.raises((ValueError, TypeError)) as info:
            _call(fn, x, {**numbers, name: bad}, **_random_kw(fn))
        assert name in str(info.value), (name, str(info.value))
        assert (x == SENTINEL).all(), f"{fn.__name__}({name}={bad!r}) wrote before refusing"


def test_constant_writes_inf_and_nan_as_numpy_assignment_would():
    # the one documented exception: constant_ converts like NumPy assignment (nan and inf allowed)
    x = _target(3)
    wi.constant_(x, math.inf)
    assert np.isinf(x).all()
    wi.constant_(x, math.nan)
    assert np.isnan(x).all()


@pytest.mark.parametrize("fn, shape, numbers, threads", [t for t in INPLACE if t[3]],
                         ids=[i for i, t in zip(IDS, INPLACE) if t[3]])
@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError),
                                      ("2", TypeError)])
def test_bad_threads(fn, shape, numbers, threads, bad, exc):
    x = _target(shape)
    with pytest.raises(exc, match="threads"):
        _call(fn, x, numbers, threads=bad, **_random_kw(fn))
    assert (x == SENTINEL).all()


@pytest.mark.parametrize("fn, shape, numbers, threads", [t for t in INPLACE if t[3]],
                         ids=[i for i, t in zip(IDS, INPLACE) if t[3]])
@pytest.mark.parametrize("bad", [2**31, 2**64, HUGE])
def test_thread_counts_beyond_the_cores_int_are_value_errors(fn, shape, numbers, threads, bad):
    # once a TypeError from pybind11 ("incompatible function arguments") that named no argument
    x = _target(shape)
    with pytest.raises(ValueError, match=r"^threads must be >= 1 \(and <= 2\*\*31 - 1\)") as info:
        _call(fn, x, numbers, threads=bad, **_random_kw(fn))
    assert len(str(info.value)) < 100  # a huge int is shown by its size, not its 400 digits
    assert (x == SENTINEL).all()


@pytest.mark.parametrize("fn, shape, numbers, threads", [t for t in INPLACE if _random_kw(t[0])],
                         ids=[i for i, t in zip(IDS, INPLACE) if _random_kw(t[0])])
@pytest.mark.parametrize("seed, exc", [(-1, ValueError), (2**64, ValueError), (HUGE, ValueError), (1.0, TypeError)])
def test_bad_seed(fn, shape, numbers, threads, seed, exc):
    x = _target(shape)
    with pytest.raises(exc, match="seed"):
        _call(fn, x, numbers, seed=seed)
    assert (x == SENTINEL).all()


# the allocating twins: the same shape rule for all of them
ALLOCATING = [wi.uniform, wi.normal, wi.trunc_normal, wi.zeros, wi.ones, wi.xavier_uniform, wi.xavier_normal,
              wi.kaiming_uniform, wi.kaiming_normal, wi.glorot_uniform, wi.glorot_normal, wi.he_uniform,
              wi.he_normal, wi.lecun_uniform, wi.lecun_normal, wi.variance_scaling, wi.orthogonal, wi.eye,
              wi.martens_sparse]


def _alloc(fn, shape):
    kw = {} if fn in (wi.zeros, wi.ones, wi.eye) else {"seed": 5}
    if fn is wi.martens_sparse:
        kw["nonzeros"] = 2
    return fn(shape, **kw)


@pytest.mark.parametrize("fn", ALLOCATING, ids=[f.__name__ for f in ALLOCATING])
def test_shape_spellings_agree(fn):
    ref = _alloc(fn, (4, 6))
    for spelling in ([4, 6], np.array([4, 6]), (np.int64(4), np.uint8(6)), np.array([4, 6], np.int32)):
        out = _alloc(fn, spelling)
        assert out.shape == (4, 6)
        assert out.tobytes() == ref.tobytes(), spelling


@pytest.mark.parametrize("fn", ALLOCATING, ids=[f.__name__ for f in ALLOCATING])
@pytest.mark.parametrize("shape, exc, match", [
    ((4, -1), ValueError, "shape must contain non-negative"),
    ((4, 2.0), TypeError, "shape must contain ints"),
    ((4, True), TypeError, "shape must contain ints"),
    ("46", TypeError, "shape must be a sequence of ints"),
    (None, TypeError, "shape must be a sequence of ints"),
    (4.0, TypeError, "shape must be a sequence of ints"),
    (np.zeros((4, 6)), TypeError, "in-place function"),
    (np.array([4.0, 6.0]), TypeError, "shape must be a sequence of ints"),
])
def test_bad_shapes(fn, shape, exc, match):
    with pytest.raises(exc, match=match):
        _alloc(fn, shape)


@pytest.mark.parametrize("fn", ALLOCATING + [wi.random_bits], ids=[f.__name__ for f in ALLOCATING] + ["random_bits"])
@pytest.mark.parametrize("shape, match", [
    (HUGE, r"^shape must contain sizes < 2\*\*63, got an int of 1329 bits$"),
    ((2, 2**63), r"^shape must contain sizes < 2\*\*63"),
    ((2**40, 2**40), r"^shape \(1099511627776, 1099511627776\) is too large for one"),
])
def test_shapes_numpy_cannot_allocate_are_value_errors_naming_shape(fn, shape, match):
    with pytest.raises(ValueError, match=match):
        _alloc(fn, shape) if fn is not wi.random_bits else fn(shape, seed=1)


def test_compute_fans_reads_an_arrays_own_shape():
    assert wi.compute_fans(np.zeros((64, 3, 7, 7))) == (147, 3136)
    assert wi.compute_fans([64, 3, 7, 7]) == (147, 3136)


@pytest.mark.parametrize("call, name", [
    (lambda: wi.calculate_gain("leaky_relu", HUGE), "param"),
    (lambda: wi.variance_scaling((4, 6), scale=HUGE, seed=1), "scale"),
    (lambda: wi.init_model({"w": wi.Param((4, 6), "normal_", std=HUGE)}, seed=1), "std"),
])
def test_huge_integers_are_value_errors_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name) as info:
        call()
    assert not isinstance(info.value, TypeError)


def test_number_range_error_is_both_value_error_and_overflow_error():
    # a ValueError by the package's rule; still an OverflowError for code written against float()
    with pytest.raises(ValueError):
        _validate.real(2**1024, "x")
    with pytest.raises(OverflowError):
        _validate.real(2**1024, "x")
    assert _validate.real(2**1023, "x") == float(2**1023)


def test_leaky_relu_bool_slope_is_a_value_error_as_in_torch():
    with pytest.raises(ValueError, match="param"):
        wi.calculate_gain("leaky_relu", True)


def test_leaky_relu_huge_slope_gives_the_limit_not_an_overflow():
    assert wi.calculate_gain("leaky_relu", 10**300) == pytest.approx(math.sqrt(2) * 1e-300, rel=1e-15)
    assert wi.calculate_gain("leaky_relu", 3) == math.sqrt(2.0 / (1 + 3**2))


@pytest.mark.parametrize("fill, name", [
    (lambda x, v: wi.eye_(x, gain=v), "gain"),
    (lambda x, v: wi.orthogonal_(x, gain=v, seed=1), "gain"),
    (lambda x, v: wi.delta_orthogonal_(x.reshape(4, 4, 1), scale=v, seed=1), "scale"),
], ids=["eye_", "orthogonal_", "delta_orthogonal_"])
@pytest.mark.parametrize("dtype, value", [(np.float16, 1e6), (np.float32, 1e300), (np.float64, -HUGE)])
def test_gains_that_would_write_inf_are_refused_before_writing(fill, name, dtype, value):
    x = np.full((4, 4), SENTINEL, dtype)
    with pytest.raises(ValueError, match=name):
        fill(x, value)
    assert (x == SENTINEL).all()


def test_largest_finite_gain_is_accepted_and_finite():
    x = np.zeros((4, 4), np.float16)
    wi.orthogonal_(x, gain=65504.0, seed=1)
    assert np.isfinite(x).all()
    wi.eye_(x, gain=65504.0)
    assert np.isfinite(x).all() and x[0, 0] == 65504.0


# ---------------------------------------------------------------- torch targets


def _torch():
    return pytest.importorskip("torch")


def test_torch_tensor_over_a_read_only_mapping_is_refused_not_a_crash(tmp_path):
    torch = _torch()
    path = tmp_path / "w.npy"
    np.save(path, np.full((64, 64), SENTINEL, np.float32))
    mapped = np.load(path, mmap_mode="r")
    with pytest.warns(UserWarning, match="not writable"):  # torch's own warning at from_numpy
        t = torch.from_numpy(mapped)
    for fill in (lambda: wi.uniform_(t, seed=1), lambda: wi.kaiming_normal_(t, seed=1),
                 lambda: wi.constant_(t, 0.5), lambda: wi.orthogonal_(t, seed=1)):
        with pytest.raises(ValueError, match="read-only"):
            fill()
    assert (mapped == SENTINEL).all()
    with pytest.raises(ValueError, match="read-only"):  # the same refusal as for the array itself
        wi.uniform_(mapped, seed=1)


def test_torch_tensor_over_a_writable_mapping_is_filled(tmp_path):
    torch = _torch()
    path = tmp_path / "w.npy"
    np.save(path, np.zeros((64, 64), np.float32))
    mapped = np.load(path, mmap_mode="r+")
    wi.uniform_(torch.from_numpy(mapped), seed=1)
    assert (mapped == wi.uniform((64, 64), seed=1)).all()


def test_page_check_of_one_storage_is_cached_and_forgotten_with_it():
    torch = _torch()
    from weightinit import _random
    t = torch.zeros(16)
    wi.uniform_(t, seed=1)
    key = id(t.untyped_storage())
    assert key in _random._WRITABLE_STORAGES
    del t
    assert key not in _random._WRITABLE_STORAGES


def test_pages_writable_reads_the_protections():
    import mmap
    ro = mmap.mmap(-1, 8192, prot=mmap.PROT_READ)
    rw = mmap.mmap(-1, 8192)
    lo_ro = np.frombuffer(ro, np.uint8).ctypes.data
    lo_rw = np.frombuffer(rw, np.uint8).ctypes.data
    if _validate.pages_writable(lo_rw, lo_rw + 8192) is None:
        pytest.skip("no /proc/self/maps on this system")
    assert _validate.pages_writable(lo_rw, lo_rw + 8192) is True
    assert _validate.pages_writable(lo_ro, lo_ro + 8192) is False
    assert _validate.pages_writable(lo_ro + 4096, lo_ro + 4097) is False


@pytest.mark.parametrize("make, exc", [
    (lambda torch: torch._neg_view(torch.full((4,), SENTINEL)), ValueError),
    (lambda torch: torch.nested.nested_tensor([torch.zeros(2), torch.zeros(3)]), TypeError),
    (lambda torch: torch.zeros(4, 4).to_sparse(), TypeError),
])
def test_torch_views_the_core_cannot_fill_are_refused(make, exc):
    torch = _torch()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nested tensors are a prototype: torch warns at creation
        t = make(torch)
    with pytest.raises(exc, match="tensor"):
        wi.uniform_(t, seed=1)
    with pytest.raises(exc, match="tensor"):
        wi.xavier_uniform_(t.reshape(2, 2) if t.layout == torch.strided and not t.is_nested else t, seed=1)
    if t.layout == torch.strided and not t.is_nested:
        assert (t.resolve_neg() == -SENTINEL).all()


# ---------------------------------------------------------------- JSON read from files

DEEP = "[" * 100_000 + "]" * 100_000  # json's decoder recurses per level: a RecursionError unless caught


def _safetensors(path, header: bytes):
    header += b" " * (-len(header) % 8)
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 16)
    return str(path)


@pytest.mark.parametrize("read", [
    lambda tmp: wi.ModelSpec.from_json(DEEP),
    lambda tmp: wi.ModelSpec.from_json('{"params": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}"),
    lambda tmp: wi.load_spec(_write(tmp / "spec.json", DEEP)),
    lambda tmp: wi.hf.load_config(_write(tmp / "config.json", '{"model_type": "gpt2", "x": ' + DEEP + "}")),
    lambda tmp: cs.read_header(_safetensors(tmp / "h.safetensors", DEEP.encode())),
    lambda tmp: wi.inspect(_safetensors(tmp / "m.safetensors", json.dumps(
        {"__metadata__": {"weightinit.spec": DEEP}}).encode()), expect="metadata"),
], ids=["from_json-list", "from_json-object", "load_spec", "hf-config", "safetensors-header",
        "inspect-metadata-spec"])
def test_json_nested_100000_deep_is_a_one_line_value_error(read, tmp_path):
    with pytest.raises(ValueError, match="nested too deeply") as info:
        read(tmp_path)
    assert "\n" not in str(info.value)


def test_initializer_arguments_nested_deeper_than_json_allows_python_are_refused():
    text = '{"params": {"w": {"shape": [2], "init": "normal_", "std": ' + "[" * 900 + "]" * 900 + "}}}"
    with pytest.raises(ValueError, match="^w: initializer arguments nested more than"):
        wi.ModelSpec.from_json(text)


@pytest.mark.parametrize("header", [
    b'{"a": 1}', b'{"a": {"dtype": "F32", "data_offsets": [0, 4]}}',
    b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": "x"}}',
    b'{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}', b'{"__metadata__": [1, 2]}',
])
def test_malformed_safetensors_headers_are_value_errors(header, tmp_path):
    with pytest.raises(ValueError, match="is not a .safetensors file"):
        cs.read_header(_safetensors(tmp_path / "bad.safetensors", header))


def test_malformed_shard_index_is_a_value_error(tmp_path):
    (tmp_path / "model.safetensors.index.json").write_text('{"weight_map": 3}')
    with pytest.raises(ValueError, match="weight_map"):
        wi.inspect(str(tmp_path))


def _write(path, text):
    path.write_text(text)
    return str(path)
