"""One point through a graph: every node's value, adjoint and local partials, by node id.

`at_point(graph, inputs, nodes, point, output)` is what trace tables (`adc.trace`) and graph
views (`Formula.graph`, `Evaluator.graph`) show: on a copy of the graph it appends reverse
mode's adjoint program for `output` once (and, when asked, each node's local partials, the
factors the chain rule multiplies), then evaluates everything with the NumPy interpreter in
one `Plan`, so each number is what the compiled code computes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adcompile.ad.reverse import reverse
from adcompile.ir.graph import Expr, Graph, NodeId
from adcompile.ir.ops import OPS
from adcompile.ir.shapes import shapes
from adcompile.run.interpret import Plan

#: A number at a point: a float for a scalar node, a 1-D float64 array for a vector node.
Value = Any


@dataclass(frozen=True)
class AtPoint:
    """Numbers at one point, by node id (floats, or arrays for vector nodes)."""

    values: dict[NodeId, Value]
    #: d output / d node (0 where the output does not depend on it); empty without an output
    adjoints: dict[NodeId, Value] = field(default_factory=dict)
    #: d node / d argument for each non-constant argument, summed where an argument repeats
    #: (`x * x`); empty unless asked for. For an op that moves elements (`OpDef.adjoint`),
    #: its transpose applied to a unit adjoint: a one-hot or a 0/1 mask.
    partials: dict[NodeId, dict[NodeId, Value]] = field(default_factory=dict)


def at_point(
    graph: Graph,
    inputs: Sequence[NodeId],
    nodes: Sequence[NodeId],
    point: Sequence[Value],
    output: NodeId | None = None,
    partials: bool = False,
) -> AtPoint:
    """The value of each of `nodes` at `point` (a number per scalar input, a 1-D array per
    vector input); with `output`, the adjoint of each (reverse mode from `output` with
    respect to `nodes`); with `partials` too, the local partials of each node that is an
    operation. `graph` is left as it is."""
    work = graph.copy() if output is not None or partials else graph
    adjoint_ids: dict[NodeId, NodeId] = {}
    if output is not None:
        reverse(work, output, list(nodes), collect=adjoint_ids)
    vector = shapes(work).is_vector if work.vectors else None
    steps: list[tuple[NodeId, NodeId, NodeId]] = []  # (node, argument, partial)
    for nid in nodes if partials else ():
        node = work.nodes[nid]
        if not node.args:
            continue
        spec = OPS[node.op]
        args = [work.expr(a) for a in node.args]
        out = work.expr(nid)
        if spec.adjoint is not None:
            unit = (
                out.apply("vfill", 1.0, out)
                if vector and vector(nid)
                else work.expr(work.const(1.0))
            )
            found: list[Any] = spec.adjoint(unit, *args, out)
        else:  # 0: no path
            found = [rule(*args, out) if rule is not None else 0.0 for rule in spec.partials]
        for a, p in zip(node.args, found):
            if work.nodes[a].op != "const":
                p = 0.0 if p is None else p
                steps.append((nid, a, p.id if isinstance(p, Expr) else work.const(float(p))))
    bar_ids = [adjoint_ids.get(n) for n in nodes] if output is not None else []
    wanted: list[NodeId | None] = [*nodes, *bar_ids, *(p for _, _, p in steps)]
    results = [_plain(v) for v in Plan(work, inputs, wanted)(*point)]
    count = len(nodes)
    values = dict(zip(nodes, results[:count]))
    adjoints = dict(zip(nodes, results[count : count + len(bar_ids)]))
    local: dict[NodeId, dict[NodeId, Value]] = {}
    for (nid, a, _), v in zip(steps, results[count + len(bar_ids) :]):
        mine = local.setdefault(nid, {})
        mine[a] = mine[a] + v if a in mine else v
    return AtPoint(values, adjoints, local)


def _plain(v: Any) -> Value:
    """A 0-d result as a float, an array as a float64 array."""
    return float(v) if np.ndim(v) == 0 else np.asarray(v, dtype=np.float64)


def numbers(
    names: Sequence[str], values: Sequence[Any], vectors: Sequence[bool] = ()
) -> list[Value]:
    """A point, one value per name: a float, or a 1-D float64 array where `vectors` says the
    input is a vector (TypeError naming an input that is neither)."""
    flags = list(vectors) or [False] * len(names)
    return [_number(n, v, vector) for n, v, vector in zip(names, values, flags)]


def _number(name: str, value: Any, vector: bool) -> Value:
    # not text (float() would read "2"); one point: no batch axes
    if not isinstance(value, (str, bytes)) and np.ndim(value) == (1 if vector else 0):
        try:
            return np.asarray(value, dtype=np.float64) if vector else float(value)
        except (TypeError, ValueError):
            pass
    what = "a 1-D array of its elements" if vector else "a number"
    raise TypeError(f"'{name}' must be {what} (this shows one point), got {type(value).__name__}")
