"""Generated modules on disk: content addressing, the Numba cache across processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import adcompile as adc
from adcompile.run import jit, vm

SCRIPT = """
import sys, time
import numpy as np
import adcompile as adc
f = adc.compile("log(x*y) + sin(x)^2*exp(-y)")
vg = f.value_and_grad()
t = time.perf_counter()
a, _ = vg(np.linspace(1, 2, 5), 3.0)  # compiles the module for this pattern (y one number)
v, g = vg(2.0, 3.0)
print(repr(v), repr(g.x), repr(g.y), repr(float(a.sum())), time.perf_counter() - t)
"""


@pytest.fixture(autouse=True)
def _synchronous(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about compiling: the compiled tier is built before the first result
    (whatever `ADCOMPILE_BACKGROUND` the suite runs with), here and in the child processes."""
    monkeypatch.setenv("ADCOMPILE_BACKGROUND", "0")


def _run(cache: Path) -> list[str]:
    env = {**os.environ, "ADCOMPILE_CACHE_DIR": str(cache)}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def _numba_cache_files(cache: Path) -> set[tuple[str, int]]:
    return {(p.name, p.stat().st_mtime_ns) for p in cache.rglob("*.nb[ic]")}


def test_second_process_reuses_compiled_code(tmp_path: Path) -> None:
    first = _run(tmp_path)
    modules = sorted(p.name for p in tmp_path.glob("adc_*.py"))
    assert len(modules) == 1, modules
    compiled = _numba_cache_files(tmp_path)
    assert any(name.endswith(".nbc") for name, _ in compiled), "Numba wrote no cache"
    second = _run(tmp_path)
    assert second[:4] == first[:4]  # same numbers
    assert _numba_cache_files(tmp_path) == compiled, "the second process compiled again"
    assert sorted(p.name for p in tmp_path.glob("adc_*.py")) == modules


def test_module_file_is_content_addressed(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ADCOMPILE_CACHE_DIR", str(tmp_path))
    source = "VALUE = 42\n"
    module = jit.load(source)
    assert module.VALUE == 42
    path = tmp_path / f"{jit.module_name(source)}.py"
    assert path.read_text() == source
    assert jit.load(source) is module
    assert module.__name__ in sys.modules


def test_generated_module_holds_only_compiler_output(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ADCOMPILE_CACHE_DIR", str(tmp_path))
    # a formula no other test compiles: modules are cached per process by content
    text = "y2 = x^2  # __import__('os').system('echo test_jit')\ny2 + 1"
    f = adc.compile(text)
    assert f.value_and_grad("x")(3.0) == (10.0, 6.0)
    (module,) = tmp_path.glob("adc_*.py")
    code = [ln for ln in module.read_text().splitlines() if not ln.lstrip().startswith("#")]
    assert not any("__import__" in ln or "system" in ln for ln in code)


def test_numba_and_interpreter_agree_on_a_batch() -> None:
    f = adc.compile("tanh(x)*y^3 - cbrt(x) + erf(y)")
    xs = np.linspace(-2, 2, 101)
    v1, g1 = f.value_and_grad()(xs, 0.7)
    v2, g2 = adc.compile(f.text, backend="numpy").value_and_grad()(xs, 0.7)
    np.testing.assert_allclose(v1, v2, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(g1.x, g2.x, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(g1.y, g2.y, rtol=1e-13, atol=1e-15)


def test_cache_files_are_private(tmp_path: Path, monkeypatch) -> None:
    """The root, Numba's directory and every file adcompile leaves there: this user's only."""
    root = tmp_path / "cache"
    monkeypatch.setenv("ADCOMPILE_CACHE_DIR", str(root))
    f = adc.compile("x^3 - 2*x  # test_cache_files_are_private")
    assert f.value_and_grad("x")(2.0) == (4.0, 10.0)
    assert f.value_and_grad("x")(np.array([2.0]))[1][0] == 10.0  # a lazily compiled driver
    paths = [root, *root.rglob("*")]
    assert any(p.suffix == ".nbc" for p in paths) and any(p.suffix == ".json" for p in paths)
    for path in paths:
        assert path.stat().st_mode & 0o077 == 0, (path, oct(path.stat().st_mode))
        assert path.stat().st_uid == os.geteuid()


def test_in_memory_sources_ask_numba_for_no_disk_cache() -> None:
    """Every decorator codegen prints (kernels, drivers, the VM) loses `cache=True`."""
    kernels = adc.compile("exp(x) * y  # cache=True").value_and_grad().numba_source
    for source in (kernels, vm.vm_source()):
        decorators = [ln for ln in source.splitlines() if ln.startswith("@numba.")]
        assert decorators and all("cache=True" in ln for ln in decorators)
        off = [ln for ln in jit.uncached_source(source).splitlines() if ln.startswith("@numba.")]
        assert all("cache=False" in ln and "cache=True" not in ln for ln in off)
