"""adcompile: a formula-to-code automatic differentiation compiler (Lark -> IR -> Numba).

>>> import adcompile as adc
>>> f = adc.compile("log(x*y) + sin(x)^2")
>>> f.inputs
('x', 'y')
"""

__version__ = "0.1.0"

from adcompile.api import Evaluator, Formula, Grad, compile
from adcompile.errors import (
    ArityError,
    ConstantError,
    FormulaError,
    ParseError,
    UndefinedNameError,
    UnknownFunctionError,
)

__all__ = [
    "ArityError",
    "ConstantError",
    "Evaluator",
    "Formula",
    "FormulaError",
    "Grad",
    "ParseError",
    "UndefinedNameError",
    "UnknownFunctionError",
    "__version__",
    "compile",
]
