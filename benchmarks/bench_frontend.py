"""Front-end scaling: building evaluators for formulas with many inputs (no Numba involved).

Usage: python benchmarks/bench_frontend.py [--inputs 5000,10000,20000] [--repeat 3] [--json PATH]
       python benchmarks/bench_frontend.py --chain [1e3,1e4,1e5]   # also the chain family
       python benchmarks/bench_frontend.py --quick     # smoke run: 500 and 1000 inputs,
                                                       # chains of 100 and 1000 steps

For n inputs, the formula `x0 + x1 + ... + x{n-1}`:
  compile     adcompile.compile(text): parse and IR
  evaluator   f.value_and_grad(): reverse mode, output names, kernel printing
Medians of --repeat runs, microseconds per input, and the growth from the smallest n to each
(linear: the per-input cost stays flat; quadratic: it grows with n). Target (issue 1): 20,000
inputs, evaluator built in <= 1 s.

--chain: the program of d steps `x{k+1} = sin(x{k})*y + 0.5*x{k}` ending in `x{d}` (4 ops a
step), on the NumPy interpreter backend: per op, the parse (compile), the value_and_grad()
build and the first call, in microseconds; peak traced memory (tracemalloc, a separate run)
per op while parsing and while building; and the first gradient's total (parse + build +
first call) against its target (issue 1: d = 1,000 <= 0.3 s, 10,000 <= 1.5 s, 100,000 <= 15 s;
the front end's own target: parse + IR + AD + schedule <= 20 us per op, <= 1 kB per op).
"""

import argparse
import gc
import math
import statistics
import sys
import time
import tracemalloc

from _common import machine_info, median_time, print_table, sizes, write_json

import adcompile as adc


def build(n, repeat):
    text = " + ".join(f"x{k}" for k in range(n))
    compile_s = median_time(lambda: adc.compile(text), repeat)
    f = adc.compile(text)
    grad = f.value_and_grad()
    _, g = grad(*[1.0] * n) if n <= 2000 else (None, [1.0] * n)  # a check on small sizes
    assert list(g) == [1.0] * n, "MISMATCH: gradient of a sum is not all ones"
    times = []
    for _ in range(repeat):
        fresh = adc.compile(text)  # evaluators are cached per formula: time a new one
        t0 = time.perf_counter()
        fresh.value_and_grad()
        times.append(time.perf_counter() - t0)
    evaluator_s = statistics.median(times)
    return {"n": n, "compile_s": compile_s, "evaluator_s": evaluator_s}


#: The first gradient (parse + value_and_grad() + first call) of a chain of d steps, seconds.
CHAIN_TARGET_S = {1000: 0.3, 10_000: 1.5, 100_000: 15.0}


def chain_text(d):
    lines = [f"x{k + 1} = sin(x{k})*y + 0.5*x{k}" for k in range(d)]
    return "\n".join([*lines, f"x{d}"])


def chain(d, repeat):
    """One size of the chain family: times (medians) and traced peaks, per op."""
    text = chain_text(d)
    parse_t, build_t, call_t = [], [], []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        f = adc.compile(text, backend="numpy")
        t1 = time.perf_counter()
        vg = f.value_and_grad()
        t2 = time.perf_counter()
        value, grad = vg(0.3, 0.7)
        t3 = time.perf_counter()
        parse_t.append(t1 - t0)
        build_t.append(t2 - t1)
        call_t.append(t3 - t2)
    assert abs(value - reference_chain(d, 0.3, 0.7)) <= 1e-9 * max(1.0, abs(value)), "MISMATCH"
    assert len(grad) == 2 and all(map(math.isfinite, grad)), "MISMATCH: gradient"
    ops = sum(1 for node in f._program.graph.nodes if node.args)
    del f, vg
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    f = adc.compile(text, backend="numpy")
    parse_peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    f.value_and_grad()
    build_peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    first = statistics.median(parse_t) + statistics.median(build_t) + statistics.median(call_t)
    return {
        "d": d,
        "ops": ops,
        "parse_s": statistics.median(parse_t),
        "build_s": statistics.median(build_t),
        "first_call_s": statistics.median(call_t),
        "first_gradient_s": first,
        "target_s": CHAIN_TARGET_S.get(d),
        "parse_us_per_op": 1e6 * statistics.median(parse_t) / ops,
        "build_us_per_op": 1e6 * statistics.median(build_t) / ops,
        "parse_peak_B_per_op": parse_peak / ops,
        "build_peak_B_per_op": build_peak / ops,
    }


def reference_chain(d, x, y):
    for _ in range(d):
        x = math.sin(x) * y + 0.5 * x
    return x


def print_chain(runs):
    rows = [
        [
            f"{r['d']:,}",
            f"{r['ops']:,}",
            f"{r['parse_us_per_op']:.2f}",
            f"{r['build_us_per_op']:.2f}",
            f"{r['parse_peak_B_per_op']:.0f}",
            f"{r['build_peak_B_per_op']:.0f}",
            f"{r['first_gradient_s']:.3f}",
            "-" if r["target_s"] is None else f"{r['target_s']:g}",
        ]
        for r in runs
    ]
    head = ["steps", "ops", "parse us/op", "vg us/op", "parse B/op", "vg B/op", "first grad s"]
    print_table([*head, "target s"], rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=sizes, default=[5000, 10000, 20000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--quick", action="store_true", help="smoke run: 500 and 1000 inputs")
    ap.add_argument(
        "--chain",
        type=sizes,
        nargs="?",
        const=[1000, 10_000, 100_000],
        metavar="STEPS",
        help="also the chain family, at these numbers of steps (default 1e3,1e4,1e5)",
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.inputs, args.repeat = [500, 1000], 1
        args.chain = [100, 1000]
    sys.setrecursionlimit(10_000)  # the compiler itself must not need it
    runs = [build(n, args.repeat) for n in args.inputs]
    base = runs[0]["evaluator_s"] / runs[0]["n"]
    rows = [
        [
            f"{r['n']:,}",
            f"{r['compile_s']:.3f}",
            f"{r['evaluator_s']:.3f}",
            f"{1e6 * r['evaluator_s'] / r['n']:.1f}",
            f"{r['evaluator_s'] / r['n'] / base:.2f}x",
        ]
        for r in runs
    ]
    head = ["inputs", "compile s", "evaluator s", "us/input", "per-input growth"]
    print_table(head, rows)
    doc = {"machine": machine_info(), "repeat": args.repeat, "runs": runs}
    if args.chain:
        doc["chain"] = [chain(d, args.repeat) for d in args.chain]
        print()
        print_chain(doc["chain"])
    if args.json:
        write_json(args.json, doc)
    return 0


if __name__ == "__main__":
    start = time.perf_counter()
    code = main()
    print(f"({time.perf_counter() - start:.1f} s)")
    raise SystemExit(code)
