"""The grammar ships inside the wheel and loads from a checkout, an editable install and a wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import adcompile
from adcompile.front.parse import grammar_path

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = ROOT / "grammar" / "adcompile.lark"

# Run inside the throwaway venv, from a directory outside the source tree.
CHECK_INSTALLED = """
import sys
from pathlib import Path

import adcompile
from adcompile.front.parse import grammar_path

venv, checkout = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
here = Path(adcompile.__file__).resolve()
assert here.is_relative_to(venv), f"adcompile imported from {here}, not the venv {venv}"
assert not here.is_relative_to(checkout), f"adcompile imported from the checkout: {here}"
grammar = grammar_path().resolve()
assert grammar.is_relative_to(venv) and "site-packages" in grammar.parts, grammar
assert grammar.is_file(), grammar
f = adcompile.compile("x^2", backend="numpy")
result = f.value_and_grad("x")(3.0)
assert result == (9.0, 6.0), result
print("ok", here)
"""


def test_grammar_loads_from_the_checkout() -> None:
    path = grammar_path()
    assert path.is_file(), path
    if Path(adcompile.__file__).resolve().is_relative_to(ROOT):
        # Checkout or editable install: the top-level grammar/ is the one read.
        assert path.resolve() == GRAMMAR.resolve(), path


def _pip_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


def _see_dependencies(python: Path) -> None:
    """Let a bare venv import this interpreter's copies of the dependencies, wherever they
    are installed (site-packages, a user site, another venv), through a .pth file listing
    their folders: plain sys.path entries, so an editable install's finder is not run."""
    folders = {str(Path(m.__file__).resolve().parent.parent) for m in _dependencies()}
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    lines = sorted(f for f in folders if not Path(f).is_relative_to(ROOT))
    (Path(purelib) / "adcompile_test_deps.pth").write_text("\n".join(lines) + "\n")


def _dependencies() -> list[object]:
    import lark
    import llvmlite
    import mpmath
    import numba
    import numpy
    import sympy

    return [lark, llvmlite, mpmath, numba, numpy, sympy]


@pytest.mark.slow
def test_wheel_ships_the_grammar_and_works_when_installed(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        env=_pip_env(),
        timeout=600,
    )
    (wheel,) = dist.glob("adcompile-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert "adcompile/grammar/adcompile.lark" in names, sorted(names)
        assert "adcompile/py.typed" in names, sorted(names)
        shipped = zf.read("adcompile/grammar/adcompile.lark")
    assert shipped == GRAMMAR.read_bytes(), "the wheel's grammar differs from grammar/"

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    _see_dependencies(python)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--quiet", str(wheel)],
        check=True,
        capture_output=True,
        env=_pip_env(),
        timeout=300,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    proc = subprocess.run(
        [str(python), "-c", CHECK_INSTALLED, str(venv), str(ROOT)],
        capture_output=True,
        text=True,
        cwd=work,
        env=_pip_env(),
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.startswith("ok "), proc.stdout
