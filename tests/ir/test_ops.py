"""The op table: every partial rule against SymPy, the kink conventions, printer totality, and
each op's NumPy `impl` against its Python template run through Numba."""

from __future__ import annotations

import ast
import math
import re

import mpmath
import numpy as np
import pytest
import strategies
import sympy
from sympy_bridge import derivative_at, evaluate, symbol, to_sympy

import adcompile as adc
from adcompile import codegen
from adcompile.front.parse import grammar_path
from adcompile.ir.graph import Expr, Graph
from adcompile.ir.opdef import ATOM
from adcompile.ir.ops import CORE_OPS, OPS, OpDef, resolve_function
from adcompile.run import jit
from adcompile.run.interpret import Plan

#: Fractions of each argument's domain at which rules are checked; argument k uses row k, so
#: the arguments of a binary op never tie (min/max) and no sample sits on a kink of
#: abs/relu/sign (0) or floor/ceil (integers) for the REAL domain (-3, 3).
FRACTIONS = ((0.17, 0.53, 0.86), (0.62, 0.31, 0.94), (0.45, 0.08, 0.71))

#: Ops whose partial is None by convention although the mathematical derivative is not 0.
ZERO_BY_CONVENTION = {"stop_gradient": 1}

#: How the formula language spells the ops that are not callable by name.
INFIX = strategies.INFIX

RULES = [
    (name, k) for name, op in CORE_OPS.items() for k, r in enumerate(op.partials) if r is not None
]
ZERO_RULES = [
    (name, k) for name, op in CORE_OPS.items() for k, r in enumerate(op.partials) if r is None
]


def sample_points(op: OpDef) -> list[list[float]]:
    """Three points inside the op's domain (see FRACTIONS)."""
    return [
        [d.lo + (d.hi - d.lo) * FRACTIONS[k][j] for k, d in enumerate(op.domain)]
        for j in range(len(FRACTIONS[0]))
    ]


def build_rule(name: str, k: int) -> tuple[Graph, list[int], Expr | float]:
    """A fresh graph with inputs a0.., the op applied to them, and partial rule k on top."""
    op = OPS[name]
    graph = Graph()
    ins = [graph.input(f"a{j}") for j in range(op.arity)]
    out = graph.apply(name, *ins)
    assert graph.nodes[out].op == name, f"{name} applied to distinct inputs was rewritten"
    rule = op.partials[k]
    assert rule is not None
    return graph, ins, rule(*(graph.expr(a) for a in ins), graph.expr(out))


def close(got: mpmath.mpf, want: mpmath.mpf, rtol: float = 1e-12) -> bool:
    """|got - want| <= rtol * |want| (so a zero reference must be met exactly)."""
    return bool(abs(got - want) <= rtol * abs(want))


# --- (a) partial rules against SymPy --------------------------------------------------------


@pytest.mark.parametrize(("name", "k"), RULES, ids=[f"{n}-d{k}" for n, k in RULES])
def test_partial_rule_matches_sympy_diff(name: str, k: int) -> None:
    op = OPS[name]
    graph, _, rule = build_rule(name, k)
    symbols = [symbol(f"a{j}") for j in range(op.arity)]
    reference = sympy.sympify(op.sympy(sympy, *symbols))
    if isinstance(rule, Expr):
        (got_expr,) = to_sympy(graph, [rule.id])
    else:
        got_expr = sympy.Rational(rule)
    for point in sample_points(op):
        values = dict(zip(symbols, point))
        want = derivative_at(reference, symbols[k], values)
        got = evaluate(got_expr, values)
        assert want is not None and got is not None, f"{name} d/d arg{k} at {point}: {got} {want}"
        assert close(got, want), f"{name} d/d arg{k} at {point}: rule {got}, sympy {want}"


@pytest.mark.parametrize(("name", "k"), ZERO_RULES, ids=[f"{n}-d{k}" for n, k in ZERO_RULES])
def test_zero_partial_is_zero_almost_everywhere(name: str, k: int) -> None:
    op = OPS[name]
    symbols = [symbol(f"a{j}") for j in range(op.arity)]
    reference = sympy.sympify(op.sympy(sympy, *symbols))
    want = ZERO_BY_CONVENTION.get(name, 0)
    for point in sample_points(op):
        got = derivative_at(reference, symbols[k], dict(zip(symbols, point)))
        assert got is not None and got == want, f"d {name} / d arg{k} at {point} is {got}"


def test_zero_by_convention_ops_are_flagged_non_smooth() -> None:
    for name in ZERO_BY_CONVENTION:
        assert OPS[name].partials == (None,) and not OPS[name].smooth, name


def test_ops_with_only_zero_partials_are_non_smooth() -> None:
    """`smooth=True` promises a nonzero derivative somewhere: it needs a partial rule."""
    for name, op in CORE_OPS.items():
        if all(r is None for r in op.partials):
            assert not op.smooth, f"{name} has no partial rule but is flagged smooth"


def test_boolean_ops_give_zero_or_one() -> None:
    grid = np.array([-2.0, -0.0, 0.0, 0.5, 1.0, np.inf, -np.inf, np.nan])
    for name, op in CORE_OPS.items():
        if op.boolean:
            args = np.meshgrid(*([grid] * op.arity))
            values = np.asarray(op.impl(*args))
            assert set(np.unique(values)) <= {0.0, 1.0}, f"{name}: {np.unique(values)}"


def test_domains_are_inside_where_sympy_is_real() -> None:
    for name, op in CORE_OPS.items():
        symbols = [symbol(f"a{j}") for j in range(op.arity)]
        expr = op.sympy(sympy, *symbols)
        for point in sample_points(op):
            want = evaluate(expr, dict(zip(symbols, point)))
            assert want is not None, f"{name} is not real at {point}"
            got = float(op.impl(*(np.float64(v) for v in point)))
            assert math.isclose(got, float(want), rel_tol=1e-13, abs_tol=1e-300), (
                f"{name}{tuple(point)}: impl {got}, sympy {want}"
            )


# --- kink conventions (the module docstring of ops.py, DESIGN section 5) --------------------


def rule_value(name: str, k: int, point: list[float]) -> float:
    """Partial rule k of op `name` evaluated by the NumPy interpreter at `point`."""
    graph, ins, rule = build_rule(name, k)
    if not isinstance(rule, Expr):
        return float(rule)
    (value,) = Plan(graph, ins, [rule.id])(*(np.float64(v) for v in point))
    return float(value)


@pytest.mark.parametrize(
    ("name", "k", "point", "want"),
    [
        ("abs", 0, [0.0], 0.0),
        ("abs", 0, [-0.0], 0.0),
        ("relu", 0, [0.0], 0.0),
        ("min", 0, [1.5, 1.5], 0.5),
        ("min", 1, [1.5, 1.5], 0.5),
        ("max", 0, [1.5, 1.5], 0.5),
        ("max", 1, [1.5, 1.5], 0.5),
        ("min", 0, [1.0, 2.0], 1.0),
        ("max", 0, [1.0, 2.0], 0.0),
        ("sqrt", 0, [0.0], math.inf),
        ("pow", 1, [0.0, 2.0], 0.0),
        ("pow", 1, [-2.0, 3.0], 0.0),
        ("pow", 0, [0.0, 0.0], 0.0),  # 0 * 0^-1 = 0 * inf: d/dx x^y = 0 where y == 0
        ("pow", 0, [2.0, 0.0], 0.0),
        ("pow", 0, [0.0, 2.0], 0.0),
        ("pow", 0, [0.0, 1.0], 1.0),
        ("atan2", 0, [0.0, 0.0], 0.0),  # (x/h)/h = 0/0 at the origin: 0, like hypot
        ("atan2", 1, [0.0, 0.0], 0.0),
        ("hypot", 0, [0.0, 0.0], 0.0),
        ("hypot", 1, [-0.0, 0.0], 0.0),
        ("sech2", 0, [0.0], 0.0),
        ("where", 1, [0.0, 1.0, 2.0], 0.0),
        ("where", 2, [0.0, 1.0, 2.0], 1.0),
        ("where", 1, [3.0, 1.0, 2.0], 1.0),
        ("where", 2, [3.0, 1.0, 2.0], 0.0),
    ],
)
def test_kink_conventions(name: str, k: int, point: list[float], want: float) -> None:
    got = rule_value(name, k, point)
    assert got == want, f"d {name} / d arg{k} at {point}: got {got}, want {want}"


@pytest.mark.parametrize(
    ("text", "at", "want"),
    [
        ("abs(x)", 0.0, 0.0),
        ("relu(x)", 0.0, 0.0),
        ("max(x, 1)", 1.0, 0.5),
        ("min(x, 1)", 1.0, 0.5),
        ("sign(x) + floor(x) + ceil(x)", 0.5, 0.0),
        ("stop_gradient(x) * 3", 2.0, 0.0),
        ("detach(x^2) + x", 2.0, 1.0),
        ("sqrt(x)", 0.0, math.inf),
        # The branch not taken gets an exactly-zero gradient even where it is inf or NaN.
        ("where(x > 0, log(x), 0)", 0.0, 0.0),
        ("where(x > 0, sqrt(x), 0)", 0.0, 0.0),
        ("where(x < 0, 1, log(x))", -1.0, 0.0),
        ("where(x >= 0, x, 1/x)", 0.0, 1.0),
    ],
)
def test_gradient_conventions_end_to_end(text: str, at: float, want: float) -> None:
    _, got = adc.compile(text, backend="numpy").value_and_grad("x")(at)
    assert got == want, f"d/dx {text} at x={at}: got {got}, want {want}"


# --- (b) printer totality ---------------------------------------------------------------------


#: The argument fields `{0}`, `{1}`, ... of a template.
_FIELDS = re.compile(r"\{(\d)\}")


def test_every_op_has_every_spelling_column() -> None:
    codegen.check_tables()
    for name, op in CORE_OPS.items():
        every_arg = {str(k) for k in range(op.arity)}
        for column in (op.python, op.numpy):
            assert set(_FIELDS.findall(column)) == every_arg, (name, column)
            ast.parse(column.format(*(f"a{k}" for k in range(op.arity))), mode="eval")
        if op.infix is None:
            assert op.precedence == ATOM, name
        else:
            assert set(_FIELDS.findall(op.infix)) == every_arg, (name, op.infix)
            assert op.precedence < ATOM, name
        assert op.integer_power is None or 0 <= op.integer_power < op.arity, name
        assert codegen.template(name) == op.python
        assert codegen.template(name, "numpy") == op.numpy


def test_numpy_spellings_work_on_arrays() -> None:
    """No `math.` call, no builtin `abs`, no conditional expression or `and`/`or`/`not`:
    those take only scalars."""
    scalar_only = re.compile(r"\bmath\.|(?<![\w.])abs\(|\b(if|else|and|or|not)\b")
    for name, op in CORE_OPS.items():
        assert not scalar_only.search(op.numpy), (name, op.numpy)


def test_infix_column_spells_the_operators_of_the_language() -> None:
    infix = {name for name, op in CORE_OPS.items() if op.infix is not None}
    assert infix - {"mul0"} == grammar_aliases() & set(CORE_OPS), infix
    assert OPS["mul0"].infix == OPS["mul"].infix  # mul0 is a product, for people


def grammar_aliases() -> set[str]:
    """The IR op names the grammar's rules build (`... -> add`)."""
    return set(re.findall(r"->\s*(\w+)", grammar_path().read_text(encoding="utf-8")))


def test_every_language_operator_is_an_op_with_a_spelling() -> None:
    operators = grammar_aliases() & set(CORE_OPS)
    assert operators == set(INFIX), operators ^ set(INFIX)
    for name, op in CORE_OPS.items():
        if op.function:
            assert resolve_function(name) is op, name


# --- (c) NumPy impl vs the Python template through Numba ---------------------------------------

SPECIALS = (0.0, -0.0, 1.0, -1.0, 0.5, 2.5, -3.7, math.inf, -math.inf, math.nan)
N_DOMAIN = 16


def spell(name: str, args: list[str]) -> str:
    """The op applied to `args` in the formula language."""
    if OPS[name].function:
        return f"{name}({', '.join(args)})"
    return "(" + INFIX[name].format(*args) + ")"


@pytest.fixture(scope="module")
def backend_results() -> dict[str, tuple[np.ndarray, np.ndarray, list[np.ndarray]]]:
    """Every op (internal ones too) in ONE graph, each on its own inputs, run by both backends.

    The graph is built through `Graph.apply`, printed by `codegen` into a Numba module (one
    compile for all ops) and interpreted by `Plan` (the ops' NumPy `impl`). Points: N_DOMAIN
    random points inside each op's domain, then the full grid of SPECIALS over the op's
    arguments (every op sees every combination of special values).
    """
    rng = np.random.default_rng(20240611)
    graph = Graph()
    inputs: list[int] = []
    outputs: list[int] = []
    columns: list[np.ndarray] = []
    specials = np.array(SPECIALS)
    grid = np.arange(len(SPECIALS) ** 3)
    for j, (name, op) in enumerate(CORE_OPS.items()):
        args = [graph.input(f"a{j}_{k}") for k in range(op.arity)]
        inputs += args
        outputs.append(graph.apply(name, *args))
        assert graph.nodes[outputs[-1]].op == name, f"{name} on distinct inputs was rewritten"
        for k, d in enumerate(op.domain):
            inside = rng.uniform(d.lo, d.hi, N_DOMAIN)
            special = specials[(grid // len(SPECIALS) ** k) % len(SPECIALS)]
            columns.append(np.concatenate([inside, special]))
    by_numpy = Plan(graph, inputs, outputs)(*columns)
    kernel = codegen.build_kernel(graph, inputs, outputs)
    module = jit.load(codegen.numba_source(kernel, "kernel", ["# test_ops: every op once"]))
    n_points = len(columns[0])
    by_numba = np.array([module.kernel(*(float(c[p]) for c in columns)) for p in range(n_points)])
    results = {}
    col = 0
    for j, name in enumerate(CORE_OPS):
        arity = OPS[name].arity
        values = np.broadcast_to(by_numpy[j], (n_points,))
        results[name] = (by_numba[:, j], values, columns[col : col + arity])
        col += arity
    return results


def test_language_spelling_runs_on_numba_like_numpy() -> None:
    """The same through the public API: every op the language can spell, in one program."""
    names = [n for n in CORE_OPS if OPS[n].function or n in INFIX]
    inputs = [f"a{j}_{k}" for j, n in enumerate(names) for k in range(OPS[n].arity)]
    text = ", ".join(
        spell(n, [f"a{j}_{k}" for k in range(OPS[n].arity)]) for j, n in enumerate(names)
    )
    rng = np.random.default_rng(7)
    point = [float(v) for v in rng.uniform(0.15, 0.85, len(inputs))]
    by_numba = adc.compile(text, inputs=inputs, backend="numba")(*point)
    by_numpy = adc.compile(text, inputs=inputs, backend="numpy")(*point)
    np.testing.assert_allclose(by_numba, by_numpy, rtol=1e-14, atol=0.0)


@pytest.mark.parametrize("name", list(CORE_OPS))
def test_numba_template_matches_numpy_impl(
    name: str, backend_results: dict[str, tuple[np.ndarray, np.ndarray, list[np.ndarray]]]
) -> None:
    by_numba, by_numpy, args = backend_results[name]
    same = np.isclose(by_numba, by_numpy, rtol=1e-14, atol=0.0, equal_nan=True)
    same |= by_numba == by_numpy  # infinities
    bad = np.flatnonzero(~same)
    shown = [
        (tuple(float(a[p]) for a in args), float(by_numba[p]), float(by_numpy[p])) for p in bad[:8]
    ]
    assert not bad.size, f"{name}: {bad.size} mismatches (args, numba, numpy): {shown}"
