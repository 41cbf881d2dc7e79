"""Framework defaults: what torch's layers apply in ``reset_parameters``, without torch.

``torch_default_(kind, weight, bias)`` fills a layer's weight (and bias) as the torch module of
that kind does when it is constructed -- the same distributions with the same parameters, computed
with the same float operations -- but from weightinit's reproducible streams:

=============================== ============================================ ====================
kind                            weight                                       bias
=============================== ============================================ ====================
linear, conv{1,2,3}d,           kaiming_uniform\\_(a=sqrt(5)), i.e.           U(-1/sqrt(fan_in),
conv_transpose{1,2,3}d          U(-1/sqrt(fan_in), 1/sqrt(fan_in))           1/sqrt(fan_in))
bilinear                        U(-1/sqrt(in1), 1/sqrt(in1))                 the same
embedding                       N(0, 1); row ``padding_idx`` zero             --
layer_norm, batch_norm,         ones                                         zeros
group_norm, instance_norm,
rms_norm
rnn, lstm, gru (and their       U(-1/sqrt(hidden), 1/sqrt(hidden))           the same
``_cell`` kinds)
=============================== ============================================ ====================

``fan_in`` is torch's (``weight.shape[1] * prod(weight.shape[2:])``; for a transposed conv torch's
weight is (in, out/groups, \\*kernel) and this is what torch computes too). Kinds are
case-insensitive and accept torch's class names (``"Conv2d"``, ``"ConvTranspose1d"``,
``"BatchNorm2d"``, ``"LayerNorm"``, ``"LSTM"``, ...).
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Tuple, TypeVar

from . import _random, schemes
from ._random import Generator, Stream

__all__ = ["TORCH_DEFAULT_KINDS", "torch_default_", "torch_layer_rules"]

_CONV = tuple(f"conv{n}d" for n in (1, 2, 3)) + tuple(f"conv_transpose{n}d" for n in (1, 2, 3))
_NORMS = ("layer_norm", "batch_norm", "group_norm", "instance_norm", "rms_norm")
_RNNS = {"rnn": 1, "lstm": 4, "gru": 3, "rnn_cell": 1, "lstm_cell": 4, "gru_cell": 3}

#: the kinds torch_default_ knows (canonical names)
TORCH_DEFAULT_KINDS = ("linear", "bilinear") + _CONV + ("embedding",) + _NORMS + tuple(_RNNS)

_ALIASES = {k.replace("_", ""): k for k in TORCH_DEFAULT_KINDS}
_ALIASES.update({f"{n}{d}d": n.replace("norm", "_norm")
                 for n in ("batchnorm", "instancenorm") for d in (1, 2, 3)})
_ALIASES.update({"rnncell": "rnn_cell", "lstmcell": "lstm_cell", "grucell": "gru_cell",
                 "lazylinear": "linear", "dense": "linear"})


def _kind(kind: Any) -> str:
    if not isinstance(kind, str):
        raise TypeError(
            f"kind must be a str, one of {', '.join(TORCH_DEFAULT_KINDS)}; got {kind!r}"
        )
    key = kind.strip().lower().replace("_", "").replace("-", "")
    if key not in _ALIASES:
        raise ValueError(
            f"kind {kind!r} is not known; known: {', '.join(TORCH_DEFAULT_KINDS)} (or torch's "
            f"class names, e.g. 'Conv2d', 'BatchNorm1d')"
        )
    return _ALIASES[key]


def _torch_fan_in(shape: Sequence[int]) -> int:
    # torch.nn.init._calculate_fan_in_and_fan_out(weight)[0]
    return shape[1] * math.prod(shape[2:])


Rule = Tuple[str, Dict[str, Any]]  # (in-place initializer, its keyword arguments)


def torch_layer_rules(kind: str, weight_shape: Sequence[int] = (), *,
                      hidden_size: Optional[int] = None) -> Dict[str, Rule]:
    """torch's layer defaults, the one table: ``{"weight": rule, "bias": rule}`` for a layer of
    ``kind`` whose weight has ``weight_shape`` (RNNs: ``hidden_size``), each rule an initializer
    name and its arguments. :func:`torch_default_`, ``weightinit.torch``'s module rules and the
    built-in architectures all read it (the table in this module's docstring)."""
    k = _kind(kind)
    if k == "linear" or k in _CONV:
        fan_in = _torch_fan_in(weight_shape)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        return {"weight": ("kaiming_uniform_", {"a": _SQRT5}), "bias": ("uniform_", {"a": -bound, "b": bound})}
    if k == "bilinear":
        bound = 1 / math.sqrt(weight_shape[1])
        return {"weight": ("uniform_", {"a": -bound, "b": bound}), "bias": ("uniform_", {"a": -bound, "b": bound})}
    if k == "embedding":
        return {"weight": ("normal_", {})}
    if k in _NORMS:
        return {"weight": ("ones_", {})} if k == "rms_norm" else {"weight": ("ones_", {}), "bias": ("zeros_", {})}
    stdv = 1.0 / math.sqrt(hidden_size) if hidden_size else 0  # RNNs: every parameter
    return {"weight": ("uniform_", {"a": -stdv, "b": stdv}), "bias": ("uniform_", {"a": -stdv, "b": stdv})}


_SQRT5 = math.sqrt(5)  # nn.Linear / nn.Conv: kaiming_uniform_(a=sqrt(5)) is U(-1/sqrt(fan_in), ...)


W = TypeVar("W")  # the weight's type (ndarray or tensor), returned as given
B = TypeVar("B")  # the bias's


def torch_default_(
    kind: str,
    weight: Optional[W],
    bias: Optional[B] = None,
    *,
    padding_idx: Optional[int] = None,
    hidden_size: Optional[int] = None,
    seed: Optional[int] = None,
    stream: Optional[Stream] = None,
    bias_stream: Optional[Stream] = None,
    threads: Optional[int] = None,
    generator: Optional[Generator] = None,
) -> Tuple[Optional[W], Optional[B]]:
    """Initialize ``weight`` (and ``bias``) in place as torch's ``kind`` layer does by default.

    See the module docstring for the table of kinds. ``weight`` and ``bias`` are arrays or CPU
    tensors (either may be a norm layer's None-able parameter; ``weight`` may be None only for
    norms and RNNs). ``padding_idx`` (embedding) zeroes that row after the N(0, 1) fill, like
    torch; ``hidden_size`` (RNNs) defaults to ``weight.shape[0] // gates`` (gates: rnn 1, gru 3,
    lstm 4) -- pass it for an LSTM's projection weight ``weight_hr``.

    Randomness: (seed, stream, generator) resolve once; the weight is drawn from the resolved
    stream (so it equals e.g. ``kaiming_uniform_(weight, a=math.sqrt(5), seed=seed,
    stream=stream)``) and the bias from ``bias_stream`` if given (model-level init passes the
    parameter's own name), else from ``derive_stream(stream, "bias")``. Norm layers draw nothing
    and do not advance a generator. Everything is validated before the first write.

    Returns ``(weight, bias)``.
    """
    k = _kind(kind)
    params = [(n, p) for n, p in (("weight", weight), ("bias", bias)) if p is not None]
    views = {n: _random.as_target(p, n) for n, p in params}
    w = views.get("weight")
    b = views.get("bias")
    nthreads = _random._check_threads(threads)
    if bias_stream is not None:
        _random.stream_id(bias_stream)

    if k in _NORMS:
        if k == "rms_norm" and b is not None:
            raise ValueError("bias must be None for rms_norm (torch's RMSNorm has no bias)")
        if weight is not None:
            _random.ones_(weight, threads=threads)
        if bias is not None:
            _random.zeros_(bias, threads=threads)
        return weight, bias

    plan: List[Tuple[Any, Rule]] = []  # (array or tensor, its rule) in order
    if k in _RNNS:  # every parameter U(-1/sqrt(hidden), 1/sqrt(hidden))
        if hidden_size is None:
            first = w if w is not None else b
            if first is None:
                raise TypeError(f"weight or bias is required for kind {k!r}")
            if first.ndim < 1 or first.shape[0] % _RNNS[k]:
                raise ValueError(
                    f"cannot derive hidden_size of a {k} from shape {first.shape} "
                    f"({_RNNS[k]} gates); pass hidden_size"
                )
            hidden_size = first.shape[0] // _RNNS[k]
        hidden_size = schemes._int(hidden_size, "hidden_size", lo=0)
        rules = torch_layer_rules(k, hidden_size=hidden_size)
        for n, p in (("weight", weight), ("bias", bias)):
            if p is not None:
                plan.append((p, rules[n]))
    elif w is None:
        raise TypeError(f"weight is required for kind {k!r}")
    elif k == "linear" or k in _CONV:
        want = 2 if k == "linear" else int(k[-2]) + 2
        if w.ndim != want:
            raise ValueError(
                f"weight of a {k} layer must have {want} dimensions, got shape {w.shape}"
            )
        if b is not None and "transpose" not in k:  # a transposed conv's bias is (out,)
            if b.shape != (w.shape[0],):
                raise ValueError(f"bias must have shape ({w.shape[0]},) for weight of shape "
                                 f"{w.shape}, got {b.shape}")
        rules = torch_layer_rules(k, w.shape)
        plan.append((weight, rules["weight"]))
        if bias is not None:
            plan.append((bias, rules["bias"]))
    elif k == "bilinear":
        if w.ndim != 3:
            raise ValueError(
                f"weight of a bilinear layer must have 3 dimensions, got shape {w.shape}"
            )
        if w.shape[1] <= 0:
            raise ValueError(
                f"weight of a bilinear layer needs in1_features > 0, got shape {w.shape}"
            )
        rules = torch_layer_rules(k, w.shape)
        plan.append((weight, rules["weight"]))
        if bias is not None:
            plan.append((bias, rules["bias"]))
    elif k == "embedding":
        if w.ndim != 2:
            raise ValueError(f"weight of an embedding must have 2 dimensions, got shape {w.shape}")
        if b is not None:
            raise ValueError("bias must be None for an embedding")
        if padding_idx is not None:
            padding_idx = schemes._int(padding_idx, "padding_idx")
            if not -w.shape[0] <= padding_idx < w.shape[0]:
                raise ValueError(f"padding_idx must be in [{-w.shape[0]}, {w.shape[0]}), got "
                                 f"{padding_idx}")
        plan.append((weight, torch_layer_rules(k)["weight"]))

    key, s = _random.resolve(seed, stream, generator)
    bs = _random.derive_stream(s, "bias") if bias_stream is None else _random.stream_id(bias_stream)
    for p, (init, kw) in plan:
        rk: Dict[str, Any] = dict(seed=key, stream=s if p is weight else bs, threads=nthreads or None)
        fn = getattr(_random, init) if hasattr(_random, init) else getattr(schemes, init)
        fn(p, *kw.values(), **rk)  # the rule's arguments in the initializer's positional order
    if k == "embedding" and padding_idx is not None:
        views["weight"][padding_idx] = 0
    return weight, bias
