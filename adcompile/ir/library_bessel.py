"""Bessel functions (issue "4b"): SciPy's kernels, closed-form derivatives in the argument.

The functions (each one row of the op table, SciPy's names; SymPy's are aliases):
- first kind `j0 j1 jv(v, x)`, with `jn` and SymPy's `besselj` aliases of `jv` (SciPy's
  `jn` *is* `jv`: a fractional order is not truncated);
- second kind `y0 y1 yv(v, x)` (`bessely`) and `yn(n, x)`, SciPy's own whole-order kernel
  (Cephes' recurrence from y0 and y1; it differs from `yv` at a whole order by a few ulp,
  and near the zeros by more: `yn` is SciPy's `yn`, number for number; a fractional n is
  truncated toward 0 on every tier, as SciPy's `yn` does, which warns in the interpreter);
- modified `i0 i1 iv(v, x)` (`besseli`), `k0 k1 kv(v, x)` (`besselk`), and the exponentially
  scaled `i0e i1e ive(v, x)` (`exp(-|x|) I_v(x)`: SciPy's `i0e`, `i1e`, `ive`).

The kernels are SciPy's (the real `double` loops of `cython_special`: `__pyx_fuse_1jv` and
not the complex `__pyx_fuse_0jv`). The real domain is SciPy's: y, k (and a fractional order
of j, i) are NaN for x < 0; y0 y1 yv(.., 0) are -inf, k0 k1 kv(.., 0) +inf.

Derivatives in x, each rule in terms of the same family so that one row closes the chain to
every order (Hessians):
- `jv' = (jv(v-1) - jv(v+1))/2`, `yv'`, `yn'` the same; `iv' = (iv(v-1) + iv(v+1))/2`;
  `kv' = -(kv(v-1) + kv(v+1))/2` (two terms of one sign for i and k: no cancellation);
- `j0' = -j1`, `y0' = -y1`, `i0' = i1`, `k0' = -k1`; `j1' = (j0 - jv(2))/2` and
  `i1' = (i0 + iv(2))/2` (finite at x = 0: 1/2), `y1' = y0 - y1/x` and `k1' = -k0 - k1/x`
  (x > 0 only, Cephes' kernels only; k's two terms have one sign);
- scaled: `ive' = (ive(v-1) + ive(v+1))/2 - sign(x) ive(v)`, `i0e' = i1e - sign(x) i0e`,
  `i1e' = (i0e + ive(2))/2 - sign(x) i1e`. At x = 0, where exp(-|x|) has its kink,
  sign(0) = 0 gives the mean of the one-sided slopes (`i0e'(0) = 0`, as `abs'(0) = 0`,
  and `i0e''(0) = i1e'(0) = 1/2`, where no second derivative exists: 3/2 on either side of
  the kink); `i1e` and `ive` for v > 0 are differentiable there (I_v(0) = 0) and the rule
  is exact. For large |x| the two terms nearly cancel: the relative error of f' grows like
  |x| ulp and of f'' like x^2 ulp (both stay a few ulp of the value's size).

At x = 0 with a fractional order below 1 the slope is +inf (jv, iv); what the rules give
beyond that is SciPy's value of a negative fractional order at 0 (`iv(-1.5, 0)` is inf where
the limit is -inf, `ive(-0.5, 0)` is NaN). In the order v (n) there is no closed form:
`DerivativeError` naming the order.

Accuracy (`tests/ir/test_library_bessel.py` measures it against mpmath): Cephes' kernels
(j0 j1 y0 y1 yn i0 i1 k0 k1 i0e i1e) are within a few ulp for |x| < 20, but j0 j1 y0 y1 yn
lose ~0.15 |x| ulp of the envelope beyond (`jv(0, x)` keeps 1 ulp there); AMOS (jv yv iv kv
ive) is within a few hundred ulp and flushes results below ~1e-210 to 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adcompile.ir.opdef import Interval, Partial
from adcompile.ir.special import SYMPY_IMPORTS, CFunction, no_derivative, scipy_op

#: The domains the tests sample: orders, whole and fractional, and the argument where the
#: function is real (x > 0 for y, k and a fractional order; the whole line for j0 j1 i*).
_ORDER = Interval(0.0, 3.0)
_WHOLE = Interval(2.0, 2.0)  # yn's order: a whole number
_LINE = Interval(-20.0, 20.0)
_HALF = Interval(0.1, 20.0)
_NO_ORDER = "the order has no closed-form derivative"


def _order(name: str, order: str = "v") -> Partial:
    return no_derivative(name, f"order {order}", _NO_ORDER)


def _recurrence(name: str, sign: float, scale: float = 0.5) -> Partial:
    """d/dx f(v, x) = scale * (f(v-1, x) + sign * f(v+1, x))."""
    return lambda v, x, o: scale * (x.apply(name, v - 1.0, x) + sign * x.apply(name, v + 1.0, x))


def _scaled(name: str) -> Partial:
    """d/dx of exp(-|x|) I_v(x) from its own values: the I_v rule minus sign(x) times it."""
    return lambda v, x, o: (
        0.5 * (x.apply(name, v - 1.0, x) + x.apply(name, v + 1.0, x)) - x.apply("sign", x) * o
    )


def _sympy(kind: str, order: float | None = None) -> Callable[..., Any]:
    """SymPy's form: `kind(v, x)` (the order a number for j0 and the like)."""
    if order is None:
        return lambda sp, v, x: getattr(sp, kind)(v, x)
    return lambda sp, x: getattr(sp, kind)(int(order), x)


def _scaled_sympy(order: float | None = None) -> Callable[..., Any]:
    if order is None:
        return lambda sp, v, x: sp.exp(-sp.Abs(x)) * sp.besseli(v, x)
    return lambda sp, x: sp.exp(-sp.Abs(x)) * sp.besseli(int(order), x)


def _fused(name: str) -> CFunction:
    """The real (double, double) loop of SciPy's fused `name` (`__pyx_fuse_0` is complex)."""
    return CFunction(f"__pyx_fuse_1{name}", "dds", name)


def _plain(name: str) -> CFunction:
    return CFunction(name, "ds", name)


# fmt: off
# ---- order v: plain applications of SymPy's classes, declared before any other row of the
# same SymPy class (`from_sympy` reads besselj(v, x) as the first such row: jv, not j0) ----
scipy_op("jv", 2, _fused("jv"), (_order("jv"), _recurrence("jv", -1.0)),
         _sympy("besselj"), (_ORDER, _HALF), aliases=("besselj", "jn"))
scipy_op("yv", 2, _fused("yv"), (_order("yv"), _recurrence("yv", -1.0)),
         _sympy("bessely"), (_ORDER, _HALF), aliases=("bessely",))
scipy_op("iv", 2, _fused("iv"), (_order("iv"), _recurrence("iv", 1.0)),
         _sympy("besseli"), (_ORDER, _HALF), aliases=("besseli",))
scipy_op("kv", 2, _fused("kv"), (_order("kv"), _recurrence("kv", 1.0, -0.5)),
         _sympy("besselk"), (_ORDER, _HALF), aliases=("besselk",))
scipy_op("ive", 2, _fused("ive"), (_order("ive"), _scaled("ive")),
         _scaled_sympy(), (_ORDER, _HALF))
# yn: SciPy's whole-order kernel (C `long n`: a fraction is truncated, as SciPy does)
scipy_op("yn", 2, CFunction("__pyx_fuse_1yn", "lds", "yn"),
         (_order("yn", "n"), _recurrence("yn", -1.0)), _sympy("bessely"), (_WHOLE, _HALF))
# ---- orders 0 and 1: Cephes' kernels ----
scipy_op("j0", 1, _plain("j0"), (lambda x, o: -x.apply("j1", x),),
         _sympy("besselj", 0), (_LINE,))
scipy_op("j1", 1, _plain("j1"),
         (lambda x, o: 0.5 * (x.apply("j0", x) - x.apply("jv", 2.0, x)),),
         _sympy("besselj", 1), (_LINE,))
scipy_op("y0", 1, _plain("y0"), (lambda x, o: -x.apply("y1", x),),
         _sympy("bessely", 0), (_HALF,))
scipy_op("y1", 1, _plain("y1"), (lambda x, o: x.apply("y0", x) - o / x,),
         _sympy("bessely", 1), (_HALF,))
scipy_op("i0", 1, _plain("i0"), (lambda x, o: x.apply("i1", x),),
         _sympy("besseli", 0), (_LINE,))
scipy_op("i1", 1, _plain("i1"),
         (lambda x, o: 0.5 * (x.apply("i0", x) + x.apply("iv", 2.0, x)),),
         _sympy("besseli", 1), (_LINE,))
scipy_op("k0", 1, _plain("k0"), (lambda x, o: -x.apply("k1", x),),
         _sympy("besselk", 0), (_HALF,))
scipy_op("k1", 1, _plain("k1"), (lambda x, o: -x.apply("k0", x) - o / x,),
         _sympy("besselk", 1), (_HALF,))
scipy_op("i0e", 1, _plain("i0e"), (lambda x, o: x.apply("i1e", x) - x.apply("sign", x) * o,),
         _scaled_sympy(0), (_LINE,))
scipy_op("i1e", 1, _plain("i1e"),
         (lambda x, o: 0.5 * (x.apply("i0e", x) + x.apply("ive", 2.0, x))
          - x.apply("sign", x) * o,),
         _scaled_sympy(1), (_LINE,))
# fmt: on

#: SymPy's spherical Bessel functions (its `jn`, `yn`: not SciPy's cylindrical ones of the
#: same names) read as the cylindrical ones of half-integer order.
SYMPY_IMPORTS.update(
    {
        "jn": "sqrt(pi / (2 * {1})) * jv({0} + 0.5, {1})",
        "yn": "sqrt(pi / (2 * {1})) * yv({0} + 0.5, {1})",
    }
)
