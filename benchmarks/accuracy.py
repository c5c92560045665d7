"""Accuracy of the stable functions: worst error in ulps of value, gradient and Hessian.

For each function (as a formula, through the public API), the worst error against SymPy's
derivatives evaluated by mpmath (enough digits that the reference itself does not cancel)
over two sets of points: the tails |x| = 20, 40, 89, 700 (both signs where defined; the other
argument of a binary function at 0.5) and seeded random points in [-3, 3] (or the domain).
Only points whose exact result is a normal float count; a reference that underflows must be
met by an underflow ("inf" otherwise). The Hessian column is d2/dx^2 of the first input;
the last column is the Hessian at the kinks of the stable forms (x = 0, and x = y for the
binary ones), where 0.1.0 dropped the curvature of softplus and its relatives.

    python benchmarks/accuracy.py [--backend numpy|vm|numba]

Runs against any adcompile on the path (PYTHONPATH=<checkout> to compare releases).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from typing import Any

import mpmath as mp
import numpy as np
import sympy

import adcompile as adc

NORMAL = 2.2250738585072014e-308
TAILS = (20.0, 40.0, 89.0, 700.0)
OTHER = 0.5

x, y = sympy.symbols("x y", real=True)
#: name, formula text, SymPy meaning, random-point interval, tail signs
FUNCTIONS: tuple[tuple[str, str, Any, tuple[float, float], tuple[float, ...]], ...] = (
    ("sigmoid", "sigmoid(x)", 1 / (1 + sympy.exp(-x)), (-3, 3), (1, -1)),
    ("softplus", "softplus(x)", sympy.log(1 + sympy.exp(x)), (-3, 3), (1, -1)),
    ("log_sigmoid", "log(sigmoid(x))", -sympy.log(1 + sympy.exp(-x)), (-3, 3), (1, -1)),
    (
        "log(1-sigmoid)",
        "log(1 - sigmoid(x))",
        sympy.log(1 - 1 / (1 + sympy.exp(-x))),
        (-3, 3),
        (1, -1),
    ),
    ("logaddexp", "logaddexp(x, y)", sympy.log(sympy.exp(x) + sympy.exp(y)), (-3, 3), (1, -1)),
    (
        "y+softplus(x-y)",
        "y + softplus(x - y)",
        sympy.log(sympy.exp(x) + sympy.exp(y)),
        (-3, 3),
        (1, -1),
    ),
    ("tanh", "tanh(x)", sympy.tanh(x), (-3, 3), (1, -1)),
    ("mish", "x*tanh(softplus(x))", x * sympy.tanh(sympy.log(1 + sympy.exp(x))), (-3, 3), (1, -1)),
    ("erf", "erf(x)", sympy.erf(x), (-3, 3), (1, -1)),
    ("erfc", "erfc(x)", sympy.erfc(x), (-3, 3), (1, -1)),
    ("atan2", "atan2(x, y)", sympy.atan2(x, y), (0.1, 3), (1,)),
    ("hypot", "hypot(x, y)", sympy.sqrt(x**2 + y**2), (-3, 3), (1, -1)),
    ("log1p", "log(1 + x)", sympy.log(1 + x), (-0.9, 3), (1,)),
    ("expm1", "exp(x) - 1", sympy.exp(x) - 1, (-3, 3), (1, -1)),
    ("gamma", "gamma(x)", sympy.gamma(x), (0.1, 3), (1,)),
    ("lgamma", "lgamma(x)", sympy.loggamma(x), (0.1, 3), (1,)),
    ("digamma", "digamma(x)", sympy.polygamma(0, x), (0.1, 3), (1,)),
)
#: erf and erfc also at non-integer tails, where x*x rounds (the integer ones square exactly).
EXTRA_TAILS: dict[str, tuple[float, ...]] = {
    "erf": (5.3, 20.3, 26.3),
    "erfc": (5.3, 20.3, 26.3, -5.3),
}


def reference(expr: Any, symbols: Sequence[Any]) -> list[Callable[..., Any]]:
    """value, d/dx, d2/dx2 (of the first symbol) as mpmath functions, plus d/dy if binary."""
    first = symbols[0]
    exprs = [expr, sympy.diff(expr, first), sympy.diff(expr, first, 2)]
    exprs += [sympy.diff(expr, s) for s in symbols[1:]]
    return [sympy.lambdify(list(symbols), e, modules="mpmath") for e in exprs]


def exact(fn: Callable[..., Any], point: Sequence[float]) -> Any:
    with mp.workdps(60 + math.ceil(1.8 * max(abs(v) for v in point))):
        try:
            value = fn(*(mp.mpf(v) for v in point))
        except (ZeroDivisionError, ValueError, OverflowError):
            return None
        if isinstance(value, mp.mpc):
            if abs(value.imag) > 1e-30 * (1 + abs(value.real)):
                return None
            value = value.real
        return +value if mp.isfinite(value) else None


def ulps(got: float, want: Any) -> float | None:
    if want is None:
        return None
    if abs(want) < NORMAL:
        return 0.0 if abs(got) < NORMAL else math.inf
    if abs(want) > 1.7976931348623157e308:
        return None
    if not math.isfinite(got):
        return math.inf
    with mp.workdps(60):
        return float(abs(mp.mpf(got) - want) / math.ulp(float(want)))


def measure(
    text: str, expr: Any, points: Sequence[tuple[float, ...]], backend: str
) -> tuple[float, float, float]:
    """Worst (value, gradient, Hessian) error in ulps over `points`."""
    f = adc.compile(text, backend=backend)  # type: ignore[arg-type]
    names = f.inputs
    # formula inputs may come in another order than the table's (x, y): map by name
    order = ["x", "y"][: len(names)]
    refs = reference(expr, [sympy.Symbol(n, real=True) for n in order])
    vg, hess = f.value_and_grad(), f.hessian()
    worst = [0.0, 0.0, 0.0]
    for point in points:
        at = dict(zip(order, point))
        args = [at[n] for n in names]
        value, grad = vg(*args)
        grads = dict(zip(names, tuple(grad)))
        h = hess(*args)
        k = names.index("x")
        got = [float(value), float(grads["x"]), float(h[k, k])]
        for j in range(3):
            e = ulps(got[j], exact(refs[j], point))
            if e is not None:
                worst[j] = max(worst[j], e)
        for j, n in enumerate(order[1:]):
            e = ulps(float(grads[n]), exact(refs[3 + j], point))
            if e is not None:
                worst[1] = max(worst[1], e)
    return worst[0], worst[1], worst[2]


def points_for(
    interval: tuple[float, float], signs: Sequence[float], arity: int, extra: Sequence[float]
) -> tuple[list[tuple[float, ...]], list[tuple[float, ...]]]:
    rng = np.random.default_rng(12345)
    tails = [s * t for t in TAILS for s in signs] + list(extra)
    tail_points = [(t,) + (OTHER,) * (arity - 1) for t in tails]
    if arity == 2:
        tail_points += [(OTHER, t) for t in tails]
    lo, hi = interval
    randoms = [tuple(float(v) for v in rng.uniform(lo, hi, arity)) for _ in range(200)]
    return tail_points, randoms


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="numpy", choices=("numpy", "vm", "numba"))
    args = parser.parse_args(argv)
    print(f"adcompile {adc.__version__} from {adc.__file__}, backend {args.backend}")
    header = f"{'function':<16}{'tails: value':>13}{'grad':>10}{'hessian':>12}"
    header += f"{'random: value':>15}{'grad':>10}{'hessian':>12}{'kink: hessian':>15}"
    print(header)
    for name, text, expr, interval, signs in FUNCTIONS:
        arity = len(expr.free_symbols)
        tails, randoms = points_for(interval, signs, arity, EXTRA_TAILS.get(name, ()))
        try:
            adc.compile(text)
        except adc.FormulaError:
            print(f"{name:<16}{'(not in this version)':>35}")
            continue
        t = measure(text, expr, tails, args.backend)
        r = measure(text, expr, randoms, args.backend)
        kinks = [(0.0,) * arity] + ([(OTHER, OTHER), (-1.0, -1.0)] if arity == 2 else [])
        k = measure(text, expr, kinks, args.backend)
        cells = [f"{v:.3g}" for v in (*t, *r, k[2])]
        print(
            f"{name:<16}{cells[0]:>13}{cells[1]:>10}{cells[2]:>12}"
            f"{cells[3]:>15}{cells[4]:>10}{cells[5]:>12}{cells[6]:>15}"
        )


if __name__ == "__main__":
    main()
