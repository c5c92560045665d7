"""Calls of evaluators whose formula has vector inputs (DESIGN.md section 2b).

A vector input's elements are its argument's last axis; the axes before it are batch axes,
broadcast with the scalar inputs' axes like a gufunc with signature `(n),()->()`. A call
binds the inputs, measures the vector inputs' lengths and checks them against the formula
(`ir.shapes.lengths`: equal lengths where vectors meet, indices in range, fixed lengths),
then runs the graph: a scalar result has the batch shape, a vector result (the gradient
with respect to a vector input) the batch shape plus its length.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from adcompile.ad.products import Derived
from adcompile.api.results import as_array, check_out, unpack_out
from adcompile.codegen.numba import Math
from adcompile.codegen.vector import VectorModule, vector_module
from adcompile.ir.graph import Parsed
from adcompile.ir.ops import OPS
from adcompile.ir.shapes import LengthError, lengths, shapes
from adcompile.run import jit, tiers
from adcompile.run.interpret import Plan
from adcompile.run.vectors import VectorRunner
from adcompile.schedule import schedule


class VectorCall:
    """Runs one evaluator's graph on batches of vectors (see the module docstring)."""

    def __init__(
        self,
        derived: Derived,
        names: Sequence[str],
        reduce: str | None,
        backend: str,
        header: Sequence[str],
        like: Sequence[int | None] = (),
        math: Math = "simd",
    ) -> None:
        graph = derived.graph
        self.derived = derived
        self.header = tuple(header)
        self.math: Math = math
        self.n_inputs = len(derived.params) - len(derived.seeds)
        self.names = tuple(names)
        self.reduce = reduce
        self.shapes = shapes(graph)
        self.params = derived.params
        self.outputs = derived.outputs
        self.vector = [p in graph.vectors for p in self.params]
        program = schedule(graph, self.params, self.outputs)
        nodes = graph.nodes
        # the nodes whose lengths or indices the checks need (slices, subscripts), in order
        self.sized = [
            n for n in program.order if OPS[nodes[n].op].shape in ("slice", "index", "like1")
        ]
        self.plan = Plan(graph, self.params, self.outputs)
        # the length source of each vector result (an identically zero derivative has the
        # shape of what it is the derivative of, or along: `like`)
        like = list(like) or [None] * len(self.outputs)
        self.out_source = [
            self.shapes.source[o if o is not None else w]  # type: ignore[index]
            if (o if o is not None else w) is not None
            else None
            for o, w in zip(self.outputs, like)
        ]
        self.out_vector = [s is not None for s in self.out_source]
        # tiers (DESIGN.md section 3b): the interpreter, then the compiled module of
        # `codegen.vector` (no VM for vectors: "vm" stays on the interpreter)
        self.backend = backend
        self.tiered = backend == "auto" and tiers.background()
        self.build: tiers.Build | None = None
        self.runner: VectorRunner | None = None
        self.work = 0
        self.threshold = tiers.tier_up_work()
        self._module: VectorModule | None = None
        self._lock = threading.Lock()

    def bind(self, values: Sequence[Any]) -> tuple[list[np.ndarray], tuple[int, ...], Any]:
        """The inputs as arrays, the batch shape, and the lengths (checked)."""
        arrays = [as_array(name, v) for name, v in zip(self.names, values)]
        given: dict[int, int] = {}
        batch_shapes = []
        spread: list[int] = []  # seeds given as one number for a vector: every element
        for k, (name, a, vector, nid) in enumerate(
            zip(self.names, arrays, self.vector, self.params)
        ):
            if vector:
                if a.ndim == 0 and k >= self.n_inputs:
                    spread.append(k)
                    continue
                if a.ndim == 0:
                    raise TypeError(
                        f"input '{name}' is a vector (the formula indexes, slices or reduces "
                        "it): give it an array whose last axis holds its elements, or "
                        "declare it a scalar with compile(..., shapes={'" + name + "': ()})"
                    )
                given[nid] = a.shape[-1]
                batch_shapes.append(a.shape[:-1])
            else:
                batch_shapes.append(a.shape)
        try:
            batch = tuple(np.broadcast_shapes(*batch_shapes))
        except ValueError:
            shown = ", ".join(f"{n}: {a.shape}" for n, a in zip(self.names, arrays))
            raise ValueError(f"input batch shapes do not broadcast together ({shown})") from None
        try:
            found = lengths(self.shapes, given, self.sized)
        except LengthError as exc:
            raise LengthError(str(exc)) from None
        vectors = self.derived.graph.vectors
        for k in spread:
            n = found.of[vectors[self.params[k]][0]]
            arrays[k] = np.full(n, float(arrays[k]))
        return arrays, batch, found

    def __call__(
        self, values: Sequence[Any], out: Any, layout: Any, package: Callable[[list[Any]], Any]
    ) -> Any:
        arrays, batch, found = self.bind(values)
        runner = self.run(math.prod(batch) * max(found.of.values(), default=1))
        results = runner(arrays, batch, found.of) if runner else self.plan(*arrays)
        shaped: list[np.ndarray] = []
        for r, source in zip(results, self.out_source):
            shape = batch + ((found.of[source],) if source is not None else ())
            r = np.asarray(r, dtype=np.float64)
            mine = r.shape == shape and r.flags.writeable
            if not mine or any(np.may_share_memory(r, a) for a in arrays):
                r = np.broadcast_to(r, shape).copy()  # never a view of an input
            shaped.append(r)
        if self.reduce is not None:
            if out is not None:
                raise TypeError("out= cannot be used with reduce (the result is summed)")
            axes = tuple(range(len(batch)))
            size = math.prod(batch)
            sums = [np.sum(r, axis=axes) for r in shaped]
            if self.reduce == "mean":
                sums = [s / size if size else s * math.nan for s in sums]
            return package([_plain(s) for s in sums])
        if out is not None:
            outs = (
                unpack_out(layout, len(shaped), out, batch)
                if not any(self.out_vector)
                else (_vector_outs(layout, len(shaped), out, shaped))
            )
            for o, r in zip(outs, shaped):
                np.copyto(o, r, casting="same_kind")
            return out
        if {a.dtype for a in arrays if a.ndim} == {np.dtype(np.float32)}:
            shaped = [r.astype(np.float32) for r in shaped]  # as the scalar path does
        return package([_plain(r) for r in shaped])

    def matrix(self, values: Sequence[Any], product: str, n_wrt: int, out: Any) -> np.ndarray:
        """The Jacobian (`product` "vjp": row m is the vector-Jacobian product along output
        element m) or the Hessian ("hvp": column j is the Hessian-vector product along input
        element j) at a batch of points, shape batch + (rows, columns); outputs and `wrt`
        inputs are flattened in order, a vector by its elements."""
        _, batch, found = self.bind(values)
        seeds = self.params[len(values) :]
        vectors = self.derived.graph.vectors
        sizes = [found.of[vectors[s][0]] if s in vectors else 0 for s in seeds]
        blocks = [max(n, 1) for n in sizes]
        lines: list[np.ndarray] = []
        for k in range(sum(blocks)):
            unit: list[Any] = []
            at = k
            for n in sizes:
                if n:
                    unit.append(np.eye(1, n, at).reshape(n) if 0 <= at < n else np.zeros(n))
                else:
                    unit.append(1.0 if at == 0 else 0.0)
                at -= max(n, 1)
            found_values = self(list(values) + unit, None, None, list)
            parts = found_values[len(found_values) - n_wrt :]
            lines.append(np.concatenate([np.reshape(p, (*batch, -1)) for p in parts], -1))
        axis = -2 if product == "vjp" else -1
        matrix = np.stack(lines, axis=axis) if lines else np.zeros((*batch, 0, 0))
        if out is None:
            return matrix
        check_out(out, matrix.shape)
        np.copyto(out, matrix, casting="same_kind")
        return out  # type: ignore[no-any-return]

    # -- tiers ------------------------------------------------------------------------------
    @property
    def module(self) -> VectorModule:
        """The compiled tier's module (printed on first use)."""
        if self._module is None:
            d = self.derived
            self._module = vector_module(d.graph, d.params, d.outputs, self.header, self.math)
        return self._module

    @property
    def tier(self) -> str:
        self.adopt()
        return "compiled" if self.runner is not None else "interpreter"

    def run(self, work: int) -> VectorRunner | None:
        """The compiled runner if it answers now (None: the interpreter), counting work."""
        if self.runner is not None or self.backend in ("numpy", "vm"):
            return self.runner
        if not self.tiered:  # compiled before the first result
            self.wait(None)
            return self.runner
        self.adopt()
        self.work += max(work, tiers.CALL_WORK)
        if self.work >= self.threshold and self.build is None:
            self.request()
        return self.runner

    def request(self) -> tiers.Build:
        with self._lock:
            if self.build is None:
                self.build = tiers.request(self.module.source)
            return self.build

    def adopt(self) -> None:
        build = self.build
        if self.runner is None and build is not None and build.done and build.error is None:
            assert build.module is not None
            self.runner = VectorRunner(self.module, build.module)

    def wait(self, timeout: float | None) -> None:
        """Build the compiled tier now (or wait for the build under way); see
        `Evaluator.wait`. The "numpy" and "vm" backends have none to wait for."""
        if self.runner is not None or self.backend in ("numpy", "vm"):
            return
        if not tiers.background():
            with self._lock:
                if self.runner is None:
                    self.runner = VectorRunner(self.module, jit.load(self.module.source))
            return
        build = self.request()
        if not build.wait(timeout):
            raise TimeoutError(f"the compiled tier was not ready within {timeout} s")
        if build.error is not None:
            raise build.error
        self.adopt()


def shaped_like(program: Parsed, kind: str, wrt: Sequence[str], derived: Derived) -> list[Any]:
    """For each kernel output, the node whose shape it has where it is identically zero:
    a gradient its input's, a tangent its output's, a Hessian-vector product its input's."""
    ids = dict(zip(program.inputs, program.input_ids))
    if kind == "hvp":
        return [ids[w] for w in wrt]
    if kind == "jvp":
        return [*program.outputs, *program.outputs]
    return list(derived.grad_of)


def _plain(r: np.ndarray) -> Any:
    """A 0-d result as a Python float, else the array."""
    return float(r) if np.ndim(r) == 0 else r


def _vector_outs(layout: Any, count: int, out: Any, shaped: list[np.ndarray]) -> list[Any]:
    """`out=` arrays for results some of which are vectors: each checked for its shape."""
    flat: list[Any] = []
    stack = [out]
    while stack:
        part = stack.pop()
        if isinstance(part, (tuple, list)):
            stack.extend(reversed(part))
        else:
            flat.append(part)
    if len(flat) != count:
        raise ValueError(f"out: expected {count} arrays, got {len(flat)}")
    for o, r in zip(flat, shaped):
        check_out(o, r.shape)
    return flat
