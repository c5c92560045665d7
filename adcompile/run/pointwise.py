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

from adcompile.ad.reverse import reverse
from adcompile.ir.graph import Graph, NodeId
from adcompile.ir.ops import OPS
from adcompile.run.interpret import Plan


@dataclass(frozen=True)
class AtPoint:
    """Numbers at one point, by node id."""

    values: dict[NodeId, float]
    #: d output / d node (0 where the output does not depend on it); empty without an output
    adjoints: dict[NodeId, float] = field(default_factory=dict)
    #: d node / d argument for each non-constant argument, summed where an argument repeats
    #: (`x * x`); empty unless asked for
    partials: dict[NodeId, dict[NodeId, float]] = field(default_factory=dict)


def at_point(
    graph: Graph,
    inputs: Sequence[NodeId],
    nodes: Sequence[NodeId],
    point: Sequence[float],
    output: NodeId | None = None,
    partials: bool = False,
) -> AtPoint:
    """The value of each of `nodes` at `point` (a number per input); with `output`, the
    adjoint of each (reverse mode from `output` with respect to `nodes`); with `partials`
    too, the local partials of each node that is an operation. `graph` is left as it is."""
    work = graph.copy() if output is not None or partials else graph
    adjoint_ids: dict[NodeId, NodeId] = {}
    if output is not None:
        reverse(work, output, list(nodes), collect=adjoint_ids)
    steps: list[tuple[NodeId, NodeId, NodeId]] = []  # (node, argument, partial)
    if partials:
        for nid in nodes:
            node = work.nodes[nid]
            if not node.args:
                continue
            args = [work.expr(a) for a in node.args]
            for a, rule in zip(node.args, OPS[node.op].partials):
                if work.nodes[a].op == "const":
                    continue
                p = rule(*args, work.expr(nid)) if rule is not None else 0.0  # 0: no path
                steps.append((nid, a, p.id if not isinstance(p, float) else work.const(p)))
    bar_ids = [adjoint_ids.get(n) for n in nodes] if output is not None else []
    wanted: list[NodeId | None] = [*nodes, *bar_ids, *(p for _, _, p in steps)]
    results = [float(v) for v in Plan(work, inputs, wanted)(*point)]
    count = len(nodes)
    values = dict(zip(nodes, results[:count]))
    adjoints = dict(zip(nodes, results[count : count + len(bar_ids)]))
    found: dict[NodeId, dict[NodeId, float]] = {}
    for (nid, a, _), v in zip(steps, results[count + len(bar_ids) :]):
        local = found.setdefault(nid, {})
        local[a] = local.get(a, 0.0) + v
    return AtPoint(values, adjoints, found)


def numbers(names: Sequence[str], values: Sequence[Any]) -> list[float]:
    """A point as floats, one per name (TypeError naming the input that is not a number)."""
    return [_number(name, value) for name, value in zip(names, values)]


def _number(name: str, value: Any) -> float:
    # not text (float() would read "2") nor arrays (a graph shows one point)
    if not isinstance(value, (str, bytes)) and getattr(value, "ndim", 0) == 0:
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    raise TypeError(
        f"graph: '{name}' must be a number (a graph shows one point), got {type(value).__name__}"
    )
