"""The function library (issue "4b") on every tier, generically: every library op (`ir.
special.LIBRARY`) gives the same numbers on the NumPy interpreter, the compiled Numba tier,
the VM and in the readable source, one point and batches, and inside a vector formula; its
value is SciPy's where SciPy has it. Each family's own tests (`test_library_*.py`) check
values and derivatives against mpmath; this file checks that nothing is lost between tiers."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import adcompile as adc
from adcompile.ir.ops import OPS
from adcompile.ir.special import CFUNCTIONS, LIBRARY, scipy_special

NAMES = sorted(LIBRARY)


def _points(name: str, rng: np.random.Generator, size: int) -> list[np.ndarray]:
    spec = OPS[name]
    return [
        rng.uniform(d.lo, d.hi, size) if d.hi > d.lo else np.full(size, d.lo) for d in spec.domain
    ]


def _text(name: str) -> str:
    return f"{name}({', '.join('abc'[: OPS[name].arity])})"


@pytest.mark.parametrize("name", NAMES)
def test_every_tier_gives_the_same_numbers(name: str) -> None:
    rng = np.random.default_rng(len(name))
    args = _points(name, rng, 64)
    text = _text(name)
    interp = adc.compile(text, backend="numpy").value(*args)
    compiled = adc.compile(text, backend="numba").value(*args)
    vm = adc.compile(text, backend="vm").value(*args)
    np.testing.assert_allclose(compiled, interp, rtol=1e-14, atol=1e-300)
    if OPS[name].numba or "math." in OPS[name].python:  # vectorized by math="simd"
        compiled = adc.compile(text, backend="numba", math="libm").value(*args)
    np.testing.assert_allclose(vm, compiled, rtol=0, atol=0)  # the C library's, as the VM
    namespace: dict = {}
    ev = adc.compile(text, backend="numpy").value
    exec(ev.source, namespace)  # the compiler's own text
    one = namespace["value"](*[float(a[0]) for a in args])
    np.testing.assert_allclose(one, interp[0], rtol=1e-14)
    if name in CFUNCTIONS:
        cf = CFUNCTIONS[name]
        want = getattr(scipy_special(), cf.ufunc)(*args)
        want = want[cf.pick] if cf.pick >= 0 else want
        np.testing.assert_allclose(interp, want, rtol=1e-15, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_the_library_inside_vector_formulas(name: str) -> None:
    rng = np.random.default_rng(3)
    args = _points(name, rng, 9)
    names = list("abc"[: OPS[name].arity])
    # the last argument a vector, the others scalars broadcast along it
    text = f"sum({name}({', '.join(names)}))"
    shapes = {n: (None if k == len(names) - 1 else ()) for k, n in enumerate(names)}
    point = [float(a[0]) for a in args[:-1]] + [args[-1]]
    got = adc.compile(text, shapes=shapes, backend="numba").value(*point)
    want = adc.compile(_text(name), backend="numpy").value(*point)
    np.testing.assert_allclose(got, np.sum(want), rtol=1e-13)


def _differentiable(name: str) -> list[str]:
    """The arguments of a library op with a derivative (not an order or shape parameter
    without a closed form, not one whose derivative is 0 by definition)."""
    names = list("abc"[: OPS[name].arity])
    rules = OPS[name].partials
    return [n for n, r in zip(names, rules) if r is not None and not hasattr(r, "no_closed_form")]


@pytest.mark.parametrize("name", [n for n in NAMES if _differentiable(n)])
def test_gradient_forward_reverse_and_differences_agree(name: str) -> None:
    """Reverse mode, forward mode and central differences of the op's own values agree at
    random points of its domain (each family's tests hold the mpmath-exact checks). Ops
    whose every derivative is 0 by definition (`gammasgn`, `round`) have nothing to check."""
    wrt = _differentiable(name)
    rng = np.random.default_rng(11)
    args = _points(name, rng, 16)
    f = adc.compile(_text(name), backend="numpy")
    _, grad = f.value_and_grad(wrt)(*args)
    names = list("abc"[: OPS[name].arity])
    for w, g in zip(wrt, grad):
        k = names.index(w)
        step = 1e-6 * np.maximum(1.0, np.abs(args[k]))
        up = [a + step if j == k else a for j, a in enumerate(args)]
        down = [a - step if j == k else a for j, a in enumerate(args)]
        central = (f.value(*up) - f.value(*down)) / (2 * step)
        ok = np.isfinite(central) & np.isfinite(g)
        np.testing.assert_allclose(g[ok], central[ok], rtol=1e-5, atol=1e-7)
        tangents = {n: (1.0 if n == w else 0.0) for n in wrt}
        _, forward = f.jvp(wrt)(*args, tangents=tangents)
        np.testing.assert_allclose(forward, g, rtol=1e-13, atol=1e-300)
    h = f.hessian(wrt)(*args)
    np.testing.assert_allclose(h, np.swapaxes(h, -1, -2), rtol=1e-10, atol=1e-12)


@cache
def _evaluators(name: str) -> tuple[Any, Any, list[str]]:
    f = adc.compile(_text(name), backend="numpy")
    wrt = _differentiable(name)
    return f.value_and_grad(wrt), f.jvp(wrt), wrt


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
@pytest.mark.parametrize("name", [n for n in NAMES if _differentiable(n)])
def test_property_reverse_is_forward_and_the_value_is_scipys(name: str, data: Any) -> None:
    """Hypothesis draws points across each library op's domain: the gradient (reverse
    mode) equals the directional derivatives (forward mode) along each input, and the value
    is the interpreter's own kernel (SciPy's where it has one)."""
    vg, jvp, wrt = _evaluators(name)
    names = list("abc"[: OPS[name].arity])
    point = [
        data.draw(st.floats(d.lo, d.hi) if d.hi > d.lo else st.just(d.lo), label=n)
        for n, d in zip(names, OPS[name].domain)
    ]
    value, grad = vg(*point)
    if name in CFUNCTIONS:
        cf = CFUNCTIONS[name]
        want = getattr(scipy_special(), cf.ufunc)(*point)
        want = want[cf.pick] if cf.pick >= 0 else want
        assert value == pytest.approx(float(want), rel=1e-15, nan_ok=True)
    for w, g in zip(wrt, grad):
        tangents = {n: (1.0 if n == w else 0.0) for n in wrt}
        _, forward = jvp(*point, tangents=tangents)
        assert forward == pytest.approx(g, rel=1e-13, abs=1e-300, nan_ok=True)
