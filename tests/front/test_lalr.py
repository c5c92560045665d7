"""The LALR loop (`front.lalr`) against Lark's own parser: same texts accepted, same tokens."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from lark.exceptions import UnexpectedInput

from adcompile.errors import FormulaError
from adcompile.front.parse import _parser, parse

DATA = Path(__file__).resolve().parents[1] / "data"

#: Texts near the edges of the lexer and the grammar, valid and not.
EDGES = [
    "",
    "\n\n;;\n",
    "x",
    "x orange",  # the contextual lexer: after an operand, "or" is a keyword
    "notx",
    "not x",
    "x andy",
    "1e",
    "2e+",
    "1.5.5",
    ".5 + 5.",
    "x**-y^2",
    "f(x,)",
    "f()",
    "sin(x, y, z)",
    "a = 1; b = a + x\nb",
    "a = (1 +\n2)",
    "x # comment\n",
    "x\t+\fy\v",
    "0 < x < 1",
    "x = = 1",
    "p, q",
    "a, b = 1",
    "x $ y",
    "x ٣",
    "(" * 50 + "x" + ")" * 50,
    "(" * 50 + "x",
]


def texts() -> list[str]:
    found = [c["source"] for c in json.loads((DATA / "cases.json").read_text())]
    found += [c["source"] for c in json.loads((DATA / "errors.json").read_text())]
    return found + EDGES


class Recorder:
    """A builder that records the reductions' callbacks and the tokens they receive."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def callback(self, name: str) -> Callable[[Sequence[Any]], Any]:
        def record(children: Sequence[Any]) -> Any:
            self.calls.append((name, len(children)))
            return ("value", name)

        return record

    def failed(self, exc: FormulaError) -> None:  # pragma: no cover - never raises
        raise exc


@pytest.mark.parametrize("text", texts())
def test_the_loop_accepts_what_lark_accepts(text: str) -> None:
    lark, tables = _parser()
    source = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        lark.parse(source)
        lark_ok = True
    except UnexpectedInput:
        lark_ok = False
    assert tables.drive(source, Recorder()) == lark_ok


def test_the_loop_reads_keywords_by_parser_state() -> None:
    # "x orange" lexes as x, or, ange (as Lark's contextual lexer does): an "or" expression
    program = parse("x orange")
    assert program.inputs == ("x", "ange")
    assert program.graph.nodes[program.outputs[0]].op == "or"
    assert parse("notx").inputs == ("notx",)


def test_callbacks_get_the_kept_children() -> None:
    _, tables = _parser()
    recorder = Recorder()
    assert tables.drive("a = f(x, 2) + -y\na, b", recorder)
    assert recorder.calls == [
        ("var", 1),
        ("number", 1),
        ("call", 3),  # NAME and two arguments: "(", "," and ")" dropped
        ("var", 1),
        ("neg", 1),
        ("add", 2),
        ("assign", 2),
        ("var", 1),
        ("var", 1),
        ("result", 2),
        ("start", 2),
    ]


def test_deep_nesting_and_long_programs_do_not_recurse() -> None:
    deep = parse("(" * 10_000 + "x" + ")" * 10_000)
    assert deep.inputs == ("x",)
    lines = [f"x{k + 1} = sin(x{k})*y + 0.5*x{k}" for k in range(2000)]
    long = parse("\n".join([*lines, "x2000"]))
    assert len(long.graph) > 8000
    _, tables = _parser()
    assert len(tables.chains) < 1000  # runs of unit reductions: per grammar, not per text
