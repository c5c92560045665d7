"""Zero tangents and zero cotangents are exact zeros in every mode (DESIGN.md section 5).

A direction of 0 along an input is the same as no direction at all, so `0 * inf` from an
unused direction never becomes NaN:

- a jvp with a one-hot tangent equals the matching component of the reverse-mode gradient,
  wherever that is finite;
- a vjp with a one-hot cotangent on a program with two outputs equals that output's gradient;
- an hvp with a one-hot tangent equals the Hessian's column (forward over reverse with a
  constant seed), wherever that is finite;

over random formulas (tests/strategies.py) joined to a singular piece (`sqrt(x)`, `x^z`,
`atan2(x, y)`, ...) at points that hit the singularities. Then the faults of release 0.1.0,
one by one, on every backend: each of these tests fails there.

Formulas run on the NumPy interpreter (no Numba compile per example) and are compiled once
each (`compiled`); the explicit cases compile once per backend.
"""

from __future__ import annotations

import math
from functools import cache

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from strategies import INPUTS, formulas

import adcompile as adc
from adcompile.ir.graph import Graph

BACKENDS = ("numba", "vm", "numpy")
HUGE = 1e8  # gradients beyond this are skipped: rounding then differs by more than 1e-12

#: Pieces singular at 0 (an infinite or NaN partial there) over the inputs x, y, z.
SINGULAR = (
    "sqrt(x)", "cbrt(y)", "sqrt(x*y)", "x^z", "y^x", "atan2(x, y)", "hypot(z, x)",
    "log(abs(x))", "1/y", "where(x > 0, log(x), 0)", "sqrt(abs(z))", "relu(x)*sqrt(y)",
)  # fmt: skip

#: Coordinates: the singular values themselves, or moderate numbers (away from 1e-300,
#: where 1/y would overflow differently in the two modes).
coordinates = st.one_of(
    st.sampled_from((0.0, -0.0, 1.0, -1.0, 0.5)),
    st.floats(0.01, 2.0).flatmap(lambda v: st.sampled_from((v, -v))),
)
singular_points = st.tuples(coordinates, coordinates, coordinates)


@cache
def compiled(text: str, backend: str = "numpy") -> adc.Formula:
    return adc.compile(text, inputs=INPUTS, backend=backend)  # type: ignore[arg-type]


@st.composite
def singular_formulas(draw: st.DrawFn) -> str:
    """A random formula joined to a singular piece by + or *."""
    body = draw(formulas(smooth=False, max_depth=3))
    piece = draw(st.sampled_from(SINGULAR))
    return f"({body}) {draw(st.sampled_from('+*'))} {piece}"


def one_hot(k: int, n: int = len(INPUTS)) -> tuple[float, ...]:
    return tuple(float(j == k) for j in range(n))


def usable(g: float) -> bool:
    return math.isfinite(g) and abs(g) < HUGE


def close(got: float, want: float) -> bool:
    return abs(got - want) <= 1e-12 * max(1.0, abs(want))


# --- properties over random formulas --------------------------------------------------------


@settings(max_examples=200)
@given(text=singular_formulas(), point=singular_points)
def test_jvp_along_a_unit_vector_is_the_gradient_component(
    text: str, point: tuple[float, float, float]
) -> None:
    f = compiled(text)
    _, grad = f.value_and_grad()(*point)
    for k, name in enumerate(INPUTS):
        if not usable(grad[k]):
            continue
        _, tangent = f.jvp()(*point, tangents=one_hot(k))
        note(f"d/d{name}: reverse {grad[k]!r}, forward {tangent!r}")
        assert close(tangent, grad[k]), f"d/d{name} at {point}: jvp {tangent}, grad {grad[k]}"


@st.composite
def two_outputs(draw: st.DrawFn) -> str:
    return f"p = {draw(singular_formulas())}\nq = {draw(singular_formulas())}\np, q"


@settings(max_examples=100)
@given(text=two_outputs(), point=singular_points)
def test_vjp_with_a_one_hot_cotangent_is_that_outputs_gradient(
    text: str, point: tuple[float, float, float]
) -> None:
    f = compiled(text)
    jac = f.jacobian()(*point)  # 2 outputs, 3 inputs: a reverse sweep per output, seed 1.0
    for k in range(2):
        _, pulled = f.vjp()(*point, cotangents=one_hot(k, 2))
        for j, name in enumerate(INPUTS):
            if usable(jac[k, j]):
                # the other output's contributions are exact zeros: the same sums, bit for bit
                assert pulled[j] == jac[k, j], f"output {k}, d/d{name}: {pulled[j]}, {jac[k, j]}"


@settings(max_examples=100)
@given(text=singular_formulas(), point=singular_points)
def test_hvp_along_a_unit_vector_is_the_hessian_column(
    text: str, point: tuple[float, float, float]
) -> None:
    f = compiled(text)
    hessian = f.hessian()(*point)
    for k in range(len(INPUTS)):
        hv = f.hvp()(*point, tangents=one_hot(k))
        for j, name in enumerate(INPUTS):
            if math.isfinite(hessian[j, k]):
                assert hv[j] == hessian[j, k], f"H[{name}, {k}]: hvp {hv[j]}, H {hessian[j, k]}"


# --- the faults of 0.1.0 ----------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_forward_mode_ignores_an_infinite_partial_along_a_zero_tangent(backend: str) -> None:
    """sqrt(x) + y at x = 0 along (0, 1): the tangent is 1, not 0 * sqrt'(0) + 1 = nan."""
    f = compiled("sqrt(x) + y", backend)
    _, grad = f.value_and_grad()(0.0, 1.0, 2.0)
    assert tuple(grad) == (math.inf, 1.0, 0.0)
    assert f.jvp()(0.0, 1.0, 2.0, tangents=(0.0, 1.0, 0.0)) == (1.0, 1.0)
    assert f.jvp()(0.0, 1.0, 2.0, tangents={"y": 1.0})[1] == 1.0  # missing entries are 0
    # in a batch, point by point
    _, tangent = f.jvp()(np.zeros(3), 1.0, 2.0, tangents=(np.array([0.0, 1.0, 0.0]), 1.0, 0.0))
    assert tangent[0] == tangent[2] == 1.0 and tangent[1] == math.inf


@pytest.mark.parametrize("backend", BACKENDS)
def test_hvp_ignores_an_infinite_partial_along_a_zero_tangent(backend: str) -> None:
    """H v of sqrt(x) + y^2 at x = 0 along (0, 1) is the reverse-mode gradient of the
    y-derivative 2*y: (0, 2)."""
    f = compiled("sqrt(x) + y^2", backend)
    hv = f.hvp()(0.0, 1.0, 0.0, tangents={"y": 1.0})
    assert tuple(hv) == tuple(compiled("2*y", backend).value_and_grad()(0.0, 1.0, 0.0)[1])
    assert tuple(hv) == (0.0, 2.0, 0.0)
    assert tuple(f.hessian()(0.0, 1.0, 0.0)[:, 1]) == (0.0, 2.0, 0.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_vjp_with_a_zero_cotangent_is_the_other_outputs_gradient(backend: str) -> None:
    f = compiled("u = sqrt(x)\nv = x*y + z\nu, v", backend)
    _, pulled = f.vjp()(0.0, 3.0, 1.0, cotangents=(0.0, 1.0))
    assert tuple(pulled) == (3.0, 0.0, 1.0)
    assert tuple(pulled) == tuple(compiled("x*y + z", backend).value_and_grad()(0.0, 3.0, 1.0)[1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_power_at_zero_to_the_zero(backend: str) -> None:
    """x^y at (0, 0): d/dx is y * x^(y-1) = 0 * inf; by convention 0 (x^0 = 1 for all x)."""
    f = compiled("x^y", backend)
    assert f.value_and_grad()(0.0, 0.0, 0.0) == (1.0, (0.0, 0.0, 0.0))
    assert f.jvp()(0.0, 0.0, 0.0, tangents=(1.0, 0.0, 0.0)) == (1.0, 0.0)
    assert f.hessian()(0.0, 0.0, 0.0)[0, 0] == 0.0  # d2/dx2 of x^0 = 1
    assert f.value_and_grad()(2.0, 0.0, 0.0)[1][0] == 0.0


def test_a_constant_exponent_folds_the_guard_away() -> None:
    """x^2's rule is 2*x in the generated code: no `if` of the y == 0 convention."""
    for text in ("x^2", "x^3 * y", "x^-1"):
        for kind in ("value_and_grad", "hessian", "jacobian"):
            source = getattr(adc.compile(text), kind)().source
            assert " if " not in source, (text, kind, source)
    assert "2.0 * x" in adc.compile("x^2").value_and_grad().source.replace("x * 2.0", "2.0 * x")


def test_guarded_products_fold_at_constant_seeds() -> None:
    """mul0(0, b) is 0 even for b = inf or NaN; mul0(c, b) for a nonzero constant c is c*b."""
    g = Graph()
    b = g.input("b")
    for zero in (0.0, -0.0):
        assert g.const_value(g.apply("mul0", g.const(zero), b)) == 0.0
    assert g.const_value(g.apply("mul0", g.const(0.0), g.const(math.nan))) == 0.0
    assert g.nodes[g.apply("mul0", g.const(2.0), b)].op == "mul"
    assert g.apply("mul0", g.const(1.0), b) == b


def test_gradients_jacobians_and_hessians_keep_plain_products() -> None:
    """Constant seeds (1.0) cost nothing: no guard in value_and_grad, jacobian or hessian of a
    smooth formula, while a jvp, whose tangents may be 0 at run time, guards each product."""
    rosenbrock = "100*(y - x^2)^2 + (1 - x)^2 + 100*(z - y^2)^2 + (1 - y)^2"
    f = adc.compile(rosenbrock)
    for kind in ("value_and_grad", "jacobian", "hessian"):
        assert " if " not in getattr(f, kind)().source, kind
    assert " if d_x == 0.0 else " in f.jvp().source
    assert " if " in f.hvp().source and " if " in f.vjp().source


def _ulps(got: float, want: mp.mpf) -> float:
    return float(abs(mp.mpf(got) - want) / math.ulp(float(want)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_tanh_slope_in_the_tails(backend: str) -> None:
    """1 - tanh(x)^2 is 0 from |x| ~ 19 on; tanh'(20) is 4 exp(-40) / (1 + exp(-40))^2."""
    f = compiled("tanh(x)", backend)
    with mp.workdps(50):
        for x in (20.0, -20.0, 40.0, 300.0):
            slope = 1 / mp.cosh(mp.mpf(x)) ** 2
            curvature = -2 * mp.tanh(mp.mpf(x)) * slope
            assert _ulps(f.value_and_grad()(x, 0.0, 0.0)[1][0], slope) <= 4, x
            assert _ulps(f.hessian()(x, 0.0, 0.0)[0, 0], curvature) <= 8, x
    assert f.value_and_grad()(20.0, 0.0, 0.0)[1][0] == pytest.approx(1.6993417021166355e-17)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("scale", [1e200, 1e-200, 1e100, 1e-100, 1.0])
def test_atan2_slopes_at_huge_and_tiny_scales(backend: str, scale: float) -> None:
    """x/(x^2 + y^2) overflows to 0 at 1e200 and to inf at 1e-200; (x/h)/h does neither."""
    f = compiled("atan2(x, y)", backend)
    x, y = 0.6 * scale, -1.7 * scale
    _, grad = f.value_and_grad()(x, y, 0.0)
    hessian = f.hessian()(x, y, 0.0)
    with mp.workdps(50):
        X, Y = mp.mpf(x), mp.mpf(y)
        r2 = X * X + Y * Y
        assert _ulps(grad[0], Y / r2) <= 4 and _ulps(grad[1], -X / r2) <= 4
        if scale in (1e100, 1e-100, 1.0):  # second derivatives ~ 1/scale^2: still normal
            h_xx, h_xy = -2 * X * Y / r2**2, (X * X - Y * Y) / r2**2
            assert _ulps(hessian[0, 0], h_xx) <= 16 and _ulps(hessian[0, 1], h_xy) <= 16
            assert _ulps(hessian[1, 1], -h_xx) <= 16


@pytest.mark.parametrize("backend", BACKENDS)
def test_atan2_and_hypot_at_the_origin_and_at_nan(backend: str) -> None:
    """The origin takes the convention (0); a NaN argument gives NaN, not the convention."""
    f = compiled("atan2(x, y) + hypot(x, y)", backend)
    assert tuple(f.value_and_grad()(0.0, 0.0, 0.0)[1]) == (0.0, 0.0, 0.0)
    _, grad = f.value_and_grad()(math.nan, 1.0, 0.0)
    assert math.isnan(grad[0]) and math.isnan(grad[1])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "text", ["sqrt(where(x > 0, x, 0))", "sqrt(relu(x))", "log(max(x, 0)) * 0 + sqrt(relu(x))"]
)
def test_reverse_mode_branch_not_taken_meets_an_infinite_adjoint(text: str, backend: str) -> None:
    """Above a selecting op the adjoint is inf (sqrt'(0)); the side not selected has partial
    0, and the product must be 0 (the function is constant there), in every mode."""
    f = adc.compile(text, backend=backend)
    assert f.value_and_grad()(-1.0)[1] == (0.0,)
    assert f.jvp()(-1.0, tangents=1.0)[1] == 0.0
    assert f.hessian()(-1.0)[0, 0] == 0.0
    np.testing.assert_array_equal(f.grad("x")(np.array([-2.0, -1.0, 4.0])), [0.0, 0.0, 0.25])
