"""Dask scale-out: throughput against the number of worker processes, and overhead per chunk.

Usage: python benchmarks/bench_dask.py [--points 1e8] [--chunk 1e7] [--workers 1,2]
                                       [--repeat 5] [--json out.json] [--quick]

The BCE loss of benchmarks/bench_eval.py (C4: inputs w, x, b, t) with its full gradient,
summed over every point (`value_and_grad(reduce="mean")`: one task per chunk computes the
chunk's fused sums, Dask's tree reduction adds them). The data (x, t: --points each) are
made once and persisted on the cluster, so the timings are the evaluation alone:

- `dask, k workers`: a `distributed.LocalCluster` of k processes with one thread each;
  median seconds of `da.compute(...)` over --repeat runs after 3 s of warm-up runs (each
  worker builds its evaluator and its compiled tier then, the interpreter answering in the
  meantime), and points per second;
- `in memory, 2 threads`: the same evaluator on the same data as NumPy arrays in this
  process (`numba.set_num_threads(2)`), the target the cluster is compared with;
- overhead per chunk: (time with chunks of 1e4 - time with one chunk) / number of chunks,
  over 1e6 points on 1 worker (scheduling, transfer of the partial sums, Python per task).

Targets (issue 6 of 7, 2-core machine): 2 workers >= 1.7x the throughput of 1 worker, and
within 1.3x of the in-memory evaluator with 2 threads.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import dask
import dask.array as da
import numba
import numpy as np
from _common import machine_info, sizes, write_json
from distributed import Client, LocalCluster

import adcompile as adc

C4 = "z = w*x + b\np = 1/(1+exp(-z))\n-(t*log(p)+(1-t)*log(1-p))"


def _timed(fn, repeat: int, warm_s: float = 3.0) -> float:
    start = time.perf_counter()
    fn()  # warm: each worker builds its evaluator and (in the background) its compiled tier
    while time.perf_counter() - start < warm_s:
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _data(points: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(points)
    return x, (x + rng.logistic(size=points) > 0).astype(np.float64)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=sizes, default=[100_000_000])
    ap.add_argument("--chunk", type=float, default=1e7)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--quick", action="store_true", help="smoke run: 2e6 points, chunks of 5e5")
    args = ap.parse_args(argv)
    if args.quick:
        args.points, args.chunk, args.repeat = [2_000_000], 5e5, 2
    points, chunk = args.points[0], int(args.chunk)
    workers = [int(w) for w in args.workers.split(",")]
    print(machine_info())
    warnings.filterwarnings("ignore", message=".*[Ll]arge graph.*")  # from_array, then persist
    ev = adc.compile(C4).value_and_grad(reduce="mean")
    ev.wait()
    x, t = _data(points)
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    memory = _timed(lambda: ev(0.5, x, 0.1, t), args.repeat)
    want = ev(0.5, x, 0.1, t)
    rows = [("in memory, 2 threads", memory)]
    print(f"{points:,} points, chunks of {chunk:,}, median of {args.repeat}")
    print(f"  in memory, 2 threads: {memory:.3f} s  {points / memory / 1e6:.0f}M points/s")
    overhead = None
    for k in workers:
        cluster = LocalCluster(
            n_workers=k, threads_per_worker=1, processes=True, dashboard_address=None
        )
        with cluster, Client(cluster) as client:
            dx, dt = client.persist([da.from_array(a, chunks=chunk) for a in (x, t)])

            def run(dx=dx, dt=dt):
                value, grad = ev(0.5, dx, 0.1, dt)
                return dask.compute(value, *grad)

            got = run()
            if not np.allclose(got[0], want[0], rtol=1e-10):
                print(f"MISMATCH: dask {got[0]!r} vs in memory {want[0]!r}")
                return 1
            seconds = _timed(run, args.repeat)
            rows.append((f"dask, {k} worker{'s' if k > 1 else ''}", seconds))
            print(f"  dask, {k} workers: {seconds:.3f} s  {points / seconds / 1e6:.0f}M points/s")
            if k == 1:
                n = 1_000_000
                small = client.persist([da.from_array(a[:n], chunks=10_000) for a in (x, t)])
                one = client.persist([da.from_array(a[:n], chunks=n) for a in (x, t)])
                many_s = _timed(lambda s=small: dask.compute(*ev(0.5, s[0], 0.1, s[1])), 3)
                one_s = _timed(lambda s=one: dask.compute(*ev(0.5, s[0], 0.1, s[1])), 3)
                overhead = (many_s - one_s) / 100
    times = dict(rows)
    print("\nratios (targets: 2 workers / 1 worker >= 1.7; dask 2 workers / in memory <= 1.3)")
    if "dask, 1 worker" in times and "dask, 2 workers" in times:
        one, two = times["dask, 1 worker"], times["dask, 2 workers"]
        print(f"  throughput 2 workers / 1 worker: {one / two:.2f}")
        print(f"  time dask 2 workers / in memory 2 threads: {two / memory:.2f}")
    if overhead is not None:
        print(f"  overhead per chunk (1 worker): {overhead * 1e3:.2f} ms")
    if args.json:
        write_json(args.json, {"machine": machine_info(), "points": points, "chunk": chunk,
                               "times_s": times, "overhead_per_chunk_s": overhead})  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
