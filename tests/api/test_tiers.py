"""Execution tiers (DESIGN.md section 3b): the interpreter answers at once, the compiled tier
is built in a worker process and swapped in; `vg.tier`, `vg.wait()`, the tier-up threshold,
`ADCOMPILE_BACKGROUND=0`, agreement between tiers, threads, fork, and exit."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from strategies import INPUTS, formulas

import adcompile as adc
from adcompile.run import jit, tiers
from adcompile.run.compiled import NumbaRunner

NEURON = "1/(1+exp(-(w0*x0+w1*x1+w2)))"
#: How far the tiers may differ: the interpreter uses NumPy's elementary functions (SIMD
#: implementations within a few ulp), the compiled tier the C library's, so results agree
#: to a few ulp per function, compounded through the formula (docs/tiers.md).
TIER_RTOL = 1e-12


@pytest.fixture
def background(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiled tiers built in the background (the default outside the test suite)."""
    monkeypatch.setenv("ADCOMPILE_BACKGROUND", "1")
    monkeypatch.delenv("ADCOMPILE_TIER_UP", raising=False)


def _close(a: object, b: object, rtol: float = TIER_RTOL) -> bool:
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.allclose(x, y, rtol=rtol, atol=rtol * (1 + np.max(np.abs(y))), equal_nan=True))


def test_a_new_formula_answers_from_the_interpreter_then_wait_swaps_in_compiled(
    background: None,
) -> None:
    vg = adc.compile(NEURON + " + 0.125").value_and_grad()
    xs = np.linspace(-2, 2, 1000)
    first = vg(xs, 0.5, -1.0, xs, 0.25)
    assert vg.tier == "interpreter" and vg.backend == "numba"
    assert vg.wait() is vg
    assert vg.tier == "compiled"
    assert isinstance(vg._tiers.runner, NumbaRunner)
    later = vg(xs, 0.5, -1.0, xs, 0.25)
    assert _close(first[0], later[0]) and _close(np.asarray(first[1]), np.asarray(later[1]))
    assert vg.wait(timeout=0) is vg  # already there: returns at once


def test_the_compiled_tier_is_compiled_in_the_worker_and_only_loaded_here(
    background: None,
) -> None:
    vg = adc.compile(NEURON + " + 0.25").value_and_grad().wait()
    pid = tiers.worker_pid()
    assert pid is not None and pid != os.getpid()
    module = vg._tiers.runner.module  # type: ignore[union-attr]
    for name in ("value_and_grad", "drive"):
        stats = getattr(module, name).stats
        assert stats.cache_hits and not stats.cache_misses, (name, stats)  # loaded, not built


def test_hot_formulas_tier_up_by_themselves(
    background: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADCOMPILE_TIER_UP", "5000")
    vg = adc.compile("x*exp(-y) + 0.375").value_and_grad()
    xs = np.linspace(0, 1, 1000)
    vg(xs, 2.0)
    assert vg.tier == "interpreter" and vg._tiers.build is None  # 1,000 points: not hot yet
    for _ in range(5):
        vg(xs, 2.0)
    assert vg._tiers.build is not None  # hot: asked for, in the background
    deadline = time.monotonic() + 120
    while vg.tier != "compiled" and time.monotonic() < deadline:
        vg(xs, 2.0)
        time.sleep(0.05)
    assert vg.tier == "compiled"


def test_single_point_calls_count_towards_tier_up(
    background: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADCOMPILE_TIER_UP", str(3 * tiers.CALL_WORK))
    vg = adc.compile("sin(x)*y + 0.5").value_and_grad()
    for _ in range(2):
        vg(1.0, 2.0)
    assert vg._tiers.build is None and vg.tier == "interpreter"
    vg(1.0, 2.0)
    assert vg._tiers.build is not None
    vg.wait()
    value, grad = vg(1.0, 2.0)
    assert value == pytest.approx(np.sin(1.0) * 2.0 + 0.5, rel=1e-15)
    assert tuple(grad) == pytest.approx((np.cos(1.0) * 2.0, np.sin(1.0)), rel=1e-15)


@pytest.mark.parametrize(("text", "work"), [("2e3", 2000), ("0", 0), (" 50 ", 50), ("", None)])
def test_the_threshold_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch, text: str, work: int | None
) -> None:
    monkeypatch.setenv("ADCOMPILE_TIER_UP", text)
    assert tiers.tier_up_work() == (tiers.TIER_UP_WORK if work is None else work)


@pytest.mark.parametrize("text", ["lots", "inf", "nan"])
def test_a_bad_threshold_warns_and_keeps_the_default(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv("ADCOMPILE_TIER_UP", text)
    with pytest.warns(RuntimeWarning, match="ADCOMPILE_TIER_UP"):
        assert tiers.tier_up_work() == tiers.TIER_UP_WORK


def _module_scalars(vg: adc.Evaluator) -> frozenset[int] | None:
    runner = vg._tiers.runner
    return runner.scalars if isinstance(runner, NumbaRunner) else None


def test_the_module_reads_one_number_inputs_once_and_widens_when_a_call_needs_it(
    background: None,
) -> None:
    vg = adc.compile("exp(-y^2)*sin(x) + log(y)*x + 0.1875", inputs=["x", "y"]).value_and_grad()
    xs, ys = np.linspace(0, 2, 500), np.linspace(1, 3, 500)

    def exact(x: np.ndarray, y: np.ndarray | float) -> np.ndarray:
        return np.exp(-np.square(y)) * np.sin(x) + np.log(y) * x + 0.1875

    vg(xs, 2.0)
    vg.wait()
    assert _module_scalars(vg) == {1}  # y was one number: read once per call
    assert "in1v = f64_at(p[" in vg.numba_source
    assert _close(vg(xs, 2.0)[0], exact(xs, 2.0), 1e-14)
    assert _close(vg(xs, ys)[0], exact(xs, ys), 1e-14)  # y as an array: still right
    vg.wait()  # the module for the wider pattern (no input always one number)
    assert _module_scalars(vg) == frozenset()
    assert _close(vg(xs, ys)[0], exact(xs, ys), 1e-14)
    assert _close(vg(xs, 2.0)[1].y, -4.0 * np.exp(-4.0) * np.sin(xs) + xs / 2.0, 1e-14)


def test_without_background_a_call_that_does_not_fit_compiles_what_fits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ADCOMPILE_BACKGROUND", "0")
    vg = adc.compile("x*cos(y) + 0.6875").value_and_grad()
    xs, ys = np.linspace(0, 1, 100), np.linspace(1, 2, 100)
    assert _close(vg(xs, 0.5)[0], xs * np.cos(0.5) + 0.6875, 1e-15)
    assert _module_scalars(vg) == {1}
    assert _close(vg(xs, ys)[0], xs * np.cos(ys) + 0.6875, 1e-15)
    assert _module_scalars(vg) == frozenset()
    assert _close(vg(2.0, ys)[0], 2.0 * np.cos(ys) + 0.6875, 1e-15)  # fits: no third module
    assert _module_scalars(vg) == frozenset()


def test_exploring_stays_on_the_interpreter_and_compiles_nothing(background: None) -> None:
    """A formula called a few times never asks for the compiled tier (default threshold)."""
    xs = np.linspace(0, 1, 100)
    for k in range(20):
        vg = adc.compile(f"x^2*y + {k}.5").value_and_grad()
        vg(xs, 3.0)
        vg(0.5, 3.0)
        assert vg.tier == "interpreter" and vg._tiers.build is None


def test_background_off_compiles_before_the_first_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ADCOMPILE_BACKGROUND", "0")
    vg = adc.compile("x*y + 0.625").value_and_grad()
    assert vg(1.0, 2.0)[0] == 2.625
    assert vg.tier == "compiled" and isinstance(vg._tiers.runner, NumbaRunner)


@pytest.mark.parametrize(("backend", "tier"), [("numba", "compiled"), ("numpy", "interpreter")])
def test_explicit_backends_keep_their_tier(background: None, backend: str, tier: str) -> None:
    vg = adc.compile("x*y + 0.75", backend=backend).value_and_grad()  # type: ignore[arg-type]
    assert vg(1.0, 2.0)[0] == 2.75
    assert vg.tier == tier
    assert vg.wait() is vg and vg.tier == tier


def test_big_formulas_tier_up_to_the_vm(background: None) -> None:
    text = " + ".join(f"sin(x*{k}.25)*y" for k in range(150))
    vg = adc.compile(text).value_and_grad()
    assert vg.backend == "vm"
    first = vg(0.5, 2.0)
    assert vg.tier == "interpreter"
    vg.wait()
    assert vg.tier == "compiled"
    later = vg(0.5, 2.0)
    assert _close(first[0], later[0]) and _close(np.asarray(first[1]), np.asarray(later[1]))


def test_wait_times_out_with_a_clear_error(background: None) -> None:
    vg = adc.compile("x*y*z + 0.875 + cosh(x)").value_and_grad()
    if not jit.is_cached(vg.numba_source):
        with pytest.raises(TimeoutError, match="not ready within 0"):
            vg.wait(timeout=0)
    vg.wait()
    assert vg.tier == "compiled"


def test_threads_calling_while_it_tiers_up_all_get_right_answers(
    background: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADCOMPILE_TIER_UP", "0")  # ask at the first call
    vg = adc.compile("log(1 + x^2)*y + 0.0625").value_and_grad()
    xs = np.linspace(-3, 3, 2000)
    want_value = np.log1p(xs**2) * 1.5 + 0.0625
    errors: list[str] = []

    def hammer() -> None:
        for _ in range(200):
            value, grad = vg(xs, 1.5)
            if not _close(value, want_value, 1e-14):
                errors.append("value")
            if not _close(grad[0], 2 * xs / (1 + xs**2) * 1.5, 1e-14):
                errors.append("gradient")
            single = vg(0.5, 1.5)[0]
            if abs(single - (np.log1p(0.25) * 1.5 + 0.0625)) > 1e-15:
                errors.append("point")

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:5]
    vg.wait()
    assert vg.tier == "compiled"


def _child_result(text: str) -> tuple[str, float]:
    vg = adc.compile(text).value_and_grad()
    vg.wait()
    return vg.tier, float(vg(0.5, 2.0)[0])


def test_a_forked_child_builds_its_own_compiled_tier(background: None) -> None:
    adc.compile(NEURON + " + 0.5").value_and_grad().wait()  # a builder thread and a worker
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        tier, value = pool.apply(_child_result, ("x*y + 0.3125",))
    assert (tier, value) == ("compiled", 1.3125)


def _child_compiles(text: str) -> float:
    os.environ["ADCOMPILE_BACKGROUND"] = "0"
    return float(adc.compile(text).value_and_grad()(0.5, 2.0)[0])


def test_a_fork_while_another_thread_loads_a_module_does_not_deadlock_the_child() -> None:
    """The module lock held by a thread at fork time (the builder, loading a module) is a
    fresh lock in the child, where that thread does not exist."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with jit._lock:
            held.set()
            release.wait()

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait()
    try:
        with multiprocessing.get_context("fork").Pool(1) as pool:
            result = pool.apply_async(_child_compiles, ("x*y + 0.5625",))
            assert result.get(timeout=120) == 1.5625
    finally:
        release.set()
        thread.join()


def test_a_spawned_child_builds_its_own_compiled_tier(background: None) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        tier, value = pool.apply(_child_result, ("x*y + 0.4375",))
    assert (tier, value) == ("compiled", 1.4375)


LOCK_SCRIPT = """
import fcntl, os, subprocess, sys, time
import adcompile as adc
from adcompile.run import tiers
root = os.environ["ADCOMPILE_CACHE_DIR"]
holder = subprocess.Popen([sys.executable, "-c", (
    "import fcntl, os, sys, time\\n"
    f"fd = os.open({root!r} + '/' + {tiers.WORKER_LOCK!r}, os.O_RDWR | os.O_CREAT, 0o600)\\n"
    "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)\\n")],
    stdout=subprocess.PIPE, text=True)
assert holder.stdout.readline().strip() == "held"
vg = adc.compile("x*y + 0.8125").value_and_grad()
try:
    vg.wait(timeout=3)
    print("built while another process held the worker lock")
except TimeoutError:
    assert tiers.worker_pid() is None  # no second worker while the lock is held
    holder.kill()
    vg.wait(timeout=120)
    print(vg.tier, vg(1.0, 2.0)[0])
"""


def test_one_compile_worker_per_cache_at_a_time(tmp_path: Path) -> None:
    env = {**os.environ, "ADCOMPILE_CACHE_DIR": str(tmp_path), "ADCOMPILE_BACKGROUND": "1"}
    done = subprocess.run(
        [sys.executable, "-c", LOCK_SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["compiled", "2.8125"], done.stdout


EXIT_SCRIPT = """
import time, numpy as np, adcompile as adc
vg = adc.compile({text!r}).value_and_grad()
vg(np.linspace(0, 1, 10), 2.0)
vg._tiers.request()  # the worker starts compiling; exit does not wait for it
time.sleep({sleep})
print(time.time(), flush=True)
"""


@pytest.mark.parametrize("sleep", [0.0, 1.5])
def test_exit_does_not_wait_and_leaves_no_half_written_entry(tmp_path: Path, sleep: float) -> None:
    text = f"tanh(x)*y^3 + {sleep}"
    env = {**os.environ, "ADCOMPILE_CACHE_DIR": str(tmp_path), "ADCOMPILE_BACKGROUND": "1"}
    env["PYTHONWARNINGS"] = "default"
    script = EXIT_SCRIPT.format(text=text, sleep=sleep)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    exited = time.time()
    assert done.returncode == 0, done.stderr[-2000:]
    assert exited - float(done.stdout) < 1.0  # from the script's last line to its exit
    # the next process finds either nothing, or a whole entry: never damage to warn about
    check = (
        "import numpy as np, adcompile as adc\n"
        f"vg = adc.compile({text!r}, backend='numba').value_and_grad()\n"
        "print(vg(0.5, 2.0)[0])\n"
    )
    env["ADCOMPILE_BACKGROUND"] = "0"
    again = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "CacheWarning" not in again.stderr, again.stderr
    assert float(again.stdout) == pytest.approx(np.tanh(0.5) * 8 + sleep, rel=1e-15)


@settings(max_examples=25)
@given(text=formulas(smooth=True, max_depth=3))
def test_tiers_agree_on_random_formulas(text: str) -> None:
    """The interpreter tier (NumPy) and the compiled tier (Numba) agree to TIER_RTOL."""
    rng = np.random.default_rng(7)
    xs = [rng.uniform(-2, 2, 64) for _ in INPUTS]
    slow = adc.compile(text, inputs=list(INPUTS), backend="numpy").value_and_grad()
    fast = adc.compile(text, inputs=list(INPUTS), backend="numba").value_and_grad()
    v1, g1 = slow(*xs)
    v2, g2 = fast(*xs)
    assert _close(v1, v2), (text, np.max(np.abs(v1 - v2)))
    assert _close(np.asarray(g1), np.asarray(g2)), text


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batches_of_one_point_on_the_compiled_tier(
    monkeypatch: pytest.MonkeyPatch, dtype: type
) -> None:
    """Outputs of one element are arrays to write, not one-number inputs (a regression)."""
    monkeypatch.setenv("ADCOMPILE_BACKGROUND", "0")
    vg = adc.compile("x*y + 1.0625").value_and_grad()
    one = np.array([2.0], dtype=dtype)
    value, grad = vg(one, 3.0)
    assert value.dtype == dtype and value.tolist() == [7.0625]
    assert [g.tolist() for g in grad] == [[3.0], [2.0]]
    out = (np.empty(1, dtype), (np.empty(1, dtype), np.empty(1, dtype)))
    vg(one, np.array([3.0], dtype=dtype), out=out)
    assert [out[0].tolist(), out[1][0].tolist(), out[1][1].tolist()] == [[7.0625], [3.0], [2.0]]
    assert vg(np.array([[2.0]]), np.array([3.0]))[0].tolist() == [[7.0625]]
