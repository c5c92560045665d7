"""Logistic regression by gradient descent over 1e8 points on a Dask cluster.

The data never exist in one piece: `make_data` describes 1e8 labelled points as Dask arrays
whose chunks (1e7 points, 160 MB of inputs each) are generated on the workers from a seed,
chunk by chunk. The loss is the mean binary cross-entropy of a one-feature logistic model,

    z = w*x + b;  p = 1/(1 + exp(-z));  L = mean(-(t*log(p) + (1-t)*log(1-p)))

and one evaluator gives it with its gradient: `value_and_grad(["w", "b"], reduce="mean")`
on Dask arrays makes one task per chunk computing the chunk's fused sums of the loss and both
derivatives, combined by Dask's tree reduction on the workers. Each step of gradient descent
is one pass over the data; each worker builds the compiled kernel once.

    python examples/dask_bce.py [--points 1e8] [--chunk 1e7] [--workers 2] [--steps 5]

The labels come from known weights (w = 2, b = -1) with logistic noise, so the loss must fall
and the weights must move toward them.
"""

from __future__ import annotations

import argparse
import itertools
import time

import dask.array as da
import numpy as np
from distributed import Client, LocalCluster

import adcompile as adc

TRUE_W, TRUE_B = 2.0, -1.0
BCE = "z = w*x + b\np = 1/(1 + exp(-z))\n-(t*log(p) + (1 - t)*log(1 - p))"


def _chunk(block_id: tuple[int, ...], size: int, seed: int, label: bool) -> np.ndarray:
    """Chunk `block_id[0]` of the features (or labels): the same numbers on every call."""
    rng = np.random.default_rng([seed, block_id[0]])
    x = rng.standard_normal(size)
    if not label:
        return x
    noise = rng.logistic(size=size)
    return (TRUE_W * x + TRUE_B + noise > 0).astype(np.float64)


def _peak_mib() -> float:
    """This process's peak resident memory in MiB (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_data(points: int, chunk: int, seed: int = 0) -> tuple[da.Array, da.Array]:
    """Features x and labels t: Dask arrays made chunk by chunk on the workers."""
    chunks = (tuple([chunk] * (points // chunk) + ([points % chunk] if points % chunk else [])),)

    def make(label: bool) -> da.Array:
        def block(block_info: dict | None = None) -> np.ndarray:
            info = block_info[None]  # type: ignore[index]
            return _chunk(info["chunk-location"], info["chunk-shape"][0], seed, label)

        return da.map_blocks(block, chunks=chunks, dtype=np.float64, meta=np.empty(0))

    return make(False), make(True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=float, default=1e8)
    ap.add_argument("--chunk", type=float, default=1e7)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--rate", type=float, default=2.0)
    args = ap.parse_args()
    points, chunk = int(args.points), int(args.chunk)

    loss = adc.compile(BCE, inputs=["w", "b", "x", "t"])
    step = loss.value_and_grad(["w", "b"], reduce="mean")
    cluster = LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, Client(cluster) as client:
        x, t = make_data(points, chunk)
        print(f"{points:,} points in chunks of {chunk:,} on {args.workers} worker processes")
        w, b = 0.0, 0.0
        losses = []
        for k in range(args.steps):
            start = time.perf_counter()
            value, grad = step(w, b, x, t)  # lazy: Dask arrays
            value, dw, db = da.compute(value, grad.w, grad.b)  # one pass, on the workers
            seconds = time.perf_counter() - start
            losses.append(float(value))
            print(
                f"step {k}: loss {float(value):.6f}  w {w:+.4f}  b {b:+.4f}  "
                f"|grad| {float(np.hypot(dw, db)):.2e}  {seconds:.2f} s  "
                f"({points / seconds / 1e6:.0f}M points/s)"
            )
            w, b = w - args.rate * float(dw), b - args.rate * float(db)
        peak = client.run(_peak_mib)  # per worker process: a few chunks, not the data
        chunk_mib = 2 * chunk * 8 / 2**20
        print(
            f"peak memory per worker: {max(peak.values()):.0f} MiB "
            f"(one chunk of x and t: {chunk_mib:.0f} MiB; all the data: "
            f"{2 * points * 8 / 2**20:,.0f} MiB)"
        )
    assert all(a > c for a, c in itertools.pairwise(losses)), "the loss must fall every step"
    assert abs(w - TRUE_W) < abs(TRUE_W) and abs(b - TRUE_B) < abs(TRUE_B)
    print(f"final w {w:+.4f}, b {b:+.4f} (data made with w = {TRUE_W}, b = {TRUE_B})")
    print("the loss fell at every step")


if __name__ == "__main__":
    main()
