"""Memory: the resident memory a user's process keeps per formula, and formulas per second.

Usage: python benchmarks/bench_memory.py [--modes instant,compiled] [--instant-n 2000]
                                         [--compiled-n 200] [--points 1000]
                                         [--timeout 1800] [--json out.json]
       python benchmarks/bench_memory.py --quick   # smoke run: 100 instant, 5 compiled

In a fresh child process, N distinct formulas are compiled one after another and each one's
evaluator is kept (as a user holding them would): `adc.compile(text).value_and_grad()`, then
one call on --points (1,000) points; the result arrays are dropped. The formulas are the
Feynman corpus (benchmarks/formulas/feynman.py) with a distinct factor in front,
f"{k + 2}*(...)", cycled until there are N. The resident memory (RSS, /proc/self/statm, or
psutil when installed) is read after a warm-up formula (one-time costs: imports, the parser,
Numba's runtime) and after the N formulas (gc.collect() before each reading).

Modes:
  instant   the first call only: the interpreter tier (N default 2,000; target 50 kB/formula).
            An adcompile without tiers (no `vg.tier`) runs backend="numpy" here instead.
  compiled  each evaluator brought to the compiled tier with vg.wait() and called again (N
            default 200; target 0.5 MiB/formula). An adcompile without `vg.wait` runs
            backend="numba" here instead.
Each mode runs with a new, empty ADCOMPILE_CACHE_DIR ("cold"), then in a second child on the
same directory ("warm"). Also shown: the RSS of adcompile's compile worker (a child process of
the benchmark's child, found through /proc/<pid>/task/*/children or psutil), the largest seen
during the run and how many distinct workers were seen; "n/a" when there is none.
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import machine_info, print_table, run_child, write_json
from formulas.feynman import CORPUS

import adcompile as adc

MiB = 1 << 20
TARGETS = {"instant": 50e3, "compiled": 0.5 * MiB}  # bytes per formula
TARGET_TEXT = {"instant": "<= 50 kB", "compiled": "<= 0.5 MiB"}

CHILD = r"""
import gc, json, os, sys, time
spec = json.loads(sys.stdin.read())
sys.path.insert(0, spec["root"])  # the parent's adcompile, not one in the working directory
try:
    import psutil
except ImportError:
    psutil = None
PAGE = os.sysconf("SC_PAGE_SIZE")

def rss(pid="self"):
    if psutil is not None:
        try:
            return psutil.Process(None if pid == "self" else pid).memory_info().rss
        except psutil.Error:
            return None
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return None

def peak():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None

def children():
    if psutil is not None:
        return [p.pid for p in psutil.Process().children(recursive=True)]
    pids = set()
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/children") as f:
                pids.update(int(p) for p in f.read().split())
    except OSError:
        pass
    return sorted(pids)

import adcompile as adc
import numpy as np

mode = spec["mode"]
probe = adc.compile("x*y").value_and_grad()
has_tier, has_wait = hasattr(probe, "tier"), hasattr(probe, "wait")
if mode == "instant":
    backend = "auto" if has_tier else "numpy"
else:
    backend = "auto" if has_wait else "numba"

def build(text, names, arrays):
    vg = adc.compile(text, inputs=names, backend=backend).value_and_grad()
    vg(*arrays)
    if mode == "compiled" and has_wait:
        vg = vg.wait()
        vg(*arrays)
    return vg

rng = np.random.default_rng(0)
bases = [(f, names, [rng.uniform(lo, hi, spec["points"]) for lo, hi in ranges])
         for f, names, ranges in spec["corpus"]]
xy = [rng.uniform(1, 2, spec["points"]) for _ in "xy"]
warm = build("sin(x)*y + exp(x/y)", ["x", "y"], xy)  # one-time costs
gc.collect()
rss0 = rss()
workers, worker_max = set(), 0
kept, tiers = [], {}
t0 = time.perf_counter()
for k in range(spec["n"]):
    text, names, arrays = bases[k % len(bases)]
    vg = build(f"{k + 2}*({text})", names, arrays)
    kept.append(vg)
    tier = str(getattr(vg, "tier", "n/a"))
    tiers[tier] = tiers.get(tier, 0) + 1
    if mode == "compiled" or k % 50 == 0:
        for pid in children():
            r = rss(pid)
            if r:
                workers.add(pid)
                worker_max = max(worker_max, r)
elapsed = time.perf_counter() - t0
gc.collect()
rss1 = rss()
worker_now = [r for r in map(rss, children()) if r]
out = {"rss_before": rss0, "rss_after": rss1, "peak_rss": peak(), "elapsed_s": elapsed}
out.update(backend=backend, has_tier=has_tier, has_wait=has_wait, tiers=tiers)
out.update(workers_seen=len(workers), worker_rss_max=worker_max or None)
out.update(worker_rss_end=max(worker_now) if worker_now else None)
out.update(rss_source="psutil" if psutil is not None else "/proc/self/statm")
print(json.dumps(out))
"""


def run_mode(mode, n, state, cache, args):
    spec = {"mode": mode, "n": n, "points": args.points}
    spec["root"] = str(Path(adc.__file__).resolve().parent.parent)
    spec["corpus"] = [(eq.formula, list(eq.ranges), list(eq.ranges.values())) for eq in CORPUS]
    t0 = time.perf_counter()
    res = run_child(CHILD, spec, cache, args.timeout)
    res.update(mode=mode, cache=state, n=n)
    print(f"  {mode} ({state}, N={n}): {time.perf_counter() - t0:.1f} s")
    if res["status"] != "ok":
        print(f"ERROR {mode} ({state}): {res['status']}: {res.get('error', '')}")
        return res
    per = (res["rss_after"] - res["rss_before"]) / n
    res.update(bytes_per_formula=per, formulas_per_s=n / res["elapsed_s"])
    res["target_bytes_per_formula"] = TARGETS[mode]
    res["meets_target"] = per <= TARGETS[mode]
    return res


def mib(x):
    return "n/a" if x is None else f"{x / MiB:.1f}"


def table(runs):
    head = ["mode", "cache", "N", "formulas/s", "RSS before", "RSS after", "peak"]
    head += ["kB/formula", "MiB/formula", "target", "tiers", "worker RSS max", "end", "workers"]
    rows = []
    for r in runs:
        row = [r["mode"], r["cache"], str(r["n"])]
        if r["status"] != "ok":
            rows.append(row + [r["status"]] + ["-"] * (len(head) - 4))
            continue
        per = r["bytes_per_formula"]
        row += [f"{r['formulas_per_s']:.1f}", mib(r["rss_before"]), mib(r["rss_after"])]
        row += [mib(r["peak_rss"]), f"{per / 1e3:.1f}", f"{per / MiB:.3f}"]
        row += [TARGET_TEXT[r["mode"]] + (" ok" if r["meets_target"] else " OVER")]
        row += [",".join(f"{k}:{v}" for k, v in r["tiers"].items())]
        row += [mib(r["worker_rss_max"]), mib(r["worker_rss_end"]), str(r["workers_seen"])]
        rows.append(row)
    print_table(head, rows)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modes", default="instant,compiled")
    ap.add_argument("--instant-n", type=int, default=2000)
    ap.add_argument("--compiled-n", type=int, default=200)
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per child")
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--quick", action="store_true", help="smoke run: N=100 instant, 5 compiled")
    args = ap.parse_args(argv)
    args.modes = [m for m in args.modes.split(",") if m]
    if set(args.modes) - set(TARGETS):
        ap.error(f"modes are {', '.join(TARGETS)}")
    if args.quick:
        args.instant_n, args.compiled_n = 100, 5
    return args


def main(argv=None):
    args = parse_args(argv)
    sizes = {"instant": args.instant_n, "compiled": args.compiled_n}
    runs = []
    for mode in args.modes:
        cache = Path(tempfile.mkdtemp(prefix=f"bench_memory_{mode}_"))
        try:
            runs += [run_mode(mode, sizes[mode], s, cache, args) for s in ("cold", "warm")]
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    print(f"\n== resident memory kept per formula (evaluator kept, {args.points} points)")
    table(runs)
    ok = [r for r in runs if r["status"] == "ok"]
    if ok:
        r = ok[0]
        print(f"RSS read from {r['rss_source']}; tiers API: tier={r['has_tier']}", end="")
        print(f", wait={r['has_wait']}; backends: {sorted({x['backend'] for x in ok})}")
    bad = len(ok) < len(runs)
    if bad:
        print("!!! SOME RUNS FAILED (see above)", file=sys.stderr)
    if args.json:
        doc = {"points": args.points, "sizes": sizes, "modes": args.modes, "runs": runs}
        write_json(args.json, {**doc, "machine": machine_info()})
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
