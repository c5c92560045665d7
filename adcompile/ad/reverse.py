"""Reverse mode as an IR-to-IR pass: append the adjoint computation to the primal graph.

`reverse(graph, output, wrt)` sweeps node ids downward from `output` (creation order is
topological) and, for each node with an adjoint `g`, adds `g * d(node)/d(arg)` to the adjoint
of every argument that depends on `wrt`, using the op table's partial rules. Adjoints that are
never reached are symbolic zeros: nothing is built for them. The new nodes go into the same
graph (fused forward + backward), tagged ("adjoint", primal id) for the printers' comments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from adcompile.ir.graph import Expr, Graph, NodeId
from adcompile.ir.ops import OPS
from adcompile.ir.shapes import shapes


def active_nodes(graph: Graph, wrt: Sequence[NodeId], upto: NodeId) -> list[bool]:
    """Which nodes (ids <= upto) depend on `wrt` through a path that carries derivatives."""
    active = [False] * (upto + 1)
    for w in wrt:
        if w <= upto:
            active[w] = True
    for nid in range(upto + 1):
        node = graph.nodes[nid]
        if node.args and not active[nid]:
            rules = OPS[node.op].partials
            active[nid] = any(r is not None and active[a] for a, r in zip(node.args, rules))
    return active


def may_be_zero(graph: Graph, seed: NodeId) -> bool:
    """Whether a seed (an adjoint or tangent node) can be exactly 0 at run time: anything but
    a nonzero constant (`vjp` and `hvp` seeds are inputs; a gradient's seed is 1.0)."""
    value = graph.const_value(seed)
    return value is None or value == 0.0


def _term(graph: Graph, bar: NodeId, partial: NodeId, guarded: bool, selects: bool) -> NodeId:
    """`bar * partial`, exactly 0 where a zero may meet an inf or NaN: where the adjoint may
    be 0 (`guarded`), and at a selecting op, whose partial is 0 on the side not selected
    (`sqrt(where(x > 0, x, 0))` at x = -1: the adjoint inf meets the partial 0)."""
    if selects:
        term = graph.apply("mul0", partial, bar)
        if not guarded:
            return term
        zero = graph.apply("eq", bar, graph.const(0.0))
        return graph.apply("where", zero, graph.const(0.0), term)  # zero wins on both
    return graph.apply("mul0" if guarded else "mul", bar, partial)


def reverse(
    graph: Graph,
    output: NodeId | Mapping[NodeId, NodeId],
    wrt: Sequence[NodeId],
    collect: dict[NodeId, NodeId] | None = None,
) -> list[NodeId | None]:
    """Append d output / d w for each w in `wrt`; return their ids (None: identically zero).

    `output` is one node (its adjoint seed is 1), or a mapping from output nodes to the nodes
    holding their seeds (a vector-Jacobian product: the seeded sum of the outputs' gradients).
    `collect`, when given, receives the adjoint of every node the sweep reaches (trace tables
    show them).

    An adjoint may be exactly 0 at run time when every contribution to it comes from a seed
    that may be 0 (a `vjp` cotangent) or flows through the unselected side of a selecting op
    (`where`, `relu`, `min`, `max`); below it, products use `mul0`, so an inf or NaN partial
    still contributes exactly 0 (DESIGN.md section 5): a vjp with cotangents (0, 1) is the
    second output's gradient, and the branch not taken contributes 0. A constant seed (1.0
    for a gradient) keeps plain products, and `mul0` by a finite constant partial folds to
    one.
    """
    seeds = {output: graph.const(1.0)} if isinstance(output, int) else dict(output)
    if not seeds:
        return [None] * len(wrt)
    top = max(seeds)
    active = active_nodes(graph, wrt, top)
    adjoint: dict[NodeId, NodeId] = dict(seeds)
    # whether every contribution may be an exact 0 (a zero seed, or a selected-out branch)
    masked = {o: may_be_zero(graph, s) for o, s in seeds.items()}
    results: dict[NodeId, NodeId] = {}
    nodes, apply, const = graph.nodes, graph.apply, graph.const
    shape = shapes(graph) if graph.vectors else None
    for nid in range(top, -1, -1):
        bar = adjoint.pop(nid, None)
        if bar is None or not active[nid]:
            continue
        if shape is not None and shape.is_vector(nid) and not shape.is_vector(bar):
            graph.tag = ("adjoint", nid)
            # every element's adjoint (one broadcast), shaped like the node's length source
            bar = apply("vfill", bar, shape.source[nid])  # type: ignore[arg-type]
            graph.tag = None
        graph.bar.setdefault(bar, nid)
        if collect is not None:
            collect[nid] = bar
        node = nodes[nid]
        if not node.args:
            results[nid] = bar
            continue
        graph.tag = ("adjoint", nid)
        opdef = OPS[node.op]
        guarded = masked.pop(nid)
        args = [Expr(graph, a) for a in node.args]
        out = Expr(graph, nid)
        moved = opdef.adjoint(Expr(graph, bar), *args, out) if opdef.adjoint else None
        for k, (arg, rule) in enumerate(zip(node.args, opdef.partials)):
            if rule is None or not active[arg]:
                continue
            if moved is not None:  # an op that moves elements: its transpose
                term = moved[k].id
            else:
                found = rule(*args, out)
                partial = found.id if isinstance(found, Expr) else const(float(found))
                term = _term(graph, bar, partial, guarded, opdef.selects)
                graph.record_step(term, nid, arg, partial)
            if shape is not None and shape.is_vector(term) and not shape.is_vector(arg):
                term = apply("vsum", term)  # a scalar broadcast over a vector: sum back
            before = adjoint.get(arg)
            adjoint[arg] = term if before is None else apply("add", before, term)
            masked[arg] = masked.get(arg, True) and (guarded or opdef.selects)
        graph.tag = None
    return [results.get(w) for w in wrt]
