"""Activation functions and their derivatives, in NumPy, for diagnose() and the mean-field theory.

Every name of :data:`weightinit.ACTIVATIONS` resolves to an :class:`Activation` (the function, its
analytic derivative, and the maximum of ``|f'|``); a callable gets a fourth-order central
difference for its derivative. The functions keep their input's dtype (float32 in
:func:`weightinit.diagnose`, float64 in the quadratures of :mod:`weightinit.meanfield`).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, Dict, NamedTuple, Tuple

import numpy as np

__all__ = ["Activation", "get", "SELU_ALPHA", "SELU_SCALE"]

# Klambauer et al. (2017), eq. (14): the fixed point (mean 0, variance 1) of SELU
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_math_erf = np.frompyfunc(math.erf, 1, 1)
_Fn = Callable[[np.ndarray], np.ndarray]


class Activation(NamedTuple):
    """An activation: ``fn`` and its derivative ``grad`` (arrays in, same dtype out),
    ``grad_max`` = max |f'| (the saturation threshold is 1% of it), and ``elementwise``
    (False only for softmax, which normalizes across the units of a sample)."""

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]
    grad_max: float
    elementwise: bool = True
    kink: bool = False  # f' jumps at 0 (the ReLU family, ELU's f'', SELU): quadratures split there


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # the tanh form never overflows, unlike 1 / (1 + exp(-x))
    return 0.5 * (1 + np.tanh(0.5 * x))


def _erf(x: np.ndarray) -> np.ndarray:
    if x.dtype == np.float64:  # the mean-field quadratures: few nodes, exact libm erf
        return _math_erf(x).astype(np.float64)
    # Abramowitz & Stegun 7.1.26, |error| < 1.5e-7 (float32's resolution near 1)
    t = 1 / (1 + 0.3275911 * np.abs(x))
    y = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                                                                          + t * 1.061405429)))) \
        * np.exp(-x * x)
    return np.copysign(y, x).astype(x.dtype)


def _phi_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + _erf(x * x.dtype.type(_SQRT_HALF)))


def _leaky(slope: float) -> Tuple[_Fn, _Fn]:
    def fn(x: np.ndarray) -> np.ndarray:
        return np.where(x > 0, x, x * x.dtype.type(slope))

    def grad(x: np.ndarray) -> np.ndarray:
        return np.where(x > 0, x.dtype.type(1), x.dtype.type(slope))

    return fn, grad


def _elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def _elu_grad(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x.dtype.type(1), np.exp(np.minimum(x, 0)))


def _selu(x: np.ndarray) -> np.ndarray:
    return x.dtype.type(SELU_SCALE) * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))


def _selu_grad(x: np.ndarray) -> np.ndarray:
    return x.dtype.type(SELU_SCALE) * np.where(x > 0, x.dtype.type(1),
                                               SELU_ALPHA * np.exp(np.minimum(x, 0)))


def _gelu(x: np.ndarray) -> np.ndarray:
    return x * _phi_cdf(x)


def _gelu_grad(x: np.ndarray) -> np.ndarray:
    return _phi_cdf(x) + x * x.dtype.type(_INV_SQRT_2PI) * np.exp(-0.5 * x * x)


def _silu(x: np.ndarray) -> np.ndarray:
    return x * _sigmoid(x)


def _silu_grad(x: np.ndarray) -> np.ndarray:
    s = _sigmoid(x)
    return s * (1 + x * (1 - s))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(x.dtype.type(0), x)


def _mish(x: np.ndarray) -> np.ndarray:
    return x * np.tanh(_softplus(x))


def _mish_grad(x: np.ndarray) -> np.ndarray:
    t = np.tanh(_softplus(x))
    return t + x * (1 - t * t) * _sigmoid(x)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _softmax_diag(x: np.ndarray) -> np.ndarray:
    # the Jacobian's diagonal s (1 - s): what the saturation statistic reads for softmax
    s = _softmax(x)
    return s * (1 - s)


def _identity(x: np.ndarray) -> np.ndarray:
    return x


def _one(x: np.ndarray) -> np.ndarray:
    return np.ones_like(x)


_RELU = _leaky(0.0)
_FORMS: Dict[str, Tuple[_Fn, _Fn]] = {
    "linear": (_identity, _one),
    "sigmoid": (_sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x))),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "softmax": (_softmax, _softmax_diag),
    "relu": _RELU,
    "elu": (_elu, _elu_grad),
    "selu": (_selu, _selu_grad),
    "gelu": (_gelu, _gelu_grad),
    "silu": (_silu, _silu_grad),
    "mish": (_mish, _mish_grad),
    "softplus": (_softplus, _sigmoid),
}
# recommend()'s default parameters: leaky_relu's negative slope, prelu's initial slope
_SLOPES = {"leaky_relu": 0.01, "prelu": 0.25}


def _numerical_grad(fn: _Fn) -> _Fn:
    """f' by the fourth-order central difference, step h = eps^(1/5) max(1, |x|) in float64
    (balances truncation h^4 against rounding eps/h)."""

    def grad(x: np.ndarray) -> np.ndarray:
        x64 = np.asarray(x, dtype=np.float64)
        h = np.finfo(np.float64).eps ** 0.2 * np.maximum(1.0, np.abs(x64))

        def f(v: np.ndarray) -> np.ndarray:
            return np.asarray(fn(v), dtype=np.float64)

        d = (8 * (f(x64 + h) - f(x64 - h)) - (f(x64 + 2 * h) - f(x64 - 2 * h))) / (12 * h)
        return d.astype(np.asarray(x).dtype)

    return grad


def _grad_max(grad: _Fn) -> float:
    # |f'| on a 1e-4 grid over [-20, 20] (past it every activation here is flat or linear)
    return float(np.max(np.abs(grad(np.linspace(-20.0, 20.0, 400_001)))))


@functools.lru_cache(maxsize=None)
def _named(key: str) -> Activation:
    if key in _SLOPES:
        fn, grad = _leaky(_SLOPES[key])
    else:
        fn, grad = _FORMS[key]
    gmax = 0.25 if key == "softmax" else _grad_max(grad)
    kink = key in ("relu", "leaky_relu", "prelu", "elu", "selu")
    return Activation(key, fn, grad, gmax, key != "softmax", kink)


def get(activation: Any, argname: str = "activation") -> Activation:
    """The :class:`Activation` of a name of :data:`weightinit.ACTIVATIONS` or a callable (an
    element-wise NumPy function; its derivative is taken numerically)."""
    if isinstance(activation, Activation):
        return activation
    if callable(activation) and not isinstance(activation, str):
        fn = _as_array_fn(activation, argname)
        grad = _numerical_grad(fn)
        name = getattr(activation, "__name__", type(activation).__name__)
        # kink=True: split the quadratures at 0, where a callable ReLU-like unit bends
        return Activation(name, fn, grad, _grad_max(grad), True, True)
    from .recommend import _canonical  # recommend -> meanfield -> here: import at call time

    try:
        key = _canonical(activation)
    except TypeError:
        raise TypeError(f"{argname} must be a name of weightinit.ACTIVATIONS or a callable, got "
                        f"{type(activation).__name__}") from None
    except ValueError as exc:
        raise ValueError(str(exc).replace("activation", argname, 1)) from None
    return _named(key)


def _as_array_fn(fn: Callable[..., Any], argname: str) -> _Fn:
    """``fn`` checked on a probe array: it must map an array to an array of the same shape."""
    probe = np.linspace(-3.0, 3.0, 7)
    try:
        out = np.asarray(fn(probe), dtype=np.float64)
    except Exception as exc:  # any failure: reported with the argument's name
        raise TypeError(f"{argname} must be an element-wise function of a NumPy array; calling it "
                        f"on an array raised {type(exc).__name__}: {exc}") from exc
    if out.shape != probe.shape:
        raise ValueError(f"{argname} must return an array of its input's shape, got shape "
                         f"{out.shape} for {probe.shape}")

    def wrapped(x: np.ndarray) -> np.ndarray:
        return np.asarray(fn(x)).astype(x.dtype, copy=False)

    return wrapped
