"""Printers: IR to source text (Python, Numba, NumPy, formula syntax, SymPy, LaTeX, DOT).

The names below are what the layers above use; each lives in the module that owns it.
"""

from adcompile.codegen.formula import formula_text, operand_text, step_text
from adcompile.codegen.kernel import Kernel, Namer, build_kernel
from adcompile.codegen.numba import numba_source
from adcompile.codegen.python import header_comment, module_source, python_source
from adcompile.codegen.templates import Target, check_tables, literal, safe_name, template

__all__ = [
    "Kernel",
    "Namer",
    "Target",
    "build_kernel",
    "check_tables",
    "formula_text",
    "header_comment",
    "literal",
    "module_source",
    "numba_source",
    "operand_text",
    "python_source",
    "safe_name",
    "step_text",
    "template",
]
