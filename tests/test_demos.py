"""weightinit.demos: each classic demonstration's quantitative claim, with fixed seeds."""

import math

import numpy as np
import pytest

from weightinit import demos
from weightinit.meanfield import mean_field


def test_zero_init_gives_no_hidden_gradient():
    d = demos.zero()
    for act, values in d.numbers["hidden_grad_vars"].items():
        assert values and all(v == 0.0 for v in values), act  # exactly 0, not small
    assert d.numbers["last_weight_grad_var"]["sigmoid"] > 0  # only the sigmoid's last layer
    assert d.numbers["trained_w1_abs_max"] == 0.0 and d.numbers["trained_w2_abs_max"] == 0.0
    assert d.numbers["loss_last"] == d.numbers["loss_first"]  # nothing learns


def test_symmetry_constant_stays_identical_random_breaks():
    d = demos.symmetry()
    n = d.numbers
    assert n["constant_identical"] is True
    assert n["constant_w1"][0] == n["constant_w1"][1] and n["constant_w2"][0] == n["constant_w2"][1]
    assert n["constant_w1"][0] != 0.3  # it did train: the units moved, together
    assert abs(n["random_w1"][0] - n["random_w1"][1]) > 0.1
    assert n["random_loss"][1] < n["constant_loss"][1]
    if n["torch_identical"] is not None:
        assert n["torch_identical"] is True


def test_symmetry_torch_twin():
    pytest.importorskip("torch")
    assert demos.symmetry().numbers["torch_identical"] is True


def test_saturation_fractions():
    n = demos.saturation().numbers
    wide = {k: v for k, v in n["saturated"].items() if "U(-1, 1)" in k}
    narrow = {k: v for k, v in n["saturated"].items() if "U(-1, 1)" not in k}
    # 10000 draws: binomial standard error <= 0.005; the Gaussian prediction within 0.03
    for key, frac in n["saturated"].items():
        assert frac == pytest.approx(n["predicted_saturated"][key], abs=0.03), key
        assert n["z_std"][key] == pytest.approx(n["predicted_z_std"][key], rel=0.03), key
    assert 0.25 < wide["logistic U(-1, 1)"] < 0.35 and 0.47 < wide["tanh U(-1, 1)"] < 0.58
    assert all(v < 1e-3 for v in narrow.values())
    table = {z: (t, s) for z, t, s in n["derivative_table"]}
    assert table[0.0] == (1.0, 0.25)
    assert table[20.0][1] == pytest.approx(2.061154e-09, rel=1e-6)
    assert table[-20.0][0] == pytest.approx(4 * math.exp(-40), rel=1e-6)


def test_depth_tanh_order():
    n = demos.depth_tanh().numbers
    u = n["tanh, U(+-1/sqrt(n))"]["act_ratio"]
    x1 = n["tanh, Xavier gain 1"]["act_ratio"]
    x53 = n["tanh, Xavier gain 5/3"]["act_ratio"]
    assert u < 1e-3 < x1 < 0.5 < x53 < 2  # U(+-1/sqrt(n)) shrinks fastest; 5/3 holds
    for label, row in n.items():  # every curve decreases (or holds) from layer 1
        assert row["act_var"][-1] <= row["act_var"][0] * 1.05, label


def test_depth_relu_xavier_halves_he_holds():
    n = demos.depth_relu().numbers
    xavier, he = n["ReLU, Xavier normal"], n["ReLU, He normal"]
    assert 1 / 3 <= he["act_ratio"] <= 3
    assert all(1 / 3 <= v / he["act_var"][0] <= 3 for v in he["act_var"])
    assert xavier["act_ratio"] < 2.0**-20
    per_layer = np.exp(np.mean(np.diff(np.log(xavier["act_var"]))))
    assert per_layer == pytest.approx(0.5, rel=0.1)  # halves per layer


def test_selu_self_normalizes_and_gradients_grow_as_predicted():
    n = demos.selu().numbers["SELU, LeCun normal"]
    assert all(abs(m) < 0.05 for m in n["act_mean"])
    assert all(0.9 < v < 1.1 for v in n["act_var"])
    predicted = mean_field("selu", 1.0).chi_1 ** 49
    assert 10 < predicted < 60
    assert n["gradient_growth"] == pytest.approx(predicted, rel=0.5)  # within a factor 2
    assert "exploding" in n["verdict"]


def test_sparse_keeps_signal_with_fewer_saturated_units():
    n = demos.sparse().numbers
    sp, dense, xavier = (n[k] for k in ("sparse (15 x N(0, 1))", "dense N(0, 1)", "Xavier normal"))
    assert min(dense["saturated"]) > 0.8  # dense N(0, 1): units pinned at +-1
    assert max(sp["saturated"]) < 0.5 < min(dense["saturated"])
    assert min(sp["act_var"]) > 0.5  # the signal does not fade ...
    assert xavier["act_ratio"] < 0.1  # ... while Xavier's does over 20 layers
    assert sp["gradient_growth"] > 1e3  # honest: sparse tanh is chaotic, gradients explode


def test_run_and_bad_name():
    assert demos.run("zero").name == "zero"
    with pytest.raises(ValueError, match="name must be one of"):
        demos.run("nope")


def test_cli_prints_and_writes_png(tmp_path, capsys):
    plt = pytest.importorskip("matplotlib.pyplot")
    from weightinit.cli import main

    out = tmp_path / "relu.png"
    assert main(["demo", "depth-relu", "--out", str(out)]) == 0
    assert "He normal" in capsys.readouterr().out
    img = plt.imread(out)
    assert img.shape[0] >= 300 and img.shape[1] >= 800 and img.shape[2] in (3, 4)
    assert img[..., :3].std() > 0.05  # something is drawn


def test_cli_without_matplotlib(tmp_path, capsys, monkeypatch):
    import builtins

    from weightinit.cli import main

    real = builtins.__import__

    def no_mpl(name, *a, **k):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_mpl)
    assert main(["demo", "zero"]) == 0
    assert "exactly 0" in capsys.readouterr().out
    assert main(["demo", "zero", "--out", str(tmp_path / "z.png")]) == 1
    assert "pip install" in capsys.readouterr().err
