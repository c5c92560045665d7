"""Construction-time rewrites applied by the graph's single door (`Graph.apply`).

Only exact identities live here: each rewrite gives a bit-identical result for every float
input, NaN and infinities included (with one documented exception: `x + 0 -> x` keeps the sign
of a zero `x`, where IEEE would turn `-0.0 + 0.0` into `+0.0`). `x * 0 -> 0` is deliberately
absent: it is false for infinite and NaN `x`. Constant folding is done by the door itself.
The table maps an op name to rules `(graph, args) -> node id or None`.

`STABLE` is a second table, kept apart from `RULES` because its rewrites are NOT exact
identities: each replaces a formula that loses accuracy in float64 (`log(1 + u)` for tiny
`u`, `log(1 + exp(u))` for large `u`, ...) by a mathematically equal one that does not
(`log1p(u)`, `softplus(u)`). The door applies them after the exact rules when
`graph.stable` is set (the default); each records what it did in `graph.notes`, keyed by the
id of the node it returns, for the printers' comments. They match on the node just built
and its arguments only (no recursion); a replacement is built through the door again, and
every rewrite turns its op into one that is later in the chain log -> log1p -> softplus,
div -> sigmoid, add/sub -> expm1, so rewriting always stops. They look through assignments
(`p = sigmoid(z)` then `log(p)` is rewritten too); `compile(..., stable=False)` turns them
off, to see every step of a worked example as written.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from adcompile.ir.graph import Graph

Rule = Callable[["Graph", tuple[int, ...]], "int | None"]

#: The rules that find nothing unless an argument of the node is a constant leaf: the door
#: skips them for a node with none (most nodes), which changes no result.
NEED_CONSTANT: Final[set[Rule]] = set()


def _needs_constant(rule: Rule) -> Rule:
    NEED_CONSTANT.add(rule)
    return rule


def _is(graph: Graph, nid: int, value: float) -> bool:
    node = graph.nodes[nid]
    return node.op == "const" and node.attr == value


def _drop_const(value: float, position: int) -> Rule:
    """Rule: `op(..., value at position, ...) -> the other argument`."""

    def rule(graph: Graph, args: tuple[int, ...]) -> int | None:
        return args[1 - position] if _is(graph, args[position], value) else None

    return _needs_constant(rule)


def _negate_on(value: float, position: int) -> Rule:
    """Rule: `op(x, value) -> -x` (multiplication or division by -1)."""

    def rule(graph: Graph, args: tuple[int, ...]) -> int | None:
        if _is(graph, args[position], value):
            return graph.apply("neg", args[1 - position])
        return None

    return _needs_constant(rule)


def _double_negation(graph: Graph, args: tuple[int, ...]) -> int | None:
    inner = graph.nodes[args[0]]
    return inner.args[0] if inner.op == "neg" else None


@_needs_constant
def _power_zero(graph: Graph, args: tuple[int, ...]) -> int | None:
    return graph.const(1.0) if _is(graph, args[1], 0.0) else None


def _where_same(graph: Graph, args: tuple[int, ...]) -> int | None:
    return args[1] if args[1] == args[2] else None


@_needs_constant
def _where_known(graph: Graph, args: tuple[int, ...]) -> int | None:
    c = graph.const_value(args[0])
    if c is None:
        return None
    return args[1] if c != 0.0 else args[2]  # NaN counts as true, as in the printed code


@_needs_constant
def _where_indicator(graph: Graph, args: tuple[int, ...]) -> int | None:
    """`where(c, 1, 0) -> c` and `where(c, 0, 1) -> not c` when c is already 0/1."""
    if not graph.is_boolean(args[0]):
        return None
    if _is(graph, args[1], 1.0) and _is(graph, args[2], 0.0):
        return args[0]
    if _is(graph, args[1], 0.0) and _is(graph, args[2], 1.0):
        return graph.apply("not", args[0])
    return None


@_needs_constant
def _mul0_by_zero(graph: Graph, args: tuple[int, ...]) -> int | None:
    """`mul0(0, b) -> 0` for every b, inf and NaN included: that is what mul0 is for (a zero
    tangent or adjoint times an infinite partial contributes 0, DESIGN.md section 5)."""
    return graph.const(0.0) if _is(graph, args[0], 0.0) else None


@_needs_constant
def _mul0_plain(graph: Graph, args: tuple[int, ...]) -> int | None:
    """`mul0(a, b) -> a * b` when a is a nonzero constant or b a finite one (same result).

    So a guarded product whose tangent is a constant seed (a Jacobian or Hessian column seeds
    1.0) costs no more than a plain multiply in the compiled kernel.
    """
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
    "mul0": (_mul0_by_zero, _mul0_plain),
}


# --- stability rewrites (not exact identities: see the module docstring) ---------------------


def _op_arg(graph: Graph, nid: int, op: str) -> int | None:
    """The argument of node `nid` when it is the unary `op`, else None."""
    node = graph.nodes[nid]
    return node.args[0] if node.op == op else None


def _one_plus(graph: Graph, nid: int) -> int | None:
    """`u` when node `nid` is `1 + u` (or `u + 1`: `add` args are sorted by id), else None."""
    node = graph.nodes[nid]
    if node.op != "add":
        return None
    if _is(graph, node.args[0], 1.0):
        return node.args[1]
    return node.args[0] if _is(graph, node.args[1], 1.0) else None


def _one_minus(graph: Graph, nid: int) -> int | None:
    """`u` when node `nid` is `1 - u`, else None."""
    node = graph.nodes[nid]
    if node.op != "sub":
        return None
    return node.args[1] if _is(graph, node.args[0], 1.0) else None


def _log1p_of_one_plus(graph: Graph, args: tuple[int, ...]) -> int | None:
    u = _one_plus(graph, args[0])
    return None if u is None else graph.apply("log1p", u)


def _log1p_of_one_minus(graph: Graph, args: tuple[int, ...]) -> int | None:
    u = _one_minus(graph, args[0])
    return None if u is None else graph.apply("log1p", graph.apply("neg", u))


@_needs_constant
def _expm1_of_difference(graph: Graph, args: tuple[int, ...]) -> int | None:
    """`exp(u) - 1 -> expm1(u)`."""
    u = _op_arg(graph, args[0], "exp")
    return graph.apply("expm1", u) if u is not None and _is(graph, args[1], 1.0) else None


@_needs_constant
def _expm1_of_sum(graph: Graph, args: tuple[int, ...]) -> int | None:
    """`-1 + exp(u) -> expm1(u)` (the constant may be either argument)."""
    for k in (0, 1):
        u = _op_arg(graph, args[1 - k], "exp")
        if u is not None and _is(graph, args[k], -1.0):
            return graph.apply("expm1", u)
    return None


def _logistic_argument(graph: Graph, args: tuple[int, ...]) -> int | None:
    """`v` when the division is `1 / (1 + exp(v))`, else None."""
    if not _is(graph, args[0], 1.0):
        return None
    w = _one_plus(graph, args[1])
    return None if w is None else _op_arg(graph, w, "exp")


@_needs_constant
def _sigmoid_of_negated(graph: Graph, args: tuple[int, ...]) -> int | None:
    """`1 / (1 + exp(-u)) -> sigmoid(u)`."""
    v = _logistic_argument(graph, args)
    u = None if v is None else _op_arg(graph, v, "neg")
    return None if u is None else graph.apply("sigmoid", u)


@_needs_constant
def _sigmoid_of_plain(graph: Graph, args: tuple[int, ...]) -> int | None:
    """`1 / (1 + exp(u)) -> sigmoid(-u)`."""
    u = _logistic_argument(graph, args)
    return None if u is None else graph.apply("sigmoid", graph.apply("neg", u))


def _softplus_of_exp(graph: Graph, args: tuple[int, ...]) -> int | None:
    u = _op_arg(graph, args[0], "exp")
    return None if u is None else graph.apply("softplus", u)


def _log_sigmoid(graph: Graph, args: tuple[int, ...]) -> int | None:
    """`log(sigmoid(u)) -> -softplus(-u)`."""
    u = _op_arg(graph, args[0], "sigmoid")
    if u is None:
        return None
    return graph.apply("neg", graph.apply("softplus", graph.apply("neg", u)))


def _log1p_of_minus_sigmoid(graph: Graph, args: tuple[int, ...]) -> int | None:
    """`log1p(-sigmoid(u)) -> -softplus(u)` (that is, `log(1 - sigmoid(u))`)."""
    s = _op_arg(graph, args[0], "neg")
    u = None if s is None else _op_arg(graph, s, "sigmoid")
    return None if u is None else graph.apply("neg", graph.apply("softplus", u))


def _noted(note: str, rule: Rule) -> Rule:
    """`rule`, recording `note` in `graph.notes` on the node it returns."""

    def noted(graph: Graph, args: tuple[int, ...]) -> int | None:
        found = rule(graph, args)
        if found is not None:
            earlier = graph.notes.get(found)  # set by a rewrite inside this one, or before
            if earlier is None:
                graph.notes[found] = note
            elif note not in earlier.split("; "):
                graph.notes[found] = f"{note}; {earlier}"
        return found

    return _needs_constant(noted) if rule in NEED_CONSTANT else noted


#: (op, note, rule): the note says what the rewrite did, with `u` for the matched operand.
_STABLE_RULES: Final[tuple[tuple[str, str, Rule], ...]] = (
    ("log", "log(1 + u) -> log1p(u)", _log1p_of_one_plus),
    ("log", "log(1 - u) -> log1p(-u)", _log1p_of_one_minus),
    ("log", "log(sigmoid(u)) -> -softplus(-u)", _log_sigmoid),
    ("log1p", "log1p(exp(u)) -> softplus(u)", _softplus_of_exp),
    ("log1p", "log1p(-sigmoid(u)) -> -softplus(u)", _log1p_of_minus_sigmoid),
    ("sub", "exp(u) - 1 -> expm1(u)", _expm1_of_difference),
    ("add", "-1 + exp(u) -> expm1(u)", _expm1_of_sum),
    ("div", "1 / (1 + exp(-u)) -> sigmoid(u)", _sigmoid_of_negated),
    ("div", "1 / (1 + exp(u)) -> sigmoid(-u)", _sigmoid_of_plain),
)


def _by_op(rules: tuple[tuple[str, str, Rule], ...]) -> dict[str, tuple[Rule, ...]]:
    table: dict[str, tuple[Rule, ...]] = {}
    for op, note, rule in rules:
        table[op] = (*table.get(op, ()), _noted(note, rule))
    return table


STABLE: Final[dict[str, tuple[Rule, ...]]] = _by_op(_STABLE_RULES)
