"""Bad and hostile input (tests/data/errors.json) plus a few error-message checks.

Every entry must give an `adcompile.FormulaError` (or subclass) with integer `line` and `column`
and a readable message -- never another exception type, a `RecursionError`, a hang, or any code
executed. Entries with an `accepted_alternative` may instead compile and must then evaluate to the
given value and gradient. Sources can be a megabyte long: assertion messages name the entry id,
never the source.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from conftest import load_acceptance

import adcompile as adc

ENTRIES = load_acceptance("errors.json")
_IDS = [e["id"] for e in ENTRIES]

#: Wall-time budgets in errors.json are multiplied by this, for slow CI machines.
SLACK = 3
#: A readable message is short even when the source is huge.
MAX_MESSAGE_CHARS = 2000


class _Hang(Exception):
    """Raised by the alarm guard when compile/evaluate runs far past its budget."""


@contextmanager
def _alarm(seconds: float | None) -> Iterator[None]:
    """Turn a hang into a test failure (POSIX main thread only; otherwise a no-op)."""
    usable = (
        seconds is not None
        and hasattr(signal, "SIGALRM")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise _Hang(f"still running after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _compile(entry: dict[str, Any]) -> adc.Formula:
    inputs = entry.get("inputs")
    if inputs is None:
        return adc.compile(entry["source"])
    return adc.compile(entry["source"], inputs=inputs)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    if len(text) > 300:
        text = text[:300] + f"... ({len(text)} chars)"
    return f"{type(exc).__name__}: {text}"


def _check_formula_error(eid: str, err: adc.FormulaError) -> None:
    """Position attributes and a readable (short, non-empty) message."""
    line, column = err.line, err.column
    assert type(line) is int and line >= 1, f"{eid}: err.line is {line!r}"
    assert type(column) is int and column >= 1, f"{eid}: err.column is {column!r}"
    text = str(err)
    size = len(text)
    assert text.strip(), f"{eid}: empty error message"
    assert size <= MAX_MESSAGE_CHARS, f"{eid}: error message is {size} chars long"


def _check_alternative(eid: str, f: adc.Formula, alt: dict[str, Any]) -> None:
    value, grad = f.value_and_grad()(**alt["point"])
    want = alt["value"]
    assert isinstance(value, float), f"{eid}: value is {type(value).__name__}"
    assert math.isclose(value, want, rel_tol=1e-9, abs_tol=1e-12), (
        f"{eid}: value {value!r}, expected {want!r}"
    )
    bad = []
    for name, ref in alt["grad"].items():
        got = grad[name]
        if not (isinstance(got, float) and math.isclose(got, ref, rel_tol=1e-9, abs_tol=1e-12)):
            bad.append(f"d/d{name} = {got!r}, expected {ref!r}")
    shown = "; ".join(bad[:10])
    assert not bad, f"{eid}: {len(bad)} wrong gradient entries: {shown}"


@pytest.mark.parametrize("entry", ENTRIES, ids=_IDS)
def test_error_entry(entry: dict[str, Any], capfd: pytest.CaptureFixture[str]) -> None:
    eid = entry["id"]
    marker = entry.get("marker_file")
    if marker and os.path.exists(marker):
        os.remove(marker)
    budget = entry.get("max_seconds")
    alt = entry.get("accepted_alternative")
    guard = None if budget is None else budget * SLACK * 2

    err: adc.FormulaError | None = None
    start = time.perf_counter()
    try:
        with _alarm(guard):
            f = _compile(entry)
            if alt is not None:
                _check_alternative(eid, f, alt)
    except adc.FormulaError as exc:
        err = exc
    except _Hang as exc:
        pytest.fail(f"{eid}: {exc}", pytrace=False)
    except RecursionError as exc:
        pytest.fail(f"{eid}: RecursionError ({_describe(exc)[:200]})", pytrace=False)
    except AssertionError:
        raise
    except BaseException as exc:  # anything else is a bug: report its type, not the source
        pytest.fail(f"{eid}: expected FormulaError, got {_describe(exc)}", pytrace=False)
    elapsed = time.perf_counter() - start

    if marker:
        assert not os.path.exists(marker), f"{eid}: marker file {marker} was created"
    if entry["kind"] == "injection":
        out = capfd.readouterr().out
        assert "hi" not in out, f"{eid}: something was printed: {out[:200]!r}"
    if budget is not None:
        assert elapsed < budget * SLACK, (
            f"{eid}: took {elapsed:.2f} s (budget {budget} s, x{SLACK} allowed)"
        )

    if err is None:
        assert alt is not None, f"{eid}: accepted, but it must be rejected with FormulaError"
        return
    _check_formula_error(eid, err)
    want_line, want_col, hint = entry.get("line"), entry.get("col"), entry.get("suggestion")
    got_line, got_col, text = err.line, err.column, str(err)
    if want_line is not None:
        assert got_line == want_line, f"{eid}: line {got_line}, expected {want_line}: {text}"
    if want_col is not None:
        assert got_col == want_col, f"{eid}: column {got_col}, expected {want_col}: {text}"
    if hint is not None:
        assert hint in text, f"{eid}: message lacks the suggestion {hint!r}: {text}"


# --- beyond errors.json ------------------------------------------------------------------


def _error(source: str, **kwargs: Any) -> adc.FormulaError:
    with pytest.raises(adc.FormulaError) as info:
        adc.compile(source, **kwargs)
    return info.value


def _caret_column(err: adc.FormulaError, source_line: str) -> int:
    """The 1-based column of `source_line` that the caret under it points at."""
    lines = str(err).splitlines()
    rows = [k for k, row in enumerate(lines) if source_line in row]
    assert rows, f"the offending line {source_line!r} is not shown in:\n{err}"
    k = rows[-1]
    assert k + 1 < len(lines), f"no caret line under the source line in:\n{err}"
    caret = lines[k + 1]
    assert caret.strip() == "^", f"expected a caret line, got {caret!r} in:\n{err}"
    return caret.index("^") - lines[k].index(source_line) + 1


def test_message_shows_line_and_caret() -> None:
    err = _error("x + * y")
    assert (err.line, err.column) == (1, 5)
    assert _caret_column(err, "x + * y") == err.column


def test_message_shows_the_offending_line_of_a_program() -> None:
    source = "a = x*2\nb = expp(a)\nb"
    err = _error(source)
    assert (err.line, err.column) == (2, 5)
    assert _caret_column(err, "b = expp(a)") == 5
    assert "a = x*2" not in str(err)


def test_message_names_position() -> None:
    err = _error("sin(x, y)")
    text = str(err)
    assert "line 1" in text and "column" in text
    assert "sin" in text


@pytest.mark.parametrize(
    "source", ["", "   ", "\n\n", "# only a comment", "# one\n# two\n", "  # indented\n"]
)
def test_empty_or_comment_only_is_a_formula_error(source: str) -> None:
    err = _error(source)
    assert isinstance(err.line, int) and isinstance(err.column, int)
    assert str(err).strip()


def test_dangling_operator_points_at_end() -> None:
    err = _error("x +")
    assert (err.line, err.column) == (1, 4)
    assert _caret_column(err, "x +") == 4


def test_dangling_operator_on_line_2_points_at_end_of_line_2() -> None:
    err = _error("a = x\nb = a +\nb")
    assert err.line == 2
    assert err.column == len("b = a +") + 1


def test_formula_error_is_a_value_error() -> None:
    err = _error("sqr(x)")
    assert isinstance(err, ValueError)
    assert "sqrt" in str(err)


def test_long_line_error_is_excerpted() -> None:
    source = "x + " * 5000 + "* y"
    err = _error(source)
    assert err.line == 1 and err.column == len("x + ") * 5000 + 1
    assert len(str(err)) < MAX_MESSAGE_CHARS
    assert "^" in str(err)
