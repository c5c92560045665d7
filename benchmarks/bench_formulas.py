"""Many formulas: from text to the first correct value + gradient, 120 physics formulas.

Usage: python benchmarks/bench_formulas.py [--tools adc,adc-wait,adc-numba,sympy,...]
                                           [--limit N] [--points 1000] [--repeat 30]
                                           [--timeout 1800] [--json out.json]
       python benchmarks/bench_formulas.py --quick   # smoke run: 6 formulas, SymPy + adcompile

The corpus is the Feynman Symbolic Regression Database (AI Feynman, Udrescu & Tegmark 2020:
the 100 Feynman equations and the 20 bonus equations, benchmarks/formulas/feynman.py), each
with its variables sampled uniformly from the database's ranges, --points (1,000) points.

Each tool runs the whole corpus in one fresh child process: the import of the tool is timed
separately ("import s"), then for every formula, the time from its text to the first value and
full gradient on the points (parse, differentiate, build, compile, call). adcompile runs with a
new, empty ADCOMPILE_CACHE_DIR ("cold"), then in a second child on the same directory ("warm").

Tools (optional ones are skipped when not installed):
  adc        adcompile default: adc.compile(text).value_and_grad(), first call (`vg.tier` of
             that first result is recorded: "interpreter" or "compiled")
  adc-wait   the same, then vg.wait() (the compiled tier in place) and a call on it
  adc-numba  adc.compile(text, backend="numba"), first call
  sympy      sympy.parse_expr, sympy.diff per variable, lambdify(cse=True) with NumPy
  symengine  the text evaluated on symengine symbols, diff, Lambdify(backend="llvm", cse=True)
  casadi     the text evaluated on SX symbols, casadi.gradient, casadi.Function(...).map(N)
  jax        the text evaluated with jax.numpy, jit(vmap(value_and_grad)), x64, first call
             (its XLA compile) included
Every result (cold and warm) is checked against SymPy's exact derivative evaluated with NumPy
at the same points: |tool - ref| <= 1e-9 (|ref| + 1e-3 max|ref|) per output (the floor
allows for cancellation, e.g. III.9.52 near omega = omega_0); a failure prints
MISMATCH, is recorded in the JSON and makes the exit status 1. After the first-result loop
the cold child times each formula's evaluator again (steady state, median of --repeat calls
after 3 warm-up calls) on the same points.
"""

import argparse
import importlib.util
import os
import shutil
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import sympy
from _common import machine_info, print_table, run_child, write_json
from formulas.feynman import CORPUS

import adcompile as adc

RTOL, FLOOR = 1e-9, 1e-3  # |tool - ref| <= RTOL * (|ref| + FLOOR * max|ref|), per output
QUICK = ("I.6.2a", "I.9.18", "I.26.2", "II.35.18", "III.9.52", "test_20")

# ---- the child: imports (timed), then first() per formula, then call() for the steady state
CHILD = r"""
import json, sys, time
spec = json.loads(sys.stdin.read())
sys.path.insert(0, spec["root"])  # the parent's adcompile, not one in the working directory
t0 = time.perf_counter()
@IMPORTS@
import_s = time.perf_counter() - t0
import numpy as np
@FUNCTIONS@
data = np.load(spec["points"])
jobs = [
    (item["text"], item["names"], [data[f"{k}_{j}"] for j in range(len(item["names"]))])
    for k, item in enumerate(spec["formulas"])
]
times, tiers, backends, errors, kept, outs = [], [], [], {}, [], {}
t_loop = time.perf_counter()
for k, (text, names, arrays) in enumerate(jobs):
    t = time.perf_counter()
    try:
        ev, (value, grads) = first(text, names, arrays)
    except Exception as e:
        times.append(None)
        kept.append(None)
        errors[str(k)] = f"{type(e).__name__}: {e}"[:300]
        continue
    times.append(time.perf_counter() - t)
    kept.append(ev)
    tiers.append(str(getattr(ev, "tier", "n/a")))
    backends.append(str(getattr(ev, "backend", "n/a")))
    outs[f"{k}_v"] = np.asarray(value, dtype=np.float64)
    for j, g in enumerate(grads):
        outs[f"{k}_g{j}"] = np.asarray(g, dtype=np.float64)
loop_s = time.perf_counter() - t_loop
np.savez(spec["out"], **outs)
steady, steady_tiers = [], []
for ev, (text, names, arrays) in zip(kept, jobs):
    if ev is None or not spec["repeat"]:
        continue
    for _ in range(3):
        call(ev, arrays)
    ts = []
    for _ in range(spec["repeat"]):
        t = time.perf_counter()
        call(ev, arrays)
        ts.append(time.perf_counter() - t)
    steady.append(sorted(ts)[len(ts) // 2])
    steady_tiers.append(str(getattr(ev, "tier", "n/a")))
res = {"import_s": import_s, "times_s": times, "loop_s": loop_s, "tiers": tiers}
res.update(backends=backends, errors=errors, steady_s=steady, steady_tiers=steady_tiers)
res.update(has_wait=HAS_WAIT, version=VERSION, note=NOTE)
print(json.dumps(res))
"""

ADC_IMPORTS = "import adcompile as adc"
ADC_FUNCTIONS = """
HAS_WAIT, VERSION = None, adc.__version__
NOTE = ""
def call(vg, arrays):
    return vg(*arrays)
"""
ADC_FIRST = {
    "adc": """
def first(text, names, arrays):
    vg = adc.compile(text, inputs=names).value_and_grad()
    return vg, vg(*arrays)
""",
    "adc-wait": """
def first(text, names, arrays):
    global HAS_WAIT
    vg = adc.compile(text, inputs=names).value_and_grad()
    result = vg(*arrays)
    wait = getattr(vg, "wait", None)
    HAS_WAIT = wait is not None
    if wait is None:  # no tiers in this adcompile: the first result was already compiled
        return vg, result
    vg = wait()
    return vg, vg(*arrays)
""",
    "adc-numba": """
def first(text, names, arrays):
    vg = adc.compile(text, inputs=names, backend="numba").value_and_grad()
    return vg, vg(*arrays)
""",
}

# The text is Python too: symengine, CasADi and JAX evaluate it with their own functions.
FUNCS = ("exp", "log", "sqrt", "sin", "cos", "tanh", "arcsin", "arccos")
TOOLS = {
    "sympy": (
        "import numpy, sympy",
        """
HAS_WAIT, VERSION = None, sympy.__version__
NOTE = "parse_expr, diff, lambdify(cse=True) with NumPy"
FUNCS = {"arcsin": sympy.asin, "arccos": sympy.acos, "pi": sympy.pi}
def first(text, names, arrays):
    syms = [sympy.Symbol(n) for n in names]
    expr = sympy.parse_expr(text, local_dict={**FUNCS, **dict(zip(names, syms))})
    fn = sympy.lambdify(syms, [expr, *(sympy.diff(expr, s) for s in syms)], "numpy", cse=True)
    out = fn(*arrays)
    return fn, (out[0], out[1:])
def call(fn, arrays):
    return fn(*arrays)
""",
    ),
    "symengine": (
        "import numpy, symengine as se",
        """
HAS_WAIT, VERSION = None, se.__version__
NOTE = "Lambdify(backend='llvm', cse=True)"
FUNCS = {f: getattr(se, f.replace("arc", "a")) for f in @FUNCS@}
FUNCS["pi"] = se.pi
def first(text, names, arrays):
    syms = [se.Symbol(n) for n in names]
    expr = eval(text, {"__builtins__": {}}, {**FUNCS, **dict(zip(names, syms))})
    exprs = [expr, *(se.diff(expr, s) for s in syms)]
    global NOTE
    try:
        fn = se.Lambdify(syms, exprs, backend="llvm", cse=True)
    except (ValueError, RuntimeError):  # symengine built without LLVM
        fn, NOTE = se.Lambdify(syms, exprs, cse=True), "Lambdify(cse=True), no LLVM"
    out = call(fn, arrays)
    return fn, (out[0], out[1:])
def call(fn, arrays):
    n = len(arrays[0])
    r = np.asarray(fn(np.column_stack(arrays)))  # (n, outputs), or (outputs, 1, n)
    return r.reshape(n, -1).T if r.shape[0] == n else r.reshape(-1, n)
""",
    ),
    "casadi": (
        "import numpy, casadi as ca",
        """
HAS_WAIT, VERSION = None, ca.__version__
NOTE = "SX, Function.map(N) (serial)"
FUNCS = {f: getattr(ca, f.replace("arc", "a")) for f in @FUNCS@}
FUNCS["pi"] = ca.pi
def first(text, names, arrays):
    syms = [ca.SX.sym(n) for n in names]
    expr = eval(text, {"__builtins__": {}}, {**FUNCS, **dict(zip(names, syms))})
    x = ca.vertcat(*syms)
    fn = ca.Function("f", [x], [expr, ca.gradient(expr, x)]).map(len(arrays[0]))
    return fn, call(fn, arrays)
def call(fn, arrays):
    value, grad = fn(np.vstack(arrays))
    return np.asarray(value).ravel(), np.asarray(grad)
""",
    ),
    "jax": (
        "import numpy, jax, jax.numpy as jnp",
        """
jax.config.update("jax_enable_x64", True)
HAS_WAIT, VERSION = None, jax.__version__
NOTE = f"jit(vmap(value_and_grad)), x64, {jax.default_backend()}"
FUNCS = {f: getattr(jnp, f) for f in @FUNCS@}
FUNCS["pi"] = jnp.pi
def first(text, names, arrays):
    code = compile(text, "<formula>", "eval")
    def f(*xs):
        return eval(code, {"__builtins__": {}}, {**FUNCS, **dict(zip(names, xs))})
    fn = jax.jit(jax.vmap(jax.value_and_grad(f, argnums=tuple(range(len(names))))))
    return fn, call(fn, arrays)
def call(fn, arrays):
    value, grad = fn(*arrays)
    value.block_until_ready()
    return np.asarray(value), [np.asarray(g) for g in grad]
""",
    ),
}
for _name, _first in ADC_FIRST.items():
    TOOLS[_name] = (ADC_IMPORTS, ADC_FUNCTIONS + _first)
MODULE = {"sympy": "sympy", "symengine": "symengine", "casadi": "casadi", "jax": "jax"}
LABEL = {"adc": "adcompile", "adc-wait": "adc wait()", "adc-numba": "adc numba"}
ORDER = ("adc", "adc-wait", "adc-numba", "sympy", "symengine", "casadi", "jax")


def child_code(tool):
    imports, functions = TOOLS[tool]
    functions = functions.replace("@FUNCS@", repr(FUNCS))
    return CHILD.replace("@IMPORTS@", imports).replace("@FUNCTIONS@", functions)


# ---- points and the reference
def sample(corpus, n):
    """n points per formula, each variable uniform on its range; by key "k_j" (formula k,
    variable j). Seeded by the formula's name: the same points in every run."""
    points = {}
    for k, eq in enumerate(corpus):
        rng = np.random.default_rng(zlib.crc32(eq.name.encode()))
        for j, (lo, hi) in enumerate(eq.ranges.values()):
            points[f"{k}_{j}"] = rng.uniform(lo, hi, n)
    return points


def reference(eq, arrays):
    """Value and gradient from SymPy's exact derivative, each evaluated with NumPy."""
    syms = [sympy.Symbol(n) for n in eq.ranges]
    local = {"arcsin": sympy.asin, "arccos": sympy.acos, "pi": sympy.pi}
    expr = sympy.parse_expr(eq.formula, local_dict={**local, **dict(zip(eq.ranges, syms))})
    outs = []
    for e in [expr, *(sympy.diff(expr, s) for s in syms)]:
        r = sympy.lambdify(syms, e, "numpy")(*arrays)
        outs.append(np.broadcast_to(np.asarray(r, dtype=np.float64), arrays[0].shape))
    return outs


def check(outs, k, ref):
    """(max relative error, problem or None) of formula k's outputs in a child's npz."""
    worst = 0.0
    for j, r in enumerate(ref):
        key = f"{k}_v" if j == 0 else f"{k}_g{j - 1}"
        if key not in outs:
            return worst, f"output {j} missing"
        o = np.broadcast_to(outs[key], r.shape) if outs[key].size in (1, r.size) else None
        if o is None:
            return worst, f"output {j} has shape {outs[key].shape}, expected {r.shape}"
        if not np.all(np.isfinite(o)):
            return worst, f"output {j} not finite"
        err = np.max(np.abs(o - r) / (np.abs(r) + FLOOR * np.max(np.abs(r)) + 1e-300))
        worst = max(worst, float(err))
        if err > RTOL:
            return worst, f"output {j}: max rel err {err:.3g}"
    return worst, None


# ---- running one tool on the corpus in a child
def quantile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))] if xs else None


def run_tool(tool, state, cache_dir, work, corpus, refs, args):
    spec = {"points": str(work / "points.npz"), "out": str(work / f"{tool}-{state}.npz")}
    spec["formulas"] = [{"text": eq.formula, "names": list(eq.ranges)} for eq in corpus]
    spec["repeat"] = args.repeat if state == "cold" else 0
    spec["root"] = str(Path(adc.__file__).resolve().parent.parent)
    res = run_child(child_code(tool), spec, cache_dir, args.timeout)
    res.update(tool=tool, cache=state)
    if res["status"] != "ok":
        print(f"{tool} ({state}): {res['status']}: {res.get('error', '')}")
        return res
    outs = dict(np.load(spec["out"]))
    os.unlink(spec["out"])
    mismatches, errs = {}, []
    for k, eq in enumerate(corpus):
        if str(k) in res["errors"]:
            if len(res["errors"]) <= 5 or k == min(map(int, res["errors"])):
                print(f"ERROR {tool} ({state}) {eq.name}: {res['errors'][str(k)]}")
            continue
        err, problem = check(outs, k, refs[k])
        errs.append(err)
        if problem:
            mismatches[eq.name] = problem
            print(f"!!! MISMATCH {tool} ({state}) {eq.name}: {problem}")
    if len(res["errors"]) > 5:
        print(f"ERROR {tool} ({state}): {len(res['errors'])} formulas failed, first shown")
    res["errors"] = {corpus[int(k)].name: e for k, e in res["errors"].items()}
    res["per_formula_ms"] = {
        eq.name: None if t is None else 1e3 * t for eq, t in zip(corpus, res["times_s"])
    }
    times = [t for t in res.pop("times_s") if t is not None]
    ok = len(times)
    res.update(n_formulas=len(corpus), n_ok=ok, mismatch=mismatches, max_rel_err=max(errs or [0]))
    res["formulas_per_s"] = ok / sum(times) if times else None
    res["formulas_per_s_with_import"] = ok / (sum(times) + res["import_s"]) if times else None
    res["median_ms"] = 1e3 * statistics.median(times) if times else None
    res["p90_ms"] = 1e3 * quantile(times, 0.9) if times else None
    res["first_formula_ms"] = 1e3 * times[0] if times else None
    res["tier_counts"] = {t: res["tiers"].count(t) for t in sorted(set(res["tiers"]))}
    steady = res.pop("steady_s")
    res["steady_median_us"] = 1e6 * statistics.median(steady) if steady else None
    res["steady_p90_us"] = 1e6 * quantile(steady, 0.9) if steady else None
    st = res["steady_tiers"]
    res["steady_tier_counts"] = {t: st.count(t) for t in sorted(set(st))}
    return res


def cell(x, spec):
    return "-" if x is None else format(x, spec)


def counts(c):
    return ",".join(f"{k}:{v}" for k, v in c.items()) if c else "-"


def first_table(runs):
    head = ["tool", "cache", "ok", "formulas/s", "w/ import", "median ms", "p90 ms"]
    head += ["1st ms", "import s", "process s", "tier at 1st", "mismatch"]
    rows = []
    for r in runs:
        row = [LABEL.get(r["tool"], r["tool"]), r["cache"]]
        if r["status"] != "ok":
            rows.append(row + [r["status"]] + ["-"] * (len(head) - 3))
            continue
        row += [f"{r['n_ok']}/{r['n_formulas']}", cell(r["formulas_per_s"], ".1f")]
        row += [cell(r["formulas_per_s_with_import"], ".1f"), cell(r["median_ms"], ".2f")]
        row += [cell(r["p90_ms"], ".2f"), cell(r["first_formula_ms"], ".1f")]
        row += [f"{r['import_s']:.2f}", f"{r['process_s']:.2f}", counts(r["tier_counts"])]
        rows.append([*row, str(len(r["mismatch"]))])
    print_table(head, rows)


def steady_table(runs):
    head = ["tool", "median us", "p90 us", "tier"]
    rows = [
        [
            LABEL.get(r["tool"], r["tool"]),
            cell(r["steady_median_us"], ".1f"),
            cell(r["steady_p90_us"], ".1f"),
            counts(r["steady_tier_counts"]),
        ]
        for r in runs
        if r["status"] == "ok" and r["cache"] == "cold"
    ]
    print_table(head, rows)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tools", default=",".join(ORDER), help="comma-separated, of " + str(ORDER))
    ap.add_argument("--limit", type=int, help="the first N formulas of the corpus")
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=30, help="steady-state calls per formula")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per child")
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--quick", action="store_true", help="6 formulas, SymPy + adcompile")
    args = ap.parse_args(argv)
    args.tools = [t for t in args.tools.split(",") if t]
    unknown = set(args.tools) - set(ORDER)
    if unknown:
        ap.error(f"unknown tools {sorted(unknown)}; known: {', '.join(ORDER)}")
    if args.quick:
        args.tools = [t for t in args.tools if t.startswith("adc") or t == "sympy"]
        args.repeat = min(args.repeat, 5)
    return args


def main(argv=None):
    args = parse_args(argv)
    corpus = [eq for eq in CORPUS if eq.name in QUICK] if args.quick else list(CORPUS)
    corpus = corpus[: args.limit] if args.limit else corpus
    missing = {t: "not installed" for t in args.tools if t in MODULE}
    missing = {t: w for t, w in missing.items() if importlib.util.find_spec(MODULE[t]) is None}
    for t, why in missing.items():
        print(f"{t}: {why}, skipped")
    tools = [t for t in ORDER if t in args.tools and t not in missing]
    print(f"{len(corpus)} formulas, {args.points} points each, tools: {', '.join(tools)}")
    work = Path(tempfile.mkdtemp(prefix="bench_formulas_"))
    try:
        points = sample(corpus, args.points)
        np.savez(work / "points.npz", **points)
        refs = [
            reference(eq, [points[f"{k}_{j}"] for j in range(len(eq.ranges))])
            for k, eq in enumerate(corpus)
        ]
        runs = []
        for tool in tools:
            cache = work / f"cache-{tool}"
            cache.mkdir()
            states = ("cold", "warm") if tool.startswith("adc") else ("cold",)
            for state in states:
                t0 = time.perf_counter()
                runs.append(run_tool(tool, state, cache, work, corpus, refs, args))
                print(f"  {tool} ({state}): {time.perf_counter() - t0:.1f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n== text to the first value + gradient on {args.points} points, fresh process")
    first_table(runs)
    print(f"\n== steady state: one value + gradient call on {args.points} points (cold child)")
    steady_table(runs)
    ok = {r["tool"]: r for r in runs if r["status"] == "ok"}
    print("\nversions: " + ", ".join(f"{LABEL.get(t, t)} {r['version']}" for t, r in ok.items()))
    for t, r in ok.items():
        if r["note"]:
            print(f"  {LABEL.get(t, t)}: {r['note']}")
        if r["has_wait"] is False:
            print(f"  {LABEL.get(t, t)}: this adcompile has no vg.wait(): the first result")
    bad = any(r["status"] != "ok" or r["mismatch"] or r["errors"] for r in runs)
    if bad:
        print("!!! SOME RESULTS ARE WRONG OR MISSING (see above)", file=sys.stderr)
    if args.json:
        doc = {"n_formulas": len(corpus), "points": args.points, "repeat": args.repeat}
        doc.update(formulas=[eq.name for eq in corpus], tools=tools, missing=missing)
        doc.update(rtol=RTOL, runs=runs)
        write_json(args.json, {**doc, "machine": machine_info(sympy=sympy)})
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
