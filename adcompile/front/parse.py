"""Text to IR: the Lark LALR parser over `grammar/adcompile.lark` and a non-recursive IR builder.

`parse(text, inputs)` returns a `Parsed` (a `Graph` plus input and output ids). One parser is
built per process; each call parses to a tree and runs a fresh `Transformer_NonRecursive` that
creates every node through `Graph.apply` (so deep formulas never hit the recursion limit).
Lark's exceptions and every semantic problem become `FormulaError`s with line, column and caret.
"""

from __future__ import annotations

import keyword
import math
import re
import threading
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer_NonRecursive, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from adcompile.errors import (
    ArityError,
    ConstantError,
    FormulaError,
    ParseError,
    UndefinedNameError,
    UnknownFunctionError,
    did_you_mean,
)
from adcompile.ir.graph import Graph, Parsed
from adcompile.ir.node import FoldError, NodeId
from adcompile.ir.ops import CONSTANTS, OPS, function_names, resolve_function

GRAMMAR_FILE = "adcompile.lark"
_lock = threading.Lock()


def grammar_path() -> Path:
    """Where the grammar is read from: inside the installed package, else the checkout."""
    packaged = resources.files("adcompile") / "grammar" / GRAMMAR_FILE
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "grammar" / GRAMMAR_FILE


@cache
def _parser() -> Lark:
    with _lock:
        return Lark(
            grammar_path().read_text(encoding="utf-8"),
            parser="lalr",
            maybe_placeholders=False,
        )


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
    if resolve_function(name) is not None:
        raise FormulaError(f"{what} name {shown} is a function of the formula language")
    if name.startswith("__"):
        raise FormulaError(f"{what} name {shown} starts with '__' (reserved)")
    return name


_WORDS = frozenset({"and", "or", "not"})


def parse(text: str, inputs: tuple[str, ...] | None = None, stable: bool = True) -> Parsed:
    """Parse `text` into a `Parsed`; `inputs` fixes the input names and their order.

    `stable=False` builds the graph without the stability rewrites (`simplify.STABLE`).

    Raises:
        FormulaError: for any problem with the text, with line, column and a caret excerpt;
            also for a name in `inputs` that `check_input_name` refuses.
    """
    if inputs is not None:
        inputs = tuple(check_input_name(name) for name in inputs)
    try:
        tree = _parser().parse(_one_line_break(text))
    except UnexpectedInput as exc:
        raise _syntax_error(_one_line_break(text), exc).with_source(text) from None
    first_assigned: dict[str, tuple[int, int]] = {}
    for k, stmt in enumerate(tree.children):
        if isinstance(stmt, Tree) and stmt.data == "assign":
            tok = stmt.children[0]
            first_assigned.setdefault(str(tok), (k, getattr(tok, "line", 1)))
    builder = _BuildIR(text, inputs, first_assigned)
    builder.graph.stable = stable
    try:
        builder.transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, FormulaError):
            raise exc.orig_exc.with_source(text) from None
        raise
    return builder.program()


# --- IR builder --------------------------------------------------------------------------

_MALFORMED_NUMBER = re.compile(r"[eE][+-]?$")
# What each expression rule returns: the node and the position where the expression starts
# (tracked here instead of Lark's propagate_positions, which doubles the parse time).
Val = tuple[NodeId, int, int]


class _BuildIR(Transformer_NonRecursive):  # type: ignore[type-arg]
    """Tree to graph, bottom-up and left to right, resolving names as statements go."""

    def __init__(
        self,
        text: str,
        inputs: tuple[str, ...] | None,
        first_assigned: dict[str, tuple[int, int]],
    ) -> None:
        super().__init__()
        self.first_assigned = first_assigned  # name -> (statement index, line)
        self.text = text
        self.graph = Graph()
        self.graph.strict_fold = True
        self.declared = inputs
        self.inputs: list[str] = list(inputs or ())
        for name in self.inputs:
            self.graph.names.setdefault(self.graph.input(name), name)
        self.env: dict[str, NodeId] = {}
        self.statements: list[tuple[str, Any, Any]] = []
        self.spelled: dict[tuple[int, int], tuple[str, NodeId]] = {}  # names as written

    # -- leaves --------------------------------------------------------------------------
    def number(self, children: list[Token]) -> Val:
        tok = children[0]
        shown = tok[:30] + ("..." if len(tok) > 30 else "")
        if _MALFORMED_NUMBER.search(tok):
            raise ConstantError(f"malformed number {shown!r}: exponent has no digits", *_at(tok))
        value = float(tok)
        if not math.isfinite(value):
            raise ConstantError(
                f"numeric literal {shown!r} is outside the float64 range", *_at(tok)
            )
        return (self.graph.const(value), *_at(tok))

    def var(self, children: list[Token]) -> Val:
        tok = children[0]
        nid = self._resolve(tok)
        self.spelled[_at(tok)] = (str(tok), nid)
        return (nid, *_at(tok))

    def _resolve(self, tok: Token) -> NodeId:
        name = str(tok)
        if name in self.env:
            return self.env[name]
        if self.declared is not None and name in self.declared:
            return self.graph.input(name)
        later = self.first_assigned.get(name)
        if later is not None and later[0] > len(self.statements):
            raise UndefinedNameError(
                f"'{name}' is read before it is assigned on line {later[1]} "
                "(an assignment applies from its own line on)",
                *_at(tok),
            )
        if name in CONSTANTS:
            return self.graph.const(CONSTANTS[name])
        if resolve_function(name) is not None:
            raise UndefinedNameError(f"'{name}' is a function: call it as {name}(...)", *_at(tok))
        if self.declared is not None:
            known = [*self.env, *self.declared, *CONSTANTS]
            raise UndefinedNameError(
                f"undefined name '{name}'{did_you_mean(name, known)}; inputs are "
                f"{', '.join(self.declared) or '(none)'}",
                *_at(tok),
            )
        try:
            check_input_name(name)
        except FormulaError as exc:
            raise UndefinedNameError(f"undefined name: {exc.message}", *_at(tok)) from None
        nid = self.graph.input(name)
        if nid not in self.graph.names:
            self.inputs.append(name)
        self.graph.names.setdefault(nid, name)
        return nid

    # -- calls and operators -------------------------------------------------------------
    def call(self, children: list[Any]) -> Val:
        tok, args = children[0], children[1:]
        name = str(tok)
        opdef = resolve_function(name)
        if opdef is None:
            what = "is a variable, not a function" if name in self.env else "unknown function"
            hint = _suggest(name, len(args)) or did_you_mean(name, function_names())
            raise UnknownFunctionError(f"{what} '{name}'{hint}", *_at(tok))
        if len(args) != opdef.arity:
            plural = "s" if opdef.arity != 1 else ""
            raise ArityError(
                f"{name}() takes {opdef.arity} argument{plural}, {len(args)} given"
                + _suggest(name, len(args)),
                *_at(tok),
            )
        return self._apply(opdef.name, args, *_at(tok))

    def __default__(self, data: Any, children: list[Any], meta: Any) -> Any:
        if data in OPS:
            return self._apply(str(data), children, children[0][1], children[0][2])
        return super().__default__(data, children, meta)  # type: ignore[no-untyped-call]

    def _apply(self, op: str, args: list[Val], line: int, column: int) -> Val:
        try:
            return (self.graph.apply(op, *(a[0] for a in args)), line, column)
        except FoldError as exc:
            raise ConstantError(
                f"constant expression overflows float64 or is undefined ({exc})", line, column
            ) from None

    # -- statements ----------------------------------------------------------------------
    def assign(self, children: list[Any]) -> None:
        tok, (value, _, _) = children
        name = str(tok)
        self.env[name] = value
        if self.graph.nodes[value].op not in ("const", "input"):
            self.graph.names.setdefault(value, name)
        self.statements.append(("assign", name, (tok.line, tok.column)))

    def result(self, children: list[Val]) -> None:
        nodes = tuple(c[0] for c in children)
        # an output written as a bare name is called by that name (`p, q`), even when two
        # names are one node
        named = tuple(
            self.spelled[(c[1], c[2])][0]
            if self.spelled.get((c[1], c[2]), ("", -1))[1] == c[0]
            else None
            for c in children
        )
        self.statements.append(("result", (nodes, named), (children[0][1], children[0][2])))

    def start(self, children: list[Any]) -> None:
        if not self.statements:
            raise ParseError("empty formula: there is nothing to compute", 1, 1)
        for kind, _, (line, column) in self.statements[:-1]:
            if kind == "result":
                raise ParseError(
                    "only the last statement may be an expression; "
                    "earlier ones must be assignments (name = ...)",
                    line,
                    column,
                )

    def program(self) -> Parsed:
        kind, what, _ = self.statements[-1]
        if kind == "assign":
            outputs: tuple[NodeId, ...] = (self.env[what],)
            names: tuple[str, ...] = (what,)
        else:
            outputs, named = what
            names = tuple(
                named[k] or self.graph.names.get(o, f"out{k}") for k, o in enumerate(outputs)
            )
            if len(outputs) == 1 and named[0] is None and outputs[0] not in self.graph.names:
                names = ("value",)
        ids = tuple(self.graph.input(n) for n in self.inputs)
        return Parsed(self.text, self.graph, tuple(self.inputs), ids, outputs, names)


def _suggest(name: str, arity: int) -> str:
    """' (did you mean ...?)' among the functions taking `arity` arguments (`atan3(y, x)`:
    `atan2`, not `atan`), or ''."""
    fitting = [n for n in function_names() if n != name and _arity(n) == arity]
    return did_you_mean(name, fitting)


def _arity(name: str) -> int:
    opdef = resolve_function(name)
    return -1 if opdef is None else opdef.arity


def _one_line_break(text: str) -> str:
    """`text` with CR LF and a bare CR as LF: Lark counts lines by LF, and every line break
    of the language must count the same (`errors.split_lines` splits the same way)."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _at(tok: Token) -> tuple[int, int]:
    return (tok.line or 1, tok.column or 1)


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


def _syntax_error(text: str, exc: UnexpectedInput) -> FormulaError:
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
