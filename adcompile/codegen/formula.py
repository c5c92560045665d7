"""Formula-language text for people: one op (`formula_text`) or a subtree with minimal parentheses.

Trace tables, graph labels and the chain-rule comments of the generated code show operations
the way the user writes them (`a * b`, `x^2`, `exp(e)`), not as Python: spelled from the op
table's `infix` column, parenthesised by its `precedence` column. Vector ops read as written
(`sum(v)`, `x[2]`, `x[1:]`, `len(x)`), from the `VECTOR_FORMULA` column of `ir.vecops`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Final

import numpy as np

from adcompile.codegen.templates import literal
from adcompile.ir.graph import Graph, NodeId
from adcompile.ir.opdef import ATOM, POW
from adcompile.ir.ops import OPS
from adcompile.ir.vecops import INDEXED, SLICE_BOUNDS, VECTOR_FORMULA

#: Vector ops written after their first argument (`x[2]`, `x[1:]`): it is parenthesised
#: unless it binds like an atom.
POSTFIX: Final = frozenset(op for op, text in VECTOR_FORMULA.items() if text.startswith("{0}["))


def formula_text(op: str, args: Sequence[str]) -> str:
    """One node as formula-language text: `a * b`, `exp(e)`, `where(c, a, b)` (the op
    table's `infix` column for operators, `name(args)` for the rest), and the vector ops as
    written: `sum(v)`, `x[2]`, `x[1:]`, `x[::2]` (subscripts as integers, omitted slice
    bounds left out, whether given as `nan` or not)."""
    spec = OPS.get(op)
    if spec is not None and spec.infix is not None:
        return spec.infix.format(*args)
    template = VECTOR_FORMULA.get(op)
    if template is None:
        return f"{op}({', '.join(args)})"
    return subscripted(template, op, args)


def subscripted(template: str, op: str, args: Sequence[str]) -> str:
    """`template` filled with `args`, an index (`INDEXED`) as a whole number and, for a slice
    (`SLICE_BOUNDS`), `{slice}` as written (`1:`, `::2`) and `{bounds}` as Python values
    (`1, None, None`)."""
    parts = list(args)
    if op in INDEXED:
        k = INDEXED[op][1]
        parts[k] = _subscript(parts[k])
    first = SLICE_BOUNDS.get(op)
    if first is None:
        return template.format(*parts)
    lo, hi, step = (_subscript(t) for t in parts[first : first + 3])
    bounds = ", ".join(b or "None" for b in (lo, hi, step))
    return template.format(*parts, slice=f"{lo}:{hi}" + (f":{step}" if step else ""), bounds=bounds)


def _subscript(text: str) -> str:
    """A subscript or slice bound as written: `2`, `-1`, or empty where omitted (NaN)."""
    bare = text.strip("()")
    if bare in ("math.nan", "nan", ""):
        return ""
    try:
        value = float(bare)
    except ValueError:
        return text  # not a number: as given
    return str(int(value)) if value.is_integer() else bare


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
    node = graph.nodes[root]
    if not (depth > 0 and node.args and graph.origin.get(root) == group):
        return number_text(graph, root) or name(root)  # most: a name or a number
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
            done[(nid, d)] = (f"({leaf})" if signed else leaf, ATOM)
            continue
        prec = OPS[node.op].precedence
        parts = []
        for k, a in enumerate(node.args):
            t, p = done[(a, d + 1)]
            # left-associative levels; `^` (POW) groups to the right, as in the grammar; a
            # subscripted vector must be an atom (`(a + b)[1]`)
            tight = prec == ATOM or p > prec or (p == prec and k == 0 and prec != POW)
            if k == 0 and node.op in POSTFIX:
                tight = p == ATOM
            parts.append(t if tight else f"({t})")
        done[(nid, d)] = (formula_text(node.op, parts), prec)
    return done[(root, 0)][0]


def readable_number(value: float) -> str:
    """A constant as a person writes it: `1`, `0.5`, `-2` (full precision when `g` is not)."""
    if math.isfinite(value) and value == float(f"{value:g}"):
        return f"{value:g}"
    return literal(value)


#: Elements of a vector shown in a trace row or a graph label, before `…` and the length.
SHOWN_ELEMENTS: Final = 3


def value_text(value: Any, digits: int = 4) -> str:
    """A number at `digits` significant digits (`0.7311`, `inf`), or a vector abbreviated
    to its first `SHOWN_ELEMENTS` elements: `[1.2, 0.8, 1.1]`, `[1, 2, 3, …] (n=1000)`."""
    if np.ndim(value) == 0:
        v = float(value)
        return f"{v:.{digits}g}" if math.isfinite(v) else repr(v)
    flat = np.ravel(value)
    shown = ", ".join(value_text(v, digits) for v in flat[:SHOWN_ELEMENTS])
    if flat.size <= SHOWN_ELEMENTS:
        return f"[{shown}]"
    return f"[{shown}, …] (n={flat.size})"


def operand_text(graph: Graph, name: Callable[[NodeId], str], nid: NodeId) -> str:
    """An operand in a trace row or a graph label: a constant as a number, else `name(nid)`."""
    value = graph.const_value(nid)
    return name(nid) if value is None else readable_number(value)
