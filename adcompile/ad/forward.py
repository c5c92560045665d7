"""Forward mode as an IR-to-IR pass: append tangents (directional derivatives) to a graph.

`forward(graph, seeds, outputs)` sweeps node ids upward (creation order is topological). A
node's tangent is the sum over its arguments of `partial * tangent(arg)`, with the op table's
partial rules (the same rules reverse mode reads). Arguments without a tangent contribute
nothing, so with constant seeds (`1.0` for one input and none for the others, as a Jacobian
column or a Hessian column needs) whole regions build no nodes at all.

Exact zeros (DESIGN.md section 5): a tangent that may be exactly 0 at run time multiplies its
partial with `mul0`, which is 0 when the tangent is 0 even where the partial is inf or NaN.
So a zero direction is the same as no direction: `sqrt(x) + y` along (0, 1) at x = 0 is 1,
the y-component of the gradient, not `0 * sqrt'(0) + 1 = nan`. A tangent may be 0 at run time
when every contribution to it comes from a seed that is not a nonzero constant (`jvp` and
`hvp` seeds are inputs, possibly 0), or went through a selecting op; this mirrors reverse
mode's guarded adjoints. Tangents made only from constant seeds (Jacobian and Hessian columns)
keep the plain product: there a zero tangent is a zero partial, which reverse mode multiplies
just the same, and the kernels stay as fast as before (`mul0(1.0, p)` folds to `p`).

Branches: at an op that selects (`where`, `relu`, `min`, `max`, and reverse mode's `mul0`), a
term is exactly 0 when either its partial or its tangent is exactly 0, so a branch not taken
contributes 0 even where its tangent is inf or NaN (`where(x > 0, log(x), 0)` at x = 0), and
forward-over-reverse (Hessians) keeps reverse mode's guarantee for the gradient's own branches.
New nodes are tagged ("tangent", primal id) for the printers; `graph.dot` maps a tangent node
to the node it is the tangent of.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from adcompile.ad.reverse import may_be_zero
from adcompile.ir.graph import Expr, Graph, NodeId
from adcompile.ir.ops import OPS
from adcompile.ir.shapes import shapes


def _term(partial: Expr | float, tangent: Expr, selects: bool, zeroable: bool) -> Expr:
    if selects:
        # zero wins on either side: 0 if the partial is 0 (branch not taken) or the tangent is
        product = tangent.apply("mul0", partial, tangent)
        return tangent.apply("where", tangent.apply("eq", tangent, 0.0), 0.0, product)
    if zeroable:
        return tangent.apply("mul0", tangent, partial)  # a zero tangent contributes exactly 0
    return tangent * partial


def forward(
    graph: Graph, seeds: Mapping[NodeId, NodeId], outputs: Sequence[NodeId]
) -> list[NodeId | None]:
    """Append the tangents of `outputs` given the tangents (`seeds`) of some nodes, usually
    inputs; return their ids (None: identically zero)."""
    if not seeds or not outputs:
        return [None] * len(outputs)
    tangent: dict[NodeId, Expr] = {n: graph.expr(t) for n, t in seeds.items()}
    zeroable = {n: may_be_zero(graph, t) for n, t in seeds.items()}
    start = len(graph.nodes)  # nodes from here on are new: named d_<primal> when printed
    shape = shapes(graph) if graph.vectors else None
    for n, t in seeds.items():
        if graph.nodes[t].op == "input":
            graph.dot.setdefault(t, n)
    for nid in range(min(seeds), max(outputs) + 1):
        node = graph.nodes[nid]
        if not node.args or nid in seeds:
            continue
        opdef = OPS[node.op]
        moving = [
            (a, tangent[a], rule)
            for a, rule in zip(node.args, opdef.partials)
            if rule is not None and a in tangent
        ]
        if not moving:
            continue
        graph.tag = ("tangent", nid)
        args = [graph.expr(a) for a in node.args]
        out = graph.expr(nid)
        total: Expr | None = None
        if opdef.tangent is not None:  # an op that moves elements: the op of the tangents
            total = opdef.tangent([tangent.get(a) for a in node.args], *args, out)
        for arg, arg_tangent, rule in moving if opdef.tangent is None else ():
            partial = rule(*args, out)
            term = _term(partial, arg_tangent, opdef.selects, zeroable[arg])
            graph.record_step(term.id, nid, arg, arg_tangent.lift(partial))
            if shape is not None and shape.is_vector(term.id) and not shape.is_vector(nid):
                term = term.apply("vsum", term)  # a reduction's tangent: sum the elements
            total = term if total is None else total + term
        assert total is not None
        if shape is not None and shape.is_vector(nid) and not shape.is_vector(total.id):
            source = graph.expr(shape.source[nid])  # type: ignore[arg-type]
            total = total.apply("vfill", total, source)  # every element's tangent
        graph.tag = None
        tangent[nid] = total
        # 0 at run time only if every contribution can be (a sum of exact zeros is 0)
        zeroable[nid] = all(zeroable[a] or opdef.selects for a, _, _ in moving)
        if total.id >= start:
            graph.dot.setdefault(total.id, nid)
    found = [tangent.get(o) for o in outputs]
    return [f.id if f is not None else None for f in found]
