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
