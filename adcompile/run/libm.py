"""The C library's math for generated Numba modules (`compile(..., math="libm")`).

A generated Numba module imports `math` from here or from `adcompile.run.simd` (the
vectorized functions, which imports this module's names first). This is Python's `math`
with `pow(x, y)` the `**` operator (in Numba code the C library's `pow`; NumPy's semantics
in Python, where `math.pow` raises), since the Numba modules spell a power whose exponent is
not a whole constant `math.pow(x, y)` (`ir.spellings.NUMBA_COLUMN`), and `cbrt` and `exp2`
(Python 3.11's) made known to Numba as NumPy's, which are the C library's.
"""

from __future__ import annotations

from math import *  # noqa: F403  (every name of math, unchanged)
from math import cbrt, exp2
from typing import Any

import numpy as np
from numba.core import types
from numba.core.extending import overload


def pow(x: float, y: float) -> float:  # type: ignore[no-redef]  # math.pow, NumPy's way
    """`x ** y` on floats with NumPy's semantics (nan for a negative base and a fractional
    exponent), as in Numba code."""
    with np.errstate(all="ignore"):
        return float(np.power(float(x), float(y)))


def _numbers(*argtys: Any) -> bool:
    return all(isinstance(t, (types.Float, types.Integer, types.Boolean)) for t in argtys)


@overload(cbrt)  # math's since Python 3.11, unknown to Numba: NumPy's (the C library's)
def _cbrt(x):  # type: ignore[no-untyped-def]
    return (lambda x: np.cbrt(float(x))) if _numbers(x) else None


@overload(exp2)
def _exp2(x):  # type: ignore[no-untyped-def]
    return (lambda x: np.exp2(float(x))) if _numbers(x) else None


@overload(pow)
def _pow(x, y):  # type: ignore[no-untyped-def]  # Numba compares the parameters' names
    if isinstance(y, types.Integer):
        return lambda x, y: float(x) ** y
    return (lambda x, y: float(x) ** float(y)) if _numbers(x, y) else None
