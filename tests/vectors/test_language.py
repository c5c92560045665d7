"""The vector part of the language (DESIGN.md section 2b): reductions, subscripts, slices,
len, dot, batches, reduce=, programs with vector intermediates, the least-squares form.

Reductions: value against NumPy, gradient against mpmath.diff (30 digits) and the Hessian
against mpmath's second partials, plus the overflow-safe and exact-at-zero special cases.
The errors and `shapes=` are in tests/vectors/test_errors.py.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import mpmath
import numpy as np
import pytest

import adcompile as adc
from vectors.textbook import BACKEND, assert_close


@cache
def vc(text: str, **shapes: Any) -> adc.Formula:
    return adc.compile(text, backend=BACKEND, shapes=shapes or None)


MpFn = Callable[[Sequence[Any]], Any]

#: reduction -> (NumPy value, mpmath value of a list of mpf)
REDUCTIONS: dict[str, tuple[Callable[[np.ndarray], Any], MpFn]] = {
    "sum": (lambda a: np.sum(a, axis=-1), mpmath.fsum),
    "prod": (lambda a: np.prod(a, axis=-1), mpmath.fprod),
    "mean": (lambda a: np.mean(a, axis=-1), lambda v: mpmath.fsum(v) / len(v)),
    "min": (lambda a: np.min(a, axis=-1), min),
    "max": (lambda a: np.max(a, axis=-1), max),
    "norm": (lambda a: np.linalg.norm(a, axis=-1), lambda v: mpmath.norm(list(v))),
    "logsumexp": (
        lambda a: np.log(np.sum(np.exp(a), axis=-1)),
        lambda v: mpmath.log(mpmath.fsum(mpmath.exp(t) for t in v)),
    ),
}  # fmt: skip
NAMES = list(REDUCTIONS)


def _one_hot(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    return np.eye(x.shape[-1])[k]


def _prod_except(x: np.ndarray) -> np.ndarray:
    return np.stack([np.prod(np.delete(x, k, axis=-1), axis=-1) for k in range(x.shape[-1])], -1)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


#: reduction -> its gradient in NumPy (along the last axis)
GRADIENTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sum": np.ones_like,
    "prod": _prod_except,
    "mean": lambda a: np.ones_like(a) / a.shape[-1],
    "min": lambda a: _one_hot(a, np.argmin(a, axis=-1)),
    "max": lambda a: _one_hot(a, np.argmax(a, axis=-1)),
    "norm": lambda a: a / np.linalg.norm(a, axis=-1, keepdims=True),
    "logsumexp": _softmax,
}


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """Random numbers that depend on the test only, not on which tests ran before."""
    return np.random.default_rng(zlib.crc32(request.node.name.encode()))


def composite(name: str) -> tuple[str, Callable[..., Any]]:
    """`name(sin(x)*y + x)` as text and as an mpmath function of the 2n scalars."""

    def mp(*args: Any) -> Any:
        n = len(args) // 2
        return REDUCTIONS[name][1]([mpmath.sin(a) * b + a for a, b in zip(args[:n], args[n:])])

    return f"{name}(sin(x)*y + x)", mp


@pytest.mark.parametrize("n", [1, 4, 50])
@pytest.mark.parametrize("name", NAMES)
def test_reduction_value_and_gradient(name: str, n: int, rng: np.random.Generator) -> None:
    x = rng.uniform(-2, 2, (3, n))  # a batch of three points
    ref, _ = REDUCTIONS[name]
    values, grads = vc(f"{name}(x)").value_and_grad()(x)
    for k in range(3):  # sums cancel: their error is relative to the sum of |terms|
        scale = np.sum(np.abs(x[k])) / (n if name == "mean" else 1)
        tol = 1e-14 * (scale if name in ("sum", "mean") else abs(ref(x[k])))
        assert abs(values[k] - ref(x[k])) <= tol, (values[k], ref(x[k]))
    assert_close(grads.x, GRADIENTS[name](x), 1e-14, f"{name} gradient")
    text, mp = composite(name)
    x, y = rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)
    value, grad = vc(text).value_and_grad()(x, y)
    with mpmath.workdps(30):
        args = [mpmath.mpf(float(a)) for a in (*x, *y)]
        want = [float(mpmath.diff(mp, args, tuple(int(k == j) for k in range(2 * n))))
                for j in range(2 * n)]  # fmt: skip
        scale = np.sum(np.abs(np.sin(x) * y + x)) if name in ("sum", "mean") else 0.0
        assert value == pytest.approx(float(mp(*args)), rel=1e-14, abs=1e-14 * scale)
    assert_close(np.concatenate([grad.x, grad.y]), want, 1e-13, f"{text} gradient")


@pytest.mark.parametrize("name", NAMES)
def test_reduction_hessian_vector_product(name: str, rng: np.random.Generator) -> None:
    """hvp of `name(sin(x)*y + x)` against the Hessian from mpmath's second partials."""
    n = 3
    text, mp = composite(name)
    x, y = rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)
    u, w = rng.standard_normal(n), rng.standard_normal(n)
    got = vc(text).hvp()(x, y, tangents=(u, w))
    with mpmath.workdps(30):
        args = [mpmath.mpf(float(a)) for a in (*x, *y)]
        hessian = np.zeros((2 * n, 2 * n))
        for j in range(2 * n):
            for k in range(j, 2 * n):
                order = tuple(int(m == j) + int(m == k) for m in range(2 * n))
                hessian[j, k] = hessian[k, j] = float(mpmath.diff(mp, args, order))
    assert_close(np.concatenate([got.x, got.y]), hessian @ np.concatenate([u, w]), 1e-10, text)


def test_logsumexp_is_stable() -> None:
    f = vc("logsumexp(x)").value_and_grad()
    for x, value, grad in (
        ([1000.0, 1000.0], 1000 + np.log(2), [0.5, 0.5]),
        ([-1000.0, -1000.0], -1000 + np.log(2), [0.5, 0.5]),
        ([1000.0, 0.0], 1000.0, [1.0, 0.0]),
        ([800.0, 800.0, 800.0, 800.0], 800 + np.log(4), [0.25] * 4),
    ):
        v, g = f(np.array(x))
        assert v == pytest.approx(value, rel=1e-15), x
        assert_close(g.x, grad, 1e-15, f"softmax at {x}")
    values, grads = f(np.array([[1000.0, 1000.0], [0.0, np.log(3)]]))  # a batch
    assert_close(values, [1000 + np.log(2), np.log(4)], 1e-15)
    assert_close(grads.x, [[0.5, 0.5], [0.25, 0.75]], 1e-15)


def test_norm_does_not_overflow_or_underflow() -> None:
    f = vc("norm(x)").value_and_grad()
    for scale in (1e200, 1e-200, 1.0):
        value, grad = f(np.array([scale, scale]))
        assert value == pytest.approx(np.sqrt(2) * scale, rel=1e-15)
        assert_close(grad.x, [np.sqrt(0.5)] * 2, 1e-15, f"norm gradient at {scale}")
    value, grad = f(np.array([3.0, -4.0]))
    assert value == 5.0
    assert_close(grad.x, [0.6, -0.8], 1e-15)


def test_norm_of_zeros() -> None:
    value, grad = vc("norm(x)").value_and_grad()(np.zeros(3))
    assert value == 0.0
    assert np.array_equal(grad.x, np.zeros(3))  # 0, not NaN
    values, grads = vc("norm(x)").value_and_grad()(np.array([[0.0, 0.0], [0.0, 2.0]]))
    assert np.array_equal(values, [0.0, 2.0])
    assert np.array_equal(grads.x, [[0.0, 0.0], [0.0, 1.0]])


@pytest.mark.parametrize(
    ("name", "x", "first"),
    [
        ("max", [1.0, 3.0, 3.0, 2.0], 1),
        ("max", [7.0, 7.0, 7.0], 0),
        ("max", [-1.0, 5.0, 0.0, 5.0, 5.0], 1),
        ("min", [2.0, 1.0, 1.0, 5.0], 1),
        ("min", [0.0, 4.0, 0.0], 0),
        ("min", [3.0, 2.0, 9.0, 2.0], 1),
    ],
)
def test_max_min_gradient_goes_to_the_first_extreme(name: str, x: list[float], first: int) -> None:
    value, grad = vc(f"{name}(x)").value_and_grad()(np.array(x))
    assert value == (max(x) if name == "max" else min(x))
    assert np.array_equal(grad.x, np.eye(len(x))[first])
    # forward mode picks the same element
    _, tangent = vc(f"{name}(x)").jvp()(np.array(x), tangents=np.arange(1.0, len(x) + 1))
    assert tangent == first + 1


@pytest.mark.parametrize(
    ("x", "grad"),
    [
        ([2.0, 0.0, 3.0, 4.0], [0.0, 24.0, 0.0, 0.0]),
        ([0.0, 0.0, 3.0], [0.0, 0.0, 0.0]),
        ([0.0], [1.0]),
        ([5.0, -2.0, 0.5], [-1.0, 2.5, -10.0]),
    ],
)
def test_prod_gradient_is_exact_at_zeros(x: list[float], grad: list[float]) -> None:
    value, g = vc("prod(x)").value_and_grad()(np.array(x))
    assert value == np.prod(x)
    assert np.array_equal(g.x, grad)  # products of the others: no 0/0


@pytest.mark.parametrize(
    ("text", "k"), [("x[0]", 0), ("x[2]", 2), ("x[-1]", 4), ("x[-5]", 0), ("x[2*2 - 1]", 3)]
)
def test_index(text: str, k: int, rng: np.random.Generator) -> None:
    x = rng.standard_normal((3, 5))
    values, grads = vc(f"{text}^3").value_and_grad()(x)
    assert np.array_equal(values, x[:, k] ** 3)
    want = np.zeros_like(x)
    want[:, k] = 3 * x[:, k] ** 2
    assert_close(grads.x, want, 1e-15, text)


SLICES = {
    "[1:]": slice(1, None), "[:-1]": slice(None, -1), "[::2]": slice(None, None, 2),
    "[1::3]": slice(1, None, 3), "[::-1]": slice(None, None, -1), "[5:1:-2]": slice(5, 1, -2),
    "[-3:]": slice(-3, None), "[1:100]": slice(1, 100), "[2:5]": slice(2, 5),
    "[:]": slice(None), "[-2:-8:-3]": slice(-2, -8, -3),
}  # fmt: skip


@pytest.mark.parametrize("text", SLICES)
def test_slice(text: str, rng: np.random.Generator) -> None:
    x = rng.standard_normal(9)
    sl = SLICES[text]
    value, grad = vc(f"sum(x{text}^3)").value_and_grad()(x)
    assert value == pytest.approx(np.sum(x[sl] ** 3), rel=1e-14)
    want = np.zeros_like(x)
    want[sl] = 3 * x[sl] ** 2
    assert_close(grad.x, want, 1e-15, text)
    assert vc(f"len(x{text})")(x) == len(x[sl])


def test_slices_of_one_vector_meet(rng: np.random.Generator) -> None:
    """Differences of neighbours: x[1:] - x[:-1] (both of length n - 1)."""
    x = rng.standard_normal(6)
    value, grad = vc("sum((x[1:] - x[:-1])^2)").value_and_grad()(x)
    d = np.diff(x)
    assert value == pytest.approx(np.sum(d**2), rel=1e-14)
    want = np.zeros(6)
    want[1:] += 2 * d
    want[:-1] -= 2 * d
    assert_close(grad.x, want, 1e-14)


def test_len_and_mean(rng: np.random.Generator) -> None:
    x = rng.standard_normal((2, 7))
    assert np.array_equal(vc("len(x)")(x), [7.0, 7.0])
    value, grad = vc("len(x)*x[0]").value_and_grad()(x[0])
    assert (value, list(grad.x)) == (7 * x[0, 0], [7.0, 0, 0, 0, 0, 0, 0])
    assert_close(vc("sum(x)/len(x)")(x), np.mean(x, axis=-1), 1e-15)
    value, grad = vc("mean(x^2)").value_and_grad()(x)
    assert_close(value, np.mean(x**2, axis=-1), 1e-15)
    assert_close(grad.x, 2 * x / 7, 1e-15)


def test_dot(rng: np.random.Generator) -> None:
    a, b = rng.standard_normal(6), rng.standard_normal(6)
    value, grad = vc("dot(a, b)").value_and_grad()(a, b)
    assert value == pytest.approx(a @ b, rel=1e-14)
    assert np.array_equal(grad.a, b) and np.array_equal(grad.b, a)
    value, grad = vc("dot(x, x)").value_and_grad()(a)
    assert value == pytest.approx(a @ a, rel=1e-14)
    assert_close(grad.x, 2 * a, 1e-15)


def test_batch_with_scalar_and_shared_vector(rng: np.random.Generator) -> None:
    """x (5, n), a scalar a of shape (5,), a vector w of shape (n,) shared by the points."""
    n = 4
    x, a, w = rng.standard_normal((5, n)), rng.standard_normal(5), rng.standard_normal(n)
    f = vc("a*sum(x*w) + logsumexp(x - w)")
    values, grads = f.value_and_grad()(x=x, a=a, w=w)
    assert values.shape == (5,) and grads.a.shape == (5,)
    assert grads.x.shape == (5, n) and grads.w.shape == (5, n)
    for k in range(5):
        value, grad = f.value_and_grad()(x=x[k], a=a[k], w=w)
        assert values[k] == pytest.approx(value, rel=1e-14)
        assert grads.a[k] == pytest.approx(grad.a, rel=1e-14)
        assert_close(grads.x[k], grad.x, 1e-14)
        assert_close(grads.w[k], grad.w, 1e-14)
        p = np.exp(x[k] - w) / np.sum(np.exp(x[k] - w))
        assert_close(grad.x, a[k] * w + p, 1e-14)
        assert_close(grad.w, a[k] * x[k] - p, 1e-14)
    total, summed = f.value_and_grad(reduce="sum")(x=x, a=a, w=w)
    assert isinstance(total, float) and total == pytest.approx(values.sum(), rel=1e-14)
    assert isinstance(summed.a, float) and summed.a == pytest.approx(grads.a.sum(), rel=1e-14)
    assert_close(summed.x, grads.x.sum(axis=0), 1e-14)
    assert_close(summed.w, grads.w.sum(axis=0), 1e-14)


def test_batch_axes_broadcast(rng: np.random.Generator) -> None:
    """x of shape (2, 3, n) and a scalar input of shape (3,): batch (2, 3)."""
    x, c = rng.standard_normal((2, 3, 4)), rng.standard_normal(3)
    values, grads = vc("c*max(x)").value_and_grad()(c, x)
    assert values.shape == (2, 3) and grads.c.shape == (2, 3) and grads.x.shape == (2, 3, 4)
    assert_close(values, c * np.max(x, axis=-1), 1e-15)
    assert_close(grads.c, np.max(x, axis=-1), 1e-15)
    assert_close(grads.x, c[:, None] * (x == np.max(x, axis=-1, keepdims=True)), 1e-15)


def test_scalar_broadcast_into_vector_is_summed_back(rng: np.random.Generator) -> None:
    """`sum((x - c)^2)` with c a scalar: dc = -2 sum(x - c) (the unbroadcast)."""
    x, c = rng.standard_normal((3, 5)), rng.standard_normal(3)
    values, grads = vc("sum((x - c)^2)", c=()).value_and_grad()(x, c)
    assert_close(values, np.sum((x - c[:, None]) ** 2, axis=-1), 1e-14)
    assert_close(grads.c, -2 * np.sum(x - c[:, None], axis=-1), 1e-14)
    assert_close(grads.x, 2 * (x - c[:, None]), 1e-14)
    _, tangent = vc("sum((x - c)^2)", c=()).jvp()(x, c, tangents=(np.zeros(5), 1.0))
    assert_close(tangent, grads.c, 1e-14)


def test_program_with_vector_intermediates(rng: np.random.Generator) -> None:
    text = "r = y - (a + b*t)\nloss = sum(r^2)"
    t, y = rng.standard_normal(8), rng.standard_normal(8)
    value, grad = vc(text, a=(), b=()).value_and_grad()(y=y, a=0.5, b=-1.5, t=t)
    r = y - (0.5 - 1.5 * t)
    assert value == pytest.approx(np.sum(r**2), rel=1e-14)
    assert grad.a == pytest.approx(-2 * np.sum(r), rel=1e-13)
    assert grad.b == pytest.approx(-2 * np.sum(r * t), rel=1e-13)
    assert_close(grad.y, 2 * r, 1e-14)
    assert_close(grad.t, 3 * r, 1e-14)  # -2 r b with b = -1.5
    # undeclared, a and b are vectors too (they meet r elementwise)
    value2 = vc(text)(y=y, a=np.full(8, 0.5), b=np.full(8, -1.5), t=t)
    assert value2 == pytest.approx(value, rel=1e-15)


def test_program_with_several_vector_outputs() -> None:
    x = np.array([1.0, -2.0, 3.0])
    f = vc("u = exp(x)\np = u/sum(u)\np[0], max(x^2), sum(p*x)")
    p = np.exp(x) / np.sum(np.exp(x))
    assert_close(f(x), [p[0], 9.0, p @ x], 1e-15)
    values, grad = f.vjp()(x, cotangents=(1.0, 2.0, 0.0))
    assert_close(values, [p[0], 9.0, p @ x], 1e-15)
    assert_close(grad.x, p[0] * (np.eye(3)[0] - p) + [0.0, 0.0, 12.0], 1e-14)


def test_least_squares_quadratic(rng: np.random.Generator) -> None:
    t = np.linspace(-1, 2, 30)
    y = 1.0 - 2.0 * t + 0.5 * t**2 + 0.1 * rng.standard_normal(30)
    text = "sum((y - (p[0] + p[1]*t + p[2]*t^2))^2)"
    f = vc(text)
    assert f.inputs == ("y", "p", "t")
    design = np.stack([np.ones_like(t), t, t**2], axis=1)
    p = np.array([0.3, -1.0, 2.0])
    r = y - design @ p
    value, grad = f.value_and_grad()(y, p, t)
    assert value == pytest.approx(r @ r, rel=1e-14)
    assert grad.p.shape == (3,)
    assert_close(grad.p, -2 * design.T @ r, 1e-13)
    v = rng.standard_normal(3)
    assert_close(f.hvp("p")(y, p, t, tangents=v), 2 * design.T @ design @ v, 1e-13)
    best = np.linalg.lstsq(design, y, rcond=None)[0]
    _, at_best = f.value_and_grad("p")(y, best, t)
    assert np.max(np.abs(at_best)) < 1e-12 * np.max(np.abs(grad.p))


def test_two_argument_min_max_stay_elementwise() -> None:
    x = np.array([-1.5, 2.0, 0.5, -0.25])
    value, grad = vc("sum(max(x, 0) + min(x, 0)^2)").value_and_grad()(x)
    assert value == pytest.approx(2.5 + 1.5**2 + 0.25**2, rel=1e-15)
    assert np.array_equal(grad.x, [-3.0, 1.0, 1.0, -0.5])
    scalar = vc("max(a, b)")
    assert scalar(1.0, 2.0) == 2.0
    assert np.array_equal(scalar(np.array([1.0, 3.0]), 2.0), [2.0, 3.0])  # batch, no vectors


def test_tangents_by_name_default_to_zero(rng: np.random.Generator) -> None:
    """`tangents={"x": v}` leaves the other inputs' tangents zero, vectors included."""
    x, i = rng.standard_normal(4), np.arange(1.0, 5.0)
    f = vc("sum(i*x^2)")
    _, want = f.jvp(["x"])(i=i, x=x, tangents=np.ones(4))
    _, got = f.jvp()(i=i, x=x, tangents={"x": np.ones(4)})
    assert got == pytest.approx(want, rel=1e-15)


def test_hvp_has_the_inputs_shapes(rng: np.random.Generator) -> None:
    """Each component of an hvp has its input's shape, also where it is identically zero."""
    u = rng.standard_normal(5)
    got = vc("sum(u^2) + v[0]").hvp()(u, u, tangents=(np.ones(5), np.ones(5)))
    assert np.array_equal(got.u, np.full(5, 2.0))
    assert np.shape(got.v) == (5,) and not np.any(got.v)
    assert np.shape(vc("sum(u)").hvp()(u, tangents=u).u) == (5,)
