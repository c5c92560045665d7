"""Accuracy of the compiled tier's elementary functions under `math="simd"` (docs/simd.md).

`math="simd"` (`adcompile.run.simd`) lets LLVM's loop vectorizer call glibc's libmvec
(`_ZGVdN4v_exp`, ...) in the batch driver; `math="libm"` calls the C library's scalar
functions one point at a time. Against mpmath at `DPS` digits, this module measures

- the error in ulp of every value with `math="simd"`, over seeded points that cover each
  function's whole domain (log-uniform magnitudes 1e-300..1e300 of both signs, the moderate
  range, subnormals, the overflow and underflow thresholds, huge trigonometric arguments,
  arguments next to +-1 and to multiples of pi/2), bounded by `VALUE_ULP`;
- the error in ulp of every derivative (`value_and_grad`, simd) over a moderate domain per
  function (`grad_points`), bounded by `GRAD_ULP`;

and checks bit for bit: signed zeros, nan and the infinities against the C library and the
IEEE results of `IEEE`; `math="libm"` against Python's `math` (`c_library`); that a point's
`math="simd"` result does not depend on where it sits in a batch; and, where there is no
libmvec (`simd.KIND == "libm"`, e.g. `ADCOMPILE_MATH=libm`), that `math="simd"` gives the
results of `math="libm"` (then the bounds, measured with libmvec, are not asserted).

The error of a result c with the exact value v is |c - v| / spacing(r), r the double nearest
v (`np.spacing`: 2^-1074 at 0 and among the subnormals); an exact value that over- or
underflows is met by the correctly rounded inf or 0; where there is no real value, nan.

The vector forms run only in the batch driver's block loop (blocks of 128 points, padded to
whole 16-lane rows), and only where Numba inlines the scalar kernel into that loop, which it
does for small kernels: the functions are compiled in small groups (`VALUE_GROUPS`,
`GRAD_GROUPS`), and `test_vector_forms_are_used` checks that every group is vectorized. A
call with one number runs the scalar kernel: the C library's functions.

`python tests/run/test_simd_accuracy.py` prints the table of docs/simd.md.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import adcompile as adc
from adcompile.run import simd

#: Decimal digits of the mpmath references.
DPS = 50
SEED = 20250611

#: The unary functions of the formula language that the op table maps onto the module
#: `math` of the generated Numba code: all of `simd.VECTOR_FUNCTIONS`, and sqrt (an
#: instruction: `route`).
UNARY: tuple[str, ...] = (
    "exp", "log", "expm1", "log1p", "sin", "cos", "tan", "sinh", "cosh", "tanh", "asin",
    "acos", "atan", "asinh", "acosh", "atanh", "erf", "erfc", "log2", "log10", "exp2",
    "cbrt", "sqrt",
)  # fmt: skip
#: The binary ones, as the language spells them (atan2(y, x): NumPy's arctan2 order).
BINARY: dict[str, str] = {"pow": "pow({}, {})", "atan2": "atan2({}, {})", "hypot": "hypot({}, {})"}
FUNCTIONS: tuple[str, ...] = (*UNARY, *BINARY)

#: glibc documents its vector functions (libmvec) within 4 ulp.
LIBMVEC_ULP = 4.0
#: The largest error in ulp of a value with math="simd": the maximum measured over the
#: points of 30 seeds (`python tests/run/test_simd_accuracy.py --seeds 30`, the table of
#: docs/simd.md; the tests measure the first seed's) rounded up, on this machine's libmvec
#: (glibc 2.36, the AVX2 forms of 4 lanes: other instruction sets have other forms).
VALUE_ULP: dict[str, float] = {
    "exp": 3, "log": 2, "expm1": 3, "log1p": 2, "sin": 3,
    # 7.95 ulp at x = 6381956970095103 * 2^797 (the hardest argument reduction of all
    # doubles: within 2^-61 of a multiple of pi/2), where libmvec gives the C library's
    # scalar cos (math="libm"'s bits), off by that much there; 3.18 ulp elsewhere.
    "cos": 8,
    "tan": 3, "sinh": 2, "cosh": 2, "tanh": 3, "asin": 3, "acos": 2, "atan": 2, "asinh": 3,
    "acosh": 2, "atanh": 2, "erf": 3, "erfc": 2, "log2": 2, "log10": 2,
    "exp2": 2, "cbrt": 2,
    "sqrt": 0.5,  # an instruction: IEEE, correctly rounded
    "pow": 2, "atan2": 2, "hypot": 2,
}  # fmt: skip
#: Values allowed beyond `LIBMVEC_ULP`, and why (see `VALUE_ULP`).
VALUE_ULP_BEYOND_LIBMVEC = {"cos": "the C library's cos at the hardest argument reduction"}
#: The largest error in ulp of a derivative (value_and_grad, math="simd") over
#: `grad_points`' domains, measured as `VALUE_ULP`. The aim is 8 ulp for every one.
GRAD_ULP: dict[str, float] = {
    "exp": 3, "log": 1, "expm1": 3, "log1p": 2, "sin": 4, "cos": 3, "tan": 5, "sinh": 2,
    "cosh": 2, "tanh": 3, "asin": 2, "acos": 2, "atan": 2, "asinh": 2, "acosh": 2,
    "atanh": 2, "erf": 4, "erfc": 4, "log2": 2, "log10": 3, "exp2": 3,
    # 4.54 ulp: cbrt' = (1/3)/(o*o) (ops.py) doubles the error of o = cbrt(x), libmvec's
    # (1.49 ulp here; with math="libm" the C library's, 3.05 ulp, make it 9.07 ulp)
    "cbrt": 5,
    "sqrt": 2, "pow": 3, "atan2": 3, "hypot": 2,
}  # fmt: skip
#: Derivatives allowed beyond 8 ulp, and why (see `GRAD_ULP`).
GRAD_ULP_BEYOND_AIM: dict[str, str] = {}

INF, NAN = math.inf, math.nan
DBL_MAX, DBL_MIN = sys.float_info.max, sys.float_info.min

#: Special arguments: checked bit for bit against the C library, unary and pairwise.
SPECIAL: tuple[float, ...] = (0.0, -0.0, INF, -INF, NAN, 5e-324, -5e-324, 1e-310, -1e-310)
SPECIAL += (1.0, -1.0, DBL_MAX, -DBL_MAX, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, 1000.0, -1000.0)

#: IEEE 754 / C99 Annex F results (every argument is in `SPECIAL`).
IEEE: tuple[tuple[str, tuple[float, ...], float], ...] = (
    ("exp", (-INF,), 0.0), ("exp", (INF,), INF), ("exp", (NAN,), NAN), ("exp", (-0.0,), 1.0),
    ("exp", (1000.0,), INF), ("exp", (-1000.0,), 0.0),
    ("expm1", (-INF,), -1.0), ("expm1", (-0.0,), -0.0), ("expm1", (INF,), INF),
    ("log", (0.0,), -INF), ("log", (-0.0,), -INF), ("log", (INF,), INF), ("log", (-1.0,), NAN),
    ("log", (1.0,), 0.0), ("log", (-INF,), NAN),
    ("log1p", (-1.0,), -INF), ("log1p", (-0.0,), -0.0), ("log1p", (-2.0,), NAN),
    ("log2", (0.0,), -INF), ("log10", (-0.0,), -INF), ("log2", (-1.0,), NAN),
    ("log2", (2.0,), 1.0), ("log10", (1000.0,), 3.0),
    ("sin", (-0.0,), -0.0), ("sin", (INF,), NAN), ("cos", (INF,), NAN), ("cos", (-0.0,), 1.0),
    ("tan", (-0.0,), -0.0), ("tan", (-INF,), NAN), ("sin", (-5e-324,), -5e-324),
    ("sinh", (-0.0,), -0.0), ("sinh", (-INF,), -INF), ("cosh", (-INF,), INF),
    ("sinh", (1000.0,), INF), ("cosh", (-1000.0,), INF),
    ("tanh", (INF,), 1.0), ("tanh", (-INF,), -1.0), ("tanh", (-0.0,), -0.0),
    ("tanh", (1000.0,), 1.0), ("tanh", (-1e-310,), -1e-310),
    ("asin", (-0.0,), -0.0), ("asin", (2.0,), NAN), ("acos", (1.0,), 0.0), ("acos", (-2.0,), NAN),
    ("atan", (INF,), math.pi / 2), ("atan", (-INF,), -math.pi / 2), ("atan", (-0.0,), -0.0),
    ("asinh", (-INF,), -INF), ("asinh", (-0.0,), -0.0), ("acosh", (INF,), INF),
    ("acosh", (1.0,), 0.0), ("acosh", (0.5,), NAN),
    ("atanh", (1.0,), INF), ("atanh", (-1.0,), -INF), ("atanh", (-0.0,), -0.0),
    ("atanh", (2.0,), NAN),
    ("erf", (INF,), 1.0), ("erf", (-INF,), -1.0), ("erf", (-0.0,), -0.0),
    ("erfc", (INF,), 0.0), ("erfc", (-INF,), 2.0), ("erfc", (1000.0,), 0.0),
    ("exp2", (-INF,), 0.0), ("exp2", (INF,), INF), ("exp2", (3.0,), 8.0),
    ("cbrt", (-0.0,), -0.0), ("cbrt", (-INF,), -INF),
    ("sqrt", (-0.0,), -0.0), ("sqrt", (-1.0,), NAN), ("sqrt", (INF,), INF),
    ("pow", (NAN, 0.0), 1.0), ("pow", (1.0, NAN), 1.0), ("pow", (-0.0, -1.0), -INF),
    ("pow", (0.0, -1.0), INF), ("pow", (-1.0, INF), 1.0), ("pow", (-2.0, 0.5), NAN),
    ("pow", (-2.0, 3.0), -8.0), ("pow", (0.5, INF), 0.0), ("pow", (2.0, -INF), 0.0),
    ("pow", (-INF, 3.0), -INF), ("pow", (-0.0, 3.0), -0.0), ("pow", (-0.0, 0.5), 0.0),
    ("atan2", (0.0, -0.0), math.pi), ("atan2", (-0.0, -0.0), -math.pi),
    ("atan2", (-0.0, 0.0), -0.0), ("atan2", (INF, INF), math.pi / 4),
    ("atan2", (1.0, -INF), math.pi), ("atan2", (NAN, 1.0), NAN),
    ("hypot", (INF, NAN), INF), ("hypot", (NAN, -INF), INF), ("hypot", (NAN, 1.0), NAN),
    ("hypot", (DBL_MAX, DBL_MAX), INF), ("hypot", (-0.0, -0.0), 0.0),
)  # fmt: skip

#: The value programs of math="simd": a group's functions are one program's outputs, of x
#: or of (a, b). Small groups: a kernel of a dozen calls is not inlined into the batch loop,
#: which then calls it point by point, with the C library's scalar functions (docs/simd.md).
VALUE_GROUPS: tuple[tuple[str, ...], ...] = (
    ("exp", "log", "expm1", "log1p", "sin", "cos", "tan", "sinh"),
    ("cosh", "tanh", "asin", "acos", "atan", "asinh", "acosh", "atanh"),
    ("erf", "erfc", "log2", "log10", "exp2", "cbrt", "sqrt"),
    ("pow", "atan2", "hypot"),
)
#: The gradient programs: `f(x_f) + g(x_g) + ...` per group, whose gradient is exactly
#: (f'(x_f), g'(x_g), ...) (the sum's partials are 1). Smaller groups: the derivatives call
#: functions too (erf' = 2/sqrt(pi) exp(-x^2) in a long template, hypot' two hypots).
GRAD_GROUPS: tuple[tuple[str, ...], ...] = (
    ("exp", "log", "expm1", "log1p", "exp2", "sqrt"),
    ("sin", "cos", "tan", "sinh"),
    ("cosh", "tanh", "asin", "acos"),
    ("atan", "asinh", "acosh", "atanh", "hypot"),
    ("erf", "log2", "log10"),
    ("erfc", "cbrt"),
    ("pow", "atan2"),
)


def call(name: str, *args: str) -> str:
    """`name` applied to `args` in the formula language."""
    return BINARY[name].format(*args) if name in BINARY else f"{name}({args[0]})"


def value_program(group: tuple[str, ...]) -> str:
    """The functions of `group` as one program's outputs: of x, or of (a, b)."""
    args = ("a", "b") if group[0] in BINARY else ("x",)
    lines = [f"u_{name} = {call(name, *args)}" for name in group]
    return "; ".join([*lines, ", ".join(f"u_{name}" for name in group)])


#: math="libm": every function in one program (of x, or of (a, b)): no vectorizing needed.
LIBM_PROGRAM = "; ".join(
    [f"u_{n} = {call(n, 'a', 'b') if n in BINARY else call(n, 'x')}" for n in FUNCTIONS]
    + [", ".join(f"u_{n}" for n in FUNCTIONS)]
)


def grad_program(group: tuple[str, ...]) -> str:
    """The sum of the functions of `group`, each of its own inputs (x_f, or a_f and b_f)."""
    return " + ".join(
        call(n, f"a_{n}", f"b_{n}") if n in BINARY else call(n, f"x_{n}") for n in group
    )


# --- references ----------------------------------------------------------------------------

#: NumPy's names of the functions whose `math` version raises somewhere.
NUMPY_NAMES = {"pow": "power", "asin": "arcsin", "acos": "arccos", "acosh": "arccosh"}
NUMPY_NAMES |= {"atanh": "arctanh"}


def c_library(name: str) -> Callable[..., float]:
    """The C library's function as Python calls it: Python's `math` (a C function behind a
    wrapper that raises at a pole or outside the domain: then NumPy's, the same C result),
    except hypot (Python's `math.hypot` is its own algorithm; `np.hypot` is the C one)."""
    if name == "hypot":
        return lambda a, b: float(np.hypot(a, b, dtype=np.float64))  # inf past DBL_MAX
    scalar = getattr(math, name)
    ufunc = getattr(np, NUMPY_NAMES.get(name, name), None)

    def value(*args: float) -> float:
        try:
            return float(scalar(*args))
        except (ValueError, OverflowError):
            assert ufunc is not None, name
            with np.errstate(all="ignore"):
                return float(ufunc(*args))

    return value


#: Where a unary function has real values (the C library's nan outside).
DOMAIN: dict[str, tuple[float, float]] = {
    "log": (0.0, INF), "log2": (0.0, INF), "log10": (0.0, INF), "sqrt": (0.0, INF),
    "log1p": (-1.0, INF), "acosh": (1.0, INF), "asin": (-1.0, 1.0), "acos": (-1.0, 1.0),
    "atanh": (-1.0, 1.0),
}  # fmt: skip
#: The functions that are -inf at the lower end of `DOMAIN`.
POLE_AT_LO = frozenset({"log", "log2", "log10", "log1p", "atanh"})
#: mpmath's spellings where they differ (cbrt: the real root).
MPMATH: dict[str, Callable[[Any], Any]] = {
    "log2": lambda v: mpmath.log(v, 2),
    "exp2": lambda v: mpmath.power(2, v),
    "cbrt": lambda v: mpmath.sign(v) * mpmath.cbrt(abs(v)),
}


def exact(name: str, *args: float) -> Any:
    """The exact f(args), an mpf (+-inf at a pole; `DPS` digits inside `mpmath.workdps`),
    or None where there is no real value (the C library's nan). Binary: no zero base
    (pow) or zero argument (atan2): there the sign of a zero decides."""
    m = mpmath
    if name in BINARY:
        a, b = args
        va, vb = m.mpf(a), m.mpf(b)
        if name == "pow":  # exp(b log|a|): no huge whole powers
            if a < 0 and b != math.floor(b):
                return None
            sign = -1 if a < 0 and abs(b) < 2.0**53 and int(b) % 2 else 1
            return sign * m.exp(vb * m.log(abs(va)))
        return m.atan2(va, vb) if name == "atan2" else m.hypot(va, vb)
    (x,) = args
    v = m.mpf(x)
    lo, hi = DOMAIN.get(name, (-INF, INF))
    if not lo <= x <= hi:
        return None
    if x == lo and name in POLE_AT_LO:
        return -m.inf  # log(0), log1p(-1), atanh(-1)
    if x == hi and name == "atanh":
        return m.inf
    if name == "erfc" and abs(x) > 1e6:  # mpmath's series check overflows: the asymptote
        return m.exp(-v * v) / (v * m.sqrt(m.pi)) if x > 0 else m.mpf(2)
    result = (MPMATH[name] if name in MPMATH else getattr(m, name))(v)
    return (None if result.imag else result.real) if isinstance(result, m.mpc) else result


def exact_derivative(name: str, x: float) -> Any:
    """f'(x) in closed form, from mpmath's functions (inside `mpmath.workdps`)."""
    m, v = mpmath, mpmath.mpf(x)
    forms: dict[str, Callable[[Any], Any]] = {
        "exp": m.exp, "log": lambda v: 1 / v, "expm1": m.exp, "log1p": lambda v: 1 / (1 + v),
        "sin": m.cos, "cos": lambda v: -m.sin(v), "tan": lambda v: 1 / m.cos(v) ** 2,
        "sinh": m.cosh, "cosh": m.sinh, "tanh": lambda v: 1 / m.cosh(v) ** 2,
        "asin": lambda v: 1 / m.sqrt(1 - v * v), "acos": lambda v: -1 / m.sqrt(1 - v * v),
        "atan": lambda v: 1 / (1 + v * v), "asinh": lambda v: 1 / m.sqrt(1 + v * v),
        "acosh": lambda v: 1 / m.sqrt(v * v - 1), "atanh": lambda v: 1 / (1 - v * v),
        "erf": lambda v: 2 / m.sqrt(m.pi) * m.exp(-v * v),
        "erfc": lambda v: -2 / m.sqrt(m.pi) * m.exp(-v * v),
        "log2": lambda v: 1 / (v * m.ln2), "log10": lambda v: 1 / (v * m.ln10),
        "exp2": lambda v: m.ln2 * m.power(2, v), "cbrt": lambda v: 1 / (3 * m.cbrt(v * v)),
        "sqrt": lambda v: 1 / (2 * m.sqrt(v)),
    }  # fmt: skip
    return forms[name](v)


def exact_partials(name: str, a: float, b: float) -> tuple[Any, Any]:
    """(df/da, df/db) of a binary function (pow: a > 0; inside `mpmath.workdps`)."""
    m, va, vb = mpmath, mpmath.mpf(a), mpmath.mpf(b)
    if name == "pow":
        return vb * m.power(va, vb - 1), m.power(va, vb) * m.log(va)
    if name == "atan2":
        r2 = va * va + vb * vb
        return vb / r2, -va / r2
    h = m.hypot(va, vb)
    return va / h, vb / h


# --- ulp -----------------------------------------------------------------------------------


def ulp_of(r: Any) -> Any:
    """The spacing of the doubles at |r| (`np.spacing`, but 2^971 at DBL_MAX, not inf)."""
    r = np.abs(r)
    with np.errstate(over="ignore"):
        return np.where(r == DBL_MAX, 2.0**971, np.spacing(r))


def nearest(v: Any) -> float:
    """The double nearest the mpf `v` (ties to even), subnormals included."""
    r = float(v)  # to 53 bits, to nearest (inf past DBL_MAX); a subnormal is rounded twice:
    if (r == 0 and v != 0) or 0 < abs(r) < DBL_MIN:  # round it once, to a multiple of 2^-1074
        return math.ldexp(int(mpmath.nint(mpmath.ldexp(v, 1074))), -1074)
    return r


@dataclass
class Reference:
    """Exact values at a set of points, kept so that results are scored in float arithmetic:
    the nearest double r and the exact value's offset from it in ulp of r."""

    exact: list[Any]  # mpf (+-inf at a pole), or None where there is no real value
    nearest: np.ndarray  # nan where exact is None
    offset: np.ndarray  # (exact - nearest) / spacing(nearest), in [-1/2, 1/2]; 0 at inf

    @classmethod
    def of(cls, exact: list[Any]) -> Reference:
        """From exact values (computed inside `mpmath.workdps`)."""
        nearest_ = np.array([NAN if v is None else nearest(v) for v in exact])
        offset = np.zeros(len(exact))
        for k, (v, r) in enumerate(zip(exact, nearest_, strict=True)):
            if math.isfinite(r) and (d := v - r):
                offset[k] = float(d / math.ulp(r))
        return cls(exact, nearest_, offset)

    def errors(self, got: Any) -> np.ndarray:
        """The error of each result in ulp: |got - exact| / spacing(nearest), from
        (got - nearest) / spacing - offset (got - nearest is exact where it matters: within a
        factor 2). Nan is right (0) only where there is no real value, and an exact value
        past DBL_MAX only by inf (or by DBL_MAX, within its distance in ulp of DBL_MAX)."""
        got, r = np.asarray(got, dtype=np.float64), self.nearest
        with np.errstate(all="ignore"):
            error: np.ndarray = np.abs((got - r) / ulp_of(r) - self.offset)
        error[np.isnan(r) != np.isnan(got)] = INF
        error[np.isnan(r) & np.isnan(got)] = 0.0
        error[np.isinf(got) & ~np.isinf(r)] = INF
        for k in np.flatnonzero(np.isinf(r)):
            v, c = self.exact[k], float(got[k])
            error[k] = 0.0 if c == r[k] else INF
            if math.isfinite(c) and mpmath.isfinite(v):
                error[k] = float(abs(mpmath.mpf(c) - v) / 2.0**971)
        return error


def ulps(c: float, v: Any) -> float:
    """The error of the result c in ulp of the exact value v (None: no real value)."""
    return float(Reference.of([v]).errors([c])[0])


# --- points --------------------------------------------------------------------------------


def _loguniform(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return np.asarray(np.exp(rng.uniform(math.log(lo), math.log(hi), n)))


def _signed(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    return np.asarray(x * rng.choice([-1.0, 1.0], x.size))


def unary_points(seed: int = SEED) -> np.ndarray:
    """Finite arguments over every unary function's whole domain (and outside it)."""
    rng = np.random.default_rng([seed, 0])
    near_one = [s * (1.0 + d * 2.0**-k) for k in range(1, 54) for s in (1, -1) for d in (1, -1)]
    pi_multiples = [float(k * mpmath.pi / 2) for k in range(1, 41)]
    edges = [
        5e-324, 1e-310, DBL_MIN, 1e-300, 1e-200, 1e-20, 1e-8, 1.5e-8, 1e300, DBL_MAX,
        700.0, 709.7, 709.78, 709.79, 710.0, 710.4, 710.5, 708.4, 745.0, 745.1, 745.2, 746.0,
        1e22, 1e15, 2.0**52 + 1, 2.0**53, 6381956970095103 * 2.0**797, 19.06, 20.0, 22.0,
        26.5, 27.2, 28.0, 38.0, 1022.0, 1023.5, 1024.0, 1074.0, 1075.0,
    ]  # fmt: skip
    parts = [
        _signed(rng, _loguniform(rng, 1e-300, 1e300, 700)),
        _signed(rng, _loguniform(rng, 1e-8, 1e3, 700)),
        rng.uniform(-1.0, 1.0, 200),
        rng.uniform(-30.0, 30.0, 200),
        rng.uniform(-750.0, 750.0, 200),
        np.array(near_one + pi_multiples + edges + [-e for e in edges] + [0.0, -0.0]),
    ]
    return np.concatenate(parts)


def binary_points(seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Finite pairs (a, b): pow's bases and exponents over the whole range of its results,
    negative bases with whole exponents, signed pairs of every magnitude, and the finite
    special values pairwise."""
    rng = np.random.default_rng([seed, 1])
    base = _loguniform(rng, 1e-300, 1e300, 400)
    log_power = rng.uniform(-760.0, 720.0, 400)  # from underflow to overflow
    grid = np.array([v for v in SPECIAL if math.isfinite(v)])
    ga, gb = np.meshgrid(grid, grid)
    a = [
        base,
        1.0 + rng.uniform(-1e-3, 1e-3, 150),
        -_loguniform(rng, 1e-5, 1e5, 150),
        _signed(rng, _loguniform(rng, 1e-10, 1e10, 400)),
        _signed(rng, _loguniform(rng, 1e-300, 1e300, 400)),
        np.array([1e308, 1.5e308, 1e-300, 1e-320, 3e-320, 1e154, 1.4e154]),
        ga.ravel(),
    ]
    b = [
        log_power / np.log(base),
        rng.uniform(-1e6, 1e6, 150),
        rng.integers(-60, 61, 150).astype(float),
        _signed(rng, _loguniform(rng, 1e-10, 1e10, 400)),
        _signed(rng, _loguniform(rng, 1e-300, 1e300, 400)),
        np.array([1e308, 1e308, 1e-300, 4e-320, 1e-320, 1e154, 1.4e154]),
        gb.ravel(),
    ]
    return np.concatenate(a), np.concatenate(b)


@cache
def grad_points(name: str, seed: int = SEED, n: int = 300) -> tuple[np.ndarray, ...]:
    """Arguments over a moderate domain of each derivative: where the derivative is a
    normal double and its formula (ops.py) neither over- nor underflows on the way (acosh'
    = 1/sqrt((x-1)(x+1)) overflows to 0 past x = 1.3e154, so 1e150 is the end there)."""
    rng = np.random.default_rng([seed, 2, FUNCTIONS.index(name)])
    half = n // 2

    def wide(lo: float, hi: float, k: int = n) -> np.ndarray:
        return _signed(rng, _loguniform(rng, lo, hi, k))

    def unit() -> np.ndarray:  # (-1, 1), dense next to both ends
        ends = 1.0 - _loguniform(rng, 1e-16, 1, half)
        return np.concatenate([rng.uniform(-1, 1, half), _signed(rng, ends)])

    domains: dict[str, Callable[[], Any]] = {
        "exp": lambda: rng.uniform(-700, 700, n),
        "expm1": lambda: np.concatenate([rng.uniform(-700, 700, half), wide(1e-300, 1, half)]),
        "log": lambda: _loguniform(rng, 1e-300, 1e300, n),
        "log1p": lambda: np.concatenate(
            [_loguniform(rng, 1e-300, 1e300, half), -1.0 + _loguniform(rng, 1e-16, 1, half)]
        ),
        "sin": lambda: rng.uniform(-100, 100, n),
        "cos": lambda: rng.uniform(-100, 100, n),
        "tan": lambda: rng.uniform(-1.5, 1.5, n),
        "sinh": lambda: rng.uniform(-700, 700, n),
        "cosh": lambda: rng.uniform(-700, 700, n),
        "tanh": lambda: wide(1e-300, 300),
        "asin": unit,
        "acos": unit,
        "atanh": unit,
        "atan": lambda: wide(1e-300, 1e150),
        "asinh": lambda: wide(1e-300, 1e300),
        "acosh": lambda: 1.0 + _loguniform(rng, 1e-15, 1e150, n),
        "erf": lambda: rng.uniform(-26, 26, n),
        "erfc": lambda: rng.uniform(-26, 26, n),
        "log2": lambda: _loguniform(rng, 1e-300, 1e300, n),
        "log10": lambda: _loguniform(rng, 1e-300, 1e300, n),
        "exp2": lambda: rng.uniform(-1000, 1000, n),
        "cbrt": lambda: wide(1e-300, 1e300),
        "sqrt": lambda: _loguniform(rng, 1e-300, 1e300, n),
        "pow": lambda: (_loguniform(rng, 1e-3, 1e3, n), rng.uniform(-40, 40, n)),
        "atan2": lambda: (wide(1e-100, 1e100), wide(1e-100, 1e100)),
        "hypot": lambda: (wide(1e-100, 1e100), wide(1e-100, 1e100)),
    }
    points = domains[name]()
    return tuple(points) if isinstance(points, tuple) else (points,)


def grad_args(name: str, seeds: Sequence[int]) -> tuple[np.ndarray, ...]:
    """`grad_points` of every seed, one after another."""
    return tuple(np.concatenate(v) for v in zip(*(grad_points(name, s) for s in seeds)))


def special_inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x: every special value; (a, b): every pair of them, padded with (0.5, 0.5) to 512."""
    grid = np.array(SPECIAL)
    ga, gb = (g.ravel() for g in np.meshgrid(grid, grid))
    pad = np.full(512 - ga.size, 0.5)
    return grid, np.concatenate([ga, pad]), np.concatenate([gb, pad])


# --- evaluating ----------------------------------------------------------------------------


@cache
def evaluator(program: str, math_: str, grad: bool = False) -> Any:
    """The compiled tier of `program`'s value (or value_and_grad), compiled once."""
    formula = adc.compile(program, math=math_)  # type: ignore[arg-type]
    ev = formula.value_and_grad() if grad else formula.value
    ev.wait()
    assert ev.tier == "compiled" and ev.backend == "numba"
    return ev


def values(math_: str, x: Any, a: Any, b: Any) -> dict[str, np.ndarray]:
    """Every function's results, by name: the unary ones over x, the binary over (a, b)."""
    if math_ == "libm":
        out = evaluator(LIBM_PROGRAM, "libm")(x, a, b)
        return {name: np.asarray(r) for name, r in zip(FUNCTIONS, out, strict=True)}
    found: dict[str, np.ndarray] = {}
    for group in VALUE_GROUPS:
        out = evaluator(value_program(group), "simd")(*((a, b) if group[0] in BINARY else (x,)))
        found |= {name: np.asarray(r) for name, r in zip(group, out, strict=True)}
    return found


def route(name: str) -> str:
    """How math="simd" computes `name` on this machine, read off the generated module."""
    group = next(g for g in VALUE_GROUPS if name in g)
    source = evaluator(value_program(group), "simd").numba_source
    if f"math.{name}(" in source:
        return "libmvec" if name in simd.FORMS else "C library"
    return f"C library (np.{name})" if f"np.{name}(" in source else "?"


def derivatives(
    group: tuple[str, ...], scalar: bool = False, seeds: Sequence[int] = (SEED,)
) -> dict[str, np.ndarray]:
    """The partials of each function of `group` over `grad_points`, by name (an array of
    one or two rows), from the group's gradient over a batch (the vector forms), or with
    `scalar` from calls with numbers (the scalar kernel: the C library's functions)."""
    args = [v for name in group for v in grad_args(name, seeds)]
    ev = evaluator(grad_program(group), "simd", grad=True)
    if scalar:
        entries = np.array([ev(*(float(v[k]) for v in args))[1] for k in range(args[0].size)]).T
    else:
        entries = np.asarray(ev(*args)[1])
    found, k = {}, 0
    for name in group:
        width = 2 if name in BINARY else 1
        found[name], k = entries[k : k + width], k + width
    return found


def same_bits(a: Any, b: Any) -> np.ndarray:
    """Elementwise: the same double (a zero's sign included), or both nan."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    a, b = np.broadcast_arrays(a, b)
    return np.asarray((a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b)))


# --- measuring -----------------------------------------------------------------------------


@dataclass
class Worst:
    """The largest error of one function over a set of points, and where."""

    ulp: float
    at: tuple[float, ...]
    points: int

    @classmethod
    def of(cls, errors: np.ndarray, args: tuple[np.ndarray, ...]) -> Worst:
        k = int(np.argmax(errors))
        return cls(float(errors[k]), tuple(float(v[k]) for v in args), errors.size)


@dataclass
class Measured:
    """What `measure` finds, per function: the value errors with simd and with libm, the
    number of points where simd's bits differ from libm's, the derivative errors (simd),
    and how math="simd" computes the function."""

    value: dict[str, Worst] = field(default_factory=dict)
    value_libm: dict[str, Worst] = field(default_factory=dict)
    differs: dict[str, int] = field(default_factory=dict)
    grad: dict[str, Worst] = field(default_factory=dict)
    routes: dict[str, str] = field(default_factory=dict)


def measure(seeds: Sequence[int] = (SEED,)) -> Measured:
    """Every error this module bounds, over the points of `seeds` (the module's own: 12
    programs compiled, about 70,000 mpmath values)."""
    result = Measured()
    xs = np.concatenate([unary_points(s) for s in seeds])
    pa, pb = (np.concatenate(v) for v in zip(*(binary_points(s) for s in seeds)))
    got = {}
    for math_ in ("simd", "libm"):
        unary, binary = values(math_, xs, 0.5, 0.5), values(math_, 0.5, pa, pb)
        got[math_] = {n: unary[n] if n in UNARY else binary[n] for n in FUNCTIONS}
    grads = {n: d for group in GRAD_GROUPS for n, d in derivatives(group, seeds=seeds).items()}
    with mpmath.workdps(DPS):
        for name in FUNCTIONS:
            result.routes[name] = route(name)
            args: tuple[np.ndarray, ...] = (xs,) if name in UNARY else (pa, pb)
            keep = np.ones(args[0].size, dtype=bool)
            if name in ("pow", "atan2"):  # a zero's sign decides: test_special_values
                keep = (pa != 0) if name == "pow" else (pa != 0) & (pb != 0)
            args = tuple(v[keep] for v in args)
            ref = Reference.of([exact(name, *at) for at in zip(*args, strict=True)])
            simd_, libm = got["simd"][name][keep], got["libm"][name][keep]
            result.value[name] = Worst.of(ref.errors(simd_), args)
            result.value_libm[name] = Worst.of(ref.errors(libm), args)
            result.differs[name] = int(np.sum(~same_bits(simd_, libm)))
            args = grad_args(name, seeds)
            if name in UNARY:
                errors = Reference.of([exact_derivative(name, v) for v in args[0]]).errors(
                    grads[name][0]
                )
            else:
                partials = [exact_partials(name, u, v) for u, v in zip(*args, strict=True)]
                errors = np.maximum(
                    Reference.of([p[0] for p in partials]).errors(grads[name][0]),
                    Reference.of([p[1] for p in partials]).errors(grads[name][1]),
                )
            result.grad[name] = Worst.of(errors, args)
    return result


@pytest.fixture(scope="module")
def measured() -> Measured:
    return measure()


# --- the bounds ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", FUNCTIONS)
def test_value_within_bound(measured: Measured, name: str) -> None:
    worst = measured.value[name]
    assert worst.points > 1000
    if simd.KIND == "libm":  # no libmvec: math="simd" is math="libm", bit for bit
        assert measured.differs[name] == 0
    else:
        assert worst.ulp <= VALUE_ULP[name], f"{name}{worst.at}: {worst.ulp:.3g} ulp"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_derivative_within_bound(measured: Measured, name: str) -> None:
    worst = measured.grad[name]
    assert worst.ulp <= GRAD_ULP[name], f"{name}'{worst.at}: {worst.ulp:.3g} ulp"


def test_bounds_beyond_the_aims_are_explained() -> None:
    """No value bound above libmvec's documented 4 ulp, no derivative bound above 8 ulp,
    but those the dicts explain (and docs/simd.md states)."""
    assert {n for n in FUNCTIONS if VALUE_ULP[n] > LIBMVEC_ULP} == set(VALUE_ULP_BEYOND_LIBMVEC)
    assert {n for n in FUNCTIONS if GRAD_ULP[n] > 8} == set(GRAD_ULP_BEYOND_AIM)
    assert set(VALUE_ULP) == set(GRAD_ULP) == set(FUNCTIONS)


def test_vector_forms_are_used(measured: Measured) -> None:
    """Where there is libmvec, every program here really runs it: libmvec's results are
    not the C library's (neither is correctly rounded), so some points differ, in every
    value group from math="libm", in every gradient group from the scalar kernel's."""
    for name in FUNCTIONS:
        assert measured.routes[name] != "?", name
    vectorized = {n for n in FUNCTIONS if measured.routes[n] == "libmvec"}
    assert vectorized <= set(simd.VECTOR_FUNCTIONS)
    assert all(measured.differs[n] == 0 for n in FUNCTIONS if n not in vectorized)
    for group in VALUE_GROUPS:
        differing = sum(measured.differs[n] for n in group)
        assert (differing > 0) == (simd.KIND == "simd"), group
    for group in GRAD_GROUPS:
        batch, scalar = derivatives(group), derivatives(group, scalar=True)
        differing = sum(int(np.sum(~same_bits(batch[n], scalar[n]))) for n in group)
        assert (differing > 0) == (simd.KIND == "simd"), group


# --- bit for bit ---------------------------------------------------------------------------


def test_special_values() -> None:
    """nan, +-inf, signed zeros, subnormals, DBL_MAX, and every pair of them: math="simd"
    gives the C library's result bit for bit (a zero's sign included) wherever an argument
    is not finite or zero or the result is not finite or zero (elsewhere, within the bound;
    without libmvec, bit for bit everywhere), and the IEEE results of `IEEE`."""
    x, a, b = special_inputs()
    got = values("simd", x, a, b)
    failures = []
    with mpmath.workdps(DPS), np.errstate(all="ignore"):
        for name in FUNCTIONS:
            ref = c_library(name)
            points = [(v,) for v in x] if name in UNARY else list(zip(a, b, strict=True))
            for k, at in enumerate(points):
                want, have = ref(*at), float(got[name][k])
                if same_bits(have, want):
                    continue
                ordinary = all(map(math.isfinite, (*at, want))) and 0.0 not in (*at, want)
                ordinary &= simd.KIND == "simd"  # without libmvec: bit for bit, always
                if ordinary and ulps(have, exact(name, *at)) <= VALUE_ULP[name]:
                    continue
                failures.append(f"{name}{at} = {have!r}, the C library's {want!r}")
    for name, at, want in IEEE:
        found = x if name in UNARY else np.stack([a, b])
        hits = same_bits(found, np.array(at)[:, None] if name in BINARY else at[0])
        k = int(np.flatnonzero(hits.all(axis=0) if name in BINARY else hits)[0])
        if not same_bits(got[name][k], want):
            failures.append(f"{name}{at} = {got[name][k]!r}, IEEE {want!r}")
    assert not failures, "\n".join(failures)


def test_zero_results_keep_the_c_librarys_sign() -> None:
    """Wherever the C library's result is a zero (exp(-1000), erfc(30), an odd function at
    -0, tiny powers), math="simd" gives a zero of the same sign, not only an equal value."""
    xs = unary_points()
    pa, pb = binary_points()
    for names, args in ((UNARY, (xs, 0.5, 0.5)), (tuple(BINARY), (0.5, pa, pb))):
        got, want = values("simd", *args), values("libm", *args)
        for name in names:
            zero = (want[name] == 0.0) & (got[name] == 0.0)
            assert zero.any() or name not in ("exp", "erfc", "pow", "sin"), name
            assert (np.signbit(got[name][zero]) == np.signbit(want[name][zero])).all(), name


@pytest.mark.parametrize("name", FUNCTIONS)
def test_libm_is_the_c_library_bit_for_bit(name: str) -> None:
    """math="libm" computes what Python's `math` computes (`c_library`), bit for bit."""
    sx, sa, sb = special_inputs()
    if name in UNARY:
        xs = np.concatenate([unary_points(), sx])
        got = values("libm", xs, 0.5, 0.5)[name]
        points: list[tuple[float, ...]] = [(float(v),) for v in xs]
    else:
        pa, pb = binary_points()
        pa, pb = np.concatenate([pa, sa]), np.concatenate([pb, sb])
        got = values("libm", 0.5, pa, pb)[name]
        points = list(zip(pa.tolist(), pb.tolist(), strict=True))
    ref = c_library(name)
    with np.errstate(over="ignore"):
        bad = np.flatnonzero(~same_bits(got, [ref(*p) for p in points]))
    assert not bad.size, [(points[k], got[k], ref(*points[k])) for k in bad[:5]]


PROBES = (0.7, -2.5, 1e-310, -0.0, 700.5, 1e22, 0.999999, NAN, INF, 3.3e-8, 26.0, -745.1)


def test_result_does_not_depend_on_position_in_the_batch() -> None:
    """A point gives the same bits with math="simd" at index 0, 5, 127, 128 or 1000 of a
    batch, alone in a batch of one, and in a strided input (read through a padded copy)."""
    rng = np.random.default_rng([SEED, 99])
    filler = rng.uniform(0.1, 0.9, (3, 1200))
    for probe in PROBES:
        seen: dict[str, list[np.ndarray]] = {name: [] for name in FUNCTIONS}
        for index in (0, 5, 127, 128, 1000):
            arrays = filler.copy()
            arrays[:, index] = probe
            got = values("simd", *arrays)
            strided = values("simd", *np.repeat(arrays, 2, axis=1)[:, ::2])
            for name in FUNCTIONS:
                seen[name] += [got[name][index], strided[name][index]]
        one = values("simd", *(np.array([probe]) for _ in range(3)))
        for name in FUNCTIONS:
            seen[name].append(one[name][0])
            assert same_bits(seen[name], seen[name][0]).all(), (name, probe, seen[name])


def test_calls_with_numbers_run_the_c_library() -> None:
    """A call with numbers runs the scalar kernel, not the batch driver: with math="simd"
    too, it gives the C library's results (math="libm"'s bits), not libmvec's."""
    rng = np.random.default_rng([SEED, 98])
    points = np.concatenate([PROBES, rng.uniform(-5.0, 5.0, 30)])
    want = values("libm", points, points, points)
    for group in VALUE_GROUPS:
        ev = evaluator(value_program(group), "simd")
        for k, p in enumerate(points.tolist()):
            got = ev(p, p) if group[0] in BINARY else ev(p)
            for name, r in zip(group, got, strict=True):
                assert same_bits(r, want[name][k]), (name, p, r, want[name][k])


def test_float32_inputs_are_computed_in_float64() -> None:
    """float32 batches are widened, computed in float64 (with the same vector functions)
    and rounded once on store: no float32 forms, so no float32 error budget either."""
    xs = unary_points()
    xs = xs[np.abs(xs) < 3e38]
    pa, pb = binary_points()
    ok = (np.abs(pa) < 3e38) & (np.abs(pb) < 3e38)
    xs, pa, pb = (v.astype(np.float32).astype(np.float64) for v in (xs, pa[ok], pb[ok]))
    wide = values("simd", xs, pa, pb)
    with np.errstate(over="ignore"):  # float32 results past 3.4e38 are inf
        narrow = values("simd", *(v.astype(np.float32) for v in (xs, pa, pb)))
        for name in FUNCTIONS:
            assert narrow[name].dtype == np.float32
            assert same_bits(narrow[name], wide[name].astype(np.float32)).all(), name


_DOUBLES = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=40)
@given(_DOUBLES, _DOUBLES, _DOUBLES)
def test_any_double_within_documented_bound(x: float, a: float, b: float) -> None:
    """Hypothesis' doubles (subnormals, DBL_MAX, powers of two, ...), at the end of a
    batch: within libmvec's documented 4 ulp (or the function's larger bound); without
    libmvec, the C library's results."""
    batch = [np.full(130, v) for v in (x, a, b)]
    got = values("simd", *batch)
    if simd.KIND == "libm":
        want = values("libm", *batch)
        assert all(same_bits(got[n], want[n]).all() for n in FUNCTIONS)
        return
    with mpmath.workdps(DPS):
        for name in FUNCTIONS:
            at = (x,) if name in UNARY else (a, b)
            if name in ("pow", "atan2") and 0.0 in at[: 1 if name == "pow" else 2]:
                continue  # the sign of a zero decides: test_special_values
            error = ulps(float(got[name][129]), exact(name, *at))
            assert error <= max(VALUE_ULP[name], LIBMVEC_ULP), f"{name}{at}: {error:.3g} ulp"


# --- the table of docs/simd.md -------------------------------------------------------------


def _fmt(worst: Worst) -> tuple[str, str]:
    at = ", ".join(f"{v:.17g}" for v in worst.at)
    return (f"{worst.ulp:.2f}" if math.isfinite(worst.ulp) else "inf"), f"`{at}`"


def table(measured: Measured) -> Iterator[str]:
    """The markdown table of docs/simd.md, row by row."""
    yield (
        '| function | math="simd" computes it with | value: max ulp | at | bound '
        "| libm: max ulp | simd ≠ libm | derivative: max ulp | at | bound |"
    )
    yield "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: |"
    for name in FUNCTIONS:
        value, value_at = _fmt(measured.value[name])
        libm, _ = _fmt(measured.value_libm[name])
        grad, grad_at = _fmt(measured.grad[name])
        differs = f"{measured.differs[name]} / {measured.value[name].points}"
        yield (
            f"| {name} | {measured.routes[name]} | {value} | {value_at} | {VALUE_ULP[name]:g} "
            f"| {libm} | {differs} | {grad} | {grad_at} | {GRAD_ULP[name]:g} |"
        )


def main(argv: Sequence[str]) -> None:
    """Print the table; `--seeds N`: over the points of N seeds (the bounds' measurement)."""
    seeds = range(SEED, SEED + (int(argv[argv.index("--seeds") + 1]) if "--seeds" in argv else 1))
    forms = sorted({symbol[1:8] for f in simd.FORMS.values() for _, symbol in f})
    found = simd.WHY_NOT or "libmvec's forms " + ", ".join(f"`{f}`" for f in forms)
    print(f"`simd.KIND == {simd.KIND!r}` ({found}); seeds {seeds.start}..{seeds.stop - 1}:\n")
    for row in table(measure(seeds)):
        print(row)


if __name__ == "__main__":
    main(sys.argv[1:])
