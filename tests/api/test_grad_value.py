"""`Grad` is a value (DESIGN.md section 3): arithmetic entry by entry, `np.asarray` stacks.

Every operator is checked against the same operation on the stacked NumPy array, bit for
bit (an entry's `a op b` and NumPy's elementwise `a op b` are the same IEEE operation).
"""

from __future__ import annotations

import doctest
import operator
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import adcompile as adc
from adcompile.api.results import Grad

FIELDS = ("x", "y", "z")
BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}
UNARY: dict[str, Callable[[Any], Any]] = {"-": operator.neg, "+": operator.pos}


def scalar_grad(values: tuple[float, ...] = (1.5, -2.0, 0.25)) -> Grad:
    return Grad(values, FIELDS)


def array_grad(seed: int = 0, shape: tuple[int, ...] = (2, 3)) -> Grad:
    rng = np.random.default_rng(seed)
    return Grad([rng.uniform(0.5, 2.0, shape) for _ in FIELDS], FIELDS)


def check_grad_result(got: Any, want: np.ndarray) -> None:
    """`got` is a Grad with FIELDS whose stacked entries are exactly `want`."""
    assert isinstance(got, Grad), type(got)
    assert got._fields == FIELDS
    assert got.x is got[0] and got["z"] is got[2]
    stacked = np.asarray(got)
    assert stacked.shape == want.shape
    np.testing.assert_array_equal(stacked, want)


# --- np.asarray stacks ---------------------------------------------------------------------


def test_asarray_stacks_scalar_entries() -> None:
    g = scalar_grad()
    a = np.asarray(g)
    assert a.shape == (3,) and a.dtype == np.float64
    np.testing.assert_array_equal(a, [1.5, -2.0, 0.25])
    assert np.asarray(g, dtype=np.float32).dtype == np.float32


def test_asarray_stacks_a_batch_of_gradients() -> None:
    vg = adc.compile("x*y + sin(z)").value_and_grad()
    _, grad = vg(np.linspace(0, 1, 4), 2.0, np.zeros((3, 1)))
    a = np.asarray(grad)
    assert a.shape == (3, 3, 4)  # (n, *batch)
    for k, entry in enumerate(grad):
        np.testing.assert_array_equal(a[k], entry)


def test_asarray_cannot_be_a_view() -> None:
    with pytest.raises(ValueError, match="copies"):
        np.asarray(scalar_grad(), copy=False)


# --- operators against the elementwise NumPy result -----------------------------------------

OTHERS: dict[str, Callable[[], Any]] = {
    "float": lambda: 0.1,
    "int": lambda: 3,
    "np.float64": lambda: np.float64(-0.7),
    "array (3,)": lambda: np.array([0.5, 2.0, -4.0]),
    "array (2, 1)": lambda: np.array([[0.5], [-3.0]]),
    "grad": lambda: scalar_grad((0.3, 7.0, -1.25)),
}


def stacked(a: np.ndarray, operand: Any) -> tuple[np.ndarray, Any]:
    """The stacked entries `a` (shape `(n, *batch)`) and the other operand as NumPy combines
    them entry by entry: a Grad stacks too; an array broadcasts against each entry, so `a`
    gets unit axes after its first when the array has more dimensions than an entry."""
    if isinstance(operand, Grad):
        return a, np.asarray(operand)
    extra = np.ndim(operand) - (a.ndim - 1)
    if extra > 0:
        a = a.reshape(a.shape[:1] + (1,) * extra + a.shape[1:])
    return a, operand


@pytest.mark.parametrize("other", list(OTHERS), ids=list(OTHERS))
@pytest.mark.parametrize("symbol", list(BINARY))
@pytest.mark.parametrize("entries", ["scalar", "array"])
def test_binary_operators_are_elementwise(symbol: str, other: str, entries: str) -> None:
    op = BINARY[symbol]
    g = scalar_grad() if entries == "scalar" else array_grad()
    h = OTHERS[other]()
    if entries == "array" and isinstance(h, Grad):
        h = array_grad(seed=1)
    a, b = stacked(np.asarray(g), h)
    check_grad_result(op(g, h), op(a, b))
    check_grad_result(op(h, g), op(b, a))


@pytest.mark.parametrize("symbol", list(UNARY))
@pytest.mark.parametrize("entries", ["scalar", "array"])
def test_unary_operators_are_elementwise(symbol: str, entries: str) -> None:
    g = scalar_grad() if entries == "scalar" else array_grad()
    check_grad_result(UNARY[symbol](g), UNARY[symbol](np.asarray(g)))


def test_scalar_entries_stay_python_floats() -> None:
    """A single point's gradient keeps printing as floats after arithmetic."""
    g = scalar_grad()
    assert repr(0.5 * g - g / 4) == "Grad(x=0.375, y=-0.5, z=0.0625)"
    for result in (0.1 * g, g * 0.1, g / 2, 1 - g, g + g, -g, +g):
        assert all(type(v) is float for v in result), result


def test_grads_from_evaluators_combine() -> None:
    """Gradient descent and accumulation with what evaluators return."""
    loss = adc.compile("(w*x + b - y)^2").value_and_grad(["w", "b"], reduce="sum")
    x, y = np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 3.0, 5.0, 7.0])
    _, whole = loss(0.5, x, 1.0, y)
    parts = [loss(0.5, x[s], 1.0, y[s])[1] for s in (slice(0, 2), slice(2, 4))]
    total = sum(parts)  # 0 + Grad: a Grad
    assert isinstance(total, Grad) and total._fields == ("w", "b")
    assert total == whole == (-42.0, -18.0)
    step = np.array([0.5, 1.0]) - 0.01 * np.asarray(whole)
    np.testing.assert_allclose(step, [0.92, 1.18], rtol=1e-15)
    assert np.asarray(whole - parts[0]).tolist() == list(parts[1])


# --- operands that are not values -----------------------------------------------------------


@pytest.mark.parametrize(
    "other",
    [(1.0, 2.0, 3.0), [1.0, 2.0, 3.0], "x", None, {"x": 1.0}, object()],
    ids=["tuple", "list", "str", "None", "dict", "object"],
)
@pytest.mark.parametrize("symbol", list(BINARY))
def test_other_operands_are_type_errors(symbol: str, other: Any) -> None:
    """No tuple concatenation or repetition, no object arrays: a TypeError either way round."""
    g = scalar_grad()
    with pytest.raises(TypeError):
        BINARY[symbol](g, other)
    with pytest.raises(TypeError):
        BINARY[symbol](other, g)


def test_adding_a_tuple_says_how_to_concatenate() -> None:
    with pytest.raises(TypeError, match=r"\(\*grad, \*other\)"):
        scalar_grad() + (1.0,)  # noqa: RUF005 (the concatenation is what is refused)


@pytest.mark.parametrize("symbol", list(BINARY))
def test_grads_with_other_fields_are_refused(symbol: str) -> None:
    g = scalar_grad()
    for fields in (("x", "y"), ("y", "x", "z")):
        other = Grad([1.0] * len(fields), fields)
        with pytest.raises(ValueError, match=r"\(x, y, z\) and \(" + ", ".join(fields) + r"\)"):
            BINARY[symbol](g, other)


# --- NumPy's own arithmetic gives a Grad ------------------------------------------------------


def test_numpy_scalars_and_arrays_on_the_left_give_a_grad() -> None:
    g = scalar_grad()
    a = np.asarray(g)
    check_grad_result(np.float64(0.1) * g, np.float64(0.1) * a)
    check_grad_result(np.ones(3) * g, np.ones(3) * a[:, np.newaxis])
    check_grad_result(np.float32(2) + g, np.float32(2) + a)
    check_grad_result(np.arange(3.0) - g, np.arange(3.0) - a[:, np.newaxis])
    check_grad_result(np.array(4.0) / g, 4.0 / a)  # a 0-d array


def test_numpy_arithmetic_ufuncs_give_a_grad() -> None:
    g, h = scalar_grad(), scalar_grad((2.0, 4.0, 8.0))
    check_grad_result(np.add(g, h), np.asarray(g) + np.asarray(h))
    check_grad_result(np.multiply(g, 3.0), np.asarray(g) * 3.0)
    check_grad_result(np.divide(1.0, h), 1.0 / np.asarray(h))
    check_grad_result(np.negative(g), -np.asarray(g))
    with pytest.raises(ValueError, match="different fields"):
        np.add(g, Grad([1.0, 2.0, 3.0], ("a", "b", "c")))


def test_other_numpy_functions_see_the_stacked_array() -> None:
    g = scalar_grad()
    assert np.sum(g) == -0.25 and np.max(g) == 1.5
    assert np.linalg.norm(g) == np.linalg.norm([1.5, -2.0, 0.25])
    assert isinstance(np.abs(g), np.ndarray) and np.isfinite(g).all()
    np.testing.assert_allclose(g, [1.5, -2.0, 0.25])


def test_inplace_numpy_add_of_a_grad_is_a_type_error() -> None:
    """`a += g` cannot put a Grad into the ndarray `a` (and must not stack silently)."""
    a = np.zeros(3)
    with pytest.raises(TypeError):
        a += scalar_grad()
    assert not a.any()
    total = 0.0
    total += scalar_grad()  # a number accumulates into a Grad
    assert isinstance(total, Grad)


# --- still a tuple ----------------------------------------------------------------------------


def test_tuple_behaviour_is_kept() -> None:
    g = scalar_grad()
    x, y, z = g
    assert (x, y, z) == (1.5, -2.0, 0.25) == g
    assert g[1] == g.y == g["y"] == -2.0 and g[-1] == 0.25 and g[:2] == (1.5, -2.0)
    assert hash(g) == hash((1.5, -2.0, 0.25)) and {g: 1}[(1.5, -2.0, 0.25)] == 1
    assert len(g) == 3 and list(g) == [1.5, -2.0, 0.25] and g._asdict()["z"] == 0.25
    assert (*g, 4.0) == (1.5, -2.0, 0.25, 4.0)
    with pytest.raises(KeyError, match="did you mean 'x'"):
        g["xx"]


def test_results_of_arithmetic_pickle() -> None:
    g = 2.0 * array_grad()
    back = pickle.loads(pickle.dumps(g))
    assert back._fields == FIELDS and back.y is not g.y
    np.testing.assert_array_equal(np.asarray(back), np.asarray(g))


def test_docstring_example() -> None:
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner()
    for test in finder.find(Grad, "Grad", globs={"Grad": Grad, "np": np}):
        runner.run(test)
    assert runner.summarize(verbose=False) == doctest.TestResults(0, 4)


# --- linearity --------------------------------------------------------------------------------

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@given(
    a=finite,
    b=finite,
    g=st.tuples(finite, finite, finite),
    h=st.tuples(finite, finite, finite),
)
def test_linear_combinations_are_elementwise(
    a: float, b: float, g: tuple[float, ...], h: tuple[float, ...]
) -> None:
    gg, hh = Grad(g, FIELDS), Grad(h, FIELDS)
    got = a * gg + hh * b
    check_grad_result(got, a * np.asarray(g) + np.asarray(h) * b)
    check_grad_result(gg - hh / 2.0, np.asarray(g) - np.asarray(h) / 2.0)
