"""The kink and branch conventions: the derivative every mode gives where one is not defined.

`CONVENTIONS` is the table README "Derivatives at kinks and branches" shows and
`tests/ir/test_kinks.py` checks in reverse mode, forward mode, Jacobians, Hessians and the
SymPy bridge (`adc.CONVENTIONS`; `ops.py` re-exports it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Convention:
    """A documented derivative at a kink, jump or branch, which every mode must give."""

    formula: str
    at: tuple[float, ...]  # the point, in the formula's input order
    grad: tuple[float, ...]  # the gradient there, in input order
    rule: str  # the convention, for the docs
    second: float | None = None  # d2/dx2 there (single input), when it is a convention too


#: The kink and branch conventions (README "Derivative conventions"; tests/test_kinks.py
#: checks each in reverse mode, forward mode, Jacobians, Hessians and the SymPy bridge).
CONVENTIONS: Final = (
    Convention("abs(x)", (0.0,), (0.0,), "abs'(0) = 0", 0.0),
    Convention("relu(x)", (0.0,), (0.0,), "relu'(0) = 0", 0.0),
    Convention(
        "max(x, 0)", (0.0,), (0.5,), "a tie of max/min splits evenly, max(x, 0)'(0) = 1/2", 0.0
    ),
    Convention("max(x, y)", (1.0, 1.0), (0.5, 0.5), "max(x, y) at x = y: 1/2 each"),
    Convention("min(x, y)", (1.0, 1.0), (0.5, 0.5), "min(x, y) at x = y: 1/2 each"),
    Convention("sign(x)", (0.0,), (0.0,), "sign' = 0, also at 0", 0.0),
    Convention("floor(x)", (1.0,), (0.0,), "floor' = 0, also at whole numbers", 0.0),
    Convention("ceil(x)", (1.0,), (0.0,), "ceil' = 0, also at whole numbers", 0.0),
    Convention("sqrt(x)", (0.0,), (math.inf,), "sqrt'(0) = inf"),
    Convention("cbrt(x)", (0.0,), (math.inf,), "cbrt'(0) = inf"),
    Convention("hypot(x, y)", (0.0, 0.0), (0.0, 0.0), "hypot'(0, 0) = 0 in both, like abs"),
    Convention("x^y", (-2.0, 2.0), (-4.0, 0.0), "d/dy x^y = 0 where x <= 0"),
    Convention("x^y", (0.0, 0.0), (0.0, 0.0), "d/dx x^y = 0 where y == 0"),
    Convention("atan2(y, x)", (0.0, 0.0), (0.0, 0.0), "atan2'(0, 0) = 0 in both, like hypot"),
    Convention("x > 0", (0.0,), (0.0,), "comparisons and logic: derivative 0", 0.0),
    Convention("stop_gradient(x) * x", (3.0,), (3.0,), "stop_gradient(x)' = 0: value passes", 0.0),
    Convention(
        "where(x > 0, log(x), 0)", (0.0,), (0.0,), "branch not taken: 0, even where inf", 0.0
    ),
    Convention(
        "where(x > 0, log(x), 0)", (-1.0,), (0.0,), "branch not taken: 0, even where NaN", 0.0
    ),
    Convention("where(x > 0, sqrt(x), -x)", (0.0,), (-1.0,), "only the branch taken counts", 0.0),
    Convention("where(x != 0, sin(x) / x, 1)", (0.0,), (0.0,), "sinc at 0: the taken branch", 0.0),
    # the function library (issue "4b", ir/library_elementary.py)
    Convention(
        "clamp(x, 0, 1)",
        (0.0,),
        (1.0,),
        "clamp at a bound: x's (NumPy's clip returns x), clamp(x, 0, 1)' = 1 at 0 and 1",
        0.0,
    ),
    Convention(
        "clamp(x, lo, hi)",
        (0.5, 2.0, 1.0),
        (0.0, 0.0, 1.0),
        "clamp(x, lo, hi) with lo > hi: hi, d/dhi = 1",
    ),
    Convention("round(x)", (0.5,), (0.0,), "round' = 0, also at half-integers", 0.0),
    Convention(
        "heaviside(x, h)",
        (0.0, 0.5),
        (0.0, 1.0),
        "heaviside(x, h0)' = 0 in x, also at 0; 1 in h0 at x = 0",
    ),
    Convention(
        "x % y",
        (6.0, 3.0),
        (1.0, -2.0),
        "x % y at a jump: the branch of the value, d/dy = -floor(x/y)",
    ),
    Convention("sinc(x)", (0.0,), (0.0,), "sinc'(0) = 0, sinc''(0) = -pi^2/3", -(math.pi**2) / 3),
    Convention("powm1(x, y)", (-2.0, 2.0), (-4.0, 0.0), "powm1 as pow: d/dy = 0 where x <= 0"),
)
