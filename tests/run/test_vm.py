"""The block interpreter (run.vm) against the NumPy interpreter, the acceptance corpus,
the Numba printer's kernels and hand-computed references."""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pytest
from conftest import load_acceptance
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import INPUTS, formulas

import adcompile as adc
from adcompile.ad.reverse import reverse
from adcompile.front.parse import parse
from adcompile.ir.graph import NodeId
from adcompile.ir.ops import CORE_OPS, OPS, SCALAR_OPS
from adcompile.run import jit, vm
from adcompile.run.interpret import Plan


def build(
    text: str, inputs: Sequence[str] | None = None, grad: bool = True
) -> tuple[vm.Machine, Plan]:
    """VM and NumPy interpreter of the value (and gradient w.r.t. every input) of `text`,
    built the way api.Evaluator builds its graph."""
    program = parse(text, tuple(inputs) if inputs is not None else None)
    graph = program.graph.copy()
    outputs: list[NodeId | None] = list(program.outputs)
    if grad:
        outputs += reverse(graph, program.outputs[0], program.input_ids)
    return (
        vm.Machine(graph, program.input_ids, outputs),
        Plan(graph, program.input_ids, outputs),
    )


def by_plan(plan: Plan, n: int, ins: Sequence[Any]) -> np.ndarray:
    """The NumPy interpreter's outputs as an (outputs, n) float64 array."""
    widened = [np.asarray(a, dtype=np.float64) for a in ins]
    with np.errstate(all="ignore"):
        results = plan(*widened)
    return np.array([np.broadcast_to(np.asarray(r, dtype=np.float64), (n,)) for r in results])


def by_vm(machine: vm.Machine, n: int, ins: Sequence[Any], dtype: Any = np.float64) -> np.ndarray:
    out = np.full((machine.n_outputs, n), -12345.0, dtype=dtype)
    machine.batch(n, ins, list(out))
    return out


def assert_close(got: np.ndarray, want: np.ndarray, rtol: float = 1e-12) -> None:
    """Equal up to rtol, NaN where NaN, infinities equal. Both sides compute the same
    float64 ops, but math (VM) and NumPy (interpreter) may differ by an ulp in a
    transcendental function, so a small absolute slack is scaled by each output's size
    (for results that come from a cancellation)."""
    got, want = np.atleast_2d(got), np.atleast_2d(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    finite = np.where(np.isfinite(want), np.abs(want), 0.0)
    atol = 1e-13 * np.maximum(finite.max(axis=1, keepdims=True, initial=0.0), 1.0)
    with np.errstate(invalid="ignore"):
        ok = (got == want) | (np.isnan(got) & np.isnan(want))
        ok |= np.abs(got - want) <= atol + rtol * np.abs(want)
    bad = np.argwhere(~ok)
    assert not bad.size, "\n".join(
        f"output {j} point {i}: got {got[j, i]!r}, want {want[j, i]!r}" for j, i in bad[:10]
    )


# --- the op table is covered by construction --------------------------------------------------


def test_every_op_has_an_opcode_and_a_branch_in_the_vm_source() -> None:
    vm.check_tables()
    source = vm.vm_source()
    for name, code in vm.OPCODES.items():
        assert f"op == {code}:  # {name}\n" in source, name
    assert set(SCALAR_OPS) <= set(vm.OPCODES)
    assert [vm.OPCODES[n] for n in vm.OPCODES] == list(range(len(vm.OPCODES)))


def test_a_missing_template_fails_the_table_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(OPS, "sin", replace(OPS["sin"], python=""))
    monkeypatch.setitem(SCALAR_OPS, "sin", OPS["sin"])  # the VM's table: the scalar ops
    vm.vm_source.cache_clear()
    try:
        with pytest.raises(AssertionError, match="sin"):
            vm.check_tables()
        with pytest.raises(AssertionError, match="sin"):
            vm.vm_source()
    finally:
        vm.vm_source.cache_clear()


def test_vm_source_is_deterministic_and_printed_from_the_templates() -> None:
    first = vm.vm_source()
    vm.vm_source.cache_clear()
    assert vm.vm_source() == first
    assert "math.erfc(a)" in first  # an op on the shared loop
    assert "o[i] = math.sin(x[i])" in first  # an op with a loop of its own


# --- encoding ---------------------------------------------------------------------------------


def chain(depth: int) -> str:
    return "\n".join(f"x{k} = sin(x{k - 1})*y + 0.5*x{k - 1}" for k in range(1, depth + 1))


def chain_reference(x: float, y: float, depth: int) -> tuple[float, float, float]:
    """Value and d/dx0, d/dy of `chain(depth)` by forward mode in plain Python."""
    v, dx, dy = x, 1.0, 0.0
    for _ in range(depth):
        s, c = math.sin(v), math.cos(v)
        v, dx, dy = s * y + 0.5 * v, (c * y + 0.5) * dx, (c * y + 0.5) * dy + s
    return v, dx, dy


def test_registers_are_reused_along_a_chain() -> None:
    machine, _ = build(chain(200), grad=False)
    assert machine.program.registers <= 6
    assert len(machine.program.code) >= 4 * 200


def test_destination_never_overlaps_an_argument() -> None:
    machine, _ = build(chain(50))
    code = machine.program.code
    ops = code[:, 0] >= 2  # not a load
    assert not np.any(ops[:, None] & (code[:, 2:] == code[:, 1:2]) & _register_args(code))


def _register_args(code: np.ndarray) -> np.ndarray:
    """Which of arg0..arg2 of each row are registers (by the op's arity)."""
    names = list(vm.OPCODES)
    arity = np.array([OPS[n].arity if n in OPS else 0 for n in names])
    mask = np.arange(3)[None, :] < arity[code[:, 0]][:, None]
    imm = code[:, 0] == vm.OPCODES["pow:imm"]
    mask[imm, 1:] = False
    return mask


def test_outputs_that_are_inputs_constants_or_none() -> None:
    program = parse("x + y")
    graph = program.graph
    x, y = program.input_ids
    two = graph.const(2.0)
    machine = vm.Machine(graph, [x, y], [None, x, two, program.outputs[0], None, y])
    assert machine.scalar(3.0, 4.0) == (0.0, 3.0, 2.0, 7.0, 0.0, 4.0)
    out = by_vm(machine, 3, [np.array([1.0, 2.0, 3.0]), 10.0])
    np.testing.assert_array_equal(out[3], [11.0, 12.0, 13.0])
    np.testing.assert_array_equal(out[0], 0.0)
    assert vm.Machine(graph, [x, y], []).scalar(1.0, 2.0) == ()


def test_an_input_node_missing_from_inputs_is_an_error() -> None:
    program = parse("x + y")
    with pytest.raises(ValueError, match="not in `inputs`"):
        vm.Machine(program.graph, program.input_ids[:1], program.outputs)


@pytest.mark.parametrize("k", [2, 3, 4, 5, 7, 8, 13, 31, 64])  # x^0, x^1: simplified away
def test_whole_powers_multiply_like_numba(k: int) -> None:
    machine, _ = build(f"x^{k}", grad=False)
    assert vm.OPCODES["pow:imm"] in machine.program.code[:, 0]
    xs = np.array([0.0, -0.0, 1.0, -1.0, 0.7, -1.3, 1.0001, 3.5, np.inf, -np.inf, np.nan])
    want = []
    for x in xs.tolist():  # Numba's integer power: r = 1; per bit from the lowest: r *= a; a *= a
        r, a, e = 1.0, x, k
        while e:
            if e & 1:
                r *= a
            e >>= 1
            a *= a
        want.append(r)
    np.testing.assert_array_equal(by_vm(machine, len(xs), [xs])[0], want)


@pytest.mark.parametrize("text", ["x^65", "x^-1", "x^2.5", "2^x"])
def test_other_powers_use_the_general_pow(text: str) -> None:
    machine, plan = build(text, grad=False)
    assert vm.OPCODES["pow:imm"] not in machine.program.code[:, 0]
    xs = np.linspace(0.1, 2.0, 7)
    assert_close(by_vm(machine, 7, [xs]), by_plan(plan, 7, [xs]))


# --- random formulas: VM == the NumPy interpreter ---------------------------------------------

SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, 2.0, -2.0])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=formulas(smooth=False),
    seed=st.integers(0, 2**32 - 1),
    grad=st.booleans(),
    kinds=st.lists(st.sampled_from(["f64", "f32", "scalar"]), min_size=3, max_size=3),
    n=st.sampled_from([1, 7, 64, 513, 3000]),
)
def test_vm_matches_numpy_interpreter(
    text: str, seed: int, grad: bool, kinds: list[str], n: int
) -> None:
    machine, plan = build(text, INPUTS, grad)
    rng = np.random.default_rng(seed)
    ins: list[Any] = []
    for kind in kinds:
        column = rng.uniform(-2.5, 2.5, n)
        column[: min(n, len(SPECIAL))] = SPECIAL[: min(n, len(SPECIAL))]
        if kind == "scalar":
            ins.append(float(rng.choice(SPECIAL)) if rng.integers(2) else float(column[-1]))
        else:
            ins.append(column.astype(np.float32 if kind == "f32" else np.float64))
    want = by_plan(plan, n, ins)
    assert_close(by_vm(machine, n, ins), want)
    # the scalar path, at a few points
    for i in {0, n // 2, n - 1}:
        point = [float(a) if isinstance(a, float) else float(a[i]) for a in ins]
        assert_close(np.array(machine.scalar(*point)), want[:, i])
    # float32 outputs: the float64 results rounded once
    got32 = by_vm(machine, n, ins, np.float32)
    with np.errstate(over="ignore"):
        want32 = by_vm(machine, n, ins).astype(np.float32)
    np.testing.assert_array_equal(got32, want32)


def test_vm_matches_the_numba_kernel_bit_for_bit() -> None:
    """Every op in one formula: the VM and the specialised Numba kernel run the same
    templates, so they agree exactly (one Numba compile, a few seconds)."""
    ops_used = (
        "a = x*y - x/y + (-x) + (1 + x*x)^y + x^3 + 2^x"
        "\nb = (x < y) + (x <= y) + (x > y) + (x >= y)"
        "\nc = (x == y) + (x != y) + (x and y) + (x or y) + (not x) + where(x > 0, y, x)"
        "\nd = sin(x) + cos(x) + tan(x) + asin(y/9) + acos(y/9) + atan(x) + atan2(x, y)"
        "\ne = sinh(y) + cosh(x) + tanh(x) + asinh(x) + acosh(2 + y*y) + atanh(y/9)"
        "\nf = exp(x) + expm1(y) + log(y) + log1p(y) + log2(y) + log10(y) + sqrt(y) + cbrt(x)"
        "\ng = erf(x) + erfc(y) + hypot(x, y) + sigmoid(x) + softplus(y) + abs(x) + relu(x)"
        "\nh = min(x, y) + max(x, y) + sign(x) + floor(x) + ceil(y) + stop_gradient(x*y)"
        " + logaddexp(x, y) + logaddexp2(x, y)"
        " + gamma(y) + lgamma(x) + digamma(x) + polygamma(2, y)"
        "\n(a + b + c + d) * (e + f + g + h)"
    )
    machine, _ = build(ops_used)
    used = {list(vm.OPCODES)[c] for c in machine.program.code[:, 0]}
    # mul0 guards zero seeds; sigmoid2_slope is logaddexp2'' (tests/test_derivatives_exact.py
    # runs it on the VM): neither is in a value and gradient of text
    core = set(CORE_OPS)  # the function library: test_library_on_every_tier below
    assert core - used <= {"mul0", "sigmoid2_slope"}, core - used
    f = adc.compile(ops_used, backend="numba").value_and_grad()
    rng = np.random.default_rng(7)
    xs, ys = rng.uniform(-3, 3, 300), rng.uniform(0.1, 5, 300)
    xs[:4], ys[:4] = [0.0, -0.0, 1.0, -1.0], [1.0, 0.5, 1.0, 2.0]
    value, grad = f(xs, ys)
    want = np.array([value, *grad])
    np.testing.assert_array_equal(by_vm(machine, 300, [xs, ys]), want)
    for i in range(5):
        np.testing.assert_array_equal(machine.scalar(xs[i], ys[i]), want[:, i])


# --- the acceptance corpus --------------------------------------------------------------------

CASES = load_acceptance("cases.json")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_acceptance_case(case: dict[str, Any]) -> None:
    machine, _ = build(case["source"], case["inputs"])
    points = case["points"]
    n = len(points)
    columns = [np.array([p[name] for p in points]) for name in case["inputs"]]
    batch = by_vm(machine, n, columns)
    for k, point in enumerate(points):
        want = [case["value"][k], *(case["grad"][k][name] for name in case["inputs"])]
        scalar = machine.scalar(*(point[name] for name in case["inputs"]))
        for what, got in (("scalar", scalar), ("batch", batch[:, k].tolist())):
            for j, (g, w) in enumerate(zip(got, want, strict=True)):
                allowed = case["atol"] + case["tolerance"] * abs(w)
                assert math.isfinite(g) and abs(g - w) <= allowed, (
                    f"{case['id']} point {k} output {j} ({what}): got {g!r}, want {w!r}"
                )


# --- deep and long programs -------------------------------------------------------------------


@contextlib.contextmanager
def recursion_limit(limit: int) -> Iterator[None]:
    """Allow only `limit` more frames than the current depth (as in test_ir)."""
    old = sys.getrecursionlimit()
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back  # type: ignore[assignment]
    sys.setrecursionlimit(depth + limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def test_deep_chain_gradient() -> None:
    depth = 10_000
    with recursion_limit(150):
        machine, plan = build(chain(depth))
    program = machine.program
    assert program.registers < 3 * depth  # the forward values the reverse sweep reads
    xs, ys = np.array([0.3, -0.7, 1.1]), np.array([0.9, 1.2, 0.5])
    want = by_plan(plan, 3, [xs, ys])
    assert_close(by_vm(machine, 3, [xs, ys]), want)
    value, dx, dy = machine.scalar(0.3, 0.9)
    ref = chain_reference(0.3, 0.9, depth)
    np.testing.assert_allclose([value, dx, dy], ref, rtol=1e-9, atol=1e-12)
    assert_close(np.array([value, dx, dy]), want[:, 0])


# --- batches: sums, sizes, threads, dtypes --------------------------------------------------


@pytest.fixture(scope="module")
def neuron() -> tuple[vm.Machine, Plan]:
    return build("log1p(exp(-(w0*x0 + w1*x1 + b))) + 0.1*(w0^2 + w1^2)")


def _inputs(n: int, seed: int = 0) -> list[Any]:
    rng = np.random.default_rng(seed)
    return [0.5, rng.normal(size=n), -0.25, rng.normal(size=n).astype(np.float32), 0.1]


@pytest.mark.parametrize("n", [0, 1, 7, 511, 513, 4 * 512 + 3, 20_001])
def test_reduce_sum_is_the_sum_of_the_batch(neuron: tuple[vm.Machine, Plan], n: int) -> None:
    machine, plan = neuron
    ins = _inputs(n)
    sums = machine.reduce_sum(n, ins)
    assert len(sums) == machine.n_outputs and all(type(s) is float for s in sums)
    batch = by_vm(machine, n, ins)
    np.testing.assert_allclose(sums, batch.sum(axis=1), rtol=1e-12, atol=1e-300)
    if n:
        assert_close(batch, by_plan(plan, n, ins))
    else:
        assert sums == (0.0,) * machine.n_outputs


def test_results_do_not_depend_on_the_thread_count(neuron: tuple[vm.Machine, Plan]) -> None:
    machine, _ = neuron
    n = 50_001
    ins = _inputs(n, 3)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = by_vm(machine, n, ins)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = by_vm(machine, n, ins)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, many)


def test_float32_outputs_and_strided_inputs(neuron: tuple[vm.Machine, Plan]) -> None:
    machine, plan = neuron
    n = 1000
    rng = np.random.default_rng(1)
    wide = rng.normal(size=(2, 2 * n))
    ins: list[Any] = [0.5, wide[0, ::2], -0.25, wide[1, ::2], 0.1]  # not contiguous
    want = by_plan(plan, n, ins)
    assert_close(by_vm(machine, n, ins), want)
    got = by_vm(machine, n, ins, np.float32)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want.astype(np.float32))


def test_bad_arguments(neuron: tuple[vm.Machine, Plan]) -> None:
    machine, _ = neuron
    n = 4
    good = [np.empty(n) for _ in range(machine.n_outputs)]
    with pytest.raises(ValueError, match="inputs"):
        machine.batch(n, [1.0], good)
    with pytest.raises(ValueError, match="shape"):
        machine.batch(n, [1.0, np.ones(3), 1.0, np.ones(4), 1.0], good)
    with pytest.raises(ValueError, match="output arrays"):
        machine.batch(n, _inputs(n), good[:-1])
    with pytest.raises(TypeError, match="float64 or all float32"):
        machine.batch(n, _inputs(n), [*good[:-1], np.empty(n, np.float32)])
    with pytest.raises(ValueError, match="contiguous"):
        machine.batch(n, _inputs(n), [*good[:-1], np.empty(2 * n)[::2]])
    with pytest.raises(ValueError, match=">= 0"):
        machine.reduce_sum(-1, _inputs(0))
    with pytest.raises(TypeError, match="input values"):
        machine.scalar(1.0)


def test_threads_share_a_machine(neuron: tuple[vm.Machine, Plan]) -> None:
    machine, plan = neuron
    n = 5000

    def work(seed: int) -> bool:
        ins = _inputs(n, seed)
        want = by_plan(plan, n, ins)
        for _ in range(5):
            assert_close(by_vm(machine, n, ins), want)
            assert_close(np.array(machine.reduce_sum(n, ins)), want.sum(axis=1), 1e-11)
            point = [float(a) if isinstance(a, float) else float(a[1]) for a in ins]
            assert_close(np.array(machine.scalar(*point)), want[:, 1])
        return True

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(work, range(8)))


def test_a_new_process_loads_the_vm_from_the_disk_cache(tmp_path: Path) -> None:
    """The VM compiled by this process (in this session's cache), copied with its Numba
    cache files to a directory of its own (no test of another worker writes there), is
    loaded by a new process without compiling."""
    vm.load()
    name = jit.module_name(vm.vm_source())
    shared = jit.cache_dir()
    (tmp_path / "__pycache__").mkdir()
    shutil.copy2(shared / f"{name}.py", tmp_path)  # copy2: Numba checks the source's mtime
    for path in (shared / "__pycache__").glob(f"{name}.*"):
        shutil.copy2(path, tmp_path / "__pycache__")
    before = {(p.name, p.stat().st_mtime_ns) for p in tmp_path.rglob("*.nb[ic]")}
    assert {p.split(".")[1].split("-")[0] for p, _ in before} == {
        "run_block",
        "run_chunk",
        "run_batch",
        "_digamma",  # the special-function helpers the instruction loops call
        "_polygamma",
        "_lambertw",  # the function library's (ir/library_integrals.py)
        "_sinhalfpisq",
    }
    code = (
        "from adcompile.run import vm\n"
        "from adcompile.front.parse import parse\n"
        "p = parse('x*y + sin(x)')\n"
        "print(vm.Machine(p.graph, p.input_ids, p.outputs).scalar(2.0, 3.0)[0])\n"
    )
    env = {**os.environ, "ADCOMPILE_CACHE_DIR": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert float(run.stdout) == 2.0 * 3.0 + math.sin(2.0)
    after = {(p.name, p.stat().st_mtime_ns) for p in tmp_path.rglob("*.nb[ic]")}
    assert after == before, "the new process compiled the VM again"
