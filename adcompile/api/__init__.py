"""The public API layer: `compile()`, `Formula`, `Evaluator`, `Grad` (DESIGN.md section 3)."""

from adcompile.api.evaluator import JIT_MAX_STATEMENTS, Evaluator, Formula, compile
from adcompile.api.results import Grad

__all__ = ["JIT_MAX_STATEMENTS", "Evaluator", "Formula", "Grad", "compile"]
