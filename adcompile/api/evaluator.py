"""The public API: `compile(text) -> Formula`, and evaluators built from it (DESIGN.md section 3).

A `Formula` holds the parsed program. `f(...)`, `f.value_and_grad(wrt)` and `f.grad(wrt)` give
`Evaluator`s: each copies the primal graph, appends what it needs (reverse mode for gradients),
prints a kernel and runs it through a runner of `backends`: by default Numba (compiled on first
call, cached on disk), and the precompiled block interpreter (`vm`) for formulas too large to
JIT quickly. Calls with numbers go straight to the compiled scalar kernel; calls with arrays
broadcast without copies, into fresh or given (`out=`) arrays, or into fused sums (`reduce`).
"""

from __future__ import annotations

import functools
import math
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Final, Literal

import numpy as np

from adcompile import codegen
from adcompile.ad.products import SINGLE_OUTPUT, Grads, Kind, Matrix, derive
from adcompile.api.results import (
    as_array,
    bind,
    check_out,
    grad_class,
    matrix_entries,
    out_dtype,
    pack,
    sequence,
)
from adcompile.codegen import dot as viz
from adcompile.codegen.sympy import to_sympy
from adcompile.errors import did_you_mean
from adcompile.front import from_sympy as symbolic
from adcompile.front.parse import check_input_name, parse
from adcompile.ir.graph import Program, pformat
from adcompile.run.backends import NumbaRunner, PlanRunner, VMRunner
from adcompile.run.interpret import Plan
from adcompile.run.pointwise import at_point, numbers
from adcompile.run.vm import Machine

Backend = Literal["auto", "numba", "vm", "numpy"]
Reduce = Literal["sum", "mean"] | None
Runner = NumbaRunner | VMRunner | PlanRunner

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
        program: Program,
        kind: Kind,
        wrt: tuple[str, ...],
        bare: bool,
        backend: Backend,
        reduce: Reduce = None,
        *,
        formula: Formula | None = None,
    ) -> None:
        # What `__reduce__` rebuilds from: the arguments of `compile` as the formula had them
        # (its declared inputs, not the ones found: declaring them numbers the graph's nodes
        # differently, and so can change the generated code and its last bits).
        self._compiled_from: tuple[str, tuple[str, ...] | None, Backend, bool] = (
            (formula.text, formula._declared, formula._backend, formula.stable)
            if formula is not None
            else (program.source, program.inputs, backend, program.graph.stable)
        )
        self.inputs = program.inputs
        self._arity = len(program.inputs)
        self.kind = kind
        self.wrt = wrt
        self.reduce = reduce
        self._bare = bare
        derived = derive(program, kind, wrt, bare)
        self._derived = derived
        self._seed_kw = SEED_KEYWORDS.get(kind)
        self.seeds = derived.seeds
        self._graph, self._outputs = derived.graph, derived.outputs
        self._input_ids = derived.params
        self._kernel = codegen.build_kernel(
            derived.graph, derived.params, derived.outputs, derived.grad_of
        )
        self._layout = derived.layout
        self._fname = kind
        self._header = codegen.header_comment(program.source, derived.what)
        self.backend: Backend = backend
        if backend == "auto":
            big = self._kernel.statements > JIT_MAX_STATEMENTS
            self.backend = "numpy" if not derived.params else ("vm" if big else "numba")
        self._runner: Runner | None = None
        self._fast: Callable[..., Any] | None = None
        self._pack = _LAYOUT
        self._grad_cls = grad_class(wrt)
        self._lock = threading.Lock()

    # -- what it is ----------------------------------------------------------------------
    @property
    def source(self) -> str:
        """The generated code as a readable, self-contained Python function."""
        return codegen.python_source(self._kernel, self._fname, self._header)

    @property
    def numba_source(self) -> str:
        """The generated Numba module (scalar kernel, parallel batch drivers, reductions)."""
        return codegen.numba_source(self._kernel, self._fname, self._header)

    @property
    def output_names(self) -> tuple[str, ...]:
        """What each of the kernel's outputs is, in order: `value`, `dvalue/dx`, ..."""
        return self._derived.names

    def module_source(self, numba: bool = False) -> str:
        """A standalone Python module computing what this evaluator computes (`-o` in the
        CLI): one function of NumPy arrays or numbers that needs only NumPy, or with
        `numba=True` the Numba module itself (no adcompile import) plus `evaluate(...)`.
        Both return the kernel's outputs as a flat tuple (value, then derivatives)."""
        if numba:
            return codegen.module_source(self._kernel, self._fname, self._header, self.numba_source)
        kernel = codegen.build_kernel(
            self._graph, self._input_ids, self._outputs, self._derived.grad_of, codegen.NUMPY
        )
        return codegen.module_source(kernel, self._fname, self._header)

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
                str(self._graph.nodes[i].attr)[len(codegen.SEED_MARK) :], real=True
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
        import sympy

        replacements, exprs = self.to_sympy(cse=True)
        lines = [(sympy.latex(k), sympy.latex(v)) for k, v in replacements]
        lines += [(label, sympy.latex(e)) for label, e in zip(self._derived.labels, exprs)]
        if len(lines) == 1:
            return f"{lines[0][0]} = {lines[0][1]}"
        body = " \\\\\n".join(f"{k} &= {v}" for k, v in lines)
        return "\\begin{aligned}\n" + body + "\n\\end{aligned}"

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
        point = numbers(names, bind(self.inputs, args, kwargs) + seeds)
        nodes = viz.drawn_nodes(self._graph, self._input_ids, self._outputs)
        at = at_point(self._graph, self._input_ids, nodes, point)
        return viz.draw(self._graph, self._input_ids, outputs, at.values)

    def __repr__(self) -> str:
        reduced = f", reduce={self.reduce!r}" if self.reduce else ""
        return f"<Evaluator {self.kind} of {', '.join(self.inputs)} ({self.backend}{reduced})>"

    def __reduce__(self) -> tuple[Any, ...]:
        # By text and options, not by state: the kernel, its runner and the locks are
        # per-process things, rebuilt on the other side (from the disk cache).
        return (
            _rebuild_evaluator,
            (self._compiled_from, self.kind, self.wrt, self._bare, self.reduce),
        )

    # -- running -------------------------------------------------------------------------
    def __call__(self, *args: Any, out: Any = None, **kwargs: Any) -> Any:
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
            shape = np.broadcast_shapes(*(a.shape for a in arrays))
        except ValueError:
            shapes = ", ".join(f"{n}: {a.shape}" for n, a in zip(names, arrays))
            raise ValueError(f"input shapes do not broadcast together ({shapes})") from None
        runner = self._run()
        if self.reduce is not None:
            if out is not None:
                raise TypeError("out= cannot be used with reduce (the result is scalars)")
            size = int(np.prod(shape))
            sums = runner.total(arrays, shape)
            if self.reduce == "mean":
                sums = [s / size if size else math.nan for s in sums]
            return self._package([float(s) for s in sums])
        if out is None:
            if all(a.ndim == 0 for a in arrays):
                return self._package(runner.scalar(*(float(a) for a in arrays)))
            array_dtypes = {a.dtype for a in arrays if a.ndim}
            dtype = np.float32 if array_dtypes == {np.dtype(np.float32)} else np.float64
            if isinstance(self._layout, Matrix):
                matrix = np.empty((*shape, self._layout.rows, self._layout.cols), dtype=dtype)
                runner.fill(arrays, matrix_entries(matrix, self._layout))
                return matrix
            block = np.empty((len(self._outputs), *shape), dtype=dtype)
            runner.fill(arrays, list(block))
            return self._package(list(block))
        outs = self._unpack(out, shape)
        runner.fill(_unshared(arrays, outs), outs)
        return out if isinstance(self._layout, Matrix) else self._package(outs)

    def _seed_values(self, kwargs: dict[str, Any]) -> list[Any]:
        """The direction given by keyword (`tangents=`/`cotangents=`), one value per seed."""
        if self._seed_kw is None:
            return []
        if self._seed_kw not in kwargs:
            raise TypeError(f"{self.kind} needs {self._seed_kw}= (one per {', '.join(self.seeds)})")
        given = kwargs.pop(self._seed_kw)
        if isinstance(given, dict):
            unknown = [k for k in given if k not in self.seeds]
            if unknown:
                raise TypeError(
                    f"{self._seed_kw}: unknown name '{unknown[0]}'"
                    f"{did_you_mean(str(unknown[0]), self.seeds)}; expected {', '.join(self.seeds)}"
                )
            return [given.get(k, 0.0) for k in self.seeds]
        if len(self.seeds) == 1 and not isinstance(given, (tuple, list)):
            return [given]  # one value, or one array: a seed per point
        if isinstance(given, np.ndarray) and given.ndim >= 1:
            given = list(given)  # a direction vector, or one row of seeds per entry
        if not isinstance(given, (tuple, list)) or len(given) != len(self.seeds):
            got = len(given) if isinstance(given, (tuple, list)) else "one value"
            raise ValueError(
                f"{self._seed_kw}: expected {len(self.seeds)} values "
                f"({', '.join(self.seeds)}), got {got}"
            )
        return list(given)

    def _run(self) -> Runner:
        if self._runner is None:
            with self._lock:
                if self._runner is None:
                    self._runner = self._make_runner()
        return self._runner

    def _make_runner(self) -> Runner:
        if self.backend == "numba":
            return NumbaRunner(self.numba_source, self._fname)
        if self.backend == "vm":
            return VMRunner(Machine(self._graph, self._input_ids, self._outputs))
        return PlanRunner(Plan(self._graph, self._input_ids, self._outputs))

    def _make_fast(self) -> Callable[..., Any]:
        """The single-point path: the compiled scalar kernel's entry and how to package it."""
        runner = self._run()
        kernel = runner.scalar
        if isinstance(runner, NumbaRunner):
            kernel = _entry_point(getattr(runner.module, self._fname))
        self._pack = _FAST_PACK.get((self.kind, self._bare, len(self._outputs) == 1), _LAYOUT)
        if self.kind in ("value_and_grad", "grad") and self._derived.outputs[0] is None:
            self._pack = _LAYOUT
        self._fast = kernel
        return kernel

    def _unpack(self, out: Any, shape: tuple[int, ...]) -> list[np.ndarray]:
        """The out arrays in kernel order, checked, from the structure of the result."""
        if isinstance(self._layout, Matrix):
            want = (*shape, self._layout.rows, self._layout.cols)
            check_out(out, want)
            return matrix_entries(out, self._layout)
        found: dict[int, Any] = {}
        stack = [(self._layout, out)]
        while stack:
            layout, given = stack.pop()
            if isinstance(layout, int):
                found[layout] = given
            elif isinstance(layout, Grads):
                if layout.bare:
                    found[layout.indices[0]] = given
                else:
                    items = sequence(given, len(layout.indices), "gradient arrays")
                    found.update(zip(layout.indices, items))
            else:
                what = "value arrays" if all(isinstance(x, int) for x in layout) else "parts"
                stack.extend(zip(layout, sequence(given, len(layout), what)))
        given = list(found.values())
        for k, a in enumerate(given):
            check_out(a, shape)
            if any(_overlap(a, b) for b in given[:k]):
                raise ValueError("out: two out arrays share memory (each result needs its own)")
        # outputs the result does not show (grad(): the value) go to scratch
        dtype = out_dtype(next(iter(found.values()))) if found else np.float64
        return [
            found[j] if j in found else np.empty(shape, dtype=dtype)
            for j in range(len(self._outputs))
        ]

    def _package(self, results: Sequence[Any]) -> Any:
        """The kernel's flat results in the structure of the result (see `products`)."""
        layout = self._layout
        if isinstance(layout, Matrix):
            return np.array(results, dtype=np.float64).reshape(layout.rows, layout.cols)
        return pack(layout, results, self._grad_cls)


def _unshared(ins: list[np.ndarray], outs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The inputs, with a copy of each that may share memory with an out array: the kernel
    writes outputs while it still reads inputs, so overlap would read results as inputs
    (NumPy's ufuncs copy in the same way)."""
    return [a.copy() if a.ndim and any(np.may_share_memory(a, o) for o in outs) else a for a in ins]


@functools.lru_cache(maxsize=32)
def _rebuilt_formula(
    text: str, inputs: tuple[str, ...] | None, backend: Backend, stable: bool
) -> Formula:
    """One formula per set of `compile` arguments per process, so that unpickling many
    evaluators of it (one per task of a process pool) parses and derives it once."""
    return compile(text, inputs, backend, stable)


def _rebuild_evaluator(
    compiled_from: tuple[str, tuple[str, ...] | None, Backend, bool],
    kind: Kind,
    wrt: tuple[str, ...],
    bare: bool,
    reduce: Reduce,
) -> Evaluator:
    """The evaluator `Evaluator.__reduce__` describes (what `pickle.loads` calls)."""
    formula = _rebuilt_formula(*compiled_from)
    if kind == "value":
        return formula.value
    return formula._evaluator(kind, wrt[0] if bare else list(wrt), reduce)


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two arrays share an element (interleaved views that only share bounds do not;
    a case too hard to decide counts as shared)."""
    if not np.may_share_memory(a, b):
        return False
    try:
        return bool(np.shares_memory(a, b, max_work=10**5))  # type: ignore[arg-type]
    except np.exceptions.TooHardError:
        return True


def _entry_point(dispatcher: Any) -> Callable[..., Any]:
    """The compiled C entry of a Numba function with one explicit signature (it skips the
    dispatcher's type resolution: ~0.15 µs a call); the dispatcher itself without Numba."""
    overloads = getattr(dispatcher, "overloads", None)
    if overloads and len(overloads) == 1:
        return next(iter(overloads.values())).entry_point  # type: ignore[no-any-return]
    return dispatcher  # type: ignore[no-any-return]


class Formula:
    """A compiled formula. Build it with `adcompile.compile`.

    Attributes:
        text: the formula's source text.
        inputs: input names, in order (positional arguments follow this order).
        outputs: output names (one, or several for a program ending in `a, b`).
    """

    def __init__(
        self,
        program: Program,
        inputs: Sequence[str] | None,
        backend: Backend,
        stable: bool = True,
    ) -> None:
        self._program = program
        self._declared = tuple(inputs) if inputs is not None else None
        self._backend: Backend = backend
        self.stable = stable
        self._cache: dict[tuple[Kind, tuple[str, ...], bool, Reduce], Evaluator] = {}
        self._lock = threading.Lock()
        self._value: Evaluator | None = None
        self.text = program.source
        self.inputs = program.inputs
        self.outputs = program.output_names

    def __repr__(self) -> str:
        return f"Formula({self.text!r}, inputs={self.inputs!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (compile, (self.text, self._declared, self._backend, self.stable))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The value at the given inputs (a tuple for several outputs)."""
        return (self._value or self.value)(*args, **kwargs)

    def value_and_grad(
        self, wrt: str | Sequence[str] | None = None, reduce: Reduce = None
    ) -> Evaluator:
        """An evaluator returning `(value, gradient)`.

        Args:
            wrt: the inputs to differentiate with respect to: None for all, a name, or a list.
                With a list (or None) the gradient is a `Grad` tuple in that order; with a
                single name it is the bare derivative.
            reduce: None (one result per point), "sum" or "mean": the value and every
                gradient entry summed (averaged) over the broadcast batch inside the
                kernel, as floats, with no per-point arrays. For inputs that are scalars
                (parameters of a loss over data arrays) that is the gradient of the total;
                for an array input it is the sum of its per-point partials.

        Example:
            >>> f = compile("x^2 + 3*y")
            >>> f.value_and_grad()(2.0, 1.0)
            (7.0, Grad(x=4.0, y=3.0))
            >>> loss = compile("(w*x - y)^2").value_and_grad("w", reduce="mean")
            >>> loss(2.0, x=[1.0, 2.0], y=[1.0, 3.0])
            (1.0, 3.0)
        """
        return self._evaluator("value_and_grad", wrt, reduce)

    def grad(self, wrt: str | Sequence[str] | None = None, reduce: Reduce = None) -> Evaluator:
        """An evaluator returning only the gradient (see `value_and_grad`)."""
        return self._evaluator("grad", wrt, reduce)

    def jvp(self, wrt: str | Sequence[str] | None = None, reduce: Reduce = None) -> Evaluator:
        """An evaluator of the Jacobian-vector product (forward mode): `(value, tangent)`.

        Call it with the inputs and `tangents=`: one direction component per `wrt` input (a
        sequence in `wrt` order, a dict by name, or one value for a single input). The
        tangent has the structure of the value: d value along the direction, one per output.

        Example:
            >>> f = compile("x^2 * y")
            >>> f.jvp()(3.0, 2.0, tangents=(1.0, 0.5))
            (18.0, 16.5)
        """
        return self._evaluator("jvp", wrt, reduce)

    def vjp(self, wrt: str | Sequence[str] | None = None, reduce: Reduce = None) -> Evaluator:
        """An evaluator of the vector-Jacobian product (reverse mode): `(value, gradient)`.

        Call it with the inputs and `cotangents=`: one seed per output (PyTorch's
        `z.backward(v)` for a non-scalar `z`). The gradient is that of
        `sum_k cotangents[k] * output_k`, a `Grad` in `wrt` order as in `value_and_grad`.

        Example:
            >>> f = compile("u = x*y; v = x + y; u, v")
            >>> f.vjp()(2.0, 3.0, cotangents=(1.0, 10.0))
            ((6.0, 5.0), Grad(x=13.0, y=12.0))
        """
        return self._evaluator("vjp", wrt, reduce)

    def jacobian(self, wrt: str | Sequence[str] | None = None, reduce: Reduce = None) -> Evaluator:
        """An evaluator of the Jacobian: an array of shape `(..., n_outputs, n_wrt)`.

        Rows are the outputs, columns the `wrt` inputs, the leading axes the broadcast batch
        (none for a single point). It uses reverse mode (a sweep per output) or forward mode
        (a sweep per input), whichever needs fewer sweeps; both share one fused kernel.

        Example:
            >>> compile("u = x*y; v = x + y; u, v").jacobian()(2.0, 3.0)
            array([[3., 2.],
                   [1., 1.]])
        """
        return self._evaluator("jacobian", wrt, reduce)

    def hessian(self, wrt: str | Sequence[str] | None = None, reduce: Reduce = None) -> Evaluator:
        """An evaluator of the Hessian: an array of shape `(..., n_wrt, n_wrt)`.

        Computed as forward mode over reverse mode on the IR (the gradient is IR, so it is
        differentiated again), one forward sweep per `wrt` input.

        Example:
            >>> compile("x^3 * y").hessian()(2.0, 5.0)
            array([[60., 12.],
                   [12.,  0.]])
        """
        return self._evaluator("hessian", wrt, reduce)

    def hvp(self, wrt: str | Sequence[str] | None = None, reduce: Reduce = None) -> Evaluator:
        """An evaluator of the Hessian-vector product `H v`, without forming `H`.

        Call it with the inputs and `tangents=` (the vector `v`, as for `jvp`). The result
        is a `Grad` in `wrt` order (bare for a single name). Its cost is a small multiple of
        one gradient, whatever the number of inputs.

        Example:
            >>> compile("x^3 * y").hvp()(2.0, 5.0, tangents=(1.0, 0.0))
            Grad(x=60.0, y=12.0)
        """
        return self._evaluator("hvp", wrt, reduce)

    def to_sympy(self, cse: bool = False) -> Any:
        """The value as a SymPy expression (a tuple for several outputs).

        With `cse=True`, `(replacements, exprs)` as `sympy.cse` gives them, built from the
        graph's sharing (use it for large programs: the plain form repeats shared parts).
        For a derivative, use the evaluator's `to_sympy`: `f.grad().to_sympy()`.

        Example:
            >>> compile("log(x*y) + sin(x)^2").to_sympy()
            log(x*y) + sin(x)**2
        """
        found = self.value.to_sympy(cse=cse)
        if cse:
            return found
        return found[0] if len(found) == 1 else tuple(found)

    def latex(self) -> str:
        """LaTeX of the value (of each output, and shared parts as `t_{k}`)."""
        return self.value.latex()

    def graph(self, *args: Any, **kwargs: Any) -> viz.Dot:
        """The formula's computational graph (its forward DAG) in DOT, as a `viz.Dot`.

        Inputs are ellipses; operations are boxes labelled with the name the generated code
        gives them and the operation (`a = w0 * x0`); outputs have a bold border. With a
        point (numbers, as for calling the formula) each node also shows its value
        (`= 0.7311`) and, for a single output, its adjoint (`b_g = -0.5344`: the derivative
        of the output with respect to the node), as `adc.trace` computes them. `.source` (or
        `str()`) is the DOT text; Jupyter draws it; `.render("graph.svg")` writes .svg, .png
        or .pdf (with Graphviz's `dot`) or .dot. The derivative nodes are in an evaluator's
        graph: `f.value_and_grad().graph()`.

        Example:
            >>> compile("x*y + x").graph(x=2.0, y=3.0)
            <Dot: 4 nodes, 4 edges>
        """
        program = self._program
        outputs = list(zip(program.output_names, program.outputs))
        if not (args or kwargs):
            return viz.draw(program.graph, program.input_ids, outputs)
        point = numbers(self.inputs, bind(self.inputs, args, kwargs))
        nodes = viz.drawn_nodes(program.graph, program.input_ids, program.outputs)
        output = program.outputs[0] if len(outputs) == 1 else None
        at = at_point(program.graph, program.input_ids, nodes, point, output)
        return viz.draw(program.graph, program.input_ids, outputs, at.values, at.adjoints)

    @property
    def value(self) -> Evaluator:
        """The evaluator behind `f(...)`: the value(s) only, with its `.source`."""
        self._value = self._evaluator("value", None)
        return self._value

    @property
    def source(self) -> str:
        """Readable generated code: of the value and gradient, or of the values for a
        program with several outputs."""
        single = len(self._program.outputs) == 1
        return (self.value_and_grad() if single else self.value).source

    def _evaluator(
        self, kind: Kind, wrt: str | Sequence[str] | None, reduce: Reduce = None
    ) -> Evaluator:
        if reduce not in (None, "sum", "mean"):
            raise ValueError(f"reduce must be None, 'sum' or 'mean', not {reduce!r}")
        names, bare = self._wrt(wrt) if kind != "value" else ((), False)
        if reduce is not None and kind == "value":
            raise ValueError("reduce applies to derivatives; sum f(...) yourself for the value")
        if kind in SINGLE_OUTPUT and len(self._program.outputs) != 1:
            hint = "use jacobian() or vjp()" if kind in ("grad", "value_and_grad") else ""
            raise ValueError(
                f"{kind} needs a single output; this program has {len(self.outputs)} "
                f"({', '.join(self.outputs)}): end it with one expression"
                + (f", or {hint}" if hint else "")
            )
        key = (kind, names, bare, reduce)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = Evaluator(
                    self._program, kind, names, bare, self._backend, reduce, formula=self
                )
            return self._cache[key]

    def _wrt(self, wrt: str | Sequence[str] | None) -> tuple[tuple[str, ...], bool]:
        bare = isinstance(wrt, str)
        names = self.inputs if wrt is None else ((wrt,) if isinstance(wrt, str) else tuple(wrt))
        known = frozenset(self.inputs)  # a set: checking n names stays linear
        for name in names:
            if name not in known:
                raise ValueError(
                    f"wrt: '{name}' is not an input{did_you_mean(name, self.inputs)}"
                    f"; inputs are {', '.join(self.inputs)}"
                )
        if len(set(names)) != len(names):
            raise ValueError(f"wrt: repeated names in {list(names)}")
        return tuple(names), bare


def compile(
    formula: Any,
    inputs: Sequence[str] | None = None,
    backend: Backend = "auto",
    stable: bool = True,
) -> Formula:
    """Compile a formula or program in the adcompile language.

    Args:
        formula: text such as ``"log(x*y) + sin(x)^2"`` or a program of assignments; or a
            SymPy expression (a list or Matrix of them for several outputs), which is
            translated to formula text first (`Formula.text` shows it); its inputs are
            then its free symbols sorted by name, unless `inputs` says otherwise.
        inputs: the input names in order; default: the free names in order of appearance.
            May list names the formula does not use (their gradient is 0); any other free
            name is then an error.
        backend: "numba" (a kernel per formula, JIT-compiled, cached on disk), "vm" (the
            precompiled block interpreter: no compile time per formula), "numpy" (the NumPy
            interpreter: no Numba at all) or "auto" (Numba up to `JIT_MAX_STATEMENTS`
            statements, the VM above).
        stable: apply the numerical-stability rewrites (`log(1 + u) -> log1p(u)`, ...; see
            README "Numerical stability"). `False` keeps every step as written, e.g. to
            trace a worked example step by step.

    Returns:
        A `Formula`.

    Raises:
        FormulaError: the text is not a valid formula (with line, column and a caret).

    Example:
        >>> f = compile("2*x^4 + x^3 + 3*x^2 + 5*x + 1")
        >>> f.value_and_grad("x")(2.0)
        (63.0, 93.0)
    """
    if symbolic.sympy_expr_type(formula):
        formula, inputs = symbolic.from_sympy(formula, inputs)
    if not isinstance(formula, str):
        raise TypeError(
            f"formula must be a string or a SymPy expression, not {type(formula).__name__}"
        )
    if inputs is not None:
        if isinstance(inputs, str):
            raise TypeError("inputs must be a sequence of names, e.g. ['x', 'y']")
        inputs = tuple(check_input_name(name) for name in inputs)
        repeated = [name for name, count in Counter(inputs).items() if count > 1]
        if repeated:
            raise ValueError(f"inputs: repeated name '{repeated[0]}'")
    if backend not in ("auto", "numba", "vm", "numpy"):
        raise ValueError(f"backend must be 'auto', 'numba', 'vm' or 'numpy', not {backend!r}")
    return Formula(parse(formula, inputs, stable), inputs, backend, stable)
