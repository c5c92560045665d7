"""The elementary family (`ir/library_elementary.py`): values against NumPy and SciPy bit for
bit on every tier, first and second derivatives against mpmath (40 digits) at random points
and at the special points (0, the poles, the kinks and ties), every backend and mode agreeing,
the `%` operator, the aliases and the SymPy bridge.

How errors are counted (`ulps`): in ulps of max(|exact|, s), s = 0 (a relative error) but for
sinc past |x| = 1/2, where s is the envelope pi^k/(pi |x|) of its k-th derivative (NumPy's
sin(pi x)/(pi x) rounds pi x: next to the zeros only an absolute error can be promised, and it
grows like |x|), and for cosm1's value past |x| = pi/4, where s = 1 (SciPy's kernel computes
cos(x) - 1 there, which cancels next to 2 pi k). The worst errors measured (numpy tier; the
compiled tiers compute the same numbers, but for the C library's exp2, sin, cos and tan, which
may differ from NumPy's own by an ulp), asserted below with a margin (`CASES`):

    function     value  d/dx  d2/dx2  over
    exp2          0.6    1.5    1.8   x in (-1070, 1023), (-3, 3), 0, +-1
    rsqrt         1.3    1.8    2.6   1e-300 .. 1e300, 5e-324
    reciprocal    0.5    1.7    2.1   +-(1e-300 .. 1e300)
    logit         1.0    1.1    2.2   (0, 1), 1e-300 .. 0.1, 1 - (1e-16 .. 0.1), 0.5
    sinc          1.0    1.8    6.6   |x| <= 1/2, +-(1e-300 .. 0.5); 0 exact (1, 0, -pi^2/3)
    sinc (s)       39     47     36   1/2 < |x| < 20, the zeros +-1, +-2, +-19
    cot           1.0    2.4    2.8   +-(0 .. 20), +-(1e-300 .. 1), next to pi
    sec           1.3    1.9    2.5   (-20, 20), next to +-pi/2
    csc           1.0    1.8    3.0   +-(0 .. 20), +-(1e-300 .. 1), next to pi
    deg2rad       0.6    0.1    0     +-(1e-300 .. 1e300)
    rad2deg       0.7    0.3    0     +-(1e-300 .. 1e300)
    cosm1         1.0    0.5    0.5   |x| < pi/4, +-(1e-300 .. 0.6)
    cosm1 (s)     0.7    0.5    0.5   pi/4 < |x| < 20, 2 pi
    powm1         1.4   13.8    1.4   x in 1e-3 .. 1e3 and next to 1, y in (-5, 5): value,
                                      d/dx, d/dy; the Hessian xx 16, xy 17, yy 2.1

sinc'' is 6.6 ulp at |x| = 1/2 + 2^-52 (the closed form, next to the zero of sinc'' at
0.66; the Taylor polynomial below 1/2 is within 2). powm1's d/dx is pow's rule y x^(y-1): the
rounding of y - 1 is magnified by |ln x| (as for `x^y` itself). mod, fmod, round, clamp and
heaviside are exact (values NumPy's, derivatives whole numbers).
"""

from __future__ import annotations

import math
import re
import zlib

import mpmath as mp
import numpy as np
import pytest
import scipy.special as ss
import sympy

import adcompile as adc

mp.mp.dps = 40
PI = mp.pi


def _digits(x: mp.mpf) -> int:
    """Working digits for a reference at x: more next to 0, where the forms cancel."""
    return 40 + 2 * max(0, int(-mp.log10(abs(x)))) if x else 40


def sinc(x: mp.mpf, k: int) -> mp.mpf:
    """NumPy's sinc sin(pi x)/(pi x) (k = 0) and its derivatives (k = 1, 2), exactly."""
    if x == 0:
        return (mp.mpf(1), mp.mpf(0), -(PI**2) / 3)[k]
    with mp.workdps(_digits(x)):
        s = mp.sin(PI * x) / (PI * x)
        d = (mp.cos(PI * x) - s) / x
        return +(s, d, -(PI**2) * s - 2 * d / x)[k]


def _lu(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return 10.0 ** rng.uniform(lo, hi, n)


def _pm(a: np.ndarray | list[float]) -> np.ndarray:
    return np.concatenate([a, -np.asarray(a)])


#: text -> the exact value, f' and f'' (mpmath), the points (a function of a Generator),
#: the scale s of `ulps` (a function of x and k; None: 0), the worst ulp allowed.
CASES = {
    "exp2": ((lambda x: 2**x, lambda x: mp.ln2 * 2**x, lambda x: mp.ln2**2 * 2**x),
             lambda r: np.r_[r.uniform(-1070, 1023, 200), r.uniform(-3, 3, 100), 0, 1, -1],
             None, (1, 2, 3)),
    "rsqrt": ((lambda x: x**-0.5, lambda x: -(x**-1.5) / 2, lambda x: 0.75 * x**-2.5),
              lambda r: np.r_[_lu(r, -300, 300, 300), 5e-324, 1, 4], None, (2, 2, 4)),
    "reciprocal": ((lambda x: 1 / x, lambda x: -1 / x**2, lambda x: 2 / x**3),
                   lambda r: _pm(_lu(r, -300, 300, 150)), None, (1, 3, 3)),
    "logit": ((lambda x: mp.log(x / (1 - x)), lambda x: 1 / (x * (1 - x)),
               lambda x: (2 * x - 1) / (x * (1 - x)) ** 2),
              lambda r: np.r_[r.uniform(0, 1, 200), _lu(r, -300, -1, 50), 1 - _lu(r, -16, -1, 50),
                              0.5, 0.25, 1e-300, 1 - 2**-53], None, (2, 2, 4)),
    "sinc": ((lambda x: sinc(x, 0), lambda x: sinc(x, 1), lambda x: sinc(x, 2)),
             lambda r: np.r_[r.uniform(-0.5, 0.5, 150), _pm(_lu(r, -300, -0.3, 60)), 0,
                             _pm(np.r_[0.5 - 2**-53, 0.5, 0.5 + 2**-52])], None, (2, 3, 8)),
    "sinc_far": ((lambda x: sinc(x, 0), lambda x: sinc(x, 1), lambda x: sinc(x, 2)),
                 lambda r: _pm(np.r_[r.uniform(0.5, 20, 200), 1, 2, 19]),
                 lambda x, k: math.pi**k / (math.pi * abs(x)), (50, 60, 50)),
    "cot": ((mp.cot, lambda x: -mp.csc(x) ** 2, lambda x: 2 * mp.csc(x) ** 2 * mp.cot(x)),
            lambda r: _pm(np.r_[r.uniform(0, 20, 150), _lu(r, -300, 0, 50), math.pi, 3.1416]),
            None, (2, 3, 4)),
    "sec": ((mp.sec, lambda x: mp.sec(x) * mp.tan(x),
             lambda x: mp.sec(x) * (mp.tan(x) ** 2 + mp.sec(x) ** 2)),
            lambda r: np.r_[r.uniform(-20, 20, 300), _pm([math.pi / 2, 1.5707963])], None,
            (2, 3, 4)),
    "csc": ((mp.csc, lambda x: -mp.csc(x) * mp.cot(x),
             lambda x: mp.csc(x) * (mp.cot(x) ** 2 + mp.csc(x) ** 2)),
            lambda r: _pm(np.r_[r.uniform(0, 20, 150), _lu(r, -300, 0, 50), math.pi, 3.1416]),
            None, (2, 3, 4)),
    "deg2rad": ((lambda x: PI / 180 * x, lambda x: PI / 180, lambda x: mp.mpf(0)),
                lambda r: _pm(_lu(r, -300, 300, 150)), None, (1, 1, 0)),
    "rad2deg": ((lambda x: 180 / PI * x, lambda x: 180 / PI, lambda x: mp.mpf(0)),
                lambda r: _pm(_lu(r, -300, 300, 150)), None, (1, 1, 0)),
    "cosm1": ((lambda x: -2 * mp.sin(x / 2) ** 2, lambda x: -mp.sin(x), lambda x: -mp.cos(x)),
              lambda r: _pm(np.r_[r.uniform(0, math.pi / 4, 100), _lu(r, -300, -0.2, 50)]),
              None, (2, 1, 1)),
    "cosm1_far": ((lambda x: -2 * mp.sin(x / 2) ** 2, lambda x: -mp.sin(x), lambda x: -mp.cos(x)),
                  lambda r: _pm(np.r_[r.uniform(math.pi / 4, 20, 150), 2 * math.pi]),
                  lambda x, k: 1.0 if k == 0 else 0.0, (1, 1, 1)),
}  # fmt: skip


def ulps(got: float, want: mp.mpf, scale: float = 0.0) -> float:
    """|got - want| in ulps of max(|want|, scale); 0 where that is not a normal float (the
    exact value overflows or underflows: the float's inf or 0 is the answer)."""
    size = max(abs(float(want)), scale)
    if not 2.2250738585072014e-308 <= size < 1.7976931348623157e308:
        return 0.0
    return float(abs(mp.mpf(got) - want) / math.ulp(size)) if math.isfinite(got) else math.inf


@pytest.mark.parametrize("case", list(CASES))
def test_values_and_derivatives_against_mpmath(case: str) -> None:
    exact, points, scale, bounds = CASES[case]
    xs = points(np.random.default_rng(zlib.crc32(case.encode())))
    f = adc.compile(f"{case.split('_')[0]}(x)", backend="numpy")
    value, (grad,) = f.value_and_grad()(xs)
    second = f.hessian()(xs)[:, 0, 0]
    worst = [0.0, 0.0, 0.0]
    for k, got in enumerate((value, grad, second)):
        for x, g in zip(xs, got):
            s = scale(float(x), k) if scale else 0.0
            worst[k] = max(worst[k], ulps(float(g), exact[k](mp.mpf(float(x))), s))
    print(f"{case:10s} value {worst[0]:6.1f}  d/dx {worst[1]:6.1f}  d2/dx2 {worst[2]:6.1f} ulp")
    assert all(w <= b for w, b in zip(worst, bounds)), (case, worst)


def test_powm1_gradient_and_hessian_against_mpmath() -> None:
    rng = np.random.default_rng(11)
    x = np.r_[_lu(rng, -3, 3, 150), 1 + rng.uniform(-1e-3, 1e-3, 50), 1 + _lu(rng, -16, -8, 20)]
    y = rng.uniform(-5, 5, x.size)
    f = adc.compile("powm1(x, y)", backend="numpy")
    value, (gx, gy) = f.value_and_grad()(x, y)
    h = f.hessian()(x, y)
    got = (value, gx, gy, h[:, 0, 0], h[:, 0, 1], h[:, 1, 1])
    exact = (lambda a, b: mp.expm1(b * mp.log(a)), lambda a, b: b * a ** (b - 1),
             lambda a, b: a**b * mp.log(a), lambda a, b: b * (b - 1) * a ** (b - 2),
             lambda a, b: a ** (b - 1) * (1 + b * mp.log(a)),
             lambda a, b: a**b * mp.log(a) ** 2)  # fmt: skip
    worst = [max(ulps(float(g), e(mp.mpf(float(a)), mp.mpf(float(b))))
                 for a, b, g in zip(x, y, column)) for e, column in zip(exact, got)]  # fmt: skip
    assert all(w <= b for w, b in zip(worst, (2, 18, 2, 20, 22, 3))), worst


# ---- values: NumPy's and SciPy's, bit for bit ------------------------------------------------
#: op -> (its NumPy or SciPy reference, arity). On the compiled tiers exp2, sinc, cot, sec and
#: csc call the C library's exp2, sin, cos, tan, which may differ from NumPy's by an ulp.
REFERENCE = {
    "exp2": (np.exp2, 1), "rsqrt": (lambda a: 1 / np.sqrt(a), 1), "reciprocal": (np.reciprocal, 1),
    "logit": (ss.logit, 1), "sinc": (np.sinc, 1), "cot": (lambda a: 1 / np.tan(a), 1),
    "sec": (lambda a: 1 / np.cos(a), 1), "csc": (lambda a: 1 / np.sin(a), 1),
    "deg2rad": (np.deg2rad, 1), "rad2deg": (np.rad2deg, 1), "cosm1": (ss.cosm1, 1),
    "round": (np.rint, 1), "powm1": (ss.powm1, 2), "mod": (np.mod, 2), "fmod": (np.fmod, 2),
    "heaviside": (np.heaviside, 2), "clamp": (np.clip, 3),
}  # fmt: skip
LIBM = {"exp2", "sinc", "cot", "sec", "csc"}
SPECIALS = (0.0, -0.0, 1.0, -1.0, 0.5, 2.5, -3.5, 7.0, -3.0, 1e-300, math.inf, -math.inf, math.nan)


def _grid() -> list[np.ndarray]:
    """Every triple of SPECIALS, then random points (ties of clamp's and mod's arguments)."""
    s, rng = np.array(SPECIALS), np.random.default_rng(3)
    k = np.arange(len(s) ** 3)
    grid = [s[(k // len(s) ** j) % len(s)] for j in range(3)]
    rand = [np.round(rng.uniform(-9, 9, 600), 1) for _ in range(3)]
    return [np.r_[g, r] for g, r in zip(grid, rand)]


def _same(got: np.ndarray, want: np.ndarray, ulp: int = 0) -> np.ndarray:
    """Where got is want (NaN for NaN; within `ulp` ulps)."""
    with np.errstate(invalid="ignore"):
        near = np.abs(got - want) <= ulp * np.spacing(np.abs(want))
    return (got == want) | (np.isnan(got) & np.isnan(want)) | near


def test_values_are_numpys_and_scipys_on_every_tier() -> None:
    args = _grid()
    names = list(REFERENCE)
    text = ", ".join(f"{n}({', '.join('abc'[: REFERENCE[n][1]])})" for n in names)
    with np.errstate(all="ignore"):
        want = [np.asarray(fn(*args[:arity]), float) for fn, arity in REFERENCE.values()]
    tiers = {b: adc.compile(text, inputs=list("abc"), backend=b).value(*args)
             for b in ("numpy", "numba", "vm")}  # fmt: skip
    for k, name in enumerate(names):
        for backend, found in tiers.items():
            ulp = 1 if backend != "numpy" and name in LIBM else 0
            bad = ~_same(np.asarray(found[k]), want[k], ulp)
            at = [tuple(float(a[i]) for a in args) for i in np.flatnonzero(bad)[:4]]
            assert not bad.any(), (name, backend, at)
        np.testing.assert_array_equal(tiers["vm"][k], tiers["numba"][k])


def test_the_readable_source_runs_in_plain_python() -> None:
    text = ", ".join(f"{n}({', '.join('abc'[:a])})" for n, (_, a) in REFERENCE.items())
    ev = adc.compile(text, inputs=list("abc"), backend="numpy").value
    namespace: dict = {}
    exec(ev.source, namespace)  # the compiler's own text
    for point in ((0.3, 1.7, 2.5), (-2.5, -0.5, 0.75), (0.5, 0.0, math.nan)):
        with np.errstate(all="ignore"):  # sqrt(-2.5), fmod(x, 0): NaN, as NumPy warns
            got = np.array(namespace["value"](*point), float)
        np.testing.assert_allclose(got, np.array(ev(*point), float), rtol=1e-15)


# ---- derivatives: every backend and mode ---------------------------------------------------
#: Formulas of several functions, each on its own inputs (not `e`: a constant): the gradient
#: and the Hessian's diagonal blocks are the functions' derivatives; compared across the tiers.
GROUPS = {
    "smooth": "exp2(a) + rsqrt(b) + reciprocal(c) + logit(d) + sinc(q) + sinc(f) + cot(g) "
              "+ sec(h) + csc(i) + cosm1(j) + powm1(k, m) + deg2rad(n) + rad2deg(p)",
    "piecewise": "clamp(a, b, c) + mod(d, q) + fmod(f, g) + round(h) + heaviside(i, j) + i % k",
}  # fmt: skip
AT = {"a": [0.7, -3.0, 2.0, 1.0], "b": [2.5, 0.3, 1e-8, 0.5], "c": [1.3, -0.4, 2.0, 5.0],
      "d": [0.3, -7.0, 0.5, 7.0], "q": [1e-9, 0.5, -0.3, 3.0], "f": [2.7, -7.5, 0.0, 7.0],
      "g": [0.4, 2.0, 3.0, -2.0], "h": [0.2, 2.5, 1.1, -0.5], "i": [0.0, -1.0, 0.0, 3.5],
      "j": [0.5, 0.0, 1.0, 0.25], "k": [1.5, 0.5, 0.9, 2.0], "m": [-2.0, 3.0, 0.5, 0.0],
      "n": [1.0, 2.0, -3.0, 0.0], "p": [-1.0, 0.5, 2.0, 9.0]}  # fmt: skip


@pytest.mark.parametrize("group", list(GROUPS))
def test_numba_vm_and_numpy_agree_in_every_mode(group: str) -> None:
    found = []
    for backend in ("numpy", "vm", "numba"):
        f = adc.compile(GROUPS[group], backend=backend)
        assert set(f.inputs) == set(re.findall(r"\b[a-z]\b", GROUPS[group])), f.inputs
        args = [np.array(AT[n]) for n in f.inputs]
        value, grad = f.value_and_grad()(*args)
        hess = f.hessian()(*args)
        t = [1.0 / (k + 1) for k in range(len(args))]
        _, along = f.jvp()(*args, tangents=t)
        np.testing.assert_allclose(along, np.tensordot(t, np.array(grad), 1), rtol=1e-13)
        found.append(np.hstack([np.ravel(value), np.ravel(grad), np.ravel(hess)]))
    np.testing.assert_allclose(found[1], found[0], rtol=1e-13, atol=1e-300)
    np.testing.assert_array_equal(found[2], found[1])


def test_sinc_at_zero_and_across_the_switch_of_its_slope() -> None:
    for backend in ("numpy", "vm"):
        f = adc.compile("sinc(x)", backend=backend)
        value, grad = f.value_and_grad()(0.0)
        assert (value, grad[0]) == (1.0, 0.0), backend
        assert f.hessian()(0.0)[0, 0] == pytest.approx(-(math.pi**2) / 3, rel=1e-16), backend
    # the Taylor polynomial below |x| = 1/2, the closed form above: both exact to an ulp or so
    f = adc.compile("sinc(x)", backend="numpy")
    xs = np.array([0.5 - 2**-53, 0.5, -0.5, -0.5 + 2**-53])
    for k, got in ((1, f.value_and_grad()(xs)[1][0]), (2, f.hessian()(xs)[:, 0, 0])):
        assert [ulps(float(g), sinc(mp.mpf(float(x)), k)) for x, g in zip(xs, got)] <= [3] * 4


def test_kinks_ties_and_jumps() -> None:
    """The derivative conventions (module docstring of `ir/library_elementary.py`)."""
    rows = [  # formula, point, value, gradient
        ("clamp(x, lo, hi)", (0.5, 0.0, 1.0), 0.5, (1, 0, 0)),
        ("clamp(x, lo, hi)", (0.0, 0.0, 1.0), 0.0, (1, 0, 0)),  # a tie: x, as NumPy returns
        ("clamp(x, lo, hi)", (1.0, 0.0, 1.0), 1.0, (1, 0, 0)),
        ("clamp(x, lo, hi)", (-2.0, 0.0, 1.0), 0.0, (0, 1, 0)),
        ("clamp(x, lo, hi)", (3.0, 0.0, 1.0), 1.0, (0, 0, 1)),
        ("clamp(x, lo, hi)", (0.5, 2.0, 1.0), 1.0, (0, 0, 1)),  # lo > hi: hi
        ("clamp(x, lo, hi)", (1.0, 1.0, 1.0), 1.0, (1, 0, 0)),
        ("round(x)", (0.5,), 0.0, (0,)),
        ("round(x)", (1.5,), 2.0, (0,)),
        ("round(x)", (2.5,), 2.0, (0,)),
        ("round(x)", (-0.5,), -0.0, (0,)),
        ("heaviside(x, h)", (0.0, 0.3), 0.3, (0, 1)),
        ("heaviside(x, h)", (-1e-300, 0.3), 0.0, (0, 0)),
        ("heaviside(x, h)", (2.0, 0.3), 1.0, (0, 0)),
        ("mod(x, y)", (-7.0, 3.0), 2.0, (1, 3)),
        ("mod(x, y)", (7.0, -3.0), -2.0, (1, 3)),
        ("mod(x, y)", (6.0, 3.0), 0.0, (1, -2)),  # at a jump: the branch of the value
        ("fmod(x, y)", (-7.0, 3.0), -1.0, (1, 2)),
        ("fmod(x, y)", (7.0, -3.0), 1.0, (1, 2)),
        ("powm1(x, y)", (-2.0, 2.0), 3.0, (-4, 0)),  # as pow: d/dy = 0 where x <= 0
        ("powm1(x, y)", (0.0, 0.0), 0.0, (0, 0)),  # d/dx = 0 where y == 0
        ("rsqrt(x)", (0.0,), math.inf, (-math.inf,)),
        ("logit(x)", (0.5,), 0.0, (4,)),
    ]
    for backend in ("numpy", "vm"):  # the VM runs the Numba templates, with no compile per formula
        for text, at, value, grad in rows:
            f = adc.compile(text, backend=backend)
            got_value, got_grad = f.value_and_grad()(*at)
            assert (got_value, tuple(got_grad)) == (value, grad), (text, at, backend)
            assert not np.any(f.hessian()(*at)) or text.startswith(("powm1", "rsqrt", "logit"))


def test_the_slopes_of_mod_and_fmod_are_their_quotients() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.uniform(-50, 50, 2000), rng.uniform(-4, 4, 2000)
    for text, quotient in (("x % y", np.floor_divide(x, y)), ("fmod(x, y)", np.trunc(x / y))):
        _, (gx, gy) = adc.compile(text, backend="numpy").value_and_grad()(x, y)
        assert np.all(gx == 1.0) and np.array_equal(gy, -quotient), text
    # next to a jump the quotient is the value's: 0.3 = 2 * 0.1 + 0.0999..
    mod = adc.compile("mod(x, y)", backend="vm").value_and_grad()
    assert mod(0.3, 0.1)[1][1] == -2.0 and math.isnan(mod(1.0, 0.0)[1][1])


def test_the_percent_operator() -> None:
    def at(text: str, **values: float) -> float:
        f = adc.compile(text, inputs=list(values) or None, backend="numpy")
        return float(f(*values.values()))

    assert at("-7 % 3") == 2.0 and at("7 % -3") == -2.0 and at("-7 % -3") == -1.0
    assert math.isnan(at("x % 0", x=5.0)) and math.isnan(at("x % y", x=5.0, y=0.0))
    assert at("2 * 7 % 3") == 2.0  # (2 * 7) % 3: the level of * and /, left to right
    assert at("7 % 3 * 2") == 2.0 and at("1 + 7 % 3") == 2.0
    assert at("x % y^2", x=7.0, y=2.0) == 3.0 and at("-x % y", x=7.0, y=3.0) == 2.0
    assert at("x % y", x=5.5, y=math.inf) == 5.5 and at("x % y", x=-5.5, y=math.inf) == math.inf
    assert str(adc.compile("x % y").to_sympy()) == "Mod(x, y)"


ALIASES = [
    ("radians(x)", "deg2rad(x)"), ("degrees(x)", "rad2deg(x)"), ("clip(x, y, 2)", "clamp(x, y, 2)"),
    ("rint(x)", "round(x)"), ("Heaviside(x, y)", "heaviside(x, y)"),
    ("remainder(x, y)", "mod(x, y)"), ("Mod(x, y)", "x % y"),
]  # fmt: skip


@pytest.mark.parametrize(("alias", "canonical"), ALIASES)
def test_aliases_compute_their_op(alias: str, canonical: str) -> None:
    for x, y in ((0.3, 1.7), (-2.5, 0.0), (2.5, -0.5)):
        a = adc.compile(alias, inputs=["x", "y"], backend="vm").value_and_grad()(x, y)
        b = adc.compile(canonical, inputs=["x", "y"], backend="vm").value_and_grad()(x, y)
        assert str(a) == str(b), (alias, x, y)


def test_the_sympy_bridge() -> None:
    x, y, z = sympy.symbols("x y z")
    cases = [  # text over x, y, z; a SymPy expression of the same function; a point
        ("exp2(x) + rsqrt(y) + reciprocal(z)", 2**x + 1 / sympy.sqrt(y) + 1 / z, (0.3, 2.0, -4.0)),
        ("logit(x) + cot(y) + sec(z) + csc(x)",
         sympy.log(x / (1 - x)) + sympy.cot(y) + sympy.sec(z) + sympy.csc(x), (0.3, 2.0, -1.0)),
        ("sinc(x) * y + z", sympy.sinc(sympy.pi * x) * y + z, (0.3, 2.0, -1.0)),
        ("deg2rad(x) + rad2deg(y) + cosm1(z)",
         sympy.pi * x / 180 + 180 * y / sympy.pi + sympy.cos(z) - 1, (30.0, 2.0, 0.1)),
        ("powm1(x, y) + z", x**y - 1 + z, (1.5, 2.5, 1.0)),
        ("clamp(x, y, z)", sympy.Min(sympy.Max(x, y), z), (0.5, 0.0, 1.0)),
        ("heaviside(x, y) + z", sympy.Heaviside(x, y) + z, (0.0, 0.3, 1.0)),
        ("mod(x, y) + fmod(x, z)", sympy.Mod(x, y) + sympy.sign(x) * sympy.Mod(abs(x), abs(z)),
         (-7.5, 2.0, 3.0)),
        ("round(x) + round(y) + z", x + y + z, (2.5, -1.5, 0.25)),  # values at the ties only
    ]  # fmt: skip
    for text, expr, point in cases:
        f = adc.compile(text, inputs=["x", "y", "z"], backend="numpy")
        # our SymPy form, read back
        back = adc.compile(f.to_sympy(), inputs=["x", "y", "z"], backend="numpy")
        assert back(*point) == pytest.approx(f(*point), rel=1e-15), text
        ours = f.to_sympy()
        mine = float(ours.subs({s: point["xyz".index(s.name)] for s in ours.free_symbols}))
        assert mine == pytest.approx(f(*point), rel=1e-14), text
        if not text.startswith("round"):
            theirs = adc.compile(expr, inputs=["x", "y", "z"], backend="numpy")  # SymPy's own
            assert theirs(*point) == pytest.approx(f(*point), rel=1e-14), text
    # SymPy's own spellings read as ops: Heaviside(x) is h0 = 1/2, Mod is %, sinc unnormalized
    assert adc.compile(sympy.Heaviside(x), backend="numpy")(0.0) == 0.5
    assert adc.compile(sympy.Mod(x, 3), backend="numpy")(-7.0) == 2.0
    sinc = adc.compile(sympy.sinc(x), backend="numpy")
    assert sinc(1.3) == pytest.approx(math.sin(1.3) / 1.3, rel=1e-15)
