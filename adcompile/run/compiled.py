"""The compiled tier's runner: the generated Numba module's scalar kernel and its driver.

The module (`codegen.numba_source`) has two compiled functions: the scalar kernel, called
directly for one point, and `drive`, which loops the kernel over a block of a batch
described by an int64 parameter block (addresses and element strides of every input and
output; see `codegen.numba.numba_source`). One driver serves every layout: the runner
merges the batch's axes into at most two (`_collapse`, no copy for broadcast views, whose
strides are 0), passes one-number inputs as a cell with strides 0, and converts only what
the driver cannot read in place (float32 inputs; float32 or oddly strided outputs go
through float64 temporaries). Large batches are split into blocks run on a thread pool
(the driver holds no GIL), `numba.get_num_threads()` of them at a time.
"""

from __future__ import annotations

import ctypes
import itertools
import math
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any, Final

import numpy as np
from numpy.lib.stride_tricks import as_strided

from adcompile.codegen.numba import DRIVER, PER_ARRAY, STORE, SUM, param_count
from adcompile.run import jit

Shape = tuple[int, ...]

#: Batches of fewer points run on the calling thread (a thread pool round trip costs about
#: as much as evaluating this many points of a small formula).
PARALLEL_MIN: Final = 1 << 15

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _threads() -> int:
    import numba

    return int(numba.get_num_threads())


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                import numba

                _pool = ThreadPoolExecutor(numba.config.NUMBA_NUM_THREADS, "adcompile")  # type: ignore[attr-defined]
    return _pool


def _forget_pool() -> None:  # a forked child has none of its parent's threads
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _interface_address(a: np.ndarray) -> int:
    return int(a.__array_interface__["data"][0])


def _struct_address(a: np.ndarray) -> int:
    # NumPy's PyArrayObject starts with PyObject_HEAD and then `char *data` (the public
    # struct of ndarraytypes.h): 5x faster than __array_interface__, checked below.
    return ctypes.c_void_p.from_address(id(a) + _DATA_OFFSET).value or 0


_DATA_OFFSET: Final = object.__basicsize__
_probe = np.arange(3.0)[1:]
address = (
    _struct_address if _struct_address(_probe) == _interface_address(_probe) else _interface_address
)


class _Params:
    """One thread's parameter block, the cells holding one-number inputs, and the sums
    (ctypes arrays: writing one item costs ~50 ns, against ~1 µs for a NumPy slice)."""

    def __init__(self, n_in: int, n_out: int) -> None:
        self.block = (ctypes.c_int64 * param_count(n_in, n_out))()
        self.at = ctypes.addressof(self.block)
        self.cells = (ctypes.c_double * max(n_in, 1))()
        self.cells_at = ctypes.addressof(self.cells)
        self.n_out = n_out
        self.sums = np.zeros((1, n_out))


class NumbaRunner:
    """Runs the generated Numba module (`codegen.numba_source`), loaded on first use."""

    def __init__(
        self, source: str, fname: str, inputs: Sequence[object], outputs: Sequence[object]
    ) -> None:
        self.source = source
        self.fname = fname
        self.n_in = len(inputs)
        self.n_out = len(outputs)
        self._module: ModuleType | None = None
        self._lock = threading.Lock()
        self._local = threading.local()
        self._drive: Any = None
        #: The inputs the module reads as one number (None: `source`'s own pattern, unknown).
        self.scalars: frozenset[int] | None = None

    @property
    def module(self) -> ModuleType:
        """The imported module (compiled, or loaded from Numba's disk cache, once)."""
        if self._module is None:
            with self._lock:
                if self._module is None:
                    module = jit.load(self.source)
                    self._drive = entry_point(getattr(module, DRIVER, None))
                    self._module = module
        return self._module

    def adopt(self, module: ModuleType, scalars: frozenset[int]) -> None:
        """Use `module`, already loaded, as this runner's: printed for inputs `scalars`
        being one number in every call (`codegen.numba.numba_source`)."""
        with self._lock:
            self._drive = entry_point(getattr(module, DRIVER, None))
            self._module = module
            self.scalars = scalars

    def scalar(self, *values: float) -> Sequence[float]:
        return getattr(self.module, self.fname)(*values)  # type: ignore[no-any-return]

    def _params(self) -> _Params:
        params: _Params | None = getattr(self._local, "params", None)
        if params is None:
            params = self._local.params = _Params(self.n_in, self.n_out)
        return params

    def fill(self, ins: Sequence[np.ndarray], outs: Sequence[np.ndarray]) -> None:
        shape = outs[0].shape
        if not outs[0].size:
            return
        if _flat(shape, ins, outs):  # the common case: no views to build
            self._run(STORE, [outs[0].size], [*ins, *outs])
            return
        direct = all(o.dtype == np.float64 for o in outs)
        targets = list(outs) if direct else [np.empty(shape) for _ in outs]
        found = _layout(shape, ins, targets)
        if found is None:  # outs strided beyond two axes: write through temporaries
            targets = [np.empty(shape) for _ in outs]
            found = _layout(shape, ins, targets)
            assert found is not None
        self._run(STORE, *found)
        if targets is not outs:
            for out, temp in zip(outs, targets):
                if out is not temp:
                    np.copyto(out, temp, casting="same_kind")

    def fill_block(self, ins: Sequence[np.ndarray], block: np.ndarray) -> None:
        """`fill` into the rows of `block`, a C-contiguous float64 array (outputs, *shape)."""
        shape = block.shape[1:]
        size = math.prod(shape)
        if not size:
            return
        if not _flat(shape, ins, ()):
            self.fill(ins, list(block))
            return
        at, row = address(block), 8 * size
        first = 2 + PER_ARRAY * self.n_in
        self._params().block[first:] = [v for k in range(self.n_out) for v in (at + row * k, 0, 1)]
        self._run(STORE, [size], ins)

    def total(self, ins: Sequence[np.ndarray], shape: Shape) -> Sequence[float]:
        size = math.prod(shape)
        if not size:
            return [0.0] * self.n_out
        if _flat(shape, ins, ()):
            return self._run(SUM, [size], list(ins)).tolist()  # type: ignore[no-any-return]
        found = _layout(shape, ins, [])
        assert found is not None  # without outs, inputs can always be copied flat
        return self._run(SUM, *found).tolist()  # type: ignore[no-any-return]

    def _run(self, mode: int, dims: list[int], arrays: Sequence[Any]) -> np.ndarray:
        """Run the driver over the batch `dims` (1 or 2 axes) of `arrays` (inputs, then
        outputs, or inputs alone when the outputs' parameters are set already): floats,
        0-d or size-1 arrays (one number), views over `dims`, or C-contiguous float64
        arrays of any shape when `dims` is one axis. In SUM mode, the sums of the outputs."""
        module = self.module
        params = self._params()
        block = params.block
        block[0] = mode
        rows, cols = (1, dims[0]) if len(dims) == 1 else (dims[0], dims[1])
        cells, cells_at = params.cells, params.cells_at
        one_axis = len(dims) == 1
        values: list[int] = []
        n_in = self.n_in
        for k, a in enumerate(arrays):
            if k < n_in and (type(a) is float or a.size == 1):  # one number: a cell
                cells[k] = a if type(a) is float else float(a.reshape(-1)[0])
                values += (cells_at + 8 * k, 0, 0)
            elif one_axis and a.ndim != 1:  # C-contiguous, read as one axis
                values += (address(a), 0, 1)
            else:
                strides = a.strides
                si = strides[0] // 8 if len(strides) == 2 else 0
                values += (address(a), si, strides[-1] // 8)
        block[2 : 2 + len(values)] = values  # type: ignore[assignment]
        size = rows * cols
        tasks = 1 if size < 2 * PARALLEL_MIN else min(_threads(), -(-size // PARALLEL_MIN))
        if mode == SUM:
            if len(params.sums) < tasks:
                params.sums = np.zeros((tasks, self.n_out))
            block[1] = address(params.sums)
        drive = self._drive
        if tasks == 1:
            drive(params.at, 0, rows, 0, cols, 0)
        else:
            parts = _split(rows, cols, tasks)
            futures = [
                _executor().submit(drive, params.at, i0, i1, j0, j1, t)
                for t, (i0, i1, j0, j1) in enumerate(parts)
            ]
            for future in futures:
                future.result()
            tasks = len(parts)
        del module  # held (with `arrays`) until the driver has returned
        if mode == SUM:
            sums: np.ndarray = params.sums[:tasks].sum(axis=0)
            return sums
        return params.sums


def _flat(shape: Shape, ins: Sequence[np.ndarray], outs: Sequence[np.ndarray]) -> bool:
    """Whether the driver can read and write everything as one contiguous axis: float64
    C-contiguous outs, and inputs that are one number or float64 C-contiguous of `shape`."""
    for o in outs:
        if o.dtype != np.float64 or not o.flags.c_contiguous:
            return False
    for a in ins:
        if a.size != 1 and (a.shape != shape or a.dtype != np.float64 or not a.flags.c_contiguous):
            return False
    return True


def _split(rows: int, cols: int, tasks: int) -> list[tuple[int, int, int, int]]:
    """`tasks` blocks (i0, i1, j0, j1) covering the rows x cols batch: by rows when there
    are enough of them, else by columns."""
    if rows >= tasks:
        cuts = [rows * t // tasks for t in range(tasks + 1)]
        return [(a, b, 0, cols) for a, b in itertools.pairwise(cuts)]
    cuts = [cols * t // tasks for t in range(tasks + 1)]
    return [(0, rows, a, b) for a, b in itertools.pairwise(cuts)]


def _layout(
    shape: Shape, ins: Sequence[np.ndarray], outs: Sequence[np.ndarray]
) -> tuple[list[int], list[Any]] | None:
    """The batch as 1 or 2 axes and the driver's arrays over them (inputs as floats or
    float64 views, then outputs); None when the outs cannot be written in place."""
    size = math.prod(shape)
    wide = [a if a.size == 1 or a.dtype == np.float64 else a.astype(np.float64) for a in ins]
    if all(o.flags.c_contiguous for o in outs) and all(
        a.size == 1 or (a.shape == shape and a.flags.c_contiguous) for a in wide
    ):  # the common case, without building strided views
        args = [number(a) if a.size == 1 else a.reshape(-1) for a in wide]
        return [size], [*args, *(o.reshape(-1) for o in outs)]
    arrays = [a for a in wide if a.size != 1]
    found = _collapse(shape, [*(np.broadcast_to(a, shape) for a in arrays), *outs])
    if found is None:  # more than 2 axes after merging: copy the inputs
        if not all(o.flags.c_contiguous for o in outs):
            return None
        flat = [np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1) for a in arrays]
        found = ([size], [*flat, *(o.reshape(-1) for o in outs)])
    dims, views = found
    if any(s % 8 for v in views for s in v.strides):  # not on float64 boundaries
        if not all(o.flags.c_contiguous for o in outs):
            return None
        views = [np.ascontiguousarray(v) for v in views[: len(arrays)]] + views[len(arrays) :]
    it = iter(views[: len(arrays)])
    args = [number(a) if a.size == 1 else next(it) for a in wide]
    return dims, [*args, *views[len(arrays) :]]


def number(a: np.ndarray) -> float:
    """The one element of a size-1 array, as a float."""
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


def entry_point(dispatcher: Any) -> Any:
    """The compiled C entry of a Numba function with one explicit signature (it skips the
    dispatcher's type resolution: ~0.15 µs a call); the dispatcher itself without Numba."""
    overloads = getattr(dispatcher, "overloads", None)
    if overloads and len(overloads) == 1:
        return next(iter(overloads.values())).entry_point
    return dispatcher
