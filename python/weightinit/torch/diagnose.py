"""diagnose() for your own PyTorch model: :func:`diagnose_module`.

Forward and backward hooks on every Linear and Conv layer record what :func:`weightinit.diagnose`
records for its MLP -- the layer's output (the pre-activation z), the activation that follows it
(the next layer's input; the model's output after the last layer), the gradient dLoss/dz and the
weight gradient -- for one forward pass of ``example_input`` and one backward pass of an N(0, 1)
output gradient (stream ``"diagnose.output_grad"`` of ``seed``, as diagnose()). The verdict follows
the same rule and uses the same words.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from .. import _activations, _random
from ..diagnose import Diagnosis, _forward_stats, _layers, _verdict
from ..schemes import _int, _real

__all__ = ["diagnose_module"]

_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
           nn.ConvTranspose3d)


def _activation_of(module: nn.Module, layers: Sequence[nn.Module]) -> List[Optional[Any]]:
    """The activation module that follows each layer in registration order (None if another
    layer comes first or the activation is not one weightinit knows)."""
    from . import _ACTIVATIONS  # nn type -> recommend() name

    found: List[Optional[Any]] = [None] * len(layers)
    index = {id(m): i for i, m in enumerate(layers)}
    current = None
    for m in module.modules():
        if id(m) in index:
            current = index[id(m)]
        elif current is not None and type(m) in _ACTIVATIONS:
            name, param = _ACTIVATIONS[type(m)]
            if param is not None:
                slope = param(m)
                fn, grad = _activations._leaky(slope)
                found[current] = _activations.Activation(
                    name, fn, grad, _activations._grad_max(grad), True, True)
            else:
                found[current] = _activations.get(name)
            current = None
    return found


def _units(t: torch.Tensor) -> np.ndarray:
    """(samples, units) in float32: units are features or channels (dim 1); for convolutions
    every position counts as a sample of its channel."""
    v = t.detach().to(torch.float32)
    if v.dim() > 2:
        v = v.movedim(1, -1).reshape(-1, v.shape[1])
    return v.reshape(v.shape[0], -1).numpy()


def diagnose_module(module: nn.Module, example_input: Any, *, seed: int = 0,
                    tolerance: float = 10) -> Diagnosis:
    """Measure ``module`` (its current weights) on ``example_input`` (a tensor, or a tuple of
    positional inputs) the way :func:`weightinit.diagnose` measures its MLP.

    Every ``nn.Linear`` / ``nn.Conv*`` / ``nn.ConvTranspose*`` is a layer, in registration order.
    Per layer: pre-activation (the layer's output) and activation (the next layer's input, the
    model's output after the last) mean and variance; the fraction saturated (|f'(z)| < 1% of
    max |f'|) and dead units (features or channels zero for every sample), where the activation
    module that follows the layer is one weightinit knows (else NaN, and saturation counts as
    0 for the verdict); the variance of dLoss/dz and of the weight gradient (of the batch-mean
    loss), each also as a ratio to layer 1; the output gradient is N(0, 1) from ``seed``.
    Mean-field predictions are NaN (the theory needs diagnose()'s i.i.d. MLP). A module on the
    ``meta`` device must be materialized first (``weightinit.torch.init_module`` does it).
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    seed = _int(seed, "seed", lo=0)
    tolerance = float(_real(tolerance, "tolerance", lo=1, lo_open=True))
    layers = [m for m in module.modules() if isinstance(m, _LAYERS)]
    if not layers:
        raise ValueError("module has no Linear or Conv layer to diagnose")
    if any(p.is_meta for p in module.parameters()):
        raise ValueError("module has parameters on the meta device: materialize and fill them "
                         "first, e.g. weightinit.torch.init_module(module, seed)")
    inputs = example_input if isinstance(example_input, tuple) else (example_input,)
    acts = _activation_of(module, layers)
    z: Dict[int, torch.Tensor] = {}
    x_in: Dict[int, torch.Tensor] = {}
    dz: Dict[int, torch.Tensor] = {}
    handles = []

    def hooks(i: int) -> Tuple[Callable[..., None], Callable[..., None]]:
        def pre(mod: nn.Module, args: Tuple[Any, ...]) -> None:
            x_in[i] = args[0].detach()

        def post(mod: nn.Module, args: Tuple[Any, ...], out: torch.Tensor) -> None:
            z[i] = out.detach()
            if out.requires_grad:
                out.register_hook(lambda g: dz.__setitem__(i, g.detach()))

        return pre, post

    for i, m in enumerate(layers):
        pre, post = hooks(i)
        handles.append(m.register_forward_pre_hook(pre))
        handles.append(m.register_forward_hook(post))
    was_training = module.training
    saved = {id(p): p.grad for p in module.parameters()}
    try:
        module.eval()
        for p in module.parameters():
            p.grad = None
        out = module(*inputs)
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"module must return a tensor, got {type(out).__name__}")
        g = _random.normal(tuple(out.shape), seed=seed, stream="diagnose.output_grad")
        out.backward(torch.from_numpy(g).to(out.dtype))
        wgrads = [m.weight.grad.detach().clone() if m.weight.grad is not None else None
                  for m in layers]
    finally:
        for h in handles:
            h.remove()
        module.train(was_training)
        for p in module.parameters():
            p.grad = saved[id(p)]
    n = len(layers)
    fwd, back = [], []
    batch = int(z[0].shape[0])
    for i in range(n):
        zi = _units(z[i])
        ai = _units(x_in[i + 1]) if i + 1 < n else _units(out)
        act = acts[i]
        if act is not None and ai.shape == zi.shape:
            with np.errstate(over="ignore", invalid="ignore"):
                d = act.grad(zi)
            s = _forward_stats(zi, ai, d, act)
        else:  # unknown activation: saturation unmeasured
            s = _forward_stats(zi, ai, np.ones_like(ai), _activations.get("linear"))
            s["saturated"] = math.nan
        fwd.append(s)
        gv = float(np.var(_units(dz[i]), dtype=np.float64)) if i in dz else math.nan
        wg = wgrads[i]
        wv = float(np.var(wg.to(torch.float64).numpy())) / batch ** 2 if wg is not None \
            else math.nan
        back.append((gv, wv))
    widths = tuple([_width(layers[0], inp=True)] + [_width(m) for m in layers])
    nan = np.full(n, math.nan)
    stats = _layers(widths, fwd, back, {"preact_var": nan, "act_var": nan, "grad_var": nan})
    word, concerns, where, sentence = _verdict(stats, tolerance)
    names = sorted({a.name for a in acts if a is not None})
    return Diagnosis(widths, ",".join(names) or "unknown", type(module).__name__, batch, seed,
                     0.0, tolerance, tuple(stats), sentence, word, concerns, where, {})


def _width(m: nn.Module, inp: bool = False) -> int:
    if isinstance(m, nn.Linear):
        return m.in_features if inp else m.out_features
    return int(getattr(m, "in_channels" if inp else "out_channels"))
