"""Value + full gradient over N float64 points: adcompile vs hand-written code.

Usage: python benchmarks/bench_eval.py [--n 1e6] [--repeat 7] [--threads 1] [--json out.json]
       python benchmarks/bench_eval.py --quick          # smoke run: N=1e4, repeat 2

Contenders (all compute the value and the gradient w.r.t. every input, per point):
adcompile (warm), a hand-written fused Numba prange kernel into preallocated outputs,
hand-written NumPy, SymPy lambdify (cse=True), and JAX / symengine when importable.
Times are medians, in ms per 1e6 points; "floor" is the memory-traffic lower bound
(array inputs read + all outputs written) at the measured copy bandwidth.
"""

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

import numba
import numpy as np
import sympy

import adcompile as adc

KERNEL = numba.njit(parallel=True, fastmath=False, error_model="numpy")
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
            r = np.asarray(sf(packed))
            return list(r.T if r.shape[0] == n else r)

        out["symengine"] = run_se
    except ImportError:
        out["symengine"] = "not installed"
    return out


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


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


def run_case(name, n, repeat, rng):
    text, nb_kernel, np_fn = CASES[name]
    inputs = make_inputs(name, n, rng)
    t0 = time.perf_counter()
    f = adc.compile(text)
    vg = f.value_and_grad()
    args = [inputs[nm] for nm in f.inputs]
    v, g = vg(*args)
    first = time.perf_counter() - t0
    ref = [np.broadcast_to(v, (n,)), *(np.broadcast_to(gi, (n,)) for gi in g)]

    out = np.empty((len(ref), n))
    syms, exprs = sympy_exprs(text, f.inputs)
    sp_fn = sympy.lambdify(syms, exprs, modules="numpy", cse=True)
    contenders = {
        "adcompile": lambda: (lambda r: [r[0], *r[1]])(vg(*args)),
        "hand numba": lambda: (nb_kernel(*args, out), list(out))[1],
        "numpy": lambda: np_fn(*args),
        "sympy": lambda: sp_fn(*args),
        **optional_contenders(syms, exprs, args, n),
    }
    res = {"first_call_s": first, "median_s": {}, "mismatch": {}, "missing": {}}
    for cname, fn in contenders.items():
        if isinstance(fn, str):
            res["missing"][cname] = fn
            continue
        try:
            bad = mismatch(fn(), ref, n)  # warm-up call doubles as the correctness check
        except Exception as exc:  # an optional backend failing must not stop the run
            res["missing"][cname] = f"failed: {exc!r}"
            continue
        if bad:
            res["mismatch"][cname] = bad
            print(f"!!! MISMATCH {name} {cname} vs adcompile: {bad}", file=sys.stderr)
        res["median_s"][cname] = median_time(fn, repeat)
    n_arrays = sum(isinstance(a, np.ndarray) for a in args)
    res["bytes"] = 8 * n * (n_arrays + len(ref))
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=lambda s: int(float(s)), default=1_000_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--quick", action="store_true", help="smoke run: N=1e4, repeat 2")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.repeat = 10_000, 2
    numba.set_num_threads(args.threads)
    n = args.n
    bw = copy_bandwidth(args.repeat)
    print(
        f"N={n}  repeat={args.repeat}  numba threads={numba.get_num_threads()}  "
        f"copy bandwidth={bw / 1e9:.2f} GB/s (read+write)"
    )
    rng = np.random.default_rng(0)
    results = {name: run_case(name, n, args.repeat, rng) for name in CASES}
    for r in results.values():
        r["floor_s"] = r["bytes"] / bw
    names = ["adcompile", "hand numba", "numpy", "sympy"]
    names += [c for c in ("jax", "symengine") if any(c in r["median_s"] for r in results.values())]
    for c in ("jax", "symengine"):
        why = {r["missing"].get(c) for r in results.values()} - {None}
        if why:
            print(f"{c}: {', '.join(sorted(why))}")
    per = 1e3 * 1e6 / n  # seconds per call -> ms per 1e6 points
    head = ["case", "floor", *names, "adc/hand", "adc/floor", "adc 1st (s)"]
    rows = []
    for name, r in results.items():
        ms = r["median_s"]
        adc_t = ms["adcompile"]
        cells = [f"{ms[c] * per:.2f}" if c in ms else "-" for c in names]
        hand = f"{adc_t / ms['hand numba']:.2f}" if "hand numba" in ms else "-"
        floor, first = f"{r['floor_s'] * per:.2f}", f"{r['first_call_s']:.2f}"
        ratios = [hand, f"{adc_t / r['floor_s']:.1f}"]
        rows.append([name, floor, *cells, *ratios, first])
    widths = [max(len(h), *(len(row[k]) for row in rows)) for k, h in enumerate(head)]
    print("times: median ms per 1e6 points")
    for row in [head, *rows]:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths)))
    if any(r["mismatch"] for r in results.values()):
        print("!!! SOME CONTENDERS DISAGREE WITH ADCOMPILE (see above)", file=sys.stderr)
    if args.json:
        mods = {"numpy": np, "numba": numba, "sympy": sympy, "adcompile": adc}
        info = {k: getattr(m, "__version__", "?") for k, m in mods.items()}
        info.update(platform=platform.platform(), processor=platform.processor())
        info.update(python=platform.python_version(), cpu_count=os.cpu_count())
        doc = {"n": n, "repeat": args.repeat, "threads": numba.get_num_threads()}
        doc.update(copy_bandwidth_Bps=bw, machine=info, cases=results)
        with open(args.json, "w") as fh:
            json.dump(doc, fh, indent=2)
        print(f"wrote {args.json}")
    return 1 if any(r["mismatch"] for r in results.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
