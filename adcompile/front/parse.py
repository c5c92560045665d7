"""Text to IR: the Lark LALR parser over `grammar/adcompile.lark` and a non-recursive IR builder.

`parse(text, inputs)` returns a `Parsed` (a `Graph` plus input and output ids). One LALR
parser is built per process, with the IR builder applied inline: each reduction calls the
`_BuildIR` of the parse running in this thread (`_local`), which creates nodes through
`Graph.apply`; no tree is built, and nothing recurses (deep formulas never hit the limit).
Lark's exceptions and every semantic problem become `FormulaError`s with line, column and caret.
"""

from __future__ import annotations

import math
import operator
import re
import threading
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput

from adcompile.errors import (
    ArityError,
    ConstantError,
    FormulaError,
    ParseError,
    UndefinedNameError,
    UnknownFunctionError,
    did_you_mean,
)
from adcompile.front.messages import suggest, syntax_error
from adcompile.front.names import check_input_name
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
        lark = Lark(
            grammar_path().read_text(encoding="utf-8"),
            parser="lalr",
            maybe_placeholders=False,
            transformer=_Callbacks(),
        )
        _streamline(lark)
        return lark


def _streamline(lark: Lark) -> None:
    """Make the LALR loop's per-reduction work cheaper without changing what it builds.

    - A `?rule` reduced from one kept child (`?sum: product`, `?atom: "(" expr ")"`: most
      reductions of a formula) returns that child: its callback becomes an `itemgetter`
      (C code) instead of Lark's Python wrappers, which do the same.
    - The goto lookup is keyed by `rule.origin.name`, a `Token`, in a table keyed by `str`:
      every lookup runs `Token.__eq__` in Python. The plain `str` finds the same entry.

    Lark's internals are reached by name; if they are laid out differently, nothing changes.
    """
    try:
        callbacks = lark.parser.parser.parser.callbacks
        rules = list(callbacks)
        for rule in rules:
            origin = rule.origin
            origin.name = str(origin.name)
            if not rule.options.expand1 or rule.alias is not None:
                continue
            kept = [
                k
                for k, sym in enumerate(rule.expansion)
                if not (sym.is_term and (sym.filter_out or sym.name.startswith("_")))
            ]
            if len(kept) == 1 and not rule.expansion[kept[0]].name.startswith("_"):
                callbacks[rule] = operator.itemgetter(kept[0])
    except AttributeError:  # pragma: no cover - another Lark version
        return


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
        raise syntax_error(source, exc).with_source(text) from None
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
        return (self.graph.const(value), *_at(tok), None)

    def var(self, children: list[Token]) -> Val:
        tok = children[0]
        name = str(tok)
        nid = self.env.get(name)
        if nid is None:
            nid = self.known.get(name)
            if nid is None:
                nid = self._resolve(name, tok)
        return (nid, *_at(tok), name)

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
            hint = suggest(name, len(args)) or did_you_mean(name, function_names())
            raise UnknownFunctionError(f"{what} '{name}'{hint}", *_at(tok))
        if len(args) != opdef.arity:
            plural = "s" if opdef.arity != 1 else ""
            raise ArityError(
                f"{name}() takes {opdef.arity} argument{plural}, {len(args)} given"
                + suggest(name, len(args)),
                *_at(tok),
            )
        return self._apply(opdef.name, args, *_at(tok), None)

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
        named = tuple(
            c[3] if c[3] is not None and c[0] == self._named(c[3]) else None for c in children
        )
        self.statements.append(("result", (nodes, named), (children[0][1], children[0][2])))

    def _named(self, name: str) -> NodeId | None:
        nid = self.env.get(name)
        return self.known.get(name) if nid is None else nid

    # -- after the first semantic error: only count statements and note assignments -------
    def failed(self, exc: FormulaError) -> None:
        """Keep the first error; from here on the parse only looks for later problems."""
        if self.error is None:
            self.error = exc
            self.number = self.var = self.call = self._skip  # type: ignore[method-assign, assignment]
            self.operator = self._skip_operator  # type: ignore[method-assign, assignment]
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
        # inlined rules (`_sep`, Lark's `__start_plus_0`...): the parent splices the children
        # of the tree returned here into its own
        if not str(data).startswith("_"):
            raise AssertionError(f"grammar rule {data!r} has no callback")  # pragma: no cover
        return Tree(data, children)


def _one_line_break(text: str) -> str:
    """`text` with CR LF and a bare CR as LF: Lark counts lines by LF, and every line break
    of the language must count the same (`errors.split_lines` splits the same way)."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _at(tok: Token) -> tuple[int, int]:
    return (tok.line or 1, tok.column or 1)
