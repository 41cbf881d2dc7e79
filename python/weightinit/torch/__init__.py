"""PyTorch integration: initialize an ``nn.Module``'s parameters in place, reproducibly.

:func:`init_module` fills every parameter (and the buffers that need it) of a module with
weightinit's streams -- parameter ``name`` (its state-dict name) gets ``seed=seed,
stream=name`` -- directly in the tensors' memory: no copy, float32, float64, float16 and
bfloat16 CPU tensors alike. A module built on the ``meta`` device (no memory) is first
materialized with ``module.to_empty(device="cpu")`` and then filled.

Requires torch (the ``[torch]`` extra); the rest of weightinit works without it.
"""

from __future__ import annotations

import fnmatch
import warnings
from collections.abc import Mapping
from typing import Any, Callable, Dict, List, Optional, Tuple, Type, Union

import numpy as np

try:  # absolute import (Python 3): this is PyTorch, not this module
    import torch
    import torch.nn as nn
except ImportError as _exc:  # pragma: no cover - exercised only without torch
    raise ImportError(
        "weightinit.torch needs PyTorch; install it with: pip install 'weightinit[torch]'"
    ) from _exc

from .. import _random
from ..build import check_param, constant_value, resolve_seed
from ..defaults import torch_layer_rules
from ..models import Param
from ..registry import initializer
from .distributed import fill_shard_, fill_target

__all__ = ["init_module", "plan_module", "SCHEMES", "diagnose_module", "fill_shard_", "accelerate"]

_NP_DTYPES: Dict[torch.dtype, np.dtype] = {
    torch.float32: np.dtype(np.float32), torch.float64: np.dtype(np.float64),
    torch.float16: np.dtype(np.float16), torch.bfloat16: _random.parse_dtype("bfloat16")}

#: the named schemes of init_module ("auto": the module's own init code, see init_module)
SCHEMES = ("auto", "torch", "recommended")
_RULE_WORDS = ("torch", "recommended", "skip")

# activation modules -> recommend() name (and how to read their parameter)
_ACTIVATIONS: Dict[type, Tuple[str, Optional[Callable[[Any], float]]]] = {
    nn.ReLU: ("relu", None), nn.ReLU6: ("relu", None), nn.RReLU: ("relu", None),
    nn.LeakyReLU: ("leaky_relu", lambda m: float(m.negative_slope)),
    nn.PReLU: ("prelu", lambda m: float(m.init)),
    nn.ELU: ("elu", None), nn.CELU: ("elu", None), nn.SELU: ("selu", None),
    nn.GELU: ("gelu", None), nn.SiLU: ("silu", None), nn.Mish: ("mish", None),
    nn.Softplus: ("softplus", None), nn.Tanh: ("tanh", None), nn.Sigmoid: ("sigmoid", None),
    nn.Softmax: ("softmax", None), nn.LogSoftmax: ("softmax", None),
    nn.Identity: ("linear", None),
}
# modules that neither change the activation that follows a layer nor hold weights of their own
_TRANSPARENT = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout,
                nn.Flatten, nn.Unflatten, nn.modules.batchnorm._NormBase, nn.LayerNorm,
                nn.GroupNorm, nn.RMSNorm, nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d,
                nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d, nn.AdaptiveAvgPool1d,
                nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)

_CONV_KINDS = {nn.Conv1d: "conv1d", nn.Conv2d: "conv2d", nn.Conv3d: "conv3d",
               nn.ConvTranspose1d: "conv_transpose1d", nn.ConvTranspose2d: "conv_transpose2d",
               nn.ConvTranspose3d: "conv_transpose3d"}
# the layers whose reset_parameters is torch's linear (or bilinear) rule; Any: each has .weight, .bias
_LINEAR_KINDS: Tuple[Type[Any], ...] = (nn.Linear, nn.Bilinear) + tuple(_CONV_KINDS)


def _qualified(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class _Fill:
    """One planned fill: a tensor, its name (= stream) and how to fill it."""

    __slots__ = ("name", "tensor", "how", "call")

    def __init__(self, name: str, tensor: Any, how: str,
                 call: Callable[[Any, Dict[str, Any]], None]):
        self.name, self.tensor, self.how, self.call = name, tensor, how, call


def _core(fn_name: str, *args: Any, **kw: Any) -> Callable[[Any, Dict[str, Any]], None]:
    """A fill by a weightinit function (random ones get seed/stream/threads from ``rk``)."""
    ini = initializer(fn_name)

    takes_threads = "threads" in ini.signature.parameters

    def call(t: Any, rk: Dict[str, Any]) -> None:
        box = {k: rk[k] for k in ("global_shape", "start") if k in rk}  # a DTensor's shard
        if ini.random:
            ini.fn(t, *args, **kw, **rk)
        elif takes_threads:
            ini.fn(t, *args, **kw, threads=rk["threads"], **box)
        else:
            ini.fn(t, *args, **kw, **box)

    return call


def _describe(fn_name: str, *args: Any, **kw: Any) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kw.items()]
    return f"{fn_name}({', '.join(parts)})"


def _plan_fill(name: str, t: Any, fn_name: str, *args: Any, **kw: Any) -> _Fill:
    return _Fill(name, t, _describe(fn_name, *args, **kw), _core(fn_name, *args, **kw))


def _torch_rules(mod: Any, prefix: str) -> List[_Fill]:
    """torch's reset_parameters / reset_running_stats of ``mod`` (its own tensors only), as
    planned fills; empty for module types without parameters or unknown to this table."""
    out: List[_Fill] = []

    def add(n: str, fn: str, *a: Any, **k: Any) -> None:
        out.append(_plan_fill(_qualified(prefix, n), getattr(mod, n), fn, *a, **k))

    if isinstance(mod, _LINEAR_KINDS):
        # reset_parameters of nn.Linear / _ConvNd / nn.Bilinear: torch's layer-defaults table
        kind = "bilinear" if isinstance(mod, nn.Bilinear) else "linear"  # conv: linear's rule on its shape
        rules = torch_layer_rules(kind, tuple(mod.weight.shape))
        add("weight", rules["weight"][0], **rules["weight"][1])
        if mod.bias is not None:
            add("bias", rules["bias"][0], **rules["bias"][1])
    elif isinstance(mod, (nn.Embedding, nn.EmbeddingBag)):
        fill = _plan_fill(_qualified(prefix, "weight"), mod.weight, "normal_")
        if mod.padding_idx is not None:
            fill = _zero_row(fill, mod.padding_idx)
        out.append(fill)
    elif isinstance(mod, (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)):
        if getattr(mod, "weight", None) is not None:
            add("weight", "ones_")
        if getattr(mod, "bias", None) is not None:
            add("bias", "zeros_")
        if isinstance(mod, nn.modules.batchnorm._NormBase) and mod.track_running_stats:
            if mod.running_mean is not None:
                add("running_mean", "zeros_")
                add("running_var", "ones_")
            if mod.num_batches_tracked is not None:
                out.append(_Fill(_qualified(prefix, "num_batches_tracked"), mod.num_batches_tracked, "zero_()",
                                 lambda t, rk: t.zero_()))
    elif isinstance(mod, nn.RMSNorm):
        if mod.weight is not None:
            add("weight", "ones_")
    elif isinstance(mod, (nn.RNNBase, nn.RNNCellBase)):
        init, kw = torch_layer_rules("rnn", hidden_size=mod.hidden_size)["weight"]  # every parameter
        for n, _ in mod.named_parameters(recurse=False):
            add(n, init, **kw)
    elif isinstance(mod, nn.PReLU):
        add("weight", "constant_", float(mod.init))
    elif isinstance(mod, nn.MultiheadAttention):
        # MultiheadAttention._reset_parameters, after its out_proj Linear's own reset
        if mod._qkv_same_embed_dim:
            add("in_proj_weight", "xavier_uniform_")
        else:
            for n in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                add(n, "xavier_uniform_")
        if mod.in_proj_bias is not None:
            add("in_proj_bias", "zeros_")
            out.append(_plan_fill(_qualified(prefix, "out_proj.bias"), mod.out_proj.bias, "zeros_"))
        for n in ("bias_k", "bias_v"):
            if getattr(mod, n) is not None:
                add(n, "xavier_normal_")
    elif isinstance(mod, nn.Transformer):
        # nn.Transformer._reset_parameters: xavier_uniform_ on every parameter of >1 dims
        for n, p in mod.named_parameters():
            if p.dim() > 1:
                out.append(_plan_fill(_qualified(prefix, n), p, "xavier_uniform_"))
    return out


def _zero_row(fill: _Fill, row: int) -> _Fill:
    inner = fill.call

    def call(t: Any, rk: Dict[str, Any]) -> None:
        inner(t, rk)
        local = row - rk.get("start", (0,))[0]  # a DTensor shard holds rows from start[0] on
        if 0 <= local < t.shape[0]:
            with torch.no_grad():
                t[local].fill_(0)

    return _Fill(fill.name, fill.tensor, f"{fill.how}, row {row} = 0", call)


def _owned(mod: Any) -> List[Tuple[str, Any]]:
    return list(mod.named_parameters(recurse=False)) + [
        (n, b) for n, b in mod.named_buffers(recurse=False) if b is not None]


def _activation_after(parent: Any, child_name: str) -> Optional[Tuple[str, Optional[float]]]:
    """The activation that follows child ``child_name`` in a Sequential parent, if any."""
    if not isinstance(parent, nn.Sequential):
        return None
    names = list(parent._modules)
    i = names.index(child_name)
    for nxt in names[i + 1:]:
        m = parent._modules[nxt]
        for cls, (act, param) in _ACTIVATIONS.items():
            if type(m) is cls:
                return act, (param(m) if param else None)
        if isinstance(m, _TRANSPARENT):
            continue
        return None
    return ("linear", None)  # last layer of the Sequential: its output is not activated


def _recommended_rules(mod: Any, prefix: str, act: Tuple[str, Optional[float]]) -> List[_Fill]:
    from ..recommend import recommend

    if isinstance(mod, _LINEAR_KINDS):
        rec = recommend(*act)
        kw = dict(rec.kwargs)
        out = [_Fill(_qualified(prefix, "weight"), mod.weight, _describe(rec.scheme, **kw) + f"  # {act[0]}",
                     _core(rec.scheme, **kw))]
        if mod.bias is not None:
            out.append(_plan_fill(_qualified(prefix, "bias"), mod.bias, "zeros_"))
        return out
    if isinstance(mod, nn.MultiheadAttention):
        out = []
        for n in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"):
            if getattr(mod, n, None) is not None:
                out.append(_plan_fill(_qualified(prefix, n), getattr(mod, n), "xavier_uniform_"))
        out.append(_plan_fill(_qualified(prefix, "out_proj.weight"), mod.out_proj.weight, "xavier_uniform_"))
        for n, t in (("in_proj_bias", mod.in_proj_bias), ("out_proj.bias", mod.out_proj.bias)):
            if t is not None:
                out.append(_plan_fill(_qualified(prefix, n), t, "zeros_"))
        for n in ("bias_k", "bias_v"):
            if getattr(mod, n) is not None:
                out.append(_plan_fill(_qualified(prefix, n), getattr(mod, n), "xavier_normal_"))
        return out
    return _torch_rules(mod, prefix)


def _spec_fill(name: str, t: Any, rule: Any) -> _Fill:
    """A mapping's rule: an init name, {"init": name, **kwargs}, a Param or a callable."""
    if callable(rule) and not isinstance(rule, (str, Mapping)):
        def call(x: Any, rk: Dict[str, Any]) -> None:
            rule(x, seed=rk["seed"], stream=rk["stream"], threads=rk["threads"])
        call.takes_box = False  # type: ignore[attr-defined]  # refused for DTensor shards
        return _Fill(name, t, getattr(rule, "__name__", repr(rule)), call)
    if isinstance(rule, str):
        rule = {"init": rule}
    if isinstance(rule, Param):
        rule = {"init": rule.init, **rule.kwargs, "zero_rows": rule.zero_rows}
    if isinstance(rule, Mapping):
        if "init" not in rule:
            raise ValueError(f"rule for {name!r} needs an 'init' key, got {dict(rule)!r}")
        kwargs = {k: v for k, v in rule.items() if k not in ("init", "zero_rows")}
        p = Param(tuple(t.shape), rule["init"], zero_rows=rule.get("zero_rows", ()), **kwargs)
        init, kwargs, zero_rows = p.init, p.kwargs, p.zero_rows
        if not t.is_floating_point():  # an integer buffer, e.g. num_batches_tracked
            if init not in ("zeros_", "ones_", "constant_"):
                raise TypeError(f"{name!r} is a {t.dtype} tensor; {init} needs floats (integer "
                                "tensors take zeros_, ones_ or constant_)")
            value = constant_value(p)
            return _Fill(name, t, _describe(init, **kwargs), lambda x, rk: x.fill_(value))
        check_param(p, name, _NP_DTYPES.get(t.dtype, np.dtype(np.float32)))
    else:
        raise TypeError(f"rule for {name!r} must be 'torch', 'recommended', 'skip', an initializer "
                        f"name, a dict {{'init': name, **kwargs}} or a callable; got {rule!r}")
    fill = _plan_fill(name, t, init, **kwargs)
    for r in zero_rows:
        fill = _zero_row(fill, r)
    return fill


def _suggest(name: str, t: Any, m: Any) -> str:
    """A plausible rule for a tensor no table covers: norms' scales 1, biases 0, else normal."""
    leaf = name.rpartition(".")[2]
    if t.dim() <= 1 and "bias" in leaf:
        return "'zeros_'"
    if t.dim() == 1 and "norm" in type(m).__name__.lower():
        return "'ones_'"
    return "{'init': 'normal_', 'std': 0.02}"


def _own_init(module: Any) -> Optional[Callable[[], object]]:
    """The module's own init code, if it has one: transformers' ``init_weights``, an
    ``_init_weights`` applied to every submodule, or -- when some tensor has no torch default but
    its module has a ``reset_parameters`` -- every submodule's ``reset_parameters`` (children
    first, as construction order runs them)."""
    if callable(getattr(module, "init_weights", None)):
        return module.init_weights
    if callable(getattr(module, "_init_weights", None)):
        return lambda: module.apply(module._init_weights)
    resets = []
    for m in module.modules():
        fn = getattr(m, "reset_parameters", None) or getattr(m, "_reset_parameters", None)
        if callable(fn):
            resets.append(fn)
    custom = [m for m in module.modules() if callable(getattr(m, "reset_parameters", None))
              and _owned(m) and not _torch_rules(m, "")]
    if not custom:
        return None
    return lambda: [fn() for fn in reversed(resets)]  # modules() is parents first


def _match(patterns: Mapping[str, Any], name: str) -> Tuple[bool, Any]:
    for pat, rule in patterns.items():
        if fnmatch.fnmatchcase(name, pat):
            return True, rule
    return False, None


def plan_module(module: Any, scheme: Union[str, Mapping[str, Any]] = "torch", *,
                activation: Union[str, Tuple[str, float]] = "relu", strict: bool = False
                ) -> List[Tuple[str, str]]:
    """What :func:`init_module` would do: ``[(tensor name, how it is filled)]``; writes nothing.
    Tensors it leaves alone are listed with ``"untouched"``."""
    fills, untouched = _plan(module, scheme, activation, strict, materialized=False)
    return [(f.name, f.how) for f in fills] + [(n, "untouched") for n in untouched]


def _plan(module: Any, scheme: Any, activation: Any, strict: bool, materialized: bool
          ) -> Tuple[List[_Fill], List[str]]:
    if isinstance(scheme, str):
        if scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {', '.join(SCHEMES)} or a mapping pattern -> "
                             f"rule, got {scheme!r}")
        patterns: Mapping[str, Any] = {"*": "torch" if scheme == "auto" else scheme}
    elif isinstance(scheme, Mapping):
        patterns = scheme
        for pat in patterns:
            if not isinstance(pat, str):
                raise TypeError(f"scheme patterns must be str (fnmatch), got {pat!r}")
    else:
        raise TypeError(f"scheme must be 'torch', 'recommended' or a mapping, got "
                        f"{type(scheme).__name__}")
    act = (activation, None) if isinstance(activation, str) else tuple(activation)
    from ..recommend import recommend

    recommend(*act)  # validates the activation

    # every tensor once, under its first (state-dict) name; which module owns it
    owner: Dict[int, Tuple[str, Any, str]] = {}
    parents: Dict[str, Tuple[Any, str]] = {}
    modules = list(module.named_modules())
    for mname, m in modules:
        for cname, c in m._modules.items():
            if c is not None:
                parents.setdefault(f"{mname}.{cname}" if mname else cname, (m, cname))
        for n, t in _owned(m):
            owner.setdefault(id(t), (f"{mname}.{n}" if mname else n, m, mname))

    # type defaults, parents first so a parent's reset (MultiheadAttention, Transformer) wins
    defaults: Dict[str, Dict[int, _Fill]] = {"torch": {}, "recommended": {}}
    for mname, m in modules:
        par = parents.get(mname)
        a = _activation_after(*par) if par else None
        for kind, rules in (("torch", _torch_rules(m, mname)),
                            ("recommended", _recommended_rules(m, mname, a or act))):
            for f in rules:
                defaults[kind].setdefault(id(f.tensor), f)

    fills: List[_Fill] = []
    untouched: List[str] = []
    for tid, (name, m, _mname) in owner.items():
        t = next(t for n, t in _owned(m) if id(t) == tid)
        found, rule = _match(patterns, name)
        if not found:
            rule = "torch"
        if isinstance(rule, str) and rule in _RULE_WORDS:
            if rule == "skip":
                untouched.append(name)
                continue
            default = defaults[rule].get(tid)
            if default is None:
                if strict or (materialized and isinstance(t, nn.Parameter)):
                    raise ValueError(
                        f"no {rule} default for {name!r} (a {type(t).__name__} of "
                        f"{type(m).__name__}); run the module's own init code with "
                        f"scheme='auto' (or weightinit.torch.accelerate), or cover it with a "
                        f"mapping scheme, e.g. {{{name!r}: {_suggest(name, t, m)}, "
                        f"'*': {rule!r}}}")
                untouched.append(name)
                continue
            fills.append(_Fill(name, t, default.how, default.call))
        else:
            fills.append(_spec_fill(name, t, rule))
    return fills, untouched


def init_module(module: Any, seed: Optional[int] = None,
                scheme: Union[str, Mapping[str, Any]] = "auto", *, threads: Optional[int] = None,
                activation: Union[str, Tuple[str, float]] = "relu", strict: bool = False,
                generator: Any = None) -> Any:
    """Initializes ``module``'s parameters (and buffers that need it) in place; returns it.

    Each tensor named ``name`` in the module's state dict is filled from ``seed=seed,
    stream=name`` (``seed=None``: ``generator``'s or the default generator's seed, see
    ``weightinit.initial_seed()``), in the tensor's own memory (``data_ptr`` unchanged; bfloat16
    included). A module with tensors on the ``meta`` device is first materialized with
    ``module.to_empty(device="cpu")``.

    ``scheme``:

    * ``"auto"`` (the default) -- the module's own init code, run under
      :func:`weightinit.torch.accelerate` (its random fills drawn by weightinit, stream = tensor
      name): transformers' ``init_weights()``, else ``module.apply(module._init_weights)``, else
      -- when a layer type unknown to the ``"torch"`` table has a ``reset_parameters`` -- every
      submodule's ``reset_parameters()`` children first; otherwise as ``"torch"``.
    * ``"torch"`` -- each layer as its own ``reset_parameters`` does: Linear, Conv{1,2,3}d and
      ConvTranspose{1,2,3}d ``kaiming_uniform_(a=sqrt(5))`` weights and U(-1/sqrt(fan_in), .)
      biases; Bilinear U(-1/sqrt(in1), .); Embedding / EmbeddingBag N(0, 1) with the
      ``padding_idx`` row 0; LayerNorm, GroupNorm, RMSNorm, BatchNorm*, InstanceNorm* weight 1,
      bias 0, running mean 0, var 1, num_batches_tracked 0; RNN/LSTM/GRU (and cells) every
      parameter U(-1/sqrt(hidden), .); PReLU its ``init``; MultiheadAttention
      ``xavier_uniform_`` in-projections, zero in_proj and out_proj biases, ``xavier_normal_``
      bias_k/bias_v; nn.Transformer ``xavier_uniform_`` on every parameter of >1 dims.
    * ``"recommended"`` -- weights of Linear, Bilinear and Conv layers by
      :func:`weightinit.recommend` for the activation that follows them (read from the next
      activation module in an ``nn.Sequential``; a Sequential's last layer is ``"linear"``;
      otherwise ``activation``), biases 0; attention projections ``xavier_uniform_``; everything
      else as ``"torch"``.
    * a mapping ``{pattern: rule}``, patterns matched against the tensor names with fnmatch
      (first match wins; unmatched tensors get ``"torch"``). A rule is ``"torch"``,
      ``"recommended"``, ``"skip"``, an initializer name (``"zeros_"``), a dict ``{"init":
      "trunc_normal_", "std": 0.02}`` as in model specs (``zero_rows`` allowed), or a callable
      ``f(tensor, *, seed, stream, threads)``.

    Tensors no rule covers (a custom module's own ``nn.Parameter``) are left as they are --
    unless ``strict=True`` or the module came from the meta device, where that is an error
    listing them (uncovered buffers of a materialized module get a RuntimeWarning). Everything
    is planned and validated before the first tensor is written.

    DTensor parameters (``distribute_tensor``, FSDP2's ``fully_shard``; placements ``Shard(d)``
    or ``Replicate()``) are filled on each rank in their local shard only, as the box of the
    global tensor it is, so the gathered parameters equal the single-process result whatever the
    world size (see :mod:`weightinit.torch.distributed`); callable rules are refused for them.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    key = resolve_seed(seed, generator)
    _random._check_threads(threads)
    tensors = list(module.parameters()) + [b for b in module.buffers() if b is not None]
    for t in tensors:
        if nn.parameter.is_lazy(t):  # isinstance(t, UninitializedTensorMixin), which torch's stub omits
            raise ValueError("module has uninitialized lazy parameters; run a forward pass (or "
                             "materialize them) first")
    devices = {t.device.type for t in tensors}
    if devices - {"cpu", "meta"}:
        raise ValueError(f"tensors must be on the CPU or the meta device, found "
                         f"{', '.join(sorted(devices - {'cpu', 'meta'}))}")
    if isinstance(scheme, str) and scheme == "auto":
        own = _own_init(module)
        if own is not None:
            with accelerate(module, key, threads=threads):
                own()
            return module
    materialize = "meta" in devices
    if materialize:
        # plan on the meta module first, so a bad scheme fails before any memory is allocated
        _, uncovered = _plan(module, scheme, activation, strict, materialized=True)
        transient = _transient_buffers(module)
        bad = [n for n in uncovered if n in transient]
        if bad:
            raise ValueError(f"non-persistent buffers {', '.join(bad)} would be uninitialized "
                             "memory after to_empty() and no rule recomputes them; use "
                             "scheme='auto' if the module's init code sets them, cover them "
                             "with a mapping scheme, or build the module on the CPU")
        _materialize(module)
    fills, untouched = _plan(module, scheme, activation, strict, materialized=materialize)
    if materialize:
        params = {id(p) for p in module.parameters()}
        bad = [n for n, b in module.named_buffers() if n in untouched and id(b) not in params]
        if bad:
            warnings.warn(f"buffers {', '.join(bad)} are uninitialized memory after to_empty(); "
                          "no rule covers them (set them, or cover them with a mapping scheme)",
                          RuntimeWarning, stacklevel=2)
    # validate every target before the first write; a DTensor's is its local shard (a box)
    targets = [fill_target(f.name, f.tensor, f.call) for f in fills]
    with torch.no_grad():
        for f, (t, box) in zip(fills, targets):
            f.call(t, dict(seed=key, stream=f.name, threads=threads, **box))
    return module


from .accelerate import accelerate, materialize as _materialize  # noqa: E402
from .accelerate import transient_buffers as _transient_buffers  # noqa: E402
from .diagnose import diagnose_module  # noqa: E402 - needs this module's tables
