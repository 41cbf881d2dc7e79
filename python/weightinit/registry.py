"""The initializers a model spec can name: weightinit's in-place functions, by name.

A spec's ``init`` is the name of an in-place function -- a core fill (``normal_``, ...) or a
scheme of :mod:`weightinit.schemes` -- and this registry resolves it once, with what the function
accepts (randomness keywords, a flat ``offset`` window, the full tensor's ``fans``).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, NamedTuple, Tuple

from . import _random, schemes

__all__ = ["Initializer", "initializer", "initializer_names", "CORE_INITS", "CONSTANT_INITS",
           "RANDOMNESS"]

# fills of the core; the named schemes come from weightinit.schemes
CORE_INITS = ("uniform_", "normal_", "trunc_normal_", "constant_", "zeros_", "ones_")
CONSTANT_INITS = ("constant_", "zeros_", "ones_")
# keyword arguments the model level owns
RANDOMNESS = ("seed", "stream", "offset", "threads", "generator")


class Initializer(NamedTuple):
    """A resolved initializer: the in-place function and what it accepts."""

    name: str
    fn: Callable[..., Any]
    random: bool  # takes seed/stream
    offset: bool  # can fill a window of the flat tensor (takes ``offset``)
    fans: bool  # needs the full tensor's fans for a window (takes ``fans``)
    signature: inspect.Signature


def _scheme_names() -> Tuple[str, ...]:
    return tuple(n for n in schemes.__all__ if n.endswith("_"))


@functools.lru_cache(maxsize=None)
def initializer(name: str) -> Initializer:
    """The in-place function a spec names: a core fill (``uniform_``, ``normal_``,
    ``trunc_normal_``, ``constant_``, ``zeros_``, ``ones_``) or a scheme of
    :mod:`weightinit.schemes` (``kaiming_normal_``, ``xavier_uniform_``, ``orthogonal_``, ...).
    """
    if not isinstance(name, str):
        raise TypeError(f"init must be a str naming an initializer, got {type(name).__name__}")
    if name in CORE_INITS:
        fn = getattr(_random, name)
    elif name in _scheme_names():
        fn = getattr(schemes, name)
    else:
        raise ValueError(f"init {name!r} is not known; known: {', '.join(initializer_names())}")
    sig = inspect.signature(fn)
    ps = sig.parameters
    return Initializer(name, fn, "seed" in ps, "offset" in ps, "fans" in ps, sig)


def initializer_names() -> Tuple[str, ...]:
    """Names a spec's ``init`` accepts."""
    return CORE_INITS + tuple(n for n in _scheme_names() if n not in CORE_INITS)
