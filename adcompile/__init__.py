"""adcompile: a formula-to-code automatic differentiation compiler (Lark -> IR -> Numba).

>>> import adcompile as adc
>>> f = adc.compile("log(x*y) + sin(x)^2")
>>> f.inputs
('x', 'y')
"""

from adcompile._version import __version__
from adcompile.api import Evaluator, Formula, Grad, compile
from adcompile.errors import (
    ArityError,
    CacheWarning,
    ConstantError,
    DerivativeError,
    FormulaError,
    ParseError,
    UndefinedNameError,
    UnknownFunctionError,
)
from adcompile.ir.ops import CONVENTIONS
from adcompile.tools.check import GradCheck, check_grad
from adcompile.tools.explain import Page, explain
from adcompile.tools.trace import Trace, trace

__all__ = [
    "CONVENTIONS",
    "ArityError",
    "CacheWarning",
    "ConstantError",
    "DerivativeError",
    "Evaluator",
    "Formula",
    "FormulaError",
    "Grad",
    "GradCheck",
    "Page",
    "ParseError",
    "Trace",
    "UndefinedNameError",
    "UnknownFunctionError",
    "__version__",
    "check_grad",
    "compile",
    "explain",
    "trace",
]
