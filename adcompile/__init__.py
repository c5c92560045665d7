"""adcompile: a formula-to-code automatic differentiation compiler (Lark -> IR -> Numba).

>>> import adcompile as adc
>>> f = adc.compile("log(x*y) + sin(x)^2")
>>> f.inputs
('x', 'y')
"""

__version__ = "0.1.0"

from adcompile.api import Evaluator, Formula, compile
from adcompile.check import GradCheck, check_grad
from adcompile.errors import (
    ArityError,
    CacheWarning,
    ConstantError,
    FormulaError,
    ParseError,
    UndefinedNameError,
    UnknownFunctionError,
)
from adcompile.results import Grad
from adcompile.trace import Trace, trace

__all__ = [
    "ArityError",
    "CacheWarning",
    "ConstantError",
    "Evaluator",
    "Formula",
    "FormulaError",
    "Grad",
    "GradCheck",
    "ParseError",
    "Trace",
    "UndefinedNameError",
    "UnknownFunctionError",
    "__version__",
    "check_grad",
    "compile",
    "trace",
]
