"""Front-end scaling: building evaluators for formulas with many inputs (no Numba involved).

Usage: python benchmarks/bench_frontend.py [--inputs 5000,10000,20000] [--repeat 3] [--json PATH]
       python benchmarks/bench_frontend.py --quick     # smoke run: 500 and 1000 inputs

For n inputs, the formula `x0 + x1 + ... + x{n-1}`:
  compile     adcompile.compile(text): parse and IR
  evaluator   f.value_and_grad(): reverse mode, output names, kernel printing
Medians of --repeat runs, microseconds per input, and the growth from the smallest n to each
(linear: the per-input cost stays flat; quadratic: it grows with n). Target (issue 1): 20,000
inputs, evaluator built in <= 1 s.
"""

import argparse
import statistics
import sys
import time

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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=sizes, default=[5000, 10000, 20000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--quick", action="store_true", help="smoke run: 500 and 1000 inputs")
    args = ap.parse_args(argv)
    if args.quick:
        args.inputs, args.repeat = [500, 1000], 1
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
    if args.json:
        write_json(args.json, {"machine": machine_info(), "repeat": args.repeat, "runs": runs})
    return 0


if __name__ == "__main__":
    start = time.perf_counter()
    code = main()
    print(f"({time.perf_counter() - start:.1f} s)")
    raise SystemExit(code)
