"""Vector formulas: value vs value+gradient time against n, per tier, against NumPy and JAX.

Usage: python benchmarks/bench_vectors.py [--n 10,1e3,1e5] [--lsq-n 1e6] [--repeat 7]
                                          [--min-time 0.02] [--families rosenbrock,...]
                                          [--no-jax] [--math simd|libm] [--json out.json]
       python benchmarks/bench_vectors.py --quick   # smoke run: n = 10, 1000, repeat 3

Families (DESIGN.md section 2b; one vector x of length n, or data vectors t, y of length n):
  rosenbrock  sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)
  rastrigin   10*len(x) + sum(x^2 - 10*cos(2*pi*x))
  ackley      -20*exp(-0.2*sqrt(mean(x^2))) - exp(mean(cos(2*pi*x))) + 20 + exp(1)
  lsq-p       sum((y - (p[0] + p[1]*t + p[2]*t^2))^2), gradient with respect to p (a fit)
  lsq-all     the same, gradient with respect to p, t and y (`value_and_grad()`)
The least-squares families also run at --lsq-n (1e6).

For each family and n: median time of `f(...)` (value only) and `f.value_and_grad(...)(...)`
and their ratio (target <= 3), on each tier: the NumPy interpreter (`backend="numpy"`) and
the compiled tier (`backend="auto"` after `.wait()`; `.tier` says which tier answered, and
a tier that fails to build is reported, not timed). Peers timed in the same run on the same
arrays: hand-written NumPy (value, and value + a gradient derived by hand) and, if
importable, JAX (`jax.jit(f)` and `jax.jit(jax.value_and_grad(f))`, float64; not a
dependency of adcompile). Every value and gradient is checked against the hand-written NumPy
one; a disagreement prints MISMATCH and the exit status is 1.

Compile time against n: `adc.compile("sum(x^2 * sin(x))", shapes={"x": n})` plus the
construction of its value_and_grad evaluator and its first call, at n = 10 and n = 10,000,
and without `shapes=` (lengths symbolic): lengths are not unrolled, so the times should be
about equal. JAX's first call of its jitted value_and_grad (trace + XLA compile) beside it.

Each timing is the median over --repeat samples; a sample times enough back-to-back calls to
last --min-time seconds, so the microsecond calls at n = 10 are measured too.
"""

import argparse
import math
import statistics
import sys
import time

import numba
import numpy as np
from _common import machine_info, median_time, sizes, write_json

import adcompile as adc

RTOL = 1e-9  # on values and gradients, relative to the largest magnitude of each


# ---- the families: formula text and the same math for NumPy (xp=np) and JAX (xp=jax.numpy)
def rosenbrock(xp, x):
    return xp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rastrigin(xp, x):
    return 10 * x.shape[-1] + xp.sum(x**2 - 10 * xp.cos(2 * math.pi * x))


def ackley(xp, x):
    a = -20 * xp.exp(-0.2 * xp.sqrt(xp.mean(x**2)))
    return a - xp.exp(xp.mean(xp.cos(2 * math.pi * x))) + 20 + math.e


def lsq(xp, p, t, y):
    return xp.sum((y - (p[0] + p[1] * t + p[2] * t**2)) ** 2)


# ---- gradients derived by hand (NumPy): value and the gradient, one array per wrt input
def rosenbrock_vg(x):
    a, b = x[1:] - x[:-1] ** 2, 1 - x[:-1]
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * a - 2 * b
    g[1:] += 200 * a
    return np.sum(100 * a * a + b * b), [g]


def rastrigin_vg(x):
    w = 2 * math.pi * x
    return 10 * x.size + np.sum(x * x - 10 * np.cos(w)), [2 * x + 20 * math.pi * np.sin(w)]


def ackley_vg(x):
    n, w = x.size, 2 * math.pi * x
    s = math.sqrt(np.mean(x * x))
    ea, ec = math.exp(-0.2 * s), math.exp(np.mean(np.cos(w)))
    g = (4 * ea / (n * s)) * x + (2 * math.pi * ec / n) * np.sin(w)
    return -20 * ea - ec + 20 + math.e, [g]


def lsq_model(p, t):
    return p[0] + p[1] * t + p[2] * t * t


# NOTE: np.sum(a * b), not np.dot: BLAS's threads made np.dot 50x slower than the value on
# a loaded 2-core machine.
def lsq_p_vg(p, t, y):
    r = y - lsq_model(p, t)
    rt = r * t
    return np.sum(r * r), [-2 * np.array([np.sum(r), np.sum(rt), np.sum(rt * t)])]


def lsq_all_vg(p, t, y):
    r = y - lsq_model(p, t)
    rt = r * t
    gp = -2 * np.array([np.sum(r), np.sum(rt), np.sum(rt * t)])
    return np.sum(r * r), [gp, -2 * r * (p[1] + 2 * p[2] * t), 2 * r]


def x_args(rng, n):
    return [rng.uniform(-1.5, 1.5, n)]


def lsq_args(rng, n):
    t = np.linspace(0.0, 1.0, n)
    y = 1 + 2 * t - 3 * t * t + 0.1 * rng.standard_normal(n)
    return [np.array([0.9, 2.1, -2.8]), t, y]


X_IN, LSQ_IN = ("x",), ("p", "t", "y")
LSQ = "sum((y - (p[0] + p[1]*t + p[2]*t^2))^2)"
FAMILIES = {  # name: formula, inputs, wrt (argnums for JAX), args, math, hand value+gradient
    "rosenbrock": (
        "sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)",
        X_IN,
        (0,),
        x_args,
        rosenbrock,
        rosenbrock_vg,
    ),
    "rastrigin": (
        "10*len(x) + sum(x^2 - 10*cos(2*pi*x))",
        X_IN,
        (0,),
        x_args,
        rastrigin,
        rastrigin_vg,
    ),
    "ackley": (
        "-20*exp(-0.2*sqrt(mean(x^2))) - exp(mean(cos(2*pi*x))) + 20 + exp(1)",
        X_IN,
        (0,),
        x_args,
        ackley,
        ackley_vg,
    ),
    "lsq-p": (LSQ, LSQ_IN, (0,), lsq_args, lsq, lsq_p_vg),
    "lsq-all": (LSQ, LSQ_IN, (0, 1, 2), lsq_args, lsq, lsq_all_vg),
}
LSQ_FAMILIES = ("lsq-p", "lsq-all")


# ---- timing and checking
def per_call(fn, repeat, min_s):
    """Median seconds per call of fn(): each of `repeat` samples runs k calls back to back,
    k chosen so that a sample lasts about min_s."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = time.perf_counter() - t0
    k = max(1, min(100_000, math.ceil(min_s / max(one, 1e-7))))

    def sample():
        for _ in range(k):
            fn()

    return median_time(sample, repeat) / k


def disagreement(got, want):
    """None if (value, [grads]) got matches want to RTOL, else a description."""
    (gv, gg), (wv, wg) = got, want
    if not abs(float(gv) - float(wv)) <= RTOL * max(abs(float(wv)), 1e-300):
        return f"value {float(gv)!r} vs {float(wv)!r}"
    if len(gg) != len(wg):
        return f"{len(gg)} gradient entries, expected {len(wg)}"
    for k, (g, w) in enumerate(zip(gg, wg)):
        g, w = np.asarray(g, dtype=np.float64), np.asarray(w, dtype=np.float64)
        if g.shape != w.shape:
            return f"gradient {k}: shape {g.shape} vs {w.shape}"
        scale = float(np.max(np.abs(w))) if w.size else 0.0
        err = float(np.max(np.abs(g - w))) if w.size else 0.0
        if not err <= RTOL * max(scale, 1e-300):
            return f"gradient {k}: max abs err {err:.3g} (scale {scale:.3g})"
    return None


def adc_pair(vg, args):
    """A value_and_grad evaluator's result as (value, [grads in wrt order])."""
    value, grad = vg(*args)
    return value, list(grad) if isinstance(grad, tuple) else [grad]


def jax_contender(math_fn, argnums, args):
    """JAX's jitted value and value_and_grad on these args, as callables; or the reason."""
    try:
        import jax
    except ImportError:
        return "not installed"
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy

    def fn(*a):
        return math_fn(jnp, *a)

    value = jax.jit(fn)
    vg = jax.jit(jax.value_and_grad(fn, argnums=argnums))
    jargs = [jnp.asarray(a) for a in args]

    def run_value():
        return value(*jargs).block_until_ready()

    def run_vg():
        v, g = vg(*jargs)
        jax.block_until_ready(g)
        return float(v), [np.asarray(gi) for gi in g]

    return run_value, run_vg


class Member:
    """One (family, n): the arrays, the reference result, and the measurements."""

    def __init__(self, name, n, rng):
        text, self.inputs, self.argnums, make, self.math, self.hand_vg = FAMILIES[name]
        self.name, self.n, self.text = name, n, text
        self.args = make(rng, n)
        self.wrt = [self.inputs[k] for k in self.argnums]
        self.ref = self.hand_vg(*self.args)
        self.res = {"family": name, "n": n, "formula": text, "wrt": self.wrt}
        self.res.update(tiers={}, peers={}, mismatch={}, missing={})

    def check(self, who, got):
        bad = disagreement(got, self.ref)
        if bad:
            self.res["mismatch"][who] = bad
            print(f"!!! MISMATCH {self.name} n={self.n} {who}: {bad}", file=sys.stderr)

    def time_pair(self, value_fn, vg_fn, repeat, min_s):
        tv, tg = per_call(value_fn, repeat, min_s), per_call(vg_fn, repeat, min_s)
        return {"value_s": tv, "value_and_grad_s": tg, "ratio": tg / tv}

    def adcompile(self, backend, repeat, min_s, math="simd"):
        """Time adcompile on one backend ("numpy": the interpreter; "auto" after wait())."""
        f = adc.compile(self.text, inputs=list(self.inputs), backend=backend, math=math)
        value, vg = f.value, f.value_and_grad(self.wrt)
        self.check(f"adc {backend}", adc_pair(vg, self.args))
        self.check(f"adc {backend} value", (f(*self.args), self.ref[1]))
        if backend == "auto":
            for ev in (value, vg):
                try:
                    ev.wait()
                except Exception as exc:  # a tier that cannot build is reported, not timed
                    why = str(exc).strip().splitlines()[0][:200]
                    self.res["missing"]["adc compiled"] = f"wait(): {type(exc).__name__}: {why}"
            tiers = (value.tier, vg.tier)
            if tiers == ("interpreter", "interpreter"):
                self.res["missing"].setdefault("adc compiled", "still on the interpreter")
                return
            self.check("adc compiled", adc_pair(vg, self.args))
            self.check("adc compiled value", (f(*self.args), self.ref[1]))
            key = "compiled" if tiers == ("compiled", "compiled") else "/".join(tiers)
        else:
            key = "interpreter"
        row = self.time_pair(lambda: f(*self.args), lambda: vg(*self.args), repeat, min_s)
        row.update(value_tier=value.tier, vg_tier=vg.tier, backend=vg.backend)
        self.res["tiers"][key] = row

    def peers(self, repeat, min_s, use_jax):
        def hand_value():
            return self.math(np, *self.args)

        def hand_vg():
            return self.hand_vg(*self.args)

        self.check("numpy value", (hand_value(), self.ref[1]))
        self.res["peers"]["numpy"] = self.time_pair(hand_value, hand_vg, repeat, min_s)
        jx = jax_contender(self.math, self.argnums, self.args) if use_jax else "--no-jax"
        if isinstance(jx, str):
            self.res["missing"]["jax"] = jx
            return
        run_value, run_vg = jx
        self.check("jax", run_vg())
        self.check("jax value", (float(run_value()), self.ref[1]))
        self.res["peers"]["jax"] = self.time_pair(run_value, run_vg, repeat, min_s)


# ---- compile time against n
def compile_once(n, fixed):
    """Seconds: compile(), value_and_grad(), first call at length n (interpreter tier)."""
    x = np.linspace(-1.0, 1.0, n)
    shapes = {"x": n} if fixed else None
    t0 = time.perf_counter()
    f = adc.compile("sum(x^2 * sin(x))", shapes=shapes, backend="numpy")
    t1 = time.perf_counter()
    vg = f.value_and_grad()
    t2 = time.perf_counter()
    vg(x)
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


def jax_first_call(n):
    """Seconds of JAX's first call of a freshly jitted value_and_grad at length n."""
    import jax

    jax.config.update("jax_enable_x64", True)
    fn = jax.jit(jax.value_and_grad(lambda x: jax.numpy.sum(x**2 * jax.numpy.sin(x))))
    x = jax.numpy.linspace(-1.0, 1.0, n)
    t0 = time.perf_counter()
    jax.block_until_ready(fn(x))
    return time.perf_counter() - t0


def compile_scaling(lengths, repeat, use_jax):
    compile_once(3, True)  # warm-up: the parser, imports
    rows = []
    for fixed in (True, False):
        for n in lengths:
            runs = [compile_once(n, fixed) for _ in range(max(repeat, 5))]
            c, e, first = (statistics.median(r[k] for r in runs) for k in range(3))
            row = {"n": n, "shapes": f"{{'x': {n}}}" if fixed else "symbolic"}
            row.update(compile_s=c, evaluator_s=e, build_s=c + e, first_call_s=first)
            rows.append(row)
    jax_s = None
    if use_jax:
        try:
            jax_first_call(3)  # warm-up
            jax_s = {n: statistics.median(jax_first_call(n) for _ in range(3)) for n in lengths}
        except ImportError:
            pass
    for row in rows:
        row["jax_first_call_s"] = jax_s and jax_s[row["n"]]
    return rows


# ---- tables (markdown)
def us(seconds):
    """Microseconds, 3 significant digits or whole numbers."""
    if seconds is None:
        return "-"
    x = 1e6 * seconds
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def rat(a, b):
    return "-" if a is None or b is None else f"{a / b:.2f}"


def markdown(head, rows, left):
    """A markdown table; the first `left` columns (text) left-aligned, the rest right."""
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" if k < left else "---:" for k in range(len(head))) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def results_table(members):
    head = ["family", "n", "adc tier", "value µs", "v+g µs", "v+g/value"]
    head += ["numpy value µs", "numpy v+g µs", "numpy v+g/value", "jax value µs", "jax v+g µs"]
    head += ["adc/numpy v+g", "adc/jax v+g"]
    rows = []
    for m in members:
        npv, npg = (m["peers"].get("numpy", {}).get(k) for k in ("value_s", "value_and_grad_s"))
        jxv, jxg = (m["peers"].get("jax", {}).get(k) for k in ("value_s", "value_and_grad_s"))
        for tier, r in m["tiers"].items():
            v, g = r["value_s"], r["value_and_grad_s"]
            shown = tier if tier == "interpreter" else f"{tier} ({r['backend']})"
            row = [m["family"], f"{m['n']:,}", shown, us(v), us(g), rat(g, v)]
            row += [us(npv), us(npg), rat(npg, npv), us(jxv), us(jxg), rat(g, npg), rat(g, jxg)]
            rows.append(row)
    print("\nValue and value+gradient: median µs per call (target: v+g/value <= 3)\n")
    markdown(head, rows, 3)


def compile_table(rows):
    print("\nCompile time against n: `sum(x^2 * sin(x))`, median ms (build = compile() +")
    print("value_and_grad(); the first call evaluates at length n on the interpreter)\n")
    head = ["n", "shapes", "compile()", "value_and_grad()", "build", f"build / n={rows[0]['n']}"]
    head += ["first call", "jax 1st call"]
    first = {}
    out = []
    for r in rows:
        build = r["build_s"]
        base = first.setdefault(r["shapes"] == "symbolic", build)
        ms = [f"{1e3 * r[k]:.3f}" for k in ("compile_s", "evaluator_s")]
        jax_s = r["jax_first_call_s"]
        row = [f"{r['n']:,}", r["shapes"], *ms, f"{1e3 * build:.3f}", f"{build / base:.2f}"]
        row += [f"{1e3 * r['first_call_s']:.3f}", "-" if jax_s is None else f"{1e3 * jax_s:.1f}"]
        out.append(row)
    markdown(head, out, 2)


# ---- driver
def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=sizes, default=[10, 1_000, 100_000], help="e.g. 10,1e3,1e5")
    ap.add_argument("--lsq-n", type=sizes, default=[1_000_000], help="more n for lsq-*")
    ap.add_argument("--families", default=",".join(FAMILIES), help="comma-separated")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--min-time", type=float, default=0.02, help="seconds per sample")
    ap.add_argument("--compile-n", type=sizes, default=[10, 10_000])
    ap.add_argument("--no-jax", action="store_true", help="leave JAX out")
    ap.add_argument("--math", choices=("simd", "libm"), default="simd", help="compile(math=)")
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--quick", action="store_true", help="smoke run: n = 10, 1000, repeat 3")
    args = ap.parse_args(argv)
    args.families = [f for f in args.families.split(",") if f]
    unknown = sorted(set(args.families) - set(FAMILIES))
    if unknown:
        ap.error(f"unknown families {unknown}; known: {', '.join(FAMILIES)}")
    if args.quick:
        args.n, args.lsq_n, args.repeat, args.min_time = [10, 1_000], [], 3, 0.002
    return args


def main(argv=None):
    args = parse_args(argv)
    print(f"n={args.n} (lsq also {args.lsq_n})  repeat={args.repeat}  ", end="")
    print(f"min sample {args.min_time} s  numba threads={numba.get_num_threads()}  ", end="")
    print(f"math={args.math}")
    rng = np.random.default_rng(0)
    members = []
    for name in args.families:
        for n in args.n + (args.lsq_n if name in LSQ_FAMILIES else []):
            m = Member(name, n, rng)
            for backend in ("numpy", "auto"):
                m.adcompile(backend, args.repeat, args.min_time, args.math)
            m.peers(args.repeat, args.min_time, not args.no_jax)
            members.append(m.res)
            print(f"  {name} n={n:,}: tiers {sorted(m.res['tiers'])}", flush=True)
    results_table(members)
    missing = sorted({(k, why) for m in members for k, why in m["missing"].items()})
    for k, why in missing:
        print(f"\n{k}: {why}")
    scaling = compile_scaling(args.compile_n, args.repeat, not args.no_jax)
    compile_table(scaling)
    bad = any(m["mismatch"] for m in members)
    if bad:
        print("!!! SOME RESULTS DISAGREE WITH THE HAND-WRITTEN GRADIENTS (see above)")
    if args.json:
        doc = {"sizes": args.n, "lsq_sizes": args.lsq_n, "repeat": args.repeat}
        doc.update(min_time_s=args.min_time, families=args.families, members=members)
        write_json(args.json, {**doc, "compile_scaling": scaling, "machine": machine_info()})
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
