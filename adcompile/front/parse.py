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
            transformer=_Callbacks(),
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
        FormulaError: for any problem with the text, with line, column and caret excerpt;
            also for a name in `inputs` that `check_input_name` refuses.
    """
    if inputs is not None:
        inputs = tuple(check_input_name(name) for name in inputs)
    builder = _BuildIR(text, inputs)
    builder.graph.stable = stable
    source = _one_line_break(text)
    outer = getattr(_local, "builder", None)  # a parse inside a parse (never, but be safe)
    _local.builder = builder
    try:
        _parser().parse(source)
    except UnexpectedInput as exc:
        # a syntax error anywhere wins over the semantic errors found before it
        raise _syntax_error(source, exc).with_source(text) from None
    finally:
        _local.builder = outer
    try:
        builder.finish()
    except FormulaError as exc:
        raise exc.with_source(text) from None
    return builder.program()


# --- IR builder --------------------------------------------------------------------------

_MALFORMED_NUMBER = re.compile(r"[eE][+-]?$")
# What each expression callback returns: the node, the position where the expression starts
# (tracked here instead of Lark's propagate_positions, which doubles the parse time), and
# the name when the expression starts with a variable at that position (else None): a
# result written as a bare name is called by that name.
Val = tuple[NodeId, int, int, "str | None"]

#: The builder of the parse running in this thread: the module-level parser's callbacks
#: forward to it, so concurrent parses in several threads never mix.
_local = threading.local()


class _BuildIR:
    """Lark callbacks to graph, bottom-up and left to right as the LALR parser reduces,
    resolving names as statements go.

    No tree is built. The first semantic error is kept and the parse goes on with the
    `_skip_*` callbacks, so that a syntax error later in the text still wins, and so that an
    assignment after a read of the same name (read before it is assigned) is seen; `finish`
    then raises the error the text shows first.
    """

    def __init__(self, text: str, inputs: tuple[str, ...] | None) -> None:
        self.text = text
        self.graph = Graph()
        self.graph.strict_fold = True
        self.declared = inputs
        self.inputs: list[str] = list(inputs or ())
        for name in self.inputs:
            self.graph.names.setdefault(self.graph.input(name), name)
        self.env: dict[str, NodeId] = {}
        # names that resolve the same in every statement (inputs, constants) once resolved
        self.known: dict[str, NodeId] = {}
        if inputs is not None:
            self.known.update((name, self.graph.input(name)) for name in inputs)
        self.statements: list[tuple[str, Any, Any]] = []
        self.count = 0  # statements reduced so far (also after an error)
        self.first_assigned: dict[str, tuple[int, int]] = {}  # name -> (statement, line)
        self.first_read: dict[str, tuple[int, Token]] = {}  # unassigned name -> (statement, token)
        self.error: FormulaError | None = None

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
        return (self.graph.const(value), tok.line, tok.column, None)

    def var(self, children: list[Token]) -> Val:
        tok = children[0]
        name = str(tok)
        nid = self.env.get(name)
        if nid is None:
            nid = self.known.get(name)
            if nid is None:
                nid = self._resolve(name, tok)
        return (nid, tok.line, tok.column, name)

    def _resolve(self, name: str, tok: Token) -> NodeId:
        """A name neither assigned yet nor resolved before."""
        # if it is assigned in a later statement, this read is an error (`finish`)
        self.first_read.setdefault(name, (self.count, tok))
        if name in CONSTANTS:
            nid = self.graph.const(CONSTANTS[name])
        elif resolve_function(name) is not None:
            raise UndefinedNameError(f"'{name}' is a function: call it as {name}(...)", *_at(tok))
        elif self.declared is not None:
            known = [*self.env, *self.declared, *CONSTANTS]
            raise UndefinedNameError(
                f"undefined name '{name}'{did_you_mean(name, known)}; inputs are "
                f"{', '.join(self.declared) or '(none)'}",
                *_at(tok),
            )
        else:
            try:
                check_input_name(name)
            except FormulaError as exc:
                raise UndefinedNameError(f"undefined name: {exc.message}", *_at(tok)) from None
            nid = self.graph.input(name)
            if nid not in self.graph.names:
                self.inputs.append(name)
            self.graph.names.setdefault(nid, name)
        self.known[name] = nid
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
        return self._apply(opdef.name, args, tok.line, tok.column, None)

    def operator(self, op: str, args: list[Val]) -> Val:
        first = args[0]
        return self._apply(op, args, first[1], first[2], first[3])

    def _apply(self, op: str, args: list[Val], line: int, column: int, name: str | None) -> Val:
        try:
            return (self.graph.apply(op, *[a[0] for a in args]), line, column, name)
        except FoldError as exc:
            raise ConstantError(
                f"constant expression overflows float64 or is undefined ({exc})", line, column
            ) from None

    # -- statements ----------------------------------------------------------------------
    def assign(self, children: list[Any]) -> None:
        tok, (value, _, _, _) = children
        name = str(tok)
        self.first_assigned.setdefault(name, (self.count, tok.line))
        self.count += 1
        self.env[name] = value
        if self.graph.nodes[value].op not in ("const", "input"):
            self.graph.names.setdefault(value, name)
        self.statements.append(("assign", name, (tok.line, tok.column)))

    def result(self, children: list[Val]) -> None:
        self.count += 1
        nodes = tuple(c[0] for c in children)
        # an output written as a bare name is called by that name (`p, q`), even when two
        # names are one node
        named = tuple(c[3] if c[3] is not None and c[0] == self._named(c[3]) else None for c in children)
        self.statements.append(("result", (nodes, named), (children[0][1], children[0][2])))

    def _named(self, name: str) -> NodeId | None:
        nid = self.env.get(name)
        return self.known.get(name) if nid is None else nid

    # -- after the first semantic error: only count statements and note assignments -------
    def failed(self, exc: FormulaError) -> None:
        """Keep the first error; from here on the parse only looks for later problems."""
        if self.error is None:
            self.error = exc
            self.number = self.var = self.call = self._skip  # type: ignore[method-assign]
            self.operator = self._skip_operator  # type: ignore[method-assign]
            self.assign = self._skip_assign  # type: ignore[method-assign]
            self.result = self._skip_result  # type: ignore[method-assign]

    def _skip(self, children: list[Any]) -> None:
        return None

    def _skip_operator(self, op: str, args: list[Any]) -> None:
        return None

    def _skip_assign(self, children: list[Any]) -> None:
        tok = children[0]
        self.first_assigned.setdefault(str(tok), (self.count, tok.line))
        self.count += 1

    def _skip_result(self, children: list[Any]) -> None:
        self.count += 1

    def finish(self) -> None:
        """Raise the first problem of a text that parsed: a name read before the statement
        that first assigns it, else the first semantic error, else a misplaced statement."""
        for name, (read_at, tok) in self.first_read.items():
            later = self.first_assigned.get(name)
            if later is not None and later[0] > read_at:
                raise UndefinedNameError(
                    f"'{name}' is read before it is assigned on line {later[1]} "
                    "(an assignment applies from its own line on)",
                    *_at(tok),
                )
        if self.error is not None:
            raise self.error
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


def _forward(method: str) -> Any:
    """The callback for a rule: call `method` of this thread's builder; a `FormulaError`
    is kept by the builder, which then skips the rest."""

    def callback(children: list[Any]) -> Any:
        builder = _local.builder
        try:
            return getattr(builder, method)(children)
        except FormulaError as exc:
            builder.failed(exc)
            return None

    return callback


def _forward_operator(op: str) -> Any:
    def callback(children: list[Any]) -> Any:
        builder = _local.builder
        try:
            return builder.operator(op, children)
        except FormulaError as exc:
            builder.failed(exc)
            return None

    return callback


class _Callbacks:
    """The module-level parser's transformer: one callback per rule of the grammar."""

    def __init__(self) -> None:
        for method in ("number", "var", "call", "assign", "result"):
            setattr(self, method, _forward(method))
        for op in OPS:
            setattr(self, op, _forward_operator(op))

    def start(self, children: list[Any]) -> None:
        return None

    def __default__(self, data: Any, children: list[Any], meta: Any) -> Any:
        raise AssertionError(f"grammar rule {data!r} has no callback")  # pragma: no cover


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
