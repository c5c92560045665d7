"""IR -> SymPy: the SymPy expressions of a graph's outputs, plain or as a system of replacements.

`to_sympy(graph, outputs)`: inputs become real `Symbol`s, every other node `OPS[op].sympy(...)`;
with `cse=True` a system of replacements `(symbol, expr)` plus the outputs, taken from the IR's
own sharing (linear in the size of the graph, never `sympy.cse`). Comparisons of Piecewise
values (`where`, `relu`, 0/1 comparison results) are folded over the branches while
converting, as SymPy's own handling of a Piecewise inside a condition (`as_set`, `simplify`)
can take minutes or fail. The IR is walked in id order (no recursion); SymPy is imported only
inside the functions.

Vectors (docs/vectors.md, "SymPy and LaTeX"; the classes are in `sympy_vectors`): a vector
input `x` is `IndexedBase("x")`, its
length a symbol `n` (`n_x`, ... when lengths differ; the number given in `shapes=`). A vector
node is a `SymVector`, a function of an index (`x[1:]` is `x[i + 1]` of length `n - 1`), so
elementwise ops act on its element, and reductions bind the index: `sum(x[1:])` is
`Sum(x[i + 1], (i, 0, n - 2))`, `max` a `Maximum` (`front.sympy_vectors.sympy_extrema`). A
vector output (a gradient with respect to a vector) is `Lambda(i, element)`: call it for an
element. Index symbols are named `i, j, k, ...` by nesting depth, after the conversion. In a
reduction's term, a Piecewise is a `Where` (`front.sympy_vectors.sympy_where`: SymPy would
lift it out of the sum); `doit()` makes it a Piecewise again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any, Final

from adcompile.codegen.sympy_vectors import Indices, SymVector, input_lengths, input_name
from adcompile.front.from_sympy import sympy_constant
from adcompile.ir.graph import Graph, NodeId
from adcompile.ir.ops import OPS
from adcompile.ir.vecops import VECTOR_OPS
from adcompile.schedule import schedule

#: In `to_sympy(cse=True)`, an expression nested deeper than this (in SymPy levels, estimated
#: from the op templates) becomes a replacement: SymPy's printers recurse over the tree.
MAX_SYMPY_DEPTH: Final = 16


def _walk(root: Any) -> list[tuple[Any, int]]:
    """Every node of a (small) SymPy tree with its depth, without recursion."""
    found, stack = [], [(root, 0)]
    while stack:
        expr, depth = stack.pop()
        found.append((expr, depth))
        stack.extend((a, depth + 1) for a in expr.args)
    return found


@cache
def _template_shape(op: str) -> tuple[tuple[int, ...], int]:
    """For `OPS[op].sympy`: how many times each argument occurs, and how deep at most."""
    import sympy

    if op in VECTOR_OPS:  # forms over `SymVector`s: each argument once, a level or two deep
        return (1,) * OPS[op].arity, 2

    dummies = [sympy.Symbol(f"_arg{k}") for k in range(OPS[op].arity)]
    template = OPS[op].sympy(sympy, *dummies)
    counts = [0] * len(dummies)
    depth = 0
    for expr, level in _walk(template):
        for k, d in enumerate(dummies):
            if expr == d:
                counts[k] += 1
                depth = max(depth, level)
    return tuple(counts), max(depth, 1)


@cache
def _template(op: str) -> tuple[tuple[Any, ...], Any]:
    """`OPS[op].sympy` applied to fresh dummies: (dummies, form)."""
    import sympy

    dummies = tuple(sympy.Dummy(f"arg{k}") for k in range(OPS[op].arity))
    return dummies, OPS[op].sympy(sympy, *dummies)


def _postorder(root: Any) -> list[Any]:
    """The distinct nodes of a small SymPy tree, children first (explicit stack)."""
    order: list[Any] = []
    seen: set[Any] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((a, False) for a in node.args)
    return order


def _compare(sp: Any, relation: Any, a: Any, b: Any) -> Any:
    """`relation(a, b)`, folded over the branches of Piecewise operands (one level each):
    `ITE(c1, relation(e1, b), ITE(c2, ...))`. SymPy itself rewrites a condition holding a
    Piecewise through `as_set` and `simplify`, which can take minutes, recurse without end or
    fail; comparisons of `where`, `relu` and of comparisons (0/1 indicators) are common."""

    def fold(value: Any, make: Callable[[Any], Any]) -> Any:
        if not isinstance(value, sp.Piecewise) or value.args[-1].cond is not sp.true:
            return make(value)
        out = make(value.args[-1].expr)
        for expr, cond in reversed(value.args[:-1]):
            out = sp.ITE(cond, make(expr), out)
        return out

    return fold(a, lambda u: fold(b, lambda v: relation(u, v)))


def _apply(sp: Any, op: str, args: Sequence[Any]) -> Any:
    """`OPS[op].sympy(sp, *args)`; where an argument is a Piecewise, the op's form is built on
    dummies and rebuilt with the arguments (walking only the small form, never into them),
    its comparisons folded over the Piecewise branches (see `_compare`). An indicator
    `Piecewise((1, C), (0, True))` tested with `!= 0` thus becomes C itself."""
    if not any(isinstance(a, sp.Piecewise) for a in args):
        return OPS[op].sympy(sp, *args)
    dummies, form = _template(op)
    built: dict[Any, Any] = dict(zip(dummies, args))
    for node in _postorder(form):
        if node in built:
            continue
        new = [built[a] for a in node.args]
        if isinstance(node, sp.core.relational.Relational):
            built[node] = _compare(sp, node.func, *new)
        else:
            built[node] = node.func(*new) if node.args else node
    return built[form]


def _value(sp: Any, op: str, args: Sequence[Any]) -> Any:
    """A node's value: a vector op's form (over `SymVector`s); an elementwise op with a
    vector argument as the vector of the op applied to elements; else `_apply`."""
    if op in VECTOR_OPS:
        return OPS[op].sympy(sp, *args)
    vector = next((a for a in args if isinstance(a, SymVector)), None)
    if vector is None:
        return _apply(sp, op, args)
    elements = [a.element if isinstance(a, SymVector) else a for a in args]
    return SymVector(vector.indices, _apply(sp, op, elements), vector.length)


def to_sympy(
    graph: Graph,
    outputs: Sequence[NodeId],
    names: Mapping[NodeId, str] | None = None,
    cse: bool = False,
) -> Any:
    """The outputs as SymPy expressions (only the nodes they depend on are converted).

    Inputs are `Symbol(name, real=True)`; whole constants below 2**53 are `Integer`s, other
    constants `Float`s of exactly the float's value (`oo`, `-oo`, `nan` for non-finite ones);
    every other node is `OPS[op].sympy(sympy, *args)`, except that comparisons of Piecewise
    values are folded over their branches (`_apply`): `where(x > 0, ...)` becomes
    `Piecewise((..., x > 0), ...)`, not a condition `Ne(Piecewise(...), 0)` that SymPy would
    send through `simplify`.

    With `cse=False`, returns the list of output expressions. With `cse=True`, returns
    `(replacements, exprs)` like `sympy.cse`: `(Symbol, expr)` pairs in dependency order and
    the output expressions in terms of them. A non-leaf node becomes a replacement when it is
    used twice or more (by live nodes or as outputs), when it has a user name in `names`
    (default `graph.names`) and is used by another node (its symbol takes that name), or when
    its expression would nest deeper than `MAX_SYMPY_DEPTH` (SymPy's printers recurse).
    Other replacements are `t0, t1, ...`, avoiding input and user names. The result is
    linear in the size of the graph.
    """
    import sympy

    outputs = list(outputs)
    live = schedule(graph, (), outputs).live
    nodes = graph.nodes
    value: dict[NodeId, Any] = {}

    input_names = {str(n.attr) for nid, n in enumerate(nodes) if live[nid] and n.op == "input"}
    indices = Indices(sympy, input_names)
    lengths = input_lengths(sympy, graph, live, input_names) if graph.vectors else {}

    def leaf(nid: NodeId) -> Any:
        node = nodes[nid]
        if node.op == "const":
            return sympy_constant(sympy, float(node.attr))  # type: ignore[arg-type]
        if nid in lengths:
            base = sympy.IndexedBase(input_name(graph, nid), real=True)
            return SymVector(indices, base[indices.index], lengths[nid])
        return sympy.Symbol(str(node.attr), real=True)

    if not cse:
        for nid, node in enumerate(nodes):
            if live[nid]:
                if node.args:
                    value[nid] = _value(sympy, node.op, [value[a] for a in node.args])
                else:
                    value[nid] = leaf(nid)
        return [indices.finish(value[o]) for o in outputs]

    user = graph.names if names is None else names
    uses = [0] * len(nodes)
    for nid, node in enumerate(nodes):
        if live[nid] and node.args:
            for a, count in zip(node.args, _template_shape(node.op)[0]):
                uses[a] += count
    in_outputs = [0] * len(nodes)
    for o in outputs:
        in_outputs[o] += 1
    reserved = input_names | {
        user[nid] for nid, n in enumerate(nodes) if live[nid] and n.args and nid in user
    }
    claimed: set[str] = set()
    temps = 0

    def claim(nid: NodeId) -> str:
        """The replacement symbol's name: the user's (made unique) or the next free `tK`."""
        nonlocal temps
        base = user.get(nid)
        if base is None:
            while f"t{temps}" in reserved or f"t{temps}" in claimed:
                temps += 1
            name = f"t{temps}"
        else:
            name, k = base, 2
            while name in claimed or name in input_names:
                name, k = f"{base}_{k}", k + 1
        claimed.add(name)
        return name

    # Depth of each node's expression below the nearest replacement symbol (estimated).
    depth = [0] * len(nodes)
    replacements: list[tuple[Any, Any]] = []
    for nid, node in enumerate(nodes):
        if not live[nid]:
            continue
        if not node.args:
            value[nid] = leaf(nid)
            continue
        expr = _value(sympy, node.op, [value[a] for a in node.args])
        depth[nid] = _template_shape(node.op)[1] + max(depth[a] for a in node.args)
        shared = uses[nid] + in_outputs[nid] >= 2
        named = nid in user and uses[nid] >= 1
        # a vector stays inline: it is a function of the index, not one value
        scalar = not isinstance(expr, SymVector) and not expr.is_Atom
        if (shared or named or depth[nid] >= MAX_SYMPY_DEPTH) and scalar:
            symbol = sympy.Symbol(claim(nid), real=True)
            replacements.append((symbol, expr))
            expr, depth[nid] = symbol, 0
        value[nid] = expr
    # outputs, then replacements from the last: each one's indices start below the deepest
    # index around a use of its symbol, so substituting it back never captures an index
    levels = {symbol: 0 for symbol, _ in replacements}
    exprs = [indices.finish(value[o], 0, levels) for o in outputs]
    finished = [(s, indices.finish(e, levels[s], levels)) for s, e in reversed(replacements)]
    return finished[::-1], exprs
