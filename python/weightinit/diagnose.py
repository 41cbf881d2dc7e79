"""Will these weights train? :func:`diagnose` measures a deep fully connected net at initialization.

It builds the net with weightinit's fills (layer l's weights from stream ``"diagnose.layer{l}.weight"``
of ``seed``), pushes a random N(0, 1) batch forward and a random N(0, 1) output gradient backward
(float32 matrix products), and records per layer the statistics Glorot & Bengio (2010) read:
pre-activation and activation mean and variance, the fraction of saturated units, dead units, and the
variance of the back-propagated gradients, beside the mean-field prediction of
:mod:`weightinit.meanfield` (Poole et al. 2016; Schoenholz et al. 2017).

The verdict (:attr:`Diagnosis.verdict`) contains exactly one of the words ``healthy``, ``vanishing``,
``exploding``, ``saturated``, ``dead``, ``symmetric``, checked in this order:

1. ``symmetric``: all units of a layer (width >= 2) are identical for every sample, not all zero;
2. ``dead``: in some layer more than half of the units are zero for every sample;
3. ``saturated``: in some layer more than half of the pre-activations have |f'(z)| < 1% of
   max |f'| (an exactly-zero output with an exactly-zero derivative -- a ReLU that is off -- is
   inactive, not saturated);
4. ``vanishing`` / ``exploding`` activations: the last layer's activation variance is below
   1/``tolerance`` / above ``tolerance`` times layer 1's (non-finite counts as exploding);
5. ``vanishing`` / ``exploding`` gradients: the variance of the gradient reaching layer 1 is below
   1/``tolerance`` / above ``tolerance`` times the last layer's (the gradient grows or shrinks as
   it travels back);
6. otherwise ``healthy``.

The sentence names the layer where the problem starts: the first layer of rule 1-3, the first
layer whose ratio leaves the band in rule 4, and for gradients the first layer, counting back from
the last, whose gradient variance leaves the band.
"""

from __future__ import annotations

import inspect as _inspect
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import _activations, _random
from .recommend import Recommendation
from .registry import RANDOMNESS, initializer, initializer_names
from .schemes import _int, _real

__all__ = ["Diagnosis", "LayerStats", "VERDICTS", "diagnose"]

#: the words a verdict is made of (exactly one appears in each)
VERDICTS = ("healthy", "vanishing", "exploding", "saturated", "dead", "symmetric")
#: a layer with more than this fraction of saturated entries or dead units is flagged
MOSTLY = 0.5
#: |f'(z)| below this fraction of max |f'| is saturated (Glorot & Bengio 2010)
SATURATION = 0.01

_COLUMNS = ("preact_mean", "preact_var", "act_mean", "act_var", "saturated", "dead", "grad_var",
            "weight_grad_var", "act_ratio", "grad_ratio", "weight_grad_ratio", "predicted_preact_var",
            "predicted_act_var", "predicted_grad_var")


@dataclass(frozen=True)
class LayerStats:
    """Statistics of one layer (1-based ``layer``; ``*_ratio`` are to layer 1's value;
    ``grad_var`` is the variance of dLoss/dz of this layer's pre-activations z and
    ``weight_grad_var`` of dLoss/dW; ``predicted_*`` are the mean-field values, NaN where the theory
    does not apply)."""

    layer: int
    width: int
    preact_mean: float
    preact_var: float
    act_mean: float
    act_var: float
    saturated: float
    dead: float
    symmetric: bool
    grad_var: float
    weight_grad_var: float
    act_ratio: float
    grad_ratio: float
    weight_grad_ratio: float
    predicted_preact_var: float
    predicted_act_var: float
    predicted_grad_var: float


@dataclass(frozen=True)
class Diagnosis:
    """What :func:`diagnose` found: ``layers`` (one :class:`LayerStats` each), ``verdict`` (a
    sentence with one word of :data:`VERDICTS`), ``word`` (that word), ``concerns``
    ("activations", "gradients" or "" when healthy), ``layer`` (where it starts, 0 when healthy).
    ``diagnosis.table()`` (or ``print(diagnosis)``) prints the table, ``str(diagnosis)`` is its
    text; ``to_dict()`` gives strict JSON data (non-finite numbers become ``None``)."""

    widths: tuple
    activation: str
    scheme: str
    batch: int
    seed: int
    bias: float
    tolerance: float
    layers: tuple
    verdict: str
    word: str
    concerns: str
    layer: int
    scheme_kwargs: Dict[str, Any] = field(default_factory=dict)

    @property
    def act_ratio(self) -> float:
        """The last layer's activation variance over layer 1's."""
        return self.layers[-1].act_ratio

    @property
    def grad_ratio(self) -> float:
        """The last layer's back-propagated gradient variance over layer 1's."""
        return self.layers[-1].grad_ratio

    @property
    def gradient_growth(self) -> float:
        """How much the gradient variance grows on its way back from the last layer to layer 1
        (1 / grad_ratio): > 1 exploding gradients, < 1 vanishing."""
        return _div(self.layers[0].grad_var, self.layers[-1].grad_var)

    def column(self, name: str) -> np.ndarray:
        """One statistic over the layers as an array (``"act_var"``, ``"grad_ratio"``, ...)."""
        if name not in _COLUMNS and name not in ("width", "symmetric"):
            raise ValueError(f"name must be one of {', '.join(_COLUMNS)}, got {name!r}")
        return np.array([getattr(s, name) for s in self.layers])

    def table(self) -> None:
        """Print the per-layer table and the verdict (``str(diagnosis)`` is the same text);
        returns None so a REPL does not echo the table a second time as a quoted string."""
        print(self)

    def __str__(self) -> str:
        head = (f"{'layer':>5} {'width':>6} {'act mean':>9} {'act var':>10} {'(theory)':>10} "
                f"{'act/L1':>9} {'sat':>5} {'dead':>5} {'grad var':>10} {'(theory)':>10} "
                f"{'grad/L1':>9}")
        rows = [f"diagnose: widths {_widths_text(self.widths)}, {self.activation}, {self.scheme}"
                f"{_kw_text(self.scheme_kwargs)}, batch {self.batch}, seed {self.seed}", head]
        for s in self.layers:
            rows.append(
                f"{s.layer:>5} {s.width:>6} {s.act_mean:>9.3g} {s.act_var:>10.3e} "
                f"{s.predicted_act_var:>10.3e} {s.act_ratio:>9.3g} {s.saturated:>5.0%} "
                f"{s.dead:>5.0%} {s.grad_var:>10.3e} {s.predicted_grad_var:>10.3e} "
                f"{s.grad_ratio:>9.3g}")
        rows.append(self.verdict)
        return "\n".join(rows)

    def to_dict(self) -> Dict[str, Any]:
        """Plain data: ``json.dumps(d.to_dict(), allow_nan=False)`` works; a ratio with no value
        (0/0 after all-zero weights) or an overflowed variance is ``None`` (JSON null)."""
        return {
            "widths": list(self.widths), "activation": self.activation, "scheme": self.scheme,
            "scheme_kwargs": {k: _plain(v) for k, v in self.scheme_kwargs.items()},
            "batch": self.batch, "seed": self.seed, "bias": self.bias,
            "tolerance": self.tolerance, "verdict": self.verdict, "word": self.word,
            "concerns": self.concerns, "layer": self.layer,
            "layers": [{k: _plain(v) for k, v in s.__dict__.items()} for s in self.layers],
        }


def _plain(v: Any) -> Any:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (numbers.Integral,)):
        return int(v)
    if isinstance(v, numbers.Real):
        # NaN / inf are not JSON; None says "no finite value" to every JSON reader
        return float(v) if math.isfinite(v) else None
    return v if isinstance(v, (str, list, dict, type(None))) else repr(v)


def _widths_text(widths: Sequence[int]) -> str:
    if len(set(widths)) == 1:
        return f"{widths[0]}x{len(widths) - 1}"
    return "-".join(str(w) for w in widths)


def _kw_text(kw: Dict[str, Any]) -> str:
    return "".join(f", {k}={v!r}" for k, v in kw.items())


def _div(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 else math.inf
    return a / b


# ------------------------------------------------------------------------------ input checks

def _check_widths(widths: Any) -> tuple:
    if isinstance(widths, np.ndarray) and widths.ndim == 1:  # np.full(31, 256) is a fair input
        widths = widths.tolist()
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
        raise TypeError(f"widths must be a sequence of ints (layer widths, the input's first), "
                        f"got {type(widths).__name__}")
    if len(widths) < 2:
        raise ValueError(f"widths must hold the input width and at least one layer's width "
                         f"(>= 2 entries), got {list(widths)!r}")
    return tuple(_int(w, f"widths[{i}]", lo=1) for i, w in enumerate(widths))



def _scheme(scheme: Any, kwargs: Dict[str, Any]) -> tuple:
    """(display name, fill(w, seed, stream)) after checking scheme and its keywords."""
    for k in kwargs:
        if k in RANDOMNESS:
            raise TypeError(f"diagnose() sets {k} itself (from seed, one stream per layer); "
                            f"remove {k}= from the scheme's keywords")
    if isinstance(scheme, Recommendation):
        if kwargs:
            raise TypeError(f"a Recommendation carries its own arguments; got extra keywords "
                            f"{', '.join(kwargs)}")
        return (f"recommend({scheme.activation!r}): {scheme.scheme}",
                lambda w, seed, stream: scheme.apply(w, seed=seed, stream=stream))
    if isinstance(scheme, str):
        name = scheme.strip()
        name = name if name.endswith("_") else name + "_"
        if name not in initializer_names():
            raise ValueError(f"scheme {scheme!r} is not known; known (with or without the trailing "
                             f"underscore): {', '.join(initializer_names())}")
        ini = initializer(name)
        try:
            ini.signature.bind(np.empty((2, 2), np.float32), **kwargs)
        except TypeError as exc:
            raise TypeError(f"scheme {name}: {exc}") from None
        if ini.random:
            return name, lambda w, seed, stream: ini.fn(w, **kwargs, seed=seed, stream=stream)
        return name, lambda w, seed, stream: ini.fn(w, **kwargs)
    if callable(scheme):
        params: Any
        try:
            params = _inspect.signature(scheme).parameters
        except (TypeError, ValueError):
            params = {}
        takes_all = any(p.kind is p.VAR_KEYWORD for p in params.values())
        rand = {k for k in ("seed", "stream") if takes_all or k in params}
        label = getattr(scheme, "__name__", type(scheme).__name__)

        def fill(w: np.ndarray, seed: int, stream: str) -> None:
            kw = dict(kwargs)
            if "seed" in rand:
                kw["seed"] = seed
            if "stream" in rand:
                kw["stream"] = stream
            out = scheme(w, **kw)
            if out is not None and out is not w:
                out = np.asarray(out)
                if out.shape != w.shape:
                    raise ValueError(f"scheme {label} returned shape {out.shape} for weights of "
                                     f"shape {w.shape}")
                w[...] = out

        return label, fill
    raise TypeError(f"scheme must be a scheme name (e.g. 'kaiming_normal'), a Recommendation or "
                    f"a callable filling a weight array, got {type(scheme).__name__}")


# ------------------------------------------------------------------------------- the measurement

def diagnose(widths: Sequence[int], activation: Any, scheme: Any, *, batch: int = 256,
             seed: int = 0, bias: float = 0.0, tolerance: float = 10, bias_std: float = 0.0,
             **scheme_kwargs: Any) -> Diagnosis:
    """Measure signal propagation through a fully connected net at initialization.

    ``widths`` are the layer widths, the input's first (``[256] * 31`` is 30 layers); every layer
    is ``a_l = f(a_{l-1} W_l^T + b_l)`` with ``f`` = ``activation`` (a name of
    :data:`weightinit.ACTIVATIONS` or an element-wise callable of a NumPy array). ``scheme`` fills
    each W_l (shape (out, in)): a weightinit initializer name with or without the trailing
    underscore (``"kaiming_normal"``, ``"xavier_uniform"``, ``"lecun_normal"``, ``"normal"`` with
    ``std=``, ``"constant"`` with ``val=``, ``"zeros"``, ...; ``scheme_kwargs`` are its arguments,
    e.g. ``gain=5/3``), a :class:`~weightinit.Recommendation`, or a callable filling the array in
    place (given ``seed=`` and ``stream=`` if it accepts them). Layer l's weights come from stream
    ``"diagnose.layer{l}.weight"`` of ``seed``. Every bias is ``bias``, plus N(0, ``bias_std``^2)
    noise (stream ``"diagnose.layer{l}.bias"``) when ``bias_std`` > 0 -- the random biases of the
    mean-field theory (Schoenholz et al. 2017).

    A batch of ``batch`` N(0, 1) inputs goes forward and an N(0, 1) gradient of the last layer's
    activations goes back; the matrix products are float32. The verdict's rule (``tolerance``, a
    factor > 1) is in the module's docstring. Returns a :class:`Diagnosis`.
    """
    return _measure(widths, activation, scheme, batch, seed, bias, tolerance, bias_std,
                    scheme_kwargs)[0]


def _measure(widths: Any, activation: Any, scheme: Any, batch: int, seed: int, bias: float,
             tolerance: float, bias_std: float, scheme_kwargs: Dict[str, Any],
             keep: bool = False) -> tuple:
    """diagnose()'s work: (Diagnosis, activations per layer, (gradient, scale) per layer); the
    two lists are empty unless ``keep`` (the report's histograms read them)."""
    widths = _check_widths(widths)
    act = _activations.get(activation)
    scheme_name, fill = _scheme(scheme, scheme_kwargs)
    batch = _int(batch, "batch", lo=2)
    seed = _int(seed, "seed", lo=0)
    if seed >= 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    bias = float(_real(bias, "bias"))
    bias_std = float(_real(bias_std, "bias_std", lo=0))
    tolerance = float(_real(tolerance, "tolerance", lo=1, lo_open=True))

    f32 = np.float32
    x = _random.normal((batch, widths[0]), seed=seed, stream="diagnose.input")
    n = len(widths) - 1
    weights: List[np.ndarray] = []
    inputs: List[np.ndarray] = []  # a_{l-1}, for the weight gradients
    grads: List[np.ndarray] = []  # f'(z_l); softmax's outputs (its Jacobian is not diagonal)
    fwd: List[dict] = []
    # every fill before the first product: BLAS's spinning threads would slow the fills' threads
    for k in range(1, n + 1):
        # zeros, not empty: a callable that forgets to fill must not leave leftover memory
        w = np.zeros((widths[k], widths[k - 1]), f32)
        try:
            fill(w, seed, f"diagnose.layer{k}.weight")
        except ValueError as exc:  # e.g. dirac_ on a matrix: say which argument is at fault
            msg = str(exc)
            raise ValueError(msg if msg.startswith("scheme ") else f"scheme {scheme_name}: {msg}") from exc
        weights.append(w)
    a = x
    for k, w in enumerate(weights, 1):
        z = a @ w.T
        if bias_std > 0:
            z += _random.normal((widths[k],), bias, bias_std, seed=seed,
                                stream=f"diagnose.layer{k}.bias")
        elif bias != 0:
            z += f32(bias)
        with np.errstate(over="ignore", invalid="ignore"):
            out = act.fn(z)
            d = act.grad(z)
        inputs.append(a)
        grads.append(d if act.elementwise else out)
        fwd.append(_forward_stats(z, out, d, act))
        a = out

    kept: Optional[list] = [] if keep else None
    back = _backward(weights, inputs, grads,
                     _random.normal((batch, widths[-1]), seed=seed, stream="diagnose.output_grad"),
                     act.elementwise, kept)
    theory = _theory(act, weights, widths, float(np.mean(np.square(x, dtype=np.float64))),
                     bias, bias_std)
    layers = _layers(widths, fwd, back, theory)
    word, concerns, where, sentence = _verdict(layers, tolerance)
    diag = Diagnosis(widths, act.name, scheme_name, batch, seed, bias, tolerance, tuple(layers),
                     sentence, word, concerns, where, dict(scheme_kwargs))
    return diag, (inputs[1:] + [a] if keep else []), (kept[::-1] if kept is not None else [])


def _moments(v: np.ndarray) -> Tuple[float, float]:
    m = float(np.mean(v, dtype=np.float64))
    return m, float(np.mean(np.square(v - v.dtype.type(m)), dtype=np.float64))


def _forward_stats(z: np.ndarray, out: np.ndarray, d: np.ndarray,
                   act: _activations.Activation) -> dict:
    with np.errstate(over="ignore", invalid="ignore"):
        zm, zv = _moments(z)
        am, av = _moments(out)
        off = (out == 0) & (d == 0)  # a rectifier that is off: inactive, not saturated
        sat = float(np.mean((np.abs(d) < SATURATION * act.grad_max) & ~off))
    zero_units = np.all(out == 0, axis=0)
    dead = float(np.mean(zero_units))
    sym = bool(out.shape[1] >= 2 and not zero_units.all() and np.all(out == out[:, :1]))
    return dict(preact_mean=zm, preact_var=zv, act_mean=am, act_var=av, saturated=sat, dead=dead,
                symmetric=sym)


def _through(g: np.ndarray, d: np.ndarray, elementwise: bool) -> np.ndarray:
    """dLoss/dz from dLoss/da: times f'(z), or through softmax's Jacobian (d = its output)."""
    if elementwise:
        return g * d
    return d * (g - np.sum(g * d, axis=1, keepdims=True))


def _backward(weights: List[np.ndarray], inputs: List[np.ndarray], grads: List[np.ndarray],
              g: np.ndarray, elementwise: bool,
              kept: Optional[list] = None) -> List[tuple]:
    """(grad_var, weight_grad_var) per layer. The gradient is renormalized each layer and its
    scale carried in float64, so a 1e-60 variance does not underflow float32. ``kept``
    collects (normalized gradient, scale) from the last layer down."""
    n = len(weights)
    out: List[tuple] = [(0.0, 0.0)] * n
    scale = 1.0
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        delta = _through(g, grads[-1], elementwise)
        for i in range(n - 1, -1, -1):
            rms = math.sqrt(float(np.mean(np.square(delta, dtype=np.float64))))
            if rms > 0 and math.isfinite(rms):
                delta = delta * delta.dtype.type(1 / rms) if rms > 1e-30 else \
                    (delta.astype(np.float64) / rms).astype(delta.dtype)
                scale *= rms
            gv = float(np.var(delta, dtype=np.float64)) * scale * scale
            dw = delta.T @ inputs[i]
            wv = float(np.var(dw, dtype=np.float64)) * scale * scale / (delta.shape[0] ** 2)
            out[i] = (gv, wv)
            if kept is not None:
                kept.append((delta, scale))
            if i:
                delta = _through(delta @ weights[i], grads[i - 1], elementwise)
    return out


def _theory(act: _activations.Activation, weights: List[np.ndarray], widths: tuple,
            input_var: float, bias: float, bias_std: float) -> Dict[str, np.ndarray]:
    n = len(weights)
    if not act.elementwise:
        nan = np.full(n, math.nan)
        return {"preact_var": nan, "act_var": nan, "grad_var": nan}
    from . import meanfield  # meanfield imports recommend; keep diagnose importable alone

    wvars = [float(np.mean(np.square(w, dtype=np.float64))) * w.shape[1] for w in weights]
    with np.errstate(over="ignore", invalid="ignore"):
        return meanfield.propagate(act, wvars, input_var=input_var, bias=bias,
                                   bias_var=bias_std ** 2, widths=widths)


def _layers(widths: tuple, fwd: List[dict], back: List[tuple],
            theory: Dict[str, np.ndarray]) -> List[LayerStats]:
    first_a, first_g, first_w = fwd[0]["act_var"], back[0][0], back[0][1]
    g_last = theory["grad_var"][0]
    out = []
    for i, (s, (gv, wv)) in enumerate(zip(fwd, back)):
        # the mean-field output gradient has unit variance; scale it to the measured one
        pg = theory["grad_var"][i] * _div(back[-1][0], theory["grad_var"][-1]) \
            if not math.isnan(g_last) else math.nan
        out.append(LayerStats(
            layer=i + 1, width=widths[i + 1], **s, grad_var=gv, weight_grad_var=wv,
            act_ratio=_div(s["act_var"], first_a), grad_ratio=_div(gv, first_g),
            weight_grad_ratio=_div(wv, first_w),
            predicted_preact_var=float(theory["preact_var"][i]),
            predicted_act_var=float(theory["act_var"][i]), predicted_grad_var=float(pg)))
    return out


def _band(r: float, tol: float) -> int:
    """-1 below the band [1/tol, tol], +1 above (or not finite), 0 inside."""
    if not math.isfinite(r):
        return 1 if (math.isnan(r) or r > 0) else -1
    return -1 if r < 1 / tol else 1 if r > tol else 0


def _verdict(layers: List[LayerStats], tol: float) -> tuple:
    n = len(layers)
    for s in layers:
        if s.symmetric:
            return ("symmetric", "activations", s.layer,
                    f"symmetric: the {s.width} units of layer {s.layer} are identical for every "
                    f"sample, so they get identical gradients and never differ (activations)")
    for s in layers:
        if s.dead > MOSTLY:
            return ("dead", "activations", s.layer,
                    f"dead: {s.dead:.0%} of the units of layer {s.layer} output zero for every "
                    f"sample (activations), so no gradient reaches their weights")
    for s in layers:
        if s.saturated > MOSTLY:
            return ("saturated", "activations", s.layer,
                    f"saturated: {s.saturated:.0%} of layer {s.layer}'s pre-activations sit "
                    f"where |f'| < {SATURATION:.0%} of its maximum (activations), so gradients "
                    f"through them vanish")
    last = layers[-1]
    side = _band(last.act_ratio, tol)
    if side:
        start = next(s.layer for s in layers if _band(s.act_ratio, tol) == side)
        word = "exploding" if side > 0 else "vanishing"
        return (word, "activations", start,
                f"{word} activations: the activation variance leaves a factor {tol:g} of layer "
                f"1's at layer {start} and ends at {last.act_ratio:.3g} times it at layer {n}")
    growth = _div(layers[0].grad_var, last.grad_var)
    side = _band(growth, tol)
    if side:
        start = next(s.layer for s in reversed(layers)
                     if _band(_div(s.grad_var, last.grad_var), tol) == side)
        word = "exploding" if side > 0 else "vanishing"
        return (word, "gradients", start,
                f"{word} gradients: going back from layer {n}, the gradient variance leaves a "
                f"factor {tol:g} of layer {n}'s at layer {start} and reaches layer 1 at "
                f"{growth:.3g} times it")
    return ("healthy", "", 0,
            f"healthy: over {n} layers the activation variance stays within a factor {tol:g} "
            f"of layer 1's (last/first {last.act_ratio:.3g}) and so does the gradient variance "
            f"(layer 1 / layer {n}: {growth:.3g}); in every layer at most half the units are "
            f"flat (|f'| < {SATURATION:.0%} of its peak) or zero for the whole batch")

