"""Every script in examples/ runs in a fresh interpreter, checks its own numbers and exits 0."""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import adcompile as adc

pytestmark = pytest.mark.slow  # each runs an example script in a fresh interpreter

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
README = ROOT / "README.md"

#: Text each example must print (its key numbers, as a teacher's slide would show them).
EXPECTED = {
    "least_squares.py": [
        "1,000,000 data points",
        "(the gradient matches the one derived by hand)",
        "  p[0]    2.000    2.000",
        "  p[3]    1.700    1.700",
        "recovered parameters: all within 2e-3 of the truth",
    ],
    "dask_bce.py": [
        "20,000,000 points in chunks of 5,000,000 on 2 worker processes",
        "step 3: loss",
        "peak memory per worker",
        "the loss fell at every step",
    ],
    "explain_pages.py": [
        "03_polynomial.html: 11 nodes; d/dx = 93",
        "06_sigmoid_neuron.html: 13 nodes; d/dw0 = -0.196612, d/dx0 = 0.393224",
        "11_detach.html: 4 nodes; d/dx = 9",
        "wrote 9 pages to",
    ],
    "01_square.py": ["y     = 9.0", "dy/dx = 6.0"],
    "02_sin_square.py": [
        "y     = 0.412118485242",
        "dy/dx = -5.466781571308",
        "du/dx = 2x     =   6.000000",
        "dy/du = cos(u) =  -0.911130",
        "dy/dx = dy/du * du/dx = -0.911130 * 6 = -5.466782",
        "u     x^2             9     -0.9111  du/dx = 6",
        "b_x = b_u * t0",
    ],
    "03_polynomial.py": ["f(2)  = 63", "f'(2) = 93"],
    "04_log_xy.py": ["z     = 1.791759469228", "dz/dx = 0.500000000000", "dz/dy = 0.333333333333"],
    "05_q_3x3_minus_y2.py": ["Q     = [-12.  65.]", "dQ/dx = [36. 81.]", "dQ/dy = [-12.  -8.]"],
    "06_sigmoid_neuron.py": [
        "f             0.731059      0.731059",
        "df/dw0       -0.196612     -0.196612",
        "df/dx1       -0.589836     -0.589836",
        "both forms agree",
        "def value_and_grad(w0, x0, w1, x1, w2):",
    ],
    "07_bce.py": [
        "p     = 0.9987706014",
        "L     = 6.7012301550",
        "dL/dw = 6.6917630292   ((p - t) * x = 0.998771 * 6.7)",
        "dL/db = 0.9987706014   (p - t)",
    ],
    "08_batch.py": ["1,000,000 points", "points/s"],
    "09_neuron_trace.py": [
        "a     w0 * x0        -2      0.1966  da/dw0 = -1  da/dx0 = 2",
        "e     -d             -1     -0.1966  de/dd = -1",
        "f     exp(e)     0.3679     -0.5344  df/de = 0.3679",
        "h     1 / g      0.7311           1  dh/dg = -0.5344",
        "x1    input          -2     -0.5898",
        "matches the hand-computed table to 3 digits",
        "h = sigmoid(d) = 0.7311, dh/dd = 0.1966",
    ],
    "10_jvp.py": [
        " [ 1.        -0.9899925]",
        "J @ v = [4.         0.50500375 3.        ]",
        "w @ J = [ 1.3       -0.7893925]",
        "d_y1 = t1 + t2",
        "dy/dx = [2. 4. 6. 8.]",
    ],
    "11_detach.py": [
        "u = detach(y)             27       9",
        "stop_gradient(y)          27       9",
        "u = y                     27      27",
        "u     stop_gradient(y)      9           3",
        "    b_x = u",
    ],
    "12_accumulation.py": [
        "dL/dw = -42, then -42",
        "batch 1         2.25      -3      -3",
        "sum             31.5     -42     -18",
        "whole batch     31.5     -42     -18",
    ],
}


#: Arguments of the examples whose full run takes long (the README gives the full command).
ARGUMENTS = {
    "dask_bce.py": ["--points", "2e7", "--chunk", "5e6", "--steps", "4"],
    "explain_pages.py": [str(Path(tempfile.gettempdir()) / "adcompile-explain-pages")],
}


def test_every_example_has_expectations() -> None:
    found = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert found == sorted(EXPECTED), f"examples {found} vs expectations {sorted(EXPECTED)}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_and_prints_its_numbers(name: str) -> None:
    env = dict(os.environ, ADCOMPILE_CACHE_DIR=os.environ["ADCOMPILE_CACHE_DIR"])
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *ARGUMENTS.get(name, [])],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"{name} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    for text in EXPECTED[name]:
        assert text in proc.stdout, f"{name}: {text!r} not in output:\n{proc.stdout}"


def _readme_python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_python_examples_print_what_they_say() -> None:
    sessions = "\n".join(b for b in _readme_python_blocks() if b.lstrip().startswith(">>>"))
    test = doctest.DocTestParser().get_doctest(sessions, {}, "README.md", str(README), 0)
    assert test.examples, "no >>> examples found in README.md"
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def test_readme_generated_source_is_current() -> None:
    (shown,) = [b for b in _readme_python_blocks() if b.startswith("# Generated by adcompile")]
    actual = adc.compile("log(x*y) + sin(x)^2").value_and_grad().source
    assert shown.strip() == actual.strip(), f"README shows:\n{shown}\nadcompile prints:\n{actual}"
