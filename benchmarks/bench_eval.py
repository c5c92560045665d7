"""Value + full gradient over N points: adcompile vs hand-written code and other tools.

Usage: python benchmarks/bench_eval.py [--n 1e5,1e6,1e7] [--threads 1,2] [--repeat 7]
                                       [--json out.json]
       python benchmarks/bench_eval.py --quick   # smoke run: N=1e4, threads 1,2, repeat 2

Contenders (all compute the value and the gradient w.r.t. every input, per point):
adcompile writing into preallocated outputs (`out=`, the fair match for the hand kernel),
adcompile with fresh outputs (a plain call), a hand-written fused Numba prange kernel into
preallocated outputs, hand-written NumPy, SymPy lambdify (cse=True), and JAX / symengine when
importable. Also adcompile's fused `value_and_grad(reduce="sum")` (checked against the sum of
the elementwise outputs) and adcompile on float32 arrays (max relative error vs float64).
Times are medians, in ms per 1e6 points; "floor" is the memory-traffic lower bound
(array inputs read + all outputs written, float64) at the measured copy bandwidth. One table
per (N, threads), then the speed-up of the last thread count over the first.
Exit status 1 if any contender disagrees with adcompile.
"""

import argparse
import math
import sys
import time

import numba
import numpy as np
import sympy
from _common import machine_info, median_time, print_table, sizes, write_json

import adcompile as adc

KERNEL = numba.njit(parallel=True, fastmath=False, error_model="numpy", cache=True)
RTOL, ATOL = 1e-10, 1e-12


# ---- hand-written fused Numba kernels (outputs: value, then d/d(input) in f.inputs order)
@KERNEL
def c1_numba(w0, x0, w1, x1, w2, out):
    for i in numba.prange(x0.size):
        s = 1.0 / (1.0 + math.exp(-(w0 * x0[i] + w1 * x1[i] + w2)))
        d = s * (1.0 - s)
        out[0, i] = s
        out[1, i] = d * x0[i]
        out[2, i] = d * w0
        out[3, i] = d * x1[i]
        out[4, i] = d * w1
        out[5, i] = d


@KERNEL
def c2_numba(x, out):
    for i in numba.prange(x.size):
        xi = x[i]
        out[0, i] = (((2.0 * xi + 1.0) * xi + 3.0) * xi + 5.0) * xi + 1.0
        out[1, i] = ((8.0 * xi + 3.0) * xi + 6.0) * xi + 5.0


@KERNEL
def c3_numba(x, y, out):
    for i in numba.prange(x.size):
        xi, yi = x[i], y[i]
        s, e = math.sin(xi), math.exp(-yi)
        s2e = s * s * e
        out[0, i] = math.log(xi * yi) + s2e
        out[1, i] = 1.0 / xi + 2.0 * s * math.cos(xi) * e
        out[2, i] = 1.0 / yi - s2e


@KERNEL
def c4_numba(w, x, b, t, out):
    for i in numba.prange(x.size):
        p = 1.0 / (1.0 + math.exp(-(w * x[i] + b)))
        lp, lq = math.log(p), math.log(1.0 - p)
        g = p - t[i]
        out[0, i] = -(t[i] * lp + (1.0 - t[i]) * lq)
        out[1, i] = g * x[i]
        out[2, i] = g * w
        out[3, i] = g
        out[4, i] = lq - lp


@KERNEL
def c5_numba(sx, sy, rho, x, mx, y, my, out):
    r2 = 1.0 - rho * rho  # loop invariants hoisted by hand
    c = -math.log(2.0 * math.pi * sx * sy * math.sqrt(r2))
    for i in numba.prange(x.size):
        a, b = (x[i] - mx) / sx, (y[i] - my) / sy
        q = a * a - 2.0 * rho * a * b + b * b
        ga, gb = (a - rho * b) / r2, (b - rho * a) / r2
        out[0, i] = c - q / (2.0 * r2)
        out[1, i] = (ga * a - 1.0) / sx
        out[2, i] = (gb * b - 1.0) / sy
        out[3, i] = (rho + a * b - rho * q / r2) / r2
        out[4, i] = -ga / sx
        out[5, i] = ga / sx
        out[6, i] = -gb / sy
        out[7, i] = gb / sy


# ---- hand-written NumPy (fresh outputs, shared subexpressions)
def c1_numpy(w0, x0, w1, x1, w2):
    s = 1.0 / (1.0 + np.exp(-(w0 * x0 + w1 * x1 + w2)))
    d = s * (1.0 - s)
    return s, d * x0, d * w0, d * x1, d * w1, d


def c2_numpy(x):
    return (((2 * x + 1) * x + 3) * x + 5) * x + 1, ((8 * x + 3) * x + 6) * x + 5


def c3_numpy(x, y):
    s, e = np.sin(x), np.exp(-y)
    s2e = s * s * e
    return np.log(x * y) + s2e, 1 / x + 2 * s * np.cos(x) * e, 1 / y - s2e


def c4_numpy(w, x, b, t):
    p = 1 / (1 + np.exp(-(w * x + b)))
    lp, lq = np.log(p), np.log(1 - p)
    g = p - t
    return -(t * lp + (1 - t) * lq), g * x, g * w, g, lq - lp


def c5_numpy(sx, sy, rho, x, mx, y, my):
    r2 = 1 - rho * rho
    c = -math.log(2 * math.pi * sx * sy * math.sqrt(r2))
    a, b = (x - mx) / sx, (y - my) / sy
    q = a * a - 2 * rho * a * b + b * b
    ga, gb = (a - rho * b) / r2, (b - rho * a) / r2
    dx, dy = -ga / sx, -gb / sy
    drho = (rho + a * b - rho * q / r2) / r2
    return c - q / (2 * r2), (ga * a - 1) / sx, (gb * b - 1) / sy, drho, dx, -dx, dy, -dy


C4 = "z = w*x + b\np = 1/(1+exp(-z))\n-(t*log(p)+(1-t)*log(1-p))"
C5 = (
    "-log(2*pi*sx*sy*sqrt(1-rho^2)) - (((x-mx)/sx)^2 - 2*rho*(x-mx)*(y-my)/(sx*sy)"
    " + ((y-my)/sy)^2)/(2*(1-rho^2))"
)


def make_inputs(name, n, rng):
    """Inputs by name: arrays for the per-point data, Python floats for parameters."""
    nrm = rng.normal
    if name == "C1":
        return {"w0": 0.7, "x0": nrm(size=n), "w1": -1.3, "x1": nrm(size=n), "w2": 0.2}
    if name == "C2":
        return {"x": rng.uniform(-2, 2, n)}
    if name == "C3":
        return {"x": rng.uniform(0.5, 3, n), "y": rng.uniform(0.5, 3, n)}
    if name == "C4":
        return {"w": 0.7, "x": nrm(size=n), "b": -0.3, "t": rng.integers(0, 2, n) * 1.0}
    params = {"sx": 1.3, "sy": 0.8, "rho": 0.4, "mx": 0.3, "my": -0.2}
    return {**params, "x": nrm(0.3, 1.3, n), "y": nrm(-0.2, 0.8, n)}


CASES = {  # name: (formula, hand numba kernel, hand numpy)
    "C1": ("1/(1+exp(-(w0*x0+w1*x1+w2)))", c1_numba, c1_numpy),
    "C2": ("2*x^4+x^3+3*x^2+5*x+1", c2_numba, c2_numpy),
    "C3": ("log(x*y) + sin(x)^2*exp(-y)", c3_numba, c3_numpy),
    "C4": (C4, c4_numba, c4_numpy),
    "C5": (C5, c5_numba, c5_numpy),
}


def sympy_exprs(text, names):
    """The formula (or program, assignments substituted) and its gradient in SymPy."""
    env = {nm: sympy.Symbol(nm) for nm in names}
    expr = None
    for line in text.strip().splitlines():
        lhs, _, rhs = line.rpartition("=") if "=" in line else ("", "", line)
        expr = sympy.parse_expr(rhs.replace("^", "**"), local_dict=env)
        if lhs:
            env[lhs.strip()] = expr
    syms = [env[nm] for nm in names]
    return syms, [expr, *(sympy.diff(expr, s) for s in syms)]


def optional_contenders(syms, exprs, args, n):
    """JAX and symengine callables (or the reason they are missing), by name."""
    out = {}
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        jf = sympy.lambdify(syms, exprs[0], modules="jax")
        axes = tuple(0 if isinstance(a, np.ndarray) else None for a in args)
        vg = jax.jit(jax.vmap(jax.value_and_grad(jf, argnums=tuple(range(len(args)))), axes))
        jargs = [jax.numpy.asarray(a) for a in args]

        def run_jax():
            v, g = vg(*jargs)
            v.block_until_ready()
            return [np.asarray(v), *(np.asarray(gi) for gi in g)]

        out["jax"] = run_jax
    except ImportError:
        out["jax"] = "not installed"
    try:
        import symengine as se

        sf = se.Lambdify(
            [se.sympify(s) for s in syms], [se.sympify(e) for e in exprs], backend="llvm", cse=True
        )
        packed = np.column_stack([np.broadcast_to(np.asarray(a, float), (n,)) for a in args])

        def run_se():
            r = np.asarray(sf(packed))  # (n, outputs), or (outputs, 1, n) for one input
            return list(r.reshape(n, -1).T if r.shape[0] == n else r.reshape(-1, n))

        out["symengine"] = run_se
    except ImportError:
        out["symengine"] = "not installed"
    return out


def copy_bandwidth(repeat):
    """Bytes/s of np.copyto on 8e7-byte arrays, counting read + write."""
    src = np.random.default_rng(1).random(10_000_000)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    return 2 * src.nbytes / median_time(lambda: np.copyto(dst, src), max(repeat, 5))


def mismatch(outs, ref, n):
    """None if outs match ref (rtol 1e-10, atol 1e-12), else a description."""
    if len(outs) != len(ref):
        return f"{len(outs)} outputs, expected {len(ref)}"
    for j, (o, r) in enumerate(zip(outs, ref)):
        o = np.broadcast_to(np.asarray(o, dtype=np.float64), (n,))
        if not np.allclose(o, r, rtol=RTOL, atol=ATOL, equal_nan=True):
            err = np.max(np.abs(o - r) / (ATOL + np.abs(r)))
            return f"output {j}: max rel err {err:.3g}"
    return None


# ---- adcompile's ways of running: into out=, fresh outputs, fused sum, float32
def flat(result):
    value, grad = result
    return [value, *grad]


def out_buffers(n_out, n, dtype):
    """Preallocated outputs in the structure of value_and_grad()'s result: rows of one block,
    like the hand kernel's (separate same-size allocations share their offset within a page,
    and writing many such streams at once is slowed by 4K aliasing)."""
    block = np.empty((n_out, n), dtype)
    return block[0], tuple(block[1:])


def adc_out(vg, args, n, n_out):
    """adcompile writing into preallocated outputs; checks that it returns those arrays."""
    buf = out_buffers(n_out, n, np.float64)
    got = flat(vg(*args, out=buf))
    if any(g is not b for g, b in zip(got, flat(buf))):
        raise AssertionError("out=: the result is not the arrays passed in")
    return lambda: flat(vg(*args, out=buf))


def sum_check(sums, ref):
    """None if the fused sums equal the sums of the elementwise outputs, else a description."""
    for j, (s, r) in enumerate(zip(sums, ref)):
        want, scale = math.fsum(r), float(np.sum(np.abs(r)))
        if not abs(s - want) <= 1e-9 * scale + 1e-12:
            return f"output {j}: fused {s!r} vs sum of elementwise {want!r}"
    return None


def float32_error(outs32, ref):
    """Max over outputs of |f32 - f64| / (|f64| + 1e-6 * max|f64|)."""
    errs = []
    for o, r in zip(outs32, ref):
        o = np.broadcast_to(np.asarray(o, dtype=np.float64), r.shape)
        scale = 1e-6 * float(np.max(np.abs(r))) + 1e-300
        errs.append(float(np.max(np.abs(o - r) / (np.abs(r) + scale))))
    return max(errs)


def float32_run(f, vg, inputs, n, n_out):
    """float32 array inputs (parameters stay Python floats): runner, dtype and error.

    The reference is float64 adcompile on the same float32-rounded inputs, so the error is
    the kernel's float32 rounding, not the rounding of the inputs.
    """
    args32 = [v.astype(np.float32) if isinstance(v, np.ndarray) else v for v in inputs]
    args64 = [v.astype(np.float64) if isinstance(v, np.ndarray) else v for v in args32]
    ref = [np.broadcast_to(o, (n,)) for o in flat(vg(*args64))]
    res = vg(*args32)
    buf = out_buffers(n_out, n, np.float32)
    vg(*args32, out=buf)
    info = {"dtype": str(res[0].dtype), "max_rel_err": float32_error(flat(res), ref)}
    return (lambda: vg(*args32, out=buf)), info


def adc_contenders(f, vg, args, n, n_out, ref, res):
    """adcompile's extra ways of running, by name; what is unsupported goes to res."""
    out = {}
    try:
        out["adcompile"] = adc_out(vg, args, n, n_out)
    except (TypeError, ValueError, AssertionError) as exc:
        res["missing"]["adcompile"] = f"out=: {exc!r}"
    try:
        vsum = f.value_and_grad(reduce="sum")
        vsum(*args)
        vsum.wait()  # the compiled tier for these inputs' pattern
        sums = flat(vsum(*args))
        res["reduce_sum"] = {"mismatch": sum_check(sums, ref)}
        out["adc sum"] = lambda: vsum(*args)
    except (TypeError, ValueError) as exc:
        res["missing"]["adc sum"] = f"reduce='sum': {exc!r}"
    try:
        out["adc f32"], res["float32"] = float32_run(f, vg, [*args], n, n_out)
        if res["float32"]["dtype"] != "float32":
            print(f"note: float32 inputs gave {res['float32']['dtype']} outputs", file=sys.stderr)
    except (TypeError, ValueError) as exc:
        res["missing"]["adc f32"] = f"float32: {exc!r}"
    return out


NUMBA_CONTENDERS = {"adcompile", "adc fresh", "hand numba", "adc sum", "adc f32"}
CHECKED_ELSEWHERE = {"adcompile", "adc sum", "adc f32"}  # out= identity, sum, float32 checks


def prepare_case(name, n, rng):
    """Compile, check every contender against adcompile; the callables to time, by name."""
    text, nb_kernel, np_fn = CASES[name]
    inputs = make_inputs(name, n, rng)
    t0 = time.perf_counter()
    f = adc.compile(text)
    vg = f.value_and_grad()
    args = [inputs[nm] for nm in f.inputs]
    v, g = vg(*args)  # the first result (the interpreter tier)
    first = time.perf_counter() - t0
    vg.wait()  # then the compiled tier, for these inputs' pattern (built in the worker)
    ref = [np.broadcast_to(v, (n,)), *(np.broadcast_to(gi, (n,)) for gi in g)]
    n_out = len(ref)

    hand_out = np.empty((n_out, n))
    syms, exprs = sympy_exprs(text, f.inputs)
    sp_fn = sympy.lambdify(syms, exprs, modules="numpy", cse=True)
    res = {"first_call_s": first, "mismatch": {}, "missing": {}, "backend": vg.backend}
    res["tier"] = vg.tier
    contenders = {
        **adc_contenders(f, vg, args, n, n_out, ref, res),
        "adc fresh": lambda: flat(vg(*args)),
        "hand numba": lambda: (nb_kernel(*args, hand_out), list(hand_out))[1],
        "numpy": lambda: np_fn(*args),
        "sympy": lambda: sp_fn(*args),
        **optional_contenders(syms, exprs, args, n),
    }
    ready = {}
    for cname, fn in contenders.items():
        if isinstance(fn, str):
            res["missing"][cname] = fn
            continue
        try:
            outs = fn()  # warm-up call doubles as the correctness check
        except Exception as exc:  # an optional backend failing must not stop the run
            res["missing"][cname] = f"failed: {exc!r}"
            continue
        bad = None if cname in CHECKED_ELSEWHERE - {"adcompile"} else mismatch(outs, ref, n)
        if cname == "adc sum" and res["reduce_sum"]["mismatch"]:
            bad = res["reduce_sum"]["mismatch"]
        if bad:
            res["mismatch"][cname] = bad
            print(f"!!! MISMATCH {name} N={n} {cname} vs adcompile: {bad}", file=sys.stderr)
        ready[cname] = fn
    n_arrays = sum(isinstance(a, np.ndarray) for a in args)
    res["bytes"] = 8 * n * (n_arrays + n_out)
    return ready, res


def time_case(ready, res, repeat, earlier):
    """Median seconds per contender; those Numba's thread count cannot affect are taken
    from `earlier` (the same N at the first thread count) when given."""
    med = {}
    for cname, fn in ready.items():
        if earlier is not None and cname not in NUMBA_CONTENDERS:
            med[cname] = earlier["median_s"][cname]
        else:
            med[cname] = median_time(fn, repeat)
    return {**res, "median_s": med}


# ---- tables
OPTIONAL = ("jax", "symengine")


def cell(x, spec):
    return "-" if x is None else format(x, spec)


def ratio(ms, a, b):
    return ms[a] / ms[b] if a in ms and b in ms else None


def times_table(cases, n, bw):
    names = ["adcompile", "adc fresh", "hand numba", "numpy", "sympy"]
    names += [c for c in OPTIONAL if any(c in r["median_s"] for r in cases.values())]
    names += ["adc sum", "adc f32"]
    per = 1e3 * 1e6 / n  # seconds per call -> ms per 1e6 points
    rows = []
    for name, r in cases.items():
        ms = r["median_s"]
        cells = [cell(ms.get(c) and ms[c] * per, ".2f") for c in names]
        rows.append([name, f"{r['bytes'] / bw * per:.2f}", *cells])
    print("times: median ms per 1e6 points (adcompile: into out=; adc fresh: new outputs)")
    print_table(["case", "floor", *names], rows)


def ratios_table(cases, bw, first_n):
    head = ["case", "adc/hand", "fresh/hand", "adc/floor", "symengine/adc", "jax/adc"]
    head += ["sum/adc", "f32/adc", "f32 err", "adc 1st (s)"]
    rows = []
    for name, r in cases.items():
        ms = r["median_s"]
        err = r.get("float32", {}).get("max_rel_err")
        rows.append(
            [
                name,
                cell(ratio(ms, "adcompile", "hand numba"), ".2f"),
                cell(ratio(ms, "adc fresh", "hand numba"), ".2f"),
                cell(ms["adcompile"] / (r["bytes"] / bw) if "adcompile" in ms else None, ".1f"),
                cell(ratio(ms, "symengine", "adcompile"), ".2f"),
                cell(ratio(ms, "jax", "adcompile"), ".2f"),
                cell(ratio(ms, "adc sum", "adcompile"), ".2f"),
                cell(ratio(ms, "adc f32", "adcompile"), ".2f"),
                cell(err, ".1e"),
                f"{r['first_call_s']:.2f}" if first_n else "-",
            ]
        )
    print("ratios (targets at N=1e7, 1 thread: adc/hand <= 1.15, symengine/adc >= 2,")
    print("jax/adc >= 4, sum/adc <= 1; f32 err: max |f32 - f64| / (|f64| + 1e-6 max|f64|))")
    print_table(head, rows)


def speedups(runs, threads):
    """2-thread (last count) over 1-thread (first count) speed-up, per N and case."""
    lo, hi = threads[0], threads[-1]
    out = {}
    for run in runs:
        if run["threads"] != lo:
            continue
        other = next(r for r in runs if r["n"] == run["n"] and r["threads"] == hi)
        out[str(run["n"])] = {
            case: {
                c: res["median_s"][c] / other["cases"][case]["median_s"][c]
                for c in ("adcompile", "adc fresh", "hand numba")
                if c in res["median_s"]
            }
            for case, res in run["cases"].items()
        }
    return out


def speedup_table(sp, lo, hi):
    print(f"\nspeed-up {hi} threads / {lo} thread (target: >= 1.8 on C3-C5 at N=1e7)")
    rows = []
    for n, per_case in sp.items():
        for case, s in per_case.items():
            cells = [cell(s.get(c), ".2f") for c in ("adcompile", "adc fresh", "hand numba")]
            rows.append([n, case, *cells])
    print_table(["N", "case", "adcompile", "adc fresh", "hand numba"], rows)


# ---- driver
def thread_counts(text):
    """The requested Numba thread counts, dropping those this machine cannot run."""
    wanted = [int(s) for s in text.split(",") if s]
    usable = [t for t in wanted if 1 <= t <= numba.config.NUMBA_NUM_THREADS]
    for t in sorted(set(wanted) - set(usable)):
        print(f"skipping {t} threads: Numba has {numba.config.NUMBA_NUM_THREADS}")
    return usable or [1]


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=sizes, default=[1_000_000], help="sizes, e.g. 1e5,1e6,1e7")
    ap.add_argument("--threads", type=thread_counts, default=[1], help="e.g. 1,2")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--quick", action="store_true", help="smoke run: N=1e4, threads 1,2")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.repeat, args.threads = [10_000], 2, thread_counts("1,2")
    return args


def main(argv=None):
    args = parse_args(argv)
    bw = copy_bandwidth(args.repeat)
    print(f"sizes={args.n}  threads={args.threads}  repeat={args.repeat}  ", end="")
    print(f"copy bandwidth={bw / 1e9:.2f} GB/s (read+write)")
    print("numpy, sympy, jax, symengine ignore Numba's thread count: timed once per N")
    rng = np.random.default_rng(0)
    runs = []
    for n in args.n:
        prepared = {name: prepare_case(name, n, rng) for name in CASES}
        first = None
        for t in args.threads:
            numba.set_num_threads(t)
            cases = {
                name: time_case(ready, res, args.repeat, first and first["cases"][name])
                for name, (ready, res) in prepared.items()
            }
            runs.append({"n": n, "threads": t, "cases": cases})
            first = first or runs[-1]
            print(f"\n== N={n}  numba threads={numba.get_num_threads()}")
            times_table(cases, n, bw)
            ratios_table(cases, bw, n == args.n[0])
        del prepared
    missing = {
        (c, why) for run in runs for r in run["cases"].values() for c, why in r["missing"].items()
    }
    for c, why in sorted(missing):
        print(f"{c}: {why}")
    sp = speedups(runs, args.threads) if len(args.threads) > 1 else {}
    if sp:
        speedup_table(sp, args.threads[0], args.threads[-1])
    bad = any(r["mismatch"] for run in runs for r in run["cases"].values())
    if bad:
        print("!!! SOME CONTENDERS DISAGREE WITH ADCOMPILE (see above)", file=sys.stderr)
    if args.json:
        doc = {"sizes": args.n, "threads": args.threads, "repeat": args.repeat}
        doc.update(copy_bandwidth_Bps=bw, runs=runs, speedup=sp)
        write_json(args.json, {**doc, "machine": machine_info(sympy=sympy)})
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
