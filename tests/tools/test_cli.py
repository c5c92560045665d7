"""The `adcompile` command: `main([...])` in process, plus `python -m` and the console script."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from adcompile.tools.cli import main

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
    assert "def drive(" in out


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


# --- showing the work: --trace, --dot, --show latex|sympy, -o -----------------------------

NEURON = "a = w0*x0\nb = w1*x1\nc = a + b\nd = c + w2\ne = -d\nf = exp(e)\ng = 1 + f\nh = 1/g\n"
NEURON_AT = "w0=2,x0=-1,w1=-3,x1=-2,w2=-3"


def test_trace_of_the_neuron_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "neuron.adc"
    path.write_text(NEURON, encoding="utf-8")
    assert main([str(path), "--at", NEURON_AT, "--trace", "--no-stable"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()}
    assert rows["g"][1:5] == ["f", "+", "1", "1.368"] and rows["g"][5] == "-0.5344"
    assert rows["h"][4:6] == ["0.7311", "1"]
    assert rows["w0"][1:4] == ["input", "2", "-0.1966"]


def test_trace_needs_a_point(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["x*y", "--trace"]) == 2
    assert "--trace needs a point" in capsys.readouterr().err


def test_dot_to_stdout_with_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log(x*y)", "--at", "x=2,y=3", "--dot"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("digraph") and out.rstrip().endswith("}")
    assert "b_x" in out and "0.5" in out  # the adjoint node and its value at the point


@pytest.mark.parametrize(
    ("show", "expected"),
    [("latex", r"\frac{\partial f}{\partial x}"), ("sympy", "dvalue/dx = t1*y")],
)
def test_show_latex_and_sympy(show: str, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log(x*y)", "--show", show]) == 0
    assert expected in capsys.readouterr().out


@pytest.mark.parametrize("numba", [False, True], ids=["numpy", "numba"])
def test_emitted_module_reproduces_the_results_in_a_fresh_process(
    numba: bool, tmp_path: Path
) -> None:
    """`-o` writes a module that imports neither adcompile nor anything beyond NumPy (and Numba
    when asked); run in a new interpreter, it gives the compiled evaluator's numbers."""
    import numpy as np

    import adcompile as adc

    formula = "where(x > 0, log(x), 0) + erf(y)*sin(x*y) + max(x, y)^2"
    module = tmp_path / "model.py"
    flags = ["--numba"] if numba else []
    assert main([formula, "-o", str(module), *flags]) == 0
    call = "model.evaluate(x, y)" if numba else "model.value_and_grad(x, y)"
    code = (
        "import sys, numpy as np\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "import model\n"
        "x = np.linspace(-2, 2, 9); y = np.float64(0.3)\n"
        f"np.save(sys.argv[1], np.array({call}))\n"
        "assert 'adcompile' not in sys.modules, 'the module imported adcompile'\n"
    )
    out = tmp_path / "out.npy"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, "-I", "-c", code, str(out)]
        if not numba
        else [sys.executable, "-c", code, str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    got = np.load(out)
    # the module calls the C library's functions, one point at a time: math="libm"
    vg = adc.compile(formula, math="libm").value_and_grad()
    value, grad = vg(np.linspace(-2, 2, 9), 0.3)
    want = np.array([value, *grad])
    if numba:
        np.testing.assert_array_equal(got, want)  # the same kernel: the same bits
    else:
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-300)


# --- trust: files, --version, closed pipes, usage errors ------------------------------------


@pytest.mark.parametrize("arg", ["model.adc", "./f.txt", "dir/x.adc", "../nope", "notes.txt"])
def test_a_missing_file_is_reported_as_one(
    arg: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([arg, "--at", "x=1"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"adcompile: error: no such file: {arg!r}\n"


def test_a_directory_is_not_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "models.d").mkdir()
    assert main([str(tmp_path / "models.d")]) == 2
    assert capsys.readouterr().err.startswith("adcompile: error: not a file: ")


@pytest.mark.parametrize(
    ("formula", "out"),
    [("x/y", ["value = 0.5", "d/dx = 0.25", "d/dy = -0.125"]), ("x/2.5", ["value = 2"])],
)
def test_a_formula_with_a_slash_or_a_dot_stays_a_formula(
    formula: str,
    out: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    at = "x=2,y=4" if "y" in formula else "x=5"
    assert main([formula, "--at", at]) == 0
    assert capsys.readouterr().out.splitlines()[: len(out)] == out


def test_a_bad_formula_with_a_slash_is_a_formula_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["x/y +", "--at", "x=1,y=1"]) == 2
    err = capsys.readouterr().err
    assert "no such file" not in err and "^" in err, err


def test_a_file_with_a_directory_part_and_no_suffix_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "square").write_text("y = x^2\n", encoding="utf-8")
    assert main([str(tmp_path / "square"), "--at", "x=3"]) == 0
    assert capsys.readouterr().out.splitlines() == ["value = 9", "d/dx = 6"]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import adcompile

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"adcompile {adcompile.__version__}\n"


def test_numba_needs_an_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["x^2", "--numba"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "adcompile: error: --numba needs -o MODULE.py (it chooses the module -o writes)\n"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["x^2", "--at", "x=two"],
        ["x^2", "--at", "x=1", "--wrt", "z"],
        ["x^2", "--inputs", "y"],
        ["x^2", "--dot", "graph.xyz"],
        ["x^2", "-o", "no/such/dir/model.py"],
        ["x^2", "--show", "bogus"],
        ["x^2", "--backend", "gpu"],
        ["x^2", "--no-such-option"],
        [],
        ["binary.adc"],
    ],
    ids=[
        "at-not-a-number",
        "wrt-unknown",
        "inputs-missing-name",
        "dot-unknown-format",
        "output-in-missing-dir",
        "show-choice",
        "backend-choice",
        "unknown-option",
        "no-formula",
        "not-utf8",
    ],
)
def test_every_bad_input_is_one_error_line_and_status_2(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "binary.adc").write_bytes(b"\xff\xfe x^2")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if "error" in line] == [
        next(line for line in err.splitlines() if line.startswith("adcompile: error: "))
    ], err
    assert "Traceback" not in err


def test_a_closed_stdout_ends_quietly_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    class ClosedPipe(io.StringIO):
        def write(self, s: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["x^2", "--show", "python"]) == 141


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`adcompile "x^2" --show python | head -1`, made deterministic: the reader closes its end
    before the command writes, so every write meets a closed pipe."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "adcompile", "x^2", "--show", "python"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
        cwd=tmp_path,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 141
    assert err == ""  # no BrokenPipeError traceback, no "Exception ignored" at exit
