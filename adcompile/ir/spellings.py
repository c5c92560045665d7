"""The spelling columns of the op table: how each op is written in each language we print.

Data only; `adcompile.ir.ops` merges each column into `OPS` (`OpDef.python`, `.numpy`,
`.infix`, `.precedence`, `.integer_power`, `.aliases`), and every printer reads the table:

- `PYTHON_COLUMN`: a scalar Python expression over `{0}, {1}, ...`, from which the readable
  kernels, the Numba module and the VM are printed (`math.f`, `np.f` where NumPy's semantics
  are wanted, a conditional expression for a branch);
- `NUMPY_COLUMN`: the same over arrays and numbers alike (the standalone NumPy module):
  NumPy's functions, `np.where` for a branch, `_erf`/`_erfc` (vectorised `math.erf`); an op
  missing here is spelled as in `PYTHON_COLUMN`, which must then be NumPy code already;
- `NUMBA_COLUMN`: where a Numba module spells an op otherwise than `PYTHON_COLUMN`: a power
  with an exponent that is not a whole constant is `math.pow`, `exp2` and `cbrt` are
  `math.exp2`/`math.cbrt`, so that the module's `math` (`adcompile.run.simd` or
  `adcompile.run.libm`) decides whether they are vectorized;
- `INFIX_COLUMN`: the operators of the formula language and their precedence levels (the
  grammar's, loosest first); the other ops are written `name(args)` and bind like a leaf;
- `INTEGER_POWER_COLUMN`: the argument that is a power's exponent (see `MAX_INTEGER_POWER`);
- `ALIAS_COLUMN`: other spellings of an op accepted in the language.
"""

from __future__ import annotations

from typing import Final

from adcompile.ir.opdef import AND, CMP, NOT, OR, POW, PROD, SUM, UNARY

#: The Numba module's spellings where they differ from `PYTHON_COLUMN` (see above).
NUMBA_COLUMN: Final[dict[str, str]] = {
    "pow": "math.pow({0}, {1})", "exp2": "math.exp2({0})", "cbrt": "math.cbrt({0})",
}  # fmt: skip

#: Veltkamp's split of x: its high 26 bits (x - high is exact, and so is high * high).
_AH: Final = "(134217729.0 * {0} - (134217729.0 * {0} - {0}))"

# fmt: off
PYTHON_COLUMN: Final[dict[str, str]] = {
    "add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0} * {1}", "div": "{0} / {1}",
    "neg": "-{0}", "pow": "{0} ** {1}", "mul0": "0.0 if {0} == 0.0 else {0} * {1}",
    "lt": "1.0 if {0} < {1} else 0.0", "le": "1.0 if {0} <= {1} else 0.0",
    "gt": "1.0 if {0} > {1} else 0.0", "ge": "1.0 if {0} >= {1} else 0.0",
    "eq": "1.0 if {0} == {1} else 0.0", "ne": "1.0 if {0} != {1} else 0.0",
    "and": "1.0 if {0} != 0.0 and {1} != 0.0 else 0.0",
    "or": "1.0 if {0} != 0.0 or {1} != 0.0 else 0.0",
    "not": "1.0 if {0} == 0.0 else 0.0",
    "where": "{1} if {0} != 0.0 else {2}",
    "sin": "math.sin({0})", "cos": "math.cos({0})", "tan": "math.tan({0})",
    "asin": "math.asin({0})", "acos": "math.acos({0})", "atan": "math.atan({0})",
    "atan2": "math.atan2({0}, {1})",
    "sinh": "math.sinh({0})", "cosh": "math.cosh({0})", "tanh": "math.tanh({0})",
    # 1/cosh(x)^2 as 4t/(1+t)^2, t = exp(-2|x|) (ops.py); LLVM computes the exp once
    "sech2": "4.0 * math.exp(-2.0 * abs({0})) / (1.0 + math.exp(-2.0 * abs({0}))) ** 2",
    "asinh": "math.asinh({0})", "acosh": "math.acosh({0})", "atanh": "math.atanh({0})",
    "exp": "math.exp({0})", "expm1": "math.expm1({0})", "log": "math.log({0})",
    "log1p": "math.log1p({0})", "log2": "math.log2({0})", "log10": "math.log10({0})",
    "sqrt": "math.sqrt({0})", "cbrt": "np.cbrt({0})",
    "erf": "math.erf({0})", "erfc": "math.erfc({0})", "hypot": "math.hypot({0}, {1})",
    # exp(-x^2) from x^2 = hi + lo exactly (ops._expmx2: Veltkamp's split of x, a*b - hi
    # exact); past |x| = 28 it is 0 (and the split could overflow)
    "expmx2": "math.exp(-({0} * {0})) * (1.0 - ((" + _AH + " * " + _AH + " - {0} * {0}) + ({0}"
              " - " + _AH + ") * (" + _AH + " + {0}))) if abs({0}) < 28.0 else "
              "math.exp(-({0} * {0}))",
    "one_minus_sq": "(1.0 - {0}) * (1.0 + {0})",
    # x/hypot(x, y), 0 at the origin; the hypot is the one hypot's own template computes
    "hypot_ratio": "0.0 if math.hypot({0}, {1}) == 0.0 else {0} / math.hypot({0}, {1})",
    # sigmoid, its slope and softplus all from t = exp(-|x|), computed unconditionally first
    # so that LLVM computes it once for the value and every derivative (the branch's exp is
    # the same call, dominated by the first); sigmoid = 1/(1 + t), times t where x < 0
    "sigmoid": "(1.0 / (1.0 + math.exp(-abs({0})))) * (1.0 if {0} >= 0.0 else "
               "math.exp(-abs({0})))",
    "sigmoid_slope": "math.exp(-abs({0})) / (1.0 + math.exp(-abs({0}))) ** 2",
    # the base-2 family (logaddexp2' and its derivatives) from t = 2^-|x|, the same way
    "sigmoid2": "(1.0 / (1.0 + 2.0 ** -abs({0}))) * (1.0 if {0} >= 0.0 else 2.0 ** -abs({0}))",
    "sigmoid2_slope": "2.0 ** -abs({0}) / (1.0 + 2.0 ** -abs({0})) ** 2",
    "softplus": "math.log1p(math.exp(-abs({0}))) + np.maximum({0}, 0.0)",
    # NumPy's npy_logaddexp / npy_logaddexp2: a tie (equal infinities too) is a + log(2)
    # (a + 1); else max + log1p(exp(-|a - b|)); NaN propagates through np.maximum
    "logaddexp": "{0} + 0.6931471805599453 if {0} == {1} else np.maximum({0}, {1}) + "
                 "math.log1p(math.exp(-abs({0} - {1})))",
    "logaddexp2": "{0} + 1.0 if {0} == {1} else np.maximum({0}, {1}) + "
                  "math.log1p(2.0 ** -abs({0} - {1})) * 1.4426950408889634",
    # NumPy's minimum/maximum propagate NaN (the builtins would not)
    "abs": "abs({0})", "relu": "np.maximum({0}, 0.0)",
    "min": "np.minimum({0}, {1})", "max": "np.maximum({0}, {1})",
    "sign": "np.sign({0})", "floor": "np.floor({0})", "ceil": "np.ceil({0})",
    "stop_gradient": "{0}",
    # Numba's math.gamma and math.lgamma are the C library's tgamma and lgamma; _digamma and
    # _polygamma are the scalar helpers of numeric.HELPERS, pasted into the modules that call
    # them (codegen.templates.helper_lines)
    "gamma": "math.gamma({0})", "lgamma": "math.lgamma({0})",
    "digamma": "_digamma({0})", "polygamma": "_polygamma({0}, {1})",
}

#: The same arithmetic as `PYTHON_COLUMN` in NumPy's spelling (`np.arcsin`, not `asin`;
#: `np.where(c, a, b)` for `a if c else b`; `&`/`|` for `and`/`or`), for every op whose
#: Python spelling is not already NumPy code (`{0} + {1}`, `np.maximum(...)` serve both).
NUMPY_COLUMN: Final[dict[str, str]] = {
    "pow": "np.power({0}, {1})", "mul0": "np.where({0} == 0.0, 0.0, {0} * {1})",
    "lt": "np.where({0} < {1}, 1.0, 0.0)", "le": "np.where({0} <= {1}, 1.0, 0.0)",
    "gt": "np.where({0} > {1}, 1.0, 0.0)", "ge": "np.where({0} >= {1}, 1.0, 0.0)",
    "eq": "np.where({0} == {1}, 1.0, 0.0)", "ne": "np.where({0} != {1}, 1.0, 0.0)",
    "and": "np.where(({0} != 0.0) & ({1} != 0.0), 1.0, 0.0)",
    "or": "np.where(({0} != 0.0) | ({1} != 0.0), 1.0, 0.0)",
    "not": "np.where({0} == 0.0, 1.0, 0.0)",
    "where": "np.where({0} != 0.0, {1}, {2})",
    "sin": "np.sin({0})", "cos": "np.cos({0})", "tan": "np.tan({0})",
    "asin": "np.arcsin({0})", "acos": "np.arccos({0})", "atan": "np.arctan({0})",
    "atan2": "np.arctan2({0}, {1})",
    "sinh": "np.sinh({0})", "cosh": "np.cosh({0})", "tanh": "np.tanh({0})",
    "sech2": "4.0 * np.exp(-2.0 * np.abs({0})) / (1.0 + np.exp(-2.0 * np.abs({0}))) ** 2",
    "asinh": "np.arcsinh({0})", "acosh": "np.arccosh({0})", "atanh": "np.arctanh({0})",
    "exp": "np.exp({0})", "expm1": "np.expm1({0})", "log": "np.log({0})",
    "log1p": "np.log1p({0})", "log2": "np.log2({0})", "log10": "np.log10({0})",
    "sqrt": "np.sqrt({0})",
    "erf": "_erf({0})", "erfc": "_erfc({0})", "hypot": "np.hypot({0}, {1})",
    "expmx2": "np.where(np.abs({0}) < 28.0, np.exp(-({0} * {0})) * (1.0 - ((" + _AH + " * "
              + _AH + " - {0} * {0}) + ({0} - " + _AH + ") * (" + _AH + " + {0}))), "
              "np.exp(-({0} * {0})))",
    "hypot_ratio": "np.where(np.hypot({0}, {1}) == 0.0, 0.0, {0} / np.hypot({0}, {1}))",
    "sigmoid": "(1.0 / (1.0 + np.exp(-np.abs({0})))) * np.where({0} >= 0.0, 1.0, "
               "np.exp(-np.abs({0})))",
    "sigmoid_slope": "np.exp(-np.abs({0})) / (1.0 + np.exp(-np.abs({0}))) ** 2",
    "sigmoid2": "(1.0 / (1.0 + 2.0 ** -np.abs({0}))) * np.where({0} >= 0.0, 1.0, "
                "2.0 ** -np.abs({0}))",
    "sigmoid2_slope": "2.0 ** -np.abs({0}) / (1.0 + 2.0 ** -np.abs({0})) ** 2",
    "softplus": "np.log1p(np.exp(-np.abs({0}))) + np.maximum({0}, 0.0)",
    "logaddexp": "np.where({0} == {1}, {0} + 0.6931471805599453, np.maximum({0}, {1}) + "
                 "np.log1p(np.exp(-np.abs({0} - {1}))))",
    "logaddexp2": "np.where({0} == {1}, {0} + 1.0, np.maximum({0}, {1}) + "
                  "np.log1p(2.0 ** -np.abs({0} - {1})) * 1.4426950408889634)",
    "abs": "np.abs({0})",
    # the scalar helpers over arrays (Python's math.gamma/lgamma behind _gamma's guards)
    "gamma": 'np.vectorize(_gamma, otypes=["float64"])({0})',
    "lgamma": 'np.vectorize(_lgamma, otypes=["float64"])({0})',
    "digamma": 'np.vectorize(_digamma, otypes=["float64"])({0})',
    "polygamma": 'np.vectorize(_polygamma, otypes=["float64"])({0}, {1})',
}

#: The vector ops (`vecops`): NumPy code over values with the element axis last (1-D arrays
#: in a one-point kernel, batches in the interpreter's standalone form), calling the helpers
#: of `vecnumeric.VECTOR_HELPERS` where one NumPy call does not do.
VECTOR_PYTHON: Final[dict[str, str]] = {
    "vsum": "np.sum({0}, axis=-1)",
    "vprod": "np.prod({0}, axis=-1)",
    "vmax": "np.max({0}, axis=-1, initial=-math.inf)",
    "vmin": "np.min({0}, axis=-1, initial=math.inf)",
    "vpick_max": "_vpickmax({0})",
    "vpick_min": "_vpickmin({0})",
    "vprod_except": "_vprodexcept({0})",
    "vprod_except_dot": "_vprodexceptdot({0}, {1})",
    "vindex": "{0}[..., {1}]",
    "vslice": "{0}[..., {slice}]",
    "vscatter": "_vscatter({0}, {1}, {2})",
    "vunslice": "_vunslice({0}, {1}, {bounds})",
    "vfill": "_vfill({0}, {1})",
    "vlen": "float(np.shape({0})[-1])",
}

#: The operators of the formula language (trace tables, graph labels, the chain-rule comments
#: of the generated code): their spelling and precedence level. `mul0` prints as `*`.
INFIX_COLUMN: Final[dict[str, tuple[str, int]]] = {
    "add": ("{0} + {1}", SUM), "sub": ("{0} - {1}", SUM),
    "mul": ("{0} * {1}", PROD), "div": ("{0} / {1}", PROD), "mul0": ("{0} * {1}", PROD),
    "neg": ("-{0}", UNARY), "pow": ("{0}^{1}", POW),
    "lt": ("{0} < {1}", CMP), "le": ("{0} <= {1}", CMP), "gt": ("{0} > {1}", CMP),
    "ge": ("{0} >= {1}", CMP), "eq": ("{0} == {1}", CMP), "ne": ("{0} != {1}", CMP),
    "mod": ("{0} % {1}", PROD),
    "and": ("{0} and {1}", AND), "or": ("{0} or {1}", OR), "not": ("not {0}", NOT),
}
# fmt: on

#: The argument printed as an integer literal when it is a whole constant in
#: 0..MAX_INTEGER_POWER: Numba turns `x ** 4` into multiplications by repeated squaring but
#: calls the general pow() for `x ** 4.0` (~30x slower), and the VM's immediate form of the
#: op multiplies the same way. Negative exponents stay float: Numba's integer power raises
#: ZeroDivisionError at x = 0.
INTEGER_POWER_COLUMN: Final[dict[str, int]] = {"pow": 1}
MAX_INTEGER_POWER: Final = 64

#: Other spellings of an op accepted in the language, those that users of NumPy (`arcsin`,
#: `power`) and SymPy (`ln`, `Abs`) type.
ALIAS_COLUMN: Final[dict[str, tuple[str, ...]]] = {
    "stop_gradient": ("detach",),
    "asin": ("arcsin",), "acos": ("arccos",), "atan": ("arctan",), "atan2": ("arctan2",),
    "asinh": ("arcsinh",), "acosh": ("arccosh",), "atanh": ("arctanh",),
    "log": ("ln",), "abs": ("Abs",), "pow": ("power",),
    "lgamma": ("gammaln", "loggamma"), "digamma": ("psi",),
}  # fmt: skip
