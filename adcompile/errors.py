"""Errors raised for bad formulas: one base class that carries a position and a caret excerpt.

Every problem with the user's text (syntax, unknown function, wrong arity, undefined name,
a literal or constant outside float64) is a `FormulaError` with 1-based `line` and `column`;
`str(err)` shows the message, the offending line and a caret under the column.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

_EXCERPT = 60  # characters of context shown on each side of the caret


class FormulaError(ValueError):
    """A formula that cannot be compiled.

    Attributes:
        message: what is wrong, in words.
        line: 1-based line of the problem (1 for whole-formula problems).
        column: 1-based column of the problem.
        source: the formula text, or None.
    """

    def __init__(
        self, message: str, line: int = 1, column: int = 1, source: str | None = None
    ) -> None:
        self.message = message
        self.line = line
        self.column = column
        self.source = source
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"line {self.line}, column {self.column}: {self.message}"
        if self.source is None:
            return head
        lines = split_lines(self.source)
        if not 1 <= self.line <= len(lines):
            return head
        text = lines[self.line - 1]
        col = max(self.column - 1, 0)
        start = max(col - _EXCERPT, 0)
        piece = text[start : col + _EXCERPT]
        prefix = "..." if start else ""
        suffix = "..." if col + _EXCERPT < len(text) else ""
        shown = (prefix + piece + suffix).replace("\t", " ")
        caret = " " * (len(prefix) + col - start) + "^"
        return f"{head}\n    {shown}\n    {caret}"

    def with_source(self, source: str) -> FormulaError:
        """Return the same error with `source` attached (for the caret excerpt)."""
        err = type(self)(self.message, self.line, self.column, source)
        return err


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """The lines of a formula: CR LF, CR and LF end a line (and nothing else does, unlike
    `str.splitlines`, which also splits at form feeds and Unicode separators)."""
    return _LINE_BREAK.split(text)


class DerivativeError(ValueError):
    """A derivative the formula needs that adcompile cannot give: with respect to an order or
    shape parameter of a special function that has no closed form (`jv` in its order, ...).
    Raised when the evaluator is built (`value_and_grad()`, `jvp()`, ...), naming the
    function and the parameter; never a silent 0 or NaN."""


class CacheWarning(UserWarning):
    """The disk cache was refused, damaged (and rebuilt) or unwritable (compiled in memory)."""


class ParseError(FormulaError):
    """The text is not in the formula language (bad character, misplaced token, ...)."""


class UnknownFunctionError(FormulaError):
    """A call to a function the language does not have."""


class ArityError(FormulaError):
    """A function called with the wrong number of arguments."""


class UndefinedNameError(FormulaError):
    """A name that is neither an input, an earlier assignment nor a constant."""


class ConstantError(FormulaError):
    """A numeric literal or constant expression outside the float64 range."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return ' (did you mean 'x'?)' for the closest candidate, or ''."""
    pool = sorted(set(candidates))
    folded = [c for c in pool if c.lower() == name.lower() and c != name]
    close = folded or difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
