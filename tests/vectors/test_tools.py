"""The teaching and inspection tools on vector formulas: formula text, trace tables, DOT
graphs, `check_grad`, the CLI, and the SymPy/LaTeX bridge both ways (docs/vectors.md,
"SymPy and LaTeX" and "Trace tables, check_grad, graphs and the CLI")."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
import sympy

import adcompile as adc
from adcompile.codegen.formula import formula_text, step_text, value_text
from adcompile.errors import FormulaError
from adcompile.front.from_sympy import from_sympy
from adcompile.ir import ops
from adcompile.ir.graph import Graph
from adcompile.ir.vecops import VECTOR_FORMULA, VECTOR_OPS
from adcompile.tools.cli import main

ROSENBROCK = "sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)"
X3 = np.array([1.2, 0.8, 1.1])
ROSENBROCK_GRAD = np.array([307.6, -275.6, 92.0])


# --- formula text ---------------------------------------------------------------------------


def test_every_vector_op_has_a_formula_spelling() -> None:
    assert set(VECTOR_FORMULA) == set(VECTOR_OPS)


@pytest.mark.parametrize(
    ("op", "args", "text"),
    [
        ("vsum", ["v"], "sum(v)"),
        ("vprod", ["v"], "prod(v)"),
        ("vmax", ["v"], "max(v)"),
        ("vmin", ["v"], "min(v)"),
        ("vlen", ["x"], "len(x)"),
        ("vindex", ["x", "2"], "x[2]"),
        ("vindex", ["x", "2.0"], "x[2]"),
        ("vindex", ["x", "(-1)"], "x[-1]"),
        ("vslice", ["x", "1", "math.nan", "math.nan"], "x[1:]"),
        ("vslice", ["x", "nan", "(-1.0)", "nan"], "x[:-1]"),
        ("vslice", ["x", "math.nan", "math.nan", "2"], "x[::2]"),
        ("vslice", ["x", "1", "7", "3"], "x[1:7:3]"),
        ("vslice", ["x", "nan", "nan", "-1"], "x[::-1]"),
        ("vscatter", ["b", "x", "2.0"], "scatter(b, x, 2)"),
        ("vunslice", ["b", "x", "1", "nan", "nan"], "unslice(b, x[1:])"),
        ("vfill", ["s", "x"], "fill(s, x)"),
        ("vpick_max", ["x"], "pick_max(x)"),
        ("vprod_except", ["x"], "prod_except(x)"),
        ("vprod_except_dot", ["x", "d"], "prod_except_dot(x, d)"),
    ],
)
def test_vector_ops_read_as_written(op: str, args: list[str], text: str) -> None:
    assert formula_text(op, args) == text


def test_a_subscripted_expression_is_parenthesised_in_comments() -> None:
    graph = Graph()
    x, y = graph.input("x"), graph.input("y")
    graph.vectors.update({x: (x, None), y: (y, None)})
    total = graph.apply("add", x, y)
    picked = graph.apply("vindex", total, graph.const(-1.0))
    name = lambda nid: str(graph.nodes[nid].attr)  # noqa: E731
    assert step_text(graph, picked, None, name) == "(x + y)[-1]"
    low = graph.apply("vslice", x, *(graph.const(v) for v in (math.nan, -1.0, math.nan)))
    assert step_text(graph, low, None, name) == "x[:-1]"


def test_values_are_abbreviated() -> None:
    assert value_text(0.731058, 4) == "0.7311"
    assert value_text(np.array([1.2, 0.8, 1.1]), 4) == "[1.2, 0.8, 1.1]"
    assert value_text(np.arange(1000.0), 4) == "[0, 1, 2, …] (n=1000)"
    assert value_text(np.array([math.inf, math.nan]), 4) == "[inf, nan]"


# --- trace ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rosenbrock_trace() -> adc.Trace:
    return adc.trace(adc.compile(ROSENBROCK, stable=False), x=X3)


def test_trace_rows_are_formula_text(rosenbrock_trace: adc.Trace) -> None:
    operations = [r.operation for r in rosenbrock_trace.rows]
    assert operations == [
        "input", "x[1:]", "x[:-1]", "t1^2", "t0 - t2", "t3^2", "100 * t4", "1 - t1",
        "t6^2", "t5 + t7", "sum(t8)",
    ], operations  # fmt: skip


def test_trace_numbers_of_vector_nodes(rosenbrock_trace: adc.Trace) -> None:
    x = rosenbrock_trace.row("x")
    np.testing.assert_allclose(x.value, X3)
    np.testing.assert_allclose(x.adjoint, ROSENBROCK_GRAD, rtol=1e-12)
    assert rosenbrock_trace.rows[-1].value == pytest.approx(62.2)
    assert rosenbrock_trace.rows[-1].adjoint == 1.0
    # moving elements: the partial is the mask of the elements read
    np.testing.assert_array_equal(rosenbrock_trace.row("t0").partials["x"], [0, 1, 1])
    np.testing.assert_array_equal(rosenbrock_trace.row("t1").partials["x"], [1, 1, 0])
    # elementwise: d t2_i / d t1_i = 2 t1_i
    np.testing.assert_allclose(rosenbrock_trace.row("t2").partials["t1"], [2.4, 1.6])
    # chain rule, element by element: b_t1 = b_t2 * dt2/dt1 + b_t6 * dt6/dt1
    rows = {r.name: r for r in rosenbrock_trace.rows}
    assert rows["t6"].partials == {"t1": -1.0}
    b_t1 = rows["t2"].adjoint * rows["t2"].partials["t1"] + rows["t6"].adjoint * -1.0
    np.testing.assert_allclose(rows["t1"].adjoint, b_t1)
    assert rosenbrock_trace.row("t9").partials == {"t8": 1.0}  # sum: 1 for every element


def test_trace_table_text(rosenbrock_trace: adc.Trace) -> None:
    text = str(rosenbrock_trace)
    assert "x     input       [1.2, 0.8, 1.1]  [307.6, -275.6, 92]" in text, text
    assert "t0    x[1:]            [0.8, 1.1]" in text, text
    assert "dt0/dx = [0, 1, 1]" in text
    assert 'font-family:monospace">x[1:]</td>' in rosenbrock_trace._repr_html_()
    listed = rosenbrock_trace.to_list()
    np.testing.assert_allclose(listed[0]["adjoint"], ROSENBROCK_GRAD)


def test_trace_abbreviates_long_vectors() -> None:
    x = np.linspace(-1.0, 1.0, 1000)
    t = adc.trace(adc.compile("w*sum(x^2) + x[2] + max(x) + len(x)", stable=False), x=x, w=2.0)
    text = str(t)
    assert "[-1, -0.998, -0.996, …] (n=1000)" in text, text
    assert "x[2]" in text and "max(x)" in text and "len(x)" in text
    assert max(len(line) for line in text.splitlines()) < 140
    np.testing.assert_array_equal(t.row("t3").partials["x"], np.eye(1000)[2])  # x[2]: one-hot
    assert t.row("t5").partials["x"][-1] == 1.0 and t.row("t5").partials["x"].sum() == 1.0
    assert t.row("w").adjoint == pytest.approx(np.sum(x**2))
    assert t.row("t7").value == 1000.0 and t.row("t7").partials == {"x": 0.0}


def test_trace_errors_for_vectors() -> None:
    with pytest.raises(TypeError, match="'x' must be a 1-D array"):
        adc.trace("sum(x)", x=2.0)
    with pytest.raises(TypeError, match="'x' must be a 1-D array"):
        adc.trace("sum(x)", x=np.ones((2, 3)))
    with pytest.raises(ValueError, match="scalar output"):
        adc.trace("x[1:] * 2", x=X3)
    with pytest.raises(ValueError, match="length"):
        adc.trace("sum(x*y)", x=X3, y=np.ones(4))


def test_trace_graph_shows_the_numbers(rosenbrock_trace: adc.Trace) -> None:
    dot = rosenbrock_trace.graph().source
    assert '[label="x\\n= [1.2, 0.8, 1.1]\\nb_x = [307.6, -275.6, 92]"' in dot, dot
    assert "peripheries=2" in dot


# --- DOT graphs -----------------------------------------------------------------------------


def _attrs(dot: str, label_start: str) -> str:
    for line in dot.splitlines():
        if f'[label="{label_start}' in line:
            return line
    raise AssertionError(f"no node {label_start!r} in\n{dot}")


def test_vector_nodes_have_a_double_border() -> None:
    dot = adc.compile("w * sum(x^2) + x[0]").graph().source
    assert "peripheries=2" in _attrs(dot, "x")
    assert "peripheries=2" in _attrs(dot, "t0 = x^2")
    assert "peripheries" not in _attrs(dot, "t1 = sum(t0)")
    assert "peripheries" not in _attrs(dot, "w")
    assert "peripheries" not in _attrs(dot, "t3 = x[0]")
    scalar = adc.compile("x*y + x").graph().source
    assert "peripheries" not in scalar


def test_derivative_graph_of_a_vector_formula() -> None:
    dot = adc.compile("sum(x[1:] * x[:-1]) + max(x)").value_and_grad().graph().source
    for text in ("x[1:]", "x[:-1]", "max(x)", "unslice(", "pick_max(x)", "fill(1, "):
        assert text in dot, (text, dot)
    assert "math.nan" not in dot and "nan" not in dot


def test_dot_labels_abbreviate_long_vectors() -> None:
    t = adc.trace("sum(x^2)", x=np.arange(50.0))
    line = _attrs(t.graph().source, "x")
    assert "= [0, 1, 2, …] (n=50)" in line and "b_x = [0, 2, 4, …] (n=50)" in line, line


# --- SymPy and LaTeX ------------------------------------------------------------------------


def test_to_sympy_writes_indexed_sums() -> None:
    f = adc.compile(ROSENBROCK)
    assert str(f.to_sympy()) == "Sum((1 - x[i])**2 + 100*(x[i + 1] - x[i]**2)**2, (i, 0, n - 2))"
    assert str(adc.compile("mean(x)").to_sympy()) == "Sum(x[i], (i, 0, n - 1))/n"
    assert str(adc.compile("x[-1] + x[::2][1]").to_sympy()) == "x[2] + x[n - 1]"
    assert str(adc.compile("max(x)").to_sympy()) == "Maximum(x[i], (i, 0, n - 1))"
    assert str(adc.compile("prod(x)").to_sympy()) == "Product(x[i], (i, 0, n - 1))"
    assert str(adc.compile("sum((x - mean(x))^2)").to_sympy()) == (
        "Sum((x[i] - Sum(x[j], (j, 0, n - 1))/n)**2, (i, 0, n - 1))"
    )


def test_lengths_are_symbols_numbers_or_per_class() -> None:
    fixed = adc.compile("sum(x[1:3]) + x[0]", shapes={"x": 4}).to_sympy()
    assert str(fixed) == "x[0] + Sum(x[i + 1], (i, 0, 1))"
    two = adc.compile("sum(x) * sum(y^2)").to_sympy()
    assert {s.name for s in two.free_symbols if s.is_Symbol} >= {"n_x", "n_y"}
    joined = adc.compile("dot(a, b)").to_sympy()
    assert str(joined) == "Sum(a[i]*b[i], (i, 0, n - 1))"
    clash = adc.compile("n * sum(x)").to_sympy()
    assert str(clash) == "n*Sum(x[i], (i, 0, n_ - 1))"


def test_latex_reads_like_a_textbook() -> None:
    assert adc.compile(ROSENBROCK).latex() == (
        "f = \\sum_{i=0}^{n - 2} \\left(\\left(1 - {x}_{i}\\right)^{2} + 100 \\left({x}_{i + 1}"
        " - {x}_{i}^{2}\\right)^{2}\\right)"
    )
    assert adc.compile("max(x) - min(x)").latex() == (
        "f = \\max_{0 \\le i \\le n - 1} {x}_{i} - \\min_{0 \\le i \\le n - 1} {x}_{i}"
    )
    grad = adc.compile("mean(x)").grad().latex()
    assert "\\frac{\\partial f}{\\partial x_{i}} &= \\frac{1}{n}" in grad, grad
    hvp = adc.compile("prod(x)").hvp().latex()
    assert hvp.startswith("(H \\dot{x})_{x_{i}} = \\sum_{j=0}^{n - 1}"), hvp


def _concrete(expr: sympy.Expr, n: int) -> sympy.Expr:
    """`expr` at length n (every length symbol), its sums written out."""
    lengths = {s: sympy.Integer(n) for s in expr.free_symbols if s.is_Symbol and s.is_integer}
    return expr.xreplace(lengths).doit()


def _at(x: np.ndarray, name: str = "x") -> dict[sympy.Basic, sympy.Float]:
    base = sympy.IndexedBase(name, real=True)
    return {base[k]: sympy.Float(float(v), 30) for k, v in enumerate(x)}


ROUND_TRIP = [
    ROSENBROCK,
    "10*len(x) + sum(x^2 - 10*cos(2*pi*x))",
    "-20*exp(-0.2*sqrt(mean(x^2))) - exp(mean(cos(2*pi*x))) + 20 + e",
    "logsumexp(x)",
    "norm(x)",
    "prod(x)",
    "max(x) * min(x)",
    "dot(x[::2], x[1::2])",
    "sum(x[::-1] * x)",
    "x[-1] * x[0] + x[2]^2",
    "sum(x[3:0:-1] * x[:3])",
    "sum(where(x > 1, x^2, -x))",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_sympy_derivative_matches_the_gradient(text: str) -> None:
    n = 6
    x = np.random.default_rng(7).uniform(0.5, 1.5, n)
    f = adc.compile(text)
    value, grad = f.value_and_grad()(x)
    expr = _concrete(f.to_sympy(), n)
    at = _at(x)
    assert float(expr.subs(at).evalf(30)) == pytest.approx(value, rel=1e-13)
    base = sympy.IndexedBase("x", real=True)
    got = [float(sympy.diff(expr, base[k]).subs(at).evalf(30)) for k in range(n)]
    np.testing.assert_allclose(got, grad.x, rtol=1e-12, atol=1e-13)
    # the exported gradient, element by element
    element = f.value_and_grad().to_sympy(cse=False)[1]
    exported = [float(_concrete(element(k), n).subs(at).evalf(30)) for k in range(n)]
    np.testing.assert_allclose(exported, grad.x, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("text", ["prod(x)", ROSENBROCK])
def test_sympy_hvp_and_jvp_exports(text: str) -> None:
    n = 5
    rng = np.random.default_rng(3)
    x, d = rng.uniform(0.5, 1.5, n), rng.normal(size=n)
    f = adc.compile(text)
    at = {**_at(x), **_at(d, "d_x")}
    hvp = f.hvp()(x, tangents=(d,))
    element = f.hvp().to_sympy(cse=False)[0]
    got = [float(_concrete(element(k), n).subs(at).evalf(30)) for k in range(n)]
    np.testing.assert_allclose(got, hvp.x, rtol=1e-12, atol=1e-12)
    _, tangent = f.jvp()(x, tangents=(d,))
    jvp = f.jvp().to_sympy(cse=False)[1]
    assert float(_concrete(jvp, n).subs(at).evalf(30)) == pytest.approx(tangent, rel=1e-12)


def test_cse_keeps_vectors_inline_and_scalars_shared() -> None:
    replacements, exprs = adc.compile("logsumexp(x)").value_and_grad().to_sympy()
    assert [str(s) for s, _ in replacements] == ["t0", "t1"]
    assert str(replacements[0][1]) == "Maximum(x[k], (k, 0, n - 1))"  # inside t1's sum over j
    assert str(exprs[1]) == "Lambda(i, exp(-t0 + x[i])/t1)"


def test_piecewise_in_a_sum_stays_inside() -> None:
    """SymPy's piecewise_fold lifts a Piecewise out of a Sum in a condition: the export
    writes a Where there, so no index is left free."""
    g = adc.compile("logsumexp(x)").jvp()
    tangent = g.to_sympy(cse=False)[1]
    bound = {s for s in tangent.free_symbols if s.is_Symbol and s.is_integer}
    assert {s.name for s in bound} == {"n"}, tangent
    assert "Where(" in str(tangent)
    assert "\\begin{cases}" in g.latex()


@pytest.mark.parametrize(
    "text",
    [
        ROSENBROCK,
        "mean(x)",
        "max(x) + x[-1] + x[2]",
        "logsumexp(x)",
        "dot(a, b)",
        "sum((x - mean(x))^2)",
        "prod(x[1:]) * min(x)",
        "sum(where(x > 1, x^2, -x))",
    ],
)
def test_compile_of_to_sympy_gives_the_formula_back(text: str) -> None:
    f = adc.compile(text)
    back = adc.compile(f.to_sympy())
    point = np.random.default_rng(5).uniform(0.5, 1.5, (len(f.inputs), 5))
    want = f.value_and_grad()(*point)
    got = back.value_and_grad()(*point)
    assert back.inputs == f.inputs
    assert got[0] == pytest.approx(want[0], rel=1e-13)
    for a, b in zip(got[1], want[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_from_sympy_reads_indexed_and_sums() -> None:
    x, y = sympy.IndexedBase("x"), sympy.IndexedBase("y")
    i = sympy.Symbol("i", integer=True)
    n = sympy.Symbol("n", integer=True)
    rosen = sympy.Sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2, (i, 0, n - 2))
    assert from_sympy(rosen) == ("sum((1 - x[:-1])^2 + 100*(x[1:] - x[:-1]^2)^2)", ("x",))
    assert from_sympy(x[2] * x[0]) == ("x[0]*x[2]", ("x",))
    assert from_sympy(x[n - 1] + sympy.Sum(x[i], (i, 0, n - 1)) / n)[0] == ("x[-1] + sum(x)/len(x)")
    assert from_sympy(sympy.Sum(x[2 * i] * y[2 * i + 1], (i, 0, 2)))[0] == "sum(x[:5:2]*y[1:6:2])"
    assert from_sympy(sympy.Product(x[i], (i, 1, 3)))[0] == "prod(x[1:4])"
    f = adc.compile(rosen)
    np.testing.assert_allclose(f.value_and_grad()(X3)[1].x, ROSENBROCK_GRAD)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("x[i]", "a subscript must be a whole number"),
        ("x", "the whole IndexedBase x"),
        ("x[-1]", "a subscript must be a whole number"),
        ("Sum(x[i], (i, 0, n))", "the upper limit must be"),
        ("Sum(x[2*i], (i, 0, n - 1))", "the upper limit must be"),
        ("Sum(i*x[i], (i, 0, n - 1))", "may appear only in subscripts"),
        ("Sum(x[i]*y[j], (i, 0, 2), (j, 0, 2))", "several indices"),
        ("Sum(x[i - 1], (i, 0, 2))", "stay >= 0"),
        ("Symbol('x') + x[1]", "used both as a symbol and as an IndexedBase"),
    ],
)
def test_from_sympy_errors_are_formula_errors(expr: str, message: str) -> None:
    names = {
        "x": sympy.IndexedBase("x"),
        "y": sympy.IndexedBase("y"),
        "i": sympy.Symbol("i", integer=True),
        "j": sympy.Symbol("j", integer=True),
        "n": sympy.Symbol("n", integer=True),
        "Sum": sympy.Sum,
        "Symbol": sympy.Symbol,
    }
    value = eval(expr, {"__builtins__": {}}, names)
    with pytest.raises(FormulaError, match=re.escape(message)):
        adc.compile(value)


# --- check_grad -----------------------------------------------------------------------------


def test_check_grad_on_vectors() -> None:
    report = adc.check_grad(ROSENBROCK, X3)
    assert report.ok, str(report)
    assert report.inputs == ("x[0]", "x[1]", "x[2]")
    assert set(report.errors) == {"forward", "central", "sympy"}
    np.testing.assert_allclose(report.jacobian[0], ROSENBROCK_GRAD)
    assert "x[1]   -275.6" in str(report)
    mixed = adc.check_grad("w*logsumexp(x) + x[0]*max(x)", x=np.array([0.3, -1.0, 2.0]), w=0.5)
    assert mixed.ok and mixed.inputs == ("w", "x[0]", "x[1]", "x[2]"), str(mixed)


def test_check_grad_caps_the_elements_of_long_vectors() -> None:
    x = np.linspace(-1.0, 1.0, 1000)
    report = adc.check_grad("sum(x^3) + max(x)*x[0]", x)
    assert report.ok, str(report)
    assert len(report.inputs) == 16
    assert report.inputs[0] == "x[0]" and report.inputs[-1] == "x[999]"
    assert set(report.errors) == {"forward", "central"}  # too long for SymPy to expand
    few = adc.check_grad("sum(x^3)", x, max_elements=3, use_sympy=False)
    assert few.inputs == ("x[0]", "x[499]", "x[999]")


def test_check_grad_catches_a_wrong_vector_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = dataclasses.replace(ops.OPS["vmax"], partials=(lambda v, o: v.apply("vpick_min", v),))
    monkeypatch.setitem(ops.OPS, "vmax", wrong)
    report = adc.check_grad(adc.compile("max(x) + sum(x)"), np.array([0.5, 2.0, 1.0]))
    assert not report.ok
    assert report.errors["forward"]["x[1]"] == 0.0  # forward mode reads the same table
    assert report.errors["central"]["x[1]"] > 0.1 and report.errors["sympy"]["x[1]"] > 0.1


# --- the CLI --------------------------------------------------------------------------------


def test_cli_vector_point(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([ROSENBROCK, "--at", "x=[1.2,0.8,1.1]"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("value = 62.19999999999998"), lines
    grad = lines[1]
    assert grad.startswith("d/dx = [") and grad.endswith("]"), grad
    numbers = [float(v) for v in grad[len("d/dx = [") : -1].split(",")]
    np.testing.assert_allclose(numbers, ROSENBROCK_GRAD, rtol=1e-15)


def test_cli_vector_and_scalar_with_spaces(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["w*sum(x^2) + x[0]", "--at", "x=[1 2 3], w=2"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "value = 29",
        "d/dw = 14",
        "d/dx = [5, 8, 12]",
    ]


def test_cli_trace_and_dot_at_a_vector_point(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["w*sum(x^2) + x[0]", "--at", "x=[1,2,3],w=2", "--trace"]) == 0
    out = capsys.readouterr().out
    assert "t3    x[0]" in out and "[1, 2, 3]" in out and "dt3/dx = [1, 0, 0]" in out, out
    assert main(["w*sum(x^2) + x[0]", "--at", "x=[1,2,3],w=2", "--dot"]) == 0
    dot = capsys.readouterr().out
    assert dot.startswith("digraph adcompile {") and "b_x = [5, 8, 12]" in dot, dot


def test_cli_show_sympy_and_latex(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mean(x)", "--show", "sympy"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "value = Sum(x[i], (i, 0, n - 1))/n",
        "dvalue/dx[i] = 1/n",
    ]
    assert main([ROSENBROCK, "--show", "latex"]) == 0
    assert "\\sum_{i=0}^{n - 2}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("at", "message"),
    [
        ("x=[1,2", "a '[' is not closed"),
        ("x=[1,[2]]", "brackets do not match"),
        ("x=[1,a]", "'a' is not a number (for x)"),
        ("x=2", "is a vector"),
        ("x=[1,2,3],y=[1,2,3]", "needs equal lengths"),
    ],
)
def test_cli_bad_vector_points(at: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sum(x[1:] * y)" if "y" in at else "sum(x)", "--at", at]) == 2
    err = capsys.readouterr().err
    assert err.startswith("adcompile: error:") and message in err, err
    assert "Traceback" not in err
