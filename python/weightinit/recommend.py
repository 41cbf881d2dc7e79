"""Which initialization fits which activation: :func:`recommend` and :func:`init_`.

The advice follows the literature and the frameworks' practice: variance-preserving Xavier/Glorot
initialization for the saturating sigmoid, tanh and softmax units; He/Kaiming (fan_in, gain
sqrt(2 / (1 + slope^2))) for the ReLU family and the smooth ReLU-like units (ELU, GELU, SiLU/Swish,
Mish, Softplus); LeCun normal (variance 1/fan_in) for SELU's self-normalizing networks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, List, Optional, Sequence, Tuple, TypeVar

from . import schemes
from .gains import calculate_gain

__all__ = ["ACTIVATIONS", "Recommendation", "recommend", "init_"]

T = TypeVar("T")

GLOROT_2010 = ("Glorot, X. & Bengio, Y. (2010). Understanding the difficulty of training deep "
               "feedforward neural networks. AISTATS.")
HE_2015 = ("He, K., Zhang, X., Ren, S. & Sun, J. (2015). Delving deep into rectifiers: Surpassing "
           "human-level performance on ImageNet classification. ICCV.")
LECUN_1998 = ("LeCun, Y., Bottou, L., Orr, G. B. & Mueller, K.-R. (1998). Efficient BackProp. "
              "In Neural Networks: Tricks of the Trade, Springer.")
KLAMBAUER_2017 = ("Klambauer, G., Unterthiner, T., Mayr, A. & Hochreiter, S. (2017). "
                  "Self-normalizing neural networks. NeurIPS.")
SAXE_2013 = ("Saxe, A. M., McClelland, J. L. & Ganguli, S. (2013). Exact solutions to the "
             "nonlinear dynamics of learning in deep linear neural networks. arXiv:1312.6120.")
MARTENS_2010 = "Martens, J. (2010). Deep learning via Hessian-free optimization. ICML."
CLEVERT_2016 = ("Clevert, D.-A., Unterthiner, T. & Hochreiter, S. (2016). Fast and accurate deep "
                "network learning by exponential linear units (ELUs). ICLR.")
HENDRYCKS_2016 = ("Hendrycks, D. & Gimpel, K. (2016). Gaussian error linear units (GELUs). "
                  "arXiv:1606.08415.")
RAMACHANDRAN_2017 = ("Ramachandran, P., Zoph, B. & Le, Q. V. (2017). Searching for activation "
                     "functions. arXiv:1710.05941.")
ELFWING_2018 = ("Elfwing, S., Uchibe, E. & Doya, K. (2018). Sigmoid-weighted linear units for "
                "neural network function approximation in reinforcement learning. Neural Networks.")
MISRA_2019 = ("Misra, D. (2019). Mish: A self regularized non-monotonic neural activation "
              "function. arXiv:1908.08681.")
DUGAS_2001 = ("Dugas, C., Bengio, Y., Belisle, F., Nadeau, C. & Garcia, R. (2001). Incorporating "
              "second-order functional knowledge for better option pricing. NeurIPS.")


@dataclass(frozen=True)
class Recommendation:
    """An initialization for the weights feeding an activation, and why.

    ``scheme`` names the weightinit in-place function that applies it and ``kwargs`` its
    arguments (besides the array and the randomness keywords); ``apply(tensor, **kw)`` calls it.
    ``gain`` is the torch-style gain and ``scale = gain**2`` the equivalent
    ``variance_scaling_`` scale with the same ``mode``: the weights' variance is
    ``scale / n``, ``n`` the fan of ``mode`` (``fan_avg`` = (fan_in + fan_out) / 2).
    ``depth`` says what the advice does through 50 layers of width 512 (mean-field theory beside
    :func:`weightinit.diagnose`, from ``weightinit recommend --check``); ``critical`` names the
    critical (weight, bias) variances (Schoenholz et al. 2017) where they do better, else None.
    """

    activation: str
    scheme: str
    distribution: str
    mode: str
    gain: float
    scale: float
    bias: str
    formula: str
    why: str
    references: Tuple[str, ...]
    kwargs: Tuple[Tuple[str, Any], ...] = ()
    alternatives: Tuple[str, ...] = ()
    depth: str = ""
    critical: Optional[Tuple[float, float]] = None

    def apply(self, tensor: T, **kw: Any) -> T:
        """Initialize ``tensor`` (>= 2 dims) in place; ``kw`` are randomness/layout keywords."""
        return getattr(schemes, self.scheme)(tensor, **dict(self.kwargs), **kw)


_Rule = Callable[[str, Optional[float]], Recommendation]  # (activation, param) -> its advice


def _xavier(act: str, gain: float, why: str, refs: Sequence[str],
            alternatives: Sequence[str] = ()) -> Recommendation:
    return Recommendation(
        activation=act, scheme="xavier_uniform_", distribution="uniform", mode="fan_avg",
        gain=gain, scale=gain * gain, bias="zeros",
        formula=f"U(-b, b), b = {_g(gain)}sqrt(6 / (fan_in + fan_out))",
        why=why, references=tuple(refs), kwargs=(("gain", gain),),
        alternatives=tuple(alternatives))


def _he(act: str, slope: Optional[float], why: str, refs: Sequence[str],
        alternatives: Sequence[str] = ()) -> Recommendation:
    kwargs: Tuple[Tuple[str, Any], ...]
    if slope is None:
        gain, kwargs = calculate_gain("relu"), (("nonlinearity", "relu"),)
        formula = "N(0, 2 / fan_in)"
    else:
        gain = calculate_gain("leaky_relu", slope)
        kwargs = (("a", slope), ("nonlinearity", "leaky_relu"))
        formula = f"N(0, 2 / ((1 + {slope!r}^2) fan_in))"
    return Recommendation(
        activation=act, scheme="kaiming_normal_", distribution="normal", mode="fan_in",
        gain=gain, scale=gain * gain, bias="zeros", formula=formula, why=why,
        references=tuple(refs), kwargs=kwargs + (("mode", "fan_in"),),
        alternatives=tuple(alternatives))


def _g(gain: float) -> str:
    if gain == 1.0:
        return ""
    return "(5/3) " if gain == 5.0 / 3 else f"{gain!r} "


_ORTHO = f"orthogonal_(gain) -- {SAXE_2013.split('(2013)')[0].strip()} (2013)"
_SPARSE = "martens_sparse_(nonzeros=15) -- Martens (2010), for very deep or recurrent nets"


def _linear(act: str, param: Optional[float]) -> Recommendation:
    return _xavier(
        act, 1.0,
        "A linear (identity) unit passes variance through unchanged, so Glorot & Bengio's "
        "compromise between forward (fan_in) and backward (fan_out) variance preservation, gain "
        "1, is exact here; in deep linear networks an orthogonal matrix additionally keeps every "
        "singular value at 1 (Saxe et al. 2013).",
        [GLOROT_2010, SAXE_2013], [_ORTHO])


def _sigmoid(act: str, param: Optional[float]) -> Recommendation:
    return _xavier(
        act, 1.0,
        "Xavier/Glorot keeps activations and gradients in the logistic sigmoid's near-linear "
        "region at the start (Glorot & Bengio 2010; torch's gain is 1). Note: Glorot & Bengio's "
        "tutorial code for sigmoid units widens the Xavier bound 4x (the logistic's slope at 0 is "
        "1/4); pass gain=4.0 to follow it. Bias 0.",
        [GLOROT_2010, LECUN_1998], ["xavier_uniform_(gain=4.0) -- the 4x-wide tutorial variant"])


def _tanh(act: str, param: Optional[float]) -> Recommendation:
    return _xavier(
        act, calculate_gain("tanh"),
        "tanh is the unit Glorot & Bengio derived Xavier initialization for; torch's gain 5/3 "
        "compensates the variance tanh removes, so the pre-activations' scale is held across "
        "layers. Orthogonal initialization is a strong alternative for deep tanh stacks.",
        [GLOROT_2010, SAXE_2013], [_ORTHO, _SPARSE])


def _softmax(act: str, param: Optional[float]) -> Recommendation:
    return _xavier(
        act, 1.0,
        "A softmax output layer is a linear map followed by a normalization; Xavier with gain 1 "
        "(Glorot & Bengio 2010) keeps its logits at unit scale so the initial distribution is "
        "neither saturated nor flat. (Zero weights are also common for a final classifier.)",
        [GLOROT_2010])


def _relu(act: str, param: Optional[float]) -> Recommendation:
    return _he(
        act, None,
        "ReLU zeroes half of its input, halving the variance; He et al. (2015) compensate with "
        "gain sqrt(2) on fan_in, which keeps activation variance constant through depth.",
        [HE_2015])


def _leaky_relu(act: str, param: Optional[float]) -> Recommendation:
    slope = 0.01 if param is None else param
    return _he(
        act, slope,
        "A leaky ReLU with negative slope a keeps (1 + a^2) / 2 of its input's second moment, so "
        "He et al.'s (2015) derivation gives gain sqrt(2 / (1 + a^2)) on fan_in (param = a, "
        "default 0.01).",
        [HE_2015])


def _prelu(act: str, param: Optional[float]) -> Recommendation:
    slope = 0.25 if param is None else param
    return _he(
        act, slope,
        "He et al. (2015) introduced PReLU with the initial slope a = 0.25 and derived gain "
        "sqrt(2 / (1 + a^2)) on fan_in for it (param = initial slope, default 0.25).",
        [HE_2015])


def _relu_like(name: str, extra: str, refs: List[str]) -> _Rule:
    def make(act: str, param: Optional[float]) -> Recommendation:
        return _he(
            act, None,
            f"{extra} It behaves like a ReLU for large inputs, so He initialization (gain "
            "sqrt(2), fan_in) is the usual choice, as for the ReLU family.",
            [HE_2015] + refs)

    make.__name__ = f"_{name}"
    return make


def _selu(act: str, param: Optional[float]) -> Recommendation:
    return Recommendation(
        activation=act, scheme="lecun_normal_", distribution="truncated_normal", mode="fan_in",
        gain=1.0, scale=1.0, bias="zeros",
        formula="normal truncated at +-2 s, s = sqrt(1 / fan_in) / 0.87962566103423978 "
                "(variance 1 / fan_in)",
        why="Self-normalizing networks need zero-mean weights of variance 1/fan_in (LeCun "
            "normal) for SELU's fixed point (mean 0, variance 1) to attract activations "
            "(Klambauer et al. 2017). This is Keras' and JAX's lecun_normal (truncated, rescaled "
            "to that variance); Klambauer et al. used the untruncated N(0, 1/fan_in), which is "
            "kaiming_normal_(nonlinearity='linear') -- not torch's calculate_gain('selu') = 3/4.",
        references=(KLAMBAUER_2017, LECUN_1998),
        alternatives=("kaiming_normal_(nonlinearity='linear') -- the untruncated N(0, 1/fan_in)",))


_TABLE = {
    "linear": _linear,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "softmax": _softmax,
    "relu": _relu,
    "leaky_relu": _leaky_relu,
    "prelu": _prelu,
    "elu": _relu_like(
        "elu", "ELU (Clevert et al. 2016) is the identity for positive inputs and saturates "
        "smoothly to -alpha for negative ones.", [CLEVERT_2016]),
    "selu": _selu,
    "gelu": _relu_like(
        "gelu", "GELU, x * Phi(x) (Hendrycks & Gimpel 2016), is a smooth ReLU (transformers "
        "often use N(0, 0.02^2) instead, a model-level choice).", [HENDRYCKS_2016]),
    "silu": _relu_like(
        "silu", "SiLU/Swish, x * sigmoid(x) (Elfwing et al. 2018; Ramachandran et al. 2017), is a "
        "smooth, non-monotonic ReLU.", [ELFWING_2018, RAMACHANDRAN_2017]),
    "mish": _relu_like(
        "mish", "Mish, x * tanh(softplus(x)) (Misra 2019), is a smooth, Swish-like ReLU.",
        [MISRA_2019]),
    "softplus": _relu_like(
        "softplus", "Softplus, log(1 + e^x) (Dugas et al. 2001), is a smooth ReLU.", [DUGAS_2001]),
}

# What each advice does through depth: the table of `weightinit recommend --check`
# (weightinit.meanfield.check_recommendations, seeds 0-2), which tests/test_meanfield.py re-measures
_DEPTH = {
    'linear': (
        'Depth 50, width 512 (mean-field theory / diagnose() measured, 3 seeds): activation '
        'variance ratio last/first 1 / 0.947, gradient variance growth back to layer 1 1 / '
        '0.961 -> healthy.'
    ),
    'sigmoid': (
        'Depth 50, width 512 (mean-field theory / diagnose() measured, 3 seeds): activation '
        'variance ratio last/first 0.339 / 0.336, gradient variance growth back to layer 1 '
        '2.85e-62 / 2.59e-62 -> vanishing.'
    ),
    'tanh': (
        'Depth 50, width 512 (mean-field theory / diagnose() measured, 3 seeds): activation '
        'variance ratio last/first 0.736 / 0.737, gradient variance growth back to layer 1 '
        '6.36e+03 / 6.56e+03 -> exploding. The critical variances (Schoenholz et al. 2017) '
        'sigma_w^2 = 1.761, sigma_b^2 = 0.05 (variance_scaling_(scale=1.761, '
        "distribution='normal'), biases N(0, 0.05)) do better: activation ratio 0.588 / "
        '0.616, gradient growth 0.458 / 0.456 -> healthy.'
    ),
    'softmax': (
        'Depth 50, width 512 (measured by diagnose(), 3 seeds; softmax is not element-wise, '
        'so no mean-field theory): activation variance ratio last/first 2.24e-06, gradient '
        'variance growth back to layer 1 7.03e-266 -> saturated: a softmax belongs at the '
        'output, not in a deep stack.'
    ),
    'relu': (
        'Depth 50, width 512 (mean-field theory / diagnose() measured, 3 seeds): activation '
        'variance ratio last/first 1 / 1.43, gradient variance growth back to layer 1 1 / 1.1'
        ' -> healthy.'
    ),
    'leaky_relu': (
        'Depth 50, width 512 (mean-field theory / diagnose() measured, 3 seeds): activation '
        'variance ratio last/first 1 / 1.42, gradient variance growth back to layer 1 1 / '
        '1.11 -> healthy.'
    ),
    'prelu': (
        'Depth 50, width 512 (mean-field theory / diagnose() measured, 3 seeds): activation '
        'variance ratio last/first 1 / 1.3, gradient variance growth back to layer 1 1 / '
        '0.985 -> healthy.'
    ),
    'elu': (
        'Depth 50, width 512 (mean-field theory / diagnose() measured, 3 seeds): activation '
        'variance ratio last/first 12.9 / 16.5, gradient variance growth back to layer 1 191 '
        '/ 168 -> exploding. The critical variances (Schoenholz et al. 2017) sigma_w^2 = '
        "1.534, sigma_b^2 = 0.05 (variance_scaling_(scale=1.534, distribution='normal'), "
        'biases N(0, 0.05)) do better: activation ratio 0.845 / 0.785, gradient growth 0.879 '
        '/ 0.843 -> healthy.'
    ),
    'selu': (
        'Depth 50, width 512 (mean-field theory / diagnose() measured, 3 seeds): activation '
        'variance ratio last/first 1 / 1, gradient variance growth back to layer 1 29.6 / 30 '
        '-> exploding. The critical variances (Schoenholz et al. 2017) sigma_w^2 = 0.9018, '
        "sigma_b^2 = 0.05 (variance_scaling_(scale=0.9018, distribution='normal'), biases "
        'N(0, 0.05)) do better: activation ratio 0.896 / 0.912, gradient growth 0.908 / 0.996'
        ' -> healthy.'
    ),
    'gelu': (
        'Depth 50, width 512 (mean-field theory / diagnose() measured, 3 seeds): activation '
        'variance ratio last/first 1.8e-12 / 3.3e-09, gradient variance growth back to layer '
        '1 7.29e-12 / 5.99e-08 -> vanishing (the theory does not apply at width 512: the '
        'variance map shrinks slowly through q ~ 1 and multiplies each layer\'s '
        'O(1/sqrt(width)) error, a spread of x3.7; at width 2048 seeds 0-2 measure '
        '1.4e-12 .. 6.3e-12). The critical '
        'variances (Schoenholz et al. 2017) sigma_w^2 = 1.971, sigma_b^2 = 0.2 '
        "(variance_scaling_(scale=1.971, distribution='normal'), biases N(0, 0.2)) do better:"
        ' activation ratio 1.29 / 2.26, gradient growth 0.338 / 0.887 -> healthy.'
    ),
    'silu': (
        'Depth 50, width 512 (mean-field theory / diagnose() measured, 3 seeds): activation '
        'variance ratio last/first 1.59e-14 / 2.03e-14, gradient variance growth back to '
        'layer 1 3.41e-14 / 4.91e-14 -> vanishing.'
    ),
    'mish': (
        'Depth 50, width 512 (mean-field theory / diagnose() measured, 3 seeds): activation '
        'variance ratio last/first 1.22e-05 / 0.000751, gradient variance growth back to '
        'layer 1 4.73e-05 / 0.00879 -> vanishing (the theory does not apply at width 512: '
        'the variance map multiplies each layer\'s O(1/sqrt(width)) error, a spread of x3.1; '
        'at width 2048 seeds 0-2 measure 1.1e-05 .. 3.0e-05). The critical '
        'variances (Schoenholz et al. 2017) sigma_w^2 = 1.95, sigma_b^2 = 0.2 '
        "(variance_scaling_(scale=1.95, distribution='normal'), biases N(0, 0.2)) do better: "
        'activation ratio 1.54 / 2.52, gradient growth 0.647 / 1.19 -> healthy.'
    ),
    'softplus': (
        'Depth 50, width 512 (mean-field theory / diagnose() measured, 3 seeds): activation '
        'variance ratio last/first 14.3 / 19.6, gradient variance growth back to layer 1 '
        '1.23e-05 / 0.00116 -> exploding (the activations agree: 14.3 at width 2048, seed 0; '
        'the gradients do not, and not from finite width: width 2048 measures 1.67e-04 '
        'against 1.23e-05 -- an open question).'
    ),
}
_CRITICAL = {
    'tanh': (1.761, 0.05),
    'elu': (1.534, 0.05),
    'selu': (0.9018, 0.05),
    'gelu': (1.971, 0.2),
    'mish': (1.95, 0.2),
}

_ALIASES = {"identity": "linear", "none": "linear", "logistic": "sigmoid", "swish": "silu",
            "leakyrelu": "leaky_relu"}

#: every activation name recommend() accepts (canonical names, then aliases)
ACTIVATIONS = tuple(_TABLE) + tuple(_ALIASES)
_USES_PARAM = ("leaky_relu", "prelu")


def _canonical(activation: Any) -> str:
    if not isinstance(activation, str):
        raise TypeError(
            f"activation must be a str, one of {', '.join(ACTIVATIONS)}; got "
            f"{type(activation).__name__}"
        )
    key = activation.strip().lower().replace("-", "_").replace(" ", "_")
    key = _ALIASES.get(key, key)
    if key not in _TABLE:
        raise ValueError(
            f"activation {activation!r} is not known; known: {', '.join(ACTIVATIONS)}"
        )
    return key


def recommend(activation: str, param: Optional[float] = None) -> Recommendation:
    """The recommended initialization of the weights that feed ``activation``.

    ``activation`` is one of :data:`ACTIVATIONS` (case-insensitive; ``-`` and spaces read as
    ``_``): identity/linear, sigmoid/logistic, tanh, softmax, relu, leaky_relu, prelu, elu, selu,
    gelu, silu/swish, mish, softplus. ``param`` is the negative slope of leaky_relu (default 0.01)
    or the initial slope of prelu (default 0.25), and must be None for the others.

    ================== ================= ================================================
    activation         scheme            weights
    ================== ================= ================================================
    linear, softmax    xavier_uniform\\_  U(-b, b), b = sqrt(6 / (fan_in + fan_out))
    sigmoid            xavier_uniform\\_  same (4x wider in Glorot & Bengio's tutorial code)
    tanh               xavier_uniform\\_  same, gain 5/3
    relu, elu, gelu,   kaiming_normal\\_  N(0, 2 / fan_in)
    silu, mish,
    softplus
    leaky_relu, prelu  kaiming_normal\\_  N(0, 2 / ((1 + a^2) fan_in))
    selu               lecun_normal\\_    truncated normal of variance 1 / fan_in
    ================== ================= ================================================

    Biases: zeros. Returns a frozen :class:`Recommendation`; unknown names raise ``ValueError``
    listing the known ones.
    """
    act = _canonical(activation)
    if param is not None:
        if act not in _USES_PARAM:
            raise ValueError(
                f"param is only read for {' and '.join(_USES_PARAM)}, got param={param!r} for "
                f"{act!r}"
            )
        schemes._real(param, "param")
        param = param if isinstance(param, (int, float)) else float(param)
    return replace(_TABLE[act](act, param), depth=_DEPTH[act], critical=_CRITICAL.get(act))


def init_(tensor: T, activation: str, param: Optional[float] = None, **kwargs: Any) -> T:
    """Initialize ``tensor`` (the weights feeding ``activation``) as :func:`recommend` advises.

    ``kwargs`` are passed to the scheme: the randomness keywords (``seed``, ``stream``,
    ``offset``, ``threads``, ``generator``) and the layout keywords (``in_axis``, ``out_axis``,
    ``batch_axis``, ``fans``); the shape is read as (out, in, \\*kernel) unless told otherwise.
    Returns ``tensor``. Biases are not touched (the recommendation for them is zeros:
    ``weightinit.zeros_(bias)``).
    """
    rec = recommend(activation, param)
    for k in kwargs:
        if k not in _PASSTHROUGH:
            raise TypeError(
                f"init_() got an unexpected keyword argument {k!r}; accepted: "
                f"{', '.join(_PASSTHROUGH)}"
            )
    return rec.apply(tensor, **kwargs)


_PASSTHROUGH = ("seed", "stream", "offset", "threads", "generator", "in_axis", "out_axis",
                "batch_axis", "fans")
