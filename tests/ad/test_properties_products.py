"""Property tests of the derivative products over random formulas (tests/strategies.py).

- forward mode == reverse mode by the dot-product test `<u, J v>`: `u . jvp(v) == vjp(u) . v`,
  on single formulas and on programs with two outputs;
- the Hessian is symmetric and equals SymPy's (mpmath at 30 digits);
- JVP, VJP, the Jacobian and the HVP agree with each other.

Formulas run on the NumPy interpreter (no compile per example) and, for one property, the VM.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
import sympy
from hypothesis import given, note, settings
from hypothesis import strategies as st
from strategies import INPUTS, formulas, points
from sympy_bridge import lambdify, symbol, to_sympy
from test_properties import HUGE, agree, exact

import adcompile as adc
from adcompile.front.parse import parse

SYMBOLS = tuple(symbol(n, real=False) for n in INPUTS)
directions = st.tuples(*(st.floats(-2.0, 2.0, allow_nan=False) for _ in INPUTS))


@cache
def compiled(text: str, backend: str = "numpy") -> adc.Formula:
    return adc.compile(text, inputs=INPUTS, backend=backend)  # type: ignore[arg-type]


def finite(*arrays: Any) -> bool:
    return all(np.all(np.isfinite(a)) and np.all(np.abs(a) < HUGE) for a in arrays)


@st.composite
def programs(draw: st.DrawFn) -> str:
    """Two random formulas as a program with two outputs."""
    first, second = (
        draw(formulas(smooth=True, max_depth=3)),
        draw(formulas(smooth=True, max_depth=3)),
    )
    return f"p = {first}\nq = {second}\np, q"


def dot_product_test(
    text: str, point: tuple[float, ...], u: np.ndarray, v: tuple[float, ...], backend: str = "numpy"
) -> None:
    f = compiled(text, backend)
    _, tangents = f.jvp()(*point, tangents=v)
    _, pulled = f.vjp()(*point, cotangents=tuple(u) if len(u) > 1 else float(u[0]))
    jv, ujt = np.atleast_1d(np.array(tangents)), np.array(pulled)
    if not finite(jv, ujt):
        return
    left, right = float(u @ jv), float(ujt @ np.array(v))
    scale = float(np.abs(u) @ np.abs(jv) + np.abs(ujt) @ np.abs(np.array(v)))
    note(f"<u, Jv> = {left}, <u J, v> = {right}")
    assert abs(left - right) <= 1e-12 * max(1.0, scale)


@given(text=formulas(smooth=False), point=points(), v=directions, u=st.floats(-2, 2))
def test_forward_equals_reverse_dot_product(
    text: str, point: tuple[float, float, float], v: tuple[float, ...], u: float
) -> None:
    dot_product_test(text, point, np.array([u]), v)


@settings(max_examples=30)
@given(
    text=programs(), point=points(), v=directions, u=st.tuples(st.floats(-2, 2), st.floats(-2, 2))
)
def test_forward_equals_reverse_dot_product_two_outputs(
    text: str, point: tuple[float, float, float], v: tuple[float, ...], u: tuple[float, float]
) -> None:
    dot_product_test(text, point, np.array(u), v)


@settings(max_examples=10)
@given(text=formulas(smooth=False), point=points(), v=directions, u=st.floats(-2, 2))
def test_forward_equals_reverse_on_the_vm(
    text: str, point: tuple[float, float, float], v: tuple[float, ...], u: float
) -> None:
    dot_product_test(text, point, np.array([u]), v, backend="vm")


@settings(max_examples=30)
@given(
    text=programs(), point=points(), v=directions, u=st.tuples(st.floats(-2, 2), st.floats(-2, 2))
)
def test_jvp_vjp_and_jacobian_agree(
    text: str, point: tuple[float, float, float], v: tuple[float, ...], u: tuple[float, float]
) -> None:
    f = compiled(text)
    jac = f.jacobian()(*point)
    assert jac.shape == (2, 3)
    if not finite(jac):
        return
    columns = [
        f.jvp()(*point, tangents=tuple(float(i == k) for i in range(3)))[1] for k in range(3)
    ]
    # Forward mode sums contributions in another order than reverse mode: where they cancel
    # (`x - x` gives the reverse sweep b + (-b)), the two agree to eps times the size of the
    # contributions, not of the result; partials here are O(1), hence the absolute 1e-15.
    np.testing.assert_allclose(np.array(columns).T, jac, rtol=1e-13, atol=1e-15)
    rows = [f.vjp()(*point, cotangents=(float(k == 0), float(k == 1)))[1] for k in range(2)]
    np.testing.assert_allclose(np.array(rows), jac, rtol=1e-13, atol=1e-300)
    _, tangents = f.jvp()(*point, tangents=v)
    np.testing.assert_allclose(
        tangents, jac @ np.array(v), rtol=1e-12, atol=1e-12 * np.abs(jac).sum()
    )


@cache
def sympy_hessian(text: str) -> list[list[Any]]:
    program = parse(text, INPUTS)
    (expr,) = to_sympy(program.graph, program.outputs, real=False)
    grads = [sympy.diff(expr, s) for s in SYMBOLS]
    return [[lambdify(SYMBOLS, sympy.diff(g, s)) for s in SYMBOLS] for g in grads]


@settings(max_examples=25)
@given(text=formulas(smooth=True, max_depth=3), point=points(), v=directions)
def test_hessian_is_symmetric_and_matches_sympy(
    text: str, point: tuple[float, float, float], v: tuple[float, ...]
) -> None:
    f = compiled(text)
    h = f.hessian()(*point)
    if not finite(h):
        return
    scale = max(1.0, float(np.abs(h).max()))
    np.testing.assert_allclose(h, h.T, rtol=0, atol=1e-12 * scale)
    hv = np.array(f.hvp()(*point, tangents=v))
    np.testing.assert_allclose(hv, h @ np.array(v), rtol=0, atol=1e-12 * scale * 6)
    reference = sympy_hessian(text)
    for i in range(3):
        for j in range(3):
            want = exact(reference[i][j], point)
            if want is None or math.isnan(h[i, j]):
                continue
            assert agree(h[i, j], want, 1e-8), f"H[{i},{j}] = {h[i, j]}, sympy {want}"
