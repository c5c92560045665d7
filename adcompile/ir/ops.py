"""The op table: every primitive of the IR, declared once.

Each `OpDef` holds the op's arity, its NumPy semantics (`impl`, used for constant folding and
the NumPy interpreter), one partial-derivative rule per argument (written as IR through `Expr`
arithmetic, in terms of the arguments and the op's own output), the SymPy equivalent, the
domain used to sample valid inputs, flags, and the spelling columns of `spellings.py` (Python
and NumPy templates, infix spelling and precedence, integer power, aliases). Reverse mode, the
printers, the VM, the SymPy bridge and the test strategies all read this table; no pass
switches on op names.

A partial rule receives `(*args, out)` as `Expr` handles and returns an `Expr` (or a float).
`None` in the partials tuple means "zero by definition" (comparisons, `floor`, ...).
Conventions at kinks: abs'(0) = 0, relu'(0) = 0, sign' = floor' = ceil' = 0, ties of min/max
split the gradient evenly, sqrt'(0) = inf, d/dy x^y = 0 where x <= 0, d/dx x^y = 0 where
y == 0, hypot'(0, 0) = atan2'(0, 0) = 0 (the table `CONVENTIONS` at the end lists them all).
Derivative rules are written so they keep their digits in the tails (tanh' is `sech2`, not
1 - tanh^2) and are smooth themselves where the op is, so that differentiating them again
(Hessians) is just as accurate.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Final

import numpy as np

from adcompile.ir.builders import (
    _at_origin_zero,
    _atan2_partial,
    cos,
    cosh,
    eq,
    exp,
    expmx2,
    gt,
    hypot,
    hypot_ratio,
    log,
    lt,
    one_minus_sq,
    pow_slope,
    sech2,
    sigmoid,
    sigmoid2,
    sigmoid2_slope,
    sigmoid_slope,
    sign,
    sin,
    sinh,
    sqrt,
    tanh,
    where,
)
from adcompile.ir.numeric import (
    LN2,
    _bool,
    _erf,
    _erfc,
    _expmx2,
    _f,
    _hypot_ratio,
    _logaddexp,
    _logaddexp2,
    _one_minus_sq,
    _sech2,
    _sigmoid,
    _sigmoid2,
    _sigmoid2_slope,
    _sigmoid_slope,
    _softplus,
    _sp_bool,
)
from adcompile.ir.opdef import (
    ABOVE_ONE,
    ATOM,
    OPS,
    POSITIVE,
    REAL,
    UNIT,
    Interval,
    OpDef,
    defop,
)
from adcompile.ir.spellings import (
    ALIAS_COLUMN,
    INFIX_COLUMN,
    INTEGER_POWER_COLUMN,
    NUMBA_COLUMN,
    NUMPY_COLUMN,
    PYTHON_COLUMN,
    VECTOR_PYTHON,
)

LN10: Final = math.log(10.0)
HALF_LN2: Final = 0.5 * math.log(2.0)
TWO_OVER_SQRT_PI: Final = 2.0 / math.sqrt(math.pi)
ZERO: Final = None  # readable marker in the table: this partial is zero by definition


# fmt: off
# ---- arithmetic -------------------------------------------------------------------------------
#      name   arity impl                          partials (x, [y,] out) -> d out / d arg
defop("add",  2, np.add,      (lambda x, y, o: 1.0,    lambda x, y, o: 1.0),
      lambda sp, x, y: x + y, commutative=True, function=False)
defop("sub",  2, np.subtract, (lambda x, y, o: 1.0,    lambda x, y, o: -1.0),
      lambda sp, x, y: x - y, function=False)
defop("mul",  2, np.multiply, (lambda x, y, o: y,      lambda x, y, o: x),
      lambda sp, x, y: x * y, commutative=True, function=False)
defop("div",  2, np.divide,   (lambda x, y, o: 1.0 / y, lambda x, y, o: -o / y),
      lambda sp, x, y: x / y, function=False)
defop("neg",  1, np.negative, (lambda x, o: -1.0,),
      lambda sp, x: -x, function=False)
# x^y: d/dy is taken as 0 where x <= 0 (the real power is not differentiable in y there);
# d/dx = y * x^(y-1) is taken as 0 where y == 0 (x^0 = 1 for every x, but 0 * 0^-1 is NaN):
# mul0, so a constant exponent folds the guard away (x^2 -> 2*x) and the rule stays smooth
# in y (d/dy of it at y = 0 is x^-1, which a `where` on y == 0 would lose in a Hessian).
defop("pow",  2, np.power,    (lambda x, y, o: pow_slope(x, y, o),
                               lambda x, y, o: where(gt(x, 0.0), o * log(x), 0.0)),
      lambda sp, x, y: x ** y, (POSITIVE, REAL))
# ---- comparisons and logic: values 0.0 / 1.0, derivative 0 --------------------------------------
defop("lt",   2, lambda x, y: _bool(np.less(x, y)),          (ZERO, ZERO),
      lambda sp, x, y: _sp_bool(sp, sp.Lt(x, y)), boolean=True, function=False, smooth=False)
defop("le",   2, lambda x, y: _bool(np.less_equal(x, y)),    (ZERO, ZERO),
      lambda sp, x, y: _sp_bool(sp, sp.Le(x, y)), boolean=True, function=False, smooth=False)
defop("gt",   2, lambda x, y: _bool(np.greater(x, y)),       (ZERO, ZERO),
      lambda sp, x, y: _sp_bool(sp, sp.Gt(x, y)), boolean=True, function=False, smooth=False)
defop("ge",   2, lambda x, y: _bool(np.greater_equal(x, y)), (ZERO, ZERO),
      lambda sp, x, y: _sp_bool(sp, sp.Ge(x, y)), boolean=True, function=False, smooth=False)
defop("eq",   2, lambda x, y: _bool(np.equal(x, y)),         (ZERO, ZERO),
      lambda sp, x, y: _sp_bool(sp, sp.Eq(x, y)), boolean=True, commutative=True,
      function=False, smooth=False)
defop("ne",   2, lambda x, y: _bool(np.not_equal(x, y)),     (ZERO, ZERO),
      lambda sp, x, y: _sp_bool(sp, sp.Ne(x, y)), boolean=True, commutative=True,
      function=False, smooth=False)
defop("and",  2, lambda x, y: _bool(np.logical_and(x, y)),   (ZERO, ZERO),
      lambda sp, x, y: _sp_bool(sp, sp.And(sp.Ne(x, 0), sp.Ne(y, 0))), boolean=True,
      commutative=True, function=False, smooth=False)
defop("or",   2, lambda x, y: _bool(np.logical_or(x, y)),    (ZERO, ZERO),
      lambda sp, x, y: _sp_bool(sp, sp.Or(sp.Ne(x, 0), sp.Ne(y, 0))), boolean=True,
      commutative=True, function=False, smooth=False)
defop("not",  1, lambda x: _bool(np.logical_not(x)),         (ZERO,),
      lambda sp, x: _sp_bool(sp, sp.Eq(x, 0)), boolean=True, function=False, smooth=False)
# where(c, a, b): c is true when nonzero; the branch not taken gets derivative 0.
defop("where", 3, lambda c, a, b: _f(np.where(np.not_equal(c, 0.0), a, b)),
      (ZERO, lambda c, a, b, o: where(c, 1.0, 0.0), lambda c, a, b, o: where(c, 0.0, 1.0)),
      lambda sp, c, a, b: sp.Piecewise((a, sp.Ne(c, 0)), (b, True)), selects=True)
# mul0(a, b) = a * b, but exactly 0 when a == 0 even if b is inf or NaN. Reverse mode uses it
# below a selecting op, so the branch not taken contributes 0, never NaN (DESIGN.md section 5).
# It selects too (a == 0 switches b off), so forward mode over it (Hessians) keeps that.
defop("mul0", 2, lambda a, b: _f(np.where(np.equal(a, 0.0), 0.0, np.multiply(a, b))),
      (lambda a, b, o: b, lambda a, b, o: a),
      lambda sp, a, b: sp.Piecewise((0, sp.Eq(a, 0)), (a * b, True)), function=False,
      selects=True)
# ---- elementary functions -----------------------------------------------------------------------
defop("sin",   1, np.sin,   (lambda x, o: cos(x),),                       lambda sp, x: sp.sin(x))
defop("cos",   1, np.cos,   (lambda x, o: -sin(x),),                      lambda sp, x: sp.cos(x))
defop("tan",   1, np.tan,   (lambda x, o: 1.0 + o * o,),                  lambda sp, x: sp.tan(x),
      (Interval(-1.2, 1.2),))
# asin' = 1/sqrt(1 - x^2) with 1 - x^2 as one op (one_minus_sq): its slope -2x is exact,
# where the product rule on (1 - x)(1 + x) gives (1 - x) - (1 + x), which cancels near 0
# (asin''(x) = x/(1 - x^2)^(3/2) would be off by eps/|x| relative).
defop("asin",  1, np.arcsin, (lambda x, o: 1.0 / sqrt(one_minus_sq(x)),),
      lambda sp, x: sp.asin(x), (UNIT,))
defop("acos",  1, np.arccos, (lambda x, o: -1.0 / sqrt(one_minus_sq(x)),),
      lambda sp, x: sp.acos(x), (UNIT,))
# one_minus_sq(x) = (1 - x)(1 + x) = 1 - x^2: accurate near |x| = 1 (1 - x*x is not) and
# its slope -2x is exact. Internal: the slopes of asin, acos, atanh.
defop("one_minus_sq", 1, _one_minus_sq, (lambda x, o: -2.0 * x,),
      lambda sp, x: 1 - x**2, function=False)
defop("atan",  1, np.arctan, (lambda x, o: 1.0 / (1.0 + x * x),),         lambda sp, x: sp.atan(x))
# atan2'(0, 0) is taken as 0 in both arguments, like hypot' (see _over_hypot_squared).
defop("atan2", 2, np.arctan2, (lambda y, x, o: _atan2_partial(y, x, True),
                               lambda y, x, o: _atan2_partial(y, x, False)),
      lambda sp, y, x: sp.atan2(y, x), (POSITIVE, POSITIVE))
defop("sinh",  1, np.sinh,  (lambda x, o: cosh(x),),                      lambda sp, x: sp.sinh(x))
defop("cosh",  1, np.cosh,  (lambda x, o: sinh(x),),                      lambda sp, x: sp.cosh(x))
# tanh' = sech2(x), not 1 - o*o: that cancels to 0 from |x| ~ 19 on (tanh'(20) = 1.7e-17).
defop("tanh",  1, np.tanh,  (lambda x, o: sech2(x),),                     lambda sp, x: sp.tanh(x))
# sech2(x) = 1/cosh(x)^2 = 4t/(1+t)^2 with t = exp(-2|x|) in (0, 1]: no overflow, no
# cancellation, within 4 ulp of the truth wherever it is a normal float (mpmath); its own
# derivative -2 tanh(x) sech2(x) is accurate in the tails too. Internal: tanh' only.
# (SymPy: 1/cosh^2, not sech^2, so an exported derivative converts back to a formula.)
defop("sech2", 1, _sech2,   (lambda x, o: -2.0 * tanh(x) * o,),
      lambda sp, x: 1 / sp.cosh(x) ** 2, function=False)
defop("asinh", 1, np.arcsinh, (lambda x, o: 1.0 / hypot(x, 1.0),),       lambda sp, x: sp.asinh(x))
defop("acosh", 1, np.arccosh, (lambda x, o: 1.0 / sqrt((x - 1.0) * (x + 1.0)),),
      lambda sp, x: sp.acosh(x), (ABOVE_ONE,))
defop("atanh", 1, np.arctanh, (lambda x, o: 1.0 / one_minus_sq(x),),
      lambda sp, x: sp.atanh(x), (UNIT,))
defop("exp",   1, np.exp,   (lambda x, o: o,),                            lambda sp, x: sp.exp(x))
# expm1'(x) = exp(x), not o + 1: that cancels where o is near -1 (x < -1).
defop("expm1", 1, np.expm1, (lambda x, o: exp(x),),                        lambda sp, x: sp.exp(x) - 1)
defop("log",   1, np.log,   (lambda x, o: 1.0 / x,),                      lambda sp, x: sp.log(x),
      (POSITIVE,))
defop("log1p", 1, np.log1p, (lambda x, o: 1.0 / (1.0 + x),),              lambda sp, x: sp.log(1 + x),
      (POSITIVE,))
defop("log2",  1, np.log2,  (lambda x, o: 1.0 / (x * LN2),),              lambda sp, x: sp.log(x, 2),
      (POSITIVE,))
defop("log10", 1, np.log10, (lambda x, o: 1.0 / (x * LN10),),             lambda sp, x: sp.log(x, 10),
      (POSITIVE,))
defop("sqrt",  1, np.sqrt,  (lambda x, o: 0.5 / o,),                      lambda sp, x: sp.sqrt(x),
      (POSITIVE,))
defop("cbrt",  1, np.cbrt,  (lambda x, o: (1.0 / 3.0) / (o * o),),        lambda sp, x: sp.cbrt(x),
      (POSITIVE,))
# erf' = 2/sqrt(pi) exp(-x^2), with exp(-x^2) as one op (expmx2): exp(-(x*x)) inherits the
# rounding of x*x magnified by x^2 (up to ~700 ulp near |x| = 26, where erfc' is 1e-300).
defop("erf",   1, _erf,     (lambda x, o: TWO_OVER_SQRT_PI * expmx2(x),),
      lambda sp, x: sp.erf(x))
defop("erfc",  1, _erfc,    (lambda x, o: -TWO_OVER_SQRT_PI * expmx2(x),),
      lambda sp, x: sp.erfc(x))
# expmx2(x) = exp(-x^2) from the exact square (see _expmx2), within 2 ulp of the truth
# wherever it is a normal float; its slope -2x exp(-x^2) is a product. Internal.
defop("expmx2", 1, _expmx2, (lambda x, o: -2.0 * x * o,),
      lambda sp, x: sp.exp(-x**2), function=False)
# hypot' = (x/h, y/h) as hypot_ratio, whose own partials are products (so the Hessian
# y^2/h^3 does not come out as the cancelling 1/h - x^2/h^3 of the quotient rule).
# hypot'(0, 0) is 0 in both arguments, like abs'(0) (the ratio's convention).
defop("hypot", 2, np.hypot, (lambda x, y, o: hypot_ratio(x, y),
                             lambda x, y, o: hypot_ratio(y, x)),
      lambda sp, x, y: sp.sqrt(x**2 + y**2), commutative=True)
# hypot_ratio(x, y) = x / hypot(x, y) = c, the cosine of the angle of (x, y), in [-1, 1]:
# no overflow. With s = hypot_ratio(y, x), dc/dx = s^2/h and dc/dy = -c s/h, products of
# one sign (1/h - x^2/h^3 would cancel where |y| << |x|). At the origin it is 0 (hypot'(0,
# 0) = 0); only there (`eq` in the template): a NaN argument gives NaN, not 0. Internal.
defop("hypot_ratio", 2, _hypot_ratio,
      (lambda x, y, o: _at_origin_zero(hypot(x, y), hypot_ratio(y, x) ** 2.0 / hypot(x, y)),
       lambda x, y, o: _at_origin_zero(hypot(x, y), -(o * hypot_ratio(y, x)) / hypot(x, y))),
      lambda sp, x, y: sp.Piecewise((0, sp.Eq(sp.sqrt(x**2 + y**2), 0)),
                                    (x / sp.sqrt(x**2 + y**2), True)), function=False)
# sigmoid, softplus, logaddexp: accurate values for every argument, never NaN, and each
# keeps its smooth derivative to every order (DESIGN.md section 5): the piecewise pieces of
# the value templates (abs, max, a branch on the sign) never appear in a rule, so no kink
# convention reaches a Hessian (softplus''(0) = 1/4, not abs'(0) = 0). The family closes:
# softplus' = sigmoid, sigmoid' = sigmoid_slope, sigmoid_slope' = -sigmoid_slope tanh(x/2),
# tanh' = sech2, sech2' = -2 tanh sech2; each is accurate in the tails.
defop("sigmoid", 1, _sigmoid, (lambda x, o: sigmoid_slope(x),),
      lambda sp, x: 1 / (1 + sp.exp(-x)))
# sigmoid_slope(x) = sigmoid(x) sigmoid(-x) = t/(1 + t)^2 with t = exp(-|x|) in (0, 1]: no
# overflow, no cancellation (o(1 - o) is 0 from x = 37 on, where the slope is 1e-16), the
# exponential the sigmoid template computes (one exp for both in the kernel). Its slope
# sigmoid'' = sigmoid' (1 - 2 sigmoid) = -sigmoid_slope(x) tanh(x/2): 1 - 2 sigmoid(x)
# cancels as x -> 0, tanh(x/2) does not. (SymPy: exp(-x)/(1 + exp(-x))^2, the derivative
# SymPy itself gives for the sigmoid.) Internal.
defop("sigmoid_slope", 1, _sigmoid_slope, (lambda x, o: -o * tanh(0.5 * x),),
      lambda sp, x: sp.exp(-x) / (1 + sp.exp(-x)) ** 2, function=False)
defop("softplus", 1, _softplus, (lambda x, o: sigmoid(x),),
      lambda sp, x: sp.log(1 + sp.exp(x)))
# logaddexp(a, b) = log(exp(a) + exp(b)) as NumPy computes it (see _logaddexp); partials
# sigmoid(a - b) and sigmoid(b - a), smooth at the tie a = b. logaddexp2 = log2(2^a + 2^b):
# partials sigmoid2(a - b) = 2^a/(2^a + 2^b), not sigmoid(ln2 (a - b)), whose rounded
# argument costs |a - b| ln2 eps relative in the tails (200 ulp at a - b = 700). As with
# any function of a - b, the rounding of a - b itself (where it is not exact, e.g. 700 -
# 0.3) is magnified |a - b| times in partials that decay like exp(-|a - b|).
defop("logaddexp", 2, _logaddexp, (lambda a, b, o: sigmoid(a - b),
                                   lambda a, b, o: sigmoid(b - a)),
      lambda sp, a, b: sp.log(sp.exp(a) + sp.exp(b)), commutative=True)
defop("logaddexp2", 2, _logaddexp2, (lambda a, b, o: sigmoid2(a - b),
                                     lambda a, b, o: sigmoid2(b - a)),
      lambda sp, a, b: sp.log(2**a + 2**b) / sp.log(2), commutative=True)
# sigmoid2(x) = 1/(1 + 2^-x) = sigmoid(x ln 2) and its slope, the base-2 logistic family of
# logaddexp2, from t = 2^-|x| (the power logaddexp2's template computes) exactly as the
# sigmoid family from exp(-|x|): sigmoid2' = ln2 sigmoid2_slope, sigmoid2_slope(x) =
# t/(1 + t)^2, sigmoid2_slope' = -ln2 sigmoid2_slope tanh(x ln2 / 2). Internal.
defop("sigmoid2", 1, _sigmoid2, (lambda x, o: LN2 * sigmoid2_slope(x),),
      lambda sp, x: 1 / (1 + 2 ** (-x)), function=False)
defop("sigmoid2_slope", 1, _sigmoid2_slope, (lambda x, o: -LN2 * o * tanh(HALF_LN2 * x),),
      lambda sp, x: 2 ** (-x) / (1 + 2 ** (-x)) ** 2, function=False)
# ---- piecewise functions (kink conventions in the module docstring) ------------------------------
defop("abs",   1, np.abs,   (lambda x, o: sign(x),),
      lambda sp, x: sp.Abs(x), smooth=False)
defop("relu",  1, lambda x: np.maximum(x, 0.0), (lambda x, o: gt(x, 0.0),),
      lambda sp, x: sp.Piecewise((x, x > 0), (0, True)), smooth=False, selects=True)
defop("min",   2, np.minimum, (lambda x, y, o: lt(x, y) + 0.5 * eq(x, y),
                               lambda x, y, o: lt(y, x) + 0.5 * eq(x, y)),
      lambda sp, x, y: sp.Min(x, y), commutative=True, smooth=False, selects=True)
defop("max",   2, np.maximum, (lambda x, y, o: gt(x, y) + 0.5 * eq(x, y),
                               lambda x, y, o: gt(y, x) + 0.5 * eq(x, y)),
      lambda sp, x, y: sp.Max(x, y), commutative=True, smooth=False, selects=True)
defop("sign",  1, np.sign,  (ZERO,), lambda sp, x: sp.sign(x), smooth=False)
defop("floor", 1, np.floor, (ZERO,), lambda sp, x: sp.floor(x), smooth=False)
defop("ceil",  1, np.ceil,  (ZERO,), lambda sp, x: sp.ceiling(x), smooth=False)
# stop_gradient(x): the value passes, the derivative is 0 (PyTorch's detach).
defop("stop_gradient", 1, _f, (ZERO,), lambda sp, x: x, smooth=False)
# fmt: on
# ---- vectors: reductions, subscripts, slices; declared in vecops, the last rows of the table ---
# ---- the function library (issue "4b"): SciPy-backed rows, declared family by family -----------
from adcompile.ir import (  # noqa: E402  (each declares its rows on import)
    library_bessel,
    library_elementary,
    library_gamma,
    library_integrals,
)
from adcompile.ir.special import (  # noqa: E402
    LIBRARY,
    SPECIAL_ALIASES,
    SPECIAL_NUMPY,
    SPECIAL_PYTHON,
)
from adcompile.ir.vecops import MACROS, REDUCTIONS, VECTOR_OPS  # noqa: E402

#: The library's families, in the order their rows join the table.
LIBRARY_FAMILIES: Final = (library_elementary, library_gamma, library_bessel, library_integrals)

#: The spelling columns (`spellings.py`: other names in the language, Python and NumPy
#: templates, infix operators and their precedence, the integer power) merged into the table.
for _op, _def in list(OPS.items()):
    _infix, _level = INFIX_COLUMN.get(_op, (None, ATOM))
    OPS[_op] = replace(
        _def,
        aliases=ALIAS_COLUMN.get(_op, ()) + SPECIAL_ALIASES.get(_op, ()),
        python=PYTHON_COLUMN.get(_op) or SPECIAL_PYTHON.get(_op) or VECTOR_PYTHON[_op],
        numpy=(
            NUMPY_COLUMN.get(_op)
            or PYTHON_COLUMN.get(_op)
            or SPECIAL_NUMPY.get(_op)
            or VECTOR_PYTHON[_op]
        ),
        numba=NUMBA_COLUMN.get(_op, ""),
        infix=_infix,
        precedence=_level,
        integer_power=INTEGER_POWER_COLUMN.get(_op),
    )
#: The ops on scalars (every op but the vector ops of `vecops`): what the VM and the
#: per-op tests cover.
SCALAR_OPS: Final[dict[str, OpDef]] = {n: d for n, d in OPS.items() if n not in VECTOR_OPS}
#: The scalar ops but the function library's (`special.LIBRARY`, tested family by family
#: against mpmath): what the generic per-op tests cover.
CORE_OPS: Final[dict[str, OpDef]] = {n: d for n, d in SCALAR_OPS.items() if n not in LIBRARY}
#: Spellings accepted in the language for an op of another name (alias -> op).
ALIASES: Final[dict[str, str]] = {a: d.name for d in OPS.values() for a in d.aliases}
#: The vector functions of the language: reductions (`sum`, `max` of one argument) and
#: what the parser writes out from them (`mean`, `dot`, `norm`, `logsumexp`).
VECTOR_NAMES: Final = frozenset(REDUCTIONS) | frozenset(MACROS)
#: Named constants of the language (an assignment may shadow them).
CONSTANTS: Final[dict[str, float]] = {
    "pi": math.pi, "e": math.e, "inf": math.inf, "nan": math.nan,
}  # fmt: skip


def function_names() -> list[str]:
    """Names callable in the formula language, sorted."""
    return sorted({n for n, d in OPS.items() if d.function} | set(ALIASES) | set(VECTOR_NAMES))


def shadows_library(name: str) -> bool:
    """Whether `name` may name an input although it is a function of the language: the
    function library's names (`beta`, `k1`, `gamma`, `Si`, ...) are common variable names in
    formulas, and a call `beta(a, b)` is told from a variable `beta` by its parentheses."""
    op = OPS.get(ALIASES.get(name, name))
    return op is not None and op.name in LIBRARY and name not in VECTOR_NAMES


def resolve_function(name: str) -> OpDef | None:
    """The op a function name in the language stands for, or None (also for the vector
    functions written out by the parser, `mean`, `dot`, ...: see `VECTOR_NAMES`)."""
    op = OPS.get(ALIASES.get(name, name))
    if op is None and name in REDUCTIONS:
        return OPS[REDUCTIONS[name]]
    return op if op is not None and (op.function or name in ALIASES) else None


from adcompile.ir.conventions import CONVENTIONS, Convention  # noqa: E402  (the kink table)

__all__ = [
    "ABOVE_ONE",
    "ALIASES",
    "CONSTANTS",
    "CONVENTIONS",
    "CORE_OPS",
    "OPS",
    "POSITIVE",
    "REAL",
    "SCALAR_OPS",
    "UNIT",
    "Convention",
    "Interval",
    "OpDef",
    "defop",
    "function_names",
    "resolve_function",
]  # fmt: skip
