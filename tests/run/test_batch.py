"""Batch evaluation: broadcasting without copies, out=, float32, fused reductions, one point."""

from __future__ import annotations

import pickle
from typing import Any

import numba
import numpy as np
import pytest

import adcompile as adc
from adcompile.api.results import Grad

C1 = "1/(1+exp(-(w0*x0+w1*x1+w2)))"
C3 = "log(x*y) + sin(x)^2*exp(-y)"
BACKENDS = ["numba", "vm", "numpy"]


def flat(result: Any) -> list[np.ndarray]:
    """A (value, Grad) result as a list of arrays."""
    value, grad = result
    return [np.asarray(value), *(np.asarray(g) for g in grad)]


def assert_same(a: Any, b: Any) -> None:
    for x, y in zip(flat(a), flat(b), strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.fixture(scope="module", params=BACKENDS)
def c3(request: pytest.FixtureRequest) -> adc.Formula:
    return adc.compile(C3, backend=request.param)


def test_broadcast_views_equal_full_arrays(c3: adc.Formula) -> None:
    vg = c3.value_and_grad()
    x = np.linspace(0.5, 3.0, 7)[:, None]
    y = np.linspace(0.5, 2.0, 5)[None, :]
    full = vg(np.broadcast_to(x, (7, 5)).copy(), np.broadcast_to(y, (7, 5)).copy())
    assert_same(vg(x, y), full)
    assert flat(vg(x, y))[0].shape == (7, 5)
    assert_same(vg(x.T.T, y), full)


def test_broadcast_over_three_axes(c3: adc.Formula) -> None:
    vg = c3.value_and_grad()
    x = np.linspace(0.5, 3.0, 6).reshape(2, 1, 3)
    y = np.linspace(0.5, 2.0, 4).reshape(1, 4, 1)
    full = vg(*(np.ascontiguousarray(a) for a in np.broadcast_arrays(x, y)))
    assert_same(vg(x, y), full)  # cannot be merged into two axes: copied, same numbers


def test_strided_and_mixed_inputs(c3: adc.Formula) -> None:
    vg = c3.value_and_grad()
    base = np.linspace(0.5, 3.0, 20)
    assert_same(vg(base[::2], 1.5), vg(base[::2].copy(), np.full(10, 1.5)))
    assert_same(vg(base[::-1], base), vg(base[::-1].copy(), base))
    column = np.linspace(1, 2, 8).reshape(4, 2)[:, :1]  # a non-contiguous (4, 1) view
    assert_same(vg(column, base[:3]), vg(column.copy(), base[:3].copy()))


@pytest.mark.parametrize("shape", [(), (1,), (0,), (3, 0), (1, 1, 4)])
def test_edge_shapes(c3: adc.Formula, shape: tuple[int, ...]) -> None:
    x = np.full(shape, 1.3)
    value, grad = c3.value_and_grad()(x, 0.7)
    assert np.shape(value) == shape and np.shape(grad.x) == shape
    if x.size:
        v0, g0 = c3.value_and_grad()(1.3, 0.7)
        np.testing.assert_allclose(np.ravel(value)[0], v0, rtol=1e-15)
        np.testing.assert_allclose(np.ravel(grad.y)[0], g0.y, rtol=1e-15)


def test_out_gets_the_results_and_is_returned(c3: adc.Formula) -> None:
    x, y = np.linspace(0.5, 3, 11), np.linspace(2, 0.5, 11)
    vg = c3.value_and_grad()
    out = (np.empty(11), (np.empty(11), np.empty(11)))
    value, grad = vg(x, y, out=out)
    assert value is out[0] and grad.x is out[1][0] and grad.y is out[1][1]
    assert_same((value, grad), vg(x, y))
    bare = c3.grad("y")
    dy = np.empty(11)
    assert bare(x, y, out=dy) is dy
    np.testing.assert_array_equal(dy, grad.y)
    values = np.empty(11)
    assert c3.value(x, y, out=values) is values
    np.testing.assert_array_equal(values, value)


def test_out_may_be_a_strided_view(c3: adc.Formula) -> None:
    x = np.linspace(0.5, 3, 6)[:, None]
    y = np.linspace(2, 0.5, 4)
    block = np.zeros((3, 4, 6))
    out = (block[0].T, (block[1].T, block[2].T))  # (6, 4) views, not C-contiguous
    c3.value_and_grad()(x, y, out=out)
    assert_same((out[0], out[1]), c3.value_and_grad()(x, y))


def test_float32_out_of_float64_inputs(c3: adc.Formula) -> None:
    x, y = np.linspace(0.5, 3, 9), np.linspace(2, 0.5, 9)
    out = (np.empty(9, np.float32), (np.empty(9, np.float32), np.empty(9, np.float32)))
    c3.value_and_grad()(x, y, out=out)
    expected = flat(c3.value_and_grad()(x, y))
    for got, want in zip([out[0], *out[1]], expected):
        np.testing.assert_array_equal(got, want.astype(np.float32))


@pytest.mark.parametrize(
    ("out", "error", "match"),
    [
        (np.empty(5), TypeError, "expected a tuple of 2 parts"),
        ((np.empty(5), (np.empty(5),)), ValueError, "expected 2 gradient arrays"),
        ((np.empty(4), (np.empty(5), np.empty(5))), ValueError, r"shape \(4,\)"),
        ((np.empty(5, int), (np.empty(5), np.empty(5))), TypeError, "float64 or float32"),
        (([0.0] * 5, (np.empty(5), np.empty(5))), TypeError, "NumPy arrays"),
    ],
)
def test_bad_out_is_a_clear_error(out: Any, error: type[Exception], match: str) -> None:
    f = adc.compile(C3)
    with pytest.raises(error, match=match):
        f.value_and_grad()(np.ones(5), np.ones(5), out=out)


def test_read_only_out_is_refused() -> None:
    f = adc.compile(C3)
    ro = np.empty(5)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        f.value(np.ones(5), 2.0, out=ro)


def test_float32_in_float32_out(c3: adc.Formula) -> None:
    rng = np.random.default_rng(3)
    x32 = rng.uniform(0.5, 3, 1000).astype(np.float32)
    y32 = rng.uniform(0.5, 3, 1000).astype(np.float32)
    got = flat(c3.value_and_grad()(x32, y32))
    assert all(g.dtype == np.float32 for g in got)
    # arithmetic is float64 on the widened inputs; the results are rounded once
    wide = flat(c3.value_and_grad()(x32.astype(np.float64), y32.astype(np.float64)))
    for g, w in zip(got, wide):
        np.testing.assert_array_equal(g, w.astype(np.float32))
    # against float64 inputs: within float32 input rounding, amplified by conditioning
    exact = flat(c3.value_and_grad()(x32.astype(np.float64), y32.astype(np.float64)))
    for g, e in zip(got, exact):
        np.testing.assert_allclose(g, e, rtol=2e-7, atol=1e-7)
    # a float64 array anywhere makes the result float64
    assert c3(x32, np.ones(1000)).dtype == np.float64
    assert c3(x32, 2.0).dtype == np.float32


def test_float32_accuracy_against_float64_data() -> None:
    f = adc.compile(C1)
    rng = np.random.default_rng(4)
    x0, x1 = rng.normal(size=(2, 10_000))
    v64, g64 = f.value_and_grad()(0.7, x0, -1.3, x1, 0.2)
    v32, g32 = f.value_and_grad()(0.7, x0.astype(np.float32), -1.3, x1.astype(np.float32), 0.2)
    assert v32.dtype == np.float32
    np.testing.assert_allclose(v32, v64, rtol=1e-6)
    for a, b in zip(g32, g64):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_reduce_equals_the_reduced_elementwise_result(c3: adc.Formula, reduce: str) -> None:
    x = np.linspace(0.5, 3.0, 7)[:, None]
    y = np.linspace(0.5, 2.0, 5)
    value, grad = c3.value_and_grad(reduce=reduce)(x, y)  # type: ignore[arg-type]
    assert type(value) is float and all(type(g) is float for g in grad)
    assert isinstance(grad, Grad) and grad._fields == ("x", "y")
    each = flat(c3.value_and_grad()(x, y))
    expected = [getattr(np, reduce)(np.broadcast_to(a, (7, 5))) for a in each]
    np.testing.assert_allclose([value, *grad], expected, rtol=1e-13)
    only = c3.grad("x", reduce=reduce)(x, y)  # type: ignore[arg-type]
    np.testing.assert_allclose(only, expected[1], rtol=1e-13)


def test_reduce_of_a_loss_over_data() -> None:
    loss = adc.compile("(w*x + b - y)^2")
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(2, 1001))
    value, grad = loss.value_and_grad(["w", "b"], reduce="mean")(0.5, x, -0.2, y)
    r = 0.5 * x - 0.2 - y
    np.testing.assert_allclose(value, np.mean(r**2), rtol=1e-12)
    np.testing.assert_allclose(grad.w, np.mean(2 * r * x), rtol=1e-12)
    np.testing.assert_allclose(grad.b, np.mean(2 * r), rtol=1e-12)


def test_reduce_edge_cases(c3: adc.Formula) -> None:
    total = c3.value_and_grad(reduce="sum")
    assert total(np.ones(0), 2.0) == (0.0, (0.0, 0.0))
    value, grad = c3.value_and_grad(reduce="mean")(np.ones(0), 2.0)
    assert np.isnan(value) and np.isnan(grad.x)
    assert total(1.5, 2.0) == c3.value_and_grad()(1.5, 2.0)  # one point
    with pytest.raises(TypeError, match="out= cannot be used with reduce"):
        total(np.ones(3), 2.0, out=np.empty(3))
    with pytest.raises(ValueError, match="reduce must be"):
        c3.value_and_grad(reduce="max")  # type: ignore[arg-type]


def test_reduce_does_not_depend_on_the_thread_count() -> None:
    f = adc.compile(C3, backend="numba")
    x = np.linspace(0.5, 3.0, 100_001)
    before = numba.get_num_threads()
    try:
        results = []
        for threads in {1, before}:
            numba.set_num_threads(threads)
            results.append(f.value_and_grad(reduce="sum")(x, 1.5))
    finally:
        numba.set_num_threads(before)
    for r in results[1:]:
        np.testing.assert_allclose(flat(r), flat(results[0]), rtol=1e-12)


def test_single_point_path_takes_numbers_of_any_kind(c3: adc.Formula) -> None:
    vg = c3.value_and_grad()
    ref = vg(2.0, 3.0)
    assert type(ref[0]) is float and type(ref[1].x) is float
    assert vg(2, 3) == ref
    assert vg(np.float64(2.0), 3.0) == ref
    assert vg(np.array(2.0), 3.0) == ref
    assert vg(x=2.0, y=3.0) == ref
    assert vg(np.float32(2.0), 3.0) == vg(float(np.float32(2.0)), 3.0)
    assert c3.grad("x")(2.0, 3.0) == ref[1].x
    assert c3.value_and_grad("x")(2.0, 3.0) == (ref[0], ref[1].x)
    assert c3(2.0, 3.0) == ref[0]
    with pytest.raises(TypeError, match="missing value for input 'y'"):
        vg(2.0)
    with pytest.raises(TypeError, match="is complex"):
        vg(2.0 + 1j, 3.0)
    with pytest.raises(TypeError, match="expected a number"):
        vg("two", 3.0)


def test_shapes_that_do_not_broadcast_are_named(c3: adc.Formula) -> None:
    with pytest.raises(ValueError, match=r"x: \(3,\), y: \(4,\)"):
        c3(np.ones(3), np.ones(4))


def test_grad_is_a_named_tuple_built_cheaply() -> None:
    g = Grad([1.0, 2.0, 3.0], ["x", "_hidden", "count"])
    assert isinstance(g, Grad) and isinstance(g, tuple) and g == (1.0, 2.0, 3.0)
    assert g.x == 1.0 and g["_hidden"] == 2.0 and g.count == 3.0
    assert g._asdict() == {"x": 1.0, "_hidden": 2.0, "count": 3.0}
    assert type(g) is type(Grad([0.0, 0.0, 0.0], ("x", "_hidden", "count")))
    assert pickle.loads(pickle.dumps(g)) == g and pickle.loads(pickle.dumps(g)).x == 1.0
    assert repr(g) == "Grad(x=1.0, _hidden=2.0, count=3.0)"
    with pytest.raises(KeyError, match="did you mean 'x'"):
        g["xx"]
    with pytest.raises(AttributeError):
        g.x = 5.0  # type: ignore[misc]


@pytest.mark.parametrize("backend", BACKENDS)
def test_reduce_reassociates_only_its_own_sums(backend: str) -> None:
    # per point (x*y + 1e16) - 1e16 is exactly 0 in IEEE order; a reassociated kernel gives 1
    f = adc.compile("(x*y + 1e16) - 1e16", backend=backend)
    value, grad = f.value_and_grad(reduce="sum")(np.ones(4096), 1.0)
    assert value == 0.0 and grad == (4096.0, 4096.0)


def test_out_of_a_program_with_several_outputs() -> None:
    f = adc.compile("a = x*y\na, a + x")
    x = np.linspace(0, 1, 4)
    outs = (np.empty(4), np.empty(4))
    got = f.value(x, 2.0, out=outs)
    assert got[0] is outs[0] and got[1] is outs[1]
    np.testing.assert_array_equal(outs[1], 3 * x)
    with pytest.raises(ValueError, match="expected 2 value arrays, got 1"):
        f.value(x, 2.0, out=(np.empty(4),))
