"""Scaling families: build time, first result in a fresh process, evaluation time.

Usage: python benchmarks/bench_scaling.py [--depths 10,100,1000,10000] [--rosen 10,100,1000]
                                          [--repeat 5] [--threads 1] [--timeout 300]
                                          [--json out.json]
       python benchmarks/bench_scaling.py --quick    # smoke run: depths 10,100, n=10, tiny N

Families (backend="auto", what a user gets):
  chain       x1 = sin(x0)*y + 0.5*x0; x2 = sin(x1)*y + 0.5*x1; ... depth d, inputs x0, y
  rosenbrock  sum_i 100*(x_{i+1} - x_i^2)^2 + (1 - x_i)^2 over n inputs, written as one
              formula or as a program of assignments, whichever builds faster here
For each member:
  build       adcompile.compile + value_and_grad() + .source (parse, IR, AD, codegen; no Numba)
  first       fresh subprocess: from before compile() to the first gradient (one scalar point),
              import reported separately; "cold" with a new ADCOMPILE_CACHE_DIR, "warm" is a
              second subprocess on the same directory. The gradient is checked by hand.
  eval        value-only and value+gradient on N points (N grown until one call takes
              >= 0.1 s, memory permitting); medians, ns per point, and their ratio (target <= 3)
"""

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time

import numba
import numpy as np
from _common import machine_info, median_time, print_table, run_child, sizes, write_json

import adcompile as adc

CHILD = """
import json, sys, time
spec = json.loads(sys.stdin.read())
t0 = time.perf_counter()
import adcompile as adc
t1 = time.perf_counter()
numba_at_import = "numba" in sys.modules  # if not, the first call pays for importing it
f = adc.compile(spec["text"], backend=spec["backend"])
vg = f.value_and_grad()
value, grad = vg(*spec["point"])
t2 = time.perf_counter()
out = {"import_s": t1 - t0, "first_s": t2 - t1, "backend": vg.backend, "tier": vg.tier}
out["numba_imported_by_import"] = numba_at_import
print(json.dumps({**out, "value": value, "grad": list(grad)}))
"""
MEMORY_BUDGET = 2e9  # bytes of arrays one evaluation may hold (inputs + intermediates)


# ---- the families: text, a test point, and the exact value and gradient there
def chain_text(d):
    lines = [f"x{k + 1} = sin(x{k})*y + 0.5*x{k}" for k in range(d)]
    return "\n".join([*lines, f"x{d}"])


def chain_exact(point, d):
    """Value and gradient (d/dx0, d/dy) of the depth-d chain, by forward mode by hand."""
    x, y = point
    dx0, dy = 1.0, 0.0
    for _ in range(d):
        s, c = math.sin(x), math.cos(x)
        dx0, dy = (c * y + 0.5) * dx0, (c * y + 0.5) * dy + s
        x = s * y + 0.5 * x
    return x, [dx0, dy]


ROSEN_TERM = "(1 - x{0})^2 + 100*(x{1} - x{0}^2)^2"  # x0 first: inputs come out x0, x1, ...


def rosen_formula(n):
    return " + ".join(ROSEN_TERM.format(i, i + 1) for i in range(n - 1))


def rosen_program(n):
    lines = ["s0 = " + ROSEN_TERM.format(0, 1)]
    lines += [f"s{i} = s{i - 1} + " + ROSEN_TERM.format(i, i + 1) for i in range(1, n - 1)]
    return "\n".join([*lines, f"s{n - 2}"])


def rosen_point(n):
    return [round(math.sin(1.7 * i + 0.4), 6) for i in range(n)]


def rosen_exact(x):
    n = len(x)
    value = sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(n - 1))
    grad = [0.0] * n
    for i in range(n - 1):
        grad[i] += -400 * x[i] * (x[i + 1] - x[i] ** 2) - 2 * (1 - x[i])
        grad[i + 1] += 200 * (x[i + 1] - x[i] ** 2)
    return value, grad


# ---- measurements
def build(text):
    """Seconds for compile() alone and for compile + value_and_grad() + .source."""
    t0 = time.perf_counter()
    f = adc.compile(text)
    t1 = time.perf_counter()
    _ = f.value_and_grad().source
    return t1 - t0, time.perf_counter() - t0


def build_times(text, repeat):
    runs = [build(text) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def pick_rosen_form(n, repeat):
    """Build both Rosenbrock forms; the faster one (median build time) and all timings."""
    timed = {form: build_times(fn(n), repeat) for form, fn in ROSEN_FORMS.items()}
    best = min(timed, key=lambda form: timed[form][1])
    return best, {form: t[1] for form, t in timed.items()}


ROSEN_FORMS = {"formula": rosen_formula, "program": rosen_program}


def max_rel_err(got, want):
    return max(abs(g - w) / (1e-12 + abs(w)) for g, w in zip(got, want))


def first_result(text, point, exact, cache_dir, timeout):
    """Cold and warm first-result runs in fresh subprocesses sharing cache_dir."""
    spec = {"text": text, "point": point, "backend": "auto"}
    runs = {}
    for kind in ("cold", "warm"):
        if kind == "warm" and runs["cold"]["status"] != "ok":
            runs[kind] = {"status": f"skipped (cold run: {runs['cold']['status']})"}
            continue
        r = run_child(CHILD, spec, cache_dir, timeout)
        if r["status"] == "ok":
            value, grad = exact
            r["max_rel_err"] = max_rel_err([r.pop("value"), *r.pop("grad")], [value, *grad])
            r["correct"] = r["max_rel_err"] <= 1e-8
        runs[kind] = r
    return runs


def time_one(fn, args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def evaluation(text, make_args, repeat, target_s, max_n):
    """Value-only vs value+gradient on N points, N grown until one call takes >= target_s;
    with fresh outputs (a plain call) and into preallocated outputs (`out=`)."""
    f = adc.compile(text)
    value, vg = f.value.wait(), f.value_and_grad().wait()  # the compiled tiers
    # arrays live at once, roughly: inputs and outputs (Numba), or every intermediate (NumPy)
    inner = 1 + len(f.inputs) if vg.backend == "numba" else vg.source.count("\n")
    width = len(f.inputs) + inner
    cap = max(1, min(max_n, int(MEMORY_BUDGET / (8 * width))))
    n = min(cap, 100)
    while True:
        args = make_args(n)
        value(*args), vg(*args)  # warm-up: compiles the batch kernels on first use
        t = time_one(vg, args)
        if t >= target_s or n >= cap:
            break
        n = min(cap, max(2 * n, int(n * 2 * target_s / max(t, 1e-9))))
    res = {"n_points": n, "backend": vg.backend, "value_backend": value.backend}
    res.update(timed(value, vg, args, repeat, n, ""))
    block = np.empty((len(f.inputs) + 1, n))  # rows of one block (see bench_eval.out_buffers)
    out_v, out_vg = np.empty(n), (block[0], tuple(block[1:]))
    try:
        value(*args, out=out_v), vg(*args, out=out_vg)
    except TypeError as exc:  # an adcompile without out=
        res["out_error"] = repr(exc)
        return res
    fv, fvg = (lambda *a: value(*a, out=out_v)), (lambda *a: vg(*a, out=out_vg))
    res.update(timed(fv, fvg, args, repeat, n, "out_"))
    return res


def timed(value, vg, args, repeat, n, prefix):
    """Median times of value(*args) and vg(*args), per point, and their ratio."""
    tv = median_time(lambda: value(*args), repeat)
    tg = median_time(lambda: vg(*args), repeat)
    keys = ("value_s", "value_and_grad_s", "value_ns_per_point", "value_and_grad_ns_per_point")
    values = (tv, tg, 1e9 * tv / n, 1e9 * tg / n)
    return {prefix + "ratio": tg / tv, **{prefix + k: v for k, v in zip(keys, values)}}


def chain_args(rng):
    return lambda n: [rng.uniform(-1, 1, n), rng.uniform(0.5, 1, n)]


def rosen_args(rng, dim):
    return lambda n: [rng.uniform(-1.5, 1.5, n) for _ in range(dim)]


def member(family, size, args, tmp, rng):
    """Every measurement for one member of a family, as a dict."""
    repeat_build = args.repeat if size < 1000 else max(1, args.repeat // 2)
    res = {"family": family, "size": size}
    if family == "chain":
        text, point = chain_text(size), [0.3, 0.9]
        exact, make_args = chain_exact(point, size), chain_args(rng)
        res["form"] = "program"
    else:
        form, res["build_s_by_form"] = pick_rosen_form(size, repeat_build)
        text, point = ROSEN_FORMS[form](size), rosen_point(size)
        exact, make_args = rosen_exact(point), rosen_args(rng, size)
        res["form"] = form
    res["parse_s"], res["build_s"] = build_times(text, repeat_build)
    cache_dir = tempfile.mkdtemp(prefix=f"{family}{size}-", dir=tmp)
    res.update(first_result(text, point, exact, cache_dir, args.timeout))
    if res["cold"]["status"] != "ok":
        res["eval"] = {"status": "skipped: no first result"}
        return res
    os.environ["ADCOMPILE_CACHE_DIR"] = cache_dir  # reuse the kernels the children compiled
    res["eval"] = evaluation(text, make_args, args.repeat, args.target, args.max_n)
    res["eval"]["status"] = "ok"
    return res


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def first_cell(run):
    if run["status"] != "ok":
        return run["status"].split(" ")[0]
    return f"{run['first_s']:.2f}" + ("" if run["correct"] else " WRONG")


def report(results):
    head = ["family", "size", "form", "backend", "build ms", "import s", "1st cold s"]
    head += ["1st warm s", "N", "value ns/pt", "v+g ns/pt", "v+g/value", "out: value"]
    head += ["out: v+g", "out: ratio"]
    rows = []
    for r in results:
        ev, cold = r["eval"], r["cold"]
        ok = ev["status"] == "ok"
        backend = f"{ev['backend']}/{ev['value_backend']}" if ok else cold.get("backend", "-")
        rows.append(
            [
                r["family"],
                str(r["size"]),
                r["form"],
                backend,
                f"{1e3 * r['build_s']:.1f}",
                fmt(cold.get("import_s"), ".2f"),
                first_cell(cold),
                first_cell(r["warm"]),
                str(ev["n_points"]) if ok else "-",
                fmt(ev.get("value_ns_per_point"), ".0f"),
                fmt(ev.get("value_and_grad_ns_per_point"), ".0f"),
                fmt(ev.get("ratio"), ".2f"),
                fmt(ev.get("out_value_ns_per_point"), ".0f"),
                fmt(ev.get("out_value_and_grad_ns_per_point"), ".0f"),
                fmt(ev.get("out_ratio"), ".2f"),
            ]
        )
    print_table(head, rows)
    print("backend: value_and_grad/value evaluators; 1st: compile() to first gradient, fresh")
    print("process (cold: new cache dir; warm: same dir again), import excluded; ns/pt:")
    print("median per point, fresh outputs; out: the same into preallocated outputs (out=)")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depths", type=sizes, default=[10, 100, 1000, 10000])
    ap.add_argument("--rosen", type=sizes, default=[10, 100, 1000])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=300, help="seconds per subprocess")
    ap.add_argument("--target", type=float, default=0.1, help="min seconds per eval call")
    ap.add_argument("--max-n", type=int, default=10_000_000, help="max points per eval call")
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--quick", action="store_true", help="smoke run: depths 10,100, n=10")
    args = ap.parse_args(argv)
    if args.quick:
        args.depths, args.rosen, args.repeat = [10, 100], [10], 2
        args.target, args.max_n = 0.005, 2000
    return args


def main(argv=None):
    args = parse_args(argv)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    print(f"numba threads={numba.get_num_threads()}  repeat={args.repeat}  backend=auto")
    build("x")  # the parser is built once per process: not part of the timings
    rng = np.random.default_rng(0)
    tmp = tempfile.mkdtemp(prefix="adc-bench-scaling-")
    todo = [("chain", d) for d in args.depths] + [("rosenbrock", n) for n in args.rosen]
    results = []
    try:
        for family, size in todo:
            print(f"... {family} {size}", file=sys.stderr, flush=True)
            results.append(member(family, size, args, tmp, rng))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(results)
    if args.json:
        doc = {"threads": numba.get_num_threads(), "repeat": args.repeat, "members": results}
        write_json(args.json, {**doc, "machine": machine_info()})
    wrong = [r for r in results for k in ("cold", "warm") if r[k].get("correct") is False]
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
