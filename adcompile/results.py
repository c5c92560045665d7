"""What evaluators return and take: `Grad`, result layouts, and checks of inputs and `out=`.

`pack` arranges a kernel's flat outputs by a `products` layout (tuples, `Grad`s), `bind` binds
call arguments to input names, `as_array` and `check_out` check arrays with clear messages.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from adcompile.errors import did_you_mean
from adcompile.products import Grads, Layout, Matrix


class Grad(tuple):  # type: ignore[type-arg]
    """A gradient: a tuple in `wrt` order whose entries are also attributes (`g.x`, `g['x']`).

    `Grad(values, fields)` builds one; each tuple of field names gets its own subclass (made
    once, like a named tuple), so building a gradient costs no more than building a tuple.
    """

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def __new__(cls, values: Iterable[Any], fields: Sequence[str]) -> Grad:
        return tuple.__new__(grad_class(tuple(fields)), values)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            if key not in self._fields:
                raise KeyError(f"no gradient entry '{key}'{did_you_mean(key, self._fields)}")
            return tuple.__getitem__(self, self._fields.index(key))
        return tuple.__getitem__(self, key)

    def _asdict(self) -> dict[str, Any]:
        """The entries as a dict, in order."""
        return dict(zip(self._fields, self))

    def __repr__(self) -> str:
        return "Grad(" + ", ".join(f"{k}={v!r}" for k, v in zip(self._fields, self)) + ")"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Grad, (tuple(self), self._fields))


@functools.lru_cache(maxsize=1024)
def grad_class(fields: tuple[str, ...]) -> type[Grad]:
    """The Grad subclass for these field names: one read-only property per name."""
    attrs: dict[str, Any] = {"__slots__": (), "_fields": fields}
    for k, name in enumerate(fields):
        if not name.startswith("_"):  # `g['_x']` still works
            attrs[name] = property(operator.itemgetter(k), doc=f"d/d{name}")
    return type("Grad", (Grad,), attrs)


def pack(layout: Layout, results: Sequence[Any], grad_cls: type[Grad]) -> Any:
    """Results arranged by a layout (one level of tuples over ints and `Grads`: no recursion
    beyond that depth, which layouts never exceed)."""
    if isinstance(layout, int):
        return results[layout]
    if isinstance(layout, Grads):
        if layout.bare:
            return results[layout.indices[0]]
        return tuple.__new__(grad_cls, [results[i] for i in layout.indices])
    return tuple(pack(part, results, grad_cls) for part in layout)


def matrix_entries(matrix: np.ndarray, layout: Matrix) -> list[np.ndarray]:
    """Views of a (..., rows, cols) array, one per entry, row-major (the kernel's order)."""
    return [matrix[..., i, j] for i in range(layout.rows) for j in range(layout.cols)]


def as_array(name: str, value: Any) -> np.ndarray:
    """An input as a float64 or float32 array (no copy when it already is one)."""
    a = np.asarray(value)
    if a.dtype in (np.float64, np.float32):
        return a
    if a.dtype.kind == "c":
        raise TypeError(f"input '{name}' is complex: adcompile evaluates real formulas")
    try:
        return a.astype(np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"input '{name}': expected a number or an array of numbers, got {type(value).__name__}"
        ) from None


def sequence(out: Any, count: int, what: str) -> list[Any]:
    if not isinstance(out, (tuple, list)):
        raise TypeError(f"out: expected a tuple of {count} {what}, got {type(out).__name__}")
    if len(out) != count:
        raise ValueError(f"out: expected {count} {what}, got {len(out)}")
    return list(out)


def out_dtype(a: Any) -> Any:
    return a.dtype if isinstance(a, np.ndarray) else np.float64


def check_out(a: Any, shape: tuple[int, ...]) -> None:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"out: expected NumPy arrays, got {type(a).__name__}")
    if a.shape != shape:
        raise ValueError(f"out: array of shape {a.shape}, expected the batch shape {shape}")
    if a.dtype not in (np.float64, np.float32):
        raise TypeError(f"out: arrays must be float64 or float32, not {a.dtype}")
    if not a.flags.writeable:
        raise ValueError("out: array is read-only")


def bind(inputs: tuple[str, ...], args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    if len(args) > len(inputs):
        raise TypeError(
            f"expected at most {len(inputs)} inputs ({', '.join(inputs)}), got {len(args)}"
        )
    bound = dict(zip(inputs, args))
    for name, value in kwargs.items():
        if name not in inputs:
            raise TypeError(
                f"unknown input '{name}'{did_you_mean(name, inputs)}; "
                f"inputs are {', '.join(inputs)}"
            )
        if name in bound:
            raise TypeError(f"input '{name}' given twice (by position and by name)")
        bound[name] = value
    missing = [n for n in inputs if n not in bound]
    if missing:
        raise TypeError(
            f"missing value for input{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(m) for m in missing)}"
        )
    return [bound[n] for n in inputs]
