"""The integrals family of the function library (issue "4b"), against mpmath (30 digits):
`expi sinint cosint fresnel_s fresnel_c` (SciPy's kernels), the slopes `fresnel_s_slope
fresnel_c_slope` and `lambertw` (ours), with SymPy's names and `Piecewise` without a default.

Accuracy: max error in ulps over 20000 random points (log-uniform in |x|), of the value and
of the derivative (reverse mode), as `python tests/ir/test_library_integrals.py [N]`
measures it; `ROWS` asserts bounds a little above, on 200 points. `*`: in ulps of
max(|f(x)|, |x f'(x)|) (of max(|f'|, |x f''|) for a derivative), the error that rounding x
alone makes: next to the zeros of f and where its condition number |x f'/f| is large; plain
ulps in parentheses.

| function          | x                         | value          | derivative     |
|-------------------|---------------------------|----------------|----------------|
| expi              | [-700, -1e-8]             | 10             | 1              |
| expi              | [1e-8, 0.3], [0.45, 40]   | 15             | 1              |
| expi              | [0.3, 0.45] (zero 0.3725) | 1.8 * (17424)  | 1              |
| expi              | [40, 700]                 | 5.8 * (200)    | 1              |
| sinint            | +-[1e-8, 1e8]             | 3              | 1              |
| cosint            | +-[1e-8, 1e8]             | 5.7 * (2934)   | 1              |
| fresnel_s, _c     | +-[1e-8, 10]              | 7              | 2              |
| fresnel_s, _c     | +-[10, 1e5]               | 1 * (9e4)      | 2              |
| lambertw(x, 0)    | -1/e + [1e-16, 0.37]      | 3              | 2 * (7.5e6)    |
| lambertw(x, 0)    | [-0.3, -1e-300]           | 2              | 2              |
| lambertw(x, 0)    | [1e-300, 1e308]           | 1              | 2              |
| lambertw(x, -1)   | -1/e + [1e-16, 0.1]       | 2              | 3 * (1.8e7)    |
| lambertw(x, -1)   | [-0.27, -1e-300]          | 1              | 1              |
| fresnel_*_slope   | +-[1e-3, 1e17]            | 2              | (the fresnels) |

The values of expi, sinint, cosint, fresnel_s, fresnel_c are SciPy's; SciPy's fresnel loses
digits as x grows (9e4 ulp at x ~ 1e4: what rounding x costs). The slopes sin(pi x^2/2) and
cos(pi x^2/2) are exact to 2 ulp for every float x, zeros included. Next to -1/e,
W' = exp(-W)/(1 + W) has the relative error of the float 1 + W, about eps/(2 |1 + W|) (W
itself can carry no more): 7.5e6 plain ulps at x = -1/e + 1e-16, within 2 ulps of what
rounding x costs. Second derivatives (Hessians) are checked at special and random points to
1e-8 of max(|f''|, |f'/x|).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass

import mpmath as mp  # type: ignore[import-untyped]
import numpy as np
import pytest
import sympy

import adcompile as adc
from adcompile.api.evaluator import Backend
from adcompile.errors import DerivativeError
from adcompile.front.from_sympy import from_sympy
from adcompile.ir.special import SYMPY_IMPORTS

mp.mp.dps = 30
E = 0.36787944117144233  # the float next to 1/e (above it): -E is the branch point
Ref = Callable[[mp.mpf], mp.mpf]


def _w(k: int) -> tuple[Ref, Ref, Ref]:
    """W_k, W_k' and W_k'' (W'' = -W^2 (W + 2) / (x^2 (1 + W)^3); W0''(0) = -2)."""

    def w(x: mp.mpf) -> mp.mpf:
        return mp.lambertw(x, k).real if x != -E else mp.mpf(-1)

    def w1(x: mp.mpf) -> mp.mpf:
        return mp.exp(-w(x)) / (1 + w(x))

    def w2(x: mp.mpf) -> mp.mpf:
        v = w(x)
        return -(v**2) * (v + 2) / (x**2 * (1 + v) ** 3) if x else mp.mpf(-2)

    return w, w1, w2


#: text -> (f, f', f'') in mpmath
REF: dict[str, tuple[Ref, Ref, Ref]] = {
    "expi(x)": (mp.ei, lambda x: mp.exp(x) / x, lambda x: mp.exp(x) * (x - 1) / x**2),
    "sinint(x)": (
        mp.si,
        lambda x: mp.sin(x) / x if x else mp.mpf(1),
        lambda x: (x * mp.cos(x) - mp.sin(x)) / x**2 if x else mp.mpf(0),
    ),
    "cosint(x)": (
        lambda x: mp.ci(abs(x)),
        lambda x: mp.cos(x) / x,
        lambda x: -(x * mp.sin(x) + mp.cos(x)) / x**2,
    ),
    "fresnel_s(x)": (
        mp.fresnels,
        lambda x: mp.sinpi(x * x / 2),
        lambda x: mp.pi * x * mp.cospi(x * x / 2),
    ),
    "fresnel_c(x)": (
        mp.fresnelc,
        lambda x: mp.cospi(x * x / 2),
        lambda x: -mp.pi * x * mp.sinpi(x * x / 2),
    ),
    "lambertw(x, 0)": _w(0),
    "lambertw(x, -1)": _w(-1),
}


def _logu(
    lo: float, hi: float, sign: float = 1.0
) -> Callable[[np.random.Generator, int], np.ndarray]:
    return lambda rng, n: sign * np.exp(rng.uniform(math.log(lo), math.log(hi), n))


def _odd(lo: float, hi: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    return lambda rng, n: _logu(lo, hi)(rng, n) * rng.choice([-1.0, 1.0], n)


def _near(lo: float, hi: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    """x = -1/e + t, t log-uniform in [lo, hi] (never the float -E itself)."""
    return lambda rng, n: np.maximum(-E + _logu(lo, hi)(rng, n), -E + 5.6e-17)


def _union(*parts: Callable[..., np.ndarray]) -> Callable[[np.random.Generator, int], np.ndarray]:
    return lambda rng, n: np.concatenate([p(rng, n // len(parts)) for p in parts])


@dataclass(frozen=True)
class Row:
    text: str
    label: str
    points: Callable[[np.random.Generator, int], np.ndarray]
    value_ulp: float
    slope_ulp: float
    value_scaled: bool = False  # in ulps of max(|f|, |x f'|) (see the module docstring)
    slope_scaled: bool = False  # in ulps of max(|f'|, |x f''|)


# fmt: off
ROWS = [
    Row("expi(x)", "[-700, -1e-8]", _logu(1e-8, 700, -1.0), 12, 2),
    Row("expi(x)", "[1e-8, 0.3], [0.45, 40]", _union(_logu(1e-8, 0.3), _logu(0.45, 40)), 18, 2),
    Row("expi(x)", "[0.3, 0.45]", _logu(0.3, 0.45), 3, 2, value_scaled=True),
    Row("expi(x)", "[40, 700]", _logu(40, 700), 7, 2, value_scaled=True),
    Row("sinint(x)", "+-[1e-8, 1e8]", _odd(1e-8, 1e8), 4, 2),
    Row("cosint(x)", "+-[1e-8, 1e8]", _odd(1e-8, 1e8), 7, 2, value_scaled=True),
    Row("fresnel_s(x)", "+-[1e-8, 10]", _odd(1e-8, 10), 9, 3),
    Row("fresnel_c(x)", "+-[1e-8, 10]", _odd(1e-8, 10), 9, 3),
    Row("fresnel_s(x)", "+-[10, 1e5]", _odd(10, 1e5), 2, 3, value_scaled=True),
    Row("fresnel_c(x)", "+-[10, 1e5]", _odd(10, 1e5), 2, 3, value_scaled=True),
    Row("lambertw(x, 0)", "-1/e + [1e-16, 0.37]", _near(1e-16, 0.37), 4, 3, slope_scaled=True),
    Row("lambertw(x, 0)", "[-0.3, -1e-300]", _logu(1e-300, 0.3, -1.0), 3, 3),
    Row("lambertw(x, 0)", "[1e-300, 1e308]", _logu(1e-300, 1e308), 2, 3),
    Row("lambertw(x, -1)", "-1/e + [1e-16, 0.1]", _near(1e-16, 0.1), 3, 4, slope_scaled=True),
    Row("lambertw(x, -1)", "[-0.27, -1e-300]", _logu(1e-300, 0.27, -1.0), 2, 2),
]
# fmt: on


def _ulps(got: np.ndarray, want: list[mp.mpf], scale: list[mp.mpf] | None) -> np.ndarray:
    w = np.array([float(v) for v in want])
    size = np.abs(w) if scale is None else np.maximum(np.abs(w), [abs(float(s)) for s in scale])
    ulps: np.ndarray = np.abs(got - w) / np.spacing(size)
    return ulps


def measure(row: Row, n: int, seed: int = 0) -> tuple[float, float, float, float]:
    """Max ulps of the value and the derivative (reverse mode, the interpreter) of a row,
    as the row counts them, then both in plain ulps."""
    xs = row.points(np.random.default_rng(seed), n)
    f, f1, f2 = REF[row.text]
    value, (slope,) = adc.compile(row.text, backend="numpy").value_and_grad()(xs)
    mx = [mp.mpf(float(x)) for x in xs]
    v, d = [f(x) for x in mx], [f1(x) for x in mx]
    dscale = [x * f1(x) for x in mx] if row.value_scaled else None
    d2scale = [x * f2(x) for x in mx] if row.slope_scaled else None
    plain = float(_ulps(value, v, None).max()), float(_ulps(slope, d, None).max())
    return float(_ulps(value, v, dscale).max()), float(_ulps(slope, d, d2scale).max()), *plain


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.text}{r.label}" for r in ROWS])
def test_value_and_derivative_within_the_table(row: Row) -> None:
    value, slope, _, _ = measure(row, 200, seed=len(row.label))
    assert value <= row.value_ulp and slope <= row.slope_ulp, (value, slope)


def test_the_fresnel_slopes_keep_their_digits_up_to_1e17() -> None:
    rng = np.random.default_rng(5)
    xs = np.concatenate([_odd(1e-3, 1e17)(rng, 300), [1.0, 2.0, 2**0.5, 3**0.5, 1e8 + 1, 2.0**60]])
    for text, ref in (("fresnel_s_slope(x)", mp.sinpi), ("fresnel_c_slope(x)", mp.cospi)):
        got = adc.compile(text, backend="numpy").value(xs)
        with mp.workdps(60):  # x^2 exactly: 106 bits
            want = np.array([float(ref(mp.mpf(float(x)) ** 2 / 2)) for x in xs])
        assert np.all(got[want == 0] == 0)
        assert (np.abs(got - want) / np.spacing(np.abs(want)))[want != 0].max() <= 2


# ---- special points and random points on every backend ----------------------------------
INF = math.inf
#: name -> (special points, {point: (value, f', f'') where mpmath has no number: None skips})
SPECIAL: dict[str, tuple[list[float], dict[float, tuple[float | None, ...]]]] = {
    "expi(x)": (
        [-700.0, -1.0, -1e-10, 0.37250741078136663, 50.0, 700.0, 0.0],
        {0.0: (-INF, INF, None)},
    ),
    "sinint(x)": ([0.0, -1e-8, 1.0, -5.0, 30.0, 1e8], {}),
    "cosint(x)": ([1e-8, 0.6165054856207162, 1.0, -2.0, 30.0, 1e8, 0.0], {0.0: (-INF, INF, None)}),
    "fresnel_s(x)": ([0.0, 1e-8, 1.0, 2**0.5, -3.0, 1e4], {}),
    "fresnel_c(x)": ([0.0, -1e-8, 1.0, 3**0.5, 2.0, -1e4], {}),
    "lambertw(x, 0)": (
        [-E, -E + 1e-12, -0.3, 0.0, 1e-300, 1.0, math.e, 1e300],
        {-E: (-1.0, INF, None)},
    ),
    "lambertw(x, -1)": (
        [-E, -E + 1e-12, -0.3, -0.1, -1e-150, 0.0, -0.0],
        {-E: (-1.0, -INF, None), 0.0: (-INF, None, None)},
    ),
}
NAMES = "abcdfgh"  # one input per function (`e` is the constant)


def _batch() -> tuple[list[np.ndarray], list[list[tuple[float | None, ...]]]]:
    """Each function's special points and random ones, one input each (padded with random
    points to one length), with the expected (value, f', f'')."""
    rng = np.random.default_rng(7)
    lows = {"cosint(x)": 0.01, "lambertw(x, 0)": -0.3, "lambertw(x, -1)": -0.36}
    highs = {"lambertw(x, -1)": -0.01}
    columns = []
    for text, (points, _) in SPECIAL.items():
        more = rng.uniform(lows.get(text, -5.0), highs.get(text, 5.0), 12 - len(points))
        columns.append([*points, *more])
    inputs, expected = [], []
    for text, column in zip(SPECIAL, columns):
        exact = SPECIAL[text][1]
        refs = REF[text]
        rows = []
        for x in column:
            given = exact.get(x)
            if given is None:
                m = mp.mpf(x)
                given = tuple(float(r(m)) for r in refs)
            rows.append(given)
        inputs.append(np.array(column))
        expected.append(rows)
    return inputs, expected


def _check(
    got: np.ndarray, want: list[float | None], scale: list[float | None], rtol: float
) -> None:
    """got within rtol of max(|want|, |scale|) (the size of what rounding x costs); the
    infinities and nan of `want` exactly; None: not checked."""
    for g, w, s in zip(got, want, scale):
        if w is None:
            continue
        if not math.isfinite(w):
            assert g == w or (math.isnan(w) and math.isnan(g)), (g, w)
            continue
        size = max(abs(w), abs(s) if s is not None and math.isfinite(s) else 0.0)
        assert abs(g - w) <= rtol * size, (g, w)


@pytest.mark.parametrize("backend", ["numpy", "numba", "vm"])
def test_values_gradients_jvps_and_hessians_on_every_backend(backend: Backend) -> None:
    inputs, expected = _batch()
    calls = [t.replace("(x", f"({n}") for t, n in zip(SPECIAL, NAMES)]
    outputs = "\n".join(f"o{k} = {c}" for k, c in enumerate(calls))
    many = adc.compile(
        f"{outputs}\n" + ", ".join(f"o{k}" for k in range(len(calls))), backend=backend
    )
    values, tangents = many.jvp()(*inputs, tangents=dict.fromkeys(NAMES[: len(calls)], 1.0))
    total = adc.compile(" + ".join(calls), backend=backend)
    _, grad = total.value_and_grad()(*inputs)
    hessian = total.hessian()(*inputs)
    for k, (x, rows) in enumerate(zip(inputs, expected)):
        f, f1, f2 = (list(c) for c in zip(*rows))
        times = [None if d is None else float(a) * d for a, d in zip(x, f1)]
        _check(values[k], f, times, 1e-13)
        times = [None if d is None else float(a) * d for a, d in zip(x, f2)]
        _check(tangents[k], f1, times, 1e-12)
        _check(grad[k], f1, times, 1e-12)
        over = [None if d is None or a == 0 else d / float(a) for a, d in zip(x, f1)]
        _check(hessian[:, k, k], f2, over, 1e-8)
        assert np.array_equal(tangents[k], grad[k], equal_nan=True)


def test_aliases() -> None:
    x = np.array([-2.0, 0.5, 3.0])
    for alias, name in [("Ei", "expi"), ("Si", "sinint"), ("Ci", "cosint"),
                        ("fresnels", "fresnel_s"), ("fresnelc", "fresnel_c")]:  # fmt: skip
        got = adc.compile(f"{alias}(x)", backend="numpy").value(x)
        np.testing.assert_array_equal(got, adc.compile(f"{name}(x)", backend="numpy").value(x))


def test_lambertw_conventions() -> None:
    f = adc.compile("lambertw(x, k)", backend="numpy")
    x = np.array([-0.4, -E, 0.5, 0.0, -0.0, math.inf, math.nan, -0.2, -0.2, 1.0])
    k = np.array([0.0, -1.0, -1.0, -1.0, -1.0, 0.0, 0.0, 1.0, -0.5, -2.0])
    want = [math.nan, -1.0, math.nan, -INF, -INF, INF, math.nan, math.nan, math.nan, math.nan]
    np.testing.assert_array_equal(f.value(x, k), want)
    with pytest.raises(
        DerivativeError, match="lambertw: no derivative with respect to its branch k"
    ):
        f.value_and_grad()(x, k)
    _, (g,) = f.value_and_grad(["x"])(np.array([0.0, 1.0]), np.array([0.0, 0.0]))
    np.testing.assert_allclose(g, [1.0, float(REF["lambertw(x, 0)"][1](mp.mpf(1)))], rtol=1e-15)


X, Y = sympy.symbols("x y")


def _plain(expr: sympy.Expr) -> sympy.Expr:
    """`expr` over plain symbols (`to_sympy` makes real ones)."""
    return expr.subs({s: sympy.Symbol(s.name) for s in expr.free_symbols})


def test_sympy_round_trip() -> None:
    expr = sympy.Si(X) + sympy.fresnels(X)
    f = adc.compile(expr)
    assert _plain(f.to_sympy()) == expr
    np.testing.assert_allclose(f.value(0.7), float(mp.si(0.7) + mp.fresnels(0.7)), rtol=1e-15)
    for e in [sympy.Ei(X), sympy.Ci(X), sympy.fresnelc(X), sympy.LambertW(X),
              sympy.LambertW(X, -1)]:  # fmt: skip
        assert _plain(adc.compile(e).to_sympy()) == e
    assert from_sympy(2 * sympy.LambertW(X + Y) ** 2)[0] == "2*lambertw(x + y, 0)^2"
    assert from_sympy(sympy.LambertW(X**2, -1))[0] == "lambertw(x^2, -1)"
    li = adc.compile(sympy.li(X))
    assert li.text == "expi(log(x))"
    np.testing.assert_allclose(li.value(3.0), float(mp.li(3)), rtol=1e-15)


def test_sympy_templates_that_are_not_one_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SYMPY_IMPORTS, "Shi", "(expi({0}) - expi(-{0})) / 2")
    text, _ = from_sympy(2 * sympy.Shi(X + 1) + sympy.Shi(X))
    assert text == "(expi(x) - expi(-x)) / 2 + 2*((expi(x + 1) - expi(-(x + 1))) / 2)"
    f = adc.compile(2 * sympy.Shi(X + 1) + sympy.Shi(X))
    np.testing.assert_allclose(f.value(0.5), float(2 * mp.shi(1.5) + mp.shi(0.5)), rtol=1e-14)


def test_piecewise_without_default_is_nan_elsewhere_and_infinities_import() -> None:
    expr = sympy.Piecewise((X, X > 0), (Y**2, Y > 1))
    assert from_sympy(expr)[0] == "where(x > 0, x, where(y > 1, y^2, nan))"
    f = adc.compile(expr, backend="numpy")
    x, y = np.array([1.0, -1.0, -1.0]), np.array([0.0, 2.0, 0.0])
    np.testing.assert_array_equal(f.value(x, y), sympy.lambdify([X, Y], expr)(x, y))
    _, (gx, gy) = f.value_and_grad()(x, y)
    np.testing.assert_array_equal(gx, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(gy, [0.0, 4.0, 0.0])
    assert from_sympy(sympy.Piecewise((1, X > 0), (sympy.nan, True)))[0] == "where(x > 0, 1, nan)"
    infinite = sympy.Piecewise((-sympy.oo, X < 0), (sympy.oo * Y, True))
    assert from_sympy(infinite)[0] == "where(x < 0, -inf, inf*y)"
    g = adc.compile(infinite, backend="numpy")
    np.testing.assert_array_equal(g.value([-1.0, 1.0, 1.0], [1.0, 1.0, -1.0]), [-INF, INF, -INF])


if __name__ == "__main__":  # measure the table again
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    for row in ROWS:
        value, slope, value_plain, slope_plain = measure(row, n)
        print(
            f"{row.text:16} {row.label:26} value {value:5.1f} ({value_plain:9.1f})  "
            f"derivative {slope:5.1f} ({slope_plain:9.1f})"
        )
