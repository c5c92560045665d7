"""The textbook optimisation functions (tests/vectors/textbook.py) on vectors.

At n = 2, 10, 1,000 and random points of each function's usual domain: value and gradient
against the mpmath reference (30 digits), the gradient against forward mode (jvp) and vjp,
Hessian-vector products against a high-precision difference of the analytic gradient, the
known minima, batches; at n = 100,000 value and gradient against NumPy.

Tolerances are normwise: max |error| <= rtol * max |reference| with rtol = 1e-12 (1e-10 for
the two functions whose trigonometric arguments grow with n, see `Textbook.rtol`).
"""

from __future__ import annotations

import zlib
from typing import Any

import mpmath
import numpy as np
import pytest

from vectors.textbook import (
    FUNCTIONS,
    MP,
    NP,
    Textbook,
    assert_close,
    compiled,
    hvp_reference,
    index,
    reference,
    to_mp,
)

SIZES = (2, 10, 1000)
ids = [fn.name for fn in FUNCTIONS]


def rng_for(fn: Textbook, n: int, salt: str = "") -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{fn.name}/{n}/{salt}".encode()))


def point(fn: Textbook, n: int, batch: tuple[int, ...] = ()) -> np.ndarray:
    lo, hi = fn.domain
    return rng_for(fn, n).uniform(lo, hi, (*batch, fn.size(n)))


def inputs(fn: Textbook, x: np.ndarray) -> dict[str, Any]:
    """The call's inputs by name: x, and the index vector i = 1..n where the formula uses it."""
    return {"x": x, "i": index(x.shape[-1])} if fn.indexed else {"x": x}


@pytest.mark.parametrize("fn", FUNCTIONS, ids=ids)
def test_reference_gradient_is_the_derivative(fn: Textbook) -> None:
    """The data's analytic gradient against mpmath.diff of its value (checks the references)."""
    n = fn.size(3)
    x = point(fn, 3)
    with mpmath.workdps(30):
        xs, i = to_mp(x), to_mp(index(n))

        def along(k: int) -> Any:
            def f(t: Any) -> Any:
                y = xs.copy()
                y[k] = t
                return fn.value(y, i, MP)

            return f

        numeric = [float(mpmath.diff(along(k), xs[k])) for k in range(n)]
        analytic = np.array(fn.grad(xs, i, MP), dtype=float)
    assert_close(analytic, numeric, 1e-15, f"{fn.name} reference gradient")


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("fn", FUNCTIONS, ids=ids)
def test_value_and_gradient(fn: Textbook, n: int) -> None:
    x = point(fn, n)
    want_value, want_grad = reference(fn, x)
    f = compiled(fn.text)
    assert f(**inputs(fn, x)) == pytest.approx(want_value, rel=fn.rtol, abs=0)
    value, grad = f.value_and_grad(["x"])(**inputs(fn, x))
    assert isinstance(value, float)
    assert value == pytest.approx(want_value, rel=fn.rtol, abs=0)
    assert grad.x.shape == x.shape
    assert_close(grad.x, want_grad, fn.rtol, f"{fn.name} gradient at n={x.size}")


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("fn", FUNCTIONS, ids=ids)
def test_jvp_matches_gradient(fn: Textbook, n: int) -> None:
    """Forward mode against reverse mode: jvp(v) == grad . v, for random tangents v."""
    x = point(fn, n)
    v = rng_for(fn, n, "tangent").standard_normal(x.shape)
    f = compiled(fn.text)
    value, grad = f.value_and_grad(["x"])(**inputs(fn, x))
    jv_value, jv = f.jvp(["x"])(**inputs(fn, x), tangents=v)
    assert jv_value == value
    scale = float(np.linalg.norm(grad.x) * np.linalg.norm(v))
    assert abs(jv - grad.x @ v) <= fn.rtol * scale, (jv, grad.x @ v)


@pytest.mark.parametrize("fn", FUNCTIONS, ids=ids)
def test_vjp_scales_gradient(fn: Textbook) -> None:
    x = point(fn, 10)
    f = compiled(fn.text)
    value, grad = f.value_and_grad(["x"])(**inputs(fn, x))
    vj_value, vj = f.vjp(["x"])(**inputs(fn, x), cotangents=-2.5)
    assert vj_value == value
    assert_close(vj.x, -2.5 * grad.x, 1e-15, "vjp")


@pytest.mark.parametrize("n", [2, 10])
@pytest.mark.parametrize("fn", FUNCTIONS, ids=ids)
def test_hvp(fn: Textbook, n: int) -> None:
    x = point(fn, n)
    v = rng_for(fn, n, "hvp").standard_normal(x.shape)
    got = compiled(fn.text).hvp(["x"])(**inputs(fn, x), tangents=v)
    assert_close(got.x, hvp_reference(fn, x, v), fn.rtol * 100, f"{fn.name} hvp at n={x.size}")


MINIMA = [fn for fn in FUNCTIONS if fn.minimum is not None]


@pytest.mark.parametrize("n", [2, 10, 1000])
@pytest.mark.parametrize("fn", MINIMA, ids=[fn.name for fn in MINIMA])
def test_known_minimum(fn: Textbook, n: int) -> None:
    """At the known minimiser: the known minimum, and a gradient of (nearly) zero."""
    assert fn.minimum is not None
    x, fmin = fn.minimum(fn.size(n))
    value, grad = compiled(fn.text).value_and_grad(["x"])(**inputs(fn, x))
    assert value == pytest.approx(fmin, rel=1e-12, abs=1e-12)
    _, scale = reference(fn, point(fn, n))  # the gradient's size at a typical point
    assert np.max(np.abs(grad.x)) <= 1e-12 * max(1.0, float(np.max(np.abs(scale))))


def test_minimum_is_exact_where_arithmetic_is() -> None:
    """Rosenbrock at ones and trid at i(n+1-i) are exact in float64: value and gradient."""
    for name, n in (("rosenbrock", 1000), ("trid", 1000)):
        fn = next(f for f in FUNCTIONS if f.name == name)
        assert fn.minimum is not None
        x, fmin = fn.minimum(n)
        value, grad = compiled(fn.text).value_and_grad()(x)
        assert value == fmin
        assert not np.any(grad.x), name


@pytest.mark.parametrize("fn", FUNCTIONS, ids=ids)
def test_batch_rows_are_points(fn: Textbook) -> None:
    """x of shape (4, n) (the index vector shared, shape (n,)): row k is the point x[k]."""
    xs = point(fn, 10, batch=(4,))
    f = compiled(fn.text).value_and_grad(["x"])
    values, grads = f(**inputs(fn, xs))
    assert values.shape == (4,)
    assert grads.x.shape == xs.shape
    for k in range(4):
        value, grad = f(**inputs(fn, xs[k]))
        assert values[k] == pytest.approx(value, rel=1e-14, abs=0)
        assert_close(grads.x[k], grad.x, 1e-14, f"row {k}")


@pytest.mark.parametrize("name", ["rosenbrock", "rastrigin", "ackley", "dixon_price", "trid"])
def test_100000(name: str) -> None:
    """n = 100,000: value and gradient against the textbook formulas in NumPy float64."""
    fn = next(f for f in FUNCTIONS if f.name == name)
    x = point(fn, 100_000)
    i = index(x.size)
    value, grad = compiled(fn.text).value_and_grad(["x"])(**inputs(fn, x))
    assert value == pytest.approx(fn.value(x, i, NP), rel=1e-12, abs=0)
    assert_close(grad.x, fn.grad(x, i, NP), 1e-12, f"{name} gradient at n=100000")
