"""How a kernel runs on numbers: one runner per backend, behind the same three calls.

A runner (`NumbaRunner`, `VMRunner`, `PlanRunner`) evaluates the outputs of one kernel
(value(s), then gradient entries):

- `scalar(*values)`: at one point, floats in and out;
- `fill(ins, outs)`: over the broadcast batch, writing output j into `outs[j]` (arrays of the
  broadcast shape, float64 or float32: float32 results are float64 results rounded once);
- `total(ins, shape)`: the sum of every output over the batch, without per-point arrays.

Inputs are NumPy arrays (float64 or float32, any shape broadcastable to the batch). All
arithmetic is float64. `NumbaRunner` runs the generated Numba module: it passes an input that
is one number as a float (a loop invariant), and reduces every other input and output to a
1-D or 2-D strided view of the same memory (broadcast axes have stride 0), so broadcasting
copies nothing; only a broadcast that cannot be expressed in two axes is copied.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, Final

import numpy as np
from numpy.lib.stride_tricks import as_strided

from adcompile.ir.graph import Graph
from adcompile.ir.node import NodeId
from adcompile.run import jit
from adcompile.run.interpret import Plan
from adcompile.run.vm import Machine

Shape = tuple[int, ...]


class NumbaRunner:
    """Runs the generated Numba module (`codegen.numba_source`), loaded on first use."""

    def __init__(self, source: str, fname: str) -> None:
        self.source = source
        self.fname = fname
        self._module: ModuleType | None = None
        self._lock = threading.Lock()

    @property
    def module(self) -> ModuleType:
        """The imported module (compiled, or loaded from Numba's disk cache, once)."""
        if self._module is None:
            with self._lock:
                if self._module is None:
                    self._module = jit.load(self.source)
        return self._module

    def scalar(self, *values: float) -> Sequence[float]:
        return getattr(self.module, self.fname)(*values)  # type: ignore[no-any-return]

    def fill(self, ins: Sequence[np.ndarray], outs: Sequence[np.ndarray]) -> None:
        shape = outs[0].shape
        if not outs[0].size:
            return
        found = _layout(shape, ins, outs)
        if found is None:  # strided outs over more than 2 axes: write via temporaries
            temps = [np.empty(shape, dtype=o.dtype) for o in outs]
            self.fill(ins, temps)
            for out, temp in zip(outs, temps):
                out[...] = temp
            return
        dims, args, views = found
        if len(dims) == 1:
            self.module.batch(dims[0], *args, *views)
        else:
            self.module.batch2(dims[0], dims[1], *args, *views)

    def total(self, ins: Sequence[np.ndarray], shape: Shape) -> Sequence[float]:
        found = _layout(shape, ins, [])
        assert found is not None  # without outs, inputs can always be copied flat
        dims, args, _ = found
        if len(dims) == 1:
            return self.module.total(dims[0], *args)  # type: ignore[no-any-return]
        return self.module.total2(dims[0], dims[1], *args)  # type: ignore[no-any-return]


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
    return [_number(a) if a.size == 1 else np.broadcast_to(a, shape).reshape(-1) for a in ins]


def _layout(
    shape: Shape, ins: Sequence[np.ndarray], outs: Sequence[np.ndarray]
) -> tuple[list[int], list[float | np.ndarray], list[np.ndarray]] | None:
    """The batch as 1 or 2 axes: kernel arguments (floats or strided views) and out views;
    None when the outs cannot be written in place (strided over more than 2 axes)."""
    size = int(np.prod(shape))
    simple = all(o.flags.c_contiguous for o in outs) and all(
        a.size == 1 or (a.shape == shape and a.flags.c_contiguous) for a in ins
    )
    if simple:  # the common case, without building strided views
        args = [_number(a) if a.size == 1 else a.reshape(-1) for a in ins]
        return [size], args, [o.reshape(-1) for o in outs]
    arrays = [a for a in ins if a.size != 1]
    found = _collapse(shape, [*(np.broadcast_to(a, shape) for a in arrays), *outs])
    if found is None:  # more than 2 axes after merging: copy the inputs, write via temps
        flat = [np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1) for a in arrays]
        if not all(o.flags.c_contiguous for o in outs):
            return None
        found = ([size], [*flat, *(o.reshape(-1) for o in outs)])
    dims, views = found
    it = iter(views[: len(arrays)])
    args = [_number(a) if a.size == 1 else next(it) for a in ins]
    return dims, args, views[len(arrays) :]


def _number(a: np.ndarray) -> float:
    return float(a.reshape(-1)[0])


def _collapse(shape: Shape, arrays: Sequence[np.ndarray]) -> tuple[list[int], list[Any]] | None:
    """Views of `arrays` (all of `shape`) over at most two axes, or None if that needs more.

    Axes of length 1 are dropped and neighbouring axes merged wherever every array steps
    through them as one (stride of the outer = stride of the inner times its length).
    """
    axes = [k for k, d in enumerate(shape) if d != 1]
    dims = [shape[k] for k in axes]
    strides = [[a.strides[k] for k in axes] for a in arrays]
    for k in range(len(dims) - 2, -1, -1):
        if all(s[k] == s[k + 1] * dims[k + 1] for s in strides):
            dims[k : k + 2] = [dims[k] * dims[k + 1]]
            for s in strides:
                s[k : k + 2] = [s[k + 1]]
    if not dims:
        dims, strides = [1], [[0] for _ in arrays]
    if len(dims) > 2:
        return None
    return dims, [as_strided(a, tuple(dims), tuple(s)) for a, s in zip(arrays, strides)]


Runner = NumbaRunner | VMRunner | PlanRunner
#: How a backend builds its runner: (graph, input ids, output ids, the Numba source, the
#: kernel's name); the source is a callable because only the Numba backend prints it.
RunnerFactory = Callable[
    [Graph, Sequence[NodeId], Sequence[NodeId | None], Callable[[], str], str], Runner
]
#: The backend registry: name -> runner factory. `compile(backend=...)` takes these names
#: and "auto" (Numba up to `api.evaluator.JIT_MAX_STATEMENTS` statements, the VM above).
BACKENDS: Final[dict[str, RunnerFactory]] = {
    "numba": lambda graph, ins, outs, source, name: NumbaRunner(source(), name),
    "vm": lambda graph, ins, outs, source, name: VMRunner(Machine(graph, ins, outs)),
    "numpy": lambda graph, ins, outs, source, name: PlanRunner(Plan(graph, ins, outs)),
}
BACKEND_NAMES: Final = ("auto", *BACKENDS)
