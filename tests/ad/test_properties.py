"""Property tests over random formulas from the op table (tests/strategies.py).

Reverse-mode gradients against SymPy's derivative of the same IR (via tests/sympy_bridge.py,
evaluated with mpmath) and against central differences; Numba against the NumPy interpreter;
interning idempotence; `verify()` after every pass.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from strategies import INPUTS, formulas, points
from sympy_bridge import lambdify, symbol, to_sympy

import adcompile as adc
from adcompile.ad.reverse import reverse
from adcompile.front.parse import parse
from adcompile.ir.graph import Graph, pformat, verify
from adcompile.ir.ops import OPS

SYMBOLS = tuple(symbol(n, real=False) for n in INPUTS)  # see sympy_bridge.symbol
RTOL = 1e-9  # float64 result against the exact (mpmath) derivative
HUGE = 1e8  # references beyond this are skipped: the formula is then badly conditioned
DPS = 30


@cache
def numpy_formula(text: str) -> adc.Formula:
    return adc.compile(text, inputs=INPUTS, backend="numpy")


@cache
def reference(text: str) -> tuple[Any, tuple[Any, ...]]:
    """The formula's value and gradient as mpmath functions, from SymPy's `diff` of its IR."""
    program = parse(text, INPUTS)
    (expr,) = to_sympy(program.graph, program.outputs, real=False)
    grads = tuple(lambdify(SYMBOLS, sympy.diff(expr, s)) for s in SYMBOLS)
    return lambdify(SYMBOLS, expr), grads


def exact(fn: Any, point: tuple[float, float, float]) -> float | None:
    """`fn` at `point` with DPS digits, as a float; None where it is not a finite real."""
    with mpmath.workdps(DPS):
        try:
            value = fn(*(mpmath.mpf(v) for v in point))
        except (ZeroDivisionError, ValueError, OverflowError):
            return None
        if isinstance(value, mpmath.mpc):
            if abs(value.imag) > 1e-20 * (1 + abs(value.real)):
                return None
            value = value.real
        value = mpmath.mpf(value)
        if not mpmath.isfinite(value) or abs(value) > HUGE:
            return None
        return float(value)


def agree(got: float, want: float, rtol: float) -> bool:
    return abs(got - want) <= rtol * max(1.0, abs(want))


# --- (a) reverse mode against SymPy -------------------------------------------------------


@pytest.mark.slow
@given(text=formulas(smooth=True), point=points())
def test_gradient_matches_sympy_derivative(text: str, point: tuple[float, float, float]) -> None:
    value, grad = numpy_formula(text).value_and_grad()(*point)
    ref_value, ref_grads = reference(text)
    want = exact(ref_value, point)
    if want is not None:
        assert agree(value, want, RTOL), f"value {value}, sympy {want}"
    for name, got, ref in zip(INPUTS, grad, ref_grads):
        want = exact(ref, point)
        if want is None:
            continue
        note(f"d/d{name}: reverse {got!r}, sympy {want!r}")
        assert agree(got, want, RTOL), f"d/d{name} at {point}: reverse {got}, sympy {want}"


# --- (b) reverse mode against central differences -----------------------------------------


@given(text=formulas(smooth=True), point=points())
def test_gradient_matches_central_differences(text: str, point: tuple[float, float, float]) -> None:
    f = numpy_formula(text)
    value, grad = f.value_and_grad()(*point)
    if not (math.isfinite(value) and all(math.isfinite(g) and abs(g) < HUGE for g in grad)):
        return
    for k, name in enumerate(INPUTS):
        h = 1e-6 * max(1.0, abs(point[k]))
        up, down = list(point), list(point)
        up[k] += h
        down[k] -= h
        f_up, f_down = f(*up), f(*down)
        forward, backward = (
            (f_up - value) / (up[k] - point[k]),
            (value - f_down) / (point[k] - down[k]),
        )
        if abs(forward - backward) > 1e-3 * max(1.0, abs(grad[k])):
            continue  # a kink of a smooth op at a singular point, e.g. hypot at (0, 0)
        fd = (f_up - f_down) / (up[k] - down[k])
        tol = 1e-5 * max(1.0, abs(grad[k])) + 1e-9 * max(1.0, abs(value))
        assert abs(grad[k] - fd) <= tol, f"d/d{name} at {point}: reverse {grad[k]}, fd {fd}"


# --- (c) Numba against the NumPy interpreter -------------------------------------------------

_compiled: dict[str, adc.Formula] = {}


def numba_formula(text: str) -> adc.Formula:
    """Compiled once per formula for the whole module (a Numba compile costs ~1-2 s)."""
    if text not in _compiled:
        _compiled[text] = adc.compile(text, inputs=INPUTS, backend="numba")
    return _compiled[text]


@settings(max_examples=10, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=formulas(smooth=False),
    seed=st.integers(0, 2**32 - 1),
)
def test_numba_matches_numpy_interpreter(text: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    columns = [rng.uniform(-2.5, 2.5, 24) for _ in INPUTS]
    columns = [np.concatenate([c, [0.0, -0.0, 1.0, -1.0]]) for c in columns]
    by_numpy_value, by_numpy_grad = numpy_formula(text).value_and_grad()(*columns)
    by_numpy = np.vstack([by_numpy_value, *by_numpy_grad])
    jit = numba_formula(text).value_and_grad()
    rows = []
    for p in range(len(columns[0])):
        v, g = jit(*(float(c[p]) for c in columns))
        rows.append([v, *g])
    by_numba = np.array(rows).T
    np.testing.assert_allclose(by_numba, by_numpy, rtol=1e-9, atol=1e-12, equal_nan=True)


# --- (d) interning idempotence and (e) verify after every pass -----------------------------


@given(text=formulas(smooth=False))
def test_interning_is_idempotent(text: str) -> None:
    first, second = parse(text), parse(text)
    assert pformat(first.graph, first.outputs) == pformat(second.graph, second.outputs)
    assert first.outputs == second.outputs
    graph = first.graph
    size = len(graph)
    for nid, node in enumerate(graph.nodes):
        if node.op in ("const", "input"):
            continue
        assert graph.apply(node.op, *node.args) == nid, f"%{nid} = {node} rebuilt elsewhere"
        if OPS[node.op].commutative:
            assert graph.apply(node.op, *reversed(node.args)) == nid, f"%{nid} = {node}"
    assert len(graph) == size, "re-applying existing nodes appended new ones"


@given(text=formulas(smooth=False))
def test_graph_copy_replays_to_the_same_ids(text: str) -> None:
    """Rebuilding every node through the door of a fresh graph gives the same graph."""
    program = parse(text)
    fresh = Graph()
    for node in program.graph.nodes:
        if node.op == "const":
            fresh.const(float(node.attr))  # type: ignore[arg-type]
        elif node.op == "input":
            fresh.input(str(node.attr))
        else:
            fresh.apply(node.op, *node.args)
    assert fresh.nodes == program.graph.nodes


@given(text=formulas(smooth=False))
def test_verify_holds_after_parse_and_reverse(text: str) -> None:
    program = parse(text, INPUTS)
    verify(program.graph, program.outputs)
    graph = program.graph.copy()
    grads = reverse(graph, program.outputs[0], program.input_ids)
    verify(graph, [*program.outputs, *(g for g in grads if g is not None)])
    assert graph.nodes[: len(program.graph)] == program.graph.nodes, "reverse edited nodes"
