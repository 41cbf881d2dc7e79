"""Compare initialization schemes on one architecture: :func:`report` (``weightinit report``).

Each scheme is measured by :func:`weightinit.diagnose`; the report prints one summary line per
scheme and, given ``out``, draws the figure: for every scheme the normalized histograms of the
activations and of the back-propagated gradients of a few layers (the layout of Glorot & Bengio
2010, figures 6 and 7), and below them the activation and gradient variance per layer on a log
scale, every scheme on the same axes. PNG by default, SVG (or PDF) when ``out`` says so;
matplotlib is optional (``pip install "weightinit[plot]"``) and imported only to draw.

Reference: Glorot, X. & Bengio, Y. (2010). Understanding the difficulty of training deep
feedforward neural networks. AISTATS.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .diagnose import Diagnosis, _measure
from .recommend import recommend
from .schemes import _int

__all__ = ["Report", "report", "parse_widths", "PLOT_INSTALL"]

#: how to get the figure's dependency
PLOT_INSTALL = 'pip install "weightinit[plot]"  (or: pip install matplotlib)'
#: the figure's size in inches per panel row and its resolution: a PNG is 1000 px wide
_WIDTH_IN, _ROW_IN, _DPI = 10.0, 3.0, 100
_FORMATS = (".png", ".svg", ".pdf")
#: histogram layers shown per scheme (evenly spread, first and last included)
_SHOWN = 5


@dataclass(frozen=True)
class Report:
    """The diagnoses of each scheme (``diagnoses``, in the order given), the printed ``table``
    and the figure's path (``figure``, None when none was asked for)."""

    diagnoses: Tuple[Diagnosis, ...]
    table: str
    figure: Optional[str]

    def __str__(self) -> str:
        return self.table


def parse_widths(text: str) -> List[int]:
    """``"256x30"`` (input 256, 30 layers of 256) or ``"784-512-512-10"`` as a widths list."""
    if not isinstance(text, str):
        raise TypeError(f"widths must be a str such as '256x30' or '784-512-10', got "
                        f"{type(text).__name__}")
    t = text.strip().lower()
    try:
        if "x" in t:
            width, depth = t.split("x")
            return [int(width)] * (int(depth) + 1)
        return [int(v) for v in t.replace(",", "-").split("-")]
    except ValueError:
        raise ValueError(f"widths {text!r} is not WIDTHxDEPTH (e.g. 256x30) or a list of widths "
                         f"joined by '-' (e.g. 784-512-10)") from None


def _scheme_arg(name: Any, activation: Any) -> Any:
    # "recommended" / "recommend" stands for recommend(activation)
    if isinstance(name, str) and name.strip().lower() in ("recommended", "recommend"):
        if not isinstance(activation, str):
            raise ValueError("the scheme 'recommended' needs an activation name, not a callable")
        return recommend(activation)
    return name


def _summary(names: Sequence[str], diags: Sequence[Diagnosis]) -> str:
    d0 = diags[0]
    depth = len(d0.widths) - 1
    head = (f"report: {d0.activation}, widths {d0.widths[0]}"
            f"{'x' + str(depth) if len(set(d0.widths)) == 1 else '-' + '-'.join(map(str, d0.widths[1:]))}"
            f", batch {d0.batch}, seed {d0.seed}")
    w = max(len("scheme"), *(len(n) for n in names))
    lines = [head, f"{'scheme':<{w}}  {'act var L1':>10}  {'act ratio':>9}  {'grad growth':>11}  "
                   f"{'max sat':>7}  {'max dead':>8}  verdict"]
    for n, d in zip(names, diags):
        lines.append(
            f"{n:<{w}}  {d.layers[0].act_var:>10.3g}  {d.act_ratio:>9.3g}  "
            f"{d.gradient_growth:>11.3g}  {max(s.saturated for s in d.layers):>7.0%}  "
            f"{max(s.dead for s in d.layers):>8.0%}  {d.verdict}")
    return "\n".join(lines)


def report(widths: Any, activation: Any, schemes: Sequence[Any] = ("xavier_normal",
                                                                   "kaiming_normal"),
           *, out: Optional[str] = None, batch: int = 256, seed: int = 0, bias: float = 0.0,
           tolerance: float = 10, bins: int = 100, print_table: bool = True,
           scheme_kwargs: Optional[Dict[str, Dict[str, Any]]] = None) -> Report:
    """Measure each of ``schemes`` on the net ``widths`` (a list, or ``"256x30"``) with
    ``activation``, print the comparison, and draw it to ``out`` (``.png``, ``.svg`` or ``.pdf``)
    when given.

    ``schemes`` are what :func:`weightinit.diagnose` accepts (names, Recommendations,
    callables) or ``"recommended"`` for :func:`weightinit.recommend` (activation);
    ``scheme_kwargs`` maps a scheme's name to its keywords. Without matplotlib the table is still
    printed, and asking for a figure then raises ``ImportError`` saying how to install it.
    """
    if isinstance(widths, str):
        widths = parse_widths(widths)
    if isinstance(schemes, str):
        schemes = [s for s in schemes.split(",") if s.strip()]
    if not schemes:
        raise ValueError("schemes must name at least one scheme, e.g. ['xavier_normal', "
                         "'kaiming_normal']")
    bins = _int(bins, "bins", lo=2)
    plt, missing = None, None
    if out is not None:
        out = os.fspath(out)
        ext = os.path.splitext(out)[1].lower()
        if ext not in _FORMATS:
            raise ValueError(f"out must end in one of {', '.join(_FORMATS)}, got {out!r}")
        try:
            plt = _pyplot()
        except ImportError as exc:  # the table is still measured and printed
            missing = exc
    kw = scheme_kwargs or {}
    names, diags, acts, grads = [], [], [], []
    for s in schemes:
        name = s if isinstance(s, str) else getattr(s, "__name__", type(s).__name__)
        d, a, g = _measure(widths, activation, _scheme_arg(s, activation), batch, seed, bias,
                           tolerance, 0.0, dict(kw.get(name, {})), keep=plt is not None)
        names.append(name)
        diags.append(d)
        acts.append(a)
        grads.append(g)
    table = _summary(names, diags)
    if print_table:
        print(table)
    if missing is not None:
        raise missing
    if plt is not None and out is not None:
        _draw(plt, out, names, diags, acts, grads, bins)
    return Report(tuple(diags), table, out)


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(f"the report's figure needs matplotlib: {PLOT_INSTALL}") from exc
    return plt


def _shown(n: int) -> List[int]:
    return sorted({round(float(v)) for v in np.linspace(0, n - 1, min(_SHOWN, n))})


def _hist(ax: Any, arrays: Sequence[Tuple[int, np.ndarray]], bins: int, xlabel: str) -> None:
    finite = [v[np.isfinite(v)] for _, v in arrays]
    hi = max((float(np.percentile(np.abs(v), 99.5)) for v in finite if v.size), default=1.0)
    hi = hi if hi > 0 else 1.0
    lo = min((float(v.min()) for v in finite if v.size), default=-hi)
    edges = np.linspace(max(lo, -hi), hi, bins + 1)
    for layer, v in arrays:
        h, e = np.histogram(v, bins=edges)
        ax.plot(0.5 * (e[1:] + e[:-1]), h / max(v.size, 1), label=f"layer {layer}", lw=1)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.tick_params(labelsize=7)


def _draw(plt: Any, out: str, names: List[str], diags: List[Diagnosis], acts: List[Any],
          grads: List[Any], bins: int) -> None:
    rows = len(names) + 1
    fig, axes = plt.subplots(rows, 2, figsize=(_WIDTH_IN, _ROW_IN * rows), dpi=_DPI,
                             squeeze=False)
    for i, (name, d) in enumerate(zip(names, diags)):
        idx = _shown(len(d.layers))
        # exact zeros (a ReLU's off half) are left out: they would flatten every other bin
        _hist(axes[i][0], [(j + 1, acts[i][j][acts[i][j] != 0]) for j in idx], bins,
              "activation value (exact zeros left out)")
        # gradients at their true scale (the backward pass carries it apart, in float64); the
        # exact zeros behind a ReLU's off units would otherwise be one spike hiding the shape
        g = [(j + 1, grads[i][j][0].ravel().astype(np.float64) * grads[i][j][1]) for j in idx]
        _hist(axes[i][1], [(j, v[v != 0]) for j, v in g], bins,
              "back-propagated gradient dL/dz (exact zeros left out)")
        axes[i][0].set_title(f"{name}: activations ({d.word})", fontsize=9)
        axes[i][1].set_title(f"{name}: gradients", fontsize=9)
        axes[i][0].set_ylabel("fraction per bin", fontsize=8)
        for ax in axes[i]:
            ax.legend(fontsize=6)
    va, vg = axes[-1]
    for name, d in zip(names, diags):
        layers = np.arange(1, len(d.layers) + 1)
        va.semilogy(layers, _positive(d.column("act_var")), marker=".", label=name)
        vg.semilogy(layers, _positive(d.column("grad_var")), marker=".", label=name)
    va.set_title("activation variance per layer", fontsize=9)
    vg.set_title("gradient variance per layer", fontsize=9)
    for ax in (va, vg):
        ax.set_xlabel("layer", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    fig.suptitle(f"{diags[0].activation}: {', '.join(names)}", fontsize=10)
    fig.subplots_adjust(hspace=0.55, wspace=0.2, top=1 - 0.35 / rows / _ROW_IN * 3)
    try:
        fig.savefig(out, dpi=_DPI)
    finally:
        plt.close(fig)


def _positive(v: np.ndarray) -> np.ndarray:
    # a log scale cannot show 0: leave those layers out of the curve
    v = np.asarray(v, dtype=np.float64)
    return np.where((v > 0) & np.isfinite(v), v, math.nan)
