"""A NumPy interpreter of the IR: the no-JIT backend for huge formulas and a test oracle.

Evaluates the scheduled nodes (`schedule.Program.order`) with each op's NumPy `impl` (IEEE
semantics, arrays broadcast), dropping values after their last use (`Program.dead_after`), so
long chains stay small in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from adcompile.ir.graph import Graph, NodeId
from adcompile.ir.ops import OPS
from adcompile.schedule import schedule


class Plan:
    """The outputs of a graph, evaluated by stepping through its schedule (`schedule.Program`)."""

    def __init__(
        self, graph: Graph, inputs: Sequence[NodeId], outputs: Sequence[NodeId | None]
    ) -> None:
        program = schedule(graph, inputs, outputs)
        self.inputs = program.inputs
        self.outputs = program.outputs
        self.consts = {n: graph.nodes[n].attr for n in program.constants()}
        self.steps: list[tuple[NodeId, Any, tuple[NodeId, ...], tuple[NodeId, ...]]] = [
            (nid, OPS[graph.nodes[nid].op].impl, graph.nodes[nid].args, dead)
            for nid, dead in zip(program.order, program.dead_after())
        ]

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
