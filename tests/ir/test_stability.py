"""Numerical stability by default: the rewrites of `simplify.STABLE` and the stable ops.

For each rewrite, the naive float64 formula is shown to be inaccurate (or not finite) at a
delicate point, while adcompile's value and gradient of the same text are accurate there, on
every backend. References are the user's formula itself, evaluated by mpmath at 400 digits
(its exponent range is unbounded, so `exp(800)` is an ordinary number there); gradients by
mpmath's differentiation at the same precision.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import mpmath as mp
import numpy as np
import pytest

import adcompile as adc
from adcompile.ad.reverse import reverse
from adcompile.front.parse import parse
from adcompile.ir import graph as ir
from adcompile.ir.graph import Graph, pformat
from adcompile.run.interpret import Plan

#: Accurate: a few units in the last place (one ulp of 1.0 is 2.2e-16).
TOL = 4e-15
#: Inaccurate: the naive formula misses by this much (relative: 6+ digits lost), or is not finite.
BAD = 1e-9
#: References below this are underflows: the result must be (nearly) 0 in absolute terms.
TINY = 1e-300
BACKENDS = ("numba", "vm", "numpy")

MpFn = Callable[..., Any]


def _sigmoid(z: Any) -> Any:
    return 1 / (1 + mp.exp(-z))


@dataclass(frozen=True)
class Case:
    """One rewrite: the text, its meaning in mpmath and float64, the points to check."""

    name: str
    text: str
    note: str  # the expected `# stable rewrite:` comment
    reference: MpFn  # the formula in mpmath, arguments in input order
    naive: Callable[..., float]  # the formula as float64 NumPy code
    delicate: tuple[dict[str, float], ...]  # points where the naive value is wrong
    points: tuple[dict[str, float], ...] = field(default=())  # more points to check


def _bce_point(z: float, y: float) -> dict[str, float]:
    """Binary cross-entropy inputs with logit w*x + b == z exactly (x = 2, b = 0.5)."""
    return {"w": (z - 0.5) / 2.0, "x": 2.0, "b": 0.5, "y": y}


def _np_sigmoid(z: float) -> float:
    return float(1.0 / (1.0 + np.exp(-z)))


def _mp_bce(w: Any, x: Any, b: Any, y: Any) -> Any:
    p = _sigmoid(w * x + b)
    return -(y * mp.log(p) + (1 - y) * mp.log(1 - p))


def _np_bce(w: float, x: float, b: float, y: float) -> float:
    p = _np_sigmoid(w * x + b)
    return float(-(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)))


BCE = "p = 1/(1+exp(-(w*x+b)))\n-(y*log(p) + (1-y)*log(1-p))"

CASES = (
    Case(
        "log1p", "log(1 + x)", "log(1 + u) -> log1p(u)",
        lambda x: mp.log(1 + x), lambda x: math.log(1.0 + x),
        ({"x": 1e-12}, {"x": -1e-12}, {"x": 3e-17}),
        ({"x": 0.0}, {"x": 2.5}, {"x": -0.75}),
    ),
    Case(
        "log1p_swapped", "log(x + 1)", "log(1 + u) -> log1p(u)",
        lambda x: mp.log(x + 1), lambda x: math.log(x + 1.0),
        ({"x": 1e-12},),
    ),
    Case(
        "log1p_minus", "log(1 - x)", "log(1 - u) -> log1p(-u)",
        lambda x: mp.log(1 - x), lambda x: math.log(1.0 - x),
        ({"x": 1e-12}, {"x": -1e-12}),
        ({"x": 0.5},),
    ),
    Case(
        "expm1", "exp(x) - 1", "exp(u) - 1 -> expm1(u)",
        lambda x: mp.exp(x) - 1, lambda x: math.exp(x) - 1.0,
        ({"x": 1e-10}, {"x": -1e-10}, {"x": 1e-300}),
        ({"x": 1.5}, {"x": -30.0}),
    ),
    Case(
        "expm1_sum", "-1 + exp(x)", "-1 + exp(u) -> expm1(u)",
        lambda x: -1 + mp.exp(x), lambda x: -1.0 + math.exp(x),
        ({"x": 1e-10},),
    ),
    Case(
        "sigmoid", "1/(1 + exp(-x))", "1 / (1 + exp(-u)) -> sigmoid(u)",
        lambda x: 1 / (1 + mp.exp(-x)), lambda x: 1.0 / (1.0 + math.exp(-x)),
        (),  # the naive value is accurate; its gradient is not (see the naive-AD test)
        ({"x": -800.0}, {"x": -40.0}, {"x": 0.0}, {"x": 36.5}, {"x": 40.0}, {"x": 800.0}),
    ),
    Case(
        "sigmoid_plain", "1/(1 + exp(x))", "1 / (1 + exp(u)) -> sigmoid(-u)",
        lambda x: 1 / (1 + mp.exp(x)), lambda x: 1.0 / (1.0 + math.exp(x)),
        (),
        ({"x": -40.0}, {"x": 0.5}, {"x": 40.0}, {"x": 700.0}),
    ),
    Case(
        "softplus", "log(1 + exp(x))", "log(1 + u) -> log1p(u); log1p(exp(u)) -> softplus(u)",
        lambda x: mp.log(1 + mp.exp(x)), lambda x: float(np.log(1.0 + np.exp(x))),
        ({"x": 800.0}, {"x": -40.0}),
        ({"x": -800.0}, {"x": 0.0}, {"x": 40.0}, {"x": -1.5}),
    ),
    Case(
        "log_sigmoid", "log(sigmoid(x))", "log(sigmoid(u)) -> -softplus(-u)",
        lambda x: mp.log(_sigmoid(x)), lambda x: float(np.log(_np_sigmoid(x))),
        ({"x": -800.0}, {"x": 40.0}),
        ({"x": 800.0}, {"x": -40.0}, {"x": 0.0}, {"x": 1.25}),
    ),
    Case(
        "log_one_minus_sigmoid", "log(1 - sigmoid(x))",
        "log(1 - u) -> log1p(-u); log1p(-sigmoid(u)) -> -softplus(u)",
        lambda x: mp.log(1 - _sigmoid(x)), lambda x: float(np.log(1.0 - _np_sigmoid(x))),
        ({"x": 800.0}, {"x": 40.0}, {"x": -40.0}),
        ({"x": -800.0}, {"x": 0.0}),
    ),
    Case(
        "bce", BCE, "log(sigmoid(u)) -> -softplus(-u)",
        _mp_bce, _np_bce,
        (*(_bce_point(z, y) for z in (40.0, 800.0, -800.0) for y in (0.0, 1.0)),
         _bce_point(-40.0, 0.0)),
        (_bce_point(-40.0, 1.0), _bce_point(0.0, 1.0), _bce_point(1.5, 0.0)),
    ),
)  # fmt: skip
CASE_IDS = [c.name for c in CASES]


def _all_points() -> Iterator[tuple[Case, dict[str, float]]]:
    for case in CASES:
        for point in case.delicate + case.points:
            yield case, point


POINTS = list(_all_points())
POINT_IDS = [f"{c.name}-{'-'.join(f'{v:g}' for v in p.values())}" for c, p in POINTS]


# --- references and errors --------------------------------------------------------------------


def reference(case: Case, point: dict[str, float]) -> tuple[float, dict[str, float]]:
    """The exact value and gradient (rounded once to float64) by mpmath at 400 digits."""
    names = list(point)
    with mp.workdps(400):
        args = [mp.mpf(point[n]) for n in names]
        value = float(case.reference(*args))
        grad = {}
        for k, name in enumerate(names):
            order = tuple(int(j == k) for j in range(len(names)))
            grad[name] = float(mp.diff(case.reference, tuple(args), order))
    return value, grad


def rel_error(got: float, ref: float) -> float:
    """Relative error; for an underflowed reference, the absolute error in units of TINY."""
    if not math.isfinite(got):
        return math.inf
    if abs(ref) < TINY:
        return abs(got - ref) / TINY * TOL
    return abs(got - ref) / abs(ref)


_COMPILED: dict[tuple[str, str], adc.Evaluator] = {}


def value_and_grad(text: str, backend: str = "numba") -> adc.Evaluator:
    key = (text, backend)
    if key not in _COMPILED:
        _COMPILED[key] = adc.compile(text, backend=backend).value_and_grad()  # type: ignore[arg-type]
    return _COMPILED[key]


def naive_value_and_grad(
    text: str, point: dict[str, float], monkeypatch: pytest.MonkeyPatch
) -> tuple[float, dict[str, float]]:
    """Value and gradient of the formula built WITHOUT the stability rewrites (the IR as it
    was before them), by reverse mode and the NumPy interpreter."""
    with monkeypatch.context() as patch:
        patch.setattr(ir, "STABLE", {})
        program = parse(text)
        graph = program.graph.copy()
        grads = reverse(graph, program.outputs[0], program.input_ids)
    assert not graph.notes
    outputs = [program.outputs[0], *grads]
    results = Plan(graph, program.input_ids, outputs)(*(np.float64(point[n]) for n in point))
    names = program.inputs
    return float(results[0]), {n: float(r) for n, r in zip(names, results[1:])}


# --- the stable forms are accurate; the naive ones are not --------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("case", "point"), POINTS, ids=POINT_IDS)
def test_value_and_gradient_are_accurate(case: Case, point: dict[str, float], backend: str) -> None:
    f = value_and_grad(case.text, backend)
    assert f.inputs == tuple(point)
    got_value, got_grad = f(**point)
    ref_value, ref_grad = reference(case, point)
    assert rel_error(got_value, ref_value) <= TOL, (got_value, ref_value)
    for name, ref in ref_grad.items():
        assert rel_error(got_grad[name], ref) <= TOL, (name, got_grad[name], ref)


@pytest.mark.parametrize(
    ("case", "point"),
    [(c, p) for c in CASES for p in c.delicate],
    ids=[f"{c.name}-{'-'.join(f'{v:g}' for v in p.values())}" for c in CASES for p in c.delicate],
)
def test_naive_float64_value_is_inaccurate(case: Case, point: dict[str, float]) -> None:
    with np.errstate(all="ignore"):
        try:
            naive = case.naive(**point)
        except (OverflowError, ValueError):  # math.exp(800), math.log(0.0)
            naive = math.inf
    ref_value, _ = reference(case, point)
    assert rel_error(naive, ref_value) > BAD, (naive, ref_value)
    got, _ = value_and_grad(case.text)(**point)
    assert rel_error(got, ref_value) <= TOL


#: (text, point): the gradient of the naive graph is NaN, inf or wrong there.
NAIVE_GRADIENT_FAILS = [
    ("1/(1 + exp(-x))", {"x": -800.0}),  # inf * 0 in the chain rule: NaN
    ("log(1 + exp(x))", {"x": 800.0}),  # inf / inf
    ("log(sigmoid(x))", {"x": -800.0}),  # 1 / 0 * 0
    ("log(1 - sigmoid(x))", {"x": 40.0}),  # 1 / (1 - 1)
    (BCE, _bce_point(40.0, 0.0)),
    (BCE, _bce_point(-800.0, 1.0)),
    (BCE, _bce_point(40.0, 1.0)),  # finite but 0 where the truth is -8.5e-18
]


@pytest.mark.parametrize(("text", "point"), NAIVE_GRADIENT_FAILS)
def test_naive_gradient_fails_where_the_stable_one_is_accurate(
    text: str, point: dict[str, float], monkeypatch: pytest.MonkeyPatch
) -> None:
    case = next(c for c in CASES if c.text == text)
    _, ref_grad = reference(case, point)
    _, naive_grad = naive_value_and_grad(text, point, monkeypatch)
    assert max(rel_error(naive_grad[n], ref_grad[n]) for n in ref_grad) > BAD, naive_grad
    _, got_grad = value_and_grad(text)(**point)
    for name, ref in ref_grad.items():
        assert rel_error(got_grad[name], ref) <= TOL, (name, got_grad[name], ref)


def test_sigmoid_slope_is_accurate_where_o_times_one_minus_o_rounds() -> None:
    f = value_and_grad("sigmoid(x)")
    slope_at_40 = 4.248354255291589e-18  # sigmoid'(+-40), by mpmath
    o = f(40.0)[0]
    assert o * (1.0 - o) == 0.0  # the textbook form loses it all
    for x in (40.0, -40.0):
        assert f(x)[1][0] == pytest.approx(slope_at_40, rel=TOL)
    for x in (-1000.0, -800.0, 700.0, 800.0, 1000.0):
        value, (slope,) = f(x)
        assert math.isfinite(value) and math.isfinite(slope), x


def test_softplus_extremes() -> None:
    f = value_and_grad("softplus(x)")
    assert f(800.0) == (800.0, (1.0,))
    value, (slope,) = f(-800.0)
    assert value == 0.0 and slope == 0.0  # exp(-800) underflows: 0 is the rounded truth
    assert f(-1000.0)[0] == 0.0 and f(1000.0)[0] == 1000.0


# --- where the rewrites apply, and where not ------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_the_generated_code_says_where_a_rewrite_was_applied(case: Case) -> None:
    lines = value_and_grad(case.text).source.splitlines()
    comment = f"    # stable rewrite: {case.note}"
    assert comment in lines
    assert " = " in lines[lines.index(comment) + 1]  # just before the statement it explains
    program = parse(case.text)
    live = program.graph.live(program.outputs)
    assert case.note in [n for nid, n in program.graph.notes.items() if live[nid]]


@pytest.mark.parametrize(
    "text",
    [
        "log(1.5 + x)",
        "log(x + 0.9999999999999999)",
        "log(2 - x)",
        "exp(x) - 2",
        "exp(x) - 1.0000000000000002",
        "-2 + exp(x)",
        "2/(1 + exp(-x))",
        "1/(2 + exp(-x))",
        "1/(1 - exp(-x))",
        "log1p(2*exp(x))",
        "log(2*sigmoid(x))",
    ],
)
def test_no_rewrite_unless_the_constant_is_exactly_one(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = parse(text)
    assert not program.graph.notes, program.graph.notes
    with monkeypatch.context() as patch:
        patch.setattr(ir, "STABLE", {})
        naive = parse(text)
    assert pformat(program.graph, program.outputs) == pformat(naive.graph, naive.outputs)
    assert "stable rewrite" not in adc.compile(text).value_and_grad().source


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_rewrites_preserve_values_at_ordinary_points(
    case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(20240613)
    f = value_and_grad(case.text)
    for _ in range(20):
        point = {name: float(rng.uniform(-0.9, 0.9)) for name in f.inputs}
        if "y" in point:
            point["y"] = float(rng.integers(0, 2))
        naive_value, naive_grad = naive_value_and_grad(case.text, point, monkeypatch)
        value, grad = f(**point)
        assert value == pytest.approx(naive_value, rel=1e-12, abs=1e-15)
        for name in f.inputs:
            assert grad[name] == pytest.approx(naive_grad[name], rel=1e-11, abs=1e-15)


def test_the_rewrites_can_be_switched_off_per_graph() -> None:
    g = Graph()
    x = g.input("x")
    stable = g.apply("log", g.apply("add", g.const(1.0), x))
    assert g.nodes[stable].op == "log1p" and g.notes == {stable: "log(1 + u) -> log1p(u)"}
    h = Graph()
    h.stable = False
    y = h.input("x")
    naive = h.apply("log", h.apply("add", h.const(1.0), y))
    assert h.nodes[naive].op == "log" and not h.notes


def test_copy_keeps_the_switch_and_the_notes() -> None:
    g = Graph()
    x = g.input("x")
    node = g.apply("sub", g.apply("exp", x), g.const(1.0))
    copy = g.copy()
    assert copy.stable and copy.notes == {node: "exp(u) - 1 -> expm1(u)"}
    copy.notes.clear()
    assert g.notes  # independent tables
    g.stable = False
    assert not g.copy().stable


def test_rewrites_inside_derivative_rules_terminate() -> None:
    # derivative rules build through the same door: a deep stack of rewritable forms still
    # differentiates, and the gradient stays finite at a delicate point
    text = "log(1 + exp(log(1 + exp(log(1 - sigmoid(1/(1 + exp(-x))))))))"
    f = adc.compile(text).value_and_grad()
    value, (slope,) = f(-30.0)
    assert math.isfinite(value) and math.isfinite(slope)
    with mp.workdps(100):
        ref = mp.diff(
            lambda t: mp.log(1 + mp.exp(mp.log(1 + mp.exp(mp.log(1 - _sigmoid(_sigmoid(t))))))),
            mp.mpf(-30),
        )
    assert slope == pytest.approx(float(ref), rel=1e-13)


# --- derivative rules that keep their digits: tanh' and atan2' ---------------------------------

#: Where a result is a normal float, a stable rule is within this many ulps (mpmath, 50 digits).
ULPS = 4.0
NORMAL = 2.2250738585072014e-308


def _worst_ulps(got: np.ndarray, want: list[Any]) -> float:
    """The largest error in ulps over the points whose exact value is a normal float."""
    worst = 0.0
    for g, w in zip(got.tolist(), want):
        r = float(w)
        if NORMAL <= abs(r) < math.inf:
            error = float(abs(mp.mpf(g) - w) / math.ulp(r)) if math.isfinite(g) else math.inf
            worst = max(worst, error)
    return worst


@pytest.mark.parametrize("backend", BACKENDS)
def test_tanh_slope_is_accurate_for_every_argument(backend: str) -> None:
    """1 - tanh(x)^2 is 0 from |x| ~ 19 on (thousands of ulps off long before); sech2 is not.
    The second derivative -2 tanh sech2 keeps its digits too."""
    rng = np.random.default_rng(20240701)
    x = np.concatenate([rng.uniform(-700, 700, 300), rng.uniform(-25, 25, 200), [20.0, -354.5]])
    f = adc.compile("tanh(x)", backend=backend)  # type: ignore[arg-type]
    _, (slope,) = f.value_and_grad()(x)
    curvature = f.hessian()(x)[:, 0, 0]
    with mp.workdps(50):
        sech2 = [1 / mp.cosh(mp.mpf(v)) ** 2 for v in x.tolist()]
        second = [-2 * mp.tanh(mp.mpf(v)) * s for v, s in zip(x.tolist(), sech2)]
        assert _worst_ulps(slope, sech2) <= ULPS
        assert _worst_ulps(curvature, second) <= 2 * ULPS
    naive = 1.0 - np.tanh(x) ** 2
    assert np.count_nonzero((naive == 0.0) & (slope > NORMAL)) > 100


@pytest.mark.parametrize("backend", BACKENDS)
def test_atan2_slopes_are_accurate_from_tiny_to_huge(backend: str) -> None:
    """x/(x*x + y*y) overflows from 1e154 and underflows below 1e-154; (x/h)/h with
    h = hypot(x, y) does neither, on scales 1e-300 to 1e300 (mixed up to 1e5 apart)."""
    rng = np.random.default_rng(20240702)
    scale = 10.0 ** rng.uniform(-300, 300, 400)
    y = rng.uniform(-1, 1, 400) * scale
    x = rng.uniform(-1, 1, 400) * scale * 10.0 ** rng.uniform(-5, 5, 400)
    f = adc.compile("atan2(y, x)", backend=backend)  # type: ignore[arg-type]
    _, (dy, dx) = f.value_and_grad()(y, x)
    with mp.workdps(50):
        r2 = [mp.mpf(a) ** 2 + mp.mpf(b) ** 2 for a, b in zip(y.tolist(), x.tolist())]
        assert _worst_ulps(dy, [mp.mpf(b) / r for b, r in zip(x.tolist(), r2)]) <= ULPS
        assert _worst_ulps(dx, [-mp.mpf(a) / r for a, r in zip(y.tolist(), r2)]) <= ULPS
    with np.errstate(all="ignore"):
        naive = x / (x * x + y * y)
    assert np.count_nonzero(~np.isfinite(naive) | (naive == 0.0)) > 100


# --- issue 1b: second derivatives stay exact through the stable forms -------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("text", "curvature"),
    [
        ("softplus(x)", 0.25),
        ("log(1 + exp(x))", 0.25),
        ("log(sigmoid(x))", -0.25),
        ("log(1 - sigmoid(x))", -0.25),
        ("sigmoid(x)", 0.0),
        ("logaddexp(x, 0)", 0.25),
        ("logaddexp2(x, 0)", 0.25 * math.log(2.0)),
    ],
)
def test_the_curvature_at_the_kink_of_a_stable_form(
    text: str, curvature: float, backend: str
) -> None:
    """0.1.0 gave 0 for all of these: softplus' was built from abs(x), whose convention
    abs'(0) = 0 dropped the curvature of a smooth function where every network starts."""
    f = adc.compile(text, backend=backend)  # type: ignore[arg-type]
    assert f.hessian()(0.0)[0, 0] == pytest.approx(curvature, rel=1e-15, abs=0.0)
    assert f.hvp()(0.0, tangents=1.0)[0] == pytest.approx(curvature, rel=1e-15, abs=0.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_logaddexp_written_out_has_its_curvature_at_the_tie(backend: str) -> None:
    f = adc.compile("y + softplus(x - y)", inputs=["x", "y"], backend=backend)  # type: ignore[arg-type]
    np.testing.assert_array_equal(f.hessian()(1.5, 1.5), [[0.25, -0.25], [-0.25, 0.25]])


def _exact(expr: Any, x: Any, at: float, order: int) -> Any:
    import sympy

    with mp.workdps(400):
        return sympy.lambdify([x], sympy.diff(expr, x, order), modules="mpmath")(mp.mpf(at))


def _ulps(got: float, want: Any) -> float:
    with mp.workdps(60):
        return float(abs(mp.mpf(got) - want) / math.ulp(float(want)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_mish_curvature_in_the_tail(backend: str) -> None:
    """x*tanh(softplus(x)): 0 at 20, 40 and 89 while tanh' was 1 - tanh^2 (fixed by sech2);
    exact to a few ulps now, with softplus'' = sigmoid_slope."""
    import sympy

    x = sympy.Symbol("x", real=True)
    mish = x * sympy.tanh(sympy.log(1 + sympy.exp(x)))
    f = adc.compile("x*tanh(softplus(x))", backend=backend)  # type: ignore[arg-type]
    for at in (20.0, 40.0, 89.0, -20.0, -40.0):
        assert _ulps(float(f.hessian()(at)[0, 0]), _exact(mish, x, at, 2)) <= 2 * ULPS


@pytest.mark.parametrize("backend", BACKENDS)
def test_erf_slopes_where_x_squared_rounds(backend: str) -> None:
    """erf' = 2/sqrt(pi) exp(-x^2): exp(-(x*x)) carries the rounding of x*x times x^2
    (94 ulp at x = 20.3, hundreds near 26); expmx2 squares exactly."""
    import sympy

    x = sympy.Symbol("x", real=True)
    points = (5.3, 20.3, 26.3, -20.3, 13.7)
    for text, expr in (("erf(x)", sympy.erf(x)), ("erfc(x)", sympy.erfc(x))):
        f = adc.compile(text, backend=backend)  # type: ignore[arg-type]
        for at in points:
            _, (slope,) = f.value_and_grad()(at)
            assert _ulps(float(slope), _exact(expr, x, at, 1)) <= ULPS, (text, at)
            curvature = float(f.hessian()(at)[0, 0])
            assert _ulps(curvature, _exact(expr, x, at, 2)) <= 2 * ULPS, (text, at)


@pytest.mark.parametrize("backend", BACKENDS)
def test_hypot_and_asin_curvature_keep_their_digits(backend: str) -> None:
    """hypot'' = y^2/r^3 was 1/r - x^2/r^3 (2e6 ulp at (700, 0.5)); asin'' = x/(1-x^2)^1.5
    came from (1 - x) - (1 + x) (64 ulp at 3e-4)."""
    import sympy

    x = sympy.Symbol("x", real=True)
    f = adc.compile("hypot(x, 0.5)", backend=backend)  # type: ignore[arg-type]
    for at in (700.0, -89.0, 20.0):
        want = _exact(sympy.sqrt(x**2 + sympy.Rational(1, 4)), x, at, 2)
        assert _ulps(float(f.hessian()(at)[0, 0]), want) <= 2 * ULPS
    g = adc.compile("asin(x)", backend=backend)  # type: ignore[arg-type]
    for at in (3.2e-4, -1e-9, 0.5):
        assert _ulps(float(g.hessian()(at)[0, 0]), _exact(sympy.asin(x), x, at, 2)) <= 2 * ULPS


@pytest.mark.parametrize("backend", BACKENDS)
def test_logaddexp_is_numpys(backend: str) -> None:
    """Values as np.logaddexp/np.logaddexp2 (ties and infinities included); partials are
    sigmoid(a - b), sigmoid(b - a) (logaddexp2: 2^a / (2^a + 2^b))."""
    a = np.array([0.0, 1.0, -800.0, 800.0, 3.0, math.inf, -math.inf, math.inf, math.nan, 2.0])
    b = np.array([0.0, -2.5, -800.0, 1.0, 3.0, math.inf, -math.inf, -math.inf, 1.0, math.nan])
    for name, ref in (("logaddexp", np.logaddexp), ("logaddexp2", np.logaddexp2)):
        f = adc.compile(f"{name}(a, b)", backend=backend)  # type: ignore[arg-type]
        value, (da, db) = f.value_and_grad()(a, b)
        with np.errstate(invalid="ignore"):  # NumPy warns at its own NaN
            expected = ref(a, b)
        np.testing.assert_allclose(value, expected, rtol=4e-16, atol=0.0)
        finite = np.isfinite(a) & np.isfinite(b)
        base = math.e if name == "logaddexp" else 2.0  # 2^d exactly, not exp(d ln 2)
        d = a[finite] - b[finite]
        np.testing.assert_allclose(da[finite], 1.0 / (1.0 + base**-d), rtol=4e-16)
        np.testing.assert_allclose(db[finite], 1.0 / (1.0 + base**d), rtol=4e-16)


@pytest.mark.parametrize("text", ["1/(1+exp(-(w0*x0+w1*x1+w2)))", "softplus(x)", "log(sigmoid(x))"])
def test_value_and_slope_share_one_exp_in_the_kernel(text: str) -> None:
    """sigmoid, sigmoid_slope and softplus all compute exp(-|x|) of the same argument, first
    and unconditionally, so LLVM computes it once: the value and gradient cost one exp."""
    import re

    from adcompile import codegen
    from adcompile.ad.products import derive
    from adcompile.front.parse import parse
    from adcompile.run import jit

    program = parse(text)
    derived = derive(program, "value_and_grad", program.inputs, False)
    kernel = codegen.build_kernel(derived.graph, derived.params, derived.outputs)
    module = jit.load(codegen.numba_source(kernel, "kernel", ["# one exp"]))
    (llvm,) = module.kernel.inspect_llvm().values()
    assert len(re.findall(r"call [^\n]*@(?:llvm\.exp\.f64|exp|adc_vm_exp)\(", llvm)) == 1
