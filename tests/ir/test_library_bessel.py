"""The Bessel functions (`ir/library_bessel.py`): values, first and second derivatives in x
against mpmath (40 digits), at random points across each domain and at special points (the
zeros of j0 and y0, x = 0, small and large x, whole and half-whole orders); every backend and
mode agreeing; the order's `DerivativeError`; the aliases; the SymPy bridge.

How errors are counted (`ulps`): in ulps of max(|exact|, s), where s is 0 (a relative error)
but for J and Y past their turning point |x| > v, where s is the envelope sqrt(2/(pi |x|))
(they oscillate: near a zero an absolute error is all a float evaluation can promise), and
for the derivatives of the scaled i0e i1e ive, where s is |value| (the two terms of the rule
nearly cancel at large |x|: relatively, f' loses |x| ulp and f'' x^2 ulp; over |x| < 20
the relative errors of f' are 70 (i0e), 240 (i1e) and 4000 (ive) ulp). The worst errors
measured (numpy tier; the compiled tiers compute the same numbers), asserted with a margin
in `CASES`:

    function   value  d/dx  d2/dx2   over (besides x = 1e-10, 1e-5, 0.01)
    j0            15    10     7     x in (-20, 20), j0's first 5 zeros, 1e-300, 100
    j1            10     7     7     x in (-20, 20), j0's first 5 zeros, 1e-300, 100
    jv (AMOS)    257   297   218     v in (0, 3) and 0, .5, .. 3; x in (0.1, 20), j0's zeros,
                                     100, 1000
    jn(3, x)      28     9    10     x in (0.1, 20), 100 (jn is jv)
    y0            13    34    13     x in (0.1, 20), y0's first 5 zeros, 1e-300, 100
    y1            34     8    34     x in (0.1, 20), y0's first 5 zeros, 1e-300, 100
    yv (AMOS)      8   114    45     as jv, at y0's zeros
    yn            34    34    34     n = 0 .. 3, x in (0.1, 20), y0's zeros, 100
    i0             2     6     5     x in (-20, 20), 1e-300, 100, 700
    i1             7     5     4     x in (-20, 20), 1e-300, 100, 700
    iv (AMOS)     13    13     9     v as jv, x in (0.1, 20), 100, 700
    k0             3     3     3     x in (0.1, 20), 1e-300, 100, 700
    k1             2     2     2     x in (0.1, 20), 1e-300, 100, 700
    kv (AMOS)    130    85    19     v as jv, x in (0.1, 20), 100, 600
    i0e            4     4     6     x in (-20, 20), 1e-300, 100, 1e3, 1e5 (f', f'': s = |f|)
    i1e            5     4     5     x in (-20, 20), 1e-300, 100, 1e3, 1e5 (f', f'': s = |f|)
    ive (AMOS)   286   213   326     v as jv, x in (0.1, 20), 100, 1e3, 1e5 (f', f'': s = |f|)

SciPy's kernels set these: Cephes' (j0 j1 y0 y1 yn i0 i1 k0 k1 i0e i1e) are near 1 ulp for
x < 20; j0 j1 y0 y1 yn lose ~0.15 x ulp of the envelope beyond (x = 1e3: 250 ulp, 1e5:
16000: the phase x - pi/4 is rounded), where jv(0, x) and yv(0, x) stay within 1 ulp. AMOS
(jv yv iv kv ive) is within a few hundred ulp everywhere but flushes results below ~1e-210
to 0 (iv(2.3, 1e-100) and kv(0.5, 700) are 0.0). Derivatives inherit their terms' errors
(`jv' = (jv(v-1) - jv(v+1))/2` cancels only near the zeros of jv')."""

from __future__ import annotations

import math
import warnings
import zlib

import mpmath as mp
import numpy as np
import pytest
import scipy.special as ss
import sympy

import adcompile as adc
from adcompile.errors import DerivativeError

mp.mp.dps = 40
BASE = {"J": mp.besselj, "Y": mp.bessely, "I": mp.besseli, "K": mp.besselk}
#: f' = a f(v-1) + b f(v+1) (DLMF 10.6.1, 10.29.1); f'' from Bessel's equation (10.2.1,
#: 10.25.1): x^2 f'' + x f' + sigma (x^2 - sigma v^2) f = 0, sigma = 1 (J, Y), -1 (I, K).
RECURRENCE = {"J": (0.5, -0.5, 1), "Y": (0.5, -0.5, 1), "I": (0.5, 0.5, -1), "K": (-0.5, -0.5, -1)}


def exact(kind: str, v: float, x: float) -> tuple[mp.mpf, mp.mpf, mp.mpf]:
    """J_v, Y_v, I_v, K_v or exp(-|x|) I_v ("E") at x, and its first two x-derivatives."""
    v, x = mp.mpf(v), mp.mpf(x)
    if kind == "E":
        s, (i0, i1, i2) = -mp.sign(x), exact("I", v, x)
        return tuple(mp.exp(s * x) * d for d in (i0, i1 + s * i0, i2 + 2 * s * i1 + i0))
    a, b, sigma = RECURRENCE[kind]
    if kind in "KY":  # mpmath is slow at a whole order: K_{v+1}, Y_{v+1} by recurrence
        below, value = BASE[kind](abs(v - 1) if kind == "K" else v - 1, x), BASE[kind](v, x)
        above = 2 * v / x * value + (below if kind == "K" else -below)
    else:  # I_{-n} = I_n at a whole order: mpmath's series is happier
        below = BASE[kind](abs(v - 1) if kind == "I" and v == int(v) else v - 1, x)
        value, above = BASE[kind](v, x), BASE[kind](v + 1, x)
    below, value, above = mp.re(below), mp.re(value), mp.re(above)
    slope = a * below + b * above
    return value, slope, -slope / x - sigma * (1 - sigma * v * v / (x * x)) * value


def ulps(got: float, want: mp.mpf, scale: float) -> float:
    """|got - want| in ulps of max(|want|, scale); 0 where that is not a normal float (an
    overflow or underflow of the exact value, where SciPy's inf or 0 is the answer)."""
    size = max(abs(float(want)), scale)
    if not 2.2250738585072014e-308 <= size < 1.7976931348623157e308:
        return 0.0
    return float(abs(mp.mpf(got) - want) / math.ulp(size)) if math.isfinite(got) else math.inf


def zeros(kind: str) -> list[float]:
    zero = mp.besseljzero if kind == "J" else mp.besselyzero
    return [float(zero(0, k)) for k in range(1, 6)]


SMALL = [1e-10, 1e-5, 0.01]  # and 1e-300 for Cephes' kernels
#: text over (v, x) -> kind, the order (None: v random in (0, 3) and the special orders),
#: x's random interval, its special points, and the worst ulp allowed (value, f', f'').
CASES = {
    "j0(x)": ("J", 0.0, (-20, 20), [1e-300, *SMALL, *zeros("J"), 100], (20, 14, 10)),
    "j1(x)": ("J", 1.0, (-20, 20), [1e-300, *SMALL, *zeros("J"), 100], (14, 10, 10)),
    "jv(v, x)": ("J", None, (0.1, 20), [*SMALL, *zeros("J"), 100, 1000], (340, 390, 290)),
    "jn(v, x)": ("J", 3.0, (0.1, 20), [*SMALL, 100], (40, 12, 14)),
    "y0(x)": ("Y", 0.0, (0.1, 20), [1e-300, *SMALL, *zeros("Y"), 100], (17, 45, 17)),
    "y1(x)": ("Y", 1.0, (0.1, 20), [1e-300, *SMALL, *zeros("Y"), 100], (45, 12, 45)),
    "yv(v, x)": ("Y", None, (0.1, 20), [*SMALL, *zeros("Y"), 100, 1000], (10, 150, 60)),
    "yn(v, x)": ("Y", "whole", (0.1, 20), [*SMALL, *zeros("Y"), 100], (45, 45, 45)),
    "i0(x)": ("I", 0.0, (-20, 20), [1e-300, *SMALL, 100, 700], (3, 8, 7)),
    "i1(x)": ("I", 1.0, (-20, 20), [1e-300, *SMALL, 100, 700], (9, 7, 5)),
    "iv(v, x)": ("I", None, (0.1, 20), [*SMALL, 100, 700], (17, 17, 12)),
    "k0(x)": ("K", 0.0, (0.1, 20), [1e-300, *SMALL, 100, 700], (4, 4, 4)),
    "k1(x)": ("K", 1.0, (0.1, 20), [1e-300, *SMALL, 100, 700], (3, 3, 3)),
    "kv(v, x)": ("K", None, (0.1, 20), [*SMALL, 100, 600], (170, 110, 25)),
    "i0e(x)": ("E", 0.0, (-20, 20), [1e-300, *SMALL, 100, 1e3, 1e5], (5, 6, 9)),
    "i1e(x)": ("E", 1.0, (-20, 20), [1e-300, *SMALL, 100, 1e3, 1e5], (7, 5, 7)),
    "ive(v, x)": ("E", None, (0.1, 20), [*SMALL, 100, 1e3, 1e5], (370, 280, 420)),
}
SPECIAL_ORDERS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)


def points(text: str) -> tuple[np.ndarray, np.ndarray]:
    _, order, (lo, hi), special, _ = CASES[text]
    rng = np.random.default_rng(zlib.crc32(text.encode()))  # the same points in any order
    xs = rng.uniform(lo, hi, 48)
    if order is None:
        grid = [(v, x) for v in SPECIAL_ORDERS for x in special]
        vs = np.concatenate([rng.uniform(0.0, 3.0, len(xs)), [v for v, _ in grid]])
        return vs, np.concatenate([xs, [x for _, x in grid]])
    if order == "whole":
        grid = [(float(n), x) for n in range(4) for x in special]
        vs = np.concatenate([rng.integers(0, 4, len(xs)), [v for v, _ in grid]])
        return vs.astype(float), np.concatenate([xs, [x for _, x in grid]])
    return np.full(len(xs) + len(special), order), np.concatenate([xs, special])


def worst(text: str) -> list[float]:
    """The worst ulp of value, f' and f'' over the case's points (numpy tier, batched)."""
    kind = CASES[text][0]
    vs, xs = points(text)
    f = adc.compile(text, inputs=["v", "x"], backend="numpy")
    value, grad = f.value_and_grad(wrt="x")(vs, xs)
    second = np.asarray(f.hessian(wrt="x")(vs, xs)).reshape(-1)
    out = [0.0, 0.0, 0.0]
    for k, (v, x) in enumerate(zip(vs, xs)):
        envelope = math.sqrt(2 / (math.pi * abs(x))) if kind in "JY" and abs(x) > v else 0.0
        for m, (got, want) in enumerate(zip((value[k], grad[k], second[k]), exact(kind, v, x))):
            scale = abs(float(value[k])) if kind == "E" and m else envelope
            out[m] = max(out[m], ulps(float(got), want, scale))
    return out


@pytest.mark.parametrize("text", list(CASES))
def test_values_and_derivatives_against_mpmath(text: str) -> None:
    got = worst(text)
    print(f"{text:10s} value {got[0]:8.1f}  d/dx {got[1]:8.1f}  d2/dx2 {got[2]:8.1f} ulp")
    assert all(g <= b for g, b in zip(got, CASES[text][4])), (text, got)


def test_the_reference_derivatives_are_mpmaths() -> None:
    # exact() differentiates by the recurrences; mpmath's own derivatives (and its numerical
    # ones for K) agree, so the rules are checked against an independent reference
    for kind, fn in (("J", mp.besselj), ("Y", mp.bessely), ("I", mp.besseli)):
        for v, x in ((0.0, 1.3), (1.0, 7.7), (2.5, 0.4), (1.7, 12.0)):
            for m in (1, 2):
                assert mp.almosteq(exact(kind, v, x)[m], fn(v, x, derivative=m), 1e-30)
    for v, x in ((0.3, 1.3), (2.5, 6.0)):
        for m in (1, 2):
            want = mp.diff(lambda t, v=v: mp.besselk(v, t), x, m)
            assert mp.almosteq(exact("K", v, x)[m], want, 1e-30)


def test_zero_and_the_kink_of_the_scaled_functions() -> None:
    table = {  # text: value, d/dx, d2/dx2 at x = 0
        "j0(x)": (1, 0, -0.5), "j1(x)": (0, 0.5, 0), "jv(2, x)": (0, 0, 0.25),
        "jv(1, x)": (0, 0.5, 0), "i0(x)": (1, 0, 0.5), "i1(x)": (0, 0.5, 0),
        "iv(2, x)": (0, 0, 0.25),
        # exp(-|x|) has a kink at 0: sign(0) = 0 takes the mean of the one-sided slopes
        # (-1 and 1) for i0e, and i0e'' = i1e' there (no i0e'' exists: 3/2 on either side
        # of the kink); i1e and ive (v > 0) are differentiable at 0 (I_v(0) = 0)
        "i0e(x)": (1, 0, 0.5), "i1e(x)": (0, 0.5, 0), "ive(2, x)": (0, 0, 0.25),
        # at a fractional order below 1 the slope at 0 is infinite (f'' is what SciPy says
        # of orders below -1 at 0: iv(-1.5, 0) is inf, the limit -inf; ive(-0.5, 0) is NaN)
        "jv(0.5, x)": (0, math.inf, None), "iv(0.5, x)": (0, math.inf, None),
    }  # fmt: skip
    for text, want in table.items():
        f = adc.compile(text, inputs=["x"], backend="numpy")
        value, grad = f.value_and_grad()(0.0)
        got = (value, grad[0], f.hessian()(0.0)[0, 0])
        assert got[:2] == pytest.approx(want[:2], abs=1e-16), text
        if want[2] is not None:
            assert got[2] == pytest.approx(want[2], abs=1e-16), text
    # y and k: SciPy's limits at 0, and NaN off the real domain (x < 0, fractional order)
    for text, at_zero in (("y0(x)", -math.inf), ("yv(1.5, x)", -math.inf), ("yn(2, x)", -math.inf),
                          ("k1(x)", math.inf), ("kv(0.5, x)", math.inf)):  # fmt: skip
        f = adc.compile(text, inputs=["x"], backend="numpy")
        assert f(0.0) == at_zero and math.isnan(f(-1.0)), text

    def at(text: str, x: float) -> float:
        return float(adc.compile(text, backend="numpy")(x))

    assert math.isnan(at("jv(2.5, x)", -1.0)) and math.isnan(at("kv(2, x)", -1.0))
    # whole orders are defined on the whole line: J_n(-x) = (-1)^n J_n(x), and so I_n
    assert at("jv(3, x)", -2.0) == -at("jv(3, x)", 2.0)
    assert at("iv(2, x)", -2.0) == at("iv(2, x)", 2.0)


# a formula of several functions, each on its own input: its gradient and the Hessian's
# diagonal are the functions' derivatives, compared across the tiers (three formulas: one
# would take Numba as long as the three together, twice over)
GROUPS = {
    "orders": ["jv", "yv", "yn", "iv", "kv", "ive", "besselk", "jn"],
    "j y k": ["j0", "j1", "y0", "y1", "k0", "k1"],
    "i": ["i0", "i1", "i0e", "i1e", "besseli"],
}
#: name -> its kind (as in `exact`) and order: a number, or the input "v" (in (0, 3)) or "n"
#: (whole, 0..3)
TERMS = {"j0": ("J", 0.0), "j1": ("J", 1.0), "jv": ("J", "v"), "jn": ("J", "n"),
         "y0": ("Y", 0.0), "y1": ("Y", 1.0), "yv": ("Y", "v"), "yn": ("Y", "n"),
         "i0": ("I", 0.0), "i1": ("I", 1.0), "iv": ("I", "v"), "besseli": ("I", "n"),
         "k0": ("K", 0.0), "k1": ("K", 1.0), "kv": ("K", "v"), "besselk": ("K", "v"),
         "i0e": ("E", 0.0), "i1e": ("E", 1.0), "ive": ("E", "v")}  # fmt: skip


@pytest.mark.parametrize("backend", ["numba", "vm"])
@pytest.mark.parametrize("group", list(GROUPS))
def test_the_tiers_agree_on_values_gradients_jvps_and_hessians(group: str, backend: str) -> None:
    terms = GROUPS[group]
    wrt = [f"x{k}" for k in range(len(terms))]
    text = " + ".join(
        f"{t}({TERMS[t][1]}, x{k})" if TERMS[t][1] in ("v", "n") else f"{t}(x{k})"
        for k, t in enumerate(terms)
    )
    rng = np.random.default_rng(7)
    lo = -9.0 if group == "i" else 0.2  # i0 i1 i0e i1e, I_n: the whole line
    orders = {"v": rng.uniform(0, 3, 6), "n": rng.integers(0, 4, 6).astype(float)}
    xs = [rng.uniform(lo, 15, 6) for _ in wrt]
    tangents = [rng.uniform(-1, 1, 6) for _ in wrt]
    results = []
    for tier in ("numpy", backend):
        f = adc.compile(text, inputs=["v", "n", *wrt], backend=tier)
        value, grad = f.value_and_grad(wrt=wrt)(orders["v"], orders["n"], *xs)
        _, along = f.jvp(wrt=wrt)(orders["v"], orders["n"], *xs, tangents=tangents)
        hess = f.hessian(wrt=wrt)(orders["v"], orders["n"], *xs)
        results.append([value, np.array(list(grad)), along, hess])
    for mine, theirs in zip(*results):
        np.testing.assert_allclose(mine, theirs, rtol=1e-13, atol=1e-300)
    _, grad, along, hess = results[0]
    np.testing.assert_allclose(along, np.sum(grad * np.array(tangents), axis=0), rtol=1e-12)
    diagonal = np.diagonal(hess, axis1=1, axis2=2)
    assert np.array_equal(hess, np.array([np.diag(d) for d in diagonal]))
    # the gradient and the diagonal are each function's derivatives (vs mpmath)
    for k, t in enumerate(terms):
        kind, order = TERMS[t]
        for p in (0, 3):
            v = float(orders[order][p]) if isinstance(order, str) else order
            want = exact(kind, v, xs[k][p])
            assert float(grad[k][p]) == pytest.approx(float(want[1]), rel=1e-12, abs=1e-15)
            assert float(diagonal[p, k]) == pytest.approx(float(want[2]), rel=1e-11, abs=1e-15)


@pytest.mark.parametrize("name", ["jv", "jn", "besselj", "yv", "bessely", "yn", "iv",
                                  "besseli", "ive", "kv", "besselk"])  # fmt: skip
def test_the_order_has_no_derivative(name: str) -> None:
    f = adc.compile(f"{name}(v, x)", backend="numpy")
    order = "order n" if name == "yn" else "order v"
    for kind in ("value_and_grad", "jvp", "hessian"):
        with pytest.raises(DerivativeError, match=order):
            getattr(f, kind)()
    assert f.value_and_grad(wrt="x")(2.0, 1.5)[1] == f.grad(wrt="x")(2.0, 1.5)


def test_aliases_and_whole_orders() -> None:
    xs = np.linspace(0.1, 30, 50)
    for alias, op in (("besselj", "jv"), ("jn", "jv"), ("bessely", "yv"), ("besseli", "iv"),
                      ("besselk", "kv")):  # fmt: skip
        for v in (2.0, 2.5):
            got = adc.compile(f"{alias}({v}, x)", backend="numpy")(xs)
            assert np.array_equal(got, adc.compile(f"{op}({v}, x)", backend="numpy")(xs))
    # SciPy's jn is jv (a fractional order stays); yn is its own whole-order kernel, number
    # for number SciPy's yn on every tier (not yv: they differ by ~1e-11 near the zeros); a
    # fractional n is truncated toward 0, as SciPy's yn does (which warns)
    assert np.array_equal(adc.compile("jn(2.5, x)", backend="numpy")(xs), ss.jv(2.5, xs))
    ns = np.repeat([0.0, 1.0, 2.0, 3.0, 5.0, 2.7], len(xs))
    at = np.tile(xs, 6)
    want = ss.yn(np.trunc(ns).astype(int), at)
    assert not np.array_equal(want, ss.yv(np.trunc(ns), at))
    for backend in ("numpy", "numba", "vm"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            got = adc.compile("yn(n, x)", backend=backend)(ns, at)
        assert np.array_equal(got, want), backend


def test_sympy_round_trip() -> None:
    x = sympy.Symbol("x", real=True)
    f = adc.compile(
        "j0(x) + jv(2.5, x) * y1(x) + kv(1, x) - ive(0.5, x) + yn(2, x) + i1(x)", backend="numpy"
    )
    e = f.to_sympy()
    e = e[0] if isinstance(e, (list, tuple)) else e
    want = (sympy.besselj(0, x) + sympy.besselj(2.5, x) * sympy.bessely(1, x)
            + sympy.besselk(1, x) - sympy.exp(-sympy.Abs(x)) * sympy.besseli(0.5, x)
            + sympy.bessely(2, x) + sympy.besseli(1, x))  # fmt: skip
    assert sympy.simplify(e - want) == 0
    # besselj(0, x) comes back as jv(0, x), bessely(2, x) as yv(2, x)
    g = adc.compile(e, backend="numpy")
    assert "jv(" in g.text and "yv(" in g.text
    xs = np.linspace(0.3, 25, 40)
    np.testing.assert_allclose(g(xs), f(xs), rtol=1e-12, atol=1e-14)
    # SymPy's derivative of the exported form agrees with the gradient, to 30 digits
    for at in (0.7, 4.4, 13.0):
        want_slope = sympy.diff(e, x).evalf(30, subs={x: at})
        assert float(f.grad()(at)[0]) == pytest.approx(float(want_slope), rel=1e-12)
    h = adc.compile(sympy.besselj(2, x) + sympy.besseli(0.5, x), backend="numpy")
    assert h(1.3) == pytest.approx(float(mp.besselj(2, 1.3) + mp.besseli(0.5, 1.3)), rel=1e-15)
    # SymPy's spherical jn, yn (not SciPy's jn, yn) are the half-whole orders of jv, yv
    spherical = sympy.jn(2, x) + sympy.yn(1, x)
    got = adc.compile(spherical, backend="numpy")(1.3)
    assert got == pytest.approx(float(spherical.evalf(30, subs={x: 1.3})), rel=1e-14)
    # the Hessian as a SymPy system, substituted and compiled back
    k = adc.compile("kv(1.5, x) * i0e(x)", backend="numpy")
    replacements, (hess,) = k.hessian().to_sympy()
    for symbol, value in reversed(replacements):
        hess = hess.subs(symbol, value)
    back = adc.compile(hess, backend="numpy")
    for at in (0.6, 3.0):
        assert float(back(at)) == pytest.approx(float(k.hessian()(at)[0, 0]), rel=1e-13)
