"""report(): the scheme comparison table, its figure, and the CLI, with and without matplotlib."""

from __future__ import annotations

import builtins
import sys

import pytest

import weightinit as wi
from weightinit import cli
from weightinit.report import parse_widths, report

SMALL = [64] * 9  # 8 layers


def test_table_compares_schemes(capsys):
    rep = report(SMALL, "relu", ["xavier_normal", "kaiming_normal", "recommended"], batch=64)
    out = capsys.readouterr().out
    assert out.strip() == rep.table and rep.figure is None
    assert [d.word for d in rep.diagnoses][1] == "healthy"
    assert rep.diagnoses[2].to_dict()["layers"] == \
        wi.diagnose(SMALL, "relu", wi.recommend("relu"), batch=64).to_dict()["layers"]
    for name in ("xavier_normal", "kaiming_normal", "recommended"):
        assert name in out
    assert report("64x8", "relu", "kaiming_normal", batch=64, print_table=False).table == \
        report(SMALL, "relu", ["kaiming_normal"], batch=64, print_table=False).table


def test_png_of_expected_size(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib.image

    path = tmp_path / "report.png"
    rep = report(SMALL, "tanh", ["xavier_normal", "kaiming_normal"], out=path, batch=64,
                 print_table=False)
    assert rep.figure == str(path)
    img = matplotlib.image.imread(str(path))
    assert img.shape[:2] == (300 * 3, 1000)  # 3 in per row (2 schemes + variances), 10 in, 100 dpi
    assert img[..., :3].std() > 0.05  # something was drawn


def test_svg_by_extension(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "report.svg"
    report(SMALL, "relu", ["zeros", "kaiming_normal"], out=str(path), batch=32,
           print_table=False)
    assert "<svg" in path.read_text()[:2000]


@pytest.fixture
def no_matplotlib(monkeypatch):
    real = builtins.__import__

    def fake(name, *args, **kw):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real(name, *args, **kw)

    for mod in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setattr(builtins, "__import__", fake)


def test_without_matplotlib(no_matplotlib, tmp_path, capsys):
    rep = report(SMALL, "relu", ["kaiming_normal"], batch=32)  # the table needs no matplotlib
    assert "kaiming_normal" in capsys.readouterr().out and rep.figure is None
    path = tmp_path / "r.png"
    with pytest.raises(ImportError, match="pip install"):
        report(SMALL, "relu", ["kaiming_normal"], out=path, batch=32)
    assert "kaiming_normal" in capsys.readouterr().out  # printed before the figure failed
    assert not path.exists()
    assert cli.main(["report", "--widths", "32x4", "--schemes", "kaiming_normal",
                     "--out", str(path)]) == 1
    captured = capsys.readouterr()
    assert "kaiming_normal" in captured.out and "pip install" in captured.err


def test_cli(tmp_path, capsys):
    assert cli.main(["report", "--widths", "32x4", "--activation", "tanh", "--schemes",
                     "xavier_uniform,recommended", "--batch", "16"]) == 0
    out = capsys.readouterr().out
    assert "xavier_uniform" in out and "recommended" in out
    assert cli.main(["report", "--widths", "32x4", "--schemes", "nope"]) == 2
    assert "scheme" in capsys.readouterr().err
    if pytest.importorskip("matplotlib"):
        path = tmp_path / "r.png"
        assert cli.main(["report", "--widths", "32x4", "--out", str(path)]) == 0
        assert path.stat().st_size > 1000 and f"wrote {path}" in capsys.readouterr().out


@pytest.mark.parametrize("call, arg", [
    (lambda: parse_widths("256x"), "widths"),
    (lambda: parse_widths("a-b"), "widths"),
    (lambda: report(SMALL, "relu", [], print_table=False), "schemes"),
    (lambda: report(SMALL, "relu", ["kaiming_normal"], out="r.jpg"), "out"),
    (lambda: report(SMALL, "relu", ["kaiming_normal"], bins=1), "bins"),
    (lambda: report(SMALL, "nope", ["kaiming_normal"]), "activation"),
])
def test_bad_input(call, arg):
    with pytest.raises((ValueError, TypeError), match=arg):
        call()


def test_parse_widths():
    assert parse_widths("256x30") == [256] * 31
    assert parse_widths("784-512-10") == [784, 512, 10]
