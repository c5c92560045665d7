"""A NumPy interpreter of the IR: the instant tier (no compile at all) and a test oracle.

Evaluates the scheduled nodes (`schedule.Program.order`) with each op's NumPy `impl` (IEEE
semantics, arrays broadcast) into a register list indexed by node id, dropping values after
their last use (`Program.dead_after`), so long chains stay small in memory. Each step is a
tuple prepared once (the op's function, the destination, the arguments, what dies there): a
call costs one Python-level step per node, ~0.3 µs plus the ufunc's own time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from adcompile.ir.graph import Graph, NodeId
from adcompile.ir.ops import OPS
from adcompile.ir.shapes import shapes
from adcompile.schedule import schedule

#: One step: (the op's NumPy function, the destination, the arguments, the registers freed).
Step = tuple[Callable[..., Any], NodeId, tuple[NodeId, ...], tuple[NodeId, ...]]


class Plan:
    """The outputs of a graph, evaluated by stepping through its schedule (`schedule.Program`)."""

    def __init__(
        self, graph: Graph, inputs: Sequence[NodeId], outputs: Sequence[NodeId | None]
    ) -> None:
        program = schedule(graph, inputs, outputs)
        self.inputs = program.inputs
        self.outputs = program.outputs
        self.size = len(graph.nodes)
        nodes = graph.nodes
        self.consts = [(n, np.float64(nodes[n].attr)) for n in program.constants()]
        impls = {op: spec.impl for op, spec in OPS.items()}
        self.steps: list[Step] = [
            (impls[nodes[nid].op], nid, nodes[nid].args, dead)
            for nid, dead in zip(program.order, program.dead_after())
        ]
        if graph.vectors:  # a vector's elements are its last axis: scalars broadcast along it
            shape = shapes(graph)
            for k, (impl, nid, args, dead) in enumerate(self.steps):
                if OPS[nodes[nid].op].shape != "elementwise" or not shape.is_vector(nid):
                    continue
                scalar = tuple(not shape.is_vector(a) for a in args)
                if any(scalar):
                    self.steps[k] = (_along_elements(impl, scalar), nid, args, dead)

    def __call__(self, *values: Any) -> tuple[Any, ...]:
        regs: list[Any] = [None] * self.size
        for n, c in self.consts:
            regs[n] = c
        for n, v in zip(self.inputs, values):
            regs[n] = v
        with np.errstate(all="ignore"):
            for impl, nid, args, dead in self.steps:
                if len(args) == 2:
                    regs[nid] = impl(regs[args[0]], regs[args[1]])
                elif len(args) == 1:
                    regs[nid] = impl(regs[args[0]])
                else:
                    regs[nid] = impl(*[regs[a] for a in args])
                for a in dead:
                    regs[a] = None
        zero = np.float64(0.0)
        return tuple(regs[o] if o is not None else zero for o in self.outputs)


def _along_elements(impl: Callable[..., Any], scalar: tuple[bool, ...]) -> Callable[..., Any]:
    """`impl` with the scalar arguments given a unit element axis (`s[..., None]`)."""

    def call(*args: Any) -> Any:
        return impl(*[np.asarray(a)[..., None] if s else a for a, s in zip(args, scalar)])

    return call
