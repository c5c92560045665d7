"""Vector errors and the `shapes=` option (DESIGN.md section 2b).

At call time: unequal lengths and indices out of range are `LengthError`s (a ValueError)
naming the inputs and lengths; a 0-d value for a vector input is a TypeError naming it. At
compile time: non-integer subscripts, a zero slice step and a vector operation on a scalar
are `FormulaError`s with the line and column.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import adcompile as adc
from adcompile.ir.shapes import LengthError
from vectors.textbook import BACKEND


def vc(text: str, **shapes: Any) -> adc.Formula:
    return adc.compile(text, backend=BACKEND, shapes=shapes or None)


def says(message: str, *parts: str) -> None:
    """Each part appears in the message as a whole word (names, numbers, subscripts)."""
    for part in parts:
        assert re.search(rf"(?<![\w\[]){re.escape(part)}(?![\w])", message), (part, message)


def test_length_error_is_a_value_error() -> None:
    assert issubclass(LengthError, ValueError)


@pytest.mark.parametrize("kind", ["value", "value_and_grad", "hvp"])
def test_unequal_lengths(kind: str) -> None:
    f = vc("sum(x*y)")
    call = f if kind == "value" else getattr(f, kind)()
    extra = {"tangents": (np.ones(3), np.ones(4))} if kind == "hvp" else {}
    with pytest.raises(LengthError) as info:
        call(np.ones(3), np.ones(4), **extra)
    says(str(info.value), "x", "y", "3", "4")
    with pytest.raises(LengthError) as info:  # in a batch too
        call(np.ones((2, 3)), np.ones((2, 4)), **extra)
    says(str(info.value), "x", "y", "3", "4")


def test_unequal_lengths_of_a_slice() -> None:
    with pytest.raises(LengthError) as info:
        vc("sum(x[1:]*y)")(np.ones(5), np.ones(5))
    says(str(info.value), "x[1:]", "4", "y", "5")


def test_unequal_lengths_in_a_program() -> None:
    with pytest.raises(LengthError) as info:
        vc("r = y - b*t\nsum(r^2)", b=())(np.ones(6), 2.0, np.ones(7))
    says(str(info.value), "y", "6", "t", "7")


def test_tangent_of_the_wrong_length() -> None:
    with pytest.raises(LengthError) as info:
        vc("sum(x^2)").jvp()(np.ones(3), tangents=np.ones(4))
    says(str(info.value), "x", "3", "4")


@pytest.mark.parametrize(
    ("text", "n", "parts"),
    [
        ("x[5]", 3, ("x[5]", "3")),
        ("x[3]", 3, ("x[3]", "3")),
        ("x[-4]", 3, ("x[-4]", "3")),
        ("x[0]", 0, ("x[0]", "0")),
        ("sum(x) + x[9]", 4, ("x[9]", "4")),
        ("x[1:][2]", 3, ("x[1:]", "2")),
    ],
)
def test_index_out_of_range(text: str, n: int, parts: tuple[str, ...]) -> None:
    with pytest.raises(LengthError) as info:
        vc(text).value_and_grad()(np.ones(n))
    says(str(info.value), *parts)
    assert "range" in str(info.value)


def test_index_in_range_at_the_edges() -> None:
    x = np.array([4.0, 5.0, 6.0])
    assert vc("x[2] + 10*x[-3]")(x) == 46.0


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("x[1.5]", 1, 3),
        ("y = x*2\nz = y[0.5]", 2, 7),
        ("sum(x[1/2:])", 1, 7),
        ("x[n]", 1, 3),
        ("x[0:1e400]", 1, None),
    ],
)
def test_subscripts_must_be_integer_constants(text: str, line: int, column: int | None) -> None:
    with pytest.raises(adc.FormulaError) as info:
        adc.compile(text, backend=BACKEND)
    err = info.value
    assert err.line == line
    if column is not None:
        assert err.column == column
        assert "integer" in err.message


@pytest.mark.parametrize(("text", "column"), [("x[::0]", 5), ("sum(x[1:3:0])", 11)])
def test_zero_slice_step(text: str, column: int) -> None:
    with pytest.raises(adc.FormulaError) as info:
        adc.compile(text, backend=BACKEND)
    assert "zero" in info.value.message
    assert (info.value.line, info.value.column) == (1, column)


@pytest.mark.parametrize(
    ("text", "where", "name"),
    [
        *((f"1 + {r}(y)", r, "y") for r in ("sum", "prod", "mean", "min", "max", "norm")),
        ("1 + logsumexp(y)", "logsumexp", "y"),
        ("1 + dot(y, y)", "dot", "y"),
        ("z = 2*x\nw = sum(y) + z", "sum", "y"),
        ("z = 2*x\nw = norm(y) + z", "norm", "y"),
        ("sum(sum(x))", "sum", None),
        ("prod(3)", "prod", None),
    ],
)
def test_reduction_of_a_scalar(text: str, where: str, name: str | None) -> None:
    with pytest.raises(adc.FormulaError) as info:
        adc.compile(text, backend=BACKEND, shapes={"y": ()} if "y" in text else None)
    err = info.value
    lines = text.split("\n")
    line = next(k for k, s in enumerate(lines, 1) if where in s)
    assert (err.line, err.column) == (line, lines[line - 1].index(where) + 1)
    assert "scalar" in err.message
    if name is not None:
        says(err.message, name)


@pytest.mark.parametrize("text", ["y[0]", "y[1:]", "len(y)"])
def test_subscript_or_len_of_a_declared_scalar(text: str) -> None:
    with pytest.raises(adc.FormulaError) as info:
        adc.compile(text, backend=BACKEND, shapes={"y": ()})
    says(info.value.message, "y")
    assert "scalar" in info.value.message


def test_0d_value_for_a_vector_input() -> None:
    f = vc("c*sum(x) + dot(x, w)")
    with pytest.raises(TypeError) as info:
        f(2.0, np.ones(3), 4.0)
    says(str(info.value), "w")
    with pytest.raises(TypeError) as info:
        f.value_and_grad()(c=2.0, x=1.0, w=np.ones(3))
    says(str(info.value), "x")


def test_default_makes_parameters_vectors() -> None:
    """`sum((y - a*t)^2)`: a is a vector unless declared a scalar; the error says how."""
    y, t = np.ones(4), np.arange(4.0)
    with pytest.raises(TypeError) as info:
        vc("sum((y - a*t)^2)")(y, 2.0, t)
    says(str(info.value), "a")
    assert "shapes" in str(info.value)
    value, grad = vc("sum((y - a*t)^2)", a=()).value_and_grad()(y, 2.0, t)
    assert value == np.sum((y - 2 * t) ** 2)
    assert isinstance(grad.a, float) and grad.a == -2 * np.sum((y - 2 * t) * t)
    assert grad.y.shape == grad.t.shape == (4,)


def test_batch_shapes_that_do_not_broadcast() -> None:
    with pytest.raises(ValueError, match="broadcast") as info:
        vc("sum(x*y)")(np.ones((2, 3)), np.ones((4, 3)))
    says(str(info.value), "x", "y")


def test_fixed_length() -> None:
    f = vc("sum(x^2)", x=10)
    assert f(np.ones(10)) == 10.0
    assert np.array_equal(f(np.ones((2, 10))), [10.0, 10.0])
    for n in (9, 11):
        with pytest.raises(LengthError) as info:
            f.value_and_grad()(np.ones(n))
        says(str(info.value), "x", str(n), "10")


def test_fixed_length_also_fixes_the_lengths_it_meets() -> None:
    with pytest.raises(LengthError) as info:
        vc("dot(x, y)", x=3)(np.ones(4), np.ones(4))
    says(str(info.value), "x", "4", "3")


def test_declared_vector() -> None:
    """shapes={"x": None}: x is a vector though only used elementwise; y stays a scalar."""
    f = vc("x*y", x=None)
    assert np.array_equal(f(np.array([1.0, 2.0, 3.0]), 2.0), [2.0, 4.0, 6.0])
    value, grad = f.value_and_grad()(np.array([1.0, 2.0, 3.0]), 2.0)
    assert np.array_equal(value, [2.0, 4.0, 6.0])
    assert np.array_equal(grad.x, [2.0, 2.0, 2.0]) and grad.y == 6.0
    with pytest.raises(TypeError) as info:
        f(2.0, 2.0)
    says(str(info.value), "x")


@pytest.mark.parametrize("spec", [-1, 2.5, "long", True, (3, 4)])
def test_bad_shape_spec(spec: Any) -> None:
    with pytest.raises(adc.FormulaError) as info:
        adc.compile("sum(x)", backend=BACKEND, shapes={"x": spec})
    says(info.value.message, "x")


def test_shapes_of_an_unknown_input() -> None:
    with pytest.raises(adc.FormulaError) as info:
        adc.compile("sum(x)", backend=BACKEND, shapes={"z": 3})
    says(info.value.message, "z")
    with pytest.raises(TypeError):
        adc.compile("sum(x)", backend=BACKEND, shapes=[("x", 3)])  # type: ignore[arg-type]
