"""The SymPy bridge (adcompile/symbolic.py): IR -> SymPy (plain and CSE'd), LaTeX, SymPy -> text.

Round trips text -> IR -> SymPy -> text -> IR agree numerically with the original IR; the CSE'd
system and the printed text stay linear in size on shared (exponential as trees) and very deep
inputs; the printed text reads well (exact strings); unsupported input fails clearly.
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
import time
from typing import Any

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import given, note, settings
from strategies import INPUTS, formulas
from sympy_bridge import lambdify

import adcompile as adc
from adcompile.ad.reverse import reverse
from adcompile.codegen.latex import latex
from adcompile.codegen.sympy import to_sympy
from adcompile.front.from_sympy import from_sympy, sympy_expr_type
from adcompile.front.parse import parse
from adcompile.front.sympy_text import MAX_INLINE
from adcompile.ir.graph import Graph, NodeId, Parsed
from adcompile.ir.ops import CORE_OPS, OPS
from adcompile.run.interpret import Plan

x, y, z = sympy.symbols("x y z", real=True)
RNG_POINTS = np.random.default_rng(12345).uniform(-1.9, 1.9, size=(4, 3))


def values(program: Parsed, point: Any) -> list[float]:
    """The program's outputs at `point` (a value per input), by the NumPy interpreter."""
    plan = Plan(program.graph, program.input_ids, program.outputs)
    return [float(v) for v in plan(*point)]


def close(a: float, b: float, rtol: float = 1e-9) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= rtol * (1.0 + abs(a) + abs(b))


def tree_size(expr: Any) -> int:
    """Nodes of a SymPy expression as a tree (explicit stack: expressions may be deep)."""
    count, stack = 0, [expr]
    while stack:
        e = stack.pop()
        count += 1
        stack.extend(e.args)
    return count


def round_trip(text: str, inputs: tuple[str, ...] = INPUTS) -> tuple[Parsed, Parsed]:
    """text -> IR -> SymPy -> text -> IR."""
    program = parse(text, inputs)
    exprs = to_sympy(program.graph, program.outputs)
    back, names = from_sympy(exprs, inputs=program.inputs)
    assert names == program.inputs
    return program, parse(back, names)


# --- IR -> SymPy ----------------------------------------------------------------------------


@settings(max_examples=40)
@given(formulas(smooth=True, max_depth=3))
def test_to_sympy_values_equal_the_interpreter(text: str) -> None:
    program = parse(text, INPUTS)
    (expr,) = to_sympy(program.graph, program.outputs)
    fn = lambdify([sympy.Symbol(n, real=True) for n in INPUTS], expr)
    for point in RNG_POINTS[:2]:
        with mpmath.workdps(30):
            exact = complex(fn(*(mpmath.mpf(float(v)) for v in point)))
        (got,) = values(program, point)
        note(f"{text} at {point}: {got} vs {exact}")
        if abs(exact.imag) < 1e-20 and math.isfinite(exact.real) and abs(exact.real) < 1e8:
            assert close(got, exact.real, 1e-8)


@pytest.mark.parametrize("op", sorted(CORE_OPS))
def test_every_op_converts_to_its_sympy_form(op: str) -> None:
    graph = Graph()
    names = ("x", "y", "z")[: OPS[op].arity]
    # an argument whose domain is one value (polygamma's order) is that constant
    args = [
        graph.const(d.lo) if d.lo == d.hi else graph.input(n) for n, d in zip(names, OPS[op].domain)
    ]
    names = tuple(n for n, a in zip(names, args) if graph.nodes[a].op != "const")
    inputs = [a for a in args if graph.nodes[a].op != "const"]
    out = graph.apply(op, *args)
    # A generic point inside the op's domain (away from kinks and ties).
    point = [
        d.lo + (d.hi - d.lo) * f
        for d, f in zip(OPS[op].domain, (0.6180, 0.3819, 0.7))
        if d.lo != d.hi
    ]
    (expr,) = to_sympy(graph, [out])
    subs = {sympy.Symbol(n, real=True): sympy.Float(v, 30) for n, v in zip(names, point)}
    exact = complex(expr.subs(subs).evalf(30))
    (got,) = Plan(graph, inputs, [out])(*point)
    assert close(float(got), exact.real, 1e-12) and abs(exact.imag) < 1e-20
    # ... and back to text computing the same.
    text, inputs = from_sympy(expr, inputs=names)
    assert close(values(parse(text, inputs), point)[0], float(got), 1e-15), text


def test_constants() -> None:
    graph = Graph()
    nums = [2.0, -3.0, 0.1, -0.30000000000000004, 1e-300, 2.0**60, math.inf, -math.inf, math.nan]
    outs = [graph.const(v) for v in nums]
    got = to_sympy(graph, outs)
    assert got[:2] == [sympy.Integer(2), sympy.Integer(-3)]
    assert all(isinstance(g, sympy.Float) for g in got[2:6])
    assert [float(g) for g in got[2:6]] == nums[2:6]  # exactly the float's value
    assert sympy.latex(got[2]) == "0.1"
    assert got[6:8] == [sympy.oo, -sympy.oo] and got[8] is sympy.nan


def test_inputs_are_real_symbols_and_only_live_nodes_convert(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: Any) -> Any:
        raise AssertionError("a dead node was converted")

    monkeypatch.setitem(OPS, "exp", dataclasses.replace(OPS["exp"], sympy=refuse))
    program = parse("a = exp(z)\nb = x*y\nb", ("x", "y", "z"))
    (expr,) = to_sympy(program.graph, program.outputs)
    assert expr == x * y and all(s.is_real for s in expr.free_symbols)
    assert to_sympy(program.graph, program.outputs, cse=True) == ([], [x * y])


def test_comparisons_of_piecewise_values_fold_into_conditions() -> None:
    """SymPy alone sends a Piecewise inside a condition through as_set/simplify (seconds to
    minutes, or an exception); to_sympy folds the comparison over the branches instead."""
    start = time.process_time()
    cases = {
        "where(sin(x) > 0.5, x, y)": sympy.Piecewise((x, sympy.sin(x) > 0.5), (y, True)),
        "where(x > 0 and not (y > 0), x, y)": sympy.Piecewise((x, (x > 0) & (y <= 0)), (y, True)),
        "x < (y < z)": sympy.Piecewise((1, sympy.ITE(y < z, x < 1, x < 0)), (0, True)),
        "where(relu(x) < y, 1, 2)": sympy.Piecewise((1, sympy.ITE(x > 0, x < y, y > 0)), (2, True)),
    }
    for text, want in cases.items():
        program = parse(text)
        assert to_sympy(program.graph, program.outputs) == [want]
        back, names = from_sympy(want)
        for point in RNG_POINTS:
            at = dict(zip(program.inputs, point))
            want = values(program, [at[n] for n in program.inputs])
            assert values(parse(back, names), [at[n] for n in names]) == want
    assert time.process_time() - start < 2.0


def test_cse_uses_the_ir_sharing_and_user_names() -> None:
    program = parse("a = x*y + 1\nb = sin(a)*a + exp(a)\nc = b^2 + 0.1*b\nc, a*2.5")
    a, b = sympy.symbols("a b", real=True)
    reps, exprs = to_sympy(program.graph, program.outputs, cse=True)
    assert reps == [(a, x * y + 1), (b, a * sympy.sin(a) + sympy.exp(a))]
    assert exprs == [b**2 + sympy.Float(0.1) * b, sympy.Float(2.5) * a]
    # A shared unnamed node gets a temporary that avoids the input names.
    program = parse("t0 + sin(t0*y) + cos(t0*y)", ("t0", "y"))
    reps, exprs = to_sympy(program.graph, program.outputs, cse=True)
    t0, t1 = sympy.symbols("t0 t1", real=True)
    assert reps == [(t1, t0 * y)] and exprs == [t0 + sympy.sin(t1) + sympy.cos(t1)]
    # An assignment shadowing an input keeps its name; the input keeps its own.
    program = parse("x = x + 1\nx*x + sin(x)")
    reps, exprs = to_sympy(program.graph, program.outputs, cse=True)
    assert [str(s) for s, _ in reps] == ["x_2"] and reps[0][1] == x + 1
    assert exprs == [reps[0][0] ** 2 + sympy.sin(reps[0][0])]
    # cse=True computes the same function as cse=False.
    reps, exprs = to_sympy(program.graph, program.outputs, names={}, cse=True)
    assert [str(s) for s, _ in reps] == ["t0"]
    assert exprs[0].subs(reps[0][0], reps[0][1]) == to_sympy(program.graph, program.outputs)[0]


def _exponential_program(levels: int = 40) -> Parsed:
    """As a tree this formula has about 3**levels nodes; as a graph, 3 per level."""
    lines = ["a1 = x*x + x*y"] + [
        f"a{k} = a{k - 1}*a{k - 1} + a{k - 1}" for k in range(2, levels + 1)
    ]
    return parse("\n".join([*lines, f"a{levels}"]))


def test_cse_is_linear_on_a_shared_graph_and_its_gradient() -> None:
    start = time.process_time()
    program = _exponential_program()
    reps, exprs = to_sympy(program.graph, program.outputs, cse=True)
    assert len(reps) == 39 and exprs == [
        sympy.Symbol("a39", real=True) ** 2 + sympy.Symbol("a39", real=True)
    ]
    assert sum(tree_size(e) for _, e in reps) < 10 * 40
    graph = program.graph.copy()
    grads = reverse(graph, program.outputs[0], program.input_ids)
    outs = [program.outputs[0], *(g for g in grads if g is not None)]
    live = sum(graph.live(outs))
    reps, exprs = to_sympy(graph, outs, cse=True)
    assert sum(tree_size(e) for _, e in reps) + sum(map(tree_size, exprs)) < 6 * live
    assert time.process_time() - start < 3.0


def test_cse_is_linear_and_shallow_on_a_deep_chain() -> None:
    text = "x"
    for _ in range(2000):
        text = f"({text})*x + y"
    program = parse(text)
    start = time.process_time()
    reps, exprs = to_sympy(program.graph, program.outputs, cse=True)
    assert time.process_time() - start < 3.0
    assert sum(tree_size(e) for _, e in reps) + tree_size(exprs[0]) < 5 * 4000
    # Every expression is shallow enough for SymPy's recursive printers.
    assert len(latex(program.graph, program.outputs, ["f"])) < 20 * 4000


# --- LaTeX ----------------------------------------------------------------------------------


def test_latex() -> None:
    program = parse("log(x*y) + sin(x)^2")
    assert latex(program.graph, program.outputs, ["f"]) == (
        r"f = \log{\left(x y \right)} + \sin^{2}{\left(x \right)}"
    )
    program = parse("a = x*y + 1\nb = sin(a)*a + exp(a)\nb^2 + b/2, a")
    text = latex(program.graph, program.outputs, ["f", r"\frac{\partial f}{\partial x}"])
    assert text == (
        "\\begin{aligned}\n"
        "a &= x y + 1 \\\\\n"
        "b &= a \\sin{\\left(a \\right)} + e^{a} \\\\\n"
        "f &= b^{2} + \\frac{b}{2} \\\\\n"
        "\\frac{\\partial f}{\\partial x} &= a\n"
        "\\end{aligned}"
    )
    with pytest.raises(ValueError, match="2 labels for 1 outputs"):
        latex(program.graph, program.outputs[:1], ["f", "g"])


# --- SymPy -> text --------------------------------------------------------------------------

X, Y, Z = sympy.symbols("x y z")

READABLE = [
    (sympy.sin(X) ** 2 + sympy.log(X * Y), "log(x*y) + sin(x)^2"),
    (X**2 + 2 * X + 1, "x^2 + 2*x + 1"),
    (Y - X, "y - x"),
    (X - X * Y / 2, "x - x*y/2"),
    (-(X**2), "-x^2"),
    ((-X) ** 3, "-x^3"),
    (1 / X, "1/x"),
    (2 * X / (3 * Y), "2*x/(3*y)"),
    (X ** (-2) + 1 / (X + 1), "1/(x + 1) + 1/x^2"),
    (sympy.sqrt(X) + sympy.cbrt(Y), "sqrt(x) + cbrt(y)"),
    (1 / sympy.sqrt(X + 1), "1/sqrt(x + 1)"),
    (X ** sympy.Rational(3, 2), "x^(3/2)"),
    (-2 * X * sympy.exp(-(X**2)), "-2*x*exp(-x^2)"),
    (2 ** (-X), "2^-x"),
    (X ** (Y + 1), "x^(y + 1)"),
    ((X**Y) ** Z, "(x^y)^z"),
    (X ** (Y**Z), "x^y^z"),
    (-(X + Y) * Z, "z*(-x - y)"),
    (-(X + Y) / 2, "-x/2 - y/2"),
    (X / 2 + sympy.Rational(1, 3), "x/2 + 1/3"),
    (sympy.pi * X + sympy.E, "pi*x + e"),
    (sympy.exp(X) + sympy.E**2, "exp(x) + exp(2)"),
    (0.5 * X - 1.5, "0.5*x - 1.5"),
    (X**0.5 + 1e-05, "x^0.5 + 1e-05"),
    (sympy.log(X, 2), "log(x)/log(2)"),
    (sympy.Max(X, Y, Z, 1), "max(max(1, x), max(y, z))"),
    (sympy.Min(X, Y) + sympy.Abs(X), "abs(x) + min(x, y)"),
    (sympy.floor(X) * sympy.ceiling(Y) * sympy.sign(Z), "ceil(y)*floor(x)*sign(z)"),
    (sympy.atan2(Y, X), "atan2(y, x)"),
    (sympy.Piecewise((X, X > 0), (Y, Y <= 1), (0, True)), "where(x > 0, x, where(y <= 1, y, 0))"),
    (sympy.And(X < Y, sympy.Or(Y > 1, sympy.Not(Z > 0))), "x < y and (z <= 0 or y > 1)"),
    (sympy.Eq(X + 1, Y), "x + 1 == y"),
    (sympy.Ne(X, 2 * Y), "x != 2*y"),
    (X * Y + sympy.sin(X * Y), "x*y + sin(x*y)"),
    (sympy.sin(X + Y + Z) * sympy.cos(X + Y + Z), "cos(x + y + z)*sin(x + y + z)"),
    (
        sympy.sin(Y * Z + sympy.exp(2 * X)) ** 2 / sympy.cos(Y * Z + sympy.exp(2 * X)),
        "t0 = y*z + exp(2*x)\nsin(t0)^2/cos(t0)",
    ),
    (sympy.true, "1"),
    (sympy.Rational(-1, 2), "-1/2"),
]


@pytest.mark.parametrize(("expr", "text"), READABLE, ids=[t for _, t in READABLE])
def test_readable_text(expr: Any, text: str) -> None:
    got, names = from_sympy(expr)
    assert got == text
    program = parse(got, names)
    if isinstance(expr, sympy.logic.boolalg.Boolean):
        expr = sympy.Piecewise((1, expr), (0, True))  # as the language computes it
    for point in RNG_POINTS:
        subs = {s: sympy.Float(v, 30) for s, v in zip(sympy.symbols(names), point)}
        want = complex(expr.subs(subs).evalf(30))
        if abs(want.imag) < 1e-20:
            assert close(values(program, point)[0], want.real), point


def test_several_outputs_and_matrices() -> None:
    text, names = from_sympy([X + Y, sympy.sin(X + Y) * X, 2])
    assert (text, names) == (
        "out0 = x + y\nout1 = x*sin(x + y)\nout2 = 2\nout0, out1, out2",
        ("x", "y"),
    )
    assert parse(text, names).output_names == ("out0", "out1", "out2")
    text, names = from_sympy(sympy.Matrix([[X, Y * 2], [X * Y, 1]]), inputs=["y", "x", "z"])
    assert names == ("y", "x", "z")
    assert text == "out0 = x\nout1 = 2*y\nout2 = x*y\nout3 = 1\nout0, out1, out2, out3"
    # Output and temporary names avoid the inputs.
    shared = sympy.exp(X + Y + X * Y)
    text, _ = from_sympy([shared * X, shared * Y], inputs=["x", "y", "out0", "t0"])
    assert text == "t1 = exp(x*y + x + y)\nout0_ = x*t1\nout1 = y*t1\nout0_, out1"


def test_numbers_are_exact() -> None:
    floats = [0.1, -0.30000000000000004, 1e-300, 2.5e300, 5e-324, 123456789.125]
    text, _ = from_sympy([sympy.Float(v) for v in floats] + [sympy.Rational(2**60 + 1, 3)])
    program = parse(text, ())
    assert values(program, ()) == [*floats, (2**60 + 1) / 3]


@settings(max_examples=40)
@given(formulas(smooth=False, max_depth=3))
def test_round_trip_through_sympy(text: str) -> None:
    program, back = round_trip(text)
    for point in RNG_POINTS:
        want, got = values(program, point), values(back, point)
        note(f"{text} -> {from_sympy(to_sympy(program.graph, program.outputs))[0]} at {point}")
        assert close(got[0], want[0], 1e-7)


def test_round_trip_of_programs_with_several_outputs() -> None:
    text = (
        "a = x*y + 1\nb = where(a > 1, sin(a), hypot(a, z))\n"
        "b, relu(a - z) + max(a, b), not (a < b), abs(b - a)^y"
    )
    program, back = round_trip(text)
    for point in RNG_POINTS:
        assert all(map(close, values(back, point), values(program, point)))


def test_exponential_dag_prints_linear_text() -> None:
    program = _exponential_program()
    start = time.process_time()
    text, names = from_sympy(to_sympy(program.graph, program.outputs))
    assert time.process_time() - start < 3.0
    # SymPy flattens each sum into the next, so its DAG has ~n^2/2 argument slots; the text
    # has about one assignment per level.
    assert len(text) < 200 * 40 and text.count("\n") < 2 * 40
    back = parse(text, names)
    point = (0.3, -0.2)
    assert close(values(back, point)[0], values(program, point)[0])


def test_deep_sympy_expression_prints_shallow_text() -> None:
    expr = X
    for _ in range(5000):
        expr = expr * X + 1  # nests 10,000 SymPy levels
    text, names = from_sympy(expr)
    lines = text.split("\n")
    assert 100 < len(lines) < 5000 and max(map(len, lines)) <= 2 * MAX_INLINE
    back = parse(text, names)
    want = 0.5
    for _ in range(5000):
        want = want * 0.5 + 1
    assert close(values(back, (0.5,))[0], want)


def test_piecewise_and_friends_round_trip() -> None:
    exprs = [
        sympy.Piecewise((X**2, X < -1), (sympy.sin(X), sympy.And(X >= -1, Y > 0)), (X + Y, True)),
        sympy.Max(X, Y) - sympy.Min(X, 2 * Y, Z) + sympy.Abs(X - Y),
        sympy.Piecewise((1, sympy.Or(sympy.Eq(X, Y), sympy.Ne(Y, 0.5))), (0, True)),
        sympy.Piecewise((sympy.floor(X * 3), sympy.Not(X > Y)), (sympy.ceiling(Y * 3), True)),
    ]
    text, names = from_sympy(exprs)
    program = parse(text, names)
    fn = sympy.lambdify(sympy.symbols(names), exprs, modules="math")
    for point in [*RNG_POINTS, (0.5, 0.5, 0.5), (-2.0, 1.0, 0.0)]:
        assert values(program, point) == pytest.approx(fn(*point), rel=1e-12)


def test_piecewise_without_a_default_branch_is_nan_outside_its_pieces() -> None:
    """As `lambdify` evaluates it (issue "4b"): NaN where no piece's condition holds."""
    text, names = from_sympy(sympy.Piecewise((X, X > 0)))
    program = parse(text, names)
    assert values(program, (2.0,)) == [2.0]
    assert math.isnan(values(program, (-1.0,))[0])


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        (sympy.zeta(X), r"cannot compile the SymPy function zeta: supported are .*\bsin\b"),
        (sympy.Function("f")(X), "cannot compile the SymPy function f:"),
        (sympy.Integral(X, X), "cannot compile the SymPy function Integral:"),
        (sympy.I * X, "cannot compile the SymPy number I: the formula language is real-valued"),
        (sympy.zoo + X, "cannot compile the SymPy number zoo"),
        (sympy.Symbol("sin") + 1, "symbol name 'sin' is a function of the formula language"),
        (sympy.Symbol("pi") * 2, "symbol name 'pi' is a constant of the formula language"),
        (sympy.Symbol("e"), "symbol name 'e' is a constant"),
        (sympy.Symbol("and"), "symbol name 'and' is a Python keyword"),
        (sympy.Symbol("x y"), "symbol name 'x y' is not an identifier"),
        (sympy.Symbol("2x"), "symbol name '2x' is not an identifier"),
    ],
)
def test_unsupported_input_raises(expr: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        from_sympy(expr)


def test_inputs_must_cover_the_free_symbols() -> None:
    assert from_sympy(X + 1, inputs=["y", "x"]) == ("x + 1", ("y", "x"))
    with pytest.raises(ValueError, match=r"free symbols y, z not among the inputs \(x\)"):
        from_sympy(X + Y + Z, inputs=["x"])
    with pytest.raises(ValueError, match="'cos' is a function"):
        from_sympy(X, inputs=["x", "cos"])
    with pytest.raises(ValueError, match="repeated names"):
        from_sympy(X, inputs=["x", "x"])
    with pytest.raises(TypeError, match="a sequence of names"):
        from_sympy(X, inputs="x")
    with pytest.raises(TypeError, match="not str"):
        from_sympy(["x + 1"])


def test_sympy_expr_type() -> None:
    assert sympy_expr_type(X + 1) and sympy_expr_type(sympy.Matrix([X]))
    assert sympy_expr_type([X, 1.0]) and sympy_expr_type((sympy.Integer(1),))
    assert not sympy_expr_type("x + 1") and not sympy_expr_type([1, 2]) and not sympy_expr_type([])
    assert not sympy_expr_type(["x", X])


def test_sympy_loads_lazily() -> None:
    code = (
        "import sys\nfrom adcompile.front import from_sympy as symbolic\n"
        "assert not symbolic.sympy_expr_type('x + 1')\n"
        "print('sympy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]


def test_no_recursion_limit_on_deep_graphs() -> None:
    """to_sympy without CSE builds in id order; the IR walk never recurses."""
    graph = Graph()
    node: NodeId = graph.input("x")
    for _ in range(3000):
        node = graph.apply("add", graph.apply("mul", node, graph.input("y")), graph.const(1.0))
    (expr,) = to_sympy(graph, [node])
    assert isinstance(expr, sympy.Add)
    reps, _ = to_sympy(graph, [node], cse=True)
    assert len(reps) > 3000 // 16


# --- SymPy's code-generation functions (issue 1b) -------------------------------------------


def _codegen_cases() -> list[tuple[str, Any, Any, tuple[float, float]]]:
    """(name, codegen expression, the plain SymPy expression it equals, a point)."""
    from sympy.codegen import cfunctions as c
    from sympy.codegen import numpy_nodes as n
    from sympy.codegen import scipy_nodes as s

    x, y = X, Y
    return [
        ("expm1", c.expm1(x), sympy.exp(x) - 1, (0.3, 1.7)),
        ("log1p", c.log1p(x), sympy.log(1 + x), (0.3, 1.7)),
        ("exp2", c.exp2(x), 2**x, (0.3, 1.7)),
        ("log2", c.log2(x), sympy.log(x) / sympy.log(2), (0.3, 1.7)),
        ("log10", c.log10(x), sympy.log(x) / sympy.log(10), (0.3, 1.7)),
        ("hypot", c.hypot(x, y), sympy.sqrt(x**2 + y**2), (0.3, 1.7)),
        ("Sqrt", c.Sqrt(x), sympy.sqrt(x), (0.3, 1.7)),
        ("Cbrt", c.Cbrt(x), x ** sympy.Rational(1, 3), (0.3, 1.7)),
        ("fma", c.fma(x, y, x), x * y + x, (0.3, 1.7)),
        ("logaddexp", n.logaddexp(x, y), sympy.log(sympy.exp(x) + sympy.exp(y)), (0.3, 1.7)),
        ("logaddexp2", n.logaddexp2(x, y), sympy.log(2**x + 2**y) / sympy.log(2), (0.3, 1.7)),
        ("minimum", n.minimum(x, y), sympy.Min(x, y), (0.3, 1.7)),
        ("maximum", n.maximum(x, y), sympy.Max(x, y), (0.3, 1.7)),
        ("powm1", s.powm1(x, y), x**y - 1, (0.3, 1.7)),
        ("cosm1", s.cosm1(x), sympy.cos(x) - 1, (0.3, 1.7)),
    ]


@pytest.mark.parametrize(
    ("name", "expr", "plain", "point"), _codegen_cases(), ids=[c[0] for c in _codegen_cases()]
)
def test_sympy_codegen_functions_compile(name: str, expr: Any, plain: Any, point: Any) -> None:
    f = adc.compile(expr, inputs=["x", "y"])
    value, grad = f.value_and_grad()(*point)
    at = {X: sympy.Float(point[0], 40), Y: sympy.Float(point[1], 40)}
    assert value == pytest.approx(float(plain.evalf(40, subs=at)), rel=1e-15)
    for g, s in zip(grad, (X, Y)):
        want = float(sympy.diff(plain, s).evalf(40, subs=at))
        assert g == pytest.approx(want, rel=1e-14, abs=1e-300), (name, s)


@pytest.mark.parametrize(
    ("expr", "point", "exact"),
    [
        ("cosm1", (1e-9,), lambda x: mpmath.cos(x) - 1),
        ("powm1", (1 + 2**-40, 3.0), lambda x, y: mpmath.power(x, y) - 1),
        ("expm1", (1e-12,), mpmath.expm1),
        ("log1p", (-1e-13,), mpmath.log1p),
        ("logaddexp", (-800.0, -801.0), lambda x, y: mpmath.log(mpmath.exp(x) + mpmath.exp(y))),
    ],
)
def test_sympy_codegen_functions_keep_their_digits(expr: str, point: Any, exact: Any) -> None:
    """Where the plain form cancels or overflows, the compiled form keeps the digits."""
    from sympy.codegen import cfunctions as c
    from sympy.codegen import numpy_nodes as n
    from sympy.codegen import scipy_nodes as s

    build = {"cosm1": s.cosm1, "powm1": s.powm1, "expm1": c.expm1, "log1p": c.log1p,
             "logaddexp": n.logaddexp}[expr]  # fmt: skip
    names = ["x", "y"][: len(point)]
    f = adc.compile(build(*(sympy.Symbol(v) for v in names)), inputs=names)
    with mpmath.workdps(50):
        want = float(exact(*(mpmath.mpf(p) for p in point)))
    assert f(*point) == pytest.approx(want, rel=4e-16)


def test_sympy_optimize_with_c99_optims_compiles_end_to_end() -> None:
    from sympy.codegen.rewriting import optimize, optims_c99

    expr = sympy.log(1 + sympy.exp(X)) + sympy.exp(Y) - 1 + sympy.log(X) / sympy.log(2)
    optimized = optimize(expr, optims_c99)
    assert optimized != expr  # SymPy did rewrite it into its codegen functions
    f, g = adc.compile(optimized, inputs=["x", "y"]), adc.compile(expr, inputs=["x", "y"])
    (fv, fg), (gv, gg) = f.value_and_grad()(0.5, 1e-9), g.value_and_grad()(0.5, 1e-9)
    assert fv == pytest.approx(gv, rel=1e-12) and list(fg) == pytest.approx(list(gg), rel=1e-12)
