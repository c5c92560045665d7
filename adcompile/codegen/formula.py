"""Formula-language text for people: one op (`formula_text`) or a subtree with minimal parentheses.

Trace tables, graph labels and the chain-rule comments of the generated code show operations
the way the user writes them (`a * b`, `x^2`, `exp(e)`), not as Python.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from adcompile.codegen.templates import literal
from adcompile.ir.graph import Graph, NodeId

#: One op in the formula language, for people (trace tables, graph labels, comments):
#: the infix ops, and `name(args)` for the rest (`formula_text`).
FORMULA: Final[dict[str, str]] = {
    "add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0} * {1}", "div": "{0} / {1}",
    "neg": "-{0}", "pow": "{0}^{1}", "mul0": "{0} * {1}",
    "lt": "{0} < {1}", "le": "{0} <= {1}", "gt": "{0} > {1}", "ge": "{0} >= {1}",
    "eq": "{0} == {1}", "ne": "{0} != {1}", "and": "{0} and {1}", "or": "{0} or {1}",
    "not": "not {0}",
}  # fmt: skip

#: Binding strength of the infix ops in formula text (function calls and leaves bind tightest).
PRECEDENCE: Final[dict[str, int]] = {
    "or": 1, "and": 2, "not": 3, "lt": 4, "le": 4, "gt": 4, "ge": 4, "eq": 4, "ne": 4,
    "add": 5, "sub": 5, "mul": 6, "div": 6, "mul0": 6, "neg": 7, "pow": 8,
}  # fmt: skip
_ATOM: Final = 10


def formula_text(op: str, args: Sequence[str]) -> str:
    """One node as formula-language text: `a * b`, `exp(e)`, `where(c, a, b)`."""
    template = FORMULA.get(op)
    return template.format(*args) if template else f"{op}({', '.join(args)})"


def number_text(graph: Graph, nid: NodeId) -> str | None:
    """A constant node as a number (`2`, `0.5`, `(-1.5)`), or None for other nodes."""
    value = graph.const_value(nid)
    if value is None:
        return None
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else literal(value)


def step_text(
    graph: Graph,
    root: NodeId,
    group: tuple[str, NodeId] | None,
    name: Callable[[NodeId], str],
    depth: int = 4,
) -> str:
    """`root` in formula syntax, for a comment: nodes the same pass step made (`group`) are
    spelled out up to `depth` levels, constants as numbers, others by `name(nid)`."""
    order: list[tuple[NodeId, int]] = []
    stack = [(root, 0)]
    while stack:  # preorder, reversed below: arguments before their users (no recursion)
        nid, d = stack.pop()
        order.append((nid, d))
        if d < depth and graph.nodes[nid].args and graph.origin.get(nid) == group:
            stack.extend((a, d + 1) for a in graph.nodes[nid].args)
    done: dict[tuple[NodeId, int], tuple[str, int]] = {}
    for nid, d in reversed(order):
        node = graph.nodes[nid]
        if (nid, d) in done:
            continue
        if not (d < depth and node.args and graph.origin.get(nid) == group):
            leaf = number_text(graph, nid) or name(nid)
            signed = d > 0 and leaf.startswith("-")
            done[(nid, d)] = (f"({leaf})" if signed else leaf, _ATOM)
            continue
        prec = PRECEDENCE.get(node.op, _ATOM)
        parts = []
        for k, a in enumerate(node.args):
            t, p = done[(a, d + 1)]
            tight = prec == _ATOM or p > prec or (p == prec and k == 0 and node.op != "pow")
            parts.append(t if tight else f"({t})")
        done[(nid, d)] = (formula_text(node.op, parts), prec)
    return done[(root, 0)][0]
