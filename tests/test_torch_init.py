"""weightinit.torch.init: torch.nn.init's functions side by side with torch's own.

Each case makes the same call on torch.nn.init and on weightinit.torch.init and compares the
outcome: signature, value distribution (two-sample KS and moments), warnings, exceptions.
"""

import inspect
import math
import warnings

import pytest

torch = pytest.importorskip("torch")
stats = pytest.importorskip("scipy.stats")

import torch.nn.init as T  # noqa: E402

import weightinit.torch.init as W  # noqa: E402

PUBLIC = sorted(n for n in dir(T) if not n.startswith("_") and callable(getattr(T, n))
                and getattr(getattr(T, n), "__module__", "") == "torch.nn.init")

# (name, shape, args, kwargs): every random function of torch.nn.init
RANDOM = [
    ("uniform_", (300, 200), (-0.5, 2.0), {}),
    ("normal_", (300, 200), (1.0, 0.3), {}),
    ("trunc_normal_", (300, 200), (0.0, 1.0, -1.0, 1.5), {}),
    ("trunc_normal_", (300, 200), (), {"std": 0.02}),
    ("xavier_uniform_", (300, 200), (), {"gain": 2.0}),
    ("xavier_normal_", (30, 20, 3, 3), (), {}),
    ("kaiming_uniform_", (300, 200), (), {"a": math.sqrt(5)}),
    ("kaiming_uniform_", (30, 20, 3), (), {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", (300, 200), (), {"nonlinearity": "tanh"}),
    ("orthogonal_", (300, 200), (), {"gain": 1.5}),
    ("sparse_", (300, 200), (0.3,), {"std": 0.5}),
]


def test_every_function_of_torch_nn_init_is_there_with_torchs_signature():
    assert PUBLIC, "torch.nn.init lists no functions?"
    for n in PUBLIC:
        assert inspect.signature(getattr(W, n)) == inspect.signature(getattr(T, n)), n
    for n in ("_calculate_fan_in_and_fan_out", "_calculate_correct_fan"):
        assert getattr(W, n) is getattr(T, n)


@pytest.mark.parametrize("name,shape,args,kwargs", RANDOM,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(RANDOM)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_same_distribution_as_torch(name, shape, args, kwargs, dtype):
    torch.manual_seed(123)
    if name == "orthogonal_" and dtype == torch.bfloat16:  # torch has no bfloat16 QR: use float32
        ref = T.orthogonal_(torch.empty(shape), *args, **kwargs).to(dtype).float().flatten()
    else:
        ref = getattr(T, name)(torch.empty(shape, dtype=dtype), *args, **kwargs).float().flatten()
    torch.manual_seed(123)
    t = torch.empty(shape, dtype=dtype)
    got = getattr(W, name)(t, *args, **kwargs)
    assert got is t
    got = got.float().flatten()
    if name == "orthogonal_":  # the law is Haar: compare the Gram matrix, then the entries
        w = t.float().reshape(shape[0], -1)
        tol = 1e-5 if dtype == torch.float32 else 3e-2
        torch.testing.assert_close(w.T @ w / 1.5 ** 2, torch.eye(w.shape[1]), atol=tol * 10,
                                   rtol=0)
    if name == "sparse_":  # same number of zeros per column, the rest N(0, std^2)
        assert torch.equal((t == 0).sum(0), (ref.view(shape) == 0).sum(0))
        got, ref = got[got != 0], ref[ref != 0]
    n = got.numel()
    # means within 5 standard errors, stds within 5 standard errors of a std estimate
    sd = float(ref.std())
    assert abs(float(got.mean()) - float(ref.mean())) < 5 * sd * math.sqrt(2 / n)
    assert abs(float(got.std()) / sd - 1) < 5 * math.sqrt(1 / n) + (4e-3 if dtype != torch.float32
                                                                     else 0)
    if dtype == torch.float32:
        assert stats.ks_2samp(got.numpy(), ref.numpy()).pvalue > 1e-3
    assert float(got.min()) >= float(ref.min()) - 5 * sd and float(got.max()) <= float(
        ref.max()) + 5 * sd
    if name == "trunc_normal_":
        a, b = (args[2:4] if args else (-2.0, 2.0))
        assert a <= float(got.min()) and float(got.max()) <= b
    if name in ("uniform_", "kaiming_uniform_", "xavier_uniform_"):  # sample ranges of 60000
        lo, hi = float(ref.min()), float(ref.max())
        # bfloat16: weightinit rounds the float32 value to nearest, so b itself can appear
        tol = 1e-3 * (hi - lo) + (max(abs(lo), abs(hi)) * 2 ** -7 if dtype != torch.float32 else 0)
        assert lo - tol <= float(got.min()) and float(got.max()) <= hi + tol


def test_seeded_from_torchs_generators():
    torch.manual_seed(7)
    a = W.normal_(torch.empty(1000))
    b = W.normal_(torch.empty(1000))
    torch.manual_seed(7)
    assert torch.equal(W.normal_(torch.empty(1000)), a)  # torch.manual_seed governs it
    assert not torch.equal(a, b)  # each call draws a fresh seed
    g = torch.Generator().manual_seed(3)
    x = W.kaiming_uniform_(torch.empty(64, 32), generator=g)
    state = torch.get_rng_state()
    y = W.kaiming_uniform_(torch.empty(64, 32), generator=torch.Generator().manual_seed(3))
    assert torch.equal(x, y)
    assert torch.equal(torch.get_rng_state(), state)  # an explicit generator leaves the global one


def _outcome(fn, *args, **kwargs):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            out = fn(*args, **kwargs)
            err = None
        except Exception as exc:  # noqa: BLE001 - the type is what is compared
            out, err = None, type(exc)
    return out, err, [x.category for x in w]


BAD = [
    ("calculate_gain", ("leaky_relu", True), {}),
    ("calculate_gain", ("swish",), {}),
    ("uniform_", (torch.empty(4), 2.0, 1.0), {}),
    ("normal_", (torch.empty(4), 0.0, -1.0), {}),
    ("uniform_", (torch.empty(4, dtype=torch.int32),), {}),
    ("xavier_uniform_", (torch.empty(4),), {}),
    ("kaiming_normal_", (torch.empty(4, 4),), {"mode": "fan_middle"}),
    ("kaiming_uniform_", (torch.empty(4, 4),), {"nonlinearity": "nope"}),
    ("orthogonal_", (torch.empty(4),), {}),
    ("sparse_", (torch.empty(4, 4, 4), 0.1), {}),
    ("trunc_normal_", (torch.empty(4),), {"a": 2.0, "b": 1.0}),
    ("uniform_", (torch.empty(4), float("inf"), 1e40), {}),
]


@pytest.mark.parametrize("name,args,kwargs", BAD, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD)])
def test_same_exceptions_as_torch(name, args, kwargs):
    want = _outcome(getattr(T, name), *[a.clone() if torch.is_tensor(a) else a for a in args],
                    **kwargs)
    got = _outcome(getattr(W, name), *args, **kwargs)
    assert got[1] == want[1] and got[2] == want[2]


@pytest.mark.parametrize("name", [c[0] for c in RANDOM] + ["constant_", "eye_", "ones_"])
@pytest.mark.parametrize("shape", [(0, 5), (0,), (5, 0, 3)])
def test_zero_element_tensors_warn_and_fill_nothing_as_torch_does(name, shape):
    args = {"sparse_": (0.1,), "constant_": (2.0,)}.get(name, ())
    want = _outcome(getattr(T, name), torch.empty(shape), *args)
    got = _outcome(getattr(W, name), torch.empty(shape), *args)
    assert got[1] == want[1] and got[2] == want[2], (got, want)
    if name == "kaiming_uniform_" and len(shape) > 1:
        assert got[2] == [UserWarning]


@pytest.mark.parametrize("name,shape,args,kwargs", RANDOM,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(RANDOM)])
def test_meta_tensors_are_a_no_op(name, shape, args, kwargs):
    t = torch.empty(shape, device="meta")
    state = torch.get_rng_state()
    assert getattr(W, name)(t, *args, **kwargs) is t
    assert torch.equal(torch.get_rng_state(), state)


def test_parameters_with_grad_and_deprecated_aliases():
    p = torch.nn.Parameter(torch.empty(8, 8))
    assert W.xavier_normal_(p) is p and p.requires_grad and p.grad_fn is None
    with pytest.warns(FutureWarning, match="deprecated"):
        W.uniform(torch.empty(3))
    assert W.calculate_gain("leaky_relu", 0.2) == T.calculate_gain("leaky_relu", 0.2)


def test_drop_in_for_a_module_written_against_torch_nn_init():
    # the code of nn.Linear.reset_parameters, with the module swapped
    def reset(lin, init):
        init.kaiming_uniform_(lin.weight, a=math.sqrt(5))
        fan_in, _ = init._calculate_fan_in_and_fan_out(lin.weight)
        init.uniform_(lin.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))

    lin = torch.nn.Linear(400, 300)
    torch.manual_seed(0)
    reset(lin, W)
    w = lin.weight.detach()
    assert 0.99 / math.sqrt(400) < float(w.abs().max()) <= 1 / math.sqrt(400)
    w = lin.weight.detach().clone()
    torch.manual_seed(0)
    reset(lin, W)
    assert torch.equal(lin.weight, w)
