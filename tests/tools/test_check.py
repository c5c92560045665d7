"""`adc.check_grad` and the SymPy side of the public API (`compile(sympy_expr)`, `to_sympy`,
`latex`)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import sympy

import adcompile as adc
from adcompile.ir import ops
from adcompile.tools.check import rel_error


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("log(x*y) + sin(x)^2", (2.0, 3.0)),
        ("a = w0*x0; b = w1*x1; 1/(1 + exp(-(a + b + w2)))", (2.0, -1.0, -3.0, -2.0, -3.0)),
        ("u = x*y + z; v = sin(x) * z; u, v", (0.5, 2.0, 3.0)),
        ("atan2(y, x) * hypot(x, y)", (0.3, 0.7)),
    ],
)
def test_check_grad_passes_on_correct_derivatives(text: str, point: tuple[float, ...]) -> None:
    report = adc.check_grad(text, *point)
    assert report.ok, str(report)
    assert set(report.errors) == {"forward", "central", "sympy"}
    assert report.jacobian.shape == (len(adc.compile(text).outputs), len(point))
    assert "check_grad: ok" in str(report)


def test_check_grad_catches_a_wrong_derivative_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong rule in the op table fools forward mode too (both read the table), but not
    central differences nor SymPy's own diff: that is why those references are there."""
    wrong = dataclasses.replace(ops.OPS["sin"], partials=(lambda x, o: -ops.cos(x),))
    monkeypatch.setitem(ops.OPS, "sin", wrong)
    report = adc.check_grad(adc.compile("sin(x) * y"), 0.5, 2.0)
    assert not report.ok
    assert report.errors["forward"]["x"] == 0.0
    assert report.errors["central"]["x"] > 1.0 and report.errors["sympy"]["x"] > 1.0
    assert report.errors["sympy"]["y"] < 1e-15
    assert "MISMATCH" in str(report) and "<-- too large" in str(report)
    with pytest.raises(AssertionError, match="MISMATCH"):
        adc.check_grad(adc.compile("sin(x) * y"), 0.5, 2.0, raise_on_failure=True)


def test_check_grad_options() -> None:
    f = adc.compile("x^3 + y")
    report = adc.check_grad(f, x=2.0, y=1.0, wrt="x", use_sympy=False, rtol={"central": 1e-12})
    assert report.inputs == ("x",)
    assert set(report.errors) == {"forward", "central"}
    assert bool(report) is report.ok


def test_rel_error_handles_infinities_and_nan() -> None:
    assert rel_error(np.array([math.inf]), np.array([math.inf])) == 0.0
    assert rel_error(np.array([math.nan]), np.array([1.0])) == math.inf
    assert rel_error(np.array([1.0]), np.array([1.0 + 1e-12])) == pytest.approx(1e-12, rel=1e-3)


# --- the SymPy bridge through the API --------------------------------------------------


def test_compile_a_sympy_expression() -> None:
    x, y = sympy.symbols("x y")
    f = adc.compile(sympy.log(x * y) + sympy.sin(x) ** 2)
    assert f.inputs == ("x", "y")
    assert f.text == "log(x*y) + sin(x)^2"
    g = adc.compile("log(x*y) + sin(x)^2")
    assert f.value_and_grad()(2.0, 3.0) == g.value_and_grad()(2.0, 3.0)
    h = adc.compile([x * y, x + y], inputs=["y", "x"])
    assert h.inputs == ("y", "x")
    np.testing.assert_array_equal(h.jacobian()(3.0, 2.0), [[2.0, 3.0], [1.0, 1.0]])


def test_sympy_round_trip_of_value_and_derivatives() -> None:
    f = adc.compile("a = x*y; b = exp(-a) * cos(x); b + a^2")
    expr = f.to_sympy()
    x, y = sorted(expr.free_symbols, key=lambda s: s.name)
    assert sympy.simplify(expr - (sympy.exp(-x * y) * sympy.cos(x) + (x * y) ** 2)) == 0
    replacements, exprs = f.value_and_grad().to_sympy()
    full = [e.subs(list(reversed(replacements))) for e in exprs]
    for got, s in zip(full[1:], (x, y)):
        assert sympy.simplify(got - sympy.diff(expr, s)) == 0
    h = f.hessian().to_sympy(cse=False)
    want = sympy.hessian(expr, (x, y))
    point = {x: 0.3, y: -0.8}
    np.testing.assert_allclose(
        [float(e.subs(point)) for e in h], [float(w.subs(point)) for w in want], rtol=1e-12
    )


def test_derivative_export_does_not_swell() -> None:
    """A 12-level chain whose plain derivative would repeat shared parts exponentially."""
    lines = ["a0 = x"] + [f"a{k} = sin(a{k - 1}) * a{k - 1} + x" for k in range(1, 13)]
    f = adc.compile("\n".join(lines))
    replacements, exprs = f.hessian().to_sympy()
    size = sum(sympy.count_ops(v) for _, v in replacements) + sum(map(sympy.count_ops, exprs))
    assert size < 40 * 12


def test_latex_of_value_and_of_a_gradient() -> None:
    f = adc.compile("log(x*y) + sin(x)^2")
    assert f.latex() == r"f = \log{\left(x y \right)} + \sin^{2}{\left(x \right)}"
    text = f.value_and_grad().latex()
    assert text.startswith("\\begin{aligned}") and text.endswith("\\end{aligned}")
    assert r"\frac{\partial f}{\partial x} &= " in text
    assert r"\frac{\partial^{2} f}{\partial x \partial y}" in f.hessian().latex()
    assert r"\dot{f}" in f.jvp().latex() and "d_{x}" in f.jvp().latex()


def test_jvp_export_names_its_seed_symbols() -> None:
    exprs = adc.compile("x^2 * y").jvp().to_sympy(cse=False)
    assert {s.name for s in exprs[1].free_symbols} == {"x", "y", "d_x", "d_y"}
