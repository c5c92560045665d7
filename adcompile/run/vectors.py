"""The compiled tier of formulas with vectors: runs the module of `codegen.vector`.

The module's `drive(P, steps, lens, *inputs, *outputs)` loops over the P points of a batch;
this runner lays the inputs out as it reads them (a scalar input: P numbers, or one with
step 0; a vector input: P rows, or one row with step 0; broadcast copies only where an input
covers part of the batch), passes the lengths, and gives the results the batch's shape.
Batches with enough work (points times elements) are split into blocks of points run on
the compiled tier's thread pool, each thread with its own scratch buffer.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from adcompile.codegen.vector import VectorModule
from adcompile.ir.node import NodeId
from adcompile.run.compiled import PARALLEL_MIN, _executor, _threads


class VectorRunner:
    """Runs a loaded vector module (see the module docstring)."""

    def __init__(self, module: VectorModule, loaded: ModuleType) -> None:
        self.module = module
        self.drive: Any = loaded.drive
        self._local = threading.local()  # each thread's scratch buffer, kept between calls

    def _scratch(self, lens: np.ndarray) -> np.ndarray:
        size = sum(int(lens[k]) for k in self.module.scratch)
        buffer: np.ndarray | None = getattr(self._local, "scratch", None)
        if buffer is None or buffer.size < size:
            buffer = self._local.scratch = np.empty(max(size, 1))
        return buffer

    def __call__(
        self, arrays: Sequence[np.ndarray], batch: tuple[int, ...], lengths: Mapping[NodeId, int]
    ) -> list[np.ndarray]:
        size = math.prod(batch)
        lens = np.array([lengths[s] for s in self.module.sources], dtype=np.int64)
        outs = [
            np.empty((size, int(lens[k]))) if k is not None else np.empty(size)
            for k in self.module.output_sources
        ]
        if not size:
            return [o.reshape(batch + o.shape[1:]) for o in outs]
        ins: list[np.ndarray] = []
        steps = np.zeros(len(arrays), dtype=np.int64)
        for k, (a, vector) in enumerate(zip(arrays, self.module.vector_params)):
            tail = a.shape[-1:] if vector else ()
            head = a.shape[: a.ndim - len(tail)]
            if math.prod(head) == 1:
                flat = np.ascontiguousarray(a, dtype=np.float64).reshape(1, *tail)
            else:
                steps[k] = 1
                if head != batch:
                    a = np.broadcast_to(a, batch + tail)
                flat = np.ascontiguousarray(a, dtype=np.float64).reshape(size, *tail)
            ins.append(flat)
        work = size * max(int(lens.max(initial=1)), 1)
        tasks = 1 if work < 2 * PARALLEL_MIN or size < 2 else min(_threads(), size)
        if tasks == 1:
            self.drive(size, steps, lens, self._scratch(lens), *ins, *outs)
        else:  # blocks of points on the thread pool (the driver holds no GIL)
            edges = [size * t // tasks for t in range(tasks + 1)]

            def block(t: int) -> None:
                lo, hi = edges[t], edges[t + 1]
                part = [a[lo:hi] if step else a for a, step in zip(ins, steps)]
                self.drive(hi - lo, steps, lens, self._scratch(lens), *part,
                           *(o[lo:hi] for o in outs))  # fmt: skip

            for future in [_executor().submit(block, t) for t in range(tasks)]:
                future.result()
        return [o.reshape(batch + o.shape[1:]) for o in outs]
