"""Construction-time rewrites applied by the graph's single door (`Graph.apply`).

Only exact identities live here: each rewrite gives a bit-identical result for every float
input, NaN and infinities included (with one documented exception: `x + 0 -> x` keeps the sign
of a zero `x`, where IEEE would turn `-0.0 + 0.0` into `+0.0`). `x * 0 -> 0` is deliberately
absent: it is false for infinite and NaN `x`. Constant folding is done by the door itself.
The table maps an op name to rules `(graph, args) -> node id or None`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from adcompile.ir import Graph

Rule = Callable[["Graph", tuple[int, ...]], "int | None"]


def _is(graph: Graph, nid: int, value: float) -> bool:
    return graph.const_value(nid) == value


def _drop_const(value: float, position: int) -> Rule:
    """Rule: `op(..., value at position, ...) -> the other argument`."""

    def rule(graph: Graph, args: tuple[int, ...]) -> int | None:
        return args[1 - position] if _is(graph, args[position], value) else None

    return rule


def _negate_on(value: float, position: int) -> Rule:
    """Rule: `op(x, value) -> -x` (multiplication or division by -1)."""

    def rule(graph: Graph, args: tuple[int, ...]) -> int | None:
        if _is(graph, args[position], value):
            return graph.apply("neg", args[1 - position])
        return None

    return rule


def _double_negation(graph: Graph, args: tuple[int, ...]) -> int | None:
    inner = graph.nodes[args[0]]
    return inner.args[0] if inner.op == "neg" else None


def _power_zero(graph: Graph, args: tuple[int, ...]) -> int | None:
    return graph.const(1.0) if _is(graph, args[1], 0.0) else None


def _where_same(graph: Graph, args: tuple[int, ...]) -> int | None:
    return args[1] if args[1] == args[2] else None


def _where_known(graph: Graph, args: tuple[int, ...]) -> int | None:
    c = graph.const_value(args[0])
    if c is None:
        return None
    return args[1] if c != 0.0 else args[2]  # NaN counts as true, as in the printed code


def _where_indicator(graph: Graph, args: tuple[int, ...]) -> int | None:
    """`where(c, 1, 0) -> c` and `where(c, 0, 1) -> not c` when c is already 0/1."""
    if not graph.is_boolean(args[0]):
        return None
    if _is(graph, args[1], 1.0) and _is(graph, args[2], 0.0):
        return args[0]
    if _is(graph, args[1], 0.0) and _is(graph, args[2], 1.0):
        return graph.apply("not", args[0])
    return None


def _mul0_plain(graph: Graph, args: tuple[int, ...]) -> int | None:
    """`mul0(a, b) -> a * b` when a is a nonzero constant or b a finite one (same result)."""
    a, b = graph.const_value(args[0]), graph.const_value(args[1])
    if (a is not None and a != 0.0) or (b is not None and math.isfinite(b)):
        return graph.apply("mul", *args)
    return None


RULES: Final[dict[str, tuple[Rule, ...]]] = {
    "add": (_drop_const(0.0, 0), _drop_const(0.0, 1)),
    "sub": (_drop_const(0.0, 1),),
    "mul": (_drop_const(1.0, 0), _drop_const(1.0, 1), _negate_on(-1.0, 0), _negate_on(-1.0, 1)),
    "div": (_drop_const(1.0, 1), _negate_on(-1.0, 1)),
    "neg": (_double_negation,),
    "pow": (_drop_const(1.0, 1), _power_zero),
    "where": (_where_known, _where_same, _where_indicator),
    "mul0": (_mul0_plain,),
}
