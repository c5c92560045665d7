"""The compiled tier of vector formulas (`codegen.vector`, `run.vectors`) against the NumPy
interpreter (`backend="numpy"`), which computes the same graph op by op: values, gradients
and second-order products, one point and batches, broadcasting, and the fused loops."""

from __future__ import annotations

import numpy as np
import pytest

import adcompile as adc
from adcompile.ir.shapes import LengthError
from vectors.textbook import FUNCTIONS, Textbook, index

#: (formula, shapes=, vector inputs) covering every vector op and fusion pattern.
FORMULAS = [
    ("sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)", None),
    ("10*len(x) + sum(x^2 - 10*cos(2*pi*x))", None),
    ("-20*exp(-0.2*sqrt(mean(x^2))) - exp(mean(cos(2*pi*x))) + 20 + e", None),
    ("prod(x) + max(x) - min(x) + x[0]*x[-1] + x[1]", None),
    ("norm(x) + logsumexp(x) + dot(x, x[::-1])", None),
    ("r = y - (p[0] + p[1]*t + p[2]*t^2)\nsum(r^2)/len(t)", None),
    ("sum(a*x + sigmoid(x*b)) + a^2", {"a": (), "b": ()}),
    ("s = sum(x); q = x/s; sum(q*log(q)) + x[2:5:2][1]", None),
    ("sum(where(x > 0, x, -x)^3) + sum(abs(x[1:] - x[:-1]))", None),
]


def _inputs(f: adc.Formula, rng: np.random.Generator, batch: tuple[int, ...]) -> dict:
    values = {}
    for name in f.inputs:
        if name in ("a", "b"):
            values[name] = rng.uniform(0.5, 1.5, size=batch)
        elif name == "p":
            values[name] = rng.uniform(-1, 1, size=3)
        else:
            values[name] = rng.uniform(0.2, 1.5, size=(*batch, 7))
    return values


def _close(a: object, b: object) -> None:
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            _close(x, y)
        return
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("text", "shapes"), FORMULAS)
@pytest.mark.parametrize("batch", [(), (3,), (2, 2)])
def test_gradient_as_the_interpreter_gives_it(text: str, shapes: dict | None, batch: tuple) -> None:
    rng = np.random.default_rng(len(text))
    f = adc.compile(text, shapes=shapes, backend="numba")
    g = adc.compile(text, shapes=shapes, backend="numpy")
    values = _inputs(f, rng, batch)
    vg = f.value_and_grad()
    assert vg.wait().tier == "compiled"
    assert g.value_and_grad().tier == "interpreter"
    _close(vg(**values), g.value_and_grad()(**values))
    _close(f(**values), g(**values))


@pytest.mark.parametrize(("text", "shapes"), FORMULAS[:5])
def test_second_order_as_the_interpreter_gives_it(text: str, shapes: dict | None) -> None:
    rng = np.random.default_rng(7)
    f = adc.compile(text, shapes=shapes, backend="numba")
    g = adc.compile(text, shapes=shapes, backend="numpy")
    values = _inputs(f, rng, (2,))
    tangents = {n: rng.normal(size=np.shape(v)) for n, v in values.items()}
    _close(f.hvp()(**values, tangents=tangents), g.hvp()(**values, tangents=tangents))
    _close(f.jvp()(**values, tangents=tangents), g.jvp()(**values, tangents=tangents))
    _close(f.vjp()(**values, cotangents=2.5), g.vjp()(**values, cotangents=2.5))


def test_broadcasting_a_shared_vector_over_a_batch() -> None:
    f = adc.compile("sum((y - a*t)^2)", shapes={"a": ()}, backend="numba")
    t = np.linspace(0, 1, 5)
    y = 2 * t
    a = np.array([1.0, 2.0, 3.0])
    value, grad = f.value_and_grad()(a=a, t=t, y=y)
    np.testing.assert_allclose(value, [np.sum((y - k * t) ** 2) for k in a])
    np.testing.assert_allclose(grad.a, [-2 * np.sum((y - k * t) * t) for k in a])
    assert grad.t.shape == (3, 5) and grad.y.shape == (3, 5)
    total = f.value_and_grad(reduce="sum")(a=a, t=t, y=y)
    np.testing.assert_allclose(total[0], value.sum())
    np.testing.assert_allclose(total[1].t, grad.t.sum(axis=0))


def test_one_long_vector_is_one_loop_without_arrays() -> None:
    f = adc.compile("sum((y - (p[0] + p[1]*t))^2)", backend="numba")
    vg = f.value_and_grad("p").wait()
    t = np.linspace(0, 1, 100_001)
    y = 1 + 2 * t
    value, dp = vg(p=np.array([1.0, 2.0]), t=t, y=y)
    assert value == pytest.approx(0.0, abs=1e-20)
    np.testing.assert_allclose(dp, [0.0, 0.0], atol=1e-12)


def test_fused_loops_store_no_temporaries_for_a_reduction_of_an_expression() -> None:
    f = adc.compile("sum(exp(-x^2) * cos(x))", backend="numba")
    source = f.value.wait().numba_source
    drive = source.split("def drive")[1]
    assert "np.empty" not in drive  # the value is one loop, no scratch at all
    assert drive.count("for __k in range") == 1


def test_lengths_are_checked_on_the_compiled_tier_too() -> None:
    f = adc.compile("sum(x*y) + x[3]", backend="numba")
    vg = f.value_and_grad().wait()
    with pytest.raises(LengthError, match=r"x has length 4 and y has length 5"):
        vg(np.ones(4), np.ones(5))
    with pytest.raises(LengthError, match=r"x\[3\]: index out of range for x of length 3"):
        vg(np.ones(3), np.ones(3))


def test_empty_batch_and_one_element_vectors() -> None:
    f = adc.compile("sum(x^2) + prod(x)", backend="numba")
    vg = f.value_and_grad()
    value, grad = vg(np.ones((0, 3)))
    assert value.shape == (0,) and grad.x.shape == (0, 3)
    value, grad = vg(np.array([3.0]))
    assert value == 12.0 and grad.x.tolist() == [7.0]


@pytest.mark.parametrize("fn", FUNCTIONS, ids=[fn.name for fn in FUNCTIONS])
def test_textbook_functions_as_the_interpreter_gives_them(fn: Textbook) -> None:
    rng = np.random.default_rng(3)
    n = 12  # a multiple of 4 (Powell)
    x = rng.uniform(*fn.domain, size=(2, n))
    wrt = ["x"]
    values = {"x": x, "i": index(n)} if "i" in adc.compile(fn.text).inputs else {"x": x}
    f = adc.compile(fn.text, backend="numba")
    g = adc.compile(fn.text, backend="numpy")
    got = f.value_and_grad(wrt).wait()(**values)
    want = g.value_and_grad(wrt)(**values)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-13)
    np.testing.assert_allclose(
        got[1].x, want[1].x, rtol=1e-12, atol=1e-12 * np.abs(want[1].x).max()
    )


@pytest.mark.parametrize(("text", "shapes"), FORMULAS)
def test_readable_source_runs_and_agrees(text: str, shapes: dict | None) -> None:
    """`vg.source` of a vector formula is NumPy code for one point (1-D arrays), with the
    helpers it calls pasted in; it computes what the evaluator does."""
    f = adc.compile(text, shapes=shapes, backend="numpy")
    values = _inputs(f, np.random.default_rng(5), ())
    for evaluator, extra in ((f.value_and_grad(), {}), (f.hvp(), {"tangents": values})):
        namespace: dict = {}
        exec(evaluator.source, namespace)  # the source is the compiler's own text
        seeds = list(extra.get("tangents", {}).values())
        got = namespace[evaluator.kind](*values.values(), *seeds)
        want = evaluator(**values, **extra)
        flat = [want[0], *want[1]] if evaluator.kind == "value_and_grad" else list(want)
        assert len(got) == len(flat)
        for a, b in zip(got, flat):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)
    assert "x[..., 1:]" in adc.compile("sum(x[1:])").value_and_grad().source


def test_standalone_numba_module_of_a_vector_formula(tmp_path) -> None:
    """`module_source(numba=True)` of a vector formula needs no adcompile: its `evaluate`
    lays the batch out and works out the lengths (slices included) as the runner does."""
    import importlib.util

    f = adc.compile("sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)*s + x[::2][1]")
    text = f.value_and_grad().module_source(numba=True)
    assert "adcompile" not in text.replace("# Generated by adcompile", "")
    path = tmp_path / "standalone.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("standalone", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    x, s = np.random.default_rng(1).random((3, 6)), np.array([1.0, 2.0, 3.0])
    value, gx, gs = module.evaluate(x, s)
    want = f.value_and_grad()(x, s)
    np.testing.assert_allclose(value, want[0], rtol=1e-14)
    np.testing.assert_allclose(gx, want[1].x, rtol=1e-14)
    np.testing.assert_allclose(gs, want[1].s, rtol=1e-14)


def test_one_module_serves_every_length() -> None:
    """Lengths are symbolic: the module printed for a formula does not depend on the lengths
    it is called with, and calls at n = 10 and n = 10,000 run the one compiled runner."""
    vg = adc.compile("sum(x^2 * sin(x))", backend="numba").value_and_grad().wait()
    source, runner = vg.numba_source, vg._vector.runner
    for n in (10, 10_000, 3):
        x = np.linspace(0.0, 1.0, n)
        value, grad = vg(x)
        np.testing.assert_allclose(value, np.sum(x**2 * np.sin(x)), rtol=1e-12)
        np.testing.assert_allclose(grad.x, 2 * x * np.sin(x) + x**2 * np.cos(x), rtol=1e-12)
    assert vg.numba_source == source and vg._vector.runner is runner
