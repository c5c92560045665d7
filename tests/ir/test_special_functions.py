"""gamma, lgamma, digamma and polygamma: values, first and second derivatives against mpmath
(50 digits), the poles as SciPy gives them, every backend and mode agreeing, and the SymPy
bridge. The worst errors (ulp) asserted here are the ones README states."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import sympy

import adcompile as adc
from adcompile.ir.numeric import _digamma, _gamma, _lgamma, _polygamma

mp.mp.dps = 50
RNG = np.random.default_rng(20260101)
#: x > 0: (0, 12), near the zero of digamma, and 1e-300 .. 1e300 (log-uniform).
POSITIVE = np.concatenate(
    [RNG.uniform(0.0, 12.0, 300), RNG.uniform(1.3, 1.6, 60), 10.0 ** RNG.uniform(-300, 300, 80)]
)
#: x < 0, not whole: between the poles, and next to them.
NEGATIVE = np.concatenate(
    [-RNG.uniform(0.0, 30.0, 200), -np.arange(1, 20) + 1e-6, -np.arange(1, 20) - 1e-9]
)
#: (value, d/dx, d2/dx2) as mpmath functions, and the worst ulp allowed on x > 0 and x < 0
#: (x < 0: away from the zeros of the function, where no float evaluation is relative).
EXACT = {
    "gamma(x)": ((mp.gamma, lambda x: mp.gamma(x) * mp.digamma(x),
               lambda x: mp.gamma(x) * (mp.digamma(x) ** 2 + mp.psi(1, x))), (4, 16, 16)),
    "lgamma(x)": ((lambda x: mp.log(abs(mp.gamma(x))), mp.digamma, lambda x: mp.psi(1, x)),
               (4, 4, 6)),
    "digamma(x)": ((mp.digamma, lambda x: mp.psi(1, x), lambda x: mp.psi(2, x)), (3, 6, 5)),
    "polygamma(2, x)": ((lambda x: mp.psi(2, x), lambda x: mp.psi(3, x),
                         lambda x: mp.psi(4, x)), (5, 6, 8)),
}  # fmt: skip


def ulps(got: float, want: mp.mpf) -> float | None:
    """|got - want| in ulps of want; None where want is not a normal float."""
    if not 2.2250738585072014e-308 <= abs(want) < 1.7976931348623157e308:
        return None
    if not math.isfinite(got):
        return math.inf
    return float(abs(mp.mpf(got) - want) / math.ulp(float(abs(want))))


def worst(text: str, xs: np.ndarray, relative_to: float = 0.0) -> list[float]:
    """The worst ulp of value, d/dx and d2/dx2 over xs (numpy backend; `relative_to`: skip
    points where |exact| < relative_to * the size of its terms, i.e. next to a zero)."""
    f = adc.compile(text, inputs=["x"], backend="numpy")
    fns = EXACT[text][0]
    vg, h = f.value_and_grad(), f.hessian()
    got = [[], [], []]
    for x in xs:
        v, (g,) = vg(float(x))
        got[0].append(float(v))
        got[1].append(float(g))
        got[2].append(float(h(float(x))[0, 0]))
    out = [0.0, 0.0, 0.0]
    for k, fn in enumerate(fns):
        for x, value in zip(xs, got[k]):
            want = fn(mp.mpf(float(x)))
            if relative_to and abs(want) < relative_to:
                continue
            e = ulps(value, want)
            if e is not None:
                out[k] = max(out[k], e)
    return out


@pytest.mark.parametrize("text", list(EXACT))
def test_values_and_derivatives_on_x_positive_are_within_the_stated_ulps(text: str) -> None:
    got = worst(text, POSITIVE)
    assert all(g <= b for g, b in zip(got, EXACT[text][1])), (text, got)


def test_negative_x_between_the_poles() -> None:
    # gamma and lgamma (the C library's) and trigamma have no zeros in the way on x < 0
    # gamma' = gamma psi vanishes where psi does: a few ulp more there
    assert worst("gamma(x)", NEGATIVE) <= [8.0, 32.0, 16.0]
    assert max(worst("lgamma(x)", NEGATIVE[:200], relative_to=0.5)[1:]) <= 300
    # digamma and lgamma vanish between the poles: away from there, a few ulp
    assert worst("digamma(x)", NEGATIVE, relative_to=1.0)[:2] <= [8.0, 8.0]


def test_large_arguments() -> None:
    assert float(_lgamma(1e300)) == pytest.approx(float(mp.loggamma(mp.mpf(1e300))), rel=1e-15)
    assert float(_gamma(171.6)) == pytest.approx(float(mp.gamma(171.6)), rel=1e-14)
    assert float(_gamma(171.7)) == math.inf
    assert float(_digamma(1e300)) == pytest.approx(float(mp.digamma(1e300)), rel=1e-15)


def test_poles_as_scipy_gives_them() -> None:
    special = pytest.importorskip("scipy.special")
    xs = np.array([0.0, -0.0, -1.0, -2.0, -2.5, 1e-300, np.inf, -np.inf, np.nan, 171.7, -1e300])
    for mine, theirs in [(_gamma, special.gamma), (_digamma, special.digamma)]:
        np.testing.assert_array_equal(mine(xs), theirs(xs))
    finite = np.isfinite(xs)  # SciPy's gammaln(-inf) is -inf, the C library's lgamma +inf
    np.testing.assert_allclose(_lgamma(xs[finite]), special.gammaln(xs[finite]), rtol=1e-14)
    for n in (1.0, 2.0, 3.0):
        np.testing.assert_allclose(_polygamma(n, xs), special.polygamma(int(n), xs), rtol=1e-13)
    assert math.isnan(float(_polygamma(1.5, 2.0))) and math.isnan(float(_polygamma(-1.0, 2.0)))


TEXT = "gamma(x) * y + lgamma(x*y) - digamma(y) + polygamma(2, x + 3) + gammaln(y) + psi(x)"
POINTS = (np.array([0.3, 2.5, -2.5, 7.25, 150.0, -0.7]), np.array([1.7, 0.4, 3.0, -1.5, 2.0, 9.0]))


@pytest.mark.parametrize("kind", ["value", "value_and_grad", "hessian"])
def test_numba_numpy_and_vm_agree(kind: str) -> None:
    results = []
    for backend in ("numpy", "vm", "numba"):
        f = adc.compile(TEXT, backend=backend)
        ev = f.value if kind == "value" else getattr(f, kind)()
        results.append(np.hstack([flat(ev(float(x), float(y))) for x, y in zip(*POINTS)]))
    for other in results[1:]:
        np.testing.assert_allclose(other, results[0], rtol=2e-15)


def flat(result: object) -> np.ndarray:
    parts = result if isinstance(result, tuple) else (result,)
    return np.hstack([np.ravel(np.asarray(p, dtype=float)) for p in parts])


def test_forward_and_reverse_agree() -> None:
    f = adc.compile(TEXT)
    for x, y in zip(*POINTS):
        _, grad = f.value_and_grad()(float(x), float(y))
        for k, t in enumerate([(1.0, 0.0), (0.0, 1.0)]):
            _, d = f.jvp()(float(x), float(y), tangents=t)
            assert float(d) == pytest.approx(float(grad[k]), rel=1e-14)


def test_hessian_against_mpmath() -> None:
    f = adc.compile("gamma(x) * lgamma(y) + digamma(x*y)")
    x, y = sympy.symbols("x y", real=True)
    expr = sympy.gamma(x) * sympy.loggamma(y) + sympy.polygamma(0, x * y)
    for px, py in [(0.7, 2.5), (3.3, 1.2), (5.5, 0.4)]:
        got = f.hessian()(px, py)
        for i, a in enumerate((x, y)):
            for j, b in enumerate((x, y)):
                want = sympy.diff(expr, a, b).evalf(40, subs={x: px, y: py})
                assert float(got[i, j]) == pytest.approx(float(want), rel=1e-14)


def test_sympy_round_trip_and_printers() -> None:
    f = adc.compile("gamma(x) + lgamma(x) * digamma(x) + polygamma(1, x)")
    x = sympy.Symbol("x", real=True)
    e = f.to_sympy()
    e = e[0] if isinstance(e, (list, tuple)) else e
    assert e == sympy.gamma(x) + sympy.loggamma(x) * sympy.polygamma(0, x) + sympy.polygamma(1, x)
    g = adc.compile(e)
    replacements, (hess,) = f.hessian().to_sympy()  # the system: t0 = ..., then the entry
    for symbol, value in reversed(replacements):
        hess = hess.subs(symbol, value)
    h = adc.compile(hess)
    for at in (0.4, 2.5, 11.0):
        assert g(at) == f(at)
        assert float(h(at)) == pytest.approx(float(f.hessian()(at)[0, 0]), rel=1e-14)
    latex = f.latex()
    assert r"\Gamma\left(x\right)" in latex and r"\ln\Gamma\left(x\right)" in latex
    assert r"\psi\left(x\right)" in latex and r"\psi^{(1)}\left(x\right)" in latex
    assert "_digamma(" in f.value_and_grad().source and "_polygamma" in f.hessian().source
