"""IR to SymPy, for test oracles: one SymPy expression per node, built in id order (no recursion).

Inputs become `Symbol`s named like the input, constants become SymPy `Float`s holding the
float's exact binary value (not `Rational`s: with big exact rationals SymPy's automatic
evaluation can spend minutes and gigabytes in polynomial gcds), and every other node is
`OPS[op].sympy(sympy, *args)`.
`evaluate` turns a SymPy expression into an mpmath number at given input values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import mpmath
import sympy

from adcompile.ir.graph import Graph, NodeId
from adcompile.ir.ops import OPS


def symbol(name: str, real: bool = True) -> sympy.Symbol:
    """The SymPy symbol standing for the input called `name`.

    `real=True` says what inputs are (so `diff(Abs(x))` is `sign(x)`), but on deep expressions
    SymPy's assumption queries can then take minutes and gigabytes; plain symbols avoid that.
    """
    return sympy.Symbol(name, real=True) if real else sympy.Symbol(name)


DPS = 40  # digits of the SymPy Floats: far more than the 17 a float64 needs, so exact


def constant(value: float) -> sympy.Expr:
    """A float constant as a SymPy number of the same exact value (inf and NaN included)."""
    if math.isnan(value):
        return sympy.nan
    if math.isinf(value):
        return sympy.oo if value > 0 else -sympy.oo
    return sympy.Float(value, DPS)


def to_sympy(graph: Graph, outputs: Sequence[NodeId], real: bool = True) -> list[sympy.Expr]:
    """The SymPy expressions of `outputs`, converting only the nodes they depend on."""
    live = graph.live(outputs)
    exprs: dict[NodeId, Any] = {}
    for nid, node in enumerate(graph.nodes):
        if not live[nid]:
            continue
        if node.op == "const":
            exprs[nid] = constant(float(node.attr))  # type: ignore[arg-type]
        elif node.op == "input":
            exprs[nid] = symbol(str(node.attr), real)
        else:
            exprs[nid] = OPS[node.op].sympy(sympy, *(exprs[a] for a in node.args))
    return [exprs[o] for o in outputs]


def evaluate(expr: Any, values: Mapping[sympy.Symbol, float], dps: int = DPS) -> mpmath.mpf | None:
    """`expr` at `values` (exact float values), `dps` digits; None if not a finite real."""
    return _at(expr, {s: _number(v, dps) for s, v in values.items()}, dps)


def lambdify(symbols: Sequence[sympy.Symbol], expr: Any) -> Any:
    """`expr` as an mpmath function of `symbols` (call it inside `mpmath.workdps`)."""
    return sympy.lambdify(list(symbols), expr, modules="mpmath")


def derivative_at(
    expr: Any, wrt: sympy.Symbol, values: Mapping[sympy.Symbol, float], dps: int = DPS
) -> mpmath.mpf | None:
    """d expr / d wrt at `values`.

    SymPy's `diff` where it evaluates; where it leaves an unevaluated `Derivative` (`floor`,
    `ceiling`), a central difference with a tiny step at high precision instead (exact away
    from the kinks of a piecewise-constant function).
    """
    d = sympy.diff(expr, wrt)
    if not d.has(sympy.Derivative):
        return evaluate(d, values, dps)
    h = sympy.Rational(1, 10**20)
    point = {s: _number(v, dps) for s, v in values.items()}
    hi = _at(expr, {**point, wrt: point[wrt] + h}, dps)
    lo = _at(expr, {**point, wrt: point[wrt] - h}, dps)
    if hi is None or lo is None:
        return None
    with mpmath.workdps(dps):
        return (hi - lo) * mpmath.mpf(10) ** 20 / 2


def _number(value: float, dps: int) -> sympy.Float:
    """The float's exact binary value as a SymPy Float of `dps` digits (a Rational would make
    SymPy attempt exact powers and roots, which can take minutes)."""
    return sympy.Float(value, dps)


def _at(expr: Any, subs: Mapping[sympy.Symbol, Any], dps: int) -> mpmath.mpf | None:
    """`expr` with exact SymPy numbers substituted, as an mpmath number (None if not real)."""
    number = sympy.sympify(expr).subs(subs).evalf(dps)
    if not number.is_number or number.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        return None
    re, im = number.as_real_imag()
    if abs(im) > sympy.Float(10) ** (5 - dps) * (1 + abs(re)):
        return None
    with mpmath.workdps(dps):
        return mpmath.mpf(sympy.Float(re, dps)._mpf_)
