"""How a kernel runs on numbers: one runner per backend, behind the same three calls.

A runner (`NumbaRunner`, `VMRunner`, `PlanRunner`) evaluates the outputs of one kernel
(value(s), then gradient entries):

- `scalar(*values)`: at one point, floats in and out;
- `fill(ins, outs)`: over the broadcast batch, writing output j into `outs[j]` (arrays of the
  broadcast shape, float64 or float32: float32 results are float64 results rounded once);
- `total(ins, shape)`: the sum of every output over the batch, without per-point arrays.

Inputs are NumPy arrays (float64 or float32, any shape broadcastable to the batch). All
arithmetic is float64. `NumbaRunner` (in `run.compiled`) runs the generated Numba module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

import numpy as np

from adcompile.ir.graph import Graph
from adcompile.ir.node import NodeId
from adcompile.run.compiled import NumbaRunner, number
from adcompile.run.interpret import Plan
from adcompile.run.vm import Machine

Shape = tuple[int, ...]


class PlanRunner:
    """Runs the NumPy interpreter (`interpret.Plan`): no compile time, for huge kernels."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def scalar(self, *values: float) -> Sequence[float]:
        return [float(r) for r in self.plan(*(np.float64(v) for v in values))]

    def _results(self, ins: Sequence[np.ndarray]) -> tuple[Any, ...]:
        return self.plan(*(a.astype(np.float64, copy=False) for a in ins))

    def fill(self, ins: Sequence[np.ndarray], outs: Sequence[np.ndarray]) -> None:
        for out, result in zip(outs, self._results(ins)):
            np.copyto(out, result, casting="same_kind")

    def total(self, ins: Sequence[np.ndarray], shape: Shape) -> Sequence[float]:
        if not int(np.prod(shape)):
            return [0.0] * len(self.plan.outputs)
        return [float(np.sum(np.broadcast_to(r, shape))) for r in self._results(ins)]


class VMRunner:
    """Runs the precompiled block interpreter (`vm.Machine`): no per-formula compile."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine

    def scalar(self, *values: float) -> Sequence[float]:
        return self.machine.scalar(*values)

    def fill(self, ins: Sequence[np.ndarray], outs: Sequence[np.ndarray]) -> None:
        shape, size = outs[0].shape, outs[0].size
        if not size:
            return
        direct = len({o.dtype for o in outs}) == 1 and all(o.flags.c_contiguous for o in outs)
        flat = [o.reshape(-1) for o in outs] if direct else list(np.empty((len(outs), size)))
        self.machine.batch(size, _flat_inputs(ins, shape), flat)
        if not direct:
            for out, result in zip(outs, flat):
                np.copyto(out, result.reshape(shape), casting="same_kind")

    def total(self, ins: Sequence[np.ndarray], shape: Shape) -> Sequence[float]:
        size = int(np.prod(shape))
        return self.machine.reduce_sum(size, _flat_inputs(ins, shape))


def _flat_inputs(ins: Sequence[np.ndarray], shape: Shape) -> list[float | np.ndarray]:
    """Floats for one-number inputs, else 1-D arrays over the batch (copied if broadcast)."""
    return [number(a) if a.size == 1 else np.broadcast_to(a, shape).reshape(-1) for a in ins]


Runner = NumbaRunner | VMRunner | PlanRunner
#: How a backend builds its runner: (graph, input ids, output ids, the Numba source, the
#: kernel's name); the source is a callable because only the Numba backend prints it.
RunnerFactory = Callable[
    [Graph, Sequence[NodeId], Sequence[NodeId | None], Callable[[], str], str], Runner
]
#: The backend registry: name -> runner factory. `compile(backend=...)` takes these names
#: and "auto" (Numba up to `api.evaluator.JIT_MAX_STATEMENTS` statements, the VM above).
BACKENDS: Final[dict[str, RunnerFactory]] = {
    "numba": lambda graph, ins, outs, source, name: NumbaRunner(source(), name, ins, outs),
    "vm": lambda graph, ins, outs, source, name: VMRunner(Machine(graph, ins, outs)),
    "numpy": lambda graph, ins, outs, source, name: PlanRunner(Plan(graph, ins, outs)),
}
BACKEND_NAMES: Final = ("auto", *BACKENDS)
