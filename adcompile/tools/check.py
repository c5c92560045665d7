"""`check_grad`: reverse mode against three independent references (PyTorch's `gradcheck`).

At one point, the Jacobian from reverse mode (a `vjp` per output) is compared with forward
mode (a `jvp` per input), central differences (Richardson-extrapolated, on the compiled value)
and SymPy's own `diff` of the formula's SymPy form, evaluated with mpmath at 30 digits. The
report gives, per input, the worst relative error against each reference over the outputs.

A vector input (docs/vectors.md) is checked element by element: its columns are `x[0]`,
`x[1]`, ... At most `max_elements` of them (default `MAX_ELEMENTS`): for a longer vector,
that many indices spread evenly from the first to the last. SymPy's reference expands the
formula's sums at the point's lengths (`Sum(...).doit()`), so it is left out when a vector
is longer than `SYMPY_MAX_LENGTH`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from adcompile.api import Formula, compile
from adcompile.api.results import bind

#: Default tolerances: the AD modes agree to rounding; differences and SymPy less so.
RTOL = {"forward": 1e-10, "central": 1e-6, "sympy": 1e-10}
#: Elements of a vector input checked by default (spread evenly over a longer vector).
MAX_ELEMENTS: Final = 16
#: The longest vector SymPy's reference expands (its sums become this many terms).
SYMPY_MAX_LENGTH: Final = 12

#: One column of the Jacobian: (the input's position in the formula, its position among
#: `wrt`, the element of a vector input or None, the column's name).
Column = tuple[int, int, "int | None", str]


@dataclass
class GradCheck:
    """The result of `check_grad`. True when every error is within its tolerance.

    Attributes:
        inputs: the inputs checked (columns of the Jacobian): names, and `x[k]` for the
            elements of a vector input.
        jacobian: reverse mode's Jacobian, `(n_outputs, n_inputs)`.
        references: each reference's Jacobian, by name ("forward", "central", "sympy").
        errors: per reference, the worst relative error of each input's column.
        rtol: the tolerance per reference.
    """

    inputs: tuple[str, ...]
    jacobian: np.ndarray
    references: dict[str, np.ndarray]
    errors: dict[str, dict[str, float]] = field(default_factory=dict)
    rtol: dict[str, float] = field(default_factory=dict)
    #: Inputs at a kink: (slope from the left, slope from the right), where they differ.
    kinks: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: adcompile's conventions at kinks for the functions the formula uses.
    conventions: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether every reference agrees within its tolerance (central differences are not
        asked to agree at a kink, where reverse mode gives a one-sided slope or between)."""
        return all(
            e <= self.rtol[name]
            for name, per in self.errors.items()
            for x, e in per.items()
            if not (name == "central" and x in self.kinks)
        )

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:  # the table, in a REPL or a notebook
        return str(self)

    def __str__(self) -> str:
        names = list(self.references)
        head = ["input", "reverse mode", *(f"vs {n} (rtol {self.rtol[n]:g})" for n in names)]
        rows = [head]
        for k, x in enumerate(self.inputs):
            column = self.jacobian[:, k]
            shown = f"{column[0]:.12g}" + (" ..." if len(column) > 1 else "")
            cells = [_cell(self.errors[n][x], self.rtol[n]) for n in names]
            if x in self.kinks:  # not a mismatch: the note below says why
                cells[names.index("central")] = f"{self.errors['central'][x]:.2e}  (a kink)"
            rows.append([x, shown, *cells])
        widths = [max(len(r[c]) for r in rows) for c in range(len(head))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
        for x, (left, right) in self.kinks.items():
            lines.append(
                f"{x}: the point is a kink (slope {left:.6g} from the left, {right:.6g} from "
                "the right): central differences average them; reverse mode takes the "
                "convention"
                + (f" ({'; '.join(self.conventions)})" if self.conventions else "")
                + " (adc.CONVENTIONS)"
            )
        verdict = "ok" if self.ok else "MISMATCH"
        return f"check_grad: {verdict}\n" + "\n".join(lines)


def _cell(error: float, rtol: float) -> str:
    return f"{error:.2e}" + ("" if error <= rtol else "  <-- too large")


def rel_error(got: np.ndarray, want: np.ndarray) -> float:
    """The worst of |got - want| / max(|got|, |want|, 1e-300) over entries: equal infinities
    count as 0, a NaN on one side only as inf."""
    worst = 0.0
    for a, b in zip(np.ravel(got), np.ravel(want)):
        if a == b or (math.isnan(a) and math.isnan(b)):
            continue
        if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
            return math.inf
        worst = max(worst, abs(a - b) / max(abs(a), abs(b), 1e-300))
    return worst


def check_grad(
    f: Formula | str,
    *args: Any,
    wrt: str | Sequence[str] | None = None,
    rtol: dict[str, float] | None = None,
    step: float | None = None,
    use_sympy: bool = True,
    raise_on_failure: bool = False,
    max_elements: int = MAX_ELEMENTS,
    **kwargs: Any,
) -> GradCheck:
    """Check reverse mode at one point against forward mode, central differences and SymPy.

    Args:
        f: a `Formula` (or formula text), of one or several scalar outputs.
        args, kwargs: the point, as for calling `f`: numbers, and 1-D arrays for vector
            inputs.
        wrt: the inputs to check (default: all).
        rtol: tolerances by reference name, overriding `RTOL`.
        step: the central-difference step, relative to max(1, |x|) (default 1e-3, with
            Richardson extrapolation: error O(step^4)).
        use_sympy: include SymPy's derivative (slow for formulas of thousands of nodes; left
            out for vectors longer than `SYMPY_MAX_LENGTH`).
        raise_on_failure: raise AssertionError with the report instead of returning it.
        max_elements: the most elements of one vector input checked (evenly spread).

    Returns:
        A `GradCheck` report (true when everything agrees); `print` it for the table.

    Example:
        >>> report = check_grad("log(x*y) + sin(x)^2", 2.0, 3.0)
        >>> report.ok
        True
    """
    formula = compile(f) if isinstance(f, str) else f
    point = _point(formula, args, kwargs)
    names, _ = formula._wrt(wrt)
    columns = _columns(formula, point, names, max_elements)
    n_out = len(formula.outputs)
    vjp = formula.vjp(names)
    rows = []
    for u in np.eye(n_out):
        grads = vjp(*point, cotangents=tuple(u))[1]
        rows.append([_entry(grads[w], k) for _, w, k, _ in columns])
    jacobian = np.array(rows, dtype=float).reshape(n_out, len(columns))
    references = {
        "forward": _forward(formula, point, names, columns),
        "central": _central(formula, point, columns, 1e-3 if step is None else step),
    }
    longest = max((np.size(v) for v in point if np.ndim(v)), default=0)
    if use_sympy and longest <= SYMPY_MAX_LENGTH:
        references["sympy"] = _sympy(formula, point, columns)
    tolerances = {**RTOL, **(rtol or {})}
    labels = tuple(c[3] for c in columns)
    report = GradCheck(labels, jacobian, references, rtol={n: tolerances[n] for n in references})
    for name, ref in references.items():
        report.errors[name] = {
            x: rel_error(jacobian[:, k], ref[:, k]) for k, x in enumerate(labels)
        }
    for k, column in enumerate(columns):
        if report.errors["central"][labels[k]] > tolerances["central"]:
            slopes = _one_sided(formula, point, column)
            if slopes is not None and _between(jacobian[:, k], *slopes):
                report.kinks[labels[k]] = (float(slopes[0][0]), float(slopes[1][0]))
    if report.kinks:
        from adcompile.ir.ops import CONVENTIONS

        used = [c.rule for c in CONVENTIONS if c.formula.split("(")[0] + "(" in formula.text]
        report.conventions = tuple(dict.fromkeys(used))
    if raise_on_failure and not report.ok:
        raise AssertionError(str(report))
    return report


def _one_sided(
    formula: Formula, point: list[Any], column: Column
) -> tuple[np.ndarray, np.ndarray] | None:
    """The slopes from the left and from the right where they differ (a kink), else None."""
    j, _, k, _ = column
    x = float(_entry(point[j], k))
    h = 1e-7 * max(1.0, abs(x))

    def at(v: float) -> np.ndarray:
        moved = [np.array(p) if np.ndim(p) else p for p in point]
        if k is None:
            moved[j] = v
        else:
            moved[j][k] = v
        return np.atleast_1d(np.array(formula(*moved), dtype=float))

    mid = at(x)
    left, right = (mid - at(x - h)) / h, (at(x + h) - mid) / h
    gap = np.abs(left - right) > 1e-4 * np.maximum(1.0, np.abs(left) + np.abs(right))
    return (left, right) if bool(np.any(gap)) else None


def _between(got: np.ndarray, left: np.ndarray, right: np.ndarray) -> bool:
    """Whether reverse mode's slope lies between (or at) the one-sided ones, per output."""
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    slack = 1e-4 * np.maximum(1.0, np.abs(hi))
    return bool(np.all((got >= lo - slack) & (got <= hi + slack)))


def _point(formula: Formula, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    """Floats, and 1-D float arrays for vector inputs (one point)."""
    point: list[Any] = []
    graph, ids = formula._program.graph, formula._program.input_ids
    for name, nid, v in zip(formula.inputs, ids, bind(formula.inputs, args, kwargs)):
        if isinstance(v, (str, bytes)):
            raise TypeError(f"check_grad: '{name}' must be a number, got {v!r}")
        if np.ndim(v) > 1 or (np.ndim(v) == 1 and nid not in graph.vectors):
            what = "a 1-D array (a vector input)" if nid in graph.vectors else "a number"
            raise TypeError(
                f"check_grad checks one point: '{name}' must be {what}, got an array of "
                f"shape {np.shape(v)} (check points one at a time)"
            )
        point.append(np.array(v, dtype=float) if np.ndim(v) else float(v))
    return point


def _columns(formula: Formula, point: list[Any], names: tuple[str, ...], most: int) -> list[Column]:
    """The Jacobian's columns: each scalar input, and up to `most` elements of each vector
    input (all of a short one; else evenly spread, first and last included)."""
    columns: list[Column] = []
    for w, name in enumerate(names):
        j = formula.inputs.index(name)
        if np.ndim(point[j]) == 0:
            columns.append((j, w, None, name))
            continue
        n = np.size(point[j])
        picked = range(n) if n <= most else np.unique(np.linspace(0, n - 1, max(most, 1)))
        columns += [(j, w, int(k), f"{name}[{int(k)}]") for k in picked]
    return columns


def _entry(value: Any, k: int | None) -> Any:
    """One column's number from a result per output: a scalar, or element k of a vector."""
    return value if k is None else np.asarray(value)[..., k]


def _forward(
    formula: Formula, point: list[Any], names: tuple[str, ...], columns: list[Column]
) -> np.ndarray:
    jvp = formula.jvp(names)
    zeros = [np.zeros_like(point[formula.inputs.index(n)]) for n in names]
    found = []
    for _, w, k, _ in columns:
        tangents: list[Any] = [z.copy() if np.ndim(z) else 0.0 for z in zeros]
        if k is None:
            tangents[w] = 1.0
        else:
            tangents[w][k] = 1.0
        _, tangent = jvp(*point, tangents=tuple(tangents))
        found.append(np.atleast_1d(np.array(tangent, float)))
    return np.array(found).T


def _central(formula: Formula, point: list[Any], columns: list[Column], step: float) -> np.ndarray:
    """Richardson-extrapolated central differences of the compiled value."""

    def moved(j: int, k: int | None, h: float) -> tuple[list[Any], float]:
        at = [np.array(v) if np.ndim(v) else v for v in point]
        if k is None:
            at[j] = point[j] + h
            return at, at[j] - point[j]
        at[j][k] = point[j][k] + h
        return at, float(at[j][k] - point[j][k])

    def diff(j: int, k: int | None, h: float) -> np.ndarray:
        hi, up_step = moved(j, k, h)
        lo, down_step = moved(j, k, -h)
        up = np.atleast_1d(np.array(formula(*hi), float))
        down = np.atleast_1d(np.array(formula(*lo), float))
        return np.asarray((up - down) / (up_step - down_step), dtype=float)

    found = []
    for j, _, k, _ in columns:
        h = step * max(1.0, abs(float(_entry(point[j], k))))
        found.append((4.0 * diff(j, k, h / 2) - diff(j, k, h)) / 3.0)
    return np.array(found, dtype=float).T


def _sympy(formula: Formula, point: list[Any], columns: list[Column]) -> np.ndarray:
    """SymPy's `diff` of the formula's SymPy form at the point, at 30 digits. Vectors: the
    lengths are the point's (`n`, `n_x`: see `codegen.sympy`), sums expanded, and the
    derivative taken with respect to the element `x[k]`."""
    import mpmath  # type: ignore[import-untyped]
    import sympy

    exprs = formula.value.to_sympy(cse=False)
    sizes = {n: np.size(v) for n, v in zip(formula.inputs, point) if np.ndim(v)}
    subs: dict[Any, Any] = {}
    variables: list[Any] = []
    for j, _, k, _ in columns:
        name = formula.inputs[j]
        variables.append(
            sympy.Symbol(name, real=True) if k is None else sympy.IndexedBase(name, real=True)[k]
        )
    for name, v in zip(formula.inputs, point):
        if np.ndim(v):
            base = sympy.IndexedBase(name, real=True)
            subs.update({base[k]: sympy.Float(float(e), 30) for k, e in enumerate(v)})
        else:
            subs[sympy.Symbol(name, real=True)] = sympy.Float(v, 30)
    if sizes:
        exprs = [_expanded(sympy, e, sizes) for e in exprs]
    out = np.zeros((len(exprs), len(columns)))
    with mpmath.workdps(30):
        for i, expr in enumerate(exprs):
            free = expr.free_symbols
            for c, variable in enumerate(variables):
                if variable not in free:
                    continue  # an input (element) the formula does not use: derivative 0
                d = sympy.diff(expr, variable).subs(subs).evalf(30)
                try:
                    out[i, c] = float(d) if d.is_extended_real else math.nan
                except TypeError:  # not a number (an unevaluated Derivative)
                    out[i, c] = math.nan
    return out


def _expanded(sp: Any, expr: Any, sizes: dict[str, int]) -> Any:
    """`expr` with its length symbols (`n`, or `n_x` for input x) set to the point's lengths
    and its sums, products and extrema written out."""
    lengths = {}
    for s in expr.free_symbols:
        if s.is_Symbol and s.is_integer and s.is_nonnegative:
            name = s.name[2:].rstrip("_") if s.name.startswith("n_") else None
            lengths[s] = (
                sizes.get(name, next(iter(sizes.values()))) if name else max(sizes.values())
            )
    return expr.xreplace({s: sp.Integer(n) for s, n in lengths.items()}).doit()
