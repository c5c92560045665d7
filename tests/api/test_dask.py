"""Evaluators over Dask arrays (DESIGN.md section 6): lazy results, one task per block, fused
tree reductions, and a real `distributed` cluster with process workers. Oracle: the same
evaluator on the same data as NumPy arrays."""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import adcompile as adc
from adcompile.api.daskcall import _evaluator

da = pytest.importorskip("dask.array")  # a dev dependency: CI installs it (adcompile[dask])

C3 = "log(x*y) + sin(x)^2*exp(-y)"


def _close(got: Any, want: Any) -> None:
    """Same structure (tuples, Grad) and values; every leaf of `got` a Dask array."""
    if isinstance(want, tuple):
        assert type(got) is type(want) and len(got) == len(want)
        for g, w in zip(got, want):
            _close(g, w)
        return
    assert isinstance(got, da.Array), type(got)
    np.testing.assert_allclose(got.compute(), want, rtol=1e-13, atol=1e-300)


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.uniform(0.2, 3, (40, 30)), rng.uniform(0.2, 3, 30)


def test_results_are_lazy_and_match_numpy(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = data
    vg = adc.compile(C3).value_and_grad()
    dx = da.from_array(x, chunks=(15, 12))
    got = vg(dx, y)  # a NumPy array beside a Dask array: broadcast, chunks aligned
    _close(got, vg(x, y))
    assert got[0].chunks == ((15, 15, 10), (12, 12, 6))
    _close(vg(dx, 1.5), vg(x, 1.5))  # and a number
    _close(vg(x=dx, y=da.from_array(y, chunks=7)), vg(x, y))  # chunks unified
    _close(adc.compile(C3)(dx, y), adc.compile(C3)(x, y))


def test_one_task_per_block_computes_every_output(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = data
    vg = adc.compile(C3).value_and_grad()
    value, grad = vg(da.from_array(x, chunks=(20, 30)), y)
    graph = dict(value.__dask_graph__())
    # the kernel runs once per block: 2 blocks, whatever the number of outputs (3); the
    # outputs are picked from its results
    layers = {k[0] for k in graph if isinstance(k, tuple) and k[0].startswith("adcompile-")}
    assert len(layers) == 1
    assert len([k for k in graph if isinstance(k, tuple) and k[0] in layers]) == 2
    assert value.name != grad.x.name and grad.x.name != grad.y.name


@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_reduce_is_a_tree_of_fused_partial_sums(
    reduce: str, data: tuple[np.ndarray, np.ndarray]
) -> None:
    x, y = data
    f = adc.compile(C3)
    got = f.value_and_grad(reduce=reduce)(da.from_array(x, chunks=(7, 9)), y)  # type: ignore[arg-type]
    want = f.value_and_grad(reduce=reduce)(x, y)  # type: ignore[arg-type]
    assert got[0].shape == () and got[1].x.shape == ()
    _close(got, want)


def test_products_and_directions(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = data
    f = adc.compile("x*y^2 + sin(x)")
    dx = da.from_array(x, chunks=(10, 10))
    _close(f.hessian()(dx, y), f.hessian()(x, y))
    assert f.hessian()(dx, y).shape == (40, 30, 2, 2)
    _close(f.jacobian()(dx, y), f.jacobian()(x, y))
    tangents = [da.ones_like(dx), 0.5]
    _close(f.jvp()(dx, y, tangents=tangents), f.jvp()(x, y, tangents=[np.ones_like(x), 0.5]))
    _close(f.vjp()(dx, y, cotangents=dx), f.vjp()(x, y, cotangents=x))
    _close(f.grad("x")(dx, y), f.grad("x")(x, y))


def test_vector_formulas(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, _ = data
    f = adc.compile("sum(x^2 * sin(x)) + a*x[0]")
    dx = da.from_array(x, chunks=(15, 10))  # elements split over blocks: gathered first
    _close(f.value_and_grad()(dx, 2.0), f.value_and_grad()(x, 2.0))
    _close(f.value_and_grad(reduce="sum")(dx, 2.0), f.value_and_grad(reduce="sum")(x, 2.0))
    g = adc.compile("x * a")  # a vector result
    _close(g.value_and_grad()(dx, 3.0), g.value_and_grad()(x, 3.0))


def test_float32_stays_float32() -> None:
    x = np.linspace(1, 2, 100, dtype=np.float32)
    vg = adc.compile(C3).value_and_grad()
    got = vg(da.from_array(x, chunks=30), np.float32(0.5))
    assert got[0].dtype == np.float32 and got[1].x.dtype == np.float32
    np.testing.assert_allclose(got[0].compute(), vg(x, np.float32(0.5))[0], rtol=1e-6)


def test_bad_calls_give_clear_errors() -> None:
    vg = adc.compile(C3).value_and_grad()
    dx = da.ones(10, chunks=5)
    with pytest.raises(TypeError, match="out="):
        vg(dx, 1.0, out=(np.empty(10), (np.empty(10), np.empty(10))))
    with pytest.raises(ValueError, match="broadcast"):
        vg(dx, np.ones(3))
    with pytest.raises(TypeError, match="'y'"):
        vg(dx, "a")
    with pytest.raises(TypeError, match="unknown input 'z'"):
        vg(dx, z=1.0)


def test_tasks_pickle_small_and_build_once_per_process() -> None:
    vg = adc.compile(C3).value_and_grad()
    value, _ = vg(da.ones(10, chunks=5), 1.0)
    tasks = [v for v in dict(value.__dask_graph__()).values() if "Task" in type(v).__name__]
    blob = pickle.dumps(tasks)
    assert len(blob) < 4000  # text and options, no kernel, no arrays of results
    _evaluator.cache_clear()
    value.compute()
    value.compute()
    assert _evaluator.cache_info().misses == 1  # built once, then reused by every block


def test_without_dask_a_clear_error() -> None:
    code = (
        "import sys; sys.modules['dask'] = None; sys.modules['dask.array'] = None\n"
        "import adcompile as adc\n"
        "from adcompile.api.daskcall import _dask_array\n"
        "try:\n    _dask_array()\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "pip install 'adcompile[dask]'" in out


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.mark.slow  # starts two worker processes (seconds); CI runs it
def test_a_distributed_cluster_of_processes(client: Any) -> None:
    rng = np.random.default_rng(5)
    x, y = rng.uniform(0.2, 3, 20_000), rng.uniform(0.2, 3, 20_000)
    f = adc.compile(C3)
    dx, dy = da.from_array(x, chunks=2_500), da.from_array(y, chunks=2_500)
    value, grad = f.value_and_grad()(dx, dy)
    got = client.gather(client.compute([value, grad.y]))  # on the workers
    want = f.value_and_grad()(x, y)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-13)
    np.testing.assert_allclose(got[1], want[1].y, rtol=1e-13)
    total = f.value_and_grad(reduce="sum")(dx, dy)
    np.testing.assert_allclose(client.compute(total[1].x).result(), want[1].x.sum(), rtol=1e-12)
    # each worker process built the evaluator once for its 4 blocks, not once per block
    built = client.run(lambda: _evaluator.cache_info().misses)
    assert len(built) == 2 and all(n <= 2 for n in built.values()), built
