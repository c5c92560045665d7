"""Derivative products: jvp, vjp, jacobian, hessian and hvp, on every backend.

References: SymPy's derivatives of the formula text (sympy.parse_expr on a Python spelling),
and the products against each other (J v = jvp, u J = vjp, H v = hvp, H symmetric).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sympy

import adcompile as adc

BACKENDS = ("numba", "vm", "numpy")

#: (formula, its SymPy spelling, a point): smooth multi-input examples
SMOOTH = [
    ("x^3 * y", "x**3 * y", (2.0, 5.0)),
    ("log(x*y) + sin(x)^2", "log(x*y) + sin(x)**2", (0.7, 1.3)),
    ("exp(-x*y) * cos(x + 2*y)", "exp(-x*y) * cos(x + 2*y)", (0.3, -0.4)),
    ("a = x*y; b = a + sin(a); b*x", "(x*y + sin(x*y))*x", (1.1, 0.6)),
    ("sqrt(x^2 + y^2) / (1 + x)", "sqrt(x**2 + y**2) / (1 + x)", (0.5, 2.0)),
]


def sympy_hessian(spelling: str, point: tuple[float, ...]) -> np.ndarray:
    x, y = sympy.symbols("x y")
    expr = sympy.sympify(spelling)
    h = sympy.hessian(expr, (x, y))
    return np.array(h.subs({x: point[0], y: point[1]}).evalf(30), dtype=float)


def sympy_gradient(spelling: str, point: tuple[float, ...]) -> np.ndarray:
    x, y = sympy.symbols("x y")
    expr = sympy.sympify(spelling)
    return np.array(
        [float(sympy.diff(expr, s).subs({x: point[0], y: point[1]}).evalf(30)) for s in (x, y)]
    )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("text", "spelling", "point"), SMOOTH)
def test_hessian_matches_sympy_and_is_symmetric(
    backend: str, text: str, spelling: str, point: tuple[float, float]
) -> None:
    h = adc.compile(text, backend=backend).hessian()(*point)  # type: ignore[arg-type]
    assert h.shape == (2, 2)
    np.testing.assert_allclose(h, sympy_hessian(spelling, point), rtol=1e-12, atol=1e-12)
    assert h[0, 1] == pytest.approx(h[1, 0], rel=1e-14, abs=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("text", "spelling", "point"), SMOOTH)
def test_products_agree_with_each_other(
    backend: str, text: str, spelling: str, point: tuple[float, float]
) -> None:
    f = adc.compile(text, backend=backend)  # type: ignore[arg-type]
    v = np.array([0.3, -1.7])
    grad = np.array(f.grad()(*point))
    np.testing.assert_allclose(grad, sympy_gradient(spelling, point), rtol=1e-12)
    value, tangent = f.jvp()(*point, tangents=tuple(v))
    assert value == f(*point)
    assert tangent == pytest.approx(grad @ v, rel=1e-13)
    _, pulled = f.vjp()(*point, cotangents=2.5)
    np.testing.assert_allclose(pulled, 2.5 * grad, rtol=1e-14)
    jac = f.jacobian()(*point)
    assert jac.shape == (1, 2)
    np.testing.assert_allclose(jac[0], grad, rtol=1e-14)
    hv = f.hvp()(*point, tangents=tuple(v))
    np.testing.assert_allclose(np.array(hv), f.hessian()(*point) @ v, rtol=1e-12, atol=1e-13)


# --- several outputs ------------------------------------------------------------------

PROGRAM = "u = x*y + z; v = sin(x) * z; w = x / y; u, v, w"


def program_jacobian(x: float, y: float, z: float) -> np.ndarray:
    return np.array([[y, x, 1.0], [np.cos(x) * z, 0.0, np.sin(x)], [1 / y, -x / y**2, 0.0]])


@pytest.mark.parametrize("backend", BACKENDS)
def test_jacobian_of_several_outputs(backend: str) -> None:
    f = adc.compile(PROGRAM, backend=backend)  # type: ignore[arg-type]
    np.testing.assert_allclose(f.jacobian()(0.5, 2.0, 3.0), program_jacobian(0.5, 2.0, 3.0))
    sub = f.jacobian(["z", "x"])(0.5, 2.0, 3.0)  # columns in wrt order
    np.testing.assert_allclose(sub, program_jacobian(0.5, 2.0, 3.0)[:, [2, 0]])


def test_jacobian_by_forward_and_by_reverse_agree() -> None:
    """3 outputs and 1 input use forward mode; 1 output and 3 inputs use reverse mode."""
    f = adc.compile(PROGRAM)
    one_column = f.jacobian("x")(0.5, 2.0, 3.0)  # forward sweeps: 1 < 3 outputs
    assert "forward mode" in f.jacobian("x").source
    assert "reverse" in f.jacobian().source
    np.testing.assert_allclose(one_column[:, 0], program_jacobian(0.5, 2.0, 3.0)[:, 0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_jacobian_over_a_batch_has_matrix_trailing_axes(backend: str) -> None:
    f = adc.compile(PROGRAM, backend=backend)  # type: ignore[arg-type]
    x = np.linspace(0.1, 1.0, 6).reshape(2, 3)
    jac = f.jacobian()(x, 2.0, 3.0)
    assert jac.shape == (2, 3, 3, 3)
    for idx in np.ndindex(2, 3):
        np.testing.assert_allclose(jac[idx], program_jacobian(x[idx], 2.0, 3.0), rtol=1e-14)
    out = np.empty((2, 3, 3, 3))
    assert f.jacobian()(x, 2.0, 3.0, out=out) is out
    np.testing.assert_array_equal(out, jac)
    total = f.jacobian(reduce="sum")(x, 2.0, 3.0)
    np.testing.assert_allclose(total, jac.sum(axis=(0, 1)), rtol=1e-13)


@pytest.mark.parametrize("backend", BACKENDS)
def test_vjp_with_a_seed_per_output_is_u_times_jacobian(backend: str) -> None:
    f = adc.compile(PROGRAM, backend=backend)  # type: ignore[arg-type]
    u = (1.0, -2.0, 0.5)
    values, grad = f.vjp()(0.5, 2.0, 3.0, cotangents=u)
    assert values == f(0.5, 2.0, 3.0)
    np.testing.assert_allclose(np.array(grad), np.array(u) @ program_jacobian(0.5, 2.0, 3.0))
    by_name = f.vjp("y")(0.5, 2.0, 3.0, cotangents={"u": 1.0, "w": 0.5})  # v's seed: 0
    assert by_name[1] == pytest.approx(1.0 * 0.5 + 0.5 * (-0.5 / 4.0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_jvp_of_several_outputs_is_jacobian_times_v(backend: str) -> None:
    f = adc.compile(PROGRAM, backend=backend)  # type: ignore[arg-type]
    v = np.array([0.2, 1.0, -3.0])
    values, tangents = f.jvp()(0.5, 2.0, 3.0, tangents=tuple(v))
    assert len(values) == len(tangents) == 3
    np.testing.assert_allclose(tangents, program_jacobian(0.5, 2.0, 3.0) @ v, rtol=1e-14)


def test_vjp_batch_with_per_point_seeds() -> None:
    """The tutorial's `z.backward(v)` for a vector z: one seed per element."""
    f = adc.compile("z = x^2; z")  # z = x**2 elementwise, x a vector
    x = np.array([1.0, 2.0, 3.0])
    seed = np.array([0.1, 1.0, 0.001])
    _, grad = f.vjp("x")(x, cotangents=seed)
    np.testing.assert_allclose(grad, 2 * x * seed)


def test_hvp_and_hessian_over_a_batch() -> None:
    f = adc.compile("x^2 * y^3 + exp(x*y)")
    x, y = np.linspace(-1, 1, 5), np.linspace(0.5, 1.5, 5)
    h = f.hessian()(x, y)
    assert h.shape == (5, 2, 2)
    hv = f.hvp()(x, y, tangents=(1.0, np.arange(5.0)))
    want = np.einsum("nij,nj->ni", h, np.stack([np.ones(5), np.arange(5.0)], axis=1))
    np.testing.assert_allclose(np.stack(hv, axis=1), want, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(h, np.swapaxes(h, 1, 2))


# --- seeds: how directions are given -----------------------------------------------------


def test_tangents_by_sequence_dict_or_single_value() -> None:
    f = adc.compile("x*y")
    jvp = f.jvp()
    assert jvp(2.0, 3.0, tangents=(1.0, 0.0)) == (6.0, 3.0)
    assert jvp(2.0, 3.0, tangents={"y": 1.0}) == (6.0, 2.0)  # missing entries are 0
    assert f.jvp("x")(2.0, 3.0, tangents=1.0) == (6.0, 3.0)
    assert f.hvp("x")(2.0, 3.0, tangents=1.0) == 0.0
    assert f.hvp()(2.0, 3.0, tangents=[1.0, 1.0]) == (1.0, 1.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({}, TypeError, r"jvp needs tangents= \(one per x, y\)"),
        ({"tangents": (1.0,)}, ValueError, r"expected 2 values \(x, y\), got 1"),
        ({"tangents": {"z": 1.0}}, TypeError, "unknown name 'z'"),
        ({"tangents": (1.0, "a")}, TypeError, r"tangents\[y\]"),
    ],
)
def test_bad_tangents_are_clear_errors(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        adc.compile("x*y").jvp()(2.0, 3.0, **kwargs)


def test_single_output_products_refuse_several_outputs() -> None:
    f = adc.compile(PROGRAM)
    for method in (f.hessian, f.hvp, f.value_and_grad):
        with pytest.raises(ValueError, match="needs a single output"):
            method()


def test_jvp_out_has_the_structure_of_the_result() -> None:
    f = adc.compile(PROGRAM)
    x = np.linspace(0, 1, 4)
    out = (tuple(np.empty(4) for _ in range(3)), tuple(np.empty(4) for _ in range(3)))
    values, tangents = f.jvp()(x, 2.0, 3.0, tangents=(1.0, 0.0, 0.0), out=out)
    assert values[0] is out[0][0] and tangents[2] is out[1][2]
    np.testing.assert_allclose(tangents[1], np.cos(x) * 3.0)


def test_generated_jvp_code_names_tangents_d_and_reads_well() -> None:
    source = adc.compile("h = sin(x) * y; h").jvp().source
    assert "def jvp(x, y, d_x, d_y):" in source
    assert "# forward mode: d_v is the derivative of v along the seed direction" in source
    assert "d_h = " in source


def test_user_names_that_look_like_tangents_do_not_clash() -> None:
    f = adc.compile("d_x * x")
    value, tangent = f.jvp()(2.0, 3.0, tangents=(1.0, 0.0))
    assert (value, tangent) == (6.0, 3.0)
    assert "def jvp(d_x_, x, d_d_x, d_x):" in f.jvp().source
