"""The op templates every code printer reads: Python (scalar) and NumPy syntax, and safe names.

`PYTHON` spells each op of `OPS` as a Python expression over `{0}, {1}, ...` (the scalar
kernels, the Numba module and the VM are printed from it); `NUMPY` is derived from it for code
over arrays. User text never reaches the code: only names that match the identifier grammar
(`safe_name`) and numbers printed by `repr(float)` (`literal`).
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from typing import Final

from adcompile.ir.ops import OPS

#: Veltkamp's split of x: its high 26 bits (x - high is exact, and so is high * high).
_AH: Final = "(134217729.0 * {0} - (134217729.0 * {0} - {0}))"

# fmt: off
PYTHON: Final[dict[str, str]] = {
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
}
# fmt: on

#: The ops as NumPy expressions that work on arrays and scalars alike (the standalone module
#: `module_source` writes), derived from the scalar templates: `math.f` -> `np.f`, and
#: `a if c else b` -> `np.where(c, a, b)`; NumPy spells these functions differently.
_NUMPY_NAMES: Final[dict[str, str]] = {
    "asin": "np.arcsin({0})", "acos": "np.arccos({0})", "atan": "np.arctan({0})",
    "atan2": "np.arctan2({0}, {1})", "asinh": "np.arcsinh({0})", "acosh": "np.arccosh({0})",
    "atanh": "np.arctanh({0})", "erf": "_erf({0})", "erfc": "_erfc({0})",
    "abs": "np.abs({0})", "pow": "np.power({0}, {1})",
    "sigmoid": "(1.0 / (1.0 + np.exp(-np.abs({0})))) * np.where({0} >= 0.0, 1.0, "
               "np.exp(-np.abs({0})))",
    "sigmoid2": "(1.0 / (1.0 + 2.0 ** -np.abs({0}))) * np.where({0} >= 0.0, 1.0, "
                "2.0 ** -np.abs({0}))",
}  # fmt: skip
_CONDITIONAL: Final = re.compile(r"^(.*) if (.*) else (.*)$")


def _numpy_template(text: str) -> str:
    """A scalar template as a NumPy one (see `NUMPY`)."""
    match = _CONDITIONAL.match(text)
    if match is None:
        return _numpy_calls(text)
    taken, cond, other = (_numpy_calls(part) for part in match.groups())
    for word, op in ((" and ", " & "), (" or ", " | ")):
        if word in cond:
            cond = op.join(f"({part})" for part in cond.split(word))
    return f"np.where({cond}, {taken}, {other})"


def _numpy_calls(text: str) -> str:
    """`math.f(` -> `np.f(` and the builtin `abs(` -> `np.abs(` (not inside `np.abs(`)."""
    return _BUILTIN_ABS.sub("np.abs(", text.replace("math.", "np."))


_BUILTIN_ABS: Final = re.compile(r"(?<![\w.])abs\(")


NUMPY: Final[dict[str, str]] = {
    op: _NUMPY_NAMES.get(op) or _numpy_template(text) for op, text in PYTHON.items()
}

#: Arguments printed as integer literals when they are small whole constants: Numba turns
#: `x ** 4` into multiplications but calls the general pow() for `x ** 4.0` (~30x slower).
#: Negative exponents stay float: Numba's integer power raises ZeroDivisionError at x = 0.
INTEGER_ARGS: Final[dict[str, int]] = {"pow": 1}
MAX_INTEGER_POWER: Final = 64

#: Names a user's name may not be printed as (keywords, builtins, names the generated code
#: uses) and the patterns of generated names: `safe_name` adds a trailing `_`.
_RESERVED: Final = frozenset(
    set(keyword.kwlist)
    | set(keyword.softkwlist)
    | set(dir(builtins))
    | {"math", "np", "numba", "batch", "n", "i", "r", "at", "out"}
    | {"value", "grad", "value_and_grad"}
)
_GENERATED: Final = re.compile(r"^(t\d+|b_.*|d_.*|in\d+)$")


def literal(value: float) -> str:
    """A float as Python source: `2.0`, `(-0.5)`, `math.inf`, `math.nan`."""
    if math.isnan(value):
        return "math.nan"
    if math.isinf(value):
        return "math.inf" if value > 0 else "(-math.inf)"
    text = repr(value)
    return f"({text})" if text.startswith("-") else text


def safe_name(name: str) -> str:
    """A user name made safe as a Python identifier that cannot clash with generated ones."""
    if name in _RESERVED or _GENERATED.match(name) or name.startswith("__"):
        return name + "_"
    return name


def check_tables() -> None:
    """Assert every op of the table has a template (printer totality)."""
    missing = set(OPS) - set(PYTHON)
    assert not missing, f"ops without a Python template: {sorted(missing)}"
    missing = set(OPS) - set(NUMPY)
    assert not missing, f"ops without a NumPy template: {sorted(missing)}"
