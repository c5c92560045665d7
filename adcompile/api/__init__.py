"""The public API layer: `compile()`, `Formula`, `Evaluator`, `Grad` (DESIGN.md section 3)."""

from adcompile.api.evaluator import JIT_MAX_STATEMENTS, Evaluator
from adcompile.api.formula import Formula, compile
from adcompile.api.results import Grad
from adcompile.run.backends import BACKEND_NAMES

__all__ = ["BACKEND_NAMES", "JIT_MAX_STATEMENTS", "Evaluator", "Formula", "Grad", "compile"]
