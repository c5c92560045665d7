"""`check_grad`: reverse mode against three independent references (PyTorch's `gradcheck`).

At one point, the Jacobian from reverse mode (a `vjp` per output) is compared with forward
mode (a `jvp` per input), central differences (Richardson-extrapolated, on the compiled value)
and SymPy's own `diff` of the formula's SymPy form, evaluated with mpmath at 30 digits. The
report gives, per input, the worst relative error against each reference over the outputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adcompile.api import Formula, compile
from adcompile.api.results import bind

#: Default tolerances: the AD modes agree to rounding; differences and SymPy less so.
RTOL = {"forward": 1e-10, "central": 1e-6, "sympy": 1e-10}


@dataclass
class GradCheck:
    """The result of `check_grad`. True when every error is within its tolerance.

    Attributes:
        inputs: the inputs checked (columns of the Jacobian).
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

    @property
    def ok(self) -> bool:
        """Whether every reference agrees within its tolerance."""
        return all(e <= self.rtol[name] for name, per in self.errors.items() for e in per.values())

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        names = list(self.references)
        head = ["input", "reverse mode", *(f"vs {n} (rtol {self.rtol[n]:g})" for n in names)]
        rows = [head]
        for k, x in enumerate(self.inputs):
            column = self.jacobian[:, k]
            shown = f"{column[0]:.12g}" + (" ..." if len(column) > 1 else "")
            rows.append([x, shown, *(_cell(self.errors[n][x], self.rtol[n]) for n in names)])
        widths = [max(len(r[c]) for r in rows) for c in range(len(head))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
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
    *args: float,
    wrt: str | Sequence[str] | None = None,
    rtol: dict[str, float] | None = None,
    step: float | None = None,
    use_sympy: bool = True,
    raise_on_failure: bool = False,
    **kwargs: float,
) -> GradCheck:
    """Check reverse mode at one point against forward mode, central differences and SymPy.

    Args:
        f: a `Formula` (or formula text), of one or several outputs.
        args, kwargs: the point, as for calling `f` (numbers only).
        wrt: the inputs to check (default: all).
        rtol: tolerances by reference name, overriding `RTOL`.
        step: the central-difference step, relative to max(1, |x|) (default 1e-3, with
            Richardson extrapolation: error O(step^4)).
        use_sympy: include SymPy's derivative (slow for formulas of thousands of nodes).
        raise_on_failure: raise AssertionError with the report instead of returning it.

    Returns:
        A `GradCheck` report (true when everything agrees); `print` it for the table.

    Example:
        >>> report = check_grad("log(x*y) + sin(x)^2", 2.0, 3.0)
        >>> report.ok
        True
    """
    formula = compile(f) if isinstance(f, str) else f
    point = [float(v) for v in _point(formula, args, kwargs)]
    names, _ = formula._wrt(wrt)
    n_out = len(formula.outputs)
    unit_out = np.eye(n_out)
    vjp = formula.vjp(names)
    rows = [np.atleast_1d(np.array(vjp(*point, cotangents=tuple(u))[1], float)) for u in unit_out]
    jacobian = np.array(rows).reshape(n_out, len(names))
    references = {
        "forward": _forward(formula, point, names),
        "central": _central(formula, point, names, 1e-3 if step is None else step),
    }
    if use_sympy:
        references["sympy"] = _sympy(formula, point, names)
    tolerances = {**RTOL, **(rtol or {})}
    report = GradCheck(names, jacobian, references, rtol={n: tolerances[n] for n in references})
    for name, ref in references.items():
        report.errors[name] = {x: rel_error(jacobian[:, k], ref[:, k]) for k, x in enumerate(names)}
    if raise_on_failure and not report.ok:
        raise AssertionError(str(report))
    return report


def _point(formula: Formula, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    return bind(formula.inputs, args, kwargs)


def _forward(formula: Formula, point: list[float], names: tuple[str, ...]) -> np.ndarray:
    jvp = formula.jvp(names)
    columns = []
    for k in range(len(names)):
        _, tangent = jvp(*point, tangents=tuple(float(j == k) for j in range(len(names))))
        columns.append(np.atleast_1d(np.array(tangent, float)))
    return np.array(columns).T


def _central(
    formula: Formula, point: list[float], names: tuple[str, ...], step: float
) -> np.ndarray:
    """Richardson-extrapolated central differences of the compiled value."""

    def diff(k: int, h: float) -> np.ndarray:
        hi, lo = list(point), list(point)
        hi[k] += h
        lo[k] -= h
        up = np.atleast_1d(np.array(formula(*hi), float))
        down = np.atleast_1d(np.array(formula(*lo), float))
        step_taken = (hi[k] - point[k]) + (point[k] - lo[k])
        return np.asarray((up - down) / step_taken, dtype=float)

    columns = []
    for name in names:
        k = formula.inputs.index(name)
        h = step * max(1.0, abs(point[k]))
        columns.append((4.0 * diff(k, h / 2) - diff(k, h)) / 3.0)
    return np.array(columns, dtype=float).T


def _sympy(formula: Formula, point: list[float], names: tuple[str, ...]) -> np.ndarray:
    import mpmath  # type: ignore[import-untyped]
    import sympy

    exprs = formula.value.to_sympy(cse=False)
    symbols = {s.name: s for e in exprs for s in e.free_symbols}
    subs = {symbols[n]: sympy.Float(v, 30) for n, v in zip(formula.inputs, point) if n in symbols}
    out = np.zeros((len(exprs), len(names)))
    with mpmath.workdps(30):
        for i, expr in enumerate(exprs):
            for k, name in enumerate(names):
                if name not in symbols:
                    continue  # an input the formula does not use: derivative 0
                d = sympy.diff(expr, symbols[name]).subs(subs).evalf(30)
                try:
                    out[i, k] = float(d) if d.is_extended_real else math.nan
                except TypeError:  # not a number (an unevaluated Derivative)
                    out[i, k] = math.nan
    return out
