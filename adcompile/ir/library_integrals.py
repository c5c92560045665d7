"""The function library (issue "4b"): the integrals family. See `ir.special` for how a row is
declared (`scipy_op`, `library_op`, `no_derivative`).

- `expi(x)` = Ei(x), the exponential integral (SciPy's `expi`; SymPy's `Ei` is an alias):
  real for x < 0 too, -inf at 0. Ei' = exp(x)/x (inf past x = 709.78, where Ei is still
  finite up to 716).
- `sinint(x)` = Si(x) and `cosint(x)` = Ci(x) (aliases `Si`, `Ci`): SciPy's `sici`. Si' =
  sin(x)/x, 1 at 0 (a `where`, so Si''(0) = 0); Ci' = cos(x)/x. For x < 0, Ci is SciPy's
  real part Ci(|x|) (SymPy's Ci adds i pi there), whose derivative cos(x)/x is too.
- `fresnel_s(x)`, `fresnel_c(x)` (aliases `fresnels`, `fresnelc`): SciPy's `fresnel`, S(x) =
  int_0^x sin(pi t^2 / 2) dt, C the same with cos. Their derivatives are the ops
  `fresnel_s_slope(x)` = sin(pi x^2 / 2) and `fresnel_c_slope(x)` = cos(pi x^2 / 2), whose
  own derivatives are pi x times the other (+-): one chain, closed to every order. They are
  computed from x^2 = h + l exactly and h reduced mod 4 exactly (`_sinhalfpisq`), so they
  keep their digits where sin(pi/2 * x*x) loses them (millions of ulp at x ~ 100).
- `lambertw(x, k)`: Lambert's W, the real branches k = 0 (W0, x >= -1/e) and k = -1 (W-1,
  -1/e <= x < 0); other k, or x outside the branch: nan (as NumPy's real functions). The
  float next to -1/e (-0.36787944117144233, just below it) is the branch point, W = -1 on
  both branches (the real part of the complex W there). SciPy's lambertw is complex, so the
  kernel is ours (`_lambertw`, Halley's iteration). W' = exp(-W)/(1 + W) = W/(x (1 + W))
  (`_lambertw_slope`: smooth at 0, W0'(0) = 1, W0''(0) = -2; +inf on W0 and -inf on W-1
  at the branch point); d/dk: `DerivativeError`. SymPy's `LambertW(x)` reads as
  `lambertw(x, 0)`, and `li(x)` as `expi(log(x))` (`special.SYMPY_IMPORTS`).

The scalar kernels `_lambertw` and `_sinhalfpisq` are written once as source text
(`LIBRARY_HELPERS`, as `numeric.HELPERS`): the interpreter runs them through np.vectorize,
and the printers paste the same text into the modules they generate
(`codegen.templates.HELPERS` merges `LIBRARY_HELPERS`). Measured accuracy (max ulp against
mpmath, value / derivative): `tests/ir/test_library_integrals.py`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

import numpy as np

from adcompile.ir import special
from adcompile.ir.builders import cos, eq, exp, lt, sin, where
from adcompile.ir.numeric import helper_functions
from adcompile.ir.opdef import POSITIVE, REAL, Arr, Interval
from adcompile.ir.special import (
    DEFAULTS,
    SYMPY_IMPORTS,
    CFunction,
    library_op,
    no_derivative,
    scipy_op,
)

#: Scalar helpers the templates call, by name: (the names they call in turn, their source),
#: as `numeric.HELPERS` (no docstrings or strings in the source).
LIBRARY_HELPERS: Final[dict[str, tuple[tuple[str, ...], str]]] = {
    "_lambertw": (
        (),
        """
def _lambertw(x, k):
    # Real Lambert W, w exp(w) = x, branch k = 0 (x >= -1/e) or k = -1 (-1/e <= x < 0);
    # other k or x outside the branch: nan; the float next to -1/e is the branch point (-1).
    # z = x + 1/e (1/e in two floats: exact next to -1/e). W in [-2, -1/2]: d = 1 + W solves
    # S(d) = d e^d - expm1(d) = e z, S as its Taylor series (no cancellation, so d keeps its
    # digits at the branch point); from the series d ~ p - p^2/3 + ... in p = +-sqrt(2 e z).
    # W0 in (-1/2, 1.05) (x < 3): Halley on w e^w - x from Winitzki's guess; elsewhere Halley on
    # w + ln|w| - ln|x| (no overflow) from w ~ L1 - L2 + L2/L1 (L1 = ln|x|, L2 = ln|L1|).
    if x != x or not (k == 0.0 or k == -1.0):
        return math.nan
    z = (x + 0.36787944117144233) - 1.2428753672788363e-17
    if z < 0.0:
        return -1.0 if x == -0.36787944117144233 else math.nan
    if k == -1.0 and x >= 0.0:
        return -math.inf if x == 0.0 else math.nan
    if x == math.inf:
        return math.inf
    if x < -0.30326532985631671 and k == 0.0 or x < -0.2706705664732254 and k == -1.0:
        q = 2.718281828459045 * z
        p = math.sqrt(2.0 * q) if k == 0.0 else -math.sqrt(2.0 * q)
        d = p * (1.0 + p * (-0.3333333333333333 + p * (0.1527777777777778 + p * (
            -0.07962962962962963 + p * 0.04450231481481482))))
        for _ in range(8):
            s = 0.0
            for c in (8.509974375387505e-22, 1.8683261924146203e-20, 3.9145882126782523e-19,
                      7.809603484293113e-18, 1.4797143443923793e-16, 2.6552651846596585e-15,
                      4.498331606952833e-14, 7.169215998581078e-13, 1.0706029224547743e-11,
                      1.4911969277048643e-10, 1.9270852604185937e-09, 2.296443268665491e-08,
                      2.505210838544172e-07, 2.48015873015873e-06, 2.2045855379188714e-05,
                      0.00017361111111111112, 0.0011904761904761906, 0.006944444444444444,
                      0.03333333333333333, 0.125, 0.3333333333333333, 0.5):
                s = s * d + c
            g = d * d * s - q
            e = math.exp(d)
            g1 = d * e
            if g1 == 0.0:
                break
            step = g / (g1 - g * (1.0 + d) * e / (2.0 * g1))
            d -= step
            if abs(step) <= 2e-16 * abs(d):
                break
        return d - 1.0
    if k == 0.0 and x < 3.0:
        t = math.log1p(x)
        w = t * (1.0 - math.log1p(t) / (2.0 + t))
        for _ in range(8):
            e = math.exp(w)
            f = w * e - x
            step = f / (e * (w + 1.0) - (w + 2.0) * f / (2.0 * w + 2.0))
            w -= step
            if abs(step) <= 2e-16 * abs(w):
                break
        return w
    a = math.log(abs(x))
    b = math.log(abs(a))
    w = a - b + b / a
    for _ in range(8):
        f = w + math.log(abs(w)) - a
        f1 = 1.0 + 1.0 / w
        step = f / (f1 + f / (2.0 * w * w * f1))
        w -= step
        if abs(step) <= 2e-16 * abs(w):
            break
    return w
""",
    ),
    "_sinhalfpisq": (
        (),
        """
def _sinhalfpisq(x, c):
    # sin(pi/2 (x^2 + c)): c = 0 is sin(pi x^2 / 2), c = 1 is cos(pi x^2 / 2). x^2 = h + l
    # exactly (Veltkamp's split, Dekker's product); y = h mod 4, 1 - y for the cosine, is
    # folded into [-1, 1] by exact steps (y - 4, 2 - y, y + 4, -2 - y: sin(pi/2 y) is odd
    # about 0 and +-2), then l is added (|l| < 1/4 for |x| < 2^26) and folded the same way:
    # the error is sin's, also next to the zeros. |x| >= 2^53: x is even, x^2 = 0 mod 4.
    a = abs(x)
    if a != a or a == math.inf:
        return math.nan
    if a >= 9007199254740992.0:
        return c
    h = a * a
    s = 134217729.0 * a
    u = s - (s - a)
    v = a - u
    l = ((u * u - h) + 2.0 * u * v) + v * v
    z = h % 4.0
    if c != 0.0:
        z = 1.0 - z
        l = -l
    for i in range(2):
        if z > 3.0:
            z -= 4.0
        elif z > 1.0:
            z = 2.0 - z
            l = -l
        elif z < -3.0:
            z += 4.0
        elif z < -1.0:
            z = -2.0 - z
            l = -l
        if i == 0:
            z += l % 4.0 if l >= 0.0 else -(-l % 4.0)
    return math.sin(1.5707963267948966 * z)
""",
    ),
}


_SCALAR: Final = helper_functions(LIBRARY_HELPERS)


def _vectorized(name: str, *fixed: float) -> Callable[..., Arr]:
    """The helper `name` over arrays (the interpreter's `impl`), trailing arguments fixed."""
    kernel = np.vectorize(_SCALAR[name], otypes=[np.float64])

    def impl(*args: Arr) -> Arr:
        return kernel(*args, *fixed)

    return impl


def _numpy(name: str, args: str) -> str:
    return f'np.vectorize({name}, otypes=["float64"])({args})'


_NO_BRANCH = "the branch is a whole number, 0 or -1"


def _lambertw_slope(x: Any, k: Any, w: Any) -> Any:
    """W' = exp(-W)/(1 + W) where |W| < 1 (smooth at x = 0: W'(0) = 1, W''(0) = -2), and
    W/(1 + W)/x elsewhere (exp(-W) would amplify W's rounding |W| times); 1 + W is -|1 + W|
    on W-1 (k = -1), so that at the branch point, W = -1 on both branches, W' is +inf on W0
    and -inf on W-1."""
    one_plus = 1.0 + w
    one_plus = where(lt(k, -0.5), -w.apply("abs", one_plus), one_plus)
    return where(lt(w * w, 1.0), exp(-w) / one_plus, w / one_plus / x)


# fmt: off
scipy_op("expi", 1, CFunction("__pyx_fuse_1expi", "ds", "expi"),
         (lambda x, o: exp(x) / x,), lambda sp, x: sp.Ei(x), (REAL,), aliases=("Ei",))
scipy_op("sinint", 1, CFunction("__pyx_fuse_1sici", "doo", "sici", pick=0),
         (lambda x, o: where(eq(x, 0.0), 1.0, sin(x) / x),), lambda sp, x: sp.Si(x), (REAL,),
         aliases=("Si",))
scipy_op("cosint", 1, CFunction("__pyx_fuse_1sici", "doo", "sici", pick=1),
         (lambda x, o: cos(x) / x,), lambda sp, x: sp.Ci(x), (POSITIVE,), aliases=("Ci",))
scipy_op("fresnel_s", 1, CFunction("__pyx_fuse_1fresnel", "doo", "fresnel", pick=0),
         (lambda x, o: x.apply("fresnel_s_slope", x),), lambda sp, x: sp.fresnels(x), (REAL,),
         aliases=("fresnels",))
scipy_op("fresnel_c", 1, CFunction("__pyx_fuse_1fresnel", "doo", "fresnel", pick=1),
         (lambda x, o: x.apply("fresnel_c_slope", x),), lambda sp, x: sp.fresnelc(x), (REAL,),
         aliases=("fresnelc",))
library_op("fresnel_s_slope", 1, _vectorized("_sinhalfpisq", 0.0),
           (lambda x, o: math.pi * x * x.apply("fresnel_c_slope", x),),
           lambda sp, x: sp.sin(sp.pi * x**2 / 2), (REAL,),
           python="_sinhalfpisq({0}, 0.0)", numpy=_numpy("_sinhalfpisq", "{0}, 0.0"))
library_op("fresnel_c_slope", 1, _vectorized("_sinhalfpisq", 1.0),
           (lambda x, o: -math.pi * x * x.apply("fresnel_s_slope", x),),
           lambda sp, x: sp.cos(sp.pi * x**2 / 2), (REAL,),
           python="_sinhalfpisq({0}, 1.0)", numpy=_numpy("_sinhalfpisq", "{0}, 1.0"))
library_op("lambertw", 2, _vectorized("_lambertw"),
           (_lambertw_slope, no_derivative("lambertw", "branch k", _NO_BRANCH)),
           lambda sp, x, k: sp.LambertW(x, k), (Interval(-0.35, 3.0), Interval(0.0, 0.0)),
           python="_lambertw({0}, {1})", numpy=_numpy("_lambertw", "{0}, {1}"))
# fmt: on
SYMPY_IMPORTS["LambertW"] = "lambertw({0}, 0)"  # SymPy's principal branch, LambertW(x)
SYMPY_IMPORTS["li"] = "expi(log({0}))"  # the logarithmic integral, li(x) = Ei(ln x)
special.LIBRARY_HELPERS.update(LIBRARY_HELPERS)  # the printers paste them (templates.HELPERS)
DEFAULTS["lambertw"] = (0.0,)  # lambertw(x): the principal branch
