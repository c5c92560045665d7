"""The function library (issue "4b"): the elementary family. See `ir.special` for how a row is
declared (`scipy_op`, `library_op`, `no_derivative`).

The functions (NumPy's and SciPy's names; SymPy's and NumPy's other names are aliases):
- `exp2` (`np.exp2`), `rsqrt` (1/sqrt x), `reciprocal` (1/x), `logit` (SciPy's), `sinc`
  (NumPy's normalized sin(pi x)/(pi x), 1 at 0; SymPy's `sinc(x)` is sin(x)/x, so NumPy's is
  SymPy's `sinc(pi x)`), `cot sec csc`, `deg2rad rad2deg` (`radians`, `degrees`),
  `cosm1` (cos x - 1) and `powm1` (x^y - 1, SciPy's);
- piecewise: `clamp(x, lo, hi)` (`clip`: NumPy's clip, NaN in any argument gives NaN, and
  lo > hi gives hi), `round` (`rint`: NumPy's rint, half to even), `heaviside(x, h0)`
  (`Heaviside`: NumPy's, h0 at x = 0; SymPy's `Heaviside(x)` is h0 = 1/2), `mod` (`%` in
  the language, `remainder`, SymPy's `Mod`: np.mod, the sign of y; x % 0 is NaN) and `fmod`
  (C's fmod, the sign of x).

Values are NumPy's (SciPy's) bit for bit on every tier: the interpreter's `impl` is the
NumPy function itself, the Python column (Numba, the VM, the readable source) the same
arithmetic in scalars, and `logit cosm1 powm1` SciPy's kernels everywhere. Except: `exp2`,
`sinc`, `cot sec csc` in compiled code call the C library's exp2, sin, cos, tan, which may
differ from NumPy's own loops by an ulp (NumPy's exp2 is within 0.64 ulp, the C library's
0.51); and a zero that clamp returns at a tie may have the other sign (NumPy's own scalar and
array loops disagree there). Next to sinc's zeros its value is NumPy's, not exact: pi x is
rounded (an absolute error of ~|x| ulp of the envelope 1/(pi |x|)). Measured accuracy:
`tests/ir/test_library_elementary.py` (its docstring).

Derivatives (rows close: each rule is built of rows with rules, so Hessians work):
- `exp2' = ln2 exp2`, `rsqrt' = -rsqrt/(2x)`, `reciprocal' = -reciprocal^2`,
  `logit' = 1/(x (1 - x))`, `cot' = -csc^2`, `sec' = sec tan`, `csc' = -csc cot` (products
  of factors of one sign: no cancellation), `cosm1' = -sin`;
- `sinc' = x P(x^2)` for |x| < 1/2, P the Taylor polynomial of sinc'(x)/x (to 2^-70), so
  sinc'(0) = 0 and sinc''(0) = -pi^2/3, and every derivative is accurate near 0; else
  `(cos(pi x) - sinc x)/x`, which cancels as x -> 0 (eps/x^2 relative: the reason for P);
- `powm1` as `pow`: d/dx = y x^(y-1), 0 where y == 0; d/dy = x^y ln x, 0 where x <= 0;
- `mod`, `fmod`: d/dx = 1, d/dy = -q with q = rint((x - r)/y) the whole quotient of the
  value r (floor(x/y) for mod, trunc(x/y) for fmod, as NumPy's floor_divide finds it: the
  slope of the branch the value is on, also next to a jump, where floor(x/y) of the rounded
  x/y can be the neighbour's); NaN where y == 0;
- `round`, `heaviside`: 0 in x, also at the jumps (as floor' = 0); heaviside in h0: 1 at
  x == 0 (where the value is h0), else 0;
- `clamp`: 1 to the argument whose value it returns: x for lo <= x <= hi, ties included (NumPy's
  scalar clip returns x there, `x >= lo ? x : lo`; PyTorch's and TensorFlow's gradients are
  the same), so clamp(x, 0, 1)' is 1 at x = 0 and at x = 1; lo where x < lo <= hi; hi where
  max(x, lo) > hi (lo > hi: hi, whatever x). The three partials sum to 1 (all 0 at a NaN).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from adcompile.ir.builders import cos, eq, gt, log, lt, mul0, sin, where
from adcompile.ir.opdef import POSITIVE, REAL, Arr, Interval
from adcompile.ir.special import DEFAULTS, SYMPY_IMPORTS, CFunction, library_op, scipy_op

if TYPE_CHECKING:
    from adcompile.ir.graph import Expr

PI = math.pi
LN2 = math.log(2.0)
DEG = PI / 180.0  # NumPy's deg2rad factor (npy_deg2rad: x * (NPY_PI / 180.0))
RAD = 180.0 / PI  # and rad2deg's
_LINE = Interval(-3.0, 3.0)
_OPEN_UNIT = Interval(0.05, 0.95)
_SINE = Interval(0.1, 3.0)  # cot, csc: between the poles at 0 and pi
_COSINE = Interval(-1.2, 1.2)  # sec: between the poles at -pi/2 and pi/2
_LOW, _HIGH = Interval(-1.5, -0.5), Interval(0.5, 1.5)  # clamp's bounds
_DIVISOR = Interval(0.5, 2.0)

#: sinc'(x) = x P(x^2) for |x| < 1/2: P's coefficients, (-1)^k 2k pi^2k / (2k+1)! for k = 1..12
#: (the first term left out is below 2^-70 of the first there).
_SLOPE = (
    -3.289868133696453, 3.2469697011334144, -1.1445109447325053, 0.2091827825412384,
    -0.023460810354558236, 0.001781145516372852, -9.766223126318933e-05,
    4.049947846619244e-06, -1.3148481279991994e-07, 3.4330769499642866e-09,
    -7.365893777096947e-11, 1.3217901389162318e-12,
)  # fmt: skip


def _quiet(fn: Any) -> Any:
    """`fn` on floats, NaN/inf results without NumPy's warnings (the interpreter's impl)."""

    def impl(*args: Arr) -> Arr:
        with np.errstate(all="ignore"):
            return np.asarray(fn(*(np.asarray(a, dtype=np.float64) for a in args))) * 1.0

    return impl


def _sinc_slope(x: Expr, o: Expr) -> Expr:
    """sinc'(x): the Taylor polynomial near 0, (cos(pi x) - sinc x)/x elsewhere."""
    t = x * x
    p: Expr | float = _SLOPE[-1]
    for c in reversed(_SLOPE[:-1]):
        p = p * t + c
    return where(lt(x.apply("abs", x), 0.5), x * p, (cos(PI * x) - o) / x)


def _quotient(x: Expr, y: Expr, o: Expr) -> Expr:
    """d/dy of mod and fmod: minus the whole quotient of the value, rint((x - o)/y)."""
    return -x.apply("round", (x - o) / y)


def _sympy_round(sp: Any, x: Any) -> Any:
    """Half to even in SymPy's functions: floor(x + 1/2), but at a tie the even neighbour."""
    up = x + sp.Rational(1, 2)
    return sp.Piecewise((2 * sp.floor(up / 2), sp.Eq(sp.floor(up), up)), (sp.floor(up), True))


def _clamp_x(x: Expr, lo: Expr, hi: Expr, o: Expr) -> Expr:
    return x.apply("ge", x, lo) * x.apply("le", x, hi)  # x is returned, ties included


def _clamp_lo(x: Expr, lo: Expr, hi: Expr, o: Expr) -> Expr:
    return lt(x, lo) * x.apply("le", lo, hi)


def _clamp_hi(x: Expr, lo: Expr, hi: Expr, o: Expr) -> Expr:
    return gt(x.apply("max", x, lo), hi)  # NaN anywhere: 0 (as in the other two)


# fmt: off
# Values: the NumPy column is NumPy's function, the Python column the same arithmetic on
# scalars (in plain Python, the readable source, a pole of 1/x, cot, sec, csc raises as
# `x / 0` does; Numba's error model gives inf, as NumPy)
library_op("exp2", 1, _quiet(np.exp2), (lambda x, o: LN2 * o,), lambda sp, x: 2**x,
           python="np.exp2({0})")
library_op("rsqrt", 1, _quiet(lambda x: 1.0 / np.sqrt(x)), (lambda x, o: -0.5 * o / x,),
           lambda sp, x: 1 / sp.sqrt(x), (POSITIVE,), python="1.0 / np.sqrt({0})")
library_op("reciprocal", 1, _quiet(np.reciprocal), (lambda x, o: -(o * o),),
           lambda sp, x: 1 / x, python="1.0 / {0}")
scipy_op("logit", 1, CFunction("__pyx_fuse_0logit", "ds", "logit"),
         (lambda x, o: 1.0 / (x * (1.0 - x)),), lambda sp, x: sp.log(x / (1 - x)), (_OPEN_UNIT,))
# NumPy's sinc: sin(y)/y with y = pi x (pi * 1e-20 at 0, which is 1 exactly)
library_op("sinc", 1, _quiet(np.sinc), (_sinc_slope,), lambda sp, x: sp.sinc(sp.pi * x),
           python="math.sin(3.141592653589793 * {0}) / (3.141592653589793 * {0}) "
                  "if {0} != 0.0 else 1.0",
           numpy="np.sinc({0})")
library_op("cot", 1, _quiet(lambda x: 1.0 / np.tan(x)),
           (lambda x, o: -(x.apply("csc", x) * x.apply("csc", x)),),
           lambda sp, x: sp.cot(x), (_SINE,), python="1.0 / math.tan({0})",
           numpy="1.0 / np.tan({0})")
library_op("sec", 1, _quiet(lambda x: 1.0 / np.cos(x)), (lambda x, o: o * x.apply("tan", x),),
           lambda sp, x: sp.sec(x), (_COSINE,), python="1.0 / math.cos({0})",
           numpy="1.0 / np.cos({0})")
library_op("csc", 1, _quiet(lambda x: 1.0 / np.sin(x)), (lambda x, o: -(o * x.apply("cot", x)),),
           lambda sp, x: sp.csc(x), (_SINE,), python="1.0 / math.sin({0})",
           numpy="1.0 / np.sin({0})")
library_op("deg2rad", 1, _quiet(np.deg2rad), (lambda x, o: DEG,), lambda sp, x: sp.pi * x / 180,
           python=f"{{0}} * {DEG!r}", numpy="np.deg2rad({0})", aliases=("radians",))
library_op("rad2deg", 1, _quiet(np.rad2deg), (lambda x, o: RAD,), lambda sp, x: 180 * x / sp.pi,
           python=f"{{0}} * {RAD!r}", numpy="np.rad2deg({0})", aliases=("degrees",))
scipy_op("cosm1", 1, CFunction("cosm1", "ds", "cosm1"), (lambda x, o: -sin(x),),
         lambda sp, x: sp.cos(x) - 1, (_LINE,))
# x^y - 1, differentiated as pow (ops.py): d/dx 0 where y == 0, d/dy 0 where x <= 0
scipy_op("powm1", 2, CFunction("__pyx_fuse_0powm1", "dds", "powm1"),
         (lambda x, y, o: mul0(y, x ** (y - 1.0)),
          lambda x, y, o: where(gt(x, 0.0), x**y * log(x), 0.0)),
         lambda sp, x, y: x**y - 1, (POSITIVE, REAL))
# ---- piecewise --------------------------------------------------------------------------------
# NumPy's clip: max(x, lo) then min(.., hi), a tie keeping x, NaN from any argument
library_op("clamp", 3, _quiet(np.clip),
           (_clamp_x, _clamp_lo, _clamp_hi),
           lambda sp, x, lo, hi: sp.Min(sp.Max(x, lo), hi), (_LINE, _LOW, _HIGH),
           python="{0} if {0} != {0} else (({0} if {0} <= {2} else {2}) if {0} >= {1} else "
                  "({1} if {1} <= {2} or {1} != {1} else {2}))",
           numpy="np.clip({0}, {1}, {2})", aliases=("clip",), smooth=False, selects=True)
library_op("round", 1, _quiet(np.rint), (None,), _sympy_round, python="np.rint({0})",
           aliases=("rint",), smooth=False)
library_op("heaviside", 2, _quiet(np.heaviside), (None, lambda x, h, o: eq(x, 0.0)),
           lambda sp, x, h: sp.Heaviside(x, h), (_LINE, Interval(0.0, 1.0)),
           python="{1} if {0} == 0.0 else (1.0 if {0} > 0.0 else (0.0 if {0} < 0.0 else {0}))",
           numpy="np.heaviside({0}, {1})", aliases=("Heaviside",), smooth=False, selects=True)
# Python's float % is np.mod's arithmetic (fmod, then y added where the signs differ), but
# raises at y == 0 in plain Python: NaN there, as NumPy gives
library_op("mod", 2, _quiet(np.mod), (lambda x, y, o: 1.0, _quotient),
           lambda sp, x, y: sp.Mod(x, y), (_LINE, _DIVISOR),
           python="{0} % {1} if {1} != 0.0 else math.nan", numpy="np.mod({0}, {1})",
           aliases=("remainder", "Mod"))
library_op("fmod", 2, _quiet(np.fmod), (lambda x, y, o: 1.0, _quotient),
           lambda sp, x, y: sp.sign(x) * sp.Mod(sp.Abs(x), sp.Abs(y)), (_LINE, _DIVISOR),
           python="np.fmod({0}, {1})")
# fmt: on

#: SymPy's sinc is the unnormalized sin(x)/x: NumPy's at x/pi (`from_sympy`).
SYMPY_IMPORTS["sinc"] = "sinc({0} / pi)"
DEFAULTS["heaviside"] = (0.5,)  # heaviside(x): SymPy's Heaviside(x), 1/2 at 0
