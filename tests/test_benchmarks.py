"""Smoke runs of the benchmark scripts (--quick): each runs end to end, every contender agrees,
and the JSON it writes has the expected keys. No timing assertions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # each runs a benchmark script in a fresh interpreter

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"


def run_quick(script: str, tmp_path: Path) -> dict[str, Any]:
    """Run `script --quick --json PATH` in a fresh interpreter; its JSON output."""
    out = tmp_path / "bench.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "MISMATCH" not in proc.stdout + proc.stderr
    data: dict[str, Any] = json.loads(out.read_text())
    assert {"machine"} <= data.keys()
    return data


def test_bench_eval_quick(tmp_path: Path) -> None:
    data = run_quick("bench_eval.py", tmp_path)
    assert {"sizes", "threads", "repeat", "copy_bandwidth_Bps", "runs", "speedup"} <= data.keys()
    assert [(r["n"], r["threads"]) for r in data["runs"]] == [
        (n, t) for n in data["sizes"] for t in data["threads"]
    ]
    for run in data["runs"]:
        assert set(run["cases"]) == {"C1", "C2", "C3", "C4", "C5"}
        for case in run["cases"].values():
            assert {"median_s", "first_call_s", "bytes", "mismatch", "missing"} <= case.keys()
            assert not case["mismatch"]
            assert {"adc fresh", "hand numba", "numpy", "sympy"} <= case["median_s"].keys()
    if len(data["threads"]) > 1:
        assert set(data["speedup"]) == {str(n) for n in data["sizes"]}


def test_bench_scaling_quick(tmp_path: Path) -> None:
    data = run_quick("bench_scaling.py", tmp_path)
    assert {"threads", "repeat", "members"} <= data.keys()
    members = data["members"]
    assert [(m["family"], m["size"]) for m in members] == [
        ("chain", 10),
        ("chain", 100),
        ("rosenbrock", 10),
    ]
    for m in members:
        assert {"form", "parse_s", "build_s", "cold", "warm", "eval"} <= m.keys()
        for run in (m["cold"], m["warm"]):
            assert run["status"] == "ok", run
            assert {"import_s", "first_s", "backend", "max_rel_err"} <= run.keys()
            assert run["correct"], run
        ev = m["eval"]
        assert {"n_points", "backend", "value_backend", "value_s", "value_and_grad_s"} <= ev.keys()
        assert {"ratio", "value_ns_per_point", "value_and_grad_ns_per_point"} <= ev.keys()


def test_bench_compile_quick(tmp_path: Path) -> None:
    data = run_quick("bench_compile.py", tmp_path)
    assert {"codegen", "codegen_per_op_ratio", "reload", "calls"} <= data.keys()
    assert len(data["codegen"]) == 2
    for row in data["codegen"]:
        assert {"ops", "parse_s", "grad_s", "source_s", "total_s"} <= row.keys()
    reload = data["reload"]
    assert reload["cold"]["status"] == "ok", reload["cold"]
    assert all(w["status"] == "ok" for w in reload["warm"]), reload["warm"]
    assert reload["warm_median_first_s"] is not None
    calls = data["calls"]
    assert not calls["mismatch"]
    assert {"adcompile vg(...)", "adcompile f(...)", "hand njit value+grad"} <= set(
        calls["us_per_call"]
    )


@pytest.mark.parametrize("script", sorted(p.name for p in BENCHMARKS.glob("bench_*.py")))
def test_every_benchmark_has_a_smoke_test(script: str) -> None:
    assert f'"{script}"' in Path(__file__).read_text()


def test_bench_dask_quick(tmp_path: Path) -> None:
    data = run_quick("bench_dask.py", tmp_path)  # checks the sums against NumPy's itself
    times = data["times_s"]
    assert set(times) == {"in memory, 2 threads", "dask, 1 worker", "dask, 2 workers"}
    assert all(t > 0 for t in times.values()) and data["overhead_per_chunk_s"] is not None


def test_bench_frontend_quick(tmp_path: Path) -> None:
    data = run_quick("bench_frontend.py", tmp_path)
    assert [r["n"] for r in data["runs"]] == [500, 1000]
    for run in data["runs"]:
        assert run["compile_s"] > 0 and run["evaluator_s"] > 0


def test_bench_formulas_quick(tmp_path: Path) -> None:
    data = run_quick("bench_formulas.py", tmp_path)
    assert {"n_formulas", "points", "formulas", "tools", "missing", "rtol", "runs"} <= data.keys()
    assert data["n_formulas"] == len(data["formulas"]) > 0
    assert {"adc", "adc-wait", "adc-numba", "sympy"} <= set(data["tools"])
    runs = {(r["tool"], r["cache"]): r for r in data["runs"]}
    assert {("adc", "cold"), ("adc", "warm"), ("sympy", "cold")} <= runs.keys()
    for run in data["runs"]:
        assert run["status"] == "ok", run
        assert run["n_ok"] == data["n_formulas"], run["errors"]
        assert not run["mismatch"] and not run["errors"]
        assert run["max_rel_err"] <= data["rtol"]
        assert {"formulas_per_s", "median_ms", "p90_ms", "import_s", "process_s"} <= run.keys()
        assert {"tier_counts", "steady_median_us", "steady_p90_us"} <= run.keys()
        assert sum(run["tier_counts"].values()) == data["n_formulas"]
    assert runs[("adc", "cold")]["steady_median_us"] is not None


def test_bench_memory_quick(tmp_path: Path) -> None:
    data = run_quick("bench_memory.py", tmp_path)
    assert {"points", "sizes", "modes", "runs"} <= data.keys()
    assert [(r["mode"], r["cache"]) for r in data["runs"]] == [
        (m, c) for m in ("instant", "compiled") for c in ("cold", "warm")
    ]
    for run in data["runs"]:
        assert run["status"] == "ok", run
        assert run["n"] == data["sizes"][run["mode"]]
        assert {"rss_before", "rss_after", "bytes_per_formula", "formulas_per_s"} <= run.keys()
        assert {"target_bytes_per_formula", "meets_target", "worker_rss_max"} <= run.keys()
        assert run["rss_before"] > 0 and run["rss_after"] > 0
        assert sum(run["tiers"].values()) == run["n"]


def test_bench_vectors_quick(tmp_path: Path) -> None:
    data = run_quick("bench_vectors.py", tmp_path)
    assert {"sizes", "families", "members", "compile_scaling"} <= data.keys()
    assert [(m["family"], m["n"]) for m in data["members"]] == [
        (f, n) for f in data["families"] for n in data["sizes"]
    ]
    for m in data["members"]:
        assert not m["mismatch"], m["mismatch"]
        assert "interpreter" in m["tiers"] and "numpy" in m["peers"], m
        for row in m["tiers"].values():
            assert {"value_s", "value_and_grad_s", "ratio", "value_tier", "vg_tier"} <= row.keys()
    assert {r["shapes"] == "symbolic" for r in data["compile_scaling"]} == {True, False}
    for row in data["compile_scaling"]:
        assert {"n", "compile_s", "evaluator_s", "build_s", "first_call_s"} <= row.keys()
