"""The one door through which names enter: `check_input_name` (text, `inputs=`, SymPy, CLI)."""

from __future__ import annotations

import keyword
import re

from adcompile.errors import FormulaError
from adcompile.ir.ops import VECTOR_NAMES, resolve_function, shadows_library

#: The identifier grammar of the language (ASCII only, as the grammar's NAME token).
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: Input names longer than this are refused (they would only be printed as `in<k>`).
MAX_NAME_LENGTH = 200


def check_input_name(name: object, what: str = "input") -> str:
    """`name` if it may name an input; else a `FormulaError` naming it.

    The one door through which names enter (text, `inputs=`, SymPy symbols, the CLI): an
    ASCII identifier that is not a Python keyword, not a word, function or constant of the
    language, and not a name the code generator reserves (`__dunder`, the seed mark). Only
    names that pass reach generated code; the printers then only add suffixes.
    """
    if not isinstance(name, str):
        raise FormulaError(f"{what} name {name!r} is not a string ({type(name).__name__})")
    shown = repr(name) if len(name) <= 60 else repr(name[:60]) + "..."
    if not _IDENTIFIER.match(name):
        raise FormulaError(
            f"{what} name {shown} is not an identifier: ASCII letters, digits and '_', "
            "not starting with a digit"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise FormulaError(f"{what} name {shown} is longer than {MAX_NAME_LENGTH} characters")
    if keyword.iskeyword(name):
        raise FormulaError(f"{what} name {shown} is a Python keyword")
    if name in _WORDS:
        raise FormulaError(f"{what} name {shown} is a word of the formula language")
    if (resolve_function(name) is not None and not shadows_library(name)) or name in VECTOR_NAMES:
        raise FormulaError(f"{what} name {shown} is a function of the formula language")
    if name.startswith("__"):
        raise FormulaError(f"{what} name {shown} starts with '__' (reserved)")
    return name


_WORDS = frozenset({"and", "or", "not"})
