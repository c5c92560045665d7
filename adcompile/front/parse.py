"""Text to IR: the Lark LALR tables of `grammar/adcompile.lark` and a non-recursive IR builder.

`parse(text, inputs)` returns a `Parsed` (a `Graph` plus input and output ids). Lark compiles
the grammar once per process; `front.lalr.Tables.drive` runs its tables with a fresh `_BuildIR`
per parse (so concurrent parses never mix), whose callbacks create nodes through
`Graph.apply` as the LALR loop reduces: no tree is built, and nothing recurses (deep formulas
never hit the limit). At a syntax error Lark's own parser reports it; Lark's exceptions and
every semantic problem become `FormulaError`s with line, column and caret.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from functools import cache, partial
from importlib import resources
from pathlib import Path
from typing import Any

from lark import Lark, Tree
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
from adcompile.front.lalr import Tables
from adcompile.front.messages import suggest, syntax_error
from adcompile.front.names import check_input_name
from adcompile.front.vectors import ShapeSpec, VectorCalls
from adcompile.ir.graph import Graph, Parsed, building
from adcompile.ir.node import FoldError, NodeId
from adcompile.ir.ops import CONSTANTS, OPS, function_names, resolve_function, shadows_library
from adcompile.ir.special import DEFAULTS

GRAMMAR_FILE = "adcompile.lark"
_lock = threading.Lock()


def grammar_path() -> Path:
    """Where the grammar is read from: inside the installed package, else the checkout."""
    packaged = resources.files("adcompile") / "grammar" / GRAMMAR_FILE
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "grammar" / GRAMMAR_FILE


@cache
def _parser() -> tuple[Lark, Tables]:
    """Lark's parser for the grammar (it reports syntax errors) and its tables, which
    `Tables.drive` runs for every parse."""
    with _lock:
        lark = Lark(
            grammar_path().read_text(encoding="utf-8"),
            parser="lalr",
            maybe_placeholders=False,
            transformer=_Quiet(),
        )
        return lark, Tables.read(lark)


class _Quiet:
    """The transformer of Lark's own parse (run only to report a syntax error): no tree."""

    def __default__(self, data: Any, children: list[Any], meta: Any) -> Any:
        # an inlined rule (`_sep`, `__start_plus_0`...): its parent splices these children
        return Tree(data, []) if str(data).startswith("_") else None


def _syntax_error(lark: Lark, source: str) -> UnexpectedInput:
    """Lark's exception for a text the LALR loop stopped on."""
    try:
        lark.parse(source)
    except UnexpectedInput as exc:
        return exc
    raise AssertionError(f"Lark parses a text the LALR loop refused: {source[:80]!r}")


def parse(
    text: str,
    inputs: tuple[str, ...] | None = None,
    stable: bool = True,
    shapes: Mapping[str, ShapeSpec] | None = None,
) -> Parsed:
    """Parse `text` into a `Parsed`; `inputs` fixes the input names and their order.

    `stable=False` builds the graph without the stability rewrites (`simplify.STABLE`).
    `shapes` declares inputs vectors or scalars (`front.vectors`; by default an input is a
    vector when it is indexed, sliced or reduced).

    Raises:
        FormulaError: for any problem with the text, with line, column and caret excerpt;
            also for a name in `inputs` that `check_input_name` refuses.
    """
    if inputs is not None:
        inputs = tuple(check_input_name(name) for name in inputs)
    source = _one_line_break(text)
    builder = _BuildIR(text, source, inputs)
    builder.graph.stable = stable
    lark, tables = _parser()
    with building():
        parsed = tables.drive(source, builder)
    if not parsed:
        # a syntax error anywhere wins over the semantic errors found before it
        raise syntax_error(source, _syntax_error(lark, source)).with_source(text) from None
    try:
        builder.finish()
        program = builder.program()
        unknown = [str(n) for n in shapes or {} if n not in program.inputs]
        if unknown:
            hint = did_you_mean(unknown[0], program.inputs)
            raise FormulaError(f"shapes: unknown input '{unknown[0]}'{hint}")
        builder.settle_vectors(program.outputs, program.inputs, shapes or {})
    except FormulaError as exc:
        raise exc.with_source(text) from None
    return program


# --- IR builder --------------------------------------------------------------------------

_MALFORMED_NUMBER = re.compile(r"[eE][+-]?$")
#: A token a callback receives (NAME, NUMBER): its text and its offset in the source.
Tok = tuple[str, int]
# What each expression callback returns: the node, the offset where the expression starts
# (turned into line and column only for a message), and the name when the expression
# starts with a variable there (else None): a result written as a bare name is called by
# that name.
Val = tuple[NodeId, int, "str | None"]


class _BuildIR(VectorCalls):
    """The callbacks of `Tables.drive`: IR nodes, bottom-up and left to right as the LALR
    loop reduces, resolving names as statements go.

    No tree is built. The first semantic error is kept and the parse goes on with the
    `_skip_*` callbacks, so that a syntax error later in the text still wins, and so that an
    assignment after a read of the same name (read before it is assigned) is seen; `finish`
    then raises the error the text shows first.
    """

    def __init__(self, text: str, source: str, inputs: tuple[str, ...] | None) -> None:
        self.text = text
        self.source = source  # what is parsed: offsets count in it
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
        self.statements: list[tuple[str, Any, int]] = []  # (kind, what, offset)
        self.count = 0  # statements reduced so far (also after an error)
        self.first_assigned: dict[str, tuple[int, int]] = {}  # name -> (statement, offset)
        self.first_read: dict[str, tuple[int, int]] = {}  # unassigned name -> (statement, offset)
        self.error: FormulaError | None = None
        self._init_vectors()

    def callback(self, name: str) -> Callable[[Sequence[Any]], Any]:
        """The callback of grammar rule `name` (`Tables.drive` asks once per parse)."""
        if name in OPS:
            return partial(self.operator, name)
        found: Callable[[Sequence[Any]], Any] | None = getattr(self, _CALLBACKS.get(name, ""), None)
        if found is None:
            raise AssertionError(f"grammar rule {name!r} has no callback")  # pragma: no cover
        return found

    def at(self, offset: int) -> tuple[int, int]:
        """Line and column (from 1) of an offset in the source; only messages need them."""
        start = self.source.rfind("\n", 0, offset) + 1
        return self.source.count("\n", 0, offset) + 1, offset - start + 1

    # -- leaves --------------------------------------------------------------------------
    def number(self, children: Sequence[Tok]) -> Val:
        tok, offset = children[0]
        shown = tok[:30] + ("..." if len(tok) > 30 else "")
        if _MALFORMED_NUMBER.search(tok):
            raise ConstantError(
                f"malformed number {shown!r}: exponent has no digits", *self.at(offset)
            )
        value = float(tok)
        if not math.isfinite(value):
            raise ConstantError(
                f"numeric literal {shown!r} is outside the float64 range", *self.at(offset)
            )
        return (self.graph.const(value), offset, None)

    def var(self, children: Sequence[Tok]) -> Val:
        name, offset = children[0]
        nid = self.env.get(name)
        if nid is None:
            nid = self.known.get(name)
            if nid is None:
                nid = self._resolve(name, offset)
        return (nid, offset, name)

    def _resolve(self, name: str, offset: int) -> NodeId:
        """A name neither assigned yet nor resolved before."""
        # if it is assigned in a later statement, this read is an error (`finish`)
        self.first_read.setdefault(name, (self.count, offset))
        if name in CONSTANTS:
            nid = self.graph.const(CONSTANTS[name])
        elif resolve_function(name) is not None and not shadows_library(name):
            raise UndefinedNameError(
                f"'{name}' is a function: call it as {name}(...)", *self.at(offset)
            )
        elif self.declared is not None:
            known = [*self.env, *self.declared, *CONSTANTS]
            raise UndefinedNameError(
                f"undefined name '{name}'{did_you_mean(name, known)}; inputs are "
                f"{', '.join(self.declared) or '(none)'}",
                *self.at(offset),
            )
        else:
            try:
                check_input_name(name)
            except FormulaError as exc:
                raise UndefinedNameError(
                    f"undefined name: {exc.message}", *self.at(offset)
                ) from None
            nid = self.graph.input(name)
            if nid not in self.graph.names:
                self.inputs.append(name)
            self.graph.names.setdefault(nid, name)
        self.known[name] = nid
        return nid

    # -- calls and operators -------------------------------------------------------------
    def call(self, children: Sequence[Any]) -> Val:
        (name, offset), args = children[0], children[1:]
        found = self.vector_call(name, args, offset)
        if found is not None:
            return found
        opdef = resolve_function(name)
        if opdef is None:
            what = "is a variable, not a function" if name in self.env else "unknown function"
            hint = suggest(name, len(args)) or did_you_mean(name, function_names())
            raise UnknownFunctionError(f"{what} '{name}'{hint}", *self.at(offset))
        missing = opdef.arity - len(args)
        defaults = DEFAULTS.get(opdef.name, ())
        if 0 < missing <= len(defaults):  # trailing arguments left out: their defaults
            filled = [
                (self.graph.const(v), offset, None) for v in defaults[len(defaults) - missing :]
            ]
            args = [*args, *filled]
        if len(args) != opdef.arity:
            plural = "s" if opdef.arity != 1 else ""
            raise ArityError(
                f"{name}() takes {opdef.arity} argument{plural}, {len(args)} given"
                + suggest(name, len(args)),
                *self.at(offset),
            )
        return self._apply(opdef.name, [a[0] for a in args], offset, None)

    def operator(self, op: str, args: Sequence[Val]) -> Val:
        first = args[0]
        try:
            if len(args) == 2:
                nid = self.graph.apply(op, first[0], args[1][0])
            else:
                nid = self.graph.apply(op, *[a[0] for a in args])
        except FoldError as exc:
            raise self._overflow(exc, first[1]) from None
        return (nid, first[1], first[2])

    def _apply(self, op: str, ids: Sequence[NodeId], offset: int, name: str | None) -> Val:
        try:
            return (self.graph.apply(op, *ids), offset, name)
        except FoldError as exc:
            raise self._overflow(exc, offset) from None

    def _overflow(self, exc: FoldError, offset: int) -> ConstantError:
        return ConstantError(
            f"constant expression overflows float64 or is undefined ({exc})", *self.at(offset)
        )

    # -- statements ----------------------------------------------------------------------
    def assign(self, children: Sequence[Any]) -> None:
        (name, offset), (value, _, _) = children
        self.first_assigned.setdefault(name, (self.count, offset))
        self.count += 1
        self.env[name] = value
        if self.graph.nodes[value].op not in ("const", "input"):
            self.graph.names.setdefault(value, name)
        self.statements.append(("assign", name, offset))

    def result(self, children: Sequence[Val]) -> None:
        self.count += 1
        nodes = tuple(c[0] for c in children)
        # an output written as a bare name is called by that name (`p, q`), even when two
        # names are one node
        named = tuple(
            c[2] if c[2] is not None and c[0] == self._named(c[2]) else None for c in children
        )
        self.statements.append(("result", (nodes, named), children[0][1]))

    def start(self, children: Sequence[Any]) -> None:
        return None

    def _named(self, name: str) -> NodeId | None:
        nid = self.env.get(name)
        return self.known.get(name) if nid is None else nid

    # -- after the first semantic error: only count statements and note assignments -------
    def failed(self, exc: FormulaError) -> None:
        """Keep the first error; from here on the parse only looks for later problems."""
        if self.error is None:
            self.error = exc
            self.number = self.var = self.call = self._skip  # type: ignore[method-assign, assignment]
            self.subscript = self.slicing = self._skip  # type: ignore[method-assign, assignment]
            self.operator = self._skip_operator  # type: ignore[method-assign, assignment]
            self.assign = self._skip_assign  # type: ignore[method-assign]
            self.result = self._skip_result  # type: ignore[method-assign]

    def _skip(self, children: Sequence[Any]) -> None:
        return None

    def _skip_operator(self, op: str, args: Sequence[Any]) -> None:
        return None

    def _skip_assign(self, children: Sequence[Any]) -> None:
        name, offset = children[0]
        self.first_assigned.setdefault(name, (self.count, offset))
        self.count += 1

    def _skip_result(self, children: Sequence[Any]) -> None:
        self.count += 1

    def finish(self) -> None:
        """Raise the first problem of a text that parsed: a name read before the statement
        that first assigns it, else the first semantic error, else a misplaced statement."""
        for name, (read_at, offset) in self.first_read.items():
            later = self.first_assigned.get(name)
            if later is not None and later[0] > read_at:
                raise UndefinedNameError(
                    f"'{name}' is read before it is assigned on line {self.at(later[1])[0]} "
                    "(an assignment applies from its own line on)",
                    *self.at(offset),
                )
        if self.error is not None:
            raise self.error
        if not self.statements:
            raise ParseError("empty formula: there is nothing to compute", 1, 1)
        for kind, _, offset in self.statements[:-1]:
            if kind == "result":
                raise ParseError(
                    "only the last statement may be an expression; "
                    "earlier ones must be assignments (name = ...)",
                    *self.at(offset),
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


#: The grammar's rule names (aliases) with a callback of that name; operators (IR op names)
#: go to `operator`.
_CALLBACKS = {
    name: name
    for name in ("number", "var", "call", "assign", "result", "start", "subscript", "slicing")
}


def _one_line_break(text: str) -> str:
    """`text` with CR LF and a bare CR as LF: Lark counts lines by LF, and every line break
    of the language must count the same (`errors.split_lines` splits the same way)."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
