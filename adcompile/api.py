"""The public API: `compile(text) -> Formula`, and evaluators built from it (DESIGN.md section 3).

A `Formula` holds the parsed program. `f(...)`, `f.value_and_grad(wrt)` and `f.grad(wrt)` give
`Evaluator`s: each copies the primal graph, appends what it needs (reverse mode for gradients),
prints a kernel and runs it, by default through Numba (compiled on first call, cached on disk)
and through the NumPy interpreter for formulas too large to JIT quickly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from types import ModuleType
from typing import Any, Literal

import numpy as np

from adcompile import codegen, jit
from adcompile.errors import did_you_mean
from adcompile.interpret import Plan
from adcompile.ir import NodeId, pformat
from adcompile.parse import Program, parse
from adcompile.reverse import reverse

Backend = Literal["auto", "numba", "numpy"]
Kind = Literal["value", "value_and_grad", "grad"]

#: Kernels with more statements than this run on the NumPy interpreter under backend="auto":
#: Numba's compile time grows faster than linearly with function size (DESIGN.md section 1b).
JIT_MAX_STATEMENTS = 800


class Grad(tuple):  # type: ignore[type-arg]
    """A gradient: a tuple in `wrt` order whose entries are also attributes (`g.x`, `g['x']`)."""

    _fields: tuple[str, ...]

    def __new__(cls, values: Iterable[Any], fields: Sequence[str]) -> Grad:
        self = super().__new__(cls, values)
        self.__dict__.update(zip(fields, self))  # instance attributes shadow tuple methods
        self._fields = tuple(fields)
        return self

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            if key not in self._fields:
                self._missing(key)
            return super().__getitem__(self._fields.index(key))
        return super().__getitem__(key)

    def _missing(self, key: str) -> None:
        raise KeyError(f"no gradient entry '{key}'{did_you_mean(key, self._fields)}")

    def _asdict(self) -> dict[str, Any]:
        """The entries as a dict, in order."""
        return dict(zip(self._fields, self))

    def __repr__(self) -> str:
        return "Grad(" + ", ".join(f"{k}={v!r}" for k, v in zip(self._fields, self)) + ")"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Grad, (tuple(self), self._fields))


class Evaluator:
    """A compiled function of the formula's inputs: value, value and gradient, or gradient.

    Call it with the inputs positionally (in `inputs` order) or by name. Scalars give Python
    floats; arrays broadcast like NumPy ufuncs and give float64 arrays of the broadcast shape.
    """

    def __init__(
        self, program: Program, kind: Kind, wrt: tuple[str, ...], bare: bool, backend: Backend
    ) -> None:
        self.inputs = program.inputs
        self.kind = kind
        self.wrt = wrt
        self._bare = bare
        self._n_values = len(program.outputs)
        graph = program.graph.copy()
        outputs: list[NodeId | None] = list(program.outputs)
        grad_of: list[NodeId | None] = [None] * len(outputs)
        if kind != "value":
            ids = [program.input_ids[program.inputs.index(w)] for w in wrt]
            outputs += reverse(graph, program.outputs[0], ids)
            grad_of += ids
        self._graph, self._outputs, self._input_ids = graph, outputs, program.input_ids
        self._kernel = codegen.build_kernel(graph, program.input_ids, outputs, grad_of)
        self._fname = kind
        what = {"value": "value", "value_and_grad": "value and gradient", "grad": "gradient"}[kind]
        if kind != "value":
            listed = ", ".join(wrt) if len(wrt) <= 8 else f"{len(wrt)} inputs"
            what += " with respect to " + listed
        self._header = codegen.header_comment(program.source, what)
        big = self._kernel.statements > JIT_MAX_STATEMENTS or not program.inputs
        self.backend: Backend = ("numpy" if big else "numba") if backend == "auto" else backend
        self._module: ModuleType | None = None
        self._plan: Plan | None = None
        self._scalar: Callable[..., Sequence[float]] | None = None
        self._lock = threading.RLock()

    # -- what it is ----------------------------------------------------------------------
    @property
    def source(self) -> str:
        """The generated code as a readable, self-contained Python function."""
        return codegen.python_source(self._kernel, self._fname, self._header)

    @property
    def numba_source(self) -> str:
        """The generated Numba module (scalar kernel and parallel batch driver)."""
        return codegen.numba_source(self._kernel, self._fname, self._header)

    @property
    def ir(self) -> str:
        """The IR this evaluator runs, one node per line."""
        return pformat(self._graph, [o for o in self._outputs if o is not None])

    def __repr__(self) -> str:
        return f"<Evaluator {self.kind} of {', '.join(self.inputs)} ({self.backend})>"

    # -- running -------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs and len(args) == len(self.inputs) and all(type(a) is float for a in args):
            return self._package(self._run_scalar(args))  # fast path: one point, by position
        values = _bind(self.inputs, args, kwargs)
        arrays = [np.asarray(v, dtype=np.float64) for v in values]
        if all(a.ndim == 0 for a in arrays):
            return self._package(self._run_scalar([float(a) for a in arrays]))
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
        return self._package(self._run_array(arrays, shape))

    def _run_scalar(self, values: Sequence[float]) -> Sequence[float]:
        if self._scalar is None:
            with self._lock:
                if self.backend == "numba":
                    self._scalar = getattr(self._jit_locked(), self._fname)
                else:
                    plan = self._interpreter_locked()
                    self._scalar = lambda *v: [float(r) for r in plan(*v)]
        return self._scalar(*values)

    def _run_array(self, arrays: list[np.ndarray], shape: tuple[int, ...]) -> list[np.ndarray]:
        if self.backend == "numpy":
            results = self._interpreter()(*arrays)
            return [np.array(np.broadcast_to(r, shape), dtype=np.float64) for r in results]
        size = int(np.prod(shape))
        ins: list[float | np.ndarray] = []
        for a in arrays:
            if a.size == 1:  # a scalar for the kernel: a loop invariant, not a memory read
                ins.append(float(a.reshape(-1)[0]))
            else:
                full = a if a.shape == shape else np.broadcast_to(a, shape)
                ins.append(np.ascontiguousarray(full).reshape(-1))
        out = np.empty((len(self._outputs), size), dtype=np.float64)
        if size:
            self._jit().batch(size, *ins, out)
        return [row.reshape(shape) for row in out]

    def _package(self, results: Sequence[Any]) -> Any:
        values, grads = results[: self._n_values], results[self._n_values :]
        value = values[0] if self._n_values == 1 else tuple(values)
        if self.kind == "value":
            return value
        grad = grads[0] if self._bare else Grad(grads, self.wrt)
        return grad if self.kind == "grad" else (value, grad)

    def _jit(self) -> ModuleType:
        if self._module is None:
            with self._lock:
                return self._jit_locked()
        return self._module

    def _jit_locked(self) -> ModuleType:
        if self._module is None:
            self._module = jit.load(self.numba_source)
        return self._module

    def _interpreter(self) -> Plan:
        if self._plan is None:
            with self._lock:
                return self._interpreter_locked()
        return self._plan

    def _interpreter_locked(self) -> Plan:
        if self._plan is None:
            self._plan = Plan(self._graph, self._input_ids, self._outputs)
        return self._plan


def _bind(inputs: tuple[str, ...], args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    if len(args) > len(inputs):
        raise TypeError(
            f"expected at most {len(inputs)} inputs ({', '.join(inputs)}), got {len(args)}"
        )
    bound = dict(zip(inputs, args))
    for name, value in kwargs.items():
        if name not in inputs:
            raise TypeError(
                f"unknown input '{name}'{did_you_mean(name, inputs)}; "
                f"inputs are {', '.join(inputs)}"
            )
        if name in bound:
            raise TypeError(f"input '{name}' given twice (by position and by name)")
        bound[name] = value
    missing = [n for n in inputs if n not in bound]
    if missing:
        raise TypeError(
            f"missing value for input{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(m) for m in missing)}"
        )
    return [bound[n] for n in inputs]


class Formula:
    """A compiled formula. Build it with `adcompile.compile`.

    Attributes:
        text: the formula's source text.
        inputs: input names, in order (positional arguments follow this order).
        outputs: output names (one, or several for a program ending in `a, b`).
    """

    def __init__(self, program: Program, inputs: Sequence[str] | None, backend: Backend) -> None:
        self._program = program
        self._declared = tuple(inputs) if inputs is not None else None
        self._backend: Backend = backend
        self._cache: dict[tuple[Kind, tuple[str, ...], bool], Evaluator] = {}
        self._lock = threading.Lock()
        self.text = program.source
        self.inputs = program.inputs
        self.outputs = program.output_names

    def __repr__(self) -> str:
        return f"Formula({self.text!r}, inputs={self.inputs!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (compile, (self.text, self._declared, self._backend))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The value at the given inputs (a tuple for several outputs)."""
        return self.value(*args, **kwargs)

    def value_and_grad(self, wrt: str | Sequence[str] | None = None) -> Evaluator:
        """An evaluator returning `(value, gradient)`.

        Args:
            wrt: the inputs to differentiate with respect to: None for all, a name, or a list.
                With a list (or None) the gradient is a `Grad` tuple in that order; with a
                single name it is the bare derivative.

        Example:
            >>> f = compile("x^2 + 3*y")
            >>> f.value_and_grad()(2.0, 1.0)
            (7.0, Grad(x=4.0, y=3.0))
        """
        return self._evaluator("value_and_grad", wrt)

    def grad(self, wrt: str | Sequence[str] | None = None) -> Evaluator:
        """An evaluator returning only the gradient (see `value_and_grad` for `wrt`)."""
        return self._evaluator("grad", wrt)

    @property
    def value(self) -> Evaluator:
        """The evaluator behind `f(...)`: the value(s) only, with its `.source`."""
        return self._evaluator("value", None)

    @property
    def source(self) -> str:
        """Readable generated code: of the value and gradient, or of the values for a
        program with several outputs."""
        single = len(self._program.outputs) == 1
        return (self.value_and_grad() if single else self.value).source

    def _evaluator(self, kind: Kind, wrt: str | Sequence[str] | None) -> Evaluator:
        names, bare = self._wrt(wrt) if kind != "value" else ((), False)
        if kind != "value" and len(self._program.outputs) != 1:
            raise ValueError(
                f"gradients need a single output; this program has {len(self.outputs)} "
                f"({', '.join(self.outputs)}): end it with one expression"
            )
        key = (kind, names, bare)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = Evaluator(self._program, kind, names, bare, self._backend)
            return self._cache[key]

    def _wrt(self, wrt: str | Sequence[str] | None) -> tuple[tuple[str, ...], bool]:
        bare = isinstance(wrt, str)
        names = self.inputs if wrt is None else ((wrt,) if isinstance(wrt, str) else tuple(wrt))
        for name in names:
            if name not in self.inputs:
                raise ValueError(
                    f"wrt: '{name}' is not an input{did_you_mean(name, self.inputs)}"
                    f"; inputs are {', '.join(self.inputs)}"
                )
        if len(set(names)) != len(names):
            raise ValueError(f"wrt: repeated names in {list(names)}")
        return tuple(names), bare


def compile(
    formula: str, inputs: Sequence[str] | None = None, backend: Backend = "auto"
) -> Formula:
    """Compile a formula or program in the adcompile language.

    Args:
        formula: text such as ``"log(x*y) + sin(x)^2"`` or a program of assignments.
        inputs: the input names in order; default: the free names in order of appearance.
            May list names the formula does not use (their gradient is 0); any other free
            name is then an error.
        backend: "numba" (JIT, cached on disk), "numpy" (interpreter, no compile time) or
            "auto" (Numba unless the formula is very large).

    Returns:
        A `Formula`.

    Raises:
        FormulaError: the text is not a valid formula (with line, column and a caret).

    Example:
        >>> f = compile("2*x^4 + x^3 + 3*x^2 + 5*x + 1")
        >>> f.value_and_grad("x")(2.0)
        (63.0, 93.0)
    """
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a string, not {type(formula).__name__}")
    if inputs is not None:
        if isinstance(inputs, str):
            raise TypeError("inputs must be a sequence of names, e.g. ['x', 'y']")
        inputs = tuple(inputs)
        if len(set(inputs)) != len(inputs):
            raise ValueError(f"inputs: repeated names in {list(inputs)}")
    if backend not in ("auto", "numba", "numpy"):
        raise ValueError(f"backend must be 'auto', 'numba' or 'numpy', not {backend!r}")
    return Formula(parse(formula, inputs), inputs, backend)
