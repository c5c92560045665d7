"""Compile latency and call overhead: codegen speed, cached reload, single-point calls.

Usage: python benchmarks/bench_compile.py [--ops 100,1000,10000,100000] [--repeat 5]
                                          [--reloads 5] [--calls 100000] [--json out.json]
       python benchmarks/bench_compile.py --quick     # smoke run: 100 and 1000 ops, few calls

(a) codegen   parse -> IR -> reverse mode -> `.source` of value_and_grad, no Numba, for a sum of
              `sin(c_k*x + y)*z` terms with distinct constants c_k (5 ops a term; ops counted
              from the IR); median ms, us per op, and the largest/smallest per-op ratio
              (targets: <= 5 ms at 100 ops, linear up to 1e5 ops)
(b) reload    fresh subprocesses: `import adcompile`, then compile(C1) -> value_and_grad ->
              first result; once with a new cache directory (cold), then --reloads times on
              the same directory (warm; target: <= 0.3 s after the import)
(c) calls     median us per single-point call, C1 = 1/(1+exp(-(w0*x0+w1*x1+w2))) through the
              public API (`vg(0.7, 0.3, -1.3, 0.5, 0.2)`, `f(...)`), against hand-written
              `@numba.njit` scalar functions of the same math (target: vg <= 2 us)
"""

import argparse
import math
import shutil
import statistics
import sys
import tempfile
import time

import numba
from _common import machine_info, median_time, print_table, run_child, sizes, write_json

import adcompile as adc

C1 = "1/(1+exp(-(w0*x0+w1*x1+w2)))"
POINT = (0.7, 0.3, -1.3, 0.5, 0.2)  # w0, x0, w1, x1, w2

RELOAD_CHILD = """
import json, sys, time
spec = json.loads(sys.stdin.read())
t0 = time.perf_counter()
import adcompile as adc
t1 = time.perf_counter()
numba_at_import = "numba" in sys.modules  # if not, the first call pays for importing it
f = adc.compile(spec["text"])
vg = f.value_and_grad()
t2 = time.perf_counter()
value, grad = vg(*spec["point"])
t3 = time.perf_counter()
out = {"import_s": t1 - t0, "first_s": t3 - t1, "build_s": t2 - t1, "call_s": t3 - t2}
out.update(numba_imported_by_import=numba_at_import, backend=vg.backend, tier=vg.tier)
print(json.dumps({**out, "value": value}))
"""


# ---- (a) codegen latency
def sum_formula(terms):
    """A sum of `sin(c*x + y)*z` terms with distinct constants (no hash-consing across terms)."""
    return " + ".join(f"sin({1 + k * 1e-4!r}*x + y)*z" for k in range(terms))


def count_ops(formula):
    """Operations in the formula's IR (inputs and constants not counted)."""
    lines = adc.compile(formula).value.ir.splitlines()
    return sum(1 for ln in lines if "=" in ln and ln.split("=", 1)[1].split()[0] not in LEAVES)


LEAVES = ("input", "const")


def codegen_once(formula):
    """Seconds for compile(), value_and_grad() (reverse mode, kernel) and .source."""
    t0 = time.perf_counter()
    f = adc.compile(formula)
    t1 = time.perf_counter()
    vg = f.value_and_grad()
    t2 = time.perf_counter()
    _ = vg.source
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


def codegen(target_ops, repeat):
    formula = sum_formula(max(1, round(target_ops / 5)))
    ops = count_ops(formula)
    runs = [
        codegen_once(formula) for _ in range(repeat if target_ops < 1e5 else max(1, repeat // 2))
    ]
    parse, grad, source = (statistics.median(r[k] for r in runs) for k in range(3))
    total = statistics.median(sum(r) for r in runs)
    return {"ops": ops, "parse_s": parse, "grad_s": grad, "source_s": source, "total_s": total}


def report_codegen(rows):
    print("(a) codegen without Numba: parse -> IR -> reverse -> .source (median ms)")
    print("    targets: <= 5 ms at 100 ops; per-op time flat (linear) up to 1e5 ops")
    table = [
        [
            str(r["ops"]),
            f"{1e3 * r['parse_s']:.2f}",
            f"{1e3 * r['grad_s']:.2f}",
            f"{1e3 * r['source_s']:.2f}",
            f"{1e3 * r['total_s']:.2f}",
            f"{1e6 * r['total_s'] / r['ops']:.1f}",
        ]
        for r in rows
    ]
    print_table(["ops", "parse", "reverse+kernel", "source", "total ms", "us/op"], table)


# ---- (b) cached reload
def reload(n_warm, timeout):
    cache = tempfile.mkdtemp(prefix="adc-bench-reload-")
    spec = {"text": C1, "point": list(POINT)}
    try:
        cold = run_child(RELOAD_CHILD, spec, cache, timeout)
        warm = [run_child(RELOAD_CHILD, spec, cache, timeout) for _ in range(n_warm)]
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    ok = [w for w in warm if w["status"] == "ok"]
    res = {"cold": cold, "warm": warm}
    for key in ("import_s", "first_s", "build_s", "call_s"):
        res[f"warm_median_{key}"] = statistics.median(w[key] for w in ok) if ok else None
    return res


def report_reload(res):
    print("(b) cached reload of C1 in a fresh process (s; first = compile() to first result,")
    print("    import excluded; target: warm first <= 0.3 s)")
    rows = []
    for label, runs in (("cold", [res["cold"]]), ("warm", res["warm"])):
        for k, r in enumerate(runs):
            if r["status"] != "ok":
                rows.append([f"{label} {k + 1}", r["status"], "-", "-", "-", "-"])
                continue
            cells = [f"{r[key]:.3f}" for key in ("import_s", "first_s", "build_s", "call_s")]
            rows.append([f"{label} {k + 1}", *cells, str(r["numba_imported_by_import"])])
    head = ["run", "import", "first", "compile+vg()", "1st call", "numba at import"]
    print_table(head, rows)
    if res["warm_median_first_s"] is not None:
        med_first, med_import = res["warm_median_first_s"], res["warm_median_import_s"]
        print(f"    warm median: import {med_import:.3f} s, first result {med_first:.3f} s")


# ---- (c) single-point call overhead
@numba.njit(error_model="numpy")
def c1_hand_vg(w0, x0, w1, x1, w2):
    s = 1.0 / (1.0 + math.exp(-(w0 * x0 + w1 * x1 + w2)))
    d = s * (1.0 - s)
    return s, d * x0, d * w0, d * x1, d * w1, d


@numba.njit(error_model="numpy")
def c1_hand_value(w0, x0, w1, x1, w2):
    return 1.0 / (1.0 + math.exp(-(w0 * x0 + w1 * x1 + w2)))


def per_call(fn, calls, batches):
    """Median seconds per call of fn(*POINT) over `batches` loops of calls/batches calls."""
    a, b, c, d, e = POINT
    size = max(1, calls // batches)

    def loop():
        for _ in range(size):
            fn(a, b, c, d, e)

    fn(a, b, c, d, e)  # warm-up (JIT compile or cache load)
    return median_time(loop, batches) / size


def flatten(result):
    """(value, Grad) or a flat tuple -> a flat list of floats."""
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], tuple):
        return [result[0], *result[1]]
    return list(result) if isinstance(result, tuple) else [result]


def call_overhead(calls, batches):
    f = adc.compile(C1)
    vg, value = f.value_and_grad().wait(), f.value.wait()  # the compiled tiers
    contenders = {
        "adcompile vg(...)": vg,
        "adcompile f(...)": f,
        "adcompile f.value(...)": value,
        "hand njit value+grad": c1_hand_vg,
        "hand njit value": c1_hand_value,
    }
    want_vg, want_v = flatten(vg(*POINT)), flatten(f(*POINT))
    bad = []
    for name, fn in contenders.items():
        got, want = flatten(fn(*POINT)), want_vg if "grad" in name or "vg" in name else want_v
        if len(got) != len(want) or any(abs(g - w) > 1e-12 * abs(w) for g, w in zip(got, want)):
            bad.append(name)
            print(f"!!! MISMATCH {name}: {got} vs adcompile {want}", file=sys.stderr)
    us = {name: 1e6 * per_call(fn, calls, batches) for name, fn in contenders.items()}
    return {"us_per_call": us, "mismatch": bad, "calls": calls, "backend": vg.backend}


def report_calls(res):
    print(f"(c) single-point call of C1, median us per call ({res['calls']} calls each;")
    print("    target: adcompile vg <= 2 us)")
    us = res["us_per_call"]
    floor = {"grad": us["hand njit value+grad"], "value": us["hand njit value"]}
    rows = []
    for name, t in us.items():
        ref = floor["grad"] if "grad" in name or "vg" in name else floor["value"]
        rows.append([name, f"{t:.3f}", f"{t / ref:.2f}"])
    print_table(["callable", "us/call", "vs hand njit"], rows)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", type=sizes, default=[100, 1000, 10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=5, help="codegen repeats (fewer at 1e5)")
    ap.add_argument("--reloads", type=int, default=5, help="warm-cache subprocesses")
    ap.add_argument("--calls", type=int, default=100_000, help="single-point calls each")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per subprocess")
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--quick", action="store_true", help="smoke run: 100 and 1000 ops")
    args = ap.parse_args(argv)
    if args.quick:
        args.ops, args.repeat, args.reloads, args.calls = [100, 1000], 2, 1, 4000
    return args


def main(argv=None):
    args = parse_args(argv)
    codegen_once("x")  # the parser is built once per process: not part of the timings
    rows = [codegen(n, args.repeat) for n in args.ops]
    per_op = [r["total_s"] / r["ops"] for r in rows]
    ratio = max(per_op) / min(per_op)
    report_codegen(rows)
    print(f"    per-op time, largest/smallest: {ratio:.2f} (1.0 = exactly linear)\n")
    rel = reload(args.reloads, args.timeout)
    report_reload(rel)
    print()
    calls = call_overhead(args.calls, 10 if args.calls >= 10_000 else 2)
    report_calls(calls)
    if args.json:
        doc = {"codegen": rows, "codegen_per_op_ratio": ratio, "reload": rel, "calls": calls}
        write_json(args.json, {**doc, "machine": machine_info()})
    return 1 if calls["mismatch"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
