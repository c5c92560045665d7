"""Golden files: the generated code of the seed examples, byte for byte (tests/codegen/golden/).

The printed code is part of the product (it goes on lecture slides), so a change to it must be
deliberate: run `ADCOMPILE_UPDATE_GOLDEN=1 python -m pytest tests/codegen/test_golden.py`, read the
diff of tests/codegen/golden/, and commit it. The files are also regenerated in a subprocess with
another hash seed, which must give the same bytes (content-addressed caching relies on it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import adcompile as adc

GOLDEN = Path(__file__).resolve().parent / "golden"

NEURON = "a = w0*x0\nb = w1*x1\nc = a + b\nd = c + w2\ne = -d\nf = exp(e)\ng = 1 + f\nh = 1/g"
BCE = "z = w*x + b\np = sigmoid(z)\nloss = -(t*log(p) + (1 - t)*log(1 - p))"

#: file name -> (formula, compile keywords, evaluator method and wrt, what to show)
CASES: dict[str, tuple[str, dict[str, object], tuple[str, object], str]] = {
    "square.py": ("x^2", {}, ("value_and_grad", None), "source"),
    "chain_rule.py": ("u = x^2\ny = sin(u)", {}, ("value_and_grad", None), "source"),
    "polynomial.py": ("2*x^4 + x^3 + 3*x^2 + 5*x + 1", {}, ("value_and_grad", None), "source"),
    "log_xy.py": ("log(x*y)", {}, ("value_and_grad", None), "source"),
    "neuron_as_written.py": (NEURON, {"stable": False}, ("value_and_grad", None), "source"),
    "neuron_stable.py": (NEURON, {}, ("value_and_grad", None), "source"),
    "bce.py": (BCE, {}, ("value_and_grad", ["w", "b"]), "source"),
    "jvp.py": ("y1 = x1*x2\ny2 = x1 + sin(x2)\ny1, y2", {}, ("jvp", None), "source"),
    "hessian.py": ("x^3 * y", {}, ("hessian", None), "source"),
    "detach.py": ("y = x^2\nz = stop_gradient(y) * x", {}, ("grad", "x"), "source"),
    "square_numba.py": ("x^2", {}, ("value_and_grad", None), "numba_source"),
    "log_xy_ir.txt": ("log(x*y)", {}, ("value_and_grad", None), "ir"),
}


def render(name: str) -> str:
    text, options, (method, wrt), what = CASES[name]
    f = adc.compile(text, **options)  # type: ignore[arg-type]
    evaluator = getattr(f, method)(wrt)
    return str(getattr(evaluator, what)).rstrip("\n") + "\n"


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_code_matches_golden_file(name: str) -> None:
    path = GOLDEN / name
    actual = render(name)
    if os.environ.get("ADCOMPILE_UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"missing {path}: run with ADCOMPILE_UPDATE_GOLDEN=1"
    assert actual == path.read_text(encoding="utf-8"), f"{name} changed: see the module docstring"


def test_golden_files_are_the_same_in_another_process() -> None:
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
        "from test_golden import CASES, render\n"
        "for name in sorted(CASES): sys.stdout.write(render(name))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "7"}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert run.stdout == "".join(render(name) for name in sorted(CASES))


def test_no_stray_golden_files() -> None:
    assert {p.name for p in GOLDEN.iterdir()} == set(CASES)


def test_adjoint_lines_say_their_chain_rule_step() -> None:
    """Every line that multiplies by a local derivative says which one, in formula syntax."""
    source = render("neuron_as_written.py")
    assert "b_g = t0 / g  # d h / d g = -h / g" in source
    assert "b_e = f * b_g  # d f / d e = f" in source
    assert "b_w0 = x0 * b_d  # d a / d w0 = x0" in source
    assert "# forward\n" in source and "# reverse: b_v is the derivative" in source
