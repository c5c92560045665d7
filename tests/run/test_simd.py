"""`compile(..., math=...)`: the compiled tier's loops vectorize, elementary functions included
(libmvec's vector forms, `adcompile.run.simd`), and `math="libm"` is the C library's, bit
for bit. The machine code is read from the driver Numba compiles (`inspect_asm`)."""

from __future__ import annotations

import importlib.util
import math
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import adcompile as adc
from adcompile.run import simd

#: The cases of benchmarks/bench_eval.py and the functions each one calls.
CASES = {
    "C1": ("1/(1+exp(-(w0*x0+w1*x1+w2)))", {"exp"}),
    "C2": ("2*x^4+x^3+3*x^2+5*x+1", set()),
    "C3": ("log(x*y) + sin(x)^2*exp(-y)", {"log", "sin", "exp"}),
    "C4": ("z = w*x + b\np = 1/(1+exp(-z))\n-(t*log(p)+(1-t)*log(1-p))", {"exp", "log1p"}),
    "C5": (
        "-log(2*pi*sx*sy*sqrt(1-rho^2)) - (((x-mx)/sx)^2 - 2*rho*(x-mx)*(y-my)/(sx*sy)"
        " + ((y-my)/sy)^2)/(2*(1-rho^2))",
        {"log"},
    ),
}
#: Packed double-precision arithmetic on 256- or 512-bit registers.
PACKED = re.compile(r"\bv(?:mul|add|sub|div|fmadd\w*|fnmadd\w*|fmsub\w*)pd\s+%[yz]mm")


def _asm(source: str, tmp_path: Path, name: str) -> str:
    """The machine code of `drive` in a generated module, compiled afresh (no disk cache)."""
    path = tmp_path / f"{name}.py"
    path.write_text(source.replace("cache=True", "cache=False"))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.drive.inspect_asm(module.drive.signatures[0]))


def _vector_calls(asm: str) -> set[str]:
    """The functions the code calls in vector form (libmvec's `_ZGV<isa>N<lanes>v_<name>`)."""
    return {m.group(1) for m in re.finditer(r"_ZGV[bcde]N\d+v+_(\w+)", asm)}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_fused_loop_vectorizes(case: str, tmp_path: Path) -> None:
    text, functions = CASES[case]
    asm = _asm(adc.compile(text).value_and_grad().numba_source, tmp_path, f"m_{case}")
    assert PACKED.search(asm), f"{case}: no packed double arithmetic in the driver"
    if simd.KIND == "simd":
        assert _vector_calls(asm) >= functions, f"{case}: scalar calls remain"
    else:  # no libmvec here: the C library's functions, one point at a time
        assert not _vector_calls(asm)


def test_a_kernel_of_many_functions_still_vectorizes(tmp_path: Path) -> None:
    functions = ["exp", "sin", "cos", "log", "tanh", "atan", "expm1", "log1p", "sinh"]
    functions += ["cosh", "asinh", "erf", "cbrt", "exp2"]
    text = " + ".join(f"{name}(x)" for name in functions)
    asm = _asm(adc.compile(text).value_and_grad().numba_source, tmp_path, "many")
    if simd.KIND == "simd":
        assert _vector_calls(asm) >= set(functions)


def test_math_libm_calls_no_vector_forms(tmp_path: Path) -> None:
    text = CASES["C3"][0]
    asm = _asm(adc.compile(text, math="libm").value_and_grad().numba_source, tmp_path, "libm")
    assert not _vector_calls(asm)


def test_a_sum_over_a_vector_vectorizes_and_keeps_its_order(tmp_path: Path) -> None:
    f = adc.compile("sum(x^2 - 10*cos(2*pi*x))")
    vg = f.value_and_grad()
    module = vg._vector.module  # type: ignore[union-attr]
    asm = _asm(module.source, tmp_path, "rastrigin")
    if simd.KIND == "simd":
        assert "cos" in _vector_calls(asm)
    x = np.random.default_rng(1).uniform(-5, 5, (3, 1000))
    vg.wait()
    value, grad = vg(x)
    # the additions in source order, each element's cos in a vector lane: the same sum as
    # a loop adding one by one (libm="libm") up to the vector cos's own rounding
    exact = adc.compile("sum(x^2 - 10*cos(2*pi*x))", math="libm").value_and_grad()
    exact.wait()
    v2, g2 = exact(x)
    np.testing.assert_allclose(value, v2, rtol=1e-13)
    np.testing.assert_allclose(grad.x, g2.x, rtol=1e-12, atol=1e-12)


def _compiled(text: str, math: str = "simd") -> adc.Evaluator:
    ev = adc.compile(text, math=math).value_and_grad()  # type: ignore[arg-type]
    ev.wait()
    assert ev.backend == "numba"
    return ev


def test_libm_is_the_c_librarys_to_the_bit() -> None:
    x = np.random.default_rng(2).uniform(0.1, 30, 1000)
    value, grad = _compiled("exp(x) + sin(x)", "libm")(x)
    want = np.array([math.exp(v) + math.sin(v) for v in x])
    assert np.array_equal(value, want)
    assert np.array_equal(grad.x, np.array([math.exp(v) + math.cos(v) for v in x]))


def test_a_point_gets_the_same_bits_wherever_it_is() -> None:
    ev = _compiled("log(x*y) + sin(x)^2*exp(-y)")
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0.1, 5, 1001), rng.uniform(0.1, 5, 1001)
    v, g = ev(x, y)
    for at in (0, 5, 127, 128, 1000):
        for n in (1, 3, 17, 129):  # short batches: the padded last block
            lo = max(0, at - n // 2)
            sub_v, sub_g = ev(x[lo : lo + n], y[lo : lo + n])
            assert sub_v[at - lo] == v[at], (at, n)
            assert sub_g.x[at - lo] == g.x[at] and sub_g.y[at - lo] == g.y[at]
    # strided and broadcast inputs take the copying path: the same bits again
    xs = np.repeat(x, 2)[::2]
    assert np.array_equal(ev(xs, y)[0], v)
    assert ev(x[7], y)[0][3] == ev(x[7], y[3])[0]


@pytest.mark.parametrize("n_in", [2, 9])  # 9 inputs: too many pairs to check, buffered
def test_outputs_in_any_layout(n_in: int) -> None:
    text = "exp(" + " + ".join(f"{0.1 * (k + 1)}*x{k}" for k in range(n_in)) + ")"
    ev = _compiled(text)
    rng = np.random.default_rng(n_in)
    xs = [rng.uniform(-1, 1, 300) for _ in range(n_in)]
    value, grad = ev(*xs)
    want = np.exp(sum(0.1 * (k + 1) * x for k, x in enumerate(xs)))
    np.testing.assert_allclose(value, want, rtol=1e-14)
    np.testing.assert_allclose(grad[0], 0.1 * want, rtol=1e-14)
    # outputs written through strided views, and over an input (out aliases x0)
    out = np.empty((1 + n_in, 2, 300))
    ev(*xs, out=(out[0, 0], tuple(out[1:, 0])))
    np.testing.assert_allclose(out[0, 0], value, rtol=1e-15)
    alias = [x.copy() for x in xs]
    slots = np.empty((1 + n_in, 300))
    ev(*alias, out=(alias[0], tuple(slots[1:])))  # the value over input x0
    np.testing.assert_allclose(alias[0], value, rtol=1e-15)


def test_math_is_kept_by_pickle_and_checked() -> None:
    f = adc.compile("exp(x)", math="libm")
    assert pickle.loads(pickle.dumps(f)).math == "libm"
    assert pickle.loads(pickle.dumps(f.value_and_grad()))._math == "libm"
    with pytest.raises(ValueError, match="math"):
        adc.compile("exp(x)", math="svml")  # type: ignore[arg-type]


def test_the_fallback_without_libmvec_is_the_c_library() -> None:
    code = (
        "import math, numpy as np, adcompile as adc\n"
        "from adcompile.run import simd\n"
        "ev = adc.compile('exp(x)*sin(x)').value_and_grad(); ev.wait()\n"
        "x = np.linspace(0.1, 20, 500)\n"
        "v, g = ev(x)\n"
        "want = np.array([math.exp(t) * math.sin(t) for t in x])\n"
        "print(simd.KIND, simd.WHY_NOT, bool(np.array_equal(v, want)))\n"
    )
    env = {**os.environ, "ADCOMPILE_MATH": "libm"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "libm" and out[-1] == "True"
