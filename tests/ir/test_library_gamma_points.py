"""The gamma family of the function library (issue "4b"): every backend and mode agreeing,
special points (poles, zeros, the ends of the domains) with exact derivatives, the
`DerivativeError` of the shape parameters, aliases and the SymPy bridge. Accuracy against
mpmath: `test_library_gamma.py`."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy

import adcompile as adc
from adcompile.errors import DerivativeError

# ---- every backend and mode ---------------------------------------------------------------
#: Every function: its arguments differentiable, but the shapes s, t of the incomplete ones.
TEXT = (
    "rgamma(a - 3) * gammasgn(b - 2.5) + factorial(b - 1.5) + poch(a, b - 2) + beta(a, b) "
    "- betaln(a, b) + erfinv(2*x - 1) * erfcinv(x) + RisingFactorial(x, a) + betainc(s, t, x) "
    "+ gammainc(s, 3*x) - gammaincc(t, x + 1) + lowergamma(s, 2*x) * uppergamma(t, a) "
    "+ erf_inv(x) + erfcx(3*x) - erfcx(8 + a*a)"
)
AT = {"a": [0.7, 2.5, -1.3, 4.0], "b": [1.2, 0.6, 3.3, 2.0], "x": [0.3, 0.05, 0.9, 0.5],
      "s": [0.5, 2.0, 7.5, 1.0], "t": [3.0, 0.8, 1.0, 4.5]}  # fmt: skip
WRT = ["a", "b", "x"]


def _flat(result: object) -> np.ndarray:
    parts = result if isinstance(result, tuple) else (result,)
    return np.hstack([np.ravel(np.asarray(p, dtype=float)) for p in parts])


def test_numba_vm_and_numpy_agree_in_every_mode() -> None:
    found: dict[str, list[np.ndarray]] = {"first": [], "hessian": []}
    for backend in ("numpy", "vm", "numba"):
        f = adc.compile(TEXT, backend=backend)
        args = [np.array(AT[n]) for n in f.inputs]
        vg, t = f.value_and_grad(wrt=WRT)(*args), [1.0, 0.5, 0.25]
        jvp = f.jvp(wrt=WRT)(*args, tangents=t)
        found["first"].append(np.hstack([_flat(vg), _flat(jvp)]))
        # forward mode agrees with reverse mode
        np.testing.assert_allclose(jvp[1], np.tensordot(t, np.array(vg[1]), 1), rtol=1e-13)
        if backend != "numba":  # (its Numba module compiles in 9 s; the VM runs its templates)
            found["hessian"].append(_flat(f.hessian(wrt=WRT)(*args)))
    for results in found.values():
        for other in results[1:]:
            np.testing.assert_allclose(other, results[0], rtol=1e-13)
    # the VM at the special points below: what the NumPy interpreter gives, to the bit
    for text, at, *_ in POINTS:
        mine, theirs = (adc.compile(text, backend=b) for b in ("vm", "numpy"))
        for kind in ("value_and_grad", "hessian"):
            got, want = (_flat(getattr(g, kind)()(*at)) for g in (mine, theirs))
            np.testing.assert_array_equal(got, want, err_msg=text)


# ---- special points: poles, zeros, the ends of the domains ------------------
EG = 0.5772156649015329  # Euler's gamma: psi(1) = -EG
PI2_6 = math.pi**2 / 6
PSI_2_5 = 0.7031566406452432  # psi(5/2) = 8/3 - EG - 2 ln 2
INF, NAN, SQ = math.inf, math.nan, math.sqrt(math.pi)
#: (formula, point, value, gradient, Hessian (None: not checked))
POINTS = [
    ("rgamma(x)", (0.0,), 0.0, (1.0,), 2 * EG), ("rgamma(x)", (-0.0,), -0.0, (1.0,), 2 * EG),
    ("rgamma(x)", (-1.0,), 0.0, (-1.0,), 2 * (1 - EG)),
    ("rgamma(x)", (-3.0,), 0.0, (-6.0,), 12 * (11 / 6 - EG)),
    ("rgamma(x)", (1.0,), 1.0, (EG,), EG**2 - PI2_6), ("rgamma(x)", (180.0,), 0.0, (0.0,), 0.0),
    ("gammasgn(x)", (-0.5,), -1.0, (0.0,), 0.0), ("gammasgn(x)", (-1.5,), 1.0, (0.0,), 0.0),
    ("gammasgn(x)", (3.0,), 1.0, (0.0,), 0.0), ("gammasgn(x)", (-2.0,), NAN, (0.0,), 0.0),
    ("factorial(x)", (0.0,), 1.0, (-EG,), EG**2 + PI2_6),
    ("factorial(x)", (-0.5,), SQ, (SQ * (-EG - 2 * math.log(2)),), None),
    ("factorial(x)", (-1.0,), INF, (-INF,), None), ("factorial(x)", (-2.0,), NAN, (NAN,), None),
    ("poch(a, m)", (0.0, 1.5), 0.0, (SQ / 2, 0.0), None),  # a at a pole of gamma
    ("poch(x, 3)", (0.0,), 0.0, (2.0,), 6.0), ("poch(x, 3)", (-1.0,), 0.0, (-1.0,), 0.0),
    ("poch(a, m)", (2.5, 0.0), 1.0, (0.0, PSI_2_5), None),
    ("beta(a, b)", (1.0, 1.0), 1.0, (-1.0, -1.0), None),
    ("betaln(a, b)", (1.0, 1.0), 0.0, (-1.0, -1.0), None),
    ("betainc(1, 3, x)", (0.0,), 0.0, (3.0,), -6.0), ("betainc(1, 3, x)", (1.0,), 1.0, (0.0,), 0.0),
    ("betainc(3, 1, x)", (0.0,), 0.0, (0.0,), 0.0), ("betainc(3, 1, x)", (1.0,), 1.0, (3.0,), 6.0),
    ("betainc(0.5, 0.5, x)", (0.0,), 0.0, (INF,), None),
    ("betainc(0.5, 0.5, x)", (1.0,), 1.0, (INF,), None),
    ("betainc(2, 2, x)", (1.5,), NAN, (NAN,), None),
    ("gammainc(1, x)", (0.0,), 0.0, (1.0,), -1.0), ("gammainc(2, x)", (0.0,), 0.0, (0.0,), 1.0),
    ("gammainc(0.5, x)", (0.0,), 0.0, (INF,), None), ("gammainc(3, x)", (1e3,), 1.0, (0.0,), 0.0),
    ("gammaincc(1, x)", (0.0,), 1.0, (-1.0,), 1.0), ("gammainc(2, x)", (-1.0,), NAN, (NAN,), None),
    ("lowergamma(1, x)", (0.0,), 0.0, (1.0,), -1.0),
    ("uppergamma(1, x)", (0.0,), 1.0, (-1.0,), 1.0),
    ("erfcx(x)", (0.0,), 1.0, (-2 / SQ,), 2.0), ("erfcx(x)", (INF,), 0.0, (0.0,), None),
    ("erfinv(x)", (0.0,), 0.0, (SQ / 2,), 0.0), ("erfinv(x)", (1.0,), INF, (INF,), None),
    ("erfinv(x)", (-1.0,), -INF, (INF,), None), ("erfinv(x)", (1.5,), NAN, (NAN,), None),
    ("erfcinv(x)", (1.0,), -0.0, (-SQ / 2,), 0.0),  # SciPy: -0.0
    ("erfcinv(x)", (0.0,), INF, (-INF,), None),
    ("erfcinv(x)", (2.0,), -INF, (-INF,), None), ("erfcinv(x)", (2.5,), NAN, (NAN,), None),
]  # fmt: skip


def test_special_points() -> None:
    for text, at, value, grad, hess in POINTS:
        f = adc.compile(text, backend="numpy")
        v, g = f.value_and_grad()(*at)
        got = [float(v), *np.ravel(np.asarray(g, dtype=float))]
        np.testing.assert_allclose(got, [value, *grad], rtol=1e-15, atol=1e-300, err_msg=text)
        assert math.copysign(1, got[0]) == math.copysign(1, value) or math.isnan(value), text
        if hess is not None:
            h = float(np.ravel(f.hessian()(*at))[0])
            np.testing.assert_allclose(h, hess, rtol=1e-14, atol=1e-300, err_msg=text)


# ---- shape parameters, aliases, SymPy -----------------------------------------------------
@pytest.mark.parametrize(
    ("text", "parameter"),
    [("betainc(a, b, x)", "shape a"), ("betainc(2, b, x)", "shape b"),
     ("gammainc(a, x)", "shape a"), ("gammaincc(a, x)", "shape a"),
     ("lowergamma(a, x)", "shape a"), ("uppergamma(a, x)", "shape a")],
)  # fmt: skip
def test_shape_parameters_raise_when_differentiated(text: str, parameter: str) -> None:
    f = adc.compile(text, backend="numpy")
    name = text.split("(")[0]
    for build in (f.value_and_grad, f.jvp, f.hessian):
        with pytest.raises(DerivativeError, match=f"{name}: .*{parameter}"):
            build()
    args = [2.5, 1.5, 0.25][-len(f.inputs) :]
    value, grad = f.value_and_grad(wrt="x")(*args)  # the argument x differentiates
    assert math.isfinite(float(grad)) and f(*args) == value


def test_aliases() -> None:
    for alias, name, args in [
        ("RisingFactorial", "poch", (2.5, 1.25)),
        ("erf_inv", "erfinv", (0.3,)),
    ]:
        text = f"({', '.join('ab'[: len(args)])})"
        f, g = (adc.compile(n + text, backend="numpy") for n in (alias, name))
        assert f(*args) == g(*args) and f.value_and_grad()(*args) == g.value_and_grad()(*args)


A, B, X = sympy.symbols("a b x", real=True)
SYMPY = [
    ("rgamma(x)", 1 / sympy.gamma(X)), ("gammasgn(x)", sympy.sign(sympy.gamma(X))),
    ("factorial(x)", sympy.factorial(X)), ("poch(a, x)", sympy.RisingFactorial(A, X)),
    ("beta(a, b)", sympy.beta(A, B)), ("betaln(a, b)", sympy.log(sympy.Abs(sympy.beta(A, B)))),
    ("betainc(a, b, x)", sympy.betainc_regularized(A, B, 0, X)),
    ("gammainc(a, x)", sympy.lowergamma(A, X) / sympy.gamma(A)),
    ("gammaincc(a, x)", sympy.uppergamma(A, X) / sympy.gamma(A)),
    ("lowergamma(a, x)", sympy.lowergamma(A, X)), ("uppergamma(a, x)", sympy.uppergamma(A, X)),
    ("erfinv(x)", sympy.erfinv(X)), ("erfcinv(x)", sympy.erfcinv(X)),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expr"), SYMPY, ids=[t for t, _ in SYMPY])
def test_sympy_forms_and_round_trip(text: str, expr: sympy.Expr) -> None:
    f = adc.compile(text, backend="numpy")
    assert f.to_sympy() == expr
    g = adc.compile(expr, backend="numpy")  # back from SymPy: the same function
    assert g.inputs == f.inputs
    at = {"a": 2.5, "b": 1.5, "x": 0.375}
    args = [at[n] for n in f.inputs]
    assert float(g(*args)) == pytest.approx(float(f(*args)), rel=1e-15)
    # SymPy evaluates the form to the same number
    want = expr.evalf(30, subs={sympy.Symbol(n, real=True): v for n, v in at.items()})
    if want.is_Number:  # (SymPy does not evaluate erfcinv)
        assert float(f(*args)) == pytest.approx(float(want), rel=1e-13)


def test_sympy_incomplete_beta_and_gamma_read_as_formulas() -> None:
    t = sympy.Symbol("t", real=True)
    g = adc.compile(
        sympy.betainc(A, B, X, t), backend="numpy"
    )  # SymPy's non-regularized, from x to t
    want = sympy.betainc(A, B, X, t).evalf(30, subs={A: 2.5, B: 1.5, X: 0.25, t: 0.75})
    at = {"a": 2.5, "b": 1.5, "x": 0.25, "t": 0.75}
    assert float(g(**at)) == pytest.approx(float(want), rel=1e-14)
    h = adc.compile(sympy.betainc_regularized(A, B, X, t), backend="numpy")
    assert float(h(**at)) == pytest.approx(float(want / sympy.beta(2.5, 1.5)), rel=1e-14)
