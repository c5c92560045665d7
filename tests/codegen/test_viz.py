"""Computational graphs as DOT: the text itself, values and adjoints at a point, derivative
clusters, determinism, escaping, and real drawings by Graphviz's `dot`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import adcompile as adc
from adcompile.codegen import dot as viz

NEURON = "a = w0*x0\nb = w1*x1\nc = a + b\nd = c + w2\ne = -d\nf = exp(e)\ng = 1 + f\nh = 1/g"
NEURON_POINT = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}

X_TIMES_Y_PLUS_X = """\
digraph adcompile {
  graph [rankdir=LR, size="10,7.5", fontname=Helvetica, fontsize=11];
  node [shape=box, style=filled, fillcolor=white, fontname=Helvetica, fontsize=11];
  edge [color="#555555", arrowsize=0.7];
  n0 [label="x", shape=ellipse, fillcolor="#eeeeee"];
  n1 [label="y", shape=ellipse, fillcolor="#eeeeee"];
  n2 [label="t0 = x * y"];
  n3 [label="t1 = x + t0\\noutput value", penwidth=2.5];
  n0 -> n2;
  n1 -> n2;
  n0 -> n3;
  n2 -> n3;
}
"""

_NODE = re.compile(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"(.*)\];$', re.M)


def labels(source: str) -> dict[str, list[str]]:
    """Each drawn node's label lines, by the name the label starts with."""
    found = {}
    for _, label, _ in _NODE.findall(source):
        lines = label.split("\\n")
        found[lines[0].split(" = ")[0]] = lines
    return found


def attributes(source: str) -> dict[str, str]:
    """Each drawn node's attributes after its label, by name."""
    return {label.split("\\n")[0].split(" = ")[0]: rest for _, label, rest in _NODE.findall(source)}


def cluster(source: str, side: str) -> str:
    """The text of one cluster (empty when the graph has none)."""
    found = re.search(rf"subgraph cluster_{side} \{{.*?\n  \}}\n", source, re.S)
    return found.group(0) if found else ""


def require_dot() -> None:
    """Skip without Graphviz on a developer's machine; CI installs it, so fail there."""
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("Graphviz's `dot` is missing on CI: .ci/run should have installed it")
        pytest.skip("Graphviz's `dot` is not installed")


@pytest.fixture(scope="module")
def neuron() -> adc.Formula:
    return adc.compile(NEURON, stable=False)


# -- the text --------------------------------------------------------------------------------
def test_small_formula_as_dot_text() -> None:
    dot = adc.compile("x*y + x").graph()
    assert dot.source == X_TIMES_Y_PLUS_X
    assert str(dot) == dot.source
    assert repr(dot) == "<Dot: 4 nodes, 4 edges>"


def test_values_and_adjoints_at_a_point() -> None:
    found = labels(adc.compile("x*y + x").graph(2.0, y=3.0).source)
    assert found["x"] == ["x", "= 2", "b_x = 4"]
    assert found["y"] == ["y", "= 3", "b_y = 2"]
    assert found["t0"] == ["t0 = x * y", "= 6", "b_t0 = 1"]
    assert found["t1"] == ["t1 = x + t0", "= 8", "b_t1 = 1", "output value"]


def test_neuron_graph_shows_values_and_adjoints(neuron: adc.Formula) -> None:
    dot = neuron.graph(**NEURON_POINT)
    found = labels(dot.source)
    assert found["h"] == ["h = 1 / g", "= 0.7311", "b_h = 1"]
    assert found["g"] == ["g = f + 1", "= 1.368", "b_g = -0.5344"]
    assert found["a"] == ["a = w0 * x0", "= -2", "b_a = 0.1966"]
    assert found["w0"] == ["w0", "= 2", "b_w0 = -0.1966"]
    assert neuron.graph(2.0, -1.0, -3.0, -2.0, -3.0).source == dot.source  # by position
    assert "penwidth=2.5" in attributes(dot.source)["h"]  # the output
    assert "cluster" not in dot.source  # only forward nodes: no clusters
    # the same names and numbers as the trace table
    table = adc.trace(neuron, **NEURON_POINT)
    assert sorted(found) == sorted(table.names)
    for row in table.rows:
        assert f"b_{row.name} = {row.adjoint:.4g}" in found[row.name]


def test_value_and_grad_graph_styles_the_adjoints(neuron: adc.Formula) -> None:
    vg = neuron.value_and_grad()
    dot = vg.graph(**NEURON_POINT)
    adjoint = cluster(dot.source, "adjoint")
    assert 'label="reverse (adjoints b_v)"' in adjoint
    assert cluster(dot.source, "forward") and not cluster(dot.source, "tangent")
    found, attrs = labels(dot.source), attributes(dot.source)
    assert found["b_g"] == ["b_g = t0 / g", "= -0.5344"]
    assert found["b_w0"] == ["b_w0 = x0 * b_d", "= -0.1966", "output dh/dw0"]
    assert found["h"] == ["h = 1 / g", "= 0.7311"]
    assert 'fillcolor="#ffe0b2"' in attrs["b_g"] and "b_g = t0 / g" in adjoint
    assert "fillcolor" not in attrs["g"] and "b_g = " not in cluster(dot.source, "forward")
    assert "n13 -> n14 [style=dashed];" in dot.source  # the reverse sweep reads h
    # every name is one the generated code assigns
    assigned = set(re.findall(r"^    (\w+) = ", vg.source, re.M)) | set(vg.inputs)
    assert set(found) <= assigned


def test_forward_mode_graphs_style_the_tangents() -> None:
    f = adc.compile("u = x*y; v = x + y; u, v")
    dot = f.jvp().graph(1.0, 2.0, tangents=(1.0, 0.0)).source
    tangent = cluster(dot, "tangent")
    assert 'label="forward mode (tangents d_v)"' in tangent
    found = labels(dot)
    assert found["d_x"] == ["d_x", "= 1"] and 'n4 [label="d_x' in tangent  # a seed input
    assert found["d_u"] == ["d_u = t0 + t1", "= 2"]
    assert 'fillcolor="#d6eaf8"' in attributes(dot)["d_u"]
    vjp = f.vjp().graph(1.0, 2.0, cotangents={"u": 1.0}).source
    assert labels(vjp)["b_x"] == ["b_x = b_v + t0", "= 2"]
    assert "b_u" in cluster(vjp, "adjoint")


def test_hessian_graph_has_both_sides_and_zero_outputs() -> None:
    dot = adc.compile("x^3 * y").hessian().graph(2.0, 5.0).source
    assert cluster(dot, "adjoint") and cluster(dot, "tangent")
    assert labels(dot)["t2"] == ["t2 = y * d_t1", "= 60", "output d2value/dxdx"]
    assert 'z0 [label="0\\noutput d2value/dydy", shape=plaintext];' in dot


def test_several_outputs_show_values_but_no_adjoints() -> None:
    dot = adc.compile("u = x*y; v = x + y; u, v").graph(1.0, 2.0).source
    assert labels(dot)["u"] == ["u = x * y", "= 2"]
    assert "b_" not in dot
    assert dot.count("penwidth=2.5") == 2


def test_outputs_that_are_inputs_or_constants() -> None:
    grad = adc.compile("x*y + x").grad().graph().source
    assert labels(grad)["x"] == ["x", "(is the output dvalue/dy)"]  # d/dy of x*y + x is x
    const = adc.compile("2").graph().source
    assert 'n0 [label="2\\noutput value", shape=plaintext, penwidth=2.5];' in const


def test_constants_are_folded_into_labels() -> None:
    dot = adc.compile("3*x^2 - 0.5", stable=False).graph().source
    assert "= 3 * t0" in dot and "- 0.5" in dot and "x^2" in dot
    assert "const" not in dot and dot.count("[label=") == 4  # x and three operations


# -- determinism and escaping ----------------------------------------------------------------
def test_same_text_in_every_process() -> None:
    code = (
        "import adcompile as adc\n"
        "f = adc.compile('a = sin(x*y) + x; b = exp(a) * y; b/(a + y)')\n"
        "print(f.graph(1.0, 2.0).source + f.hessian().graph(1.0, 2.0).source)\n"
    )
    outs = []
    for seed in ("0", "1"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        outs.append(proc.stdout)
    assert outs[0] == outs[1] and "cluster_tangent" in outs[0]


def test_escaping() -> None:
    assert viz.escape('say "hi"\\n\nnext') == 'say \\"hi\\"\\\\n\\nnext'
    with pytest.raises(adc.FormulaError, match="not an identifier"):  # names never need it
        adc.compile("x", inputs=["x", 'we"ird\\'])
    dot = adc.compile("where(x > 0, x, -x) + y").value_and_grad().graph(1.0, 2.0).source
    for line in dot.splitlines()[1:-1]:  # every quote outside labels is a colour
        outside = re.sub(r'"(?:[^"\\]|\\.)*"', "", line)
        assert '"' not in outside and "\\" not in outside


def test_point_errors() -> None:
    f = adc.compile("x*y")
    with pytest.raises(TypeError, match="'x' must be a number"):
        f.graph(np.array([1.0, 2.0]), 3.0)
    with pytest.raises(TypeError, match="'y' must be a number"):
        f.graph(1.0, "2")
    with pytest.raises(TypeError, match="missing value for input 'y'"):
        f.graph(1.0)
    with pytest.raises(TypeError, match="tangents="):
        f.jvp().graph(1.0, 2.0)
    assert labels(f.graph(np.float32(1.5), np.array(2.0)).source)["t0"][1] == "= 3"


def test_ten_thousand_deep_chain_builds_quickly() -> None:
    lines = [f"v{i} = sin(v{i - 1}) * y" for i in range(1, 5001)]
    f = adc.compile("v0 = x\n" + "\n".join(lines), stable=False)
    start = time.perf_counter()
    dot = f.graph()
    assert time.perf_counter() - start < 2.0
    assert repr(dot) == "<Dot: 10002 nodes, 15000 edges>"
    assert labels(f.graph(0.5, 0.9).source)["v5000"][0] == "v5000 = y * t4999"


# -- drawing ---------------------------------------------------------------------------------
def test_svg_for_jupyter_and_files(tmp_path: Path, neuron: adc.Formula) -> None:
    require_dot()
    dot = neuron.value_and_grad().graph(**NEURON_POINT)
    svg = dot._repr_svg_()
    assert svg is not None and (svg.startswith("<?xml") or "<svg" in svg)
    path = dot.render(tmp_path / "g.svg")
    assert path == tmp_path / "g.svg"
    root = ET.parse(path).getroot()
    texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"w0", "a = w0 * x0", "b_g = t0 / g", "= 0.7311", "reverse (adjoints b_v)"} <= texts


def test_png_and_pdf(tmp_path: Path) -> None:
    require_dot()
    dot = adc.compile("x*y + x").graph()
    assert dot.render(tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")
    assert dot.render(str(tmp_path / "g.PDF")).read_bytes().startswith(b"%PDF")


def test_without_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    dot = adc.compile("x*y + x").graph()
    assert dot._repr_svg_() is None  # Jupyter shows the text instead
    with pytest.raises(RuntimeError, match="apt install graphviz") as info:
        dot.render(tmp_path / "g.svg")
    assert "conda install graphviz" in str(info.value) and "brew install graphviz" in str(
        info.value
    )
    assert not (tmp_path / "g.svg").exists()
    assert dot.render(tmp_path / "g.dot").read_text(encoding="utf-8") == X_TIMES_Y_PLUS_X


def test_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown format '\.jpeg'.*\.svg"):
        adc.compile("x").graph().render(tmp_path / "g.jpeg")
