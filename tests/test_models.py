"""Model specs and init_model: per-name streams, JSON round trip, out=, windows, validation."""

from __future__ import annotations

import json
import math

import ml_dtypes
import numpy as np
import pytest

import weightinit as wi
from weightinit import build, models
from weightinit.build import fill_param, init_model
from weightinit.models import ModelSpec, Param

BF16 = np.dtype(ml_dtypes.bfloat16)


def small_spec() -> ModelSpec:
    return ModelSpec({
        "emb.weight": Param((50, 16), "normal_", std=0.02, zero_rows=[0]),
        "fc1.weight": Param((32, 16), "kaiming_normal_", mode="fan_out", nonlinearity="relu"),
        "fc1.bias": Param((32,), "zeros_"),
        "fc2.weight": Param((8, 32), "xavier_uniform_", gain=0.5),
        "fc2.bias": Param((8,), "uniform_", a=-0.1, b=0.1),
        "ln.weight": Param((8,), "ones_"),
        "ln.bias": Param((8,), "constant_", val=0.25),
        "head.weight": Param((8, 8), "trunc_normal_", std=0.02, a=-0.04, b=0.04),
        "rot.weight": Param((8, 8), "orthogonal_"),
        "steps": Param((), "zeros_", dtype="int64", buffer=True),
        "scale": Param((4,), "ones_", dtype="float32"),
    }, name="small", description="test model", source="tests", metadata={"k": [1, 2]})


# one row per initializer: (name, shape, kwargs)
INIT_TABLE = [
    ("uniform_", (64, 32), {"a": -0.5, "b": 0.5}),
    ("normal_", (64, 32), {"mean": 0.1, "std": 0.02}),
    ("trunc_normal_", (64, 32), {"std": 0.5}),
    ("constant_", (64, 32), {"val": 0.3}),
    ("zeros_", (64,), {}),
    ("ones_", (64,), {}),
    ("xavier_uniform_", (64, 32), {"gain": 2.0}),
    ("xavier_normal_", (64, 32, 3), {}),
    ("kaiming_uniform_", (64, 32), {"a": math.sqrt(5)}),
    ("kaiming_normal_", (64, 32, 3, 3), {"mode": "fan_out", "nonlinearity": "relu"}),
    ("variance_scaling_", (64, 32), {"scale": 2.0, "mode": "fan_avg", "distribution": "uniform"}),
    ("lecun_normal_", (3, 3, 32, 64), {"in_axis": -2, "out_axis": -1}),
    ("glorot_uniform_", (64, 32), {}),
    ("he_normal_", (64, 32), {}),
    ("orthogonal_", (64, 32), {"gain": 1.5}),
    ("sparse_", (64, 32), {"sparsity": 0.5}),
    ("eye_", (16, 32), {}),
    ("dirac_", (8, 4, 3, 3), {}),
]


def test_every_initializer_is_reachable_by_name():
    names = models.initializer_names()
    for n in ("uniform_", "normal_", "trunc_normal_", "constant_", "zeros_", "ones_",
              "kaiming_normal_", "xavier_uniform_", "orthogonal_", "variance_scaling_"):
        assert n in names
    for name, _, _ in INIT_TABLE:
        assert name in names


@pytest.mark.parametrize("name,shape,kw", INIT_TABLE, ids=[r[0] for r in INIT_TABLE])
def test_param_equals_the_direct_call(name, shape, kw):
    spec = ModelSpec({"p": Param(shape, name, **kw)})
    got = init_model(spec, seed=11)["p"]
    ini = models.initializer(name)
    want = np.empty(shape, np.float32)
    extra = dict(seed=11, stream="p") if ini.random else {}
    ini.fn(want, **kw, **extra)
    assert got.dtype == np.float32 and got.shape == shape
    np.testing.assert_array_equal(got, want)


def test_each_parameter_uses_the_stream_of_its_name():
    out = init_model(small_spec(), seed=5)
    np.testing.assert_array_equal(out["fc2.bias"],
                                  wi.uniform((8,), -0.1, 0.1, seed=5, stream="fc2.bias"))
    emb = wi.normal((50, 16), 0.0, 0.02, seed=5, stream="emb.weight")
    emb[0] = 0
    np.testing.assert_array_equal(out["emb.weight"], emb)


def test_adding_and_reordering_parameters_changes_no_other_parameter():
    spec = small_spec()
    base = init_model(spec, seed=3)
    items = list(spec.items())
    grown = dict(items[:3] + [("new.weight", Param((100, 100), "normal_"))] + items[3:])
    reordered = dict(reversed(items))
    for variant in (ModelSpec(grown), ModelSpec(reordered), ModelSpec(dict(items[4:]))):
        got = init_model(variant, seed=3)
        for name in variant:
            if name in base:
                np.testing.assert_array_equal(got[name], base[name], err_msg=name)


def test_same_seed_same_values_other_seed_other_values():
    a = init_model(small_spec(), seed=1)
    b = init_model(small_spec(), seed=1)
    c = init_model(small_spec(), seed=2)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["fc1.weight"], c["fc1.weight"])


def test_threads_do_not_change_values():
    spec = ModelSpec({"w": Param((512, 1024), "normal_", std=0.02),
                      "k": Param((256, 256, 3), "kaiming_uniform_")})
    one = init_model(spec, seed=9, threads=1)
    two = init_model(spec, seed=9, threads=2)
    for k in one:
        np.testing.assert_array_equal(one[k], two[k])


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_dtypes(dtype):
    out = init_model(small_spec(), seed=4, dtype=dtype)
    want = wi.models.np_dtype(dtype)
    assert out["fc1.weight"].dtype == want
    assert out["scale"].dtype == np.float32  # its own dtype wins
    assert out["steps"].dtype == np.int64 and out["steps"].shape == () and out["steps"] == 0


def test_16_bit_values_are_the_float32_values_rounded():
    spec = ModelSpec({"w": Param((300, 7), "normal_", std=0.02),
                      "u": Param((301,), "uniform_", a=-1, b=1)})
    f32 = init_model(spec, seed=8)
    for dt in ("bfloat16", "float16"):
        low = init_model(spec, seed=8, dtype=dt)
        for k in spec:
            np.testing.assert_array_equal(low[k], f32[k].astype(low[k].dtype))


def test_out_fills_in_place_and_returns_the_same_objects():
    spec = small_spec()
    ref = init_model(spec, seed=6)
    out = {k: np.full(v.shape, 7, v.dtype) for k, v in ref.items()}
    got = init_model(spec, seed=6, out=out)
    for k in spec:
        assert got[k] is out[k]
        np.testing.assert_array_equal(out[k], ref[k])


def test_out_may_have_other_float_dtypes():
    spec = small_spec()
    out = {k: np.zeros(p.shape, models.np_dtype(p.dtype) if p.dtype else BF16)
           for k, p in spec.items()}
    init_model(spec, seed=6, out=out)
    ref = init_model(spec, seed=6, dtype="bfloat16")
    for k in spec:
        assert out[k].dtype == ref[k].dtype
        np.testing.assert_array_equal(np.atleast_1d(out[k]).view(np.uint8),
                                      np.atleast_1d(ref[k]).view(np.uint8))


@pytest.mark.parametrize("bad", ["missing", "extra", "shape", "readonly", "int"])
def test_bad_out_raises_before_anything_is_written(bad):
    spec = small_spec()
    out = {k: np.full(p.shape, 7, np.int64 if p.dtype == "int64" else np.float32)
           for k, p in spec.items()}
    if bad == "missing":
        del out["fc2.bias"]
    elif bad == "extra":
        out["other"] = np.zeros(3, np.float32)
    elif bad == "shape":
        out["head.weight"] = np.full((8, 9), 7, np.float32)
    elif bad == "readonly":
        out["head.weight"].flags.writeable = False
    else:
        out["head.weight"] = np.full((8, 8), 7, np.int32)
    with pytest.raises((KeyError, ValueError, TypeError)):
        init_model(spec, seed=1, out=out)
    for k, a in out.items():
        assert k == "other" or (a == 7).all(), k


def test_bad_initializer_arguments_raise_before_anything_is_written():
    spec = ModelSpec({"a": Param((4, 4), "zeros_"),
                      "b": Param((4, 4), "kaiming_normal_", mode="fan_sideways")})
    out = {"a": np.full((4, 4), 7, np.float32), "b": np.full((4, 4), 7, np.float32)}
    with pytest.raises(ValueError, match="b .*mode"):
        init_model(spec, seed=1, out=out)
    assert (out["a"] == 7).all()
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init_model(ModelSpec({"v": Param((4,), "xavier_uniform_")}), seed=1)
    with pytest.raises(ValueError, match="std"):
        init_model(ModelSpec({"v": Param((4,), "normal_", std=-1.0)}), seed=1)


def test_param_validation():
    with pytest.raises(ValueError, match="not known"):
        Param((3,), "gaussian_")
    with pytest.raises(TypeError, match="bad arguments for normal_.*accepted: mean, std"):
        Param((3,), "normal_", sigma=1.0)
    with pytest.raises(ValueError, match="set by the model level"):
        Param((3,), "normal_", seed=3)
    with pytest.raises(ValueError, match="zero_rows"):
        Param((3, 2), "normal_", zero_rows=[3])
    with pytest.raises(ValueError, match="int64"):
        Param((3,), "normal_", dtype="int64")
    with pytest.raises(TypeError):
        Param((3,), "normal_", dtype="int32")
    with pytest.raises(ValueError, match="non-negative"):
        Param((3, -1), "zeros_")
    with pytest.raises(TypeError, match="JSON|numbers"):
        Param((3,), "normal_", std=object())
    with pytest.raises(TypeError):
        init_model(small_spec(), seed=1, dtype="int8")
    with pytest.raises(ValueError):
        init_model(small_spec(), seed=-1)


def test_json_round_trip(tmp_path):
    spec = small_spec()
    path = tmp_path / "spec.json"
    spec.save(path)
    loaded = ModelSpec.load(path)
    assert loaded == spec
    assert list(loaded) == list(spec)
    assert loaded.to_json() == spec.to_json()
    assert (loaded.name, loaded.description, loaded.source, loaded.metadata) == (
        "small", "test model", "tests", {"k": [1, 2]})
    a, b = init_model(spec, seed=2), init_model(loaded, seed=2)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    # the documented flat format
    d = json.loads(path.read_text())
    assert d["format"] == "weightinit.model/1"
    assert d["params"]["fc1.weight"] == {"shape": [32, 16], "init": "kaiming_normal_",
                                         "mode": "fan_out", "nonlinearity": "relu"}
    assert d["params"]["steps"] == {"shape": [], "init": "zeros_", "dtype": "int64",
                                    "buffer": True}
    assert wi.models.load_spec(path) == spec


def test_json_floats_round_trip_exactly():
    spec = ModelSpec({"w": Param((4, 4), "kaiming_uniform_", a=math.sqrt(5)),
                      "b": Param((4,), "uniform_", a=-1 / math.sqrt(3), b=1 / math.sqrt(3))})
    assert ModelSpec.from_json(spec.to_json()) == spec
    assert ModelSpec.from_json(spec.to_json())["w"].kwargs["a"] == math.sqrt(5)


def test_spec_from_hand_written_json_and_mappings():
    text = """{"params": {"w": {"shape": [3, 4], "init": "normal_", "std": 0.5},
                          "b": {"shape": [3], "init": "zeros_"}}}"""
    spec = ModelSpec.from_json(text)
    assert spec.num_params() == 15
    assert build.as_spec(json.loads(text)) == spec
    assert build.as_spec({"w": {"shape": [3, 4], "init": "normal_", "std": 0.5},
                           "b": Param((3,), "zeros_")}) == spec
    out = init_model(json.loads(text), seed=1)
    assert set(out) == {"w", "b"}


@pytest.mark.parametrize("text,match", [
    ("{", "invalid JSON"),
    ('{"params": {"w": {"init": "zeros_"}}}', "w: missing 'shape'"),
    ('{"params": {"w": {"shape": [2], "init": "nope_"}}}', "w: init 'nope_' is not known"),
    ('{"params": {"w": {"shape": [2], "init": "normal_", "stdd": 1}}}', "w: bad arguments"),
    ('{"format": "other/9", "params": {}}', "unsupported spec format"),
    ('{"params": {}, "typo": 1}', "unknown spec keys"),
    ('[1, 2]', "JSON object"),
])
def test_bad_json_specs(text, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ModelSpec.from_json(text)


def test_counts_and_sizes():
    spec = small_spec()
    assert spec.num_params() == 50 * 16 + 32 * 16 + 32 + 8 * 32 + 8 + 8 + 8 + 64 + 64 + 4
    n_float = spec.num_params()  # the int64 buffer is the only buffer
    assert spec.nbytes("float32") == 4 * n_float + 8
    assert spec.nbytes("bfloat16") == 2 * (n_float - 4) + 16 + 8
    assert "small" in repr(spec) and len(spec) == 11


def test_seed_none_uses_the_default_generator():
    spec = ModelSpec({"w": Param((10,), "normal_")})
    wi.manual_seed(1234)
    a = init_model(spec)["w"]
    np.testing.assert_array_equal(a, init_model(spec, seed=1234)["w"])
    g = wi.Generator(77)
    np.testing.assert_array_equal(init_model(spec, generator=g)["w"],
                                  init_model(spec, seed=77)["w"])
    assert g.calls == 0
    with pytest.raises(TypeError):
        init_model(spec, seed=1, generator=g)


WINDOWED = [r for r in INIT_TABLE if build.can_window(Param(r[1], r[0], **r[2]))]


@pytest.mark.parametrize("name,shape,kw", WINDOWED, ids=[r[0] for r in WINDOWED])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float64"])
def test_windows_of_the_flat_tensor_equal_the_whole_fill(name, shape, kw, dtype):
    # what save_safetensors does: fill a window of the flat tensor at an element offset
    p = Param(shape, name, **kw)
    dt = models.np_dtype(dtype)
    whole = np.empty(shape, dt)
    fill_param(whole, p, "x", 99)
    flat = np.empty(p.size, dt)
    step = 333  # odd, so windows split Box-Muller pairs too
    for e0 in range(0, p.size, step):
        fill_param(flat[e0:e0 + step], p, "x", 99, offset=e0)
    np.testing.assert_array_equal(flat.view(np.uint8), whole.reshape(-1).view(np.uint8))


def test_zero_rows_in_windows():
    p = Param((10, 7), "normal_", zero_rows=[0, 4, 9])
    whole = np.empty((10, 7), np.float32)
    fill_param(whole, p, "e", 1)
    assert not whole[[0, 4, 9]].any() and whole[[1, 2, 3, 5]].all()
    flat = np.empty(70, np.float32)
    for e0 in range(0, 70, 9):
        fill_param(flat[e0:e0 + 9], p, "e", 1, offset=e0)
    np.testing.assert_array_equal(flat, whole.reshape(-1))


def test_non_elementwise_initializers_are_not_windowed():
    assert not build.can_window(Param((4, 4), "orthogonal_"))
    assert not build.can_window(Param((4, 4), "sparse_", sparsity=0.5))
    assert build.can_window(Param((4, 4), "kaiming_normal_"))
    assert build.can_window(Param((4, 4), "zeros_"))


def test_a_check_only_the_fill_makes_names_the_parameter():
    spec = {"params": {"enc.w": {"shape": [3, 4], "init": "martens_sparse_", "nonzeros": 15}}}
    with pytest.raises(ValueError, match=r"^enc\.w \(martens_sparse_\): nonzeros=15"):
        init_model(spec, seed=1)


def test_spec_errors_name_the_parameter_without_rewriting_messages():
    with pytest.raises(ValueError, match=r"^layer\.w: shape must contain non-negative"):
        ModelSpec.from_dict({"params": {"layer.w": {"shape": [3, -4], "init": "normal_"}}})
    with pytest.raises(TypeError, match=r"^layer\.w: dtype must be one of"):
        ModelSpec.from_dict({"params": {"layer.w": {"shape": [3], "init": "normal_", "dtype": "int8x"}}})
    with pytest.raises(ValueError, match=r"^Param: shape must contain non-negative"):
        Param((3, -4), "normal_")


def test_init_model_refuses_what_does_not_fit_in_memory_before_allocating(monkeypatch):
    # the spec: orthogonal_ of 60000 x 60000 needs ~144 GB of float64 QR scratch; refused
    # by the check (a one-line MemoryError naming the tensor), not by NumPy's allocation
    monkeypatch.setattr(build, "available_memory", lambda: 24 << 30)
    spec = ModelSpec.from_json('{"params": {"w": {"shape": [60000, 60000], "init": "orthogonal_"}}}')
    with pytest.raises(MemoryError, match=r"^w \(orthogonal_, shape \(60000, 60000\)\) needs about 144\.0 GB "
                                          r"of working memory \(float64 QR\) beside 14\.4 GB"):
        init_model(spec, seed=1)
    # at the limit: the arrays (float32) plus the largest QR scratch
    spec = ModelSpec({"a": Param((64, 64), "normal_"), "q": Param((512, 256), "orthogonal_")})
    need = spec.nbytes("float32") + 5 * 8 * 512 * 256
    monkeypatch.setattr(build, "available_memory", lambda: need - 1)
    with pytest.raises(MemoryError, match=r"^q \(orthogonal_"):
        init_model(spec, seed=1)
    monkeypatch.setattr(build, "available_memory", lambda: need)
    init_model(spec, seed=1)
    # out= allocates no arrays: only the QR scratch counts
    monkeypatch.setattr(build, "available_memory", lambda: 5 * 8 * 512 * 256)
    init_model(spec, seed=1, out={n: np.empty(p.shape, np.float32) for n, p in spec.items()})
    # element-wise initializers need only their arrays
    monkeypatch.setattr(build, "available_memory", lambda: 999)
    with pytest.raises(MemoryError, match=r"^the model's arrays need 16\.4 kB, 999 B is available"):
        init_model({"a": Param((64, 64), "normal_")}, seed=1)


def test_a_valid_delta_orthogonal_spec_is_accepted():
    # check_param once validated on a (0, in, k) array: "4 in > 0 out" refused every such spec
    got = init_model({"conv.w": Param((8, 4, 3), "delta_orthogonal_")}, seed=5)["conv.w"]
    want = wi.delta_orthogonal_(np.empty((8, 4, 3), np.float32), seed=5, stream="conv.w")
    np.testing.assert_array_equal(got, want)


def test_check_param_of_a_large_orthogonal_is_not_held_to_the_box_limit():
    # init_model fills it whole; only a box of it (Dask chunks) computes the whole matrix per box
    build.check_param(Param((2**13, 2**11 + 1), "orthogonal_"), "q", np.dtype(np.float32))


@pytest.mark.parametrize("bad, match", [
    (Param((3, 4), "martens_sparse_", nonzeros=15), r"nonzeros=15 exceeds the 4 incoming"),
    (Param((6, 4, 3), "dirac_", groups=4), r"groups=4 must divide"),
    (Param((4, 8, 3), "delta_orthogonal_"), r"8 in \(axis 1\) > 4 out"),
    (Param((256, 256), "xavier_normal_", gain=3e6), r"float16"),
], ids=["martens-nonzeros", "dirac-groups", "delta-channels", "xavier-overflow"])
def test_checks_that_need_the_whole_shape_run_before_anything_is_written(bad, match, tmp_path):
    spec = ModelSpec({"first": Param((4, 4), "normal_"), "bad": bad})
    out = {n: np.zeros(p.shape, np.float16) for n, p in spec.items()}
    with pytest.raises(ValueError, match=r"^bad \(" + bad.init + r"\): .*" + match):
        init_model(spec, seed=1, out=out)
    assert not any(a.any() for a in out.values())  # "first" was not written either
    with pytest.raises(ValueError, match=match):  # the dry run of a checkpoint sees it too
        wi.safetensors_io.plan_safetensors(spec, tmp_path / "m.safetensors", seed=1, dtype="float16")
