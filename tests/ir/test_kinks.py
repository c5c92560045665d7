"""The derivative conventions at kinks, jumps and branches (`ops.CONVENTIONS`), in every mode.

Each convention is checked at its exact point in reverse mode (gradients), forward mode (a JVP
along each unit vector), the Jacobian, the Hessian (where a second derivative is part of the
convention), on every backend, at a single point and inside a batch; and the README's table
lists every one of them.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import adcompile as adc
from adcompile.ir.ops import CONVENTIONS, Convention

BACKENDS = ("numba", "vm", "numpy")
README = Path(__file__).resolve().parents[2] / "README.md"


def _id(c: Convention) -> str:
    return f"{c.formula} at {c.at}"


def same(got: float, want: float) -> bool:
    """Equal, with inf == inf; NaN never passes."""
    return got == want or (math.isinf(want) and got == want)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("c", CONVENTIONS, ids=_id)
def test_convention_in_every_mode(c: Convention, backend: str) -> None:
    f = adc.compile(c.formula, backend=backend)  # type: ignore[arg-type]
    _, grad = f.value_and_grad()(*c.at)
    assert tuple(grad) == c.grad, f"reverse mode: {tuple(grad)}"
    for k, name in enumerate(f.inputs):
        unit = {name: 1.0}
        _, tangent = f.jvp()(*c.at, tangents=unit)
        assert same(tangent, c.grad[k]), f"forward mode along {name}: {tangent}"
    jac = f.jacobian()(*c.at)
    assert tuple(jac[0]) == c.grad, f"jacobian: {jac}"
    _, pulled = f.vjp()(*c.at, cotangents=1.0)
    assert tuple(pulled) == c.grad, f"vjp: {pulled}"
    if c.second is not None:
        assert f.hessian()(*c.at)[0, 0] == c.second
        assert f.hvp()(*c.at, tangents={f.inputs[0]: 1.0})[0] == c.second


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("c", CONVENTIONS, ids=_id)
def test_convention_inside_a_batch(c: Convention, backend: str) -> None:
    """The kink point among ordinary points: the batch path (and the VM's blocks) agree."""
    f = adc.compile(c.formula, backend=backend)  # type: ignore[arg-type]
    columns = [np.array([v + 0.25, v, v - 0.5]) for v in c.at]
    _, grad = f.value_and_grad()(*columns)
    assert tuple(float(g[1]) for g in grad) == c.grad
    jac = f.jacobian()(*columns)
    assert tuple(jac[1, 0]) == c.grad
    if c.second is not None:
        assert f.hessian()(*columns)[1, 0, 0] == c.second


def test_readme_lists_every_convention() -> None:
    text = README.read_text(encoding="utf-8")
    for c in CONVENTIONS:
        assert c.rule in text, f"README lacks the convention: {c.rule}"


@pytest.mark.parametrize("point", [0.0, -1.0, -math.inf])
def test_untaken_branch_never_leaks_nan(point: float) -> None:
    """JAX's classic NaN trap: the gradient of where(x > 0, log(x), 0) below 0."""
    f = adc.compile("where(x > 0, log(x), 0) + where(x > 0, sqrt(x), 0) * 3")
    assert f.grad("x")(point) == 0.0
    assert f.jvp()(point, tangents=1.0)[1] == 0.0
    assert f.hessian()(point)[0, 0] == 0.0


def test_branch_taken_still_differentiates() -> None:
    f = adc.compile("where(x > 0, log(x), 0)")
    assert f.grad("x")(2.0) == 0.5
    assert f.hessian()(2.0)[0, 0] == -0.25


def test_gradient_with_a_zero_adjoint_in_a_branch_keeps_second_derivatives() -> None:
    """d2/dx dy of where(x > 0, log(x), 0) * y at y = 0 is 1/x, although the adjoint reaching
    log is exactly 0 there (a product guarded against NaN must not lose this)."""
    f = adc.compile("where(x > 0, log(x), 0) * y")
    h = f.hessian()(2.0, 0.0)
    assert h[0, 1] == h[1, 0] == 0.5
    assert h[0, 0] == 0.0


@pytest.mark.parametrize("c", CONVENTIONS, ids=_id)
def test_convention_in_the_sympy_export(c: Convention) -> None:
    """The exported derivative (`Piecewise`, `sign`, ...) gives the same numbers at the point."""
    import sympy

    f = adc.compile(c.formula)
    exprs = f.value_and_grad().to_sympy(cse=False)
    symbols = {s.name: s for e in exprs for s in e.free_symbols}
    subs = {symbols[n]: v for n, v in zip(f.inputs, c.at) if n in symbols}
    for e, want in zip(exprs[1:], c.grad):
        got = e.subs(subs)
        if math.isinf(want):  # SymPy's 1/0 is the unsigned infinity zoo
            assert got in (sympy.zoo, sympy.oo)
        else:
            assert float(got) == want
