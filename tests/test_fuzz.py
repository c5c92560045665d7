"""Fuzzing (issue "1 of 7"): random text, names and runtime values. Every outcome is a correct
result or a clear error of the documented type; never a crash, a hang, another exception type
or an executed payload. (Random cache damage is fuzzed in tests/test_cache.py.)"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import formulas

import adcompile as adc
from adcompile.ir.ops import CORE_OPS, OPS
from adcompile.run.interpret import Plan

MARKER = Path("/tmp/adcompile-fuzz-marker")
PAYLOAD = f"__import__('os').system('touch {MARKER}')"

#: Pieces of the language and of Python, to build text close to valid formulas.
TOKENS = [
    *string.ascii_letters, *string.digits, *"+-*/^()=,;.<>!#_ \t\n\r'\"[]{}:@$%&|~`\\",
    "**", "==", "!=", "<=", ">=", "and", "or", "not", "pi", "e", "x", "y", "1e308", "1e-400",
    "sin(", "log(", "where(", "atan2(", "max(", "stop_gradient(", "lambda", "import", "None",
    "__import__", "exec(", "٣", "３", "é", "\x00", "\u2028", "\x0c", "\ufeff", PAYLOAD,
]  # fmt: skip


def _check_error(exc: adc.FormulaError, text: str) -> None:
    assert exc.line >= 1 and exc.column >= 1
    assert str(exc).startswith(f"line {exc.line}, column {exc.column}: ")
    assert len(str(exc)) < 2000  # a message, not a dump of the input


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=30).map("".join))
def test_token_soup_compiles_or_is_a_formula_error(text: str) -> None:
    try:
        f = adc.compile(text, backend="numpy")
    except adc.FormulaError as exc:
        _check_error(exc, text)
    else:
        # it parsed: the IR runs, and the names that reached it passed the door
        point = [1.5] * len(f.inputs)
        try:
            f(*point)
        except ValueError as exc:  # a program with several outputs has no single gradient
            pytest.fail(f"{text!r}: {exc}")
    assert not MARKER.exists()


@settings(max_examples=200)
@given(st.text(max_size=40))
def test_arbitrary_unicode_compiles_or_is_a_formula_error(text: str) -> None:
    try:
        adc.compile(text, backend="numpy")
    except adc.FormulaError as exc:
        _check_error(exc, text)


@settings(max_examples=300)
@given(st.text(max_size=30))
def test_arbitrary_input_names_are_accepted_only_when_safe(name: str) -> None:
    try:
        f = adc.compile("x", inputs=["x", name])
    except ValueError as exc:  # FormulaError, or a repeated name
        assert "name" in str(exc)
        return
    assert name.isidentifier() and name.isascii() and not name.startswith("__")
    source = f.value_and_grad().numba_source
    assert f"def value_and_grad(x, {name}" in source or f"def value_and_grad(x, {name}_" in source


@settings(max_examples=40, deadline=None)
@given(formulas(smooth=False, max_depth=3), st.tuples(*[st.floats(-2, 2)] * 3))
def test_random_formulas_agree_with_the_interpreter(text: str, point: tuple[float, ...]) -> None:
    f = adc.compile(text, inputs=["x", "y", "z"], backend="vm")
    got = f.value_and_grad()(*point)
    program = f._program
    plan = Plan(program.graph, list(program.input_ids), list(program.outputs))
    (want,) = plan(*(np.float64(p) for p in point))
    assert got[0] == pytest.approx(float(want), rel=1e-12, abs=1e-300, nan_ok=True)


def _runtime_values() -> st.SearchStrategy[Any]:
    dtypes = st.sampled_from(
        ["f8", "f4", "f2", "i1", "i8", "u8", "?", "c16", "O", "U3", "S3", "M8[s]", "m8[s]", "V8"]
    )
    scalars = st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(10**400), max_value=10**400),
        st.booleans(),
        st.complex_numbers(max_magnitude=10),
        st.text(max_size=3),
        st.none(),
        st.binary(max_size=3),
    )
    arrays = st.builds(
        lambda dt, n: np.zeros(n, dtype=dt) if dt != "O" else np.array([None] * n, dtype=object),
        dtypes,
        st.integers(0, 3),
    )
    lists = st.lists(st.one_of(st.floats(-3, 3), st.none(), st.text(max_size=1)), max_size=3)
    return st.one_of(scalars, arrays, lists)


OK_DTYPES = frozenset("fiub")


def _acceptable(value: Any) -> bool | None:
    """True: a number or numeric array; False: must be refused; None: either (lists)."""
    if isinstance(value, (bool, float)):
        return True
    if isinstance(value, int):
        return abs(value) < 2**1023
    if isinstance(value, np.ndarray):
        return value.dtype.kind in OK_DTYPES
    if isinstance(value, list):
        return all(isinstance(v, float) for v in value)
    return False


@pytest.mark.parametrize("backend", ["numba", "vm", "numpy"])
def test_runtime_values_of_every_kind(backend: str) -> None:
    vg = adc.compile("x*y + sin(x)", backend=backend).value_and_grad()

    @settings(max_examples=150)
    @given(_runtime_values())
    def run(value: Any) -> None:
        ok = _acceptable(value)
        try:
            v, g = vg(value, 2.0)
        except (TypeError, OverflowError) as exc:
            assert ok is not True, f"{value!r} refused: {exc}"
            assert "input 'x'" in str(exc)
            return
        assert ok is not False, f"{value!r} accepted: {v!r}"
        x = np.asarray(value, dtype=np.float64)
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(v, x * 2.0 + np.sin(x))
            np.testing.assert_array_equal(g.y, np.broadcast_to(x, np.shape(v)))

    run()


@settings(max_examples=100)
@given(st.sampled_from(sorted(CORE_OPS)), st.lists(st.floats(), min_size=3, max_size=3))
def test_every_op_at_any_float_is_a_float(op: str, args: list[float]) -> None:
    opdef = OPS[op]
    if not opdef.function:
        return
    names = ["x", "y", "z"][: opdef.arity]
    f = adc.compile(f"{op}({', '.join(names)})", backend="numpy")
    value, grad = f.value_and_grad()(*args[: opdef.arity])
    assert isinstance(value, float) and all(isinstance(g, float) for g in grad)
