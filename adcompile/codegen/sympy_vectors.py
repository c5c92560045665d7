"""Vectors in SymPy, for `codegen.sympy` (docs/vectors.md, "SymPy and LaTeX").

A vector node converts to a `SymVector`: its element, an expression in a placeholder index,
and its length; the vector ops' `sympy` column (`ir.vecops`) calls its methods (`v[i]`,
`v.reduce(...)`, `v.sliced(...)`, ...). `Indices` makes the bound indices of reductions and,
once a value is complete, names them (`i`, `j`, ... by nesting level) and makes a vector
output `Lambda(i, element)`. `input_lengths` gives each vector input its length: a symbol
(`n`, `n_x`) or the fixed number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from adcompile.front.sympy_vectors import hide_piecewise, sympy_extrema
from adcompile.ir.graph import Graph, NodeId
from adcompile.ir.node import SEED_MARK
from adcompile.ir.shapes import shapes

#: Names of index symbols, by nesting depth (a name an input has is skipped).
INDEX_NAMES: Final = ("i", "j", "k", "l", "m", "p", "q", "r")


class Indices:
    """The index symbols of one conversion: the placeholder every vector's element is written
    in (`SymVector.element`), the bound ones reductions make, and their final names."""

    def __init__(self, sp: Any, taken: set[str]) -> None:
        self.sp = sp
        self.index = sp.Dummy("i", integer=True)
        self.bound: set[Any] = set()
        self.reductions = {"sum": sp.Sum, "prod": sp.Product, **sympy_extrema()}
        self.names = [n for n in INDEX_NAMES if n not in taken]

    def fresh(self) -> Any:
        found = self.sp.Dummy("j", integer=True)
        self.bound.add(found)
        return found

    def symbol(self, depth: int) -> Any:
        name = self.names[depth] if depth < len(self.names) else f"i_{depth}"
        return self.sp.Symbol(name, integer=True)

    def finish(self, value: Any, first: int = 0, symbols: dict[Any, int] | None = None) -> Any:
        """A node's value as SymPy: a vector as `Lambda(i, element)`, its index dummies named
        by nesting level: each bound index gets the name of the deepest level it occurs at,
        counted from `first` (1 inside a vector output, whose free index is `i`), so no two
        nested indices share a name even where a sum occurs in several places (SymPy's
        substitution would reach an inner index of the same name). `symbols` (replacement
        symbol -> level) receives the deepest level each of its symbols occurs at: the first
        level of that replacement's own indices, once substituted."""
        free = isinstance(value, SymVector)
        expr = value.element if free else value
        first = max(first, int(free))
        if not self.bound and not free:
            return expr  # no index to name (a graph of scalars)
        limits = self.sp.concrete.expr_with_limits.ExprWithLimits
        level: dict[Any, int] = {}
        stack, seen = [(expr, 0)], set()
        while stack:  # every (subexpression, depth) once
            e, depth = stack.pop()
            if symbols is not None and e in symbols:
                symbols[e] = max(symbols[e], depth + first)
            if (e, depth) in seen or e.is_Atom:
                continue
            seen.add((e, depth))
            if isinstance(e, limits):
                for v in (lim[0] for lim in e.limits if lim[0] in self.bound):
                    level[v] = max(level.get(v, 0), depth)
                    depth += 1
            stack.extend((a, depth) for a in e.args)
        names = {v: self.symbol(k + first) for v, k in level.items()}
        if free:
            names[self.index] = self.symbol(0)
        expr = expr.xreplace(names) if names else expr
        return self.sp.Lambda(names[self.index], expr) if free else expr


class SymVector:
    """A vector in SymPy: `element`, in terms of the placeholder `indices.index`, and its
    `length`. The methods are what the vector ops' `sympy` column (`ir.vecops`) calls."""

    def __init__(self, indices: Indices, element: Any, length: Any) -> None:
        self.indices = indices
        self.element = element
        self.length = length

    def __getitem__(self, i: Any) -> Any:
        return self.element.xreplace({self.indices.index: i})

    def position(self, k: Any) -> Any:
        """A subscript as an index: negative ones count from the end."""
        return k if k >= 0 else self.length + k

    def at(self, k: Any) -> Any:
        return self[self.position(k)]

    def build(self, element: Callable[[Any], Any]) -> SymVector:
        """A vector of this length with `element(i)` at index `i`."""
        return SymVector(self.indices, self.sp_expr(element(self.indices.index)), self.length)

    def sp_expr(self, value: Any) -> Any:
        return self.indices.sp.sympify(value)

    def reduce(self, kind: str, term: Callable[[Any, Any], Any] | None = None) -> Any:
        """`Sum`, `Product`, `Maximum` or `Minimum` of the elements (or of `term(j, v[j])`)."""
        j = self.indices.fresh()
        body = self[j] if term is None else term(j, self[j])
        body = hide_piecewise(self.indices.sp, body)  # see `front.sympy_vectors.sympy_where`
        return self.indices.reductions[kind](body, (j, 0, self.length - 1))

    def bounds(self, a: Any, b: Any, s: Any) -> tuple[Any, int, Any]:
        """A slice's first index, step and length. With a symbolic length the bounds are
        taken to be in range (Python's slices clip them)."""
        sp, n = self.indices.sp, self.length
        lo, hi, step = (None if v is sp.nan else int(v) for v in (a, b, s))
        step = step or 1
        if n.is_Integer:
            first, stop, step = slice(lo, hi, step).indices(int(n))
            return sp.Integer(first), step, sp.Integer(len(range(first, stop, step)))

        def place(k: int | None, default: Any) -> Any:
            return default if k is None else (sp.Integer(k) if k >= 0 else n + k)

        if step > 0:
            first = place(lo, sp.Integer(0))
            span = place(hi, n) - first
        else:
            first = place(lo, n - 1)
            span = first - place(hi, sp.Integer(-1))
        return first, step, span if abs(step) == 1 else sp.ceiling(span / abs(step))

    def sliced(self, a: Any, b: Any, s: Any) -> SymVector:
        first, step, length = self.bounds(a, b, s)
        return SymVector(self.indices, self[first + step * self.indices.index], length)

    def unsliced(self, b: SymVector, lo: Any, hi: Any, s: Any) -> SymVector:
        """Zeros of this length with `b` in the places of the slice `[lo:hi:s]`."""
        sp = self.indices.sp
        first, step, length = self.bounds(lo, hi, s)
        offset = self.indices.index - first
        j = offset if step == 1 else offset / step
        inside = sp.And(j >= 0, j < length)
        if abs(step) != 1:
            inside = sp.And(inside, sp.Eq(sp.Mod(offset, step), 0))
        return SymVector(self.indices, sp.Piecewise((b[j], inside), (0, True)), self.length)


def input_lengths(
    sp: Any, graph: Graph, live: Sequence[bool], taken: set[str]
) -> dict[NodeId, Any]:
    """The length of each live vector input: the fixed length (`shapes=`), or a symbol per
    class of inputs of equal length: `n` when there is one class, else `n_x` after its first
    input."""
    found = shapes(graph)
    groups: dict[NodeId | None, list[NodeId]] = {}
    for nid in sorted(graph.vectors):
        if live[nid]:
            groups.setdefault(found.of(nid), []).append(nid)
    lengths: dict[NodeId, Any] = {}
    for members in groups.values():
        fixed = [graph.vectors[m][1] for m in members if graph.vectors[m][1] is not None]
        if fixed:
            size = sp.Integer(fixed[0])
        else:
            name = "n" if len(groups) == 1 else f"n_{input_name(graph, members[0])}"
            while name in taken:
                name += "_"
            size = sp.Symbol(name, integer=True, nonnegative=True)
        lengths.update((m, size) for m in members)
    return lengths


def input_name(graph: Graph, nid: NodeId) -> str:
    """An input's name, without the mark of a seed (`'d_x` is `d_x`)."""
    name = str(graph.nodes[nid].attr)
    return name[len(SEED_MARK) :] if name.startswith(SEED_MARK) else name


def vector_element(expr: Any) -> tuple[Any, Any] | None:
    """(index, element) of a vector output `Lambda(i, element)`, or None for a scalar."""
    variables: tuple[Any, ...] = getattr(expr, "variables", ())
    if type(expr).__name__ == "Lambda" and len(variables) == 1:
        return variables[0], expr.expr
    return None
