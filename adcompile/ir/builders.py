"""IR builders used inside the op table's derivative rules: each call is one node through
the graph's door (`Expr.apply`), so a rule reads like the math it writes (`cos(x)`, `where`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adcompile.ir.graph import Expr


def _ap(op: str, *args: Expr | float) -> Expr:
    handle = next(a for a in args if not isinstance(a, (int, float)))
    return handle.apply(op, *args)


def sin(x: Expr) -> Expr:
    return _ap("sin", x)


def cos(x: Expr) -> Expr:
    return _ap("cos", x)


def exp(x: Expr) -> Expr:
    return _ap("exp", x)


def log(x: Expr) -> Expr:
    return _ap("log", x)


def sqrt(x: Expr) -> Expr:
    return _ap("sqrt", x)


def tanh(x: Expr) -> Expr:
    return _ap("tanh", x)


def sech2(x: Expr) -> Expr:
    return _ap("sech2", x)


def mul0(a: Expr | float, b: Expr | float) -> Expr:
    return _ap("mul0", a, b)


def sinh(x: Expr) -> Expr:
    return _ap("sinh", x)


def cosh(x: Expr) -> Expr:
    return _ap("cosh", x)


def hypot(x: Expr | float, y: Expr | float) -> Expr:
    return _ap("hypot", x, y)


def sign(x: Expr) -> Expr:
    return _ap("sign", x)


def abs(x: Expr) -> Expr:
    return _ap("abs", x)


def sigmoid(x: Expr | float) -> Expr:
    return _ap("sigmoid", x)


def sigmoid_slope(x: Expr) -> Expr:
    return _ap("sigmoid_slope", x)


def sigmoid2(x: Expr | float) -> Expr:
    return _ap("sigmoid2", x)


def sigmoid2_slope(x: Expr) -> Expr:
    return _ap("sigmoid2_slope", x)


def expmx2(x: Expr) -> Expr:
    return _ap("expmx2", x)


def digamma(x: Expr) -> Expr:
    return _ap("digamma", x)


def polygamma(n: Expr | float, x: Expr) -> Expr:
    return _ap("polygamma", n, x)


def one_minus_sq(x: Expr) -> Expr:
    return _ap("one_minus_sq", x)


def hypot_ratio(x: Expr | float, y: Expr | float) -> Expr:
    return _ap("hypot_ratio", x, y)


def _atan2_partial(y: Expr, x: Expr, wrt_y: bool) -> Expr:
    """x / (x^2 + y^2) (d/dy) or -y / (x^2 + y^2) (d/dx), the partials of atan2(y, x), as
    hypot_ratio(x, y) / h and -hypot_ratio(y, x) / h:
    x*x + y*y overflows from |x| ~ 1e154 and underflows below ~1e-154, while h = hypot(x, y)
    does neither and the ratio a / h is in [-1, 1] (within 3 ulp in all, mpmath). Built from
    hypot_ratio, whose own partials are products (s^2/h, -cs/h), the second derivatives are
    sums of terms of one sign except where the truth (y^2 - x^2)/h^4 itself changes sign.
    At the origin, where atan2 jumps, the partial is 0 like hypot's (a NaN argument stays
    NaN: `eq`, not `gt`, picks the convention).
    """
    h = hypot(y, x)
    ratio = hypot_ratio(x, y) if wrt_y else -hypot_ratio(y, x)
    return where(eq(h, 0.0), 0.0, ratio / h)


def _at_origin_zero(h: Expr, rule: Expr) -> Expr:
    """`rule`, but 0 where h = hypot(x, y) is 0: the second derivatives of hypot at the
    origin follow hypot'(0, 0) = 0 (like abs''(0) = 0), where s^2/h would be 0/0."""
    return where(eq(h, 0.0), 0.0, rule)


def where(c: Expr, a: Expr | float, b: Expr | float) -> Expr:
    return _ap("where", c, a, b)


def lt(x: Expr | float, y: Expr | float) -> Expr:
    return _ap("lt", x, y)


def gt(x: Expr | float, y: Expr | float) -> Expr:
    return _ap("gt", x, y)


def eq(x: Expr | float, y: Expr | float) -> Expr:
    return _ap("eq", x, y)


#: The smallest positive normal float64: below it x^y / x loses digits (subnormal x^y).
_TINY = 2.2250738585072014e-308


def pow_slope(x: Expr, y: Expr, o: Expr) -> Expr:
    """d/dx x^y = y x^(y-1), taken as 0 where y == 0 (`mul0`). For a constant exponent the
    power is printed as is (`x^2` -> `2*x`, whole powers by multiplication); for a variable
    one, x^(y-1) inherits the rounding of y - 1 magnified by |y ln x| (17 ulp for x in
    [0.1, 10], |y| <= 10; 272 ulp for x in [1e-3, 1e3], |y| <= 100), so where x^y (the op's
    own output `o`) is a normal number it is y * (x^y / x) instead: within 2-3 ulp. Where
    x^y overflows, underflows or x is 0, the plain form (both are exact there)."""
    plain = mul0(y, x ** (y - 1.0))
    if x.graph.const_value(y.id) is not None:
        return plain
    size = o.apply("abs", o)
    normal = o.apply("and", lt(size, math.inf), gt(size, _TINY))
    return where(normal, mul0(y, o / x), plain)
