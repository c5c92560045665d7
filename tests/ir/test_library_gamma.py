"""The gamma family of the function library (issue "4b"), against mpmath (30 digits): values
and first partials at random points (the table), Hessians (next to the poles too), large
arguments. Every backend, special points, errors, aliases, SymPy: `test_library_gamma_points`.

The worst error in ulps over 2000 random points per row (`python tests/ir/test_library_gamma.py
2000`; the test asserts bounds a bit above at 100 points), the NumPy interpreter (the VM and
the Numba tier compute the same numbers, `test_library_gamma_points`):

    row             domain                                 value    d/d(arg), in order
    rgamma          x in (-20, 20)                          5.1      5.3*
    rgamma large    x in (1, 170), log-uniform              5.7      5.9
    factorial       x in (-10, 20)                          3.4      14.3*
    poch            a in (0.1, 10), a + m in (0.1, 15)      28.7     17.4* (a)  29.4 (m)
    poch a < 1/2    a in (-5, 0.5), m in (-5, 5)            7.0°     2.8°       2.4°
    beta            a, b in (0.01, 100), log-uniform        1560     227*       236*
    betaln          a, b in (0.001, 1000), log-uniform      9.0*     1.3*       1.7*
    betainc         a, b in (0.1, 10), x in (0, 1)          19.7     58.6 (x)
    gammainc        a in (0.1, 10), x in (0, 20)            49.9     35.5 (x)
    gammainc large  a in (10, 1000) log, x/a in (0.5, 1.5)  7930     13279 (x)
    gammaincc       a in (0.1, 10), x in (0, 20)            31.1     30.8 (x)
    lowergamma      a in (0.1, 10), x in (0, 20)            37.5     27.1 (x)
    uppergamma      a in (0.1, 10), x in (0, 20)            76.9     25.8 (x)
    erfcx           x in (-5, 30)                           14.1     190.5
    erfcx large     x in (1, 1e8), log-uniform              4.1      254.1
    erfinv          x in (-1, 1)                            2.1      5.7
    erfinv near 1   1 - x in (1e-16, 0.1), log-uniform      1.8      5.4
    erfcinv         x in (0, 2)                             4.3      6.3
    erfcinv tiny    x in (1e-300, 0.1), log-uniform         2.8      5.3

* in ulps of max(|exact|, s), s the size of the terms the result is a difference of:
  psi(a) - psi(a + b) in the partials of beta, betaln and poch (with the rounding of a + b),
  psi(x) = psi(1 - x) - pi cot(pi x) for x < 0 in rgamma' = -rgamma psi and factorial', and
  lgamma(a) + lgamma(b) - lgamma(a + b) in SciPy's betaln: next to a zero of the result the
  relative error grows as s / |result| (the conditioning of the formula, not of the function).
° the same, with also the rounding of s = a + m next to a pole of gamma(s): |s| times the
  slope in s (the values are SciPy's poch, which rounds s too).
The values are SciPy's (its beta is exp(betaln) for large arguments: ~eps |ln B| relative, and
its gammainc loses digits at large a); the slopes of the incomplete functions are one
exponential, whose exponent (a-1) ln x - x - lgamma(a) is rounded to ~eps (|a-1| |ln x| + x +
lgamma(a));
erfcx' = 2x erfcx - 2/sqrt(pi) cancels to ~1/x^2 for x in (1, 8) (~2x^2 times erfcx's error;
beyond 8 the asymptotic series).
"""

from __future__ import annotations

import math
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import mpmath as mp
import numpy as np
import pytest

import adcompile as adc

mp.mp.dps = 30
Points = Callable[[np.random.Generator, int], list[np.ndarray]]
SQRT_PI_2 = mp.sqrt(mp.pi) / 2


def _erfcinv(x: mp.mpf) -> mp.mpf:
    """erfcinv from erfinv(1 - x) (exact in mpmath), or for x next to 0 or 2 by Newton's
    method on log erfc."""
    sign, y = (1, x) if x <= 1 else (-1, 2 - x)
    if y > 1e-3:
        return sign * mp.erfinv(1 - y)
    return sign * mp.findroot(lambda t: mp.log(mp.erfc(t)) - mp.log(y), mp.sqrt(-mp.log(y)))


def _erfcx(x: mp.mpf) -> mp.mpf:
    return mp.exp(x * x) * mp.erfc(x)


def _psi_size(x: mp.mpf) -> mp.mpf:
    """The size of the terms psi(x) is computed from: psi(1 - x) - pi cot(pi x) for x <= 0."""
    return abs(mp.digamma(x)) if x > 0 else abs(mp.digamma(1 - x)) + abs(mp.pi * mp.cot(mp.pi * x))


def _rgamma_slope(x: mp.mpf) -> mp.mpf:
    if x <= 0 and x == int(x):
        return (-1) ** int(-x) * mp.factorial(int(-x))
    return -mp.rgamma(x) * mp.digamma(x)


def _gamma_pdf(a: mp.mpf, x: mp.mpf) -> mp.mpf:
    return mp.exp((a - 1) * mp.log(x) - x - mp.loggamma(a))


def _beta_pdf(a: mp.mpf, b: mp.mpf, x: mp.mpf) -> mp.mpf:
    return mp.exp((a - 1) * mp.log(x) + (b - 1) * mp.log1p(-x) - mp.log(mp.beta(a, b)))


def _erfinv_slope(x: mp.mpf) -> mp.mpf:
    return SQRT_PI_2 * mp.exp(mp.erfinv(x) ** 2)


def _erfcinv_slope(x: mp.mpf) -> mp.mpf:
    return -SQRT_PI_2 * mp.exp(_erfcinv(x) ** 2)


def _uniform(*ranges: tuple[float, float]) -> Points:
    return lambda rng, n: [rng.uniform(lo, hi, n) for lo, hi in ranges]


def _log_uniform(*ranges: tuple[float, float]) -> Points:
    return lambda rng, n: [10.0 ** rng.uniform(lo, hi, n) for lo, hi in ranges]


def _poch_points(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    a = rng.uniform(0.1, 10, n)  # a > 0 and a + m > 0
    return [a, rng.uniform(0.1, 15, n) - a]


def _gamma_large(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    a = 10.0 ** rng.uniform(1, 3, n)
    return [a, a * rng.uniform(0.5, 1.5, n)]


@dataclass(frozen=True)
class Row:
    """One row of the table: a formula, the inputs differentiated, mpmath's value and
    partials, the points, the worst ulp allowed (value, then each partial), and where a
    result is computed from terms that cancel, the size s of those terms: the error is
    then counted in ulps of max(|exact|, s)."""

    text: str
    wrt: tuple[str, ...]
    exact: tuple[Callable[..., mp.mpf], ...]
    points: Points
    bounds: tuple[float, ...]
    sizes: tuple[Callable[..., mp.mpf] | None, ...] = ()


_R, _G, _RF, _B = mp.rgamma, mp.gamma, mp.rf, mp.beta


def _near_pole(a: mp.mpf, m: mp.mpf, k: int) -> mp.mpf:
    """The size of poch and its partials (k = 0, 1, 2) from terms, and from the rounding of
    s = a + m next to a pole of gamma(s) (|s| times the slope in s)."""
    s, rf, d = a + m, _RF(a, m), mp.digamma(a + m)
    terms = (abs(rf), abs(rf) * (_psi_size(a) + _psi_size(s)), abs(rf) * _psi_size(s))[k]
    slope = (d, d * (d - mp.digamma(a)) + mp.psi(1, s), d * d + mp.psi(1, s))[k]
    return terms + abs(rf * slope * s)


def _psi_terms(a: mp.mpf, b: mp.mpf) -> mp.mpf:
    """The size of psi(a) - psi(a + b): its terms, and the rounding of a + b."""
    return _psi_size(a) + _psi_size(a + b) + abs(mp.psi(1, a + b) * (a + b))


_POCH_SIZES = tuple(lambda a, m, k=k: _near_pole(a, m, k) for k in range(3))
ROWS: dict[str, Row] = {
    "rgamma": Row("rgamma(x)", ("x",), (_R, _rgamma_slope), _uniform((-20, 20)), (7, 8),
                  (None, lambda x: abs(_R(x)) * _psi_size(x))),
    "rgamma large": Row("rgamma(x)", ("x",), (_R, _rgamma_slope),
                        _log_uniform((0, math.log10(170))), (8, 8)),
    "factorial": Row("factorial(x)", ("x",),
                     (lambda x: _G(x + 1), lambda x: _G(x + 1) * mp.digamma(x + 1)),
                     _uniform((-10, 20)), (5, 20),
                     (None, lambda x: abs(_G(x + 1)) * _psi_size(x + 1))),
    "poch": Row("poch(a, m)", ("a", "m"),
                (_RF, lambda a, m: _RF(a, m) * (mp.digamma(a + m) - mp.digamma(a)),
                 lambda a, m: _RF(a, m) * mp.digamma(a + m)), _poch_points, (40, 24, 40),
                (None, lambda a, m: abs(_RF(a, m)) * (_psi_size(a) + _psi_size(a + m)))),
    "poch a < 1/2": Row("poch(a, m)", ("a", "m"),
                        (_RF, lambda a, m: _RF(a, m) * (mp.digamma(a + m) - mp.digamma(a)),
                         lambda a, m: _RF(a, m) * mp.digamma(a + m)),
                        _uniform((-5, 0.5), (-5, 5)), (10, 5, 5), _POCH_SIZES),
    "beta": Row("beta(a, b)", ("a", "b"),
                (_B, lambda a, b: _B(a, b) * (mp.digamma(a) - mp.digamma(a + b)),
                 lambda a, b: _B(a, b) * (mp.digamma(b) - mp.digamma(a + b))),
                _log_uniform((-2, 2), (-2, 2)), (2000, 300, 300),
                (None, lambda a, b: _B(a, b) * _psi_terms(a, b),
                 lambda a, b: _B(a, b) * _psi_terms(b, a))),
    "betaln": Row("betaln(a, b)", ("a", "b"),
                  (lambda a, b: mp.log(_B(a, b)), lambda a, b: mp.digamma(a) - mp.digamma(a + b),
                   lambda a, b: mp.digamma(b) - mp.digamma(a + b)),
                  _log_uniform((-3, 3), (-3, 3)), (12, 3, 3),
                  (lambda a, b: abs(mp.loggamma(a)) + abs(mp.loggamma(b)) + abs(mp.loggamma(a + b)),
                   _psi_terms, lambda a, b: _psi_terms(b, a))),
    "betainc": Row("betainc(a, b, x)", ("x",),
                   (lambda a, b, x: mp.betainc(a, b, 0, x, regularized=True), _beta_pdf),
                   _uniform((0.1, 10), (0.1, 10), (0, 1)), (28, 80)),
    "gammainc": Row("gammainc(a, x)", ("x",),
                    (lambda a, x: mp.gammainc(a, 0, x, regularized=True), _gamma_pdf),
                    _uniform((0.1, 10), (0, 20)), (64, 48)),
    "gammainc large": Row("gammainc(a, x)", ("x",),
                          (lambda a, x: mp.gammainc(a, 0, x, regularized=True), _gamma_pdf),
                          _gamma_large, (1e4, 1.7e4)),
    "gammaincc": Row("gammaincc(a, x)", ("x",),
                     (lambda a, x: mp.gammainc(a, x, mp.inf, regularized=True),
                      lambda a, x: -_gamma_pdf(a, x)), _uniform((0.1, 10), (0, 20)), (40, 40)),
    "lowergamma": Row("lowergamma(a, x)", ("x",),
                      (lambda a, x: mp.gammainc(a, 0, x), lambda a, x: x ** (a - 1) * mp.exp(-x)),
                      _uniform((0.1, 10), (0, 20)), (48, 36)),
    "uppergamma": Row("uppergamma(a, x)", ("x",),
                      (lambda a, x: mp.gammainc(a, x), lambda a, x: -(x ** (a - 1)) * mp.exp(-x)),
                      _uniform((0.1, 10), (0, 20)), (100, 36)),
    "erfcx": Row("erfcx(x)", ("x",), (_erfcx, lambda x: mp.diff(_erfcx, x)), _uniform((-5, 30)),
                 (20, 320)),
    "erfcx large": Row("erfcx(x)", ("x",), (_erfcx, lambda x: mp.diff(_erfcx, x)),
                       _log_uniform((0, 8)), (6, 320)),
    "erfinv": Row("erfinv(x)", ("x",), (mp.erfinv, _erfinv_slope), _uniform((-1, 1)), (3, 8)),
    "erfinv near 1": Row("erfinv(x)", ("x",), (mp.erfinv, _erfinv_slope),
                         lambda rng, n: [1.0 - 10.0 ** rng.uniform(-16, -1, n)], (3, 8)),
    "erfcinv": Row("erfcinv(x)", ("x",), (_erfcinv, _erfcinv_slope), _uniform((0, 2)), (6, 8)),
    "erfcinv tiny": Row("erfcinv(x)", ("x",), (_erfcinv, _erfcinv_slope),
                        _log_uniform((-300, -1)), (4, 8)),
}  # fmt: skip


def ulps(got: float, want: mp.mpf, size: mp.mpf = 0) -> float | None:
    """|got - want| in ulps of max(|want|, size); None where that is not a normal float."""
    scale = max(abs(want), size)
    if not 2.2250738585072014e-308 <= scale < 1.7976931348623157e308:
        return None
    if not math.isfinite(got):
        return math.inf
    return float(abs(mp.mpf(got) - want) / math.ulp(float(scale)))


def points(row: str, n: int) -> list[np.ndarray]:
    return ROWS[row].points(np.random.default_rng(zlib.crc32(row.encode())), n)


def worst(row: str, n: int) -> list[tuple[float, tuple[float, ...]]]:
    """The worst ulp of the value and of each partial over n points (numpy backend), and
    where."""
    spec, args = ROWS[row], points(row, n)
    f = adc.compile(spec.text, backend="numpy").value_and_grad(wrt=list(spec.wrt))
    v, g = f(*args)
    got = [v, *(getattr(g, name) for name in spec.wrt)]
    sizes = [*spec.sizes, *[None] * len(got)]
    out: list[tuple[float, tuple[float, ...]]] = [(0.0, ())] * len(got)
    for i in range(n):
        at = tuple(float(a[i]) for a in args)
        exact = [mp.mpf(t) for t in at]
        for k, fn in enumerate(spec.exact):
            size = sizes[k](*exact) if sizes[k] else 0
            e = ulps(float(np.asarray(got[k])[i]), fn(*exact), size)
            if e is not None and e > out[k][0]:
                out[k] = (e, at)
    return out


@pytest.mark.parametrize("row", list(ROWS))
def test_values_and_derivatives_within_the_stated_ulps(row: str) -> None:
    found = [e for e, _ in worst(row, 100)]
    assert all(e <= b for e, b in zip(found, ROWS[row].bounds)), (row, found)


# ---- Hessians -----------------------------------------------------------------------------
#: (formula, inputs differentiated, mpmath function of all inputs, points): next to the poles
#: of gamma (rgamma, poch), at the ends of erfinv, in the tail of erfcinv.
HESSIANS = [
    ("rgamma(x)", ["x"], mp.rgamma, [(0.3,), (-2.5,), (-2 + 1e-7,), (-0.4886,), (5.5,), (1e-300,)]),
    ("factorial(x)", ["x"], lambda x: mp.gamma(x + 1), [(0.5,), (-0.5,), (-2.7,), (10.0,)]),
    ("poch(a, m)", ["a", "m"], mp.rf, [(2.5, 1.5), (0.3, -0.2), (-2 + 1e-6, 1.5), (-1.5, 0.7)]),
    ("beta(a, b)", ["a", "b"], mp.beta, [(0.5, 2.5), (3.0, 4.0)]),
    ("betaln(a, b)", ["a", "b"], lambda a, b: mp.log(mp.beta(a, b)), [(0.5, 2.5), (30.0, 0.2)]),
    ("betainc(a, b, x)", ["x"], lambda a, b, x: mp.betainc(a, b, 0, x, regularized=True),
     [(2.0, 3.0, 0.3), (0.5, 0.5, 0.9), (10.0, 2.0, 0.8)]),
    ("gammainc(a, x)", ["x"], lambda a, x: mp.gammainc(a, 0, x, regularized=True),
     [(2.0, 1.0), (0.5, 3.0), (10.0, 12.0)]),
    ("gammaincc(a, x)", ["x"], lambda a, x: mp.gammainc(a, x, mp.inf, regularized=True),
     [(2.0, 1.0), (0.5, 3.0)]),
    ("lowergamma(a, x)", ["x"], lambda a, x: mp.gammainc(a, 0, x), [(2.0, 1.0), (0.5, 3.0)]),
    ("uppergamma(a, x)", ["x"], lambda a, x: mp.gammainc(a, x), [(2.0, 1.0), (0.5, 3.0)]),
    ("erfcx(x)", ["x"], _erfcx, [(-2.0,), (0.5,), (3.0,), (12.0,)]),
    ("erfinv(x)", ["x"], mp.erfinv, [(0.3,), (-0.9,), (0.999999,)]),
    ("erfcinv(x)", ["x"], _erfcinv, [(0.3,), (1.7,), (1e-20,)]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "wrt", "exact", "at"), HESSIANS, ids=[h[0] for h in HESSIANS])
def test_hessians_against_mpmath(text: str, wrt: list[str], exact: Callable, at: list) -> None:
    f = adc.compile(text, backend="numpy")
    names = f.inputs
    hessian = f.hessian(wrt=wrt)
    for point in at:
        got = np.asarray(hessian(*point)).reshape(len(wrt), len(wrt))
        for i, u in enumerate(wrt):
            for j, v in enumerate(wrt):
                orders = [(n == u) + (n == v) for n in names]
                want = mp.diff(exact, tuple(map(mp.mpf, point)), tuple(orders))
                assert float(got[i, j]) == pytest.approx(float(want), rel=1e-12), (point, i, j)


# ---- large arguments -------------------------------------------------------------------
LARGE = [  # (formula, point, mpmath value, mpmath gradient)
    ("factorial(x)", (170.0,), lambda x: mp.gamma(x + 1),
     lambda x: (mp.gamma(x + 1) * mp.digamma(x + 1),)),
    ("rgamma(x)", (171.0,), mp.rgamma, lambda x: (-mp.rgamma(x) * mp.digamma(x),)),
    ("betaln(a, b)", (1e5, 3e5), lambda a, b: mp.log(mp.beta(a, b)),
     lambda a, b: (mp.digamma(a) - mp.digamma(a + b), mp.digamma(b) - mp.digamma(a + b))),
    ("gammainc(1e4, x)", (1e4,), lambda x: mp.gammainc(1e4, 0, x, regularized=True),
     lambda x: (_gamma_pdf(mp.mpf(1e4), x),)),
    ("erfcinv(x)", (1e-300,), _erfcinv, lambda x: (_erfcinv_slope(x),)),
]  # fmt: skip


@pytest.mark.parametrize(("text", "at", "value", "grad"), LARGE, ids=[t for t, *_ in LARGE])
def test_large_arguments(text: str, at: tuple, value: Callable, grad: Callable) -> None:
    v, g = adc.compile(text, backend="numpy").value_and_grad()(*at)
    exact = [value(*map(mp.mpf, at)), *grad(*map(mp.mpf, at))]
    got = [float(v), *np.ravel(np.asarray(g, dtype=float))]
    for k, (mine, want) in enumerate(zip(got, exact)):
        assert mine == pytest.approx(float(want), rel=2e-12), (text, k)


if __name__ == "__main__":
    for row in ROWS if len(sys.argv) < 3 else sys.argv[2:]:
        found = worst(row, int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
        print(f"{row:16s}", "  ".join(f"{e:8.1f} at {at}" for e, at in found), flush=True)
