"""A table-driven LALR(1) loop over what Lark compiles from `grammar/adcompile.lark`.

The grammar file stays the one definition of the language. Lark turns it into the LALR(1)
parse table and the contextual lexer's scanners (per parser state, one alternation regex of
the terminals that state accepts, with keywords told apart from names by Lark's own rule);
`Tables.read` takes those once, and `Tables.drive` runs them in one loop with no Lark objects
per token. Each reduction calls the builder's callback for the rule (by alias, else rule
name) with the children Lark's inline transformer would pass: filtered tokens (`"("`, `_NL`)
dropped, `_rule`s spliced in, a `?rule` with one child replaced by that child. A kept token
is `(text, offset)`. No tree is built and nothing recurses.

The loop only says whether the text parses. At a syntax error it stops, and the caller runs
Lark's own parser on the text for Lark's exception (position, expected terminals), from
which the messages are made: errors are exactly Lark's, and valid texts never pay for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from operator import itemgetter
from typing import Any, Protocol

from lark import Lark

from adcompile.errors import FormulaError

#: What a reduction makes from the values of its right-hand side.
Reducer = Callable[[list[Any]], Any]
#: Per parser state: the scanner's `match`, keywords by the terminal they hide in (NAME:
#: {"or": "OR", ...}) or None, and the terminals skipped (`%ignore`).
Scan = tuple[Callable[[str, int], Any], "dict[str, dict[str, str]] | None", frozenset[str]]

_END = "$END"


class Builder(Protocol):
    """What the loop calls: the callback of a rule, and `failed` on its first error."""

    def callback(self, name: str) -> Callable[[Sequence[Any]], Any]: ...

    def failed(self, exc: FormulaError) -> None: ...


@dataclass(frozen=True)
class Tables:
    """Lark's parse table and scanners, as plain lists indexed by state and rule.

    `actions[state][terminal]` is the state to shift to (>= 0) or `~rule` (reduce);
    `gotos[state][rule origin]` the state after a reduction. A rule is `unit` when its
    value is its only child's, unchanged (`?sum: product`): reducing it only changes state.
    """

    start: int
    end: int
    actions: list[dict[str, int]]
    gotos: list[dict[str, int]]
    scans: list[Scan]
    sizes: list[int]
    origins: list[str]
    unit: list[bool]
    makers: list[Callable[[Builder], Reducer] | None]
    kept: frozenset[str]  # terminals whose token a callback receives (NAME, NUMBER)
    #: `_chain`'s answers, filled as texts need them (a few hundred entries at most)
    chains: dict[tuple[int, int, str], int] = field(default_factory=dict)

    @classmethod
    def read(cls, lark: Lark) -> Tables:
        """The tables of an LALR `Lark` with the contextual lexer, without placeholders.

        Raises:
            RuntimeError: if this Lark lays its tables out in a way this module does not know.
        """
        try:
            return cls._read(lark)
        except (
            AttributeError,
            AssertionError,
            KeyError,
            TypeError,
            ValueError,
        ) as exc:  # pragma: no cover
            raise RuntimeError(f"unsupported Lark layout ({exc!r}): see front/lalr.py") from exc

    @classmethod
    def _read(cls, lark: Lark) -> Tables:
        assert lark.options.parser == "lalr" and not lark.options.maybe_placeholders
        assert not lark.options.keep_all_tokens and not lark.options.lexer_callbacks
        table = lark.parser.parser.parser.parse_table
        rules = list(lark.rules)
        number = {rule: k for k, rule in enumerate(rules)}
        count = len(table.states)
        assert sorted(table.states) == list(range(count))
        actions: list[dict[str, int]] = [{} for _ in range(count)]
        gotos: list[dict[str, int]] = [{} for _ in range(count)]
        for state, row in table.states.items():
            for symbol, (action, arg) in row.items():
                if action.name == "Shift":
                    (actions if symbol.isupper() else gotos)[state][symbol] = arg
                else:
                    assert action.name == "Reduce"
                    actions[state][symbol] = ~number[arg]
        kept = frozenset(sym.name for rule in rules for sym in rule.expansion if _kept_token(sym))
        (start,) = table.start_states.values()
        (end,) = table.end_states.values()
        lexers = lark.parser.lexer.lexers
        scans: dict[int, Scan] = {}
        return cls(
            start=start,
            end=end,
            actions=actions,
            gotos=gotos,
            scans=[_scan(lexers[s], scans) for s in range(count)],
            sizes=[len(rule.expansion) for rule in rules],
            origins=[str(rule.origin.name) for rule in rules],
            unit=[_is_unit(rule) for rule in rules],
            makers=[None if _is_unit(rule) else _maker(rule) for rule in rules],
            kept=kept,
        )

    def drive(self, text: str, builder: Builder) -> bool:
        """Parse `text`, calling `builder`'s callbacks; False at the first syntax error.

        A `FormulaError` from a callback goes to `builder.failed` (the builder then switches
        to its skipping callbacks) and the reduction's value is None; the parse goes on.
        """
        actions, gotos, scans, kept = self.actions, self.gotos, self.scans, self.kept
        sizes, origins, unit, chains = self.sizes, self.origins, self.unit, self.chains
        reducers = self._bind(builder)
        state = self.start
        end_state = self.end
        states = [state]
        values: list[Any] = []
        pos, length = 0, len(text)
        kind = ""
        token: tuple[str, int] | None = None
        while kind != _END:
            if pos < length:
                match, keywords, ignore = scans[state]
                m = match(text, pos)
                if m is None:
                    return False
                kind = m.lastgroup
                if kind in ignore:
                    pos = m.end()
                    continue
                if keywords is not None and kind in keywords:
                    kind = keywords[kind].get(m.group(), kind)
                token = (m.group(), pos) if kind in kept else None
                pos = m.end()
            else:
                kind, token = _END, None
            code = actions[state].get(kind)
            while code is not None and code < 0:  # reduce
                rule = ~code
                if unit[rule]:  # a run of them: one lookup, made once per grammar
                    key = (states[-2], state, kind)
                    found = chains.get(key)
                    state = states[-1] = self._chain(*key) if found is None else found
                else:
                    size = sizes[rule]
                    children = values[-size:] if size else []
                    if size:
                        del values[-size:], states[-size:]
                    try:
                        value = reducers[rule](children)  # type: ignore[misc]
                    except FormulaError as exc:
                        builder.failed(exc)
                        reducers = self._bind(builder)
                        value = None
                    state = gotos[states[-1]][origins[rule]]
                    states.append(state)
                    values.append(value)
                if state == end_state and kind == _END:
                    return True
                code = actions[state].get(kind)
            if code is None:
                return False
            state = code
            states.append(state)
            values.append(token)
        return False  # pragma: no cover - $END is never shifted

    def _chain(self, below: int, top: int, kind: str) -> int:
        """The top state after the run of unit reductions that `kind` makes in state `top`
        above state `below` (each replaces the top state only, so `below` stays)."""
        state = top
        code = self.actions[state].get(kind)
        while code is not None and code < 0 and self.unit[~code] and state != self.end:
            state = self.gotos[below][self.origins[~code]]
            code = self.actions[state].get(kind)
        self.chains[(below, top, kind)] = state
        return state

    def _bind(self, builder: Builder) -> list[Reducer | None]:
        return [None if make is None else make(builder) for make in self.makers]


def _is_unit(rule: Any) -> bool:
    """`?a: b`: one child kept as is, so the reduction keeps the value and changes state."""
    return (
        len(rule.expansion) == 1
        and bool(rule.options.expand1)
        and rule.alias is None
        and not str(rule.origin.name).startswith("_")
        and _kept(rule) == ((0, False),)
    )


def _kept_token(sym: Any) -> bool:
    """Whether a callback receives this symbol's token (NAME: yes; `"("`, `_NL`: no)."""
    return bool(sym.is_term and not sym.filter_out)


def _kept(rule: Any) -> tuple[tuple[int, bool], ...]:
    """(position, spliced) of each child Lark passes on: filtered tokens are dropped, the
    children of an inlined `_rule` are spliced in."""
    return tuple(
        (k, not sym.is_term and sym.name.startswith("_"))
        for k, sym in enumerate(rule.expansion)
        if not sym.is_term or _kept_token(sym)
    )


def _maker(rule: Any) -> Callable[[Builder], Reducer]:
    """How to make the rule's reducer for a builder, decided once per rule."""
    kept = _kept(rule)
    positions = tuple(k for k, _ in kept)
    gather: Reducer
    if str(rule.origin.name).startswith("_") or any(spliced for _, spliced in kept):
        gather = partial(_gather, kept)  # a list: an inlined rule's parent may extend it
    elif positions == tuple(range(len(rule.expansion))):
        gather = _same
    elif len(positions) == 1:
        gather = partial(_one, positions[0])
    else:
        gather = itemgetter(*positions)
    if str(rule.origin.name).startswith("_"):  # inlined: its parent splices the list
        return lambda builder: gather
    name = str(rule.alias or rule.origin.name)
    if rule.options.expand1 and rule.alias is None:
        if len(kept) == 1 and not kept[0][1]:
            return lambda builder: itemgetter(positions[0])
        return lambda builder: partial(_expand1, gather, builder.callback(name))
    return lambda builder: _compose(gather, builder.callback(name))


def _compose(gather: Reducer, callback: Callable[[Sequence[Any]], Any]) -> Reducer:
    if gather is _same:
        return callback
    return lambda children: callback(gather(children))


def _same(children: list[Any]) -> list[Any]:
    return children


def _one(position: int, children: list[Any]) -> list[Any]:
    return [children[position]]


def _gather(kept: tuple[tuple[int, bool], ...], children: list[Any]) -> list[Any]:
    """The kept children, spliced ones extended in place (as Lark does: an inlined list is
    reused by its left-recursive parent, so a list of n statements is built in O(n))."""
    out: list[Any] | None = None
    for k, spliced in kept:
        if spliced:
            if out is None:
                out = children[k]
            else:
                out.extend(children[k])
        elif out is None:
            out = [children[k]]
        else:
            out.append(children[k])
    return [] if out is None else out


def _expand1(gather: Reducer, callback: Callable[[Sequence[Any]], Any], values: list[Any]) -> Any:
    children = gather(values)
    return children[0] if len(children) == 1 else callback(children)


def _scan(lexer: Any, made: dict[int, Scan]) -> Scan:
    """The scanner of one state's lexer, as `(match, keywords, ignored)`."""
    found = made.get(id(lexer))
    if found is None:
        scanner = lexer.scanner
        (regex,) = scanner._mres
        keywords: dict[str, dict[str, str]] = {}
        for kind, unless in lexer.callback.items():
            words = unless.scanner.terminals
            assert all(w.pattern.type == "str" and not w.pattern.flags for w in words)
            keywords[kind] = {w.pattern.value: w.name for w in words}
        found = made[id(lexer)] = (regex.match, keywords or None, frozenset(lexer.ignore_types))
    return found
