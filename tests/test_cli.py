"""The `adcompile` command: `main([...])` in process, plus `python -m` and the console script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from adcompile.cli import main

POLY = "2*x^4 + x^3 + 3*x^2 + 5*x + 1"


def test_value_and_derivative_at_a_point(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([POLY, "--at", "x=2"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == ["value = 63", "d/dx = 93"], out


@pytest.mark.parametrize("backend", ["numba", "vm", "numpy"])
def test_every_backend_gives_the_same_numbers(
    backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([POLY, "--at", "x=2", "--backend", backend]) == 0
    assert capsys.readouterr().out.splitlines() == ["value = 63", "d/dx = 93"]


def test_show_python(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([POLY, "--show", "python"]) == 0
    out = capsys.readouterr().out
    assert "def value_and_grad(x):" in out
    assert "return " in out


def test_show_python_is_the_default_without_at(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log(x*y)"]) == 0
    assert "def value_and_grad(x, y):" in capsys.readouterr().out


def test_show_ir(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log(x*y)", "--show", "ir"]) == 0
    out = capsys.readouterr().out
    assert "input x" in out and "input y" in out and "log" in out, out
    assert out.splitlines()[-1].startswith("return "), out


def test_show_numba(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log(x*y)", "--show", "numba"]) == 0
    out = capsys.readouterr().out
    assert "numba.njit" in out
    assert "prange" in out


def test_show_and_at_together(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([POLY, "--show", "python", "--at", "x=2"]) == 0
    out = capsys.readouterr().out
    assert "def value_and_grad(x):" in out
    assert out.splitlines()[-2:] == ["value = 63", "d/dx = 93"], out


def test_wrt_subset(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["x*y + y^2", "--at", "x=2,y=3", "--wrt", "y"]) == 0
    out = capsys.readouterr().out
    # value 2*3 + 9 = 15; d/dy = x + 2y = 8; no d/dx line.
    assert out.splitlines() == ["value = 15", "d/dy = 8"], out


def test_program_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    program = tmp_path / "neuron.adc"
    program.write_text(
        "# a sigmoid neuron, one step a line\ns = w*x + b\nh = 1/(1 + exp(-s))\n",
        encoding="utf-8",
    )
    assert main([str(program), "--at", "w=0,x=5,b=0", "--wrt", "w,b"]) == 0
    # s = 0: h = 1/2, dh/ds = 1/4, dh/dw = x/4 = 1.25, dh/db = 1/4.
    assert capsys.readouterr().out.splitlines() == ["value = 0.5", "d/dw = 1.25", "d/db = 0.25"]


def test_bad_formula_exits_2_with_a_caret(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["2*x + * 3", "--at", "x=2"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "line 1" in captured.err, captured.err
    assert "^" in captured.err, captured.err
    assert "Traceback" not in captured.err


def test_caret_points_at_the_bad_token(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["x + * y"]) == 2
    lines = capsys.readouterr().err.splitlines()
    source, caret = lines[-2], lines[-1]
    assert source.strip() == "x + * y"
    assert source[caret.index("^")] == "*", lines


@pytest.mark.parametrize(
    "at", ["x=abc", "x", "y=2"], ids=["not-a-number", "no-equals", "unknown-input"]
)
def test_bad_at_exits_2(at: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["x^2", "--at", at]) == 2
    err = capsys.readouterr().err
    assert err.startswith("adcompile: error:"), err
    assert "Traceback" not in err


def test_bad_wrt_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["x^2", "--at", "x=1", "--wrt", "z"]) == 2
    assert "'z' is not an input" in capsys.readouterr().err


def _env() -> dict[str, str]:
    return dict(os.environ, ADCOMPILE_CACHE_DIR=os.environ["ADCOMPILE_CACHE_DIR"])


def test_python_dash_m(tmp_path: Path) -> None:
    _check_polynomial([sys.executable, "-m", "adcompile"], tmp_path)


def _check_polynomial(command: list[str], cwd: Path) -> None:
    proc = subprocess.run(
        [*command, POLY, "--at", "x=2"],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=cwd,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["value = 63", "d/dx = 93"], proc.stdout


def test_console_script(tmp_path: Path) -> None:
    # Prefer the script installed beside this interpreter (a venv's bin/), then PATH.
    here = Path(sys.executable).parent
    script = shutil.which("adcompile", path=str(here)) or shutil.which("adcompile")
    if script is None:
        pytest.skip("the adcompile console script is not installed")
    _check_polynomial([script], tmp_path)
    bad = subprocess.run(
        [script, "x $ y"], capture_output=True, text=True, env=_env(), timeout=300, check=False
    )
    assert bad.returncode == 2 and "^" in bad.stderr, (bad.returncode, bad.stderr)


def test_program_with_several_outputs(capsys: pytest.CaptureFixture[str]) -> None:
    program = "u = x + y; v = x*y\nu, v"
    assert main([program, "--at", "x=1,y=2"]) == 0
    assert capsys.readouterr().out.splitlines() == ["u = 3", "v = 2"]
    assert main([program, "--show", "python"]) == 0
    out = capsys.readouterr().out
    assert "def value(x, y):" in out and "return u, v" in out
