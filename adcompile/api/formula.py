"""`compile(text) -> Formula`: the entry point of the public API (DESIGN.md section 3).

A `Formula` holds the parsed program; its methods (`value_and_grad`, `jacobian`, ...) build
`Evaluator`s, cached per set of options.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

from adcompile.ad.products import SINGLE_OUTPUT, Kind
from adcompile.api.evaluator import Backend, Evaluator, Reduce
from adcompile.api.results import bind
from adcompile.codegen import dot as viz
from adcompile.codegen.numba import MATH_IMPORTS as MATH_NAMES
from adcompile.codegen.numba import Math
from adcompile.errors import did_you_mean
from adcompile.front import from_sympy as symbolic
from adcompile.front.names import check_input_name
from adcompile.front.parse import parse
from adcompile.ir.graph import Parsed
from adcompile.run.backends import BACKEND_NAMES
from adcompile.run.pointwise import at_point, numbers


class Formula:
    """A compiled formula. Build it with `adcompile.compile`.

    Attributes:
        text: the formula's source text.
        inputs: input names, in order (positional arguments follow this order).
        outputs: output names (one, or several for a program ending in `a, b`).
    """

    def __init__(
        self,
        program: Parsed,
        inputs: Sequence[str] | None,
        backend: Backend,
        stable: bool = True,
        shapes: tuple[tuple[str, Any], ...] = (),
        math: Math = "simd",
    ) -> None:
        self._program = program
        self.math: Math = math
        self._shapes = shapes
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
        args = (self.text, self._declared, self._backend, self.stable, self._shapes, self.math)
        return (_rebuilt_formula, args)

    @staticmethod
    def rebuild_evaluator(
        formula: Formula, kind: Kind, wrt: tuple[str, ...], bare: bool, reduce: Reduce
    ) -> Evaluator:
        """The evaluator an `Evaluator` pickles as (what `pickle.loads` calls)."""
        if kind == "value":
            return formula.value
        return formula._evaluator(kind, wrt[0] if bare else list(wrt), reduce)

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
        flags = [p in program.graph.vectors for p in program.input_ids]
        point = numbers(self.inputs, bind(self.inputs, args, kwargs), flags)
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
                    self._program,
                    kind,
                    names,
                    bare,
                    self._backend,
                    reduce,
                    formula=self,
                    math=self.math,
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
    shapes: dict[str, Any] | None = None,
    math: Math = "simd",
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
            interpreter: no Numba at all) or "auto": the NumPy interpreter answers at once,
            and once an evaluator runs hot (or `wait()` is called) its compiled tier (Numba
            up to `JIT_MAX_STATEMENTS` statements, the VM above), built by a compile worker
            process, takes over (README "Tiers and backends"; `ADCOMPILE_BACKGROUND=0`
            compiles before the first result instead).
        stable: apply the numerical-stability rewrites (`log(1 + u) -> log1p(u)`, ...; see
            README "Numerical stability"). `False` keeps every step as written, e.g. to
            trace a worked example step by step.
        shapes: vector inputs (DESIGN.md section 2b), by name: a length (the input is a
            vector of that length), None (a vector of any length) or () (a scalar). By
            default an input is a vector when the formula indexes, slices or reduces it,
            also through elementwise operations (`sum((y - a*t)^2)` makes y, a and t
            vectors; `shapes={"a": ()}` keeps a a scalar parameter).
        math: the elementary functions of the compiled Numba tier (DESIGN.md section 3d):
            "simd" (the default) computes `exp log sin cos pow tanh erf ...` several
            points at a time with glibc's vectorized libmvec where this machine has it
            (within the few ulp docs/simd.md states and the tests check; the C library's
            functions where it does not); "libm" calls the C library's functions, bit for
            bit the results of Python's `math`.

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
    if backend not in BACKEND_NAMES:
        names = ", ".join(repr(b) for b in BACKEND_NAMES)
        raise ValueError(f"backend must be one of {names}, not {backend!r}")
    if shapes is not None and not isinstance(shapes, dict):
        raise TypeError(
            f"shapes must be a dict of input name -> shape, not {type(shapes).__name__}"
        )
    if math not in MATH_NAMES:
        raise ValueError(f"math must be 'simd' or 'libm', not {math!r}")
    declared = tuple((shapes or {}).items())
    parsed = parse(formula, inputs, stable, dict(declared))
    return Formula(parsed, inputs, backend, stable, declared, math)


@functools.lru_cache(maxsize=32)
def _rebuilt_formula(
    text: str,
    inputs: tuple[str, ...] | None,
    backend: Backend,
    stable: bool,
    shapes: tuple[tuple[str, Any], ...] = (),
    math: Math = "simd",
) -> Formula:
    """One formula per set of `compile` arguments per process, so that unpickling many
    evaluators of it (one per task of a process pool) parses and derives it once."""
    return compile(text, inputs, backend, stable, dict(shapes) or None, math)
