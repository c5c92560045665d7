"""Evaluators: what `Formula.value_and_grad(...)` and the other products return.

An `Evaluator` copies the formula's graph, appends what it needs (reverse mode for gradients,
forward mode for tangents) and runs it through a runner of the backend registry
(`run.backends.BACKENDS`), chosen by `api.tiering`: by default the NumPy interpreter first,
then, once hot, Numba (a kernel printed, compiled by the compile worker, cached on disk) or
the precompiled block interpreter (`vm`) for formulas too large to JIT quickly. Calls with
numbers go straight to the scalar kernel; calls with arrays broadcast without copies, into
fresh or given (`out=`) arrays, or into fused sums (`reduce`).
"""

from __future__ import annotations

import math
import pickle
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np

from adcompile import codegen
from adcompile.ad.products import Kind, Matrix, derive
from adcompile.api.daskcall import MODULES, dask_call, has_dask
from adcompile.api.results import (
    as_array,
    bind,
    grad_class,
    matrix_entries,
    pack,
    unpack_out,
    unshared,
)
from adcompile.api.seeds import seed_values
from adcompile.api.tiering import BACKENDS, Tiers
from adcompile.api.vectorcall import VectorCall, shaped_like
from adcompile.codegen import dot as viz
from adcompile.codegen.latex import latex_system
from adcompile.codegen.numba import Math
from adcompile.codegen.sympy import to_sympy
from adcompile.codegen.vector import vector_standalone
from adcompile.ir.graph import Parsed, pformat
from adcompile.ir.node import SEED_MARK
from adcompile.run import tiers
from adcompile.run.backends import Runner
from adcompile.run.compiled import NumbaRunner, entry_point
from adcompile.run.pointwise import at_point, numbers

if TYPE_CHECKING:
    from adcompile.api.formula import Formula

Backend = Literal["auto", "numba", "vm", "numpy"]
Reduce = Literal["sum", "mean"] | None

#: Kernels with more statements than this run on the precompiled block interpreter (`vm`)
#: under backend="auto": Numba's compile time grows faster than linearly with function size
#: (DESIGN.md section 1b; about 2 s at this size here), while the VM has none per formula.
JIT_MAX_STATEMENTS = 400


#: Types the single-point fast path hands straight to the compiled scalar kernel.
_SCALARS: Final = frozenset({float, int, np.float64})
#: How the fast path packages the kernel's tuple: (value, Grad), value, the tuple itself,
#: the bare derivative, Grad, or by the layout (any other product).
_PAIR, _ONE, _ALL, _SECOND, _GRAD, _LAYOUT = range(6)
#: The fast packaging of each (kind, bare, one kernel output?), where there is one.
_FAST_PACK: Final = {
    ("value", False, True): _ONE,
    ("value", False, False): _ALL,
    ("value_and_grad", False, False): _PAIR,
    ("value_and_grad", True, False): _ALL,
    ("grad", False, False): _GRAD,
    ("grad", True, False): _SECOND,
}
_FLOAT32: Final = {np.dtype(np.float32)}
#: The product a Jacobian (Hessian) of a formula with vectors is assembled from.
MATRIX_BY_PRODUCT: Final = {"jacobian": "vjp", "hessian": "hvp"}
#: The keyword that takes the direction of a product.
SEED_KEYWORDS: Final = {"jvp": "tangents", "hvp": "tangents", "vjp": "cotangents"}


class Evaluator:
    """A compiled function of the formula's inputs: its value, or a derivative product.

    Call it with the inputs positionally (in `inputs` order) or by name. Scalars give Python
    floats; arrays broadcast like NumPy ufuncs (without copying) and give arrays of the
    broadcast shape: float32 if every array input is float32, else float64 (arithmetic is
    float64 throughout). `out=` takes preallocated arrays in the structure of the result.
    With `reduce="sum"` or `"mean"` the result is summed (averaged) over the batch.
    Products with a direction take it by keyword: `tangents=` (`jvp`, `hvp`; one per `wrt`
    input) or `cotangents=` (`vjp`; one per output), as a sequence, a dict by name, or one
    value when there is one; each may be a number or an array (it broadcasts like an input).

    Evaluators pickle by the formula's text and options (`inputs`, `backend`, `stable`) and
    their own (`kind`, `wrt`, `reduce`): unpickling compiles the formula again (the kernel
    comes from the disk cache) and gives the same results, bit for bit.
    """

    def __init__(
        self,
        program: Parsed,
        kind: Kind,
        wrt: tuple[str, ...],
        bare: bool,
        backend: Backend,
        reduce: Reduce = None,
        *,
        formula: Formula | None = None,
        math: Math = "simd",
    ) -> None:
        self._formula, self._math = formula, math  # `__reduce__` rebuilds from these
        self.inputs = program.inputs
        self._arity = len(program.inputs)
        self.kind = kind
        self.wrt = wrt
        self.reduce = reduce
        self._bare = bare
        # with vectors, a Jacobian (Hessian) is assembled at run time from vector-Jacobian
        # (Hessian-vector) products along unit directions, one per row (column)
        self._matrix = MATRIX_BY_PRODUCT.get(kind) if program.graph.vectors else None
        derived = derive(program, self._matrix or kind, wrt, bare)  # type: ignore[arg-type]
        self._derived = derived
        self._seed_kw = SEED_KEYWORDS.get(kind)
        self.seeds = derived.seeds if self._matrix is None else ()
        self._graph, self._outputs = derived.graph, derived.outputs
        self._input_ids = derived.params
        self._built_kernel: codegen.Kernel | None = None
        self._layout = derived.layout
        self._fname = kind
        self._header = codegen.header_comment(program.source, derived.what)
        self._requested: Backend = backend
        self._backend: Backend | None = None if backend == "auto" and derived.params else backend
        if self._backend == "auto":
            self._backend = "numpy"  # no inputs: nothing to compile
        self._fast: Callable[..., Any] | None = None
        self._pack = _LAYOUT
        self._grad_cls = grad_class(wrt)
        # tiers (DESIGN.md section 3b): the interpreter answers until the compiled tier,
        # built in the background once the calls are hot, is in place
        self._tiers = Tiers(
            backend == "auto" and bool(derived.params) and tiers.background(),
            lambda: self.backend,
            self._numba_module,
            self._make_runner,
            self._forget_fast,
        )
        self._lock = threading.Lock()
        self._vector: VectorCall | None = None
        if derived.graph.vectors:  # vector inputs (DESIGN.md section 2b)
            kw = self._seed_kw or SEED_KEYWORDS.get(self._matrix or "")
            names = self.inputs + tuple(f"{kw}[{s}]" for s in derived.seeds)
            like = shaped_like(program, self._matrix or kind, wrt, derived)
            self._vector = VectorCall(derived, names, reduce, backend, self._header, like, math)

    # -- what it is ----------------------------------------------------------------------
    @property
    def _kernel(self) -> codegen.Kernel:
        """The printed kernel (built on first use: the interpreter tier does not need it)."""
        if self._built_kernel is None:
            d = self._derived
            self._built_kernel = codegen.build_kernel(d.graph, d.params, d.outputs, d.grad_of)
        return self._built_kernel

    @property
    def backend(self) -> Backend:
        """The backend of the compiled tier: "numba", "vm" (kernels over
        `JIT_MAX_STATEMENTS` statements under "auto") or "numpy" (the interpreter only)."""
        if self._backend is None:
            big = self._kernel.statements > JIT_MAX_STATEMENTS
            self._backend = "vm" if big else "numba"
        return self._backend

    @property
    def tier(self) -> str:
        """Which tier answers calls now: "interpreter" (the NumPy interpreter of the
        scheduled program, no compile) or "compiled" (Numba, or the precompiled VM)."""
        return self._vector.tier if self._vector is not None else self._tiers.tier

    def wait(self, timeout: float | None = None) -> Evaluator:
        """Block until the compiled tier answers (building it now if it was not asked for
        yet); return this evaluator. Raises `TimeoutError` if `timeout` seconds pass first,
        and the build's error if it failed (calls then stay on the interpreter)."""
        if self._vector is not None:
            self._vector.wait(timeout)
        else:
            self._tiers.wait(timeout)
        return self

    @property
    def source(self) -> str:
        """The generated code as a readable, self-contained Python function."""
        return codegen.python_source(self._kernel, self._fname, self._header)

    @property
    def numba_source(self) -> str:
        """The generated Numba module: the scalar kernel and the batch driver (for the
        inputs the calls so far gave as one number; see `codegen.numba.numba_source`)."""
        if self._vector is not None:
            return self._vector.module.source
        return self._numba_module(self._tiers.scalars)

    def _numba_module(self, scalars: frozenset[int]) -> str:
        kernel = self._kernel_for("numba")  # `math.pow`: vectorized with math="simd"
        return codegen.numba_source(kernel, self._fname, self._header, scalars, self._math)

    def _kernel_for(self, target: codegen.Target) -> codegen.Kernel:
        d = self._derived
        return codegen.build_kernel(d.graph, d.params, d.outputs, d.grad_of, target)

    @property
    def output_names(self) -> tuple[str, ...]:
        """What each of the kernel's outputs is, in order: `value`, `dvalue/dx`, ..."""
        return self._derived.names

    def module_source(self, numba: bool = False) -> str:
        """A standalone Python module computing what this evaluator computes (`-o` in the
        CLI): one function of NumPy arrays or numbers that needs only NumPy, or with
        `numba=True` the Numba module itself (no adcompile import) plus `evaluate(...)`.
        Both return the kernel's outputs as a flat tuple (value, then derivatives)."""
        if numba and self._vector is not None:
            return vector_standalone(self._vector.module, self._graph, self._input_ids)
        if numba:
            return codegen.module_source(self._kernel, self._fname, self._header, self.numba_source)
        return codegen.module_source(self._kernel_for("numpy"), self._fname, self._header)

    @property
    def ir(self) -> str:
        """The IR this evaluator runs, one node per line."""
        return pformat(self._graph, [o for o in self._outputs if o is not None])

    def to_sympy(self, cse: bool = True) -> Any:
        """What this evaluator computes, as SymPy, in the order of its kernel's outputs.

        With `cse=True` (the default): `(replacements, exprs)` as `sympy.cse` gives them,
        built from the graph's own sharing, so derivatives do not swell; with `cse=False`,
        the list of expressions. Derivatives keep the kink conventions (`Piecewise`,
        `sign`, ...); seeds of a direction are symbols `d_x` (tangents) and `b_u`
        (cotangents).
        """
        import sympy

        live = [o for o in self._outputs if o is not None]
        found = to_sympy(self._graph, live, cse=cse)
        exprs = iter(found[1] if cse else found)
        full = [next(exprs) if o is not None else sympy.Integer(0) for o in self._outputs]
        seeds = {
            sympy.Symbol(str(self._graph.nodes[i].attr), real=True): sympy.Symbol(
                str(self._graph.nodes[i].attr)[len(SEED_MARK) :], real=True
            )
            for i in self._input_ids[self._arity :]
        }
        full = [e.xreplace(seeds) for e in full]
        if not cse:
            return full
        return [(k, v.xreplace(seeds)) for k, v in found[0]], full

    def latex(self) -> str:
        """LaTeX of what this evaluator computes: shared parts as `t_{k}`, then each output
        under its name (`\\frac{\\partial f}{\\partial x}`, ...), as an `aligned` block."""
        replacements, exprs = self.to_sympy(cse=True)
        return latex_system(replacements, exprs, self._derived.labels)

    def graph(self, *args: Any, **kwargs: Any) -> viz.Dot:
        """What this evaluator computes as a graph, in DOT (a `viz.Dot`).

        The forward nodes, then the nodes reverse mode (adjoints `b_v`, orange) and forward
        mode (tangents `d_v`, blue) appended, each in its own cluster and under the name it
        has in `source`; outputs have a bold border and their name. With a point (numbers,
        as for calling it, with `tangents=` or `cotangents=` where it takes them), each node
        also shows its value there. `.source` (or `str()`) is the DOT text; Jupyter draws
        it; `.render("graph.svg")` writes .svg, .png or .pdf (with Graphviz's `dot`) or .dot.
        """
        outputs = list(zip(self.output_names, self._outputs))
        if not (args or kwargs):
            return viz.draw(self._graph, self._input_ids, outputs)
        seeds = self._seed_values(kwargs)
        names = self.inputs + tuple(f"{self._seed_kw}[{s}]" for s in self.seeds)
        flags = [p in self._graph.vectors for p in self._input_ids]
        point = numbers(names, bind(self.inputs, args, kwargs) + seeds, flags)
        nodes = viz.drawn_nodes(self._graph, self._input_ids, self._outputs)
        at = at_point(self._graph, self._input_ids, nodes, point)
        return viz.draw(self._graph, self._input_ids, outputs, at.values)

    def __repr__(self) -> str:
        reduced = f", reduce={self.reduce!r}" if self.reduce else ""
        return f"<Evaluator {self.kind} of {', '.join(self.inputs)} ({self.backend}{reduced})>"

    def __reduce__(self) -> tuple[Any, ...]:
        # By formula text and options, not by state: the kernel, its runner and the locks
        # are per-process things, rebuilt on the other side (from the disk cache).
        formula = self._formula
        if formula is None:
            raise pickle.PicklingError("an Evaluator built without its Formula cannot pickle")
        args = (formula, self.kind, self.wrt, self._bare, self.reduce)
        return (type(formula).rebuild_evaluator, args)

    # -- running -------------------------------------------------------------------------
    def __call__(self, *args: Any, out: Any = None, **kwargs: Any) -> Any:
        if "dask.array" in MODULES and has_dask(args, kwargs):  # lazy, one task a block
            return dask_call(self, args, out, kwargs)
        if self._vector is not None:
            seeds = self._seed_values(kwargs)
            values = bind(self.inputs, args, kwargs) + seeds
            if self._matrix is not None:
                return self._vector.matrix(values, self._matrix, len(self.wrt), out)
            return self._vector(values, out, self._layout, self._package)
        if out is None and not kwargs and len(args) == self._arity and not self.seeds:
            for a in args:
                if type(a) not in _SCALARS:
                    break
            else:  # one point, by position: straight to the compiled kernel
                try:
                    r = (self._fast or self._make_fast())(*args)
                except (TypeError, OverflowError):
                    r = None  # an int beyond float64: the checked path below names it
                if r is not None:
                    pack = self._pack  # packaging inlined: this path is ~1 us a call
                    if pack == _PAIR:
                        return r[0], tuple.__new__(self._grad_cls, r[1:])
                    if pack == _ONE:
                        return r[0]
                    if pack == _ALL:
                        return tuple(r)
                    if pack == _SECOND:
                        return r[1]
                    if pack == _GRAD:
                        return tuple.__new__(self._grad_cls, r[1:])
                    return self._package(r)
        seeds = self._seed_values(kwargs)
        if out is None and not kwargs and len(args) == self._arity and self.seeds:
            point = (*args, *seeds)  # one point with its direction: straight to the kernel
            if all(type(a) in _SCALARS for a in point):
                return self._package((self._fast or self._make_fast())(*point))
        values = bind(self.inputs, args, kwargs) + seeds
        names = self.inputs + tuple(f"{self._seed_kw}[{s}]" for s in self.seeds)
        arrays = [as_array(name, v) for name, v in zip(names, values)]
        try:
            found = {a.shape for a in arrays if a.ndim}
            shape = (found.pop() if found else ()) if len(found) < 2 else _broadcast(found)
        except ValueError:
            shapes = ", ".join(f"{n}: {a.shape}" for n, a in zip(names, arrays))
            raise ValueError(f"input shapes do not broadcast together ({shapes})") from None
        runner = self._tiers.for_batch(arrays, math.prod(shape))
        if self.reduce is not None:
            if out is not None:
                raise TypeError("out= cannot be used with reduce (the result is scalars)")
            size = math.prod(shape)
            sums = runner.total(arrays, shape)
            if self.reduce == "mean":
                sums = [s / size if size else math.nan for s in sums]
            return self._package([float(s) for s in sums])
        if out is None:
            if all(a.ndim == 0 for a in arrays):
                return self._package(runner.scalar(*(float(a) for a in arrays)))
            array_dtypes = {a.dtype for a in arrays if a.ndim}
            dtype = np.float32 if array_dtypes == _FLOAT32 else np.float64
            if isinstance(self._layout, Matrix):
                matrix = np.empty((*shape, self._layout.rows, self._layout.cols), dtype=dtype)
                runner.fill(arrays, matrix_entries(matrix, self._layout))
                return matrix
            block = np.empty((len(self._outputs), *shape), dtype=dtype)
            if dtype is np.float64 and isinstance(runner, NumbaRunner):
                runner.fill_block(arrays, block)
            else:
                runner.fill(arrays, list(block))
            return self._package(list(block))
        outs = self._unpack(out, shape)
        runner.fill(unshared(arrays, outs), outs)
        return out if isinstance(self._layout, Matrix) else self._package(outs)

    def _seed_values(self, kwargs: dict[str, Any]) -> list[Any]:
        """The direction given by keyword (`tangents=`/`cotangents=`), one value per seed."""
        return seed_values(self.kind, self._seed_kw, self.seeds, kwargs)

    def _make_runner(self, backend: str) -> Runner:
        return BACKENDS[backend](
            self._graph, self._input_ids, self._outputs, lambda: self.numba_source, self._fname
        )

    def _forget_fast(self) -> None:
        self._fast = None  # the next single-point call picks up the new runner

    def _make_fast(self) -> Callable[..., Any]:
        """The single-point path: the compiled scalar kernel's entry (or the interpreter's,
        counting its work) and how to package its results."""
        tiered = self._tiers
        tiered.adopt()
        runner = tiered.run()
        kernel = runner.scalar
        if isinstance(runner, NumbaRunner):
            kernel = entry_point(getattr(runner.module, self._fname))
        self._pack = _FAST_PACK.get((self.kind, self._bare, len(self._outputs) == 1), _LAYOUT)
        if self.kind in ("value_and_grad", "grad") and self._derived.outputs[0] is None:
            self._pack = _LAYOUT
        if tiered.tiered:
            interpret = kernel

            def kernel(*values: float) -> Sequence[float]:
                tiered.count(1)
                if tiered.build is not None and tiered.build.done:
                    self._fast = None  # the next call picks up the compiled tier
                return interpret(*values)

        self._fast = kernel
        return kernel

    def _unpack(self, out: Any, shape: tuple[int, ...]) -> list[np.ndarray]:
        """The out arrays in kernel order, checked, from the structure of the result."""
        return unpack_out(self._layout, len(self._outputs), out, shape)

    def _package(self, results: Sequence[Any]) -> Any:
        """The kernel's flat results in the structure of the result (see `products`)."""
        layout = self._layout
        if isinstance(layout, Matrix):
            return np.array(results, dtype=np.float64).reshape(layout.rows, layout.cols)
        return pack(layout, results, self._grad_cls)


def _broadcast(shapes: set[tuple[int, ...]]) -> tuple[int, ...]:
    return tuple(np.broadcast_shapes(*shapes))
