"""NumPy semantics of the ops that NumPy lacks (the `impl` column of the op table): IEEE
results (inf, NaN), never Python exceptions; used for constant folding and the interpreter.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np

Arr = Any  # a float or a NumPy array

LN2: Final = math.log(2.0)
LOG2E: Final = 1.0 / math.log(2.0)


def _f(x: Arr) -> Arr:
    return np.asarray(x, dtype=np.float64) * 1.0


def _bool(x: Arr) -> Arr:
    return np.where(x, 1.0, 0.0)


_erf = np.vectorize(math.erf, otypes=[np.float64])
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _sigmoid(x: Arr) -> Arr:
    # the template's arithmetic (the op table's `python` column): 1/(1 + t), times t where x < 0
    x = _f(x)
    t = np.exp(-np.abs(x))
    return (1.0 / (1.0 + t)) * np.where(x >= 0.0, 1.0, t)


def _sigmoid_slope(x: Arr) -> Arr:
    t = np.exp(-np.abs(_f(x)))
    return t / (1.0 + t) ** 2


def _sigmoid2(x: Arr) -> Arr:
    # sigmoid2(x) = 1/(1 + 2^-x) as the template computes it, from t = 2^-|x|
    x = _f(x)
    t = 2.0 ** -np.abs(x)
    return (1.0 / (1.0 + t)) * np.where(x >= 0.0, 1.0, t)


def _sigmoid2_slope(x: Arr) -> Arr:
    t = 2.0 ** -np.abs(_f(x))
    return t / (1.0 + t) ** 2


def _expmx2(x: Arr) -> Arr:
    # exp(-x^2) from x^2 = hi + lo, hi = fl(x*x): with Veltkamp's split x = xh + xl (xh the
    # high 26 bits), xh*xh - hi is exact and lo = (xh*xh - hi) + xl*(xh + x) is correct to
    # a relative 2^-52 (Dekker's product); exp(-hi - lo) = exp(-hi) * (1 - lo) to within
    # lo^2 < 1e-26. So the error is that of exp, not x^2 eps (700 ulp near |x| = 26). Past
    # |x| = 28, exp(-x^2) is 0 in float64 (and the split could overflow): no correction.
    x = _f(x)
    with np.errstate(all="ignore"):  # the unused branch at inf and NaN
        xh = 134217729.0 * x - (134217729.0 * x - x)
        lo = (xh * xh - x * x) + (x - xh) * (xh + x)
        near = np.exp(-(x * x)) * (1.0 - lo)
    return _f(np.where(np.abs(x) < 28.0, near, np.exp(-(x * x))))


def _one_minus_sq(x: Arr) -> Arr:
    x = _f(x)
    return (1.0 - x) * (1.0 + x)


def _hypot_ratio(x: Arr, y: Arr) -> Arr:
    h = np.hypot(x, y)
    return _f(np.where(h == 0.0, 0.0, np.divide(x, h)))


def _logaddexp(a: Arr, b: Arr) -> Arr:
    # the template's arithmetic, which is NumPy's npy_logaddexp: a tie (infinities of one
    # sign included) is a + log(2); else max + log1p(exp(-|a - b|)); NaN propagates.
    a, b = _f(a), _f(b)
    with np.errstate(invalid="ignore"):  # inf - inf, in the branch a tie does not take
        general = np.maximum(a, b) + np.log1p(np.exp(-np.abs(a - b)))
    return _f(np.where(a == b, a + LN2, general))


def _logaddexp2(a: Arr, b: Arr) -> Arr:
    a, b = _f(a), _f(b)
    with np.errstate(invalid="ignore"):
        general = np.maximum(a, b) + np.log1p(2.0 ** (-np.abs(a - b))) * LOG2E
    return _f(np.where(a == b, a + 1.0, general))


def _softplus(x: Arr) -> Arr:
    x = _f(x)
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)


def _sech2(x: Arr) -> Arr:
    t = np.exp(-2.0 * np.abs(_f(x)))
    return 4.0 * t / (1.0 + t) ** 2


def _sp_bool(sp: Any, cond: Any) -> Any:
    return sp.Piecewise((1, cond), (0, True))


# ---- special functions: gamma, lgamma (the C library's), digamma and polygamma (ours) ----------
#
# Numba's math.gamma and math.lgamma call the C library's tgamma and lgamma (correct to a
# few ulp, IEEE at the poles), so the interpreter calls the same functions through ctypes,
# where it can find them; else Python's math.gamma/lgamma behind guards (those raise at the
# poles and on overflow, and Python's lgamma loses digits next to its negative zeros).
# Digamma and polygamma are scalar Python functions, written once as source text (`HELPERS`)
# in plain `math` calls and loops: the interpreter runs them through np.vectorize, and
# the printers paste the same text into the modules they generate (Numba-compiled there).

#: Scalar helpers the templates call, by name: (the names they call in turn, their source).
#: The source holds no docstrings or strings (generated code holds only compiler names).
HELPERS: Final[dict[str, tuple[tuple[str, ...], str]]] = {
    "_gamma": (
        (),
        """
def _gamma(x):
    # Gamma(x) with the C library's results where Python's math.gamma raises
    if x != x or x == -math.inf:
        return math.nan
    if x <= 0.0 and x == math.floor(x):
        return math.copysign(math.inf, x) if x == 0.0 else math.nan
    if x > 171.7:
        return math.inf
    return math.gamma(x)
""",
    ),
    "_lgamma": (
        (),
        """
def _lgamma(x):
    # ln|Gamma(x)|, +inf at the poles (the C library's lgamma)
    if x == math.inf or x == -math.inf:
        return math.inf
    if x <= 0.0 and x == math.floor(x):
        return math.inf
    return math.lgamma(x)
""",
    ),
    "_digamma": (
        (),
        """
def _digamma(x):
    # psi(x) = Gamma'(x)/Gamma(x). x <= 0: psi(1 - x) - pi cot(pi x) (x - round(x) exact);
    # (0, 1): psi(x + 1) - 1/x; [2, 10): psi(x - k) + 1/(x - 1) + ... + 1/(x - k); [1, 2):
    # (x - x0) P(x - 1.5), x0 the zero of psi (two floats), P a Chebyshev fit (|err| < 6e-19);
    # from 10 on: ln x - 1/(2x) - sum B_2j / (2j x^2j). Poles: nan, +-inf at +-0 (SciPy).
    if x != x or x == -math.inf:
        return math.nan
    if x == math.inf:
        return math.inf
    r = 0.0
    if x <= 0.0:
        if x == math.floor(x):
            return math.copysign(math.inf, -x) if x == 0.0 else math.nan
        p = math.pi * (x - math.floor(x + 0.5))
        r = -math.pi * math.cos(p) / math.sin(p)
        x = 1.0 - x
    if x < 1.0:
        r -= 1.0 / x
        x += 1.0
    if x < 10.0:
        while x >= 2.0:
            x -= 1.0
            r += 1.0 / x
        t = x - 1.5
        q = 0.0
        for c in (5.596002350342592e-05, -8.394009422598467e-05, 3.847275205849602e-05,
                  -5.7709404612698156e-05, 0.0001466781049062341, -0.00022001895005109955,
                  0.0003061242075543146, -0.0004591975036646912, 0.000694908174082211,
                  -0.0010424323828753985, 0.001562789950608375, -0.0023446252179885993,
                  0.0035181618550874957, -0.005280020192518892, 0.007927018411136843,
                  -0.011908215027359153, 0.01790724844392596, -0.026975796849706184,
                  0.04076083393821673, -0.061922133271544284, 0.09498872445291558,
                  -0.1484049230539187, 0.24054248424078692, -0.42362742128146047,
                  0.9510558760318328):
            q = q * t + c
        return r + ((x - 1.4616321449683622) - 9.549995429965697e-17) * q
    w = 1.0 / (x * x)
    s = 0.0
    for c in (3.0539543302701198, -0.4432598039215686, 0.08333333333333333,
              -0.021092796092796094, 0.007575757575757576, -0.004166666666666667,
              0.003968253968253968, -0.008333333333333333, 0.08333333333333333):
        s = s * w + c
    return r + ((math.log(x) - 0.5 / x) - w * s)
""",
    ),
    "_polygamma": (
        ("_digamma",),
        """
def _polygamma(n, x):
    # psi^(n)(x), n = 0, 1, 2, ...: (-1)^(n+1) n! sum_k (x + k)^-(n+1), summed until
    # y = x + k >= 10 + n, then the tail n! zeta(n + 1, y) from its asymptotic series
    # (n-1)!/y^n [1 + n/(2y) + sum_j B_2j/(2j)! n (n+1) ... (n+2j-1) / y^2j]. x < 0: the
    # reflection psi^(n)(x) = (-1)^n psi^(n)(1 - x) - pi^(n+1) P_n(cot(pi x)), P_0(c) = c,
    # P_(m+1)(c) = -(1 + c^2) P_m'(c). Poles: (-1)^(n+1) inf (SciPy); n not whole: nan.
    if n != n or x != x or n < 0.0 or n > 150.0 or n != math.floor(n):
        return math.nan
    if n == 0.0:
        return _digamma(x)
    k = int(n)
    sign = 1.0 if k % 2 == 1 else -1.0
    if x == math.inf:
        return sign * 0.0
    if x == -math.inf or x <= 0.0 and x == math.floor(x):
        return sign * math.inf
    r = 0.0
    if x < 0.0:
        p = math.pi * (x - math.floor(x + 0.5))
        c = math.cos(p) / math.sin(p)
        a = [0.0] * (k + 2)
        a[1] = 1.0
        for m in range(k):
            b = [0.0] * (k + 2)
            for i in range(1, m + 2):
                b[i - 1] -= i * a[i]
                b[i + 1] -= i * a[i]
            a = b
        v = 0.0
        for i in range(k + 1, -1, -1):
            v = v * c + a[i]
        r = -(math.pi ** (k + 1)) * v
        x = 1.0 - x
        sign = -sign if k % 2 == 1 else sign
    f = 1.0
    for i in range(2, k):
        f *= i
    s = 0.0
    j = 0.0
    while x + j < 10.0 + n:
        s += (x + j) ** -(n + 1.0)
        j += 1.0
    y = x + j
    w = 1.0 / (y * y)
    t = 1.0
    u = 1.0 + n / (2.0 * y)
    i = 0
    for c in (0.08333333333333333, -0.001388888888888889, 3.306878306878307e-05,
              -8.267195767195768e-07, 2.08767569878681e-08, -5.284190138687493e-10,
              1.3382536530684679e-11, -3.3896802963225827e-13, 8.586062056277845e-15,
              -2.174868698558062e-16, 5.5090028283602295e-18, -1.3954464685812522e-19):
        t *= (n + i) * (n + i + 1.0) * w
        u += c * t
        i += 2
    return r + sign * (f * (k * s + y ** -n * u))
""",
    ),
}


def helper_functions(
    helpers: dict[str, tuple[tuple[str, ...], str]], **modules: Any
) -> dict[str, Any]:
    """Helpers written as source text (`HELPERS`, `vecnumeric.VECTOR_HELPERS`,
    `special.LIBRARY_HELPERS`) as Python functions, in a namespace holding `math` and the
    given modules. The text is adcompile's own constants (the same text the printers paste
    into generated modules): no user text reaches `exec`."""
    namespace: dict[str, Any] = {"math": math, **modules}
    for _, text in helpers.values():
        exec(compile(text, "<adcompile helpers>", "exec"), namespace)
    return namespace


def _scalar_helpers() -> dict[str, Any]:
    return helper_functions(HELPERS)


def _libm(name: str) -> Any:
    """The C library's `double name(double)` (what Numba's math.`name` calls), or None."""
    import ctypes
    import ctypes.util

    try:
        fn = getattr(ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6"), name)
    except (OSError, AttributeError):
        return None
    fn.restype, fn.argtypes = ctypes.c_double, [ctypes.c_double]
    return fn


def _ieee(fn: Any, pole: Any) -> Any:
    """fn, with the IEEE result where Python's float arithmetic raises on an overflow (a
    pole's neighbourhood, x ~ 1e-300: Numba's code gives the infinity `pole(*args)`)."""

    def call(*args: float) -> float:
        try:
            return float(fn(*args))
        except (OverflowError, ZeroDivisionError):
            return float(pole(*args))

    return call


_SCALAR: Final = _scalar_helpers()
_gamma = np.vectorize(_libm("tgamma") or _SCALAR["_gamma"], otypes=[np.float64])
_lgamma = np.vectorize(_libm("lgamma") or _SCALAR["_lgamma"], otypes=[np.float64])
#: psi(x) ~ -1/x and psi^(n)(x) ~ (-1)^(n+1) n!/x^(n+1) next to 0
_digamma = np.vectorize(
    _ieee(_SCALAR["_digamma"], lambda x: -math.copysign(math.inf, x)), otypes=[np.float64]
)
_polygamma = np.vectorize(
    _ieee(_SCALAR["_polygamma"], lambda n, x: math.inf if x < 0.0 or n % 2 else -math.inf),
    otypes=[np.float64],
)
