"""A precompiled block interpreter (the "VM"): any IR program, no per-formula Numba compile.

Numba's compile time grows faster than linearly with the size of a straight-line kernel
(DESIGN.md section 1b), so big formulas run here instead: ONE generic Numba module
(`source.vm_source`, printed from the op table's `python` column), compiled once per
adcompile version and loaded from Numba's disk cache by later processes (`jit.load`), runs
any program `encode.encode` makes. This module loads it and drives it: a `Machine` keeps
per-thread buffers (parameter block, input descriptors, register files) so a call writes a
few numbers and makes one call.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Final

import numpy as np

from adcompile.ir.graph import Graph, NodeId
from adcompile.run import jit
from adcompile.run.vm.encode import Encoded, encode
from adcompile.run.vm.source import PARAMS, vm_source

#: Block size B (points): the register file (registers x B float64s, per thread) is aimed
#: at REGISTER_BYTES (about the L2 cache), with B in [BLOCK_MIN, BLOCK_MAX]; below
#: BLOCK_MIN the dispatch cost per instruction shows more than the cache misses (measured on
#: 1,000- and 10,000-step chains). B shrinks below BLOCK_MIN only to keep the register file
#: under REGISTER_LIMIT.
REGISTER_BYTES: Final = 2 << 20
REGISTER_LIMIT: Final = 64 << 20
BLOCK_MIN: Final = 32
BLOCK_MAX: Final = 512

#: Inputs and outputs are passed to the VM as (kind, address): a scalar value or an array.
SCALAR, FLOAT64, FLOAT32 = 0, 1, 2
#: What the batch driver does with the outputs: store them (float64 / float32) or sum them.
STORE64, STORE32, SUM = 0, 1, 2


def block_size(registers: int) -> int:
    """Points per block for a program of `registers` registers (a multiple of 8)."""
    row = 8 * max(registers, 1)
    block = max(BLOCK_MIN, min(BLOCK_MAX, REGISTER_BYTES // row))
    block = min(block, max(8, REGISTER_LIMIT // row))
    return block - block % 8


_lock = threading.Lock()
_module: ModuleType | None = None


def load() -> ModuleType:
    """The compiled VM module (compiled on first use, then loaded from Numba's disk cache)."""
    global _module
    if _module is None:
        with _lock:
            if _module is None:
                _module = jit.load(vm_source())
    return _module


#: Batches of at most this many blocks run on the calling thread (no parallel launch).
SERIAL_BLOCKS: Final = 4
_NO_OUTPUT: Final = 3  # run_chunk's mode that leaves the outputs in the registers
_SLOT: Final = {name: k for k, name in enumerate(PARAMS)}


def _address(a: np.ndarray) -> int:
    return int(a.__array_interface__["data"][0])


class _State:
    """One thread's buffers for a machine (parameter blocks, input descriptors, register
    files) and their addresses, taken once: a call then only writes a few numbers."""

    def __init__(self, program: Encoded, n_outputs: int) -> None:
        vm = load()
        self.run_chunk = vm.run_chunk.ctypes
        self.run_batch = vm.run_batch
        self.chunk_fn = int(vm.run_chunk.address)
        n_in = program.n_inputs
        self.kinds = np.zeros(n_in, dtype=np.int64)
        self.addrs = np.zeros(n_in, dtype=np.int64)
        self.scalars = np.zeros(n_in, dtype=np.float64)
        self.no_kinds = np.zeros(n_in, dtype=np.int64)  # every input a scalar
        self.out_addrs = np.zeros(n_outputs, dtype=np.int64)
        self.sums = np.zeros((1, n_outputs))  # one row per chunk
        self.point = np.zeros(program.registers)  # the register file of `scalar`
        self.files = np.zeros(0)
        self.params = np.zeros(len(PARAMS), dtype=np.int64)
        self.params_at = _address(self.params)
        fixed = {
            "block_fn": int(vm.run_block.address),
            "code": _address(program.code),
            "ninstr": len(program.code),
            "consts": _address(program.consts),
            "kinds": _address(self.kinds),
            "addrs": _address(self.addrs),
            "scalars": _address(self.scalars),
            "registers": program.registers,
            "out_regs": _address(program.out_regs),
            "nout": n_outputs,
            "out_addrs": _address(self.out_addrs),
        }
        for name, value in fixed.items():
            self.params[_SLOT[name]] = value
        # the parameters of one point (the `scalar` path) never change
        self.point_params = self.params.copy()
        point = {"kinds": _address(self.no_kinds), "files": _address(self.point)}
        point |= {"block": 1, "pitch": 1, "n": 1, "chunks": 1, "mode": _NO_OUTPUT}
        for name, value in point.items():
            self.point_params[_SLOT[name]] = value
        self.point_params_at = _address(self.point_params)

    def register_files(self, size: int) -> int:
        """The address of at least `size` float64s of register file (kept for reuse)."""
        if self.files.size < size:
            self.files = np.empty(size)
        return _address(self.files)


class Machine:
    """Evaluate `outputs` (None: the constant 0.0) as functions of the `inputs` nodes.

    Thread-safe: each calling thread gets its own buffers.
    """

    def __init__(
        self, graph: Graph, inputs: Sequence[NodeId], outputs: Sequence[NodeId | None]
    ) -> None:
        self.program = encode(graph, inputs, outputs)
        self.block = block_size(self.program.registers)
        self.n_inputs = len(inputs)
        self.n_outputs = len(outputs)
        self._local = threading.local()

    def __repr__(self) -> str:
        p = self.program
        return (
            f"<Machine {len(p.code)} instructions, {p.registers} registers, "
            f"block {self.block}, {self.n_inputs} inputs, {self.n_outputs} outputs>"
        )

    def _state(self) -> _State:
        state: _State | None = getattr(self._local, "state", None)
        if state is None:
            state = self._local.state = _State(self.program, self.n_outputs)
        return state

    def scalar(self, *values: float) -> tuple[float, ...]:
        """The outputs at one point."""
        if len(values) != self.n_inputs:
            raise TypeError(f"expected {self.n_inputs} input values, got {len(values)}")
        state = self._state()
        state.scalars[:] = values
        state.run_chunk(state.point_params_at, 0)
        return tuple(state.point[self.program.out_regs].tolist())

    def batch(self, n: int, ins: Sequence[float | np.ndarray], outs: Sequence[np.ndarray]) -> None:
        """Write output j at point i to `outs[j][i]`.

        `ins[k]` is a float (the same at every point) or a 1-D array of length n (float32
        arrays are widened on load, other dtypes converted to float64); `outs` are 1-D
        C-contiguous writable arrays of length n, all float64 or all float32.
        """
        n = _count(n)
        if len(outs) != self.n_outputs:
            raise ValueError(f"expected {self.n_outputs} output arrays, got {len(outs)}")
        dtypes = {np.dtype(o.dtype) for o in outs}
        if len(dtypes) > 1 or not dtypes <= {np.dtype(np.float64), np.dtype(np.float32)}:
            raise TypeError(f"outputs must be all float64 or all float32, got {dtypes}")
        for o in outs:
            if o.shape != (n,) or not o.flags.c_contiguous or not o.flags.writeable:
                raise ValueError(f"each output must be a writable contiguous ({n},) array")
        state = self._state()
        keep = _inputs(state, n, ins)
        if n == 0:
            return
        for j, o in enumerate(outs):
            state.out_addrs[j] = _address(o)
        self._run(state, n, STORE32 if dtypes == {np.dtype(np.float32)} else STORE64)
        del keep  # the input arrays stay alive (their addresses valid) until here

    def reduce_sum(self, n: int, ins: Sequence[float | np.ndarray]) -> tuple[float, ...]:
        """The sum over the n points of each output (no per-point arrays are made)."""
        n = _count(n)
        state = self._state()
        keep = _inputs(state, n, ins)
        if n == 0:
            return (0.0,) * self.n_outputs
        chunks = self._run(state, n, SUM)
        del keep
        return tuple(state.sums[:chunks].sum(axis=0).tolist())

    def _run(self, state: _State, n: int, mode: int) -> int:
        """Run the batch of n points described by `state`; return the number of chunks."""
        block = min(self.block, -(-n // 8) * 8)
        blocks = -(-n // block)
        if blocks <= SERIAL_BLOCKS:
            chunks = 1
        else:
            import numba

            chunks = min(blocks, numba.get_num_threads())
        pitch = block
        params = state.params
        params[_SLOT["files"]] = state.register_files(chunks * self.program.registers * pitch)
        params[_SLOT["block"]] = block
        params[_SLOT["pitch"]] = pitch
        params[_SLOT["n"]] = n
        params[_SLOT["chunks"]] = chunks
        params[_SLOT["mode"]] = mode
        if mode == SUM:
            if len(state.sums) < chunks:
                state.sums = np.zeros((chunks, self.n_outputs))
            state.sums[:chunks] = -0.0  # -0.0 + x is x for every x, -0.0 included
            params[_SLOT["sums"]] = _address(state.sums)
        if chunks == 1:
            state.run_chunk(state.params_at, 0)
        else:
            state.run_batch(state.chunk_fn, state.params_at, chunks)
        return chunks


def _count(n: int) -> int:
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return n


def _inputs(state: _State, n: int, ins: Sequence[float | np.ndarray]) -> list[np.ndarray]:
    """Describe the inputs in `state` (kind, address or value); return the arrays read.

    Each input is a float (the same at every point) or a 1-D array of length n; float32
    arrays are read as they are (widened on load), other arrays are converted to float64.
    """
    count = len(state.kinds)
    if len(ins) != count:
        raise ValueError(f"expected {count} inputs, got {len(ins)}")
    keep: list[np.ndarray] = []
    for k, value in enumerate(ins):
        if isinstance(value, float | int):
            state.kinds[k], state.scalars[k] = SCALAR, value
            continue
        a = np.asarray(value)
        if a.ndim == 0:
            state.kinds[k], state.scalars[k] = SCALAR, float(a)
            continue
        if a.shape != (n,):
            raise ValueError(f"input {k}: expected a float or shape ({n},), got {a.shape}")
        if a.dtype == np.float32:
            a = np.ascontiguousarray(a)
            state.kinds[k] = FLOAT32
        else:
            a = np.ascontiguousarray(a, dtype=np.float64)
            state.kinds[k] = FLOAT64
        keep.append(a)
        state.addrs[k] = _address(a)
    return keep


__all__ = ["Machine", "block_size", "load"]
