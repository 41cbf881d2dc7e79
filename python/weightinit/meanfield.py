"""Mean-field signal propagation through deep random networks (Poole et al. 2016; Schoenholz et al. 2017).

A fully connected layer ``z = W a + b`` with weights of variance ``weight_var / fan_in`` and biases of
variance ``bias_var`` maps the pre-activation variance ``q`` of one layer to the next by

    q_{l+1} = weight_var * E[f(sqrt(q_l) z)^2] + bias_var,      z ~ N(0, 1)          (variance map)

whose fixed point is ``q*``. Near it, a back-propagated gradient's variance is multiplied per layer by

    chi_1 = weight_var * E[f'(sqrt(q*) z)^2]

(< 1 ordered: gradients vanish; > 1 chaotic: they explode; = 1 critical), which is also the slope of
the correlation map at c = 1. Deviations from q* decay over ``xi_q = -1 / ln(dq_{l+1}/dq_l at q*)``
layers, correlations over ``xi_c = -1 / ln(chi_c)`` and gradients over ``xi_grad = 1 / |ln chi_1|``.
Expectations are Gauss-Hermite quadratures (``numpy.polynomial.hermite_e``); derivatives are analytic
for the named activations and a fourth-order central difference for callables.

:func:`critical_gain` is the weight gain (``weight_var = gain**2``, no bias) that makes ``q* = 1``:
``1 / sqrt(E[f(z)^2])`` -- sqrt(2) for ReLU, 1 for linear, 1.5925 for tanh (torch uses 5/3), 1.5335
for GELU, 1.6765 for SiLU. ``weightinit recommend --check`` (also ``python -m
weightinit.meanfield``) prints every recommendation of :func:`weightinit.recommend` checked against
theory and a measured :func:`weightinit.diagnose` (:func:`check_recommendations`).

References: Poole, B., Lahiri, S., Raghu, M., Sohl-Dickstein, J. & Ganguli, S. (2016). Exponential
expressivity in deep neural networks through transient chaos. NeurIPS. Schoenholz, S. S., Gilmer, J.,
Ganguli, S. & Sohl-Dickstein, J. (2017). Deep information propagation. ICLR.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, Sequence, Tuple

import numpy as np
from numpy.polynomial import hermite_e

from . import _activations
from .schemes import _real

__all__ = ["MeanField", "mean_field", "variance_map", "fixed_point", "chi1", "critical_gain",
           "critical_weight_var", "propagate", "CheckRow", "check_recommendations", "check_table"]

# Gauss-Hermite nodes: an even count puts no node on a ReLU-type kink at 0, so the quadrature
# of f(z)^2 and f'(z)^2 is exact for the piecewise-linear units and converges fast for the rest
_NODES = 160
_MAX_ITER = 10_000


@functools.lru_cache(maxsize=None)
def _gauss_hermite(n: int = _NODES) -> Tuple[np.ndarray, np.ndarray]:
    x, w = hermite_e.hermegauss(n)
    return x, w / math.sqrt(2 * math.pi)  # weights of the standard normal density


@functools.lru_cache(maxsize=None)
def _gauss_legendre(n: int = 128) -> Tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


def _expect(h: Callable[[np.ndarray], np.ndarray], mean: float, var: float, kink: bool = False) -> float:
    """E[h(mean + sqrt(var) z)], z ~ N(0, 1), by Gauss-Hermite quadrature; with a kink of h at
    0, by Gauss-Legendre on each side of it over |z| <= 12 (Gauss-Hermite converges slowly across
    a kink: SELU's chi_1 at q = 1 comes out 1.0653 with 160 nodes, 1.07157 exactly)."""
    s = math.sqrt(max(var, 0.0))
    if kink and s > 0 and abs(mean) < 12 * s:
        t, w = _gauss_legendre()
        z0 = -mean / s
        total = 0.0
        for a, b in ((-12.0, z0), (z0, 12.0)):
            z = 0.5 * (b - a) * t + 0.5 * (a + b)
            dens = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
            total += 0.5 * (b - a) * float(np.dot(w, dens * h(mean + s * z)))
        return total
    x, w = _gauss_hermite()
    return float(np.dot(w, h(mean + s * x)))


def _act(activation: Any) -> _activations.Activation:
    act = _activations.get(activation)
    if not act.elementwise:
        raise ValueError(f"activation {act.name!r} is not element-wise: the mean-field theory of "
                         "independent units does not apply to it")
    return act


def _variances(weight_var: float, bias_var: float) -> Tuple[float, float]:
    return (_real(weight_var, "weight_var", lo=0, lo_open=True),
            _real(bias_var, "bias_var", lo=0))


def _second_moment(act: _activations.Activation, q: float, mean: float = 0.0) -> float:
    return _expect(lambda u: act.fn(u) ** 2, mean, q, act.kink)


def variance_map(activation: Any, q: float, weight_var: float, bias_var: float = 0.0) -> float:
    """The next layer's pre-activation variance: ``weight_var * E[f(sqrt(q) z)^2] + bias_var``."""
    act = _act(activation)
    weight_var, bias_var = _variances(weight_var, bias_var)
    q = _real(q, "q", lo=0)
    return weight_var * _second_moment(act, q) + bias_var


def _slope(act: _activations.Activation, q: float, weight_var: float) -> float:
    # d q_{l+1} / d q_l = weight_var E[f(u) f'(u) z] / sqrt(q), u = sqrt(q) z (needs f' only)
    if q <= 0:
        return weight_var * _expect(lambda u: act.grad(u) ** 2, 0.0, 0.0, act.kink)
    s = math.sqrt(q)
    return weight_var * _expect(lambda u: act.fn(u) * act.grad(u) * (u / s), 0.0, q, act.kink) / s


def _fixed_point(act: _activations.Activation, weight_var: float, bias_var: float, q0: float) -> float:
    q = q0
    if abs(weight_var * _second_moment(act, q) + bias_var - q) <= 1e-9 * q:
        return q  # q0 is a fixed point already, stable or not (GELU's q* = 1 at its critical gain)
    for _ in range(_MAX_ITER):
        nxt = weight_var * _second_moment(act, q) + bias_var
        if not math.isfinite(nxt) or nxt > 1e300:
            return math.inf
        if abs(nxt - q) <= 1e-13 * max(q, 1e-300) or nxt < 1e-300:
            return nxt
        q = nxt
    return q  # marginal maps (linear, ReLU at criticality) stay where they start


def fixed_point(activation: Any, weight_var: float, bias_var: float = 0.0, *,
                q0: float = 1.0) -> float:
    """The fixed point q* of the variance map: ``q0`` itself when it is one (stable or not), else
    the one iteration from ``q0`` reaches (inf when q grows without bound)."""
    act = _act(activation)
    weight_var, bias_var = _variances(weight_var, bias_var)
    return _fixed_point(act, weight_var, bias_var, _real(q0, "q0", lo=0, lo_open=True))


def chi1(activation: Any, q: float, weight_var: float) -> float:
    """``weight_var * E[f'(sqrt(q) z)^2]``: the per-layer factor of a gradient's variance (and the
    slope of the correlation map at c = 1) at pre-activation variance ``q``."""
    act = _act(activation)
    weight_var = _real(weight_var, "weight_var", lo=0, lo_open=True)
    return weight_var * _expect(lambda u: act.grad(u) ** 2, 0.0, _real(q, "q", lo=0), act.kink)


def _correlation_map(act: _activations.Activation, c: float, q: float, weight_var: float, bias_var: float) -> float:
    x, w = _gauss_hermite(64)
    z1, z2 = np.meshgrid(x, x, indexing="ij")
    ww = np.outer(w, w)
    s = math.sqrt(q)
    u1 = s * z1
    u2 = s * (c * z1 + math.sqrt(max(1 - c * c, 0.0)) * z2)
    return (weight_var * float(np.sum(ww * act.fn(u1) * act.fn(u2))) + bias_var) / q


def _chi_c(act: _activations.Activation, c: float, q: float, weight_var: float) -> float:
    x, w = _gauss_hermite(64)
    z1, z2 = np.meshgrid(x, x, indexing="ij")
    s = math.sqrt(q)
    u2 = s * (c * z1 + math.sqrt(max(1 - c * c, 0.0)) * z2)
    return weight_var * float(np.sum(np.outer(w, w) * act.grad(s * z1) * act.grad(u2)))


@dataclass(frozen=True)
class MeanField:
    """The mean-field analysis of one activation at (weight_var, bias_var): see the module."""

    activation: str
    weight_var: float
    bias_var: float
    q_star: float
    slope: float  # d q_{l+1} / d q_l at q*: the fixed point attracts when < 1
    chi_1: float
    c_star: float
    chi_c: float
    xi_q: float
    xi_c: float
    xi_grad: float
    phase: str  # ordered (chi_1 < 1), critical, chaotic (chi_1 > 1)

    @property
    def stable(self) -> bool:
        """Whether q* attracts nearby variances (slope < 1)."""
        return self.slope < 1

    def to_dict(self) -> Dict[str, Any]:
        return dict(asdict(self), stable=self.stable)


def _depth(factor: float) -> float:
    if not (factor > 0) or abs(math.log(factor)) < 1e-12:
        return math.inf
    return 1 / abs(math.log(factor))


def mean_field(activation: Any, weight_var: float, bias_var: float = 0.0, *,
               q0: float = 1.0) -> MeanField:
    """q*, the variance map's slope at q*, chi_1, the correlation fixed point c* and chi_c, and
    the depth scales xi_q, xi_c, xi_grad of ``activation`` (a name of ``weightinit.ACTIVATIONS``
    or an element-wise callable) with weights of variance ``weight_var / fan_in`` and biases of
    variance ``bias_var`` (Poole et al. 2016; Schoenholz et al. 2017). q* is reached by
    iterating the variance map from ``q0``."""
    act = _act(activation)
    weight_var, bias_var = _variances(weight_var, bias_var)
    q = _fixed_point(act, weight_var, bias_var, _real(q0, "q0", lo=0, lo_open=True))
    if not math.isfinite(q) or q <= 1e-300:
        slope = chi = chi_c = math.nan
        c = math.nan
        if q <= 1e-300:
            chi = chi_c = weight_var * float(act.grad(np.zeros(1))[0]) ** 2
            slope, c = chi, 1.0
    else:
        slope = _slope(act, q, weight_var)
        chi = weight_var * _expect(lambda u: act.grad(u) ** 2, 0.0, q, act.kink)
        c = 0.5  # iterate the correlation map to its stable fixed point
        for _ in range(2000):
            nxt = min(_correlation_map(act, c, q, weight_var, bias_var), 1.0)
            if abs(nxt - c) < 1e-12:
                break
            c = nxt
        c = nxt
        chi_c = _chi_c(act, c, q, weight_var)
    phase = ("critical" if abs(chi - 1) < 1e-6 else "ordered" if chi < 1 else "chaotic")
    return MeanField(act.name, weight_var, bias_var, q, slope, chi, c, chi_c, _depth(slope),
                     _depth(chi_c), _depth(chi), phase)


@functools.lru_cache(maxsize=None)
def _critical_gain(act: _activations.Activation) -> float:
    return 1 / math.sqrt(_second_moment(act, 1.0))


def critical_gain(activation: Any) -> float:
    """The weight gain that keeps the pre-activation variance at q* = 1 with zero biases:
    ``1 / sqrt(E[f(z)^2])``, z ~ N(0, 1), so weights of variance ``gain**2 / fan_in`` pass unit
    variance from layer to layer (Poole et al. 2016).

    For any activation of :data:`weightinit.ACTIVATIONS` (softmax excepted: it is not
    element-wise) or an element-wise callable: relu sqrt(2) (He et al. 2015), linear 1, tanh
    1.5925 (torch's calculate_gain uses 5/3), GELU 1.5335, SiLU 1.6765, SELU 1 (Klambauer et al.
    2017). Whether q* = 1 also attracts, and what gradients do there, is :func:`mean_field`'s
    ``slope`` and ``chi_1``.
    """
    return _critical_gain(_act(activation))


def critical_weight_var(activation: Any, bias_var: float = 0.0) -> float:
    """The weight variance (times fan_in) on the critical line chi_1 = 1 at ``bias_var``
    (Schoenholz et al. 2017), found by bisection on log(weight_var) in [0.01, 100]."""
    act = _act(activation)
    bias_var = _real(bias_var, "bias_var", lo=0)

    def excess(log_w: float) -> float:
        w = math.exp(log_w)
        q = _fixed_point(act, w, bias_var, 1.0)
        if not math.isfinite(q):
            return 1.0
        return w * _expect(lambda u: act.grad(u) ** 2, 0.0, q, act.kink) - 1

    lo, hi = math.log(0.01), math.log(100.0)
    if excess(lo) > 0 or excess(hi) < 0:
        raise ValueError(f"{act.name} has no critical weight variance in [0.01, 100] at "
                         f"bias_var={bias_var!r}")
    for _ in range(48):  # the log-range 9.2 halved 48 times: weight_var to 1e-13 relative
        mid = 0.5 * (lo + hi)
        if excess(mid) > 0:
            hi = mid
        else:
            lo = mid
    return math.exp(0.5 * (lo + hi))


def propagate(activation: Any, weight_vars: Sequence[float], *, input_var: float = 1.0,
              bias: float = 0.0, bias_var: float = 0.0, widths: Sequence[int] = ()
              ) -> Dict[str, np.ndarray]:
    """The mean-field prediction layer by layer, for finite depth.

    Layer l (1-based) has weights of variance ``weight_vars[l-1] / fan_in``, biases ``bias`` plus
    noise of variance ``bias_var``, and is followed by the activation; the input has second moment
    ``input_var`` and the output gradient unit variance. Returns arrays over layers:
    ``preact_var`` (q_l), ``act_mean``, ``act_var`` and ``grad_var`` (of the back-propagated
    gradient with respect to q_l's pre-activations). ``widths`` (input included) rescale the
    backward pass by fan_out / fan_in when the layers differ in width.
    """
    act = _act(activation)
    n = len(weight_vars)
    q = np.empty(n)
    mean = np.empty(n)
    var = np.empty(n)
    grad2 = np.empty(n)
    second = float(input_var)
    for i, wv in enumerate(weight_vars):
        q[i] = wv * second + bias_var
        m1 = _expect(act.fn, bias, q[i], act.kink)
        second = _expect(lambda u: act.fn(u) ** 2, bias, q[i], act.kink)
        mean[i], var[i] = m1, second - m1 * m1
        grad2[i] = _expect(lambda u: act.grad(u) ** 2, bias, q[i], act.kink)
    g = np.empty(n)
    g[-1] = grad2[-1]
    for i in range(n - 2, -1, -1):
        ratio = widths[i + 2] / widths[i + 1] if len(widths) == n + 1 else 1.0
        g[i] = g[i + 1] * weight_vars[i + 1] * ratio * grad2[i]
    return {"preact_var": q, "act_mean": mean, "act_var": var, "grad_var": g}


def finite_width_spread(activation: Any, weight_var: float, bias_var: float = 0.0, *,
                        depth: int = 50, width: int = 512, input_var: float = 1.0) -> float:
    """The factor by which one finite-width net's last-layer variance typically misses the
    mean-field value: each layer's variance carries a relative error ~ sqrt(2 / width) (one
    weight draw), which the remaining layers multiply by S = d log q_L / d log q_l (the product of
    the variance map's log-slopes). Returns exp(sqrt(2 / width * sum_l S_l^2)); near 1 the theory
    applies, above 2 a single measurement cannot be expected to agree within a factor 2 (GELU and
    Mish under He at width 512, whose maps shrink slowly through q ~ 1: S ~ 6-9)."""
    act = _act(activation)
    weight_var, bias_var = _variances(weight_var, bias_var)
    depth = int(_real(depth, "depth", lo=1))
    width = int(_real(width, "width", lo=1))
    q = weight_var * float(input_var) + bias_var
    slopes = []
    for _ in range(depth - 1):
        nxt = weight_var * _second_moment(act, q) + bias_var
        up = weight_var * _second_moment(act, q * 1.001) + bias_var
        slopes.append(math.log(up / nxt) / math.log(1.001) if nxt > 0 and up > 0 else 1.0)
        q = nxt
    total, s = 1.0, 1.0  # the last layer's own draw counts once (S = 1)
    for m in reversed(slopes):
        s *= m
        total += s * s
    return math.exp(math.sqrt(2.0 / width * total))


# ---------------------------------------------------------------- every recommendation checked

#: the critical points (Schoenholz et al. 2017) the check measures beside the advice: bias
#: variance -> weight variance on chi_1 = 1 (chosen so that q* is near layer 1's variance; SiLU's
#: and GELU's maps have several fixed points, and sigmoid has no critical point below 100)
CRITICAL_BIAS_VAR = {"tanh": 0.05, "elu": 0.05, "selu": 0.05, "gelu": 0.2, "mish": 0.2}
#: the check's net: depth, width, batch, and the seeds whose measurements are averaged
CHECK = {"depth": 50, "width": 512, "batch": 256, "seeds": (0, 1, 2)}
#: theory and measurement agree when their ratios are within this factor
AGREE = 2.0


@dataclass(frozen=True)
class CheckRow:
    """One line of the check: an initialization of ``activation`` at depth 50, width 512.

    ``theory_*`` are the mean-field predictions; ``measured_*`` geometric means over the check's
    seeds of :func:`weightinit.diagnose` (``act`` = last layer's activation variance over layer
    1's; ``grad`` = gradient variance at layer 1 over the last layer's, > 1 exploding); ``words``
    the verdict word of each seed; ``agree`` whether both ratios agree within a factor 2 (None
    where the theory does not apply)."""

    activation: str
    init: str
    weight_var: float
    bias_var: float
    theory_act: float
    theory_grad: float
    measured_act: float
    measured_grad: float
    words: tuple
    agree: Any
    spread: float = 1.0

    @property
    def word(self) -> str:
        """The verdict shared by every seed, else the words joined by '/'."""
        return self.words[0] if len(set(self.words)) == 1 else "/".join(self.words)


def _geomean(values: Sequence[float]) -> float:
    v = np.asarray(values, dtype=np.float64)
    if np.any(~np.isfinite(v)) or np.any(v <= 0):
        return float(np.median(v))
    return float(np.exp(np.mean(np.log(v))))


def _within(a: float, b: float) -> bool:
    return bool(a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)
                and 1 / AGREE <= a / b <= AGREE)


def _check_row(activation: str, init: str, weight_var: float, bias_var: float, scheme: Any,
               kw: Dict[str, Any], cfg: Dict[str, Any]) -> CheckRow:
    from .diagnose import diagnose

    depth, width = cfg["depth"], cfg["width"]
    try:
        p = propagate(activation, [weight_var] * depth, bias_var=bias_var)
        t_act = float(p["act_var"][-1] / p["act_var"][0])
        t_grad = float(p["grad_var"][0] / p["grad_var"][-1])
    except ValueError:  # softmax: not element-wise
        t_act = t_grad = math.nan
    ds = [diagnose([width] * (depth + 1), activation, scheme, batch=cfg["batch"], seed=seed,
                   bias_std=math.sqrt(bias_var), **kw) for seed in cfg["seeds"]]
    m_act = _geomean([d.act_ratio for d in ds])
    m_grad = _geomean([d.gradient_growth for d in ds])
    agree = None if math.isnan(t_act) else (_within(m_act, t_act) and _within(m_grad, t_grad))
    spread = math.nan if math.isnan(t_act) else finite_width_spread(
        activation, weight_var, bias_var, depth=depth, width=width)
    return CheckRow(activation, init, weight_var, bias_var, t_act, t_grad, m_act, m_grad,
                    tuple(d.word for d in ds), agree, spread)


def check_recommendations(activations: Sequence[str] = (), **config: Any) -> list:
    """Every recommendation of :func:`weightinit.recommend` measured by :func:`diagnose` and
    predicted by :func:`propagate`, at ``CHECK``'s depth 50, width 512, batch 256 (override with
    keywords), plus the critical (weight, bias) variances of ``CRITICAL_BIAS_VAR``. Returns
    :class:`CheckRow` s; :func:`check_table` formats them."""
    from .recommend import _TABLE, recommend

    cfg = dict(CHECK, **config)
    rows = []
    for act in activations or tuple(_TABLE):
        rec = recommend(act)
        rows.append(_check_row(rec.activation, rec.scheme.rstrip("_"), rec.scale, 0.0, rec, {},
                               cfg))
        if rec.activation in CRITICAL_BIAS_VAR:
            vb = CRITICAL_BIAS_VAR[rec.activation]
            vw = critical_weight_var(rec.activation, vb)
            rows.append(_check_row(rec.activation, "critical", vw, vb, "variance_scaling",
                                   {"scale": vw, "distribution": "normal"}, cfg))
    return rows


def _agree_text(r: CheckRow) -> str:
    if r.agree is None:
        return "n/a"
    text = "yes" if r.agree else "no"
    # beyond x2 a single net at this width is not what the theory describes: say so
    return text if not r.spread > AGREE else f"{text} (width: +-x{r.spread:.2g})"


def check_table(rows: Sequence[CheckRow], markdown: bool = False) -> str:
    """The check as a text (or Markdown) table."""
    head = ("activation", "init", "sigma_w^2", "sigma_b^2", "act ratio theory", "act measured",
            "grad growth theory", "grad measured", "agree (x2)", "verdict")
    body = [(r.activation, r.init, f"{r.weight_var:.4g}", f"{r.bias_var:.3g}",
             f"{r.theory_act:.3g}", f"{r.measured_act:.3g}", f"{r.theory_grad:.3g}",
             f"{r.measured_grad:.3g}",
             _agree_text(r), r.word) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(lines + ["| " + " | ".join(b) + " |" for b in body])
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in
                     [head] + body)


def main(argv: Any = None) -> int:
    """``python -m weightinit.meanfield [--markdown] [activation ...]``: the check's table."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m weightinit.meanfield",
                                description="every recommendation checked at depth 50, width 512: "
                                "mean-field theory beside the measured diagnose()")
    p.add_argument("activations", nargs="*", help="activations to check (default: all)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = p.parse_args(argv)
    print(check_table(check_recommendations(args.activations), markdown=args.markdown))
    return 0


if __name__ == "__main__":  # pragma: no cover - the command of the recommendation check
    raise SystemExit(main())
