"""Evaluators over Dask arrays (DESIGN.md section 6): lazy results, one task per chunk.

`Evaluator.__call__` hands a call here when an input (or a direction) is a Dask array. The
inputs are aligned by Dask's rules (broadcasting, chunks unified; NumPy arrays and numbers
mixed in become Dask arrays), and

- without `reduce`, `dask.array.apply_gufunc` runs the evaluator on each block: one task per
  block computes the value and every derivative in one pass (the kernel's fused loop), and
  its several outputs become Dask arrays in the structure of the evaluator's result (a
  `(value, grad)` pair, a Jacobian, ...). A vector input (a vector formula, DESIGN.md section
  2b) keeps its last axis in one chunk; a vector output's length comes from the evaluator;
- with `reduce="sum"|"mean"`, each block's fused sums (the evaluator with `reduce="sum"` on
  that block) are combined by Dask's tree reduction (`Array.sum`, `dask.array.reduction`) on
  the workers: every result is a 0-d Dask array.

A block runs on one thread (Dask runs blocks in parallel: a worker's threads, a cluster's
workers), not on the evaluator's thread pool. Tasks pickle small: an evaluator travels as
its formula's text and options (`_Task`), and
each worker process builds it once (`_evaluator`, cached per process), not once per task; it
then answers with its instant tier while the compiled tier is built, and loads the compiled
kernel from its own disk cache when it was built before.
"""

from __future__ import annotations

import functools
import pickle
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np

if TYPE_CHECKING:
    from adcompile.api.evaluator import Evaluator

_INSTALL = "Dask arrays need Dask: pip install 'adcompile[dask]'"
#: The loaded modules: no Dask array can exist before "dask.array" is among them.
MODULES: Final = sys.modules


def has_dask(args: Sequence[Any], kwargs: dict[str, Any]) -> bool:
    """Whether any argument (or a value in a dict/sequence of directions) is a Dask array."""
    if "dask.array" not in sys.modules:
        return False  # no Dask array can exist: Dask is not loaded
    values: list[Any] = [*args, *kwargs.values()]
    while values:
        v = values.pop()
        if isinstance(v, dict):
            values += v.values()
        elif isinstance(v, (tuple, list)):
            values += v
        elif _is_dask(v):
            return True
    return False


def _is_dask(value: Any) -> bool:
    return type(value).__module__.startswith("dask.array") and hasattr(value, "chunks")


def _dask_array() -> Any:
    try:
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - a Dask array implies Dask
        raise ImportError(_INSTALL) from exc
    return da


@functools.lru_cache(maxsize=64)
def _evaluator(spec: bytes) -> Evaluator:
    """The evaluator a task names, built once per process (see `_Task`)."""
    formula, kind, wrt, bare, reduce = pickle.loads(spec)
    return type(formula).rebuild_evaluator(formula, kind, wrt, bare, reduce)  # type: ignore[no-any-return]


class _Task:
    """The function of one block: the evaluator named by `spec` (formula text and options,
    pickled) on the block's inputs, its results as a flat tuple (or, with `sums`, the sums
    as one array shaped `(1,) * batch_ndim + (n,)`)."""

    def __init__(self, spec: bytes, n_inputs: int, keyword: str | None, sums: int = -1) -> None:
        self.spec, self.n_inputs, self.keyword, self.sums = spec, n_inputs, keyword, sums

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Task, (self.spec, self.n_inputs, self.keyword, self.sums))

    @property
    def __name__(self) -> str:  # the name of its tasks in Dask's graph and dashboard
        return "adcompile-sums" if self.sums >= 0 else "adcompile"

    def __dask_tokenize__(self) -> tuple[Any, ...]:  # the same call, the same keys
        return (self.spec, self.n_inputs, self.keyword, self.sums)

    def __call__(self, *blocks: Any) -> Any:
        import numba  # (its thread count is per calling thread)

        ev = _evaluator(self.spec)
        inputs, seeds = blocks[: self.n_inputs], blocks[self.n_inputs :]
        kw = {self.keyword: list(seeds)} if self.keyword is not None and seeds else {}
        threads = numba.get_num_threads()
        numba.set_num_threads(1)  # Dask runs the blocks in parallel: one thread per block
        try:
            leaves = _leaves(ev(*inputs, **kw))
        finally:
            numba.set_num_threads(threads)
        if self.sums < 0:
            arrays = tuple(np.asarray(leaf, dtype=np.float64) for leaf in leaves)
            return arrays if len(arrays) > 1 else arrays[0]
        flat = np.concatenate([np.ravel(leaf) for leaf in leaves]).astype(np.float64)
        return flat.reshape((1,) * self.sums + (-1,))


def _leaves(result: Any) -> list[Any]:
    """The arrays (or numbers) of a result, depth first (results nest two levels at most)."""
    if isinstance(result, tuple):
        return [leaf for part in result for leaf in _leaves(part)]
    return [result]


def _rebuild(like: Any, leaves: list[Any]) -> Any:
    """`like`'s structure with its leaves replaced, in `_leaves` order."""
    if isinstance(like, tuple):
        parts = [_rebuild(part, leaves) for part in like]
        return tuple(parts) if type(like) is tuple else tuple.__new__(type(like), parts)
    return leaves.pop(0)


def dask_call(ev: Evaluator, args: tuple[Any, ...], out: Any, kwargs: dict[str, Any]) -> Any:
    """`ev(*args, **kwargs)` with Dask arrays among the values: Dask arrays in the
    structure of `ev`'s result (see the module docstring)."""
    from adcompile.api.results import bind

    da = _dask_array()
    if out is not None:
        raise TypeError("out= cannot be used with Dask arrays (the results are lazy Dask arrays)")
    kwargs = dict(kwargs)
    seeds = ev._seed_values(kwargs)
    values = bind(ev.inputs, args, kwargs) + seeds
    names = ev.inputs + tuple(f"{ev._seed_kw}[{s}]" for s in ev.seeds)
    arrays = []
    for name, v in zip(names, values):
        if not _is_dask(v):
            from adcompile.api.results import as_array

            v = as_array(name, v)  # the checks and errors of a NumPy call
        if v.dtype not in (np.float32, np.float64):
            v = v.astype(np.float64)
        arrays.append(da.asarray(v))
    vector = ev._vector.vector if ev._vector is not None else (False,) * len(arrays)
    for k, (a, v) in enumerate(zip(arrays, vector)):
        if v:
            if a.ndim == 0:
                raise TypeError(f"input '{names[k]}' is a vector: give it an array")
            arrays[k] = a.rechunk({a.ndim - 1: -1})  # a vector's elements in one block
    arrays = _aligned(da, arrays, vector)
    formula = ev._formula
    if formula is None:
        raise TypeError("an Evaluator built without its Formula cannot run on Dask arrays")
    n_in, keyword = len(ev.inputs), ev._seed_kw if ev.seeds else None
    # one point (the vectors' lengths as given) tells the shapes of the results
    sample = [np.full(a.shape[-1:], 0.5) if v else 0.5 for a, v in zip(arrays, vector)]
    probe = ev(*sample[:n_in], **({keyword: sample[n_in:]} if keyword else {}))
    if ev.reduce is not None:
        spec = pickle.dumps((formula, ev.kind, ev.wrt, ev._bare, "sum"))
        return _reduced(da, ev, arrays, vector, _Task(spec, n_in, keyword), probe)
    spec = pickle.dumps((formula, ev.kind, ev.wrt, ev._bare, None))
    shapes = [np.shape(leaf) for leaf in _leaves(probe)]
    ins = ",".join(f"(e{k})" if v else "()" for k, v in enumerate(vector))
    outs = ",".join(
        "(" + ",".join(f"o{j}_{d}" for d in range(len(s))) + ")" for j, s in enumerate(shapes)
    )
    sizes = {f"o{j}_{d}": n for j, s in enumerate(shapes) for d, n in enumerate(s)}
    single = {a.dtype for a in arrays if a.ndim} == {np.dtype(np.float32)}  # as NumPy calls
    results = da.apply_gufunc(
        _Task(spec, n_in, keyword),
        f"{ins}->{outs}",
        *arrays,
        output_dtypes=[np.float64] * len(shapes) if len(shapes) > 1 else np.float64,
        output_sizes=sizes,
        vectorize=False,
    )
    leaves = list(results) if len(shapes) > 1 else [results]
    if single:
        leaves = [leaf.astype(np.float32) for leaf in leaves]
    return _rebuild(probe, leaves)


def _aligned(da: Any, arrays: list[Any], vector: Sequence[bool]) -> list[Any]:
    """The inputs broadcast to the batch shape (a vector's elements on its last axis) and
    chunked alike along each batch axis (Dask's `unify_chunks`)."""
    batch = [a.shape[:-1] if v else a.shape for a, v in zip(arrays, vector)]
    try:
        shape = np.broadcast_shapes(*batch)
    except ValueError:
        raise ValueError(f"input shapes do not broadcast together ({batch})") from None
    nd = len(shape)
    pairs: list[Any] = []
    wide = [k for k, a in enumerate(arrays) if a.ndim]  # one number stays one (0-d): the
    for k in wide:  # kernel then reads it once per block
        v = vector[k]
        a = da.broadcast_to(arrays[k], shape + arrays[k].shape[-1:] if v else shape)
        pairs += [a, (*range(nd), nd + k) if v else tuple(range(nd))]
    aligned = list(arrays)
    for k, a in zip(wide, da.core.unify_chunks(*pairs)[1] if pairs else ()):
        aligned[k] = a
    return aligned


def _reduced(
    da: Any, ev: Evaluator, arrays: list[Any], vector: Sequence[bool], task: _Task, probe: Any
) -> Any:
    """The sums (or means) over every point, as 0-d Dask arrays: fused sums per block, then
    Dask's tree reduction."""
    shape = np.broadcast_shapes(*(a.shape[:-1] if v else a.shape for a, v in zip(arrays, vector)))
    nd = len(shape)
    index = tuple(range(nd))
    pairs: list[Any] = []
    for k, (a, v) in enumerate(zip(arrays, vector)):
        pairs += [a, (*index, nd + 1 + k) if v else index[: a.ndim]]
    task.sums = nd
    shapes = [np.shape(leaf) for leaf in _leaves(probe)]  # a vector's sums: its length
    ends = np.cumsum([0] + [int(np.prod(s)) for s in shapes])
    n = int(ends[-1])
    parts = da.blockwise(
        task, (*index, nd), *pairs, new_axes={nd: n}, adjust_chunks=dict.fromkeys(index, 1),
        concatenate=True, dtype=np.float64, meta=np.empty((0,) * (nd + 1)),
    )  # fmt: skip
    totals = parts.sum(axis=index) if nd else parts
    if ev.reduce == "mean":
        size = int(np.prod(shape))
        totals = totals / size if size else totals * np.nan
    leaves = [totals[ends[j] : ends[j + 1]].reshape(s) for j, s in enumerate(shapes)]
    return _rebuild(probe, leaves)
