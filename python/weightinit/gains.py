"""Recommended gains of nonlinearities, with ``torch.nn.init.calculate_gain``'s names and values."""

from __future__ import annotations

import math

from . import _validate

__all__ = ["NONLINEARITIES", "calculate_gain"]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d",
           "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")

#: the names calculate_gain accepts (torch.nn.functional names, as torch.nn.init)
NONLINEARITIES = _LINEAR + ("sigmoid", "tanh", "relu", "leaky_relu", "selu")

#: torch's default negative slope of leaky_relu when ``param`` is None
DEFAULT_NEGATIVE_SLOPE = 0.01


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """Return the recommended gain of a nonlinearity, equal to ``torch.nn.init.calculate_gain``.

    ================================== ===========================================
    nonlinearity                       gain
    ================================== ===========================================
    linear, conv{1,2,3}d,              1
    conv_transpose{1,2,3}d, sigmoid
    tanh                               5/3
    relu                               sqrt(2)
    leaky_relu                         sqrt(2 / (1 + negative_slope**2)), ``param``
                                       is the slope (default 0.01)
    selu                               3/4 (torch's empirical value; for
                                       self-normalizing networks use ``"linear"``,
                                       i.e. variance 1/fan_in -- Klambauer et al. 2017)
    ================================== ===========================================

    The value is computed with the same float operations as torch, so it is equal to the last
    bit. ``param`` is read only for ``leaky_relu`` (any finite real number); it is ignored for the
    others, as in torch, so ``kaiming_*_(a=...)`` can pass it through. An unknown name raises
    ``ValueError`` listing the known ones.
    """
    if not isinstance(nonlinearity, str):
        raise TypeError(
            f"nonlinearity must be a str, one of {', '.join(NONLINEARITIES)}; got "
            f"{type(nonlinearity).__name__}"
        )
    if nonlinearity in _LINEAR or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = DEFAULT_NEGATIVE_SLOPE
        elif isinstance(param, bool):
            raise _validate.BoolAsNumberError(
                f"param (the negative slope of leaky_relu) must be a real number, got {param!r}")
        else:  # ints stay ints, as in torch; other reals (numpy scalars) become Python floats
            negative_slope = _validate.real(param, "param (the negative slope of leaky_relu)", keep_int=True)
            if abs(negative_slope) >= 2**511:  # the square overflows (torch: OverflowError); 1 is lost in it
                return math.sqrt(2.0) / abs(float(negative_slope))
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4  # torch's empirical value (pytorch/pytorch#50664)
    raise ValueError(
        f"nonlinearity {nonlinearity!r} is not supported; known: {', '.join(NONLINEARITIES)}"
    )
