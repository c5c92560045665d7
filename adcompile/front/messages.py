"""Messages for bad formula text: syntax errors from Lark's exceptions (with hints for
characters and tokens people type by mistake) and arity-aware "did you mean" suggestions."""

from __future__ import annotations

from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from adcompile.errors import FormulaError, ParseError, did_you_mean
from adcompile.ir.ops import function_names, resolve_function


def suggest(name: str, arity: int) -> str:
    """' (did you mean ...?)' among the functions taking `arity` arguments (`atan3(y, x)`:
    `atan2`, not `atan`), or ''."""
    fitting = [n for n in function_names() if n != name and _arity(n) == arity]
    return did_you_mean(name, fitting)


def _arity(name: str) -> int:
    opdef = resolve_function(name)
    return -1 if opdef is None else opdef.arity


# --- syntax errors -------------------------------------------------------------------------

_CHAR_HINTS = {
    "&": "use 'and'",
    "|": "use 'or'",
    "!": "use 'not', or '!=' for 'not equal'",
    "%": "there is no remainder operator",
    "×": "use '*' for multiplication",
    "·": "use '*' for multiplication",
    "÷": "use '/' for division",
    "'": "the language has no strings",
    '"': "the language has no strings",
    ":": "the language has no ':'",
    "[": "the language has no indexing; use parentheses for grouping",
    "{": "use parentheses for grouping",
}
_COMPARISONS = {"<", "<=", ">", ">=", "==", "!="}
_EXPRESSION_STARTS = {"NAME", "NUMBER"}


def syntax_error(text: str, exc: UnexpectedInput) -> FormulaError:
    if isinstance(exc, UnexpectedCharacters):
        char = text[exc.pos_in_stream or 0]
        hint = _CHAR_HINTS.get(char)
        if hint is None and char.isdigit():
            hint = "numbers are written with the ASCII digits 0-9"
        return ParseError(
            f"unexpected character {char!r}" + (f": {hint}" if hint else ""), exc.line, exc.column
        )
    token = exc.token if isinstance(exc, UnexpectedToken) else None
    if token is None or token.type == "$END":
        lines = text.split("\n")
        line, column = len(lines), len(lines[-1]) + 1
        return ParseError(_ended_early(text, line, column, "the formula ends"), line, column)
    line, column = token.line or 1, token.column or 1
    if token.type == "_NL":
        return ParseError(_ended_early(text, line, column, "the line ends"), line, column)
    expected = set(getattr(exc, "expected", ()) or ())
    if str(token) in _COMPARISONS and not expected & _EXPRESSION_STARTS:
        return ParseError(
            f"comparisons do not chain: write (a < b) and (b < c) instead of a < b < c "
            f"(unexpected {str(token)!r})",
            line,
            column,
        )
    need = " (expected an expression)" if expected & _EXPRESSION_STARTS else ""
    if not need and token.type in ("NAME", "NUMBER", "LPAR"):
        need = (
            ": an operator is missing before it (there is no implicit multiplication: "
            "write a*b), or a ';' between two statements"
        )
    return ParseError(f"unexpected {str(token)!r}{need}", line, column)


def _ended_early(text: str, line: int, column: int, what: str) -> str:
    """Message for a statement cut short, naming an unclosed parenthesis if there is one."""
    row = text.split("\n")[line - 1][: column - 1]
    row = row.split("#", 1)[0]
    opened: list[int] = []
    for k, ch in enumerate(row):
        if ch == "(":
            opened.append(k)
        elif ch == ")" and opened:
            opened.pop()
    if opened:
        return f"{what} inside the parenthesis opened at line {line}, column {opened[-1] + 1}"
    return f"{what} in the middle of an expression (after an operator or ',')"
