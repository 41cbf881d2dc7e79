"""torch.nn.init, drop-in: ``import weightinit.torch.init as init`` in place of ``torch.nn.init``.

Every function has torch's signature and behaviour -- the same bounds and fans computed with
torch's own helpers, the same exceptions (torch's ``calculate_gain`` and fan functions raise
them), the same UserWarning and no-op on zero-element tensors, no-op on meta tensors, torch's
deprecated un-suffixed aliases -- but the random values of a CPU float tensor (float32, float64,
float16, bfloat16) are drawn by weightinit's multithreaded Philox core: ``seed`` = 63 random bits
drawn from ``generator`` (``None``: torch's default generator, so ``torch.manual_seed`` governs
it), stream 0. The values differ from torch's bit for bit (another generator), the distribution
is the same. Arguments weightinit refuses (say ``a > b`` for ``trunc_normal_``) and tensors it
cannot fill (CUDA, integer) go to torch's own function, so the outcome is torch's. The
deterministic functions (``constant_``, ``ones_``, ``zeros_``, ``eye_``, ``dirac_``,
``calculate_gain``) are torch's own.
"""

import math
from typing import Any, Callable, Optional

import torch
from torch import Tensor
from torch.nn import init as _tinit
from torch.nn.init import (  # noqa: F401 - re-exported: deterministic, torch's exactly
    _calculate_correct_fan,
    _calculate_fan_in_and_fan_out,
    _FanMode,
    _NonlinearityType,
    calculate_gain,
    constant,
    constant_,
    dirac,
    dirac_,
    eye,
    eye_,
    ones_,
    zeros_,
)

from .. import _random, schemes

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "orthogonal_", "sparse_", "uniform", "normal", "constant", "eye",
           "dirac", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
           "orthogonal", "sparse"]

_FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def _seed(generator: Optional[torch.Generator]) -> int:
    """63 random bits from ``generator`` (or torch's default generator)."""
    return int(torch.empty((), dtype=torch.int64).random_(generator=generator))


def _fill(tensor: Tensor, generator: Optional[torch.Generator], fill: Callable[[Any, int], Any],
          fallback: Callable[[], Tensor]) -> Tensor:
    """``fill(tensor, seed)`` by weightinit, or torch's ``fallback()`` where weightinit cannot."""
    if tensor.is_meta:  # no memory: nothing to fill (torch's behaviour too)
        return tensor
    if tensor.device.type != "cpu" or tensor.dtype not in _FLOATS or tensor.numel() == 0:
        return fallback()  # zero-element: torch's own warning and no-op
    seed = _seed(generator)
    try:
        with torch.no_grad():
            fill(tensor.detach(), seed)
    except (TypeError, ValueError):  # refused before writing: let torch decide (its exception)
        return fallback()
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: Optional[torch.Generator] = None) -> Tensor:
    r"""Fill ``tensor`` from U(a, b) (torch.nn.init.uniform_)."""
    return _fill(tensor, generator, lambda t, s: _random.uniform_(t, a, b, seed=s),
                 lambda: _tinit.uniform_(tensor, a, b, generator))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: Optional[torch.Generator] = None) -> Tensor:
    r"""Fill ``tensor`` from N(mean, std^2) (torch.nn.init.normal_)."""
    return _fill(tensor, generator, lambda t, s: _random.normal_(t, mean, std, seed=s),
                 lambda: _tinit.normal_(tensor, mean, std, generator))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: Optional[torch.Generator] = None) -> Tensor:
    r"""Fill ``tensor`` from N(mean, std^2) truncated to [a, b], a and b absolute
    (torch.nn.init.trunc_normal_); drawn by inverse CDF, no rejection."""
    return _fill(tensor, generator,
                 lambda t, s: _random.trunc_normal_(t, mean, std, a, b, seed=s),
                 lambda: _tinit.trunc_normal_(tensor, mean, std, a, b, generator))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: Optional[torch.Generator] = None) -> Tensor:
    r"""U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)) (torch.nn.init.xavier_uniform_;
    Glorot & Bengio, AISTATS 2010)."""
    if tensor.numel() == 0 or tensor.is_meta:
        return _tinit.xavier_uniform_(tensor, gain, generator)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * (gain * math.sqrt(2.0 / float(fan_in + fan_out)))
    return _fill(tensor, generator, lambda t, s: _random.uniform_(t, -bound, bound, seed=s),
                 lambda: _tinit.xavier_uniform_(tensor, gain, generator))


def xavier_normal_(tensor: Tensor, gain: float = 1.0,
                   generator: Optional[torch.Generator] = None) -> Tensor:
    r"""N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)) (torch.nn.init.xavier_normal_;
    Glorot & Bengio, AISTATS 2010)."""
    if tensor.numel() == 0 or tensor.is_meta:
        return _tinit.xavier_normal_(tensor, gain, generator)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _fill(tensor, generator, lambda t, s: _random.normal_(t, 0.0, std, seed=s),
                 lambda: _tinit.xavier_normal_(tensor, gain, generator))


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: _FanMode = "fan_in",
                     nonlinearity: _NonlinearityType = "leaky_relu",
                     generator: Optional[torch.Generator] = None) -> Tensor:
    r"""U(-b, b), b = gain * sqrt(3 / fan_mode), gain = calculate_gain(nonlinearity, a)
    (torch.nn.init.kaiming_uniform_; He et al., ICCV 2015)."""
    if tensor.numel() == 0 or tensor.is_meta:
        return _tinit.kaiming_uniform_(tensor, a, mode, nonlinearity, generator)
    std = calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return _fill(tensor, generator, lambda t, s: _random.uniform_(t, -bound, bound, seed=s),
                 lambda: _tinit.kaiming_uniform_(tensor, a, mode, nonlinearity, generator))


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: _FanMode = "fan_in",
                    nonlinearity: _NonlinearityType = "leaky_relu",
                    generator: Optional[torch.Generator] = None) -> Tensor:
    r"""N(0, std^2), std = gain / sqrt(fan_mode), gain = calculate_gain(nonlinearity, a)
    (torch.nn.init.kaiming_normal_; He et al., ICCV 2015)."""
    if tensor.numel() == 0 or tensor.is_meta:
        return _tinit.kaiming_normal_(tensor, a, mode, nonlinearity, generator)
    std = calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))
    return _fill(tensor, generator, lambda t, s: _random.normal_(t, 0.0, std, seed=s),
                 lambda: _tinit.kaiming_normal_(tensor, a, mode, nonlinearity, generator))


def orthogonal_(tensor: Tensor, gain: float = 1,
                generator: Optional[torch.Generator] = None) -> Tensor:
    r"""A (semi-)orthogonal matrix times ``gain`` over (shape[0], prod(shape[1:]))
    (torch.nn.init.orthogonal_; Saxe et al., ICLR 2014)."""
    if tensor.ndimension() < 2 or tensor.numel() == 0 or tensor.is_meta:
        return _tinit.orthogonal_(tensor, gain, generator)
    return _fill(tensor, generator, lambda t, s: schemes.orthogonal_(t, gain, seed=s),
                 lambda: _tinit.orthogonal_(tensor, gain, generator))


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01,
            generator: Optional[torch.Generator] = None) -> Tensor:
    r"""N(0, std^2) with ceil(sparsity * rows) zeros per column of a 2-D tensor
    (torch.nn.init.sparse_; Martens, ICML 2010)."""
    if tensor.ndimension() != 2 or tensor.numel() == 0 or tensor.is_meta:
        return _tinit.sparse_(tensor, sparsity, std, generator)
    return _fill(tensor, generator, lambda t, s: schemes.sparse_(t, sparsity, std, seed=s),
                 lambda: _tinit.sparse_(tensor, sparsity, std, generator))


# torch's deprecated aliases (FutureWarning, then the function)
uniform = _tinit._make_deprecate(uniform_)
normal = _tinit._make_deprecate(normal_)
xavier_uniform = _tinit._make_deprecate(xavier_uniform_)
xavier_normal = _tinit._make_deprecate(xavier_normal_)
kaiming_uniform = _tinit._make_deprecate(kaiming_uniform_)
kaiming_normal = _tinit._make_deprecate(kaiming_normal_)
orthogonal = _tinit._make_deprecate(orthogonal_)
sparse = _tinit._make_deprecate(sparse_)
