"""What evaluators return and take: `Grad`, result layouts, and checks of inputs and `out=`.

`pack` arranges a kernel's flat outputs by a `products` layout (tuples, `Grad`s), `bind` binds
call arguments to input names, `as_array` and `check_out` check arrays with clear messages.
"""

from __future__ import annotations

import functools
import itertools
import numbers
import operator
import reprlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from adcompile.ad.products import Grads, Layout, Matrix
from adcompile.errors import did_you_mean
from adcompile.run.compiled import address


class Grad(tuple):  # type: ignore[type-arg]
    """A gradient: a tuple in `wrt` order whose entries are also attributes (`g.x`, `g['x']`).

    `Grad(values, fields)` builds one; each tuple of field names gets its own subclass (made
    once, like a named tuple), so building a gradient costs no more than building a tuple.

    A Grad is also a value (DESIGN.md section 3): `+ - * /` and unary `-`/`+` act entry by
    entry and give a Grad with the same fields. The other operand may be a number or a NumPy
    array (applied to every entry, broadcasting as NumPy does) or a Grad with the same fields
    in the same order (else `ValueError`); anything else (a tuple, a list, a string) is a
    `TypeError`, so `g + h` never concatenates and `2 * g` never repeats. `sum(grads)` adds
    gradients. `np.asarray(g)` stacks the entries (shape `(n,)`, or `(n, *batch)` for array
    entries). NumPy's own arithmetic (`np.float64(0.5) * g`, `np.ones(3) * g`, `np.add(g, h)`)
    gives a Grad too; other NumPy functions (`np.sum`, `np.linalg.norm`, `np.isfinite`) see
    the stacked array, as they did the tuple. Unpacking, indexing, `==` with tuples, hashing
    and pickling are the tuple's.

    Example:
        >>> g = Grad([1.0, 2.0], ["x", "y"])
        >>> g.x, g["y"], g == (1.0, 2.0)
        (1.0, 2.0, True)
        >>> 0.5 * g - g / 4
        Grad(x=0.25, y=0.5)
        >>> np.asarray(g)
        array([1., 2.])
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

    # -- a value: arithmetic entry by entry ------------------------------------------------
    # `+` and `*` must not fall back to the tuple's concatenation and repetition: Python
    # tries a sequence's concatenation after both `__add__`s return NotImplemented, so a
    # tuple operand of `+` is refused here with a TypeError (see `_concatenation`).
    def __add__(self, other: Any) -> Any:
        return _entrywise(operator.add, self, _concatenation(other, "+"))

    def __radd__(self, other: Any) -> Any:
        return _entrywise(operator.add, _concatenation(other, "+"), self)

    def __sub__(self, other: Any) -> Any:
        return _entrywise(operator.sub, self, other)

    def __rsub__(self, other: Any) -> Any:
        return _entrywise(operator.sub, other, self)

    def __mul__(self, other: Any) -> Any:
        return _entrywise(operator.mul, self, other)

    def __rmul__(self, other: Any) -> Any:
        return _entrywise(operator.mul, other, self)

    def __truediv__(self, other: Any) -> Any:
        return _entrywise(operator.truediv, self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return _entrywise(operator.truediv, other, self)

    def __neg__(self) -> Any:
        return _entrywise(operator.neg, self)

    def __pos__(self) -> Any:
        return _entrywise(operator.pos, self)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """The entries stacked: shape `(n,)`, or `(n, *batch)` for array entries."""
        if copy is False:
            raise ValueError("a Grad's entries are separate objects: stacking them copies")
        return np.array(tuple(self), dtype=dtype)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        # NumPy calls this for `ndarray * g` and `np.float64(2) * g` (instead of converting g
        # to an array and returning an ndarray): its arithmetic is the Grad's. An `out=` has
        # no Grad to write into (`a += g` with an ndarray `a` is a TypeError). Any other
        # ufunc or method (`np.sum` is `np.add.reduce`) sees the stacked entries, as it saw
        # the tuple before Grad had arithmetic.
        op = _ARITHMETIC.get(ufunc)
        if op is not None and method == "__call__":
            return NotImplemented if kwargs else _entrywise(op, *inputs)
        if any(isinstance(o, Grad) for o in kwargs.get("out", ())):
            return NotImplemented
        arrays = [np.asarray(x) if isinstance(x, Grad) else x for x in inputs]
        return getattr(ufunc, method)(*arrays, **kwargs)


#: The NumPy ufuncs that are a Grad's arithmetic, and the operator each is entry by entry.
_ARITHMETIC: dict[np.ufunc, Callable[..., Any]] = {
    np.add: operator.add,
    np.subtract: operator.sub,
    np.multiply: operator.mul,
    np.true_divide: operator.truediv,
    np.negative: operator.neg,
    np.positive: operator.pos,
}


def _concatenation(other: Any, symbol: str) -> Any:
    """`other`, unless it is a plain tuple: `g + (1, 2)` would fall back to concatenation."""
    if isinstance(other, tuple) and not isinstance(other, Grad):
        raise TypeError(
            f"unsupported operand type(s) for {symbol}: 'Grad' and '{type(other).__name__}' "
            "(a Grad adds entry by entry; to concatenate, write (*grad, *other))"
        )
    return other


def _entrywise(op: Callable[..., Any], *operands: Any) -> Any:
    """`op` entry by entry: Grads give their entries (all with the same fields, in order),
    numbers and NumPy arrays go to every entry. NotImplemented for any other operand, so
    that Python raises its TypeError (or asks the other operand)."""
    first: Grad | None = None
    for x in operands:
        if isinstance(x, Grad):
            if first is None:
                first = x
            elif x._fields != first._fields:
                raise ValueError(
                    f"Grads with different fields: ({', '.join(first._fields)}) and "
                    f"({', '.join(x._fields)}); combine gradients with respect to the same "
                    "inputs in the same order"
                )
        elif not isinstance(x, (numbers.Number, np.ndarray)):
            return NotImplemented
    assert first is not None  # one operand is the Grad whose method called this
    columns = [x if isinstance(x, Grad) else itertools.repeat(x) for x in operands]
    return tuple.__new__(type(first), map(op, *columns))


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


#: Kinds of NumPy dtype accepted as input: bool (0/1, as in NumPy), integers, floats.
_NUMERIC_KINDS = frozenset("biuf")


def as_array(name: str, value: Any) -> np.ndarray:
    """An input as a float64 or float32 array (no copy when it already is one).

    Numbers and numeric arrays only (DESIGN.md section 3): bool counts as 0/1, integers and
    other float types become float64; a string, None, an object, datetime, timedelta or
    complex value is a `TypeError` naming the input, and an integer beyond float64 an
    `OverflowError`, never a silent NaN or a number made of a date.

    Raises:
        TypeError: the value is not a number or an array of numbers.
        OverflowError: an integer outside the float64 range.
    """
    if isinstance(value, np.ndarray):
        a = value
    elif isinstance(value, (str, bytes)) or value is None:
        raise TypeError(
            f"input '{name}': expected a number or an array of numbers, got {_what(value)}"
        )
    else:
        try:
            a = np.asarray(value)
        except (TypeError, ValueError) as exc:  # ragged nesting, or an object NumPy refuses
            raise TypeError(f"input '{name}': not an array of numbers ({exc})") from None
    if a.dtype == np.float64 or a.dtype == np.float32:
        return a
    kind = a.dtype.kind
    if kind in _NUMERIC_KINDS:
        return a.astype(np.float64)
    if kind == "O" and a.ndim == 0 and isinstance(value, numbers.Real):
        return np.asarray(_real(name, value))  # a huge int, a Fraction, a SymPy number
    if kind == "c":
        raise TypeError(f"input '{name}' is complex: adcompile evaluates real formulas")
    raise TypeError(f"input '{name}': expected a number or an array of numbers, got {_what(value)}")


def _real(name: str, value: numbers.Real) -> float:
    try:
        return float(value)
    except OverflowError:
        raise OverflowError(
            f"input '{name}': {_what(value)} is outside the float64 range"
        ) from None


def _what(value: Any) -> str:
    """A short description of a value for a message (never its whole text)."""
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype}"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    try:
        text = reprlib.repr(value)  # bounded: never the repr of a whole big list
    except ValueError:  # an int too long to print
        text = "..."
    shown = text if len(text) <= 40 else text[:40] + "..."
    return f"{type(value).__name__} {shown}"


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


def unshared(ins: list[np.ndarray], outs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The inputs, with a copy of each that may share memory with an out array: the kernel
    writes outputs while it still reads inputs, so overlap would read results as inputs
    (NumPy's ufuncs copy in the same way)."""
    spans = [_span(o) for o in outs]
    known = [s for s in spans if s is not None]
    hull = (min(s[0] for s in known), max(s[1] for s in known)) if known else None

    def shared(a: np.ndarray) -> bool:
        span = _span(a)
        whole = span is not None and hull is not None and len(known) == len(spans)
        if whole and (span[1] <= hull[0] or hull[1] <= span[0]):  # type: ignore[index]
            return False  # outside every out array at once: the common case
        return any(_may_share(a, span, o, s) for o, s in zip(outs, spans))

    return [a.copy() if a.ndim and shared(a) else a for a in ins]


def _span(a: np.ndarray) -> tuple[int, int] | None:
    """The bytes a contiguous array covers, [start, end); None for other layouts."""
    if a.flags.c_contiguous or a.flags.f_contiguous:
        start = address(a)
        return start, start + a.nbytes
    return None


def _disjoint(spans: Sequence[tuple[int, int] | None]) -> bool:
    """Whether the spans are all known and no two intersect (sorted by start: neighbours)."""
    if any(s is None for s in spans):
        return False
    ordered = sorted(s for s in spans if s is not None)
    return all(a[1] <= b[0] for a, b in itertools.pairwise(ordered))


def _may_share(
    a: np.ndarray, span_a: tuple[int, int] | None, b: np.ndarray, span_b: tuple[int, int] | None
) -> bool:
    """`np.may_share_memory(a, b)`, from the spans where both arrays are contiguous (the
    common case: a few integer comparisons instead of ~1 µs)."""
    if span_a is not None and span_b is not None:
        return span_a[0] < span_b[1] and span_b[0] < span_a[1]
    return bool(np.may_share_memory(a, b))


def overlap(a: np.ndarray, b: np.ndarray, spans: tuple[Any, Any] | None = None) -> bool:
    """Whether two arrays share an element (interleaved views that only share bounds do not;
    a case too hard to decide counts as shared). `spans`: their `_span`s, if known."""
    span_a, span_b = spans if spans is not None else (_span(a), _span(b))
    if not _may_share(a, span_a, b, span_b):
        return False
    try:
        return bool(np.shares_memory(a, b, max_work=10**5))  # type: ignore[arg-type]
    except np.exceptions.TooHardError:
        return True


def unpack_out(
    layout: Layout | Matrix, n_outputs: int, out: Any, shape: tuple[int, ...]
) -> list[np.ndarray]:
    """The `out=` arrays of a result with `layout`, in kernel order, checked (shape, dtype,
    no two sharing memory); outputs the result does not show (grad(): the value) get
    scratch arrays."""
    if isinstance(layout, Matrix):
        check_out(out, (*shape, layout.rows, layout.cols))
        return matrix_entries(out, layout)
    found: dict[int, Any] = {}
    stack: list[tuple[Any, Any]] = [(layout, out)]
    while stack:
        part, given = stack.pop()
        if isinstance(part, int):
            found[part] = given
        elif isinstance(part, Grads):
            if part.bare:
                found[part.indices[0]] = given
            else:
                items = sequence(given, len(part.indices), "gradient arrays")
                found.update(zip(part.indices, items))
        else:
            what = "value arrays" if all(isinstance(x, int) for x in part) else "parts"
            stack.extend(zip(part, sequence(given, len(part), what)))
    arrays = list(found.values())
    for a in arrays:
        check_out(a, shape)
    spans = [_span(a) for a in arrays]
    if not _disjoint(spans):
        for k, a in enumerate(arrays):
            if any(overlap(a, b, (spans[k], spans[j])) for j, b in enumerate(arrays[:k])):
                raise ValueError("out: two out arrays share memory (each result needs its own)")
    dtype = out_dtype(arrays[0]) if arrays else np.float64
    return [found[j] if j in found else np.empty(shape, dtype=dtype) for j in range(n_outputs)]
