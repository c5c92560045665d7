"""A NumPy interpreter of the IR: the no-JIT backend for huge formulas and a test oracle.

Evaluates the live nodes in id order with each op's NumPy `impl` (IEEE semantics, arrays
broadcast), dropping values after their last use so long chains stay small in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from adcompile.ir.graph import Graph, NodeId
from adcompile.ir.ops import OPS


class Plan:
    """A precomputed evaluation order for some outputs of a graph."""

    def __init__(
        self, graph: Graph, inputs: Sequence[NodeId], outputs: Sequence[NodeId | None]
    ) -> None:
        live = graph.live([o for o in outputs if o is not None])
        self.inputs = tuple(inputs)
        self.outputs = tuple(outputs)
        self.consts = {
            n: graph.nodes[n].attr
            for n in range(len(graph))
            if live[n] and graph.nodes[n].op == "const"
        }
        keep = {o for o in outputs if o is not None}
        last: dict[NodeId, int] = {}
        self.steps: list[tuple[NodeId, Any, tuple[NodeId, ...], tuple[NodeId, ...]]] = []
        order = [n for n in range(len(graph)) if live[n] and graph.nodes[n].args]
        for pos, nid in enumerate(order):
            for a in graph.nodes[nid].args:
                last[a] = pos
        for pos, nid in enumerate(order):
            node = graph.nodes[nid]
            dead = tuple(a for a in set(node.args) if last[a] == pos and a not in keep)
            self.steps.append((nid, OPS[node.op].impl, node.args, dead))

    def __call__(self, *values: Any) -> tuple[Any, ...]:
        env: dict[NodeId, Any] = {n: np.float64(v) for n, v in self.consts.items()}
        env.update(zip(self.inputs, values))
        with np.errstate(all="ignore"):
            for nid, impl, args, dead in self.steps:
                env[nid] = impl(*(env[a] for a in args))
                for a in dead:
                    env.pop(a, None)
        zero = np.float64(0.0)
        return tuple(env[o] if o is not None else zero for o in self.outputs)
