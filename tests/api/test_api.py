"""The public API contract (DESIGN.md section 3): calling conventions, shapes, gradients."""

from __future__ import annotations

import math
import pickle
import threading

import numpy as np
import pytest

import adcompile as adc

NEURON = "1/(1+exp(-(w0*x0 + w1*x1 + w2)))"
NEURON_PROGRAM = "\n".join(
    [
        "a = w0*x0",
        "b = w1*x1",
        "c = a + b",
        "d = c + w2",
        "e = -d",
        "f = exp(e)",
        "g = 1 + f",
        "h = 1/g",
    ]
)
POINT = (2.0, -1.0, -3.0, -2.0, -3.0)


def neuron_reference(w0, x0, w1, x1, w2):
    s = 1.0 / (1.0 + np.exp(-(w0 * x0 + w1 * x1 + w2)))
    d = s * (1.0 - s)
    return s, {"w0": d * x0, "x0": d * w0, "w1": d * x1, "x1": d * w1, "w2": d}


@pytest.fixture(scope="module")
def neuron():
    return adc.compile(NEURON)


def test_issue_example_scalar(neuron):
    assert neuron.inputs == ("w0", "x0", "w1", "x1", "w2")
    value, grad = neuron.value_and_grad()(*POINT)
    ref, dref = neuron_reference(*POINT)
    assert isinstance(value, float)
    assert value == pytest.approx(0.7311, abs=1e-4)
    assert value == pytest.approx(ref, rel=1e-14)
    assert grad._fields == neuron.inputs
    for name in neuron.inputs:
        assert getattr(grad, name) == pytest.approx(dref[name], rel=1e-13), name
        assert grad[name] == getattr(grad, name)
    assert grad.w0 == pytest.approx(-0.1966, abs=1e-4)
    assert grad.x1 == pytest.approx(-0.5898, abs=1e-4)


def test_issue_example_arrays_broadcast(neuron):
    xs = np.linspace(-3, 3, 1_000_000)
    v, g = neuron.value_and_grad(wrt=["w0", "w2"])(2.0, xs, -3.0, 1.5, -3.0)
    ref, dref = neuron_reference(2.0, xs, -3.0, 1.5, -3.0)
    assert v.shape == xs.shape and v.dtype == np.float64
    assert g._fields == ("w0", "w2")
    np.testing.assert_allclose(v, ref, rtol=1e-13)
    np.testing.assert_allclose(g.w0, dref["w0"], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(g.w2, dref["w2"], rtol=1e-12, atol=1e-300)


def test_program_and_expression_agree(neuron):
    prog = adc.compile(NEURON_PROGRAM)
    assert prog.inputs == neuron.inputs
    assert prog.outputs == ("h",)
    v1, g1 = neuron.value_and_grad()(*POINT)
    v2, g2 = prog.value_and_grad()(*POINT)
    assert v1 == pytest.approx(v2, rel=1e-15)
    np.testing.assert_allclose(tuple(g1), tuple(g2), rtol=1e-15)


def test_source_is_readable_python(neuron):
    src = adc.compile(NEURON_PROGRAM).value_and_grad().source
    assert "def value_and_grad(w0, x0, w1, x1, w2):" in src
    assert "# forward" in src and "# reverse" in src
    # the user's names survive (1/(1 + exp(-d)) is rewritten to sigmoid(d), printed inline
    # in its stable form, whose exp(-|d|) the slope shares)
    sigmoid = "(1.0 / (1.0 + math.exp(-abs(d)))) * (1.0 if d >= 0.0 else math.exp(-abs(d)))"
    assert f"h = {sigmoid}" in src
    assert "# stable rewrite: 1 / (1 + exp(-u)) -> sigmoid(u)" in src
    # adjoint blocks name the statement they differentiate
    assert f"# from h = {sigmoid}" in src
    assert "b_w2 = " in src
    namespace: dict[str, object] = {}
    exec(compile(src, "<generated>", "exec"), namespace)  # compiler output only, no user text
    value_and_grad = namespace["value_and_grad"]
    got = value_and_grad(*POINT)  # type: ignore[operator]
    ref, dref = neuron_reference(*POINT)
    assert got[0] == pytest.approx(ref, rel=1e-14)
    assert list(got[1:]) == pytest.approx([dref[n] for n in neuron.inputs], rel=1e-13)


def test_numba_source_is_the_compiled_module(neuron):
    src = neuron.value_and_grad().numba_source
    assert "@numba.njit(" in src and "def drive(" in src and "nogil=True" in src
    assert 'error_model="numpy"' in src
    assert "prange" not in src  # parallel blocks run on a thread pool: no parfors compile


def test_keyword_and_mixed_arguments():
    f = adc.compile("log(x*y) + sin(x)^2")
    assert f.inputs == ("x", "y")
    a = f(2.0, 3.0)
    assert a == pytest.approx(math.log(6.0) + math.sin(2.0) ** 2, rel=1e-15)
    assert f(x=2.0, y=3.0) == a
    assert f(2.0, y=3.0) == a
    with pytest.raises(TypeError, match="missing value for input 'y'"):
        f(2.0)
    with pytest.raises(TypeError, match="did you mean 'y'"):
        f(x=1.0, yy=2.0)
    with pytest.raises(TypeError, match="given twice"):
        f(1.0, x=2.0)
    with pytest.raises(TypeError, match="at most 2"):
        f(1.0, 2.0, 3.0)


def test_broadcasting_shapes_and_scalars():
    f = adc.compile("x*y + x")
    vg = f.value_and_grad()
    x = np.arange(3.0).reshape(3, 1)
    y = np.arange(4.0).reshape(1, 4)
    v, g = vg(x, y)
    assert v.shape == (3, 4) and g.x.shape == (3, 4) and g.y.shape == (3, 4)
    np.testing.assert_array_equal(v, x * y + x)
    np.testing.assert_array_equal(g.x, np.broadcast_to(y + 1.0, (3, 4)))
    np.testing.assert_array_equal(g.y, np.broadcast_to(x, (3, 4)))
    v0, g0 = vg(np.array(2.0), 3.0)  # 0-d arrays count as scalars
    assert isinstance(v0, float) and (v0, tuple(g0)) == (8.0, (4.0, 2.0))
    empty_v, empty_g = vg(np.zeros(0), 1.0)
    assert empty_v.shape == (0,) and empty_g.x.shape == (0,)
    ints_v = f(np.arange(3), 2)  # integers are converted to float64
    assert ints_v.dtype == np.float64
    np.testing.assert_array_equal(ints_v, [0.0, 3.0, 6.0])


def test_non_contiguous_inputs():
    f = adc.compile("x^2 - y")
    x = np.arange(20.0)[::2]
    y = np.arange(30.0).reshape(10, 3)[:, 1]
    v, g = f.value_and_grad()(x, y)
    np.testing.assert_array_equal(v, x**2 - y)
    np.testing.assert_array_equal(g.x, 2 * x)
    np.testing.assert_array_equal(g.y, -np.ones(10))


def test_wrt_forms():
    f = adc.compile("x^2*y + z")
    assert f.value_and_grad("x")(3.0, 2.0, 1.0) == (19.0, 12.0)  # one name: bare derivative
    assert f.grad("y")(3.0, 2.0, 1.0) == 9.0
    g = f.grad(["z", "x"])(3.0, 2.0, 1.0)
    assert g._fields == ("z", "x") and tuple(g) == (1.0, 12.0)
    assert g._asdict() == {"z": 1.0, "x": 12.0}
    with pytest.raises(ValueError, match="did you mean 'x'"):
        f.grad("xx")
    with pytest.raises(ValueError, match="repeated"):
        f.grad(["x", "x"])


def test_unused_declared_input_has_zero_gradient():
    f = adc.compile("x^2", inputs=["x", "unused"])
    assert f.inputs == ("x", "unused")
    value, grad = f.value_and_grad()(3.0, 5.0)
    assert (value, grad.x, grad.unused) == (9.0, 6.0, 0.0)
    v, g = f.value_and_grad()(np.array([1.0, 2.0]), 5.0)
    np.testing.assert_array_equal(v, [1.0, 4.0])
    np.testing.assert_array_equal(g.unused, [0.0, 0.0])


def test_several_outputs():
    f = adc.compile("s = x + y\nd = x - y\ns, d")
    assert f.outputs == ("s", "d")
    assert f(5.0, 3.0) == (8.0, 2.0)
    with pytest.raises(ValueError, match="single output"):
        f.value_and_grad()


def test_ieee_semantics_no_exceptions():
    f = adc.compile("log(x) + 1/y")
    v = f(np.array([1.0, -1.0, 0.0]), np.array([1.0, 1.0, 0.0]))
    assert v[0] == 1.0 and math.isnan(v[1]) and math.isnan(v[2])  # log(0) + 1/0 = -inf + inf
    v, g = f.value_and_grad()(0.0, 0.0)
    assert math.isinf(g.x) and math.isinf(g.y)


@pytest.mark.parametrize("backend", ["numba", "vm", "numpy"])
def test_backends_agree(backend):
    f = adc.compile("where(x > 0, sqrt(x), x^3) + hypot(x, y)*atan2(y, x)", backend=backend)
    xs = np.array([-1.5, 0.25, 2.0])
    v, g = f.value_and_grad()(xs, 0.5)
    ref = adc.compile(f.text, backend="numba" if backend == "numpy" else "numpy")
    rv, rg = ref.value_and_grad()(xs, 0.5)
    np.testing.assert_allclose(v, rv, rtol=1e-14)
    np.testing.assert_allclose(g.x, rg.x, rtol=1e-13)
    np.testing.assert_allclose(g.y, rg.y, rtol=1e-13)


def test_auto_backend_picks_the_vm_for_big_kernels():
    chain = "\n".join(f"x{k + 1} = sin(x{k})*y + 0.5*x{k}" for k in range(40))
    f = adc.compile(chain)
    assert f.value.backend == "numba"  # 160 statements
    vg = f.value_and_grad()
    assert vg.backend == "vm"  # 436 statements: no per-formula compile
    v, g = vg(0.3, 1.1)
    rv, rg = adc.compile(chain, backend="numpy").value_and_grad()(0.3, 1.1)
    assert v == pytest.approx(rv, rel=1e-14) and g.y == pytest.approx(rg.y, rel=1e-13)
    assert adc.compile("2 + 3").value.backend == "numpy"  # no inputs


def test_pickle_roundtrip():
    f = adc.compile("x*e - pi/x", inputs=["x"], backend="numpy")
    g = pickle.loads(pickle.dumps(f))
    assert g.inputs == f.inputs and g.text == f.text
    assert g.value_and_grad()(1.5) == f.value_and_grad()(1.5)
    _, grad = f.value_and_grad()(1.5)
    assert pickle.loads(pickle.dumps(grad)) == grad


def test_pickled_formula_keeps_declared_inputs_and_options():
    f = adc.compile("y*x^2", inputs=["x", "y", "unused"], backend="vm", stable=False)
    g = pickle.loads(pickle.dumps(f))
    assert g.inputs == ("x", "y", "unused") and g.stable is False
    assert g.value_and_grad().backend == "vm"
    assert g.value_and_grad()(3.0, 2.0, 1.0) == (18.0, (12.0, 9.0, 0.0))


def test_pickled_sympy_formula():
    import sympy

    a, b = sympy.symbols("a b")
    f = adc.compile(sympy.sin(b) * a + sympy.log(a))
    g = pickle.loads(pickle.dumps(f))
    assert g.inputs == f.inputs == ("a", "b") and g.text == f.text
    assert g(2.0, 0.5) == f(2.0, 0.5)
    vg = pickle.loads(pickle.dumps(f.value_and_grad()))
    assert vg(2.0, 0.5) == f.value_and_grad()(2.0, 0.5)


#: One evaluator of each kind, with its call: (method, wrt, reduce, keyword arguments).
PROGRAM = "u = x*sin(y) + x^2; v = log(x) - y*x; u, v"
SINGLE = "x*sin(y) + x^3*exp(-y)"
KINDS = {
    "value": (PROGRAM, "value", None, None, {}),
    "value_and_grad": (SINGLE, "value_and_grad", None, None, {}),
    "value_and_grad-bare-sum": (SINGLE, "value_and_grad", "y", "sum", {}),
    "grad-list-mean": (SINGLE, "grad", ["y", "x"], "mean", {}),
    "jvp": (PROGRAM, "jvp", None, None, {"tangents": (0.5, -2.0)}),
    "vjp": (PROGRAM, "vjp", ["x"], None, {"cotangents": (1.0, 3.0)}),
    "jacobian": (PROGRAM, "jacobian", None, None, {}),
    "hessian": (SINGLE, "hessian", None, None, {}),
    "hvp": (SINGLE, "hvp", None, None, {"tangents": {"x": 1.0, "y": 0.25}}),
}


def _evaluator(key):
    text, method, wrt, reduce, _ = KINDS[key]
    f = adc.compile(text)
    return f.value if method == "value" else getattr(f, method)(wrt, reduce=reduce)


def _assert_bit_identical(got, want):
    assert type(got) is type(want), (type(got), type(want))
    if isinstance(want, tuple):
        assert len(got) == len(want) and getattr(got, "_fields", None) == getattr(
            want, "_fields", None
        )
        for a, b in zip(got, want):
            _assert_bit_identical(a, b)
    else:
        np.testing.assert_array_equal(got, want, strict=True)


@pytest.mark.parametrize("key", list(KINDS))
def test_every_kind_of_evaluator_pickles(key):
    ev = _evaluator(key)
    back = pickle.loads(pickle.dumps(ev))
    assert (back.kind, back.wrt, back.reduce, back.inputs, back.backend) == (
        ev.kind,
        ev.wrt,
        ev.reduce,
        ev.inputs,
        ev.backend,
    )
    assert back.source == ev.source and back.numba_source == ev.numba_source
    kwargs = KINDS[key][4]
    xs, ys = np.linspace(0.5, 2.0, 7), np.linspace(-1.0, 1.0, 7)
    for point in [(1.25, -0.5), (xs, ys)]:
        _assert_bit_identical(back(*point, **kwargs), ev(*point, **kwargs))


def test_unpickling_again_reuses_the_rebuilt_evaluator():
    """A process pool unpickles an evaluator per task: the formula is parsed and the kernel
    loaded once per process, not once per task."""
    data = pickle.dumps(adc.compile("x*y + 1").value_and_grad(["x"], reduce="sum"))
    assert pickle.loads(data) is pickle.loads(data)


def test_unpickling_in_a_fresh_process(tmp_path):
    import os
    import subprocess
    import sys

    keys = list(KINDS)
    (tmp_path / "evaluators.pkl").write_bytes(pickle.dumps([_evaluator(k) for k in keys]))
    xs, ys = np.linspace(0.5, 2.0, 7), np.linspace(-1.0, 1.0, 7)
    code = (
        "import pickle, sys\n"
        "import numpy as np\n"
        "evaluators = pickle.loads(open('evaluators.pkl', 'rb').read())\n"
        "calls = pickle.loads(open('calls.pkl', 'rb').read())\n"
        "out = [ev(*point, **kw) for ev, (point, kw) in zip(evaluators, calls)]\n"
        "open('results.pkl', 'wb').write(pickle.dumps(out))\n"
    )
    calls = [((xs, ys), KINDS[k][4]) for k in keys]
    (tmp_path / "calls.pkl").write_bytes(pickle.dumps(calls))
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    got = pickle.loads((tmp_path / "results.pkl").read_bytes())
    for key, result in zip(keys, got):
        _assert_bit_identical(result, _evaluator(key)(xs, ys, **KINDS[key][4]))


def test_lazy_compilation_is_thread_safe():
    f = adc.compile("sin(x)*cos(y) + x")
    vg = f.value_and_grad()
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(vg(np.full(100, 0.5), 0.25)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    first = results[0]
    for r in results[1:]:
        np.testing.assert_array_equal(r[0], first[0])  # type: ignore[index]


def test_evaluators_are_cached_per_wrt(neuron):
    assert neuron.value_and_grad() is neuron.value_and_grad(None)
    assert neuron.value_and_grad(["w0"]) is not neuron.value_and_grad()


def test_bad_arguments_to_compile():
    with pytest.raises(TypeError, match="string"):
        adc.compile(3.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="sequence of names"):
        adc.compile("x", inputs="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="backend"):
        adc.compile("x", backend="gpu")  # type: ignore[arg-type]
    with pytest.raises(adc.FormulaError):
        adc.compile("x +")


def test_constant_formula():
    f = adc.compile("2*pi")
    assert f.inputs == ()
    assert f() == pytest.approx(2 * math.pi)
    assert f.value_and_grad()() == (pytest.approx(2 * math.pi), ())


def test_whole_exponents_print_as_integers_and_stay_ieee():
    f = adc.compile("x^4 + x^-2 + x^0.5")
    src = f.value_and_grad().numba_source
    assert "x ** 4\n" in src  # Numba expands integer powers into multiplications
    # others are the C library's pow (vectorized by math="simd"): no ZeroDivisionError at 0
    assert "math.pow(x, (-2.0))" in src
    assert "math.pow(x, 0.5)" in src
    assert "x ** 0.5" in f.value_and_grad().source  # the Python module keeps the operator
    v, g = f.value_and_grad()(np.array([2.0]))
    assert v[0] == pytest.approx(16.0 + 0.25 + math.sqrt(2.0), rel=1e-15)
    assert g.x[0] == pytest.approx(32.0 - 0.25 + 0.25 * math.sqrt(2.0), rel=1e-15)
    value, grad = adc.compile("x^4 + x^-2").value_and_grad()(0.0)
    assert value == math.inf and grad.x == -math.inf
