"""The classic demonstrations of why initialization matters, each a function returning a :class:`Demo`.

``weightinit demo NAME`` prints a demo's numbers (``--out`` writes its figure) and
``weightinit demo all --out docs/figures/`` makes every figure of the README. Every weight is
drawn by weightinit's fills with a fixed seed, so the numbers below are reproducible bit for bit.

- :func:`zero` -- all-zero weights: every hidden-layer gradient is exactly 0; nothing learns.
- :func:`symmetry` -- Linear(1, 2) -> tanh -> Linear(2, 1) trained 100 SGD steps: constant
  weights keep the two hidden units identical, random weights break the symmetry.
- :func:`saturation` -- one logistic / tanh unit with fan_in 200 (Glorot & Bengio 2010): U(-1, 1)
  weights saturate it, U(-1/sqrt(n), 1/sqrt(n)) do not.
- :func:`depth_tanh` -- 10 tanh layers: U(+-1/sqrt(n)) vs Xavier (gain 1 and 5/3) and Glorot's
  4x-wider bound for the logistic sigmoid.
- :func:`depth_relu` -- 30 ReLU layers: Xavier halves the variance per layer, He keeps it.
- :func:`selu` -- 50 SELU layers with LeCun normal (Klambauer et al. 2017): forward
  self-normalization, and the gradient growth mean-field theory predicts.
- :func:`sparse` -- Martens' (2010) sparse init on a deep tanh net, against dense N(0, 1) and Xavier.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np

from . import _random
from .diagnose import Diagnosis, diagnose
from .schemes import xavier_uniform

__all__ = ["DEMOS", "Demo", "depth_relu", "depth_tanh", "run", "saturation", "selu", "sparse",
           "symmetry", "zero"]


@dataclass
class Demo:
    """A demonstration's result: ``numbers`` (the quantities its claim rests on), ``text`` (what
    ``weightinit demo`` prints) and :meth:`save` for its figure."""

    name: str
    claim: str
    numbers: Dict[str, Any]
    text: str
    draw: Optional[Callable[[Any], Any]] = field(default=None, repr=False)

    def __str__(self) -> str:
        return f"{self.name}: {self.claim}\n{self.text}"

    def save(self, path: Union[str, os.PathLike]) -> str:
        """Writes the figure (PNG, or SVG/PDF by the name's extension); needs matplotlib."""
        from .report import _pyplot

        plt = _pyplot()
        fig = self.draw(plt)  # type: ignore[misc]
        fig.savefig(os.fspath(path), dpi=100)
        plt.close(fig)
        return os.fspath(path)


def _diag_rows(d: Diagnosis, every: int = 1) -> List[str]:
    rows = [f"{'layer':>5} {'act mean':>9} {'act var':>10} {'act/L1':>10} {'sat':>5} "
            f"{'grad var':>10} {'grad/L1':>10}"]
    for s in d.layers:
        if s.layer == 1 or s.layer % every == 0 or s.layer == len(d.layers):
            rows.append(f"{s.layer:>5} {s.act_mean:>9.3g} {s.act_var:>10.3e} {s.act_ratio:>10.3e} "
                        f"{s.saturated:>5.0%} {s.grad_var:>10.3e} {s.grad_ratio:>10.3e}")
    return rows


def _variance_figure(plt: Any, title: str, diags: Dict[str, Diagnosis],
                     columns: tuple = ("act_var", "grad_var"), theory: bool = False) -> Any:
    labels = {"act_var": "activation variance", "grad_var": "gradient variance (dL/dz)",
              "saturated": "fraction saturated", "act_mean": "activation mean"}
    fig, axes = plt.subplots(1, len(columns), figsize=(5.2 * len(columns), 4))
    for ax, col in zip(np.atleast_1d(axes), columns):
        for label, d in diags.items():
            layers = np.arange(1, len(d.layers) + 1)
            ax.plot(layers, d.column(col), marker="o", ms=3, label=label)
            if theory and col in ("act_var", "grad_var"):
                ax.plot(layers, d.column(f"predicted_{col}"), ls="--", color="gray",
                        label="mean-field theory")
        if col == "act_mean" and theory:  # self-normalization: show the scale that matters
            ax.set_ylim(-0.5, 0.5)
        elif col == "act_var" and theory:
            ax.set_ylim(0, 2)
        elif col in ("act_var", "grad_var"):
            ax.set_yscale("log")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("layer")
        ax.set_title(labels.get(col, col), fontsize=10)
        ax.grid(alpha=0.3)
        if col == columns[-1] and theory or col == columns[0] and not theory:
            ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def _finish(fig: Any, ax: Any, xlabel: str, ylabel: str, title: str) -> Any:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------- zero, symmetry

def _tiny_net(w1: np.ndarray, w2: np.ndarray, x: np.ndarray, y: np.ndarray, steps: int,
              lr: float) -> Dict[str, Any]:
    """Full-batch SGD on 0.5 * mean((tanh(x w1^T) w2^T - y)^2) for x of shape (batch, in);
    element-wise products (no BLAS), so identical units compute identical bits."""
    w1, w2 = w1.copy(), w2.copy()
    losses = []
    for _ in range(steps + 1):
        h = np.tanh((x[:, None, :] * w1[None, :, :]).sum(-1))  # (batch, hidden)
        out = (h[:, None, :] * w2[None, :, :]).sum(-1)  # (batch, 1)
        err = out - y
        losses.append(float(0.5 * np.mean(err**2)))
        if len(losses) > steps:
            break
        g_out = err / len(x)
        g2 = (g_out[:, :, None] * h[:, None, :]).sum(0)
        g_h = (g_out[:, :, None] * w2[None, :, :]).sum(1) * (1 - h**2)
        g1 = (g_h[:, :, None] * x[:, None, :]).sum(0)
        w1 -= lr * g1
        w2 -= lr * g2
    return {"w1": w1, "w2": w2, "losses": losses, "grad_w1": g1, "grad_w2": g2}


def _toy_data(seed: int, n_in: int = 1, batch: int = 64) -> Tuple[np.ndarray, np.ndarray]:
    x = _random.normal((batch, n_in), seed=seed, stream="demos.x").astype(np.float64)
    y = np.sin(2 * x.sum(1, keepdims=True))
    return x, y


def zero(seed: int = 0) -> Demo:
    """All-zero weights: with tanh and ReLU the forward signal is 0 from layer 1 on, and the
    backward signal is multiplied by W^T = 0, so every hidden-layer gradient -- of the
    pre-activations and of the weights -- is exactly 0 (the sigmoid's 0.5 outputs give the last
    layer one gradient, the same for every unit). Trained 100 steps, nothing changes."""
    widths = [64] * 6
    diags = {a: diagnose(widths, a, "zeros", seed=seed) for a in ("tanh", "relu", "sigmoid")}
    hidden = {a: [s.grad_var for s in d.layers[:-1]] + [s.weight_grad_var for s in d.layers[:-1]]
              for a, d in diags.items()}
    x, y = _toy_data(seed, 4)
    run_ = _tiny_net(np.zeros((8, 4)), np.zeros((1, 8)), x, y, 100, 0.1)
    numbers = {
        "hidden_grad_vars": hidden,
        "last_weight_grad_var": {a: d.layers[-1].weight_grad_var for a, d in diags.items()},
        "trained_w1_abs_max": float(np.abs(run_["w1"]).max()),
        "trained_w2_abs_max": float(np.abs(run_["w2"]).max()),
        "loss_first": run_["losses"][0], "loss_last": run_["losses"][-1],
    }
    rows = [f"net {'x'.join(map(str, widths))}, all weights 0, one backward pass:"]
    for a, d in diags.items():
        rows.append(f"  {a:<8} gradient variance per layer (dL/dz): "
                    + " ".join(f"{s.grad_var:.2g}" for s in d.layers)
                    + "; dL/dW: " + " ".join(f"{s.weight_grad_var:.2g}" for s in d.layers))
    rows.append(f"tanh net 4-8-1 trained 100 SGD steps from zeros: max |W1| = "
                f"{numbers['trained_w1_abs_max']:g}, max |W2| = {numbers['trained_w2_abs_max']:g}, "
                f"loss {numbers['loss_first']:.4f} -> {numbers['loss_last']:.4f}")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(6.5, 3.8))
        for (a, d), mk, ms in zip(diags.items(), "os^", (10, 7, 4)):
            v = np.array([s.weight_grad_var for s in d.layers])
            ax.plot(np.arange(1, len(v) + 1), np.where(v > 0, v, 1e-30), marker=mk, ms=ms,
                    label=a)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_yscale("log")
        ax.set_ylim(1e-31, 1)
        return _finish(fig, ax, "layer", "variance of dL/dW (0 drawn at 1e-30)",
                       "zero init: no hidden layer gets a gradient")

    return Demo("zero", "all-zero weights: every hidden-layer gradient is exactly 0",
                numbers, "\n".join(rows), draw)


def symmetry(seed: int = 0, steps: int = 100, lr: float = 0.1) -> Demo:
    """Linear(1, 2) -> tanh -> Linear(2, 1), no bias, ``steps`` full-batch SGD steps (lr 0.1) on
    y = sin(2x) for 64 random inputs: with constant weights (0.3 and 0.5) both hidden units get
    the same gradient at every step and stay bit-identical; random (Xavier uniform) weights break
    the symmetry. A torch twin runs the same when torch is installed."""
    x, y = _toy_data(seed)
    const = _tiny_net(np.full((2, 1), 0.3), np.full((1, 2), 0.5), x, y, steps, lr)
    w1 = xavier_uniform((2, 1), dtype="float64", seed=seed, stream="demos.symmetry.w1")
    w2 = xavier_uniform((1, 2), dtype="float64", seed=seed, stream="demos.symmetry.w2")
    rand = _tiny_net(w1, w2, x, y, steps, lr)
    numbers: Dict[str, Any] = {
        "constant_identical": bool(const["w1"][0, 0] == const["w1"][1, 0]
                                   and const["w2"][0, 0] == const["w2"][0, 1]),
        "constant_w1": const["w1"].ravel().tolist(), "constant_w2": const["w2"].ravel().tolist(),
        "random_w1": rand["w1"].ravel().tolist(), "random_w2": rand["w2"].ravel().tolist(),
        "constant_loss": [const["losses"][0], const["losses"][-1]],
        "random_loss": [rand["losses"][0], rand["losses"][-1]],
        "torch_identical": None,
    }
    numbers["torch_identical"] = _symmetry_torch(x, y, steps, lr)
    rows = [f"Linear(1,2) -> tanh -> Linear(2,1), {steps} SGD steps, lr {lr}:",
            f"  constant 0.3/0.5: W1 = {const['w1'].ravel()}, W2 = {const['w2'].ravel()} "
            f"(units identical: {numbers['constant_identical']}), loss "
            f"{const['losses'][0]:.4f} -> {const['losses'][-1]:.4f}",
            f"  random (Xavier): W1 = {rand['w1'].ravel()}, W2 = {rand['w2'].ravel()}, loss "
            f"{rand['losses'][0]:.4f} -> {rand['losses'][-1]:.4f}"]
    if numbers["torch_identical"] is not None:
        rows.append(f"  torch twin (nn.Linear, torch.optim.SGD), constant init: units identical: "
                    f"{numbers['torch_identical']}")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(6.5, 3.8))
        ax.plot(const["losses"], label="constant 0.3 / 0.5 (units stay identical)")
        ax.plot(rand["losses"], label="Xavier uniform (symmetry broken)")
        return _finish(fig, ax, "SGD step", "training loss",
                       "symmetry: two hidden units, constant vs random init")

    return Demo("symmetry", "constant weights never break symmetry; random weights do",
                numbers, "\n".join(rows), draw)


def _symmetry_torch(x: np.ndarray, y: np.ndarray, steps: int, lr: float) -> Optional[bool]:
    try:
        import torch
    except ImportError:
        return None
    hidden = torch.nn.Linear(1, 2, bias=False).double()
    out = torch.nn.Linear(2, 1, bias=False).double()
    net = torch.nn.Sequential(hidden, torch.nn.Tanh(), out)
    with torch.no_grad():
        hidden.weight.fill_(0.3)
        out.weight.fill_(0.5)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.5 * ((net(xt) - yt) ** 2).mean()
        loss.backward()
        opt.step()
    w1, w2 = hidden.weight.detach(), out.weight.detach()
    return bool(w1[0, 0] == w1[1, 0] and w2[0, 0] == w2[0, 1])


# --------------------------------------------------------------------------------- saturation

def _logistic(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def _logistic_grad(z: np.ndarray) -> np.ndarray:
    g = _logistic(z)
    return g * (1 - g)


def _tanh_grad(z: np.ndarray) -> np.ndarray:
    return 1 / np.cosh(z) ** 2  # not 1 - tanh^2, which rounds to 0 beyond |z| ~ 19


_Fn = Callable[[np.ndarray], np.ndarray]
#: unit -> (g, g', max |g'|)
_UNITS: Dict[str, Tuple[_Fn, _Fn, float]] = {"logistic": (_logistic, _logistic_grad, 0.25),
                                             "tanh": (np.tanh, _tanh_grad, 1.0)}


def saturation(seed: int = 0, fan_in: int = 200, samples: int = 10000) -> Demo:
    """One unit z = sum_j w_j a_j with ``fan_in`` inputs over ``samples`` draws. Logistic: inputs
    half 0 and half 1 (Bernoulli(1/2)); tanh: inputs U(-1, 1). Weights U(-1, 1) versus
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)). Var z = fan_in E[a^2] r^2 / 3 for weights U(-r, r), so the
    wide weights give std sqrt(fan_in / 6) = 5.8 (logistic) and sqrt(fan_in) / 3 = 4.7 (tanh), and
    a unit is saturated when |g'(z)| < 1% of its maximum (|z| > 5.98 / 2.99): about 30% / 53% of
    the draws, against none with the narrow weights. Also the derivative table from -20 to 20."""
    bounds = {"U(-1, 1)": 1.0, f"U(-1/sqrt({fan_in}), 1/sqrt({fan_in}))": 1 / math.sqrt(fan_in)}
    u = _random.uniform((samples, fan_in), seed=seed, stream="demos.saturation.a",
                        dtype="float64")
    inputs = {"logistic": (u < 0.5).astype(np.float64), "tanh": 2 * u - 1}
    w01 = _random.uniform((samples, fan_in), seed=seed, stream="demos.saturation.w",
                          dtype="float64")
    zs: Dict[str, Dict[str, np.ndarray]] = {}
    numbers: Dict[str, Any] = {"saturated": {}, "z_std": {}, "predicted_saturated": {},
                               "predicted_z_std": {}}
    for unit, (_g, dg, gmax) in _UNITS.items():
        a = inputs[unit]
        ea2 = 0.5 if unit == "logistic" else 1 / 3
        zs[unit] = {}
        for label, r in bounds.items():
            z = ((2 * w01 - 1) * r * a).sum(1)
            zs[unit][label] = z
            key = f"{unit} {label}"
            numbers["saturated"][key] = float(np.mean(dg(z) < 0.01 * gmax))
            numbers["z_std"][key] = float(z.std())
            std = math.sqrt(fan_in * ea2 * r * r / 3)
            edge = _saturation_edge(dg, gmax)
            numbers["predicted_z_std"][key] = std
            numbers["predicted_saturated"][key] = math.erfc(edge / std / math.sqrt(2))
    table_z = np.linspace(-20.0, 20.0, 21)
    numbers["derivative_table"] = [(float(t), float(_tanh_grad(np.array(t))),
                                    float(_logistic_grad(np.array(t)))) for t in table_z]
    rows = [f"one unit, fan_in {fan_in}, {samples} draws; saturated = |g'(z)| < 1% of max:"]
    rows.append(f"  {'unit and weights':<48} {'std z':>7} {'(theory)':>8} {'saturated':>9} "
                f"{'(theory)':>8}")
    for key in numbers["saturated"]:
        rows.append(f"  {key:<48} {numbers['z_std'][key]:>7.3f} "
                    f"{numbers['predicted_z_std'][key]:>8.3f} {numbers['saturated'][key]:>9.1%} "
                    f"{numbers['predicted_saturated'][key]:>8.1%}")
    rows.append(f"  {'z':>6} {'tanh(z)':>12} {'logistic(z)':>12}   (derivatives)")
    rows += [f"  {t:>6.1f} {a:>12.3e} {b:>12.3e}" for t, a, b in numbers["derivative_table"]]

    def draw(plt: Any) -> Any:
        fig, axes = plt.subplots(2, 4, figsize=(17, 7))
        for row, (unit, (g, dg, gmax)) in zip(axes, _UNITS.items()):
            for label, z in zs[unit].items():
                short = "U(-1, 1)" if label == "U(-1, 1)" else "U(+-1/sqrt(n))"
                kw: Dict[str, Any] = dict(bins=80, density=True, alpha=0.55, label=short)
                row[0].hist(z, **kw)
                row[1].hist(g(z), **kw)
                row[2].hist(dg(z) / gmax, **kw)
            row[0].set_title(f"{unit}: z = sum w a", fontsize=10)
            row[1].set_title(f"{unit}: g(z)", fontsize=10)
            row[2].set_title(f"{unit}: g'(z) / max g'", fontsize=10)
            row[0].legend(fontsize=8)
            t = np.linspace(-20, 20, 400)
            row[3].semilogy(t, dg(t) / gmax)
            row[3].axhline(0.01, color="gray", ls="--", lw=0.8)
            row[3].set_title(f"{unit}: g'(z) / max g' (log), 1% line", fontsize=10)
            row[3].set_xlabel("z")
        fig.suptitle(f"saturation of one unit with fan_in {fan_in}: wide U(-1, 1) weights "
                     f"saturate it", fontsize=12)
        fig.tight_layout()
        return fig

    return Demo("saturation", "U(-1, 1) weights saturate logistic and tanh units with fan_in "
                f"{fan_in}; U(+-1/sqrt(fan_in)) do not", numbers, "\n".join(rows), draw)


def _saturation_edge(dg: Callable[[np.ndarray], np.ndarray], gmax: float) -> float:
    """The |z| beyond which dg(z) < 1% of gmax (bisection; dg is even and decreasing in |z|)."""
    lo, hi = 0.0, 50.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if dg(np.array(mid)) >= 0.01 * gmax else (lo, mid)
    return 0.5 * (lo + hi)



# -------------------------------------------------------------------------- through depth

def depth_tanh(seed: int = 0, width: int = 256, depth: int = 10) -> Demo:
    """tanh, ``depth`` layers of ``width``: U(-1/sqrt(n), 1/sqrt(n)) (variance 1/(3n): the
    signal shrinks fastest), Xavier normal gain 1 (1/n) and torch's gain 5/3; beside them the
    logistic sigmoid with Glorot's bound 4 sqrt(6/(fan_in+fan_out)) (Xavier uniform gain 4)."""
    widths = [width] * (depth + 1)
    r = 1 / math.sqrt(width)
    diags = {
        "tanh, U(+-1/sqrt(n))": diagnose(widths, "tanh", "uniform", a=-r, b=r, seed=seed),
        "tanh, Xavier gain 1": diagnose(widths, "tanh", "xavier_normal", seed=seed),
        "tanh, Xavier gain 5/3": diagnose(widths, "tanh", "xavier_normal", gain=5 / 3, seed=seed),
        "sigmoid, Xavier uniform gain 4": diagnose(widths, "sigmoid", "xavier_uniform", gain=4.0,
                                                   seed=seed),
    }
    return _depth_demo("depth-tanh", f"tanh through {depth} layers: U(+-1/sqrt(n)) shrinks the "
                       "signal fastest, Xavier less, gain 5/3 keeps it", diags,
                       f"tanh, width {width}, depth {depth}")


def depth_relu(seed: int = 0, width: int = 256, depth: int = 30) -> Demo:
    """ReLU, ``depth`` layers of ``width``: Xavier normal (variance 1/n) halves the activation
    variance at every layer (ReLU keeps half of it), He / Kaiming normal (2/n, He et al. 2015)
    holds it."""
    widths = [width] * (depth + 1)
    diags = {"ReLU, Xavier normal": diagnose(widths, "relu", "xavier_normal", seed=seed),
             "ReLU, He normal": diagnose(widths, "relu", "kaiming_normal", nonlinearity="relu",
                                         seed=seed)}
    return _depth_demo("depth-relu", f"ReLU through {depth} layers: Xavier halves the variance "
                       "per layer, He holds it", diags, f"ReLU, width {width}, depth {depth}")


def _depth_demo(name: str, claim: str, diags: Dict[str, Diagnosis], title: str,
                extra: Optional[Dict[str, Any]] = None, every: int = 1) -> Demo:
    numbers: Dict[str, Any] = {label: {"act_var": d.column("act_var").tolist(),
                                       "act_mean": d.column("act_mean").tolist(),
                                       "act_ratio": d.act_ratio,
                                       "grad_var": d.column("grad_var").tolist(),
                                       "gradient_growth": d.gradient_growth,
                                       "saturated": d.column("saturated").tolist(),
                                       "verdict": d.verdict}
                               for label, d in diags.items()}
    numbers.update(extra or {})
    rows = []
    for label, d in diags.items():
        rows += [f"{label}:"] + ["  " + r for r in _diag_rows(d, every)] + [f"  {d.verdict}"]

    def draw(plt: Any) -> Any:
        cols = ("act_var", "grad_var", "saturated") if name in ("depth-tanh", "sparse") else \
            ("act_mean", "act_var", "grad_var") if name == "selu" else ("act_var", "grad_var")
        return _variance_figure(plt, title, diags, cols, theory=name == "selu")

    return Demo(name, claim, numbers, "\n".join(rows), draw)


def selu(seed: int = 0, width: int = 256, depth: int = 50) -> Demo:
    """SELU with LeCun normal (variance 1/n), ``depth`` layers: activations keep mean ~0 and
    variance ~1 at every layer (Klambauer et al. 2017's self-normalization), while the
    back-propagated gradient grows by chi_1 = 1.068 per layer (mean-field, Schoenholz et al.
    2017): about chi_1**(depth-1) from the last layer back to the first."""
    from .meanfield import mean_field

    widths = [width] * (depth + 1)
    d = diagnose(widths, "selu", "lecun_normal", seed=seed)
    mf = mean_field("selu", 1.0)
    predicted = mf.chi_1 ** (depth - 1)
    extra = {"chi_1": mf.chi_1, "q_star": mf.q_star, "predicted_gradient_growth": predicted}
    demo = _depth_demo("selu", f"SELU + LeCun normal through {depth} layers: mean ~0, variance ~1 "
                       f"forward; gradients grow {d.gradient_growth:.1f}x (mean-field "
                       f"{predicted:.1f}x)", {"SELU, LeCun normal": d},
                       f"SELU, width {width}, depth {depth}", extra, every=5)
    demo.text += (f"\nmean field: q* = {mf.q_star:.4f}, chi_1 = {mf.chi_1:.4f}: gradient growth "
                  f"chi_1^{depth - 1} = {predicted:.1f}x predicted, {d.gradient_growth:.1f}x "
                  f"measured")
    return demo


def sparse(seed: int = 0, width: int = 256, depth: int = 20, nonzeros: int = 15) -> Demo:
    """Martens' (2010) sparse init -- ``nonzeros`` N(0, 1) incoming weights per unit, the rest 0
    -- on a deep tanh net, against dense N(0, 1) (every unit saturated) and Xavier normal (the
    signal fades slowly). Pre-activation variance is about nonzeros * E[a^2] whatever the width,
    so sparse units are driven hard but not all saturated, and the signal does not fade."""
    widths = [width] * (depth + 1)
    diags = {f"sparse ({nonzeros} x N(0, 1))": diagnose(widths, "tanh", "martens_sparse",
                                                       nonzeros=nonzeros, std=1.0, seed=seed),
             "dense N(0, 1)": diagnose(widths, "tanh", "normal", std=1.0, seed=seed),
             "Xavier normal": diagnose(widths, "tanh", "xavier_normal", seed=seed)}
    return _depth_demo("sparse", f"tanh through {depth} layers: sparse init keeps the forward "
                       "signal with fewer units saturated than dense N(0, 1); its gradients still "
                       "explode going back", diags,
                       f"tanh, width {width}, depth {depth}", every=5)


#: name -> demonstration function
DEMOS: Dict[str, Callable[..., Demo]] = {"zero": zero, "symmetry": symmetry,
                                         "saturation": saturation, "depth-tanh": depth_tanh,
                                         "depth-relu": depth_relu, "selu": selu, "sparse": sparse}


def run(name: str, seed: int = 0) -> Demo:
    """The demonstration ``name`` (one of :data:`DEMOS`)."""
    if not isinstance(name, str) or name not in DEMOS:
        raise ValueError(f"name must be one of {', '.join(DEMOS)}, got {name!r}")
    return DEMOS[name](seed=seed)
