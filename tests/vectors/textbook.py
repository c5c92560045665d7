"""Classic optimisation test functions, written as in a textbook, with mpmath references.

Each `Textbook` holds the function in the adcompile language (`text`) and, written once over
a namespace `m` of elementwise functions, its textbook definition (`value`) and its analytic
gradient (`grad`). With `m = MP` they run on object arrays of mpmath numbers at `DIGITS`
digits (the references); with `m = NP` on float64 arrays (the reference at n = 100,000, where
mpmath is slow). `tests/vectors/test_textbook.py` checks `grad` itself against `mpmath.diff`.

The index vector: the language has no `arange` yet, so a function that needs the index
i = 1..n (Griewank, Michalewicz, Dixon-Price, Zakharov, ...) takes it as an extra vector
input `i`, passed as `index(n)` = `np.arange(1, n + 1)`; such a function is differentiated
with respect to `x` only (`wrt=["x"]`).

Domains are the usual ones (Surjanovic & Bingham, "Virtual Library of Simulation
Experiments"); `minimum` gives the known minimiser where it is exact in closed form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace
from typing import Any

import mpmath
import numpy as np

import adcompile as adc

DIGITS = 30
#: The tier these tests run on: the NumPy interpreter (the compiled tier is checked against
#: it function by function in test_compiled.py).
BACKEND = "numpy"

Vec = Any  # a float64 array or an object array of mpf
Fn = Callable[[Vec, Vec, Any], Any]

NP = SimpleNamespace(
    sin=np.sin, cos=np.cos, exp=np.exp, sqrt=np.sqrt, log=np.log, sign=np.sign, pi=np.pi, e=np.e
)
MP = SimpleNamespace(
    sin=np.frompyfunc(mpmath.sin, 1, 1),
    cos=np.frompyfunc(mpmath.cos, 1, 1),
    exp=np.frompyfunc(mpmath.exp, 1, 1),
    sqrt=np.frompyfunc(mpmath.sqrt, 1, 1),
    log=np.frompyfunc(mpmath.log, 1, 1),
    sign=np.frompyfunc(mpmath.sign, 1, 1),
    pi=mpmath.pi,
    e=mpmath.e,
)


@dataclass(frozen=True)
class Textbook:
    name: str
    text: str
    value: Fn
    grad: Fn
    domain: tuple[float, float]
    minimum: Callable[[int], tuple[np.ndarray, float]] | None = None
    multiple: int = 1  # lengths must be multiples of this (Powell: 4)
    rtol: float = 1e-12  # see test_textbook.RTOL for what it scales

    @property
    def indexed(self) -> bool:
        return "i" in compiled(self.text).inputs

    def size(self, n: int) -> int:
        """The nearest length >= n the function accepts."""
        return -(-n // self.multiple) * self.multiple


def index(n: int) -> np.ndarray:
    """The index vector i = 1..n (the language has no arange yet)."""
    return np.arange(1.0, n + 1.0)


@cache
def compiled(text: str) -> adc.Formula:
    return adc.compile(text, backend=BACKEND)


def to_mp(a: Any) -> np.ndarray:
    """float64 values as an object array of (exact) mpf."""
    return np.array([mpmath.mpf(float(v)) for v in np.ravel(a)], dtype=object)


def reference(fn: Textbook, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Value and gradient at `DIGITS` digits, rounded once to float64."""
    with mpmath.workdps(DIGITS):
        xs, i = to_mp(x), to_mp(index(len(x)))
        return float(fn.value(xs, i, MP)), np.array(fn.grad(xs, i, MP), dtype=float)


def hvp_reference(fn: Textbook, x: np.ndarray, v: np.ndarray, h: str = "1e-15") -> np.ndarray:
    """H v as the central difference of the analytic gradient along v, at 50 digits
    (truncation error ~h^2, rounding ~1e-50/h: both far below float64)."""
    with mpmath.workdps(50):
        xs, vs, i = to_mp(x), to_mp(v), to_mp(index(len(x)))
        step = mpmath.mpf(h)
        up, down = fn.grad(xs + step * vs, i, MP), fn.grad(xs - step * vs, i, MP)
        return np.array((up - down) / (2 * step), dtype=float)


def _zeros(x: Vec) -> Vec:
    return 0 * x


def _products_except(c: Vec) -> Vec:
    """The product of all elements but the k-th, for every k (no division)."""
    one = c[:1] * 0 + 1
    before = np.cumprod(np.concatenate((one, c[:-1])))
    after = np.cumprod(np.concatenate((one, c[:0:-1])))[::-1]
    return before * after


def _rosenbrock_grad(x: Vec, i: Vec, m: Any) -> Vec:
    g, d = _zeros(x), x[1:] - x[:-1] ** 2
    g[:-1] += -400 * x[:-1] * d - 2 * (1 - x[:-1])
    g[1:] += 200 * d
    return g


def _ackley(x: Vec, i: Vec, m: Any) -> Any:
    n = len(x)
    r, c = m.sqrt(np.sum(x**2) / n), np.sum(m.cos(2 * m.pi * x)) / n
    return -20 * m.exp(-0.2 * r) - m.exp(c) + 20 + m.e


def _ackley_grad(x: Vec, i: Vec, m: Any) -> Vec:
    n = len(x)
    r, c = m.sqrt(np.sum(x**2) / n), np.sum(m.cos(2 * m.pi * x)) / n
    return 4 * m.exp(-0.2 * r) * x / (n * r) + m.exp(c) * 2 * m.pi * m.sin(2 * m.pi * x) / n


def _griewank_grad(x: Vec, i: Vec, m: Any) -> Vec:
    u = x / m.sqrt(i)
    return x / 2000 + m.sin(u) / m.sqrt(i) * _products_except(m.cos(u))


def _levy(x: Vec, i: Vec, m: Any) -> Any:
    w = 1 + (x - 1) / 4
    inner = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * m.sin(m.pi * w[:-1] + 1) ** 2))
    last = (w[-1] - 1) ** 2 * (1 + m.sin(2 * m.pi * w[-1]) ** 2)
    return m.sin(m.pi * w[0]) ** 2 + inner + last


def _levy_grad(x: Vec, i: Vec, m: Any) -> Vec:
    w, g = 1 + (x - 1) / 4, _zeros(x)
    g[0] += 2 * m.pi * m.sin(m.pi * w[0]) * m.cos(m.pi * w[0])
    s = m.pi * w[:-1] + 1
    g[:-1] += 2 * (w[:-1] - 1) * (1 + 10 * m.sin(s) ** 2)
    g[:-1] += (w[:-1] - 1) ** 2 * 20 * m.pi * m.sin(s) * m.cos(s)
    t = 2 * m.pi * w[-1]
    g[-1] += 2 * (w[-1] - 1) * (1 + m.sin(t) ** 2)
    g[-1] += (w[-1] - 1) ** 2 * 4 * m.pi * m.sin(t) * m.cos(t)
    return g / 4


def _zakharov(x: Vec, i: Vec, m: Any) -> Any:
    s = np.sum(0.5 * i * x)
    return np.sum(x**2) + s**2 + s**4


def _zakharov_grad(x: Vec, i: Vec, m: Any) -> Vec:
    s = np.sum(0.5 * i * x)
    return 2 * x + (2 * s + 4 * s**3) * 0.5 * i


def _dixon_price_grad(x: Vec, i: Vec, m: Any) -> Vec:
    g, t = _zeros(x), 2 * x[1:] ** 2 - x[:-1]
    g[0] += 2 * (x[0] - 1)
    g[1:] += 8 * i[1:] * t * x[1:]
    g[:-1] -= 2 * i[1:] * t
    return g


def _michalewicz_grad(x: Vec, i: Vec, m: Any) -> Vec:
    u = i * x**2 / m.pi
    return -(m.cos(x) * m.sin(u) ** 20 + m.sin(x) * 40 * m.sin(u) ** 19 * m.cos(u) * i * x / m.pi)


def _trid_grad(x: Vec, i: Vec, m: Any) -> Vec:
    g = 2 * (x - 1)
    g[1:] -= x[:-1]
    g[:-1] -= x[1:]
    return g


def _powell_parts(x: Vec) -> tuple[Vec, Vec, Vec, Vec]:
    a, b, c, d = x[0::4], x[1::4], x[2::4], x[3::4]
    return a + 10 * b, c - d, b - 2 * c, a - d


def _powell(x: Vec, i: Vec, m: Any) -> Any:
    p, q, r, s = _powell_parts(x)
    return np.sum(p**2 + 5 * q**2 + r**4 + 10 * s**4)


def _powell_grad(x: Vec, i: Vec, m: Any) -> Vec:
    p, q, r, s = _powell_parts(x)
    g = _zeros(x)
    g[0::4], g[1::4] = 2 * p + 40 * s**3, 20 * p + 4 * r**3
    g[2::4], g[3::4] = 10 * q - 8 * r**3, -10 * q - 40 * s**3
    return g


def _salomon_grad(x: Vec, i: Vec, m: Any) -> Vec:
    r = m.sqrt(np.sum(x**2))
    return (2 * m.pi * m.sin(2 * m.pi * r) + 0.1) * x / r


def _brown(x: Vec, i: Vec, m: Any) -> Any:
    a, b = x[:-1] ** 2, x[1:] ** 2
    return np.sum(a ** (b + 1) + b ** (a + 1))


def _brown_grad(x: Vec, i: Vec, m: Any) -> Vec:
    a, b, g = x[:-1] ** 2, x[1:] ** 2, _zeros(x)
    g[:-1] += ((b + 1) * a**b + b ** (a + 1) * m.log(b)) * 2 * x[:-1]
    g[1:] += (a ** (b + 1) * m.log(a) + (a + 1) * b**a) * 2 * x[1:]
    return g


def _at(point: Callable[[int], np.ndarray], fmin: Callable[[int], float]) -> Any:
    return lambda n: (point(n), fmin(n))


_ZERO = _at(np.zeros, lambda n: 0.0)
_ONES = _at(np.ones, lambda n: 0.0)

FUNCTIONS: tuple[Textbook, ...] = (
    Textbook("sphere", "sum(x^2)", lambda x, i, m: np.sum(x**2), lambda x, i, m: 2 * x,
             (-5.12, 5.12), _ZERO),
    Textbook("sum_squares", "sum(i*x^2)", lambda x, i, m: np.sum(i * x**2),
             lambda x, i, m: 2 * i * x, (-10, 10), _ZERO),
    # sum_{i} sum_{j <= i} x_j^2, written with the weights n + 1 - i
    Textbook("rotated_hyper_ellipsoid", "sum((len(x) + 1 - i)*x^2)",
             lambda x, i, m: np.sum(np.cumsum(x**2)),
             lambda x, i, m: 2 * (len(x) + 1 - i) * x, (-65.536, 65.536), _ZERO),
    Textbook("rosenbrock", "sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)",
             lambda x, i, m: np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2),
             _rosenbrock_grad, (-2.048, 2.048), _ONES),
    Textbook("rastrigin", "10*len(x) + sum(x^2 - 10*cos(2*pi*x))",
             lambda x, i, m: 10 * len(x) + np.sum(x**2 - 10 * m.cos(2 * m.pi * x)),
             lambda x, i, m: 2 * x + 20 * m.pi * m.sin(2 * m.pi * x), (-5.12, 5.12), _ZERO),
    Textbook("ackley",
             "-20*exp(-0.2*sqrt(mean(x^2))) - exp(mean(cos(2*pi*x))) + 20 + e",
             _ackley, _ackley_grad, (-32.768, 32.768)),
    Textbook("griewank", "1 + sum(x^2)/4000 - prod(cos(x/sqrt(i)))",
             lambda x, i, m: 1 + np.sum(x**2) / 4000 - np.prod(m.cos(x / m.sqrt(i))),
             _griewank_grad, (-600, 600), _ZERO),
    Textbook("styblinski_tang", "0.5*sum(x^4 - 16*x^2 + 5*x)",
             lambda x, i, m: 0.5 * np.sum(x**4 - 16 * x**2 + 5 * x),
             lambda x, i, m: 2 * x**3 - 16 * x + 2.5, (-5, 5)),
    Textbook("levy",
             "w = 1 + (x - 1)/4\n"
             "sin(pi*w[0])^2 + sum((w[:-1] - 1)^2*(1 + 10*sin(pi*w[:-1] + 1)^2))"
             " + (w[-1] - 1)^2*(1 + sin(2*pi*w[-1])^2)",
             _levy, _levy_grad, (-10, 10), _ONES),
    Textbook("zakharov", "s = sum(0.5*i*x)\nsum(x^2) + s^2 + s^4", _zakharov, _zakharov_grad,
             (-5, 10), _ZERO),
    Textbook("dixon_price", "(x[0] - 1)^2 + sum(i[1:]*(2*x[1:]^2 - x[:-1])^2)",
             lambda x, i, m: (x[0] - 1) ** 2 + np.sum(i[1:] * (2 * x[1:] ** 2 - x[:-1]) ** 2),
             _dixon_price_grad, (-10, 10),
             _at(lambda n: 2.0 ** (-(2.0 ** index(n) - 2) / 2.0 ** index(n)), lambda n: 0.0)),
    # m = 10: the power is 2m = 20
    Textbook("michalewicz", "-sum(sin(x)*sin(i*x^2/pi)^20)",
             lambda x, i, m: -np.sum(m.sin(x) * m.sin(i * x**2 / m.pi) ** 20),
             _michalewicz_grad, (0, np.pi), rtol=1e-10),  # sin of up to n*pi: eps*n*pi lost
    Textbook("sum_of_different_powers", "sum(abs(x)^(i + 1))",
             lambda x, i, m: np.sum(abs(x) ** (i + 1)),
             lambda x, i, m: (i + 1) * abs(x) ** i * m.sign(x), (-1, 1)),
    Textbook("trid", "sum((x - 1)^2) - dot(x[1:], x[:-1])",
             lambda x, i, m: np.sum((x - 1) ** 2) - np.sum(x[1:] * x[:-1]), _trid_grad,
             (-4, 4), _at(lambda n: index(n) * (n + 1 - index(n)),
                          lambda n: -n * (n + 4) * (n - 1) / 6)),
    Textbook("schwefel", "418.9829*len(x) - sum(x*sin(sqrt(abs(x))))",
             lambda x, i, m: 418.9829 * len(x) - np.sum(x * m.sin(m.sqrt(abs(x)))),
             lambda x, i, m: -(m.sin(m.sqrt(abs(x))) + m.sqrt(abs(x)) * m.cos(m.sqrt(abs(x))) / 2),
             (-500, 500)),
    Textbook("powell",
             "a = x[0::4] + 10*x[1::4]\nb = x[2::4] - x[3::4]\nc = x[1::4] - 2*x[2::4]\n"
             "d = x[0::4] - x[3::4]\nsum(a^2 + 5*b^2 + c^4 + 10*d^4)",
             _powell, _powell_grad, (-4, 5), _ZERO, multiple=4),
    Textbook("qing", "sum((x^2 - i)^2)", lambda x, i, m: np.sum((x**2 - i) ** 2),
             lambda x, i, m: 4 * x * (x**2 - i), (-500, 500),
             _at(lambda n: np.sqrt(index(n)), lambda n: 0.0)),
    Textbook("salomon", "r = norm(x)\n1 - cos(2*pi*r) + 0.1*r",
             lambda x, i, m: (1 - m.cos(2 * m.pi * m.sqrt(np.sum(x**2)))
                              + 0.1 * m.sqrt(np.sum(x**2))),
             _salomon_grad, (-100, 100), rtol=1e-10),  # cos(2*pi*r), r ~ 58*sqrt(n)
    Textbook("alpine1", "sum(abs(x*sin(x) + 0.1*x))",
             lambda x, i, m: np.sum(abs(x * m.sin(x) + 0.1 * x)),
             lambda x, i, m: m.sign(x * m.sin(x) + 0.1 * x) * (m.sin(x) + x * m.cos(x) + 0.1),
             (-10, 10)),
    Textbook("exponential", "-exp(-0.5*sum(x^2))", lambda x, i, m: -m.exp(-0.5 * np.sum(x**2)),
             lambda x, i, m: m.exp(-0.5 * np.sum(x**2)) * x, (-1, 1),
             _at(np.zeros, lambda n: -1.0)),
    Textbook("brown", "a = x[:-1]^2\nb = x[1:]^2\nsum(a^(b + 1) + b^(a + 1))", _brown,
             _brown_grad, (-1, 4)),
)  # fmt: skip

BY_NAME = {fn.name: fn for fn in FUNCTIONS}


def assert_close(got: Any, want: Any, rtol: float, what: str = "") -> None:
    """Normwise: max |got - want| <= rtol * max |want| (a scalar: relative), same shape."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    err, scale = (
        float(np.max(np.abs(got - want), initial=0)),
        float(np.max(np.abs(want), initial=0)),
    )
    assert err <= rtol * scale, f"{what}: error {err:.3g} > {rtol:g} * {scale:.3g}\n{got}\n{want}"
