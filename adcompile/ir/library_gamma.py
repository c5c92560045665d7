"""The function library (issue "4b"): the gamma family. See `ir.special` for how a row is
declared (`scipy_op`, `library_op`, `no_derivative`).

gamma, lgamma, digamma and polygamma (issue "4 of 7") come first: C-library values for gamma
and lgamma, the Numba-compatible helpers of `numeric.HELPERS` for digamma and polygamma.
Then SciPy's kernels: `rgamma gammasgn poch(a, m) beta(a, b) betaln(a, b) betainc(a, b, x)
gammainc(a, x) gammaincc(a, x)` (the incomplete functions regularized, as in SciPy), `erfinv
erfcinv` and `erfcx` (the scaled erfc, which their slopes use); `factorial(x) = gamma(x + 1)`,
and SymPy's non-regularized `lowergamma(a, x) = gamma(a) gammainc(a, x)` and `uppergamma(a,
x) = gamma(a) gammaincc(a, x)`. Aliases: `RisingFactorial` (poch), `erf_inv` (erfinv).
Derivatives are closed forms in every argument but the shape parameters of the incomplete
functions (`a`, `b`: `DerivativeError`). SymPy's `betainc(a, b, x1, x2)` and
`betainc_regularized` read as formulas (`SYMPY_IMPORTS`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from adcompile.ir.builders import (
    abs,
    cos,
    digamma,
    eq,
    exp,
    expmx2,
    log,
    mul0,
    polygamma,
    sin,
    where,
)
from adcompile.ir.numeric import _digamma, _gamma, _lgamma, _polygamma
from adcompile.ir.opdef import POSITIVE, REAL, UNIT, Arr, Interval, defop
from adcompile.ir.special import (
    LIBRARY,
    SYMPY_IMPORTS,
    CFunction,
    library_op,
    no_derivative,
    scipy_op,
    scipy_special,
)

if TYPE_CHECKING:
    from adcompile.ir.graph import Expr

SQRT_PI_2 = 0.5 * math.sqrt(math.pi)
_SHAPE = "a shape parameter: no closed-form derivative"


def _order(sp: Any, n: Any) -> Any:
    """polygamma's order as SymPy sees it: a whole number (NaN if n is not one); for a
    symbol n, n itself at 0, 1, ..., 8 and NaN elsewhere, piecewise constant (so d/dn is 0,
    as in the table). Exported formulas have a constant order, which needs none of this."""
    if n.is_Number:
        v = float(n)
        return sp.Integer(int(v)) if math.isfinite(v) and v == int(v) and v >= 0 else sp.nan
    return sp.Piecewise(*[(k, sp.Eq(n, k)) for k in range(9)], (sp.nan, True))


# fmt: off
# ---- special functions ---------------------------------------------------------------------------
# gamma' = gamma psi (o * digamma: a product, as accurate as its factors), lgamma' = psi
# (lgamma = ln|gamma|, the C library's and SciPy's gammaln; SymPy's loggamma is the same for
# x > 0), psi' = polygamma(1, x), and polygamma(n, x)' = polygamma(n + 1, x): the chain
# closes in one row, to every order. Its order n is a whole number (n not whole: NaN), a
# constant in every rule; d/dn does not exist: a `DerivativeError` if n depends on what is
# differentiated (issue "4b"; SymPy: `_order`). The
# values are the C library's (gamma, lgamma) and numeric.HELPERS (digamma, polygamma).
defop("gamma",   1, _gamma,   (lambda x, o: o * digamma(x),),
      lambda sp, x: sp.gamma(x), (POSITIVE,))
defop("lgamma",  1, _lgamma,  (lambda x, o: digamma(x),),
      lambda sp, x: sp.loggamma(x), (POSITIVE,))
defop("digamma", 1, _digamma, (lambda x, o: polygamma(1.0, x),),
      lambda sp, x: sp.polygamma(0, x), (POSITIVE,))
defop("polygamma", 2, _polygamma, (no_derivative("polygamma", "order n", "a whole number"),
                                   lambda n, x, o: polygamma(n + 1.0, x)),
      lambda sp, n, x: sp.polygamma(_order(sp, n), x), (Interval(1.0, 1.0), POSITIVE))
# fmt: on
LIBRARY.update({"gamma", "lgamma", "digamma", "polygamma"})


# ---- SciPy's gamma family (issue "4b") ---------------------------------------------------------
def _gamma_of(x: Expr | float, handle: Expr) -> Expr:
    return handle.apply("gamma", x)


def _reflected_slope(x: Expr) -> Expr:
    """d/dx 1/gamma(x) for x < 1/2, from the reflection 1/gamma(x) = gamma(1-x) sin(pi x)/pi:
    gamma(1-x) (cos(pi x) - psi(1-x) sin(pi x)/pi), with x = k + r (k whole, |r| <= 1/2,
    exact) so that sin(pi x) = cos(pi k) sin(pi r) keeps its digits next to the poles of
    gamma. Finite there ((-1)^n n! at x = -n), where -rgamma psi is 0 * inf and its own
    derivative cancels (rgamma psi' against rgamma' psi, both ~ 1/(x+n)): this one does not."""
    k = x.apply("floor", x + 0.5)
    r = x - k
    pr = math.pi * r
    # gamma(1 - x) = -x gamma(-x) for x <= -1/2: 1 - x would be rounded (~|x psi(1 - x)| ulp)
    g = where(x.apply("le", x, -0.5), -x * _gamma_of(-x, x), _gamma_of(1.0 - x, x))
    # cos(pi r) next to |r| = 1/2 as sin(pi (1/2 - |r|)) (exact difference): pi r is rounded
    c = where(x.apply("gt", abs(r), 0.25), sin(math.pi * (0.5 - abs(r))), cos(pr))
    return g * cos(math.pi * k) * (c - digamma(1.0 - x) * sin(pr) / math.pi)


def _rgamma_partial(x: Expr, o: Expr) -> Expr:
    return where(x.apply("lt", x, 0.5), _reflected_slope(x), -o * digamma(x))


def _poch_a(a: Expr, m: Expr, o: Expr) -> Expr:
    """d/da gamma(a+m)/gamma(a) = poch (psi(a+m) - psi(a)); for a < 1/2 (next to the poles
    of gamma(a), where poch is 0 and psi(a) infinite) gamma(a+m) (rgamma'(a) + rgamma(a)
    psi(a+m)), rgamma' reflected (`_reflected_slope`)."""
    near = _gamma_of(a + m, a) * (_reflected_slope(a) + a.apply("rgamma", a) * digamma(a + m))
    return where(a.apply("lt", a, 0.5), near, o * (digamma(a + m) - digamma(a)))


def _beta_slope(a: Expr, b: Expr) -> Expr:
    """d/da ln|B(a, b)| = psi(a) - psi(a + b)."""
    return digamma(a) - digamma(a + b)


def _xlog(c: Expr, x: Expr) -> Expr:
    """c * log(x), 0 where c == 0 (x^0 = 1 at x = 0 too)."""
    return mul0(c, log(x))


def _ends(x: Expr, ends: Expr, powers: Expr, exponential: Expr) -> Expr:
    """A density x^(a-1) ... as one exponential (its rounding: ~eps times the size of its
    exponent), but as powers where `ends` (x = 0, 1): there the exponential's derivatives
    are 0 * inf (Hessians), the powers' are (a-1)(a-2) x^(a-3) ...: 0, finite or inf."""
    return where(ends, powers, exponential)


def _gamma_density(a: Expr, x: Expr, scale: bool = True) -> Expr:
    """x^(a-1) e^-x / gamma(a) (the slope of gammainc in x), or without the 1/gamma(a)."""
    log_scale = a.apply("lgamma", a) if scale else 0.0
    powers = x ** (a - 1.0) * exp(-x) * (a.apply("rgamma", a) if scale else 1.0)
    return _ends(x, eq(x, 0.0), powers, exp(_xlog(a - 1.0, x) - x - log_scale))


def _beta_density(a: Expr, b: Expr, x: Expr) -> Expr:
    """x^(a-1) (1-x)^(b-1) / B(a, b), the slope of betainc in x."""
    powers = x ** (a - 1.0) * (1.0 - x) ** (b - 1.0) / a.apply("beta", a, b)
    exponent = _xlog(a - 1.0, x) + mul0(b - 1.0, x.apply("log1p", -x)) - a.apply("betaln", a, b)
    return _ends(x, eq(x, 0.0) + eq(x, 1.0), powers, exp(exponent))


def _exp_square(y: Expr, tail: Expr) -> Expr:
    """exp(y^2) for y = erfinv(x) or erfcinv(x), tail = erfc(|y|) (1 - |x|, min(x, 2 - x):
    exact for tail <= 1/2): there erfcx(|y|) / tail, which a relative error e of y changes
    by ~e, not by 2 y^2 e as 1/expmx2(y) does (~2000 ulp at erfcinv(1e-230)); 1/expmx2(y)
    elsewhere, and where y is infinite (exp(inf) = inf)."""
    tails = y.apply("gt", tail, 0.0) * y.apply("le", tail, 0.5) * y.apply("lt", abs(y), math.inf)
    return where(tails, y.apply("erfcx", abs(y)) / tail, 1.0 / expmx2(y))


#: (-1)^n (2n - 1)!!, n = 1..20: erfcx'(x) = 2/sqrt(pi) sum c_n (2x^2)^-n for large x
_ERFCX_SERIES = tuple(float((-1) ** n * math.prod(range(1, 2 * n, 2))) for n in range(1, 21))


def _erfcx_slope(x: Expr, o: Expr) -> Expr:
    """erfcx' = 2 x erfcx(x) - 2/sqrt(pi), whose terms cancel to ~1/x^2 for large x (~2 x^2
    ulp): for x > 8 the asymptotic series, to 20 terms (within 1 ulp there)."""
    t = 0.5 / (x * x)
    acc: Expr | float = _ERFCX_SERIES[-1]
    for c in reversed(_ERFCX_SERIES[:-1]):
        acc = c + t * acc
    series = (2.0 / math.sqrt(math.pi)) * t * acc
    return where(x.apply("gt", x, 8.0), series, 2.0 * x * o - 2.0 / math.sqrt(math.pi))


def _scaled_gammainc(ufunc: str) -> Callable[..., Arr]:
    def impl(a: Arr, x: Arr) -> Arr:
        with np.errstate(all="ignore"):
            return _gamma(a) * getattr(scipy_special(), ufunc)(a, x)

    return impl


def _factorial(x: Arr) -> Arr:
    return _gamma(np.add(x, 1.0))


_A = Interval(0.5, 6.0)
_ORDER = Interval(-0.9, 4.0)
_NUMPY_GAMMA = 'np.vectorize(_gamma, otypes=["float64"])'

# fmt: off
# rgamma' = -rgamma psi (the reflection at the poles); gammasgn' = 0 (piecewise constant)
scipy_op("rgamma", 1, CFunction("__pyx_fuse_1rgamma", "ds", "rgamma"), (_rgamma_partial,),
         lambda sp, x: 1 / sp.gamma(x), (REAL,))
scipy_op("gammasgn", 1, CFunction("gammasgn", "ds", "gammasgn"), (None,),
         lambda sp, x: sp.sign(sp.gamma(x)), (REAL,), smooth=False)
# factorial(x) = gamma(x + 1) for every real x (SymPy's; SciPy's factorial is 0 for x < 0)
library_op("factorial", 1, _factorial, (lambda x, o: o * digamma(x + 1.0),),
           lambda sp, x: sp.factorial(x), (_ORDER,), python="math.gamma({0} + 1.0)",
           numpy=_NUMPY_GAMMA + "({0} + 1.0)")
# poch(a, m) = gamma(a + m) / gamma(a): d/da = poch (psi(a+m) - psi(a)), d/dm = poch psi(a+m)
scipy_op("poch", 2, CFunction("poch", "dds", "poch"),
         (_poch_a, lambda a, m, o: o * digamma(a + m)),
         lambda sp, a, m: sp.RisingFactorial(a, m), (_A, _ORDER), aliases=("RisingFactorial",))
# beta' = beta (psi(a) - psi(a+b)), betaln' = psi(a) - psi(a+b), the same in b
scipy_op("beta", 2, CFunction("beta", "dds", "beta"),
         (lambda a, b, o: o * _beta_slope(a, b), lambda a, b, o: o * _beta_slope(b, a)),
         lambda sp, a, b: sp.beta(a, b), (_A, _A))
scipy_op("betaln", 2, CFunction("betaln", "dds", "betaln"),
         (lambda a, b, o: _beta_slope(a, b), lambda a, b, o: _beta_slope(b, a)),
         lambda sp, a, b: sp.log(sp.Abs(sp.beta(a, b))), (_A, _A))
# regularized incomplete beta and gamma: closed-form slopes in x, none in the shapes
scipy_op("betainc", 3, CFunction("__pyx_fuse_0betainc", "ddds", "betainc"),
         (no_derivative("betainc", "shape a", _SHAPE), no_derivative("betainc", "shape b", _SHAPE),
          lambda a, b, x, o: _beta_density(a, b, x)),
         lambda sp, a, b, x: sp.betainc_regularized(a, b, 0, x),
         (_A, _A, Interval(0.05, 0.95)))
scipy_op("gammainc", 2, CFunction("gammainc", "dds", "gammainc"),
         (no_derivative("gammainc", "shape a", _SHAPE),
          lambda a, x, o: _gamma_density(a, x)),
         lambda sp, a, x: sp.lowergamma(a, x) / sp.gamma(a), (_A, POSITIVE))
scipy_op("gammaincc", 2, CFunction("gammaincc", "dds", "gammaincc"),
         (no_derivative("gammaincc", "shape a", _SHAPE),
          lambda a, x, o: -_gamma_density(a, x)),
         lambda sp, a, x: sp.uppergamma(a, x) / sp.gamma(a), (_A, POSITIVE))
# SymPy's lower and upper incomplete gamma: gamma(a) times SciPy's regularized ones;
# slope +-x^(a-1) e^-x
library_op("lowergamma", 2, _scaled_gammainc("gammainc"),
           (no_derivative("lowergamma", "shape a", _SHAPE),
            lambda a, x, o: _gamma_density(a, x, scale=False)),
           lambda sp, a, x: sp.lowergamma(a, x), (_A, POSITIVE),
           python="math.gamma({0}) * sp.gammainc({0}, {1})",
           numpy=_NUMPY_GAMMA + "({0}) * scipy.special.gammainc({0}, {1})")
library_op("uppergamma", 2, _scaled_gammainc("gammaincc"),
           (no_derivative("uppergamma", "shape a", _SHAPE),
            lambda a, x, o: -_gamma_density(a, x, scale=False)),
           lambda sp, a, x: sp.uppergamma(a, x), (_A, POSITIVE),
           python="math.gamma({0}) * sp.gammaincc({0}, {1})",
           numpy=_NUMPY_GAMMA + "({0}) * scipy.special.gammaincc({0}, {1})")
# erfcx(x) = exp(x^2) erfc(x) (SciPy's): erfcx' = 2 x erfcx - 2/sqrt(pi) (`_erfcx_slope`)
scipy_op("erfcx", 1, CFunction("__pyx_fuse_1erfcx", "ds", "erfcx"), (_erfcx_slope,),
         lambda sp, x: sp.exp(x**2) * sp.erfc(x), (REAL,))
# erfinv' = sqrt(pi)/2 exp(erfinv^2), erfcinv' = -sqrt(pi)/2 exp(erfcinv^2) (`_exp_square`)
scipy_op("erfinv", 1, CFunction("__pyx_fuse_0erfinv", "ds", "erfinv"),
         (lambda x, o: SQRT_PI_2 * _exp_square(o, 1.0 - abs(x)),), lambda sp, x: sp.erfinv(x),
         (UNIT,), aliases=("erf_inv",))
scipy_op("erfcinv", 1, CFunction("erfcinv", "ds", "erfcinv"),
         (lambda x, o: -SQRT_PI_2 * _exp_square(o, x.apply("min", x, 2.0 - x)),),
         lambda sp, x: sp.erfcinv(x), (Interval(0.1, 1.9),))
# fmt: on
#: SymPy's incomplete beta functions (a, b, x1, x2), regularized and not, as formula text.
SYMPY_IMPORTS["betainc_regularized"] = "betainc({0}, {1}, {3}) - betainc({0}, {1}, {2})"
SYMPY_IMPORTS["betainc"] = "beta({0}, {1}) * (betainc({0}, {1}, {3}) - betainc({0}, {1}, {2}))"
