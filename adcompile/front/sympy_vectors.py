"""Vectors between SymPy and the language (docs/vectors.md, "SymPy and LaTeX").

SymPy writes a vector `x` as `IndexedBase("x")` and its elements as `x[i]`; adcompile's
export (`codegen.sympy`) writes reductions as `Sum`, `Product` and the `Maximum`/`Minimum`
classes below, over an index range `(i, 0, n - 1)` with the length a symbol `n`. This module
holds those two classes and `VectorReads`, which `from_sympy` asks first about each SymPy
object: `x[2]` reads as `x[2]`, `x[n - 1]` as `x[-1]`, a `Sum` over `i` whose subscripts are
`x[i + c]` as `sum(...)` of slices (`Sum(x[i + 1], (i, 0, n - 2))` is `sum(x[1:])`), a
length symbol `n` outside as `len(x)`, and the `Where` that stands for a Piecewise inside a
sum (`sympy_where`) as `where(...)`. Anything else about vectors raises a `FormulaError` (a
ValueError) naming it. SymPy is imported only inside the functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import cache
from typing import Any

from adcompile.errors import FormulaError
from adcompile.front.sympy_text import Part


@cache
def sympy_extrema() -> dict[str, type]:
    """SymPy classes for the maximum and minimum over an index range (SymPy has none):
    `Maximum(x[i], (i, 0, n - 1))`, `Minimum(...)`, by the reduction's name ("max", "min").
    Like `Sum`, the index is bound; `doit()` expands a concrete range to `Max(x[0], ...)`
    (an empty one to -oo, resp. oo, as NumPy's `initial` in the program)."""
    import sympy
    from sympy.concrete.expr_with_limits import ExprWithLimits

    class _Extremum(ExprWithLimits):  # type: ignore[misc]
        __slots__ = ()
        reducer: Any = None
        empty: Any = None

        def doit(self, **hints: Any) -> Any:
            body = self.function.doit(**hints) if hints.get("deep", True) else self.function
            (v, lo, hi) = self.limits[0]
            count = hi - lo + 1
            if len(self.limits) != 1 or not count.is_Integer:
                return self.func(body, *self.limits)
            terms = [body.xreplace({v: lo + k}) for k in range(max(int(count), 0))]
            return self.reducer(*terms) if terms else self.empty

        def _eval_is_extended_real(self) -> Any:
            return self.function.is_extended_real

    class Maximum(_Extremum):
        """The maximum of a term over an index range."""

        __slots__ = ()
        reducer = sympy.Max
        empty = -sympy.oo

    class Minimum(_Extremum):
        """The minimum of a term over an index range."""

        __slots__ = ()
        reducer = sympy.Min
        empty = sympy.oo

    return {"max": Maximum, "min": Minimum}


@cache
def sympy_where() -> type:
    """`Where(e1, c1, e2, c2, ..., default)`: a Piecewise that SymPy's `piecewise_fold` does
    not see. It stands for a Piecewise in the term of a reduction: SymPy lifts a Piecewise out
    of a `Sum` (or `Product`) it is inside when the sum appears in a condition (an
    `ExprCondPair` folds its condition, blind to the bound index), which would leave the index
    free. `doit()` is the Piecewise; derivatives go into the branches; LaTeX prints cases."""
    import sympy
    from sympy.core.logic import fuzzy_and

    class Where(sympy.Function):  # type: ignore[misc]
        """A Piecewise of (expr, condition) pairs and a default, unevaluated."""

        @classmethod
        def eval(cls, *args: Any) -> Any:
            return None

        def pairs(self) -> list[tuple[Any, Any]]:
            args = self.args
            return [*zip(args[:-1:2], args[1::2]), (args[-1], sympy.true)]

        def doit(self, **hints: Any) -> Any:
            deep = hints.get("deep", True)
            return sympy.Piecewise(*((e.doit(**hints) if deep else e, c) for e, c in self.pairs()))

        def _eval_derivative(self, s: Any) -> Any:
            return self.func(*(a.diff(s) if k % 2 == 0 else a for k, a in enumerate(self.args)))

        def _eval_is_extended_real(self) -> Any:
            return fuzzy_and(e.is_extended_real for e, _ in self.pairs())

    return Where


def hide_piecewise(sp: Any, term: Any) -> Any:
    """A reduction's term with each Piecewise made a `Where` (see `sympy_where`)."""
    if not term.has(sp.Piecewise):
        return term
    where = sympy_where()

    def convert(*pairs: Any) -> Any:  # ExprCondPairs
        flat = [part for pair in pairs[:-1] for part in (pair.expr, pair.cond)]
        default = pairs[-1].expr if pairs[-1].cond is sp.true else sp.nan
        if pairs[-1].cond is not sp.true:
            flat += [pairs[-1].expr, pairs[-1].cond]
        return where(*flat, default)

    return term.replace(sp.Piecewise, convert)


class VectorReads:
    """What a SymPy expression says about vectors, for `from_sympy` (see the module doc):
    `classify(e)` is the printable kind of a vector object, or None for the others."""

    def __init__(self, sp: Any, check_name: Callable[[str], str]) -> None:
        self.sp = sp
        self.check_name = check_name
        self.vectors: set[str] = set()
        self.lengths: dict[str, str] = {}  # a length symbol's name -> the vector it measures
        extrema = sympy_extrema()
        self.reductions = {sp.Sum: "sum", sp.Product: "prod", extrema["max"]: "max",
                           extrema["min"]: "min"}  # fmt: skip
        self.marker = sp.Function("adcompile_slice")  # a slice inside a lowered reduction
        self.slices: set[Any] = set()  # the markers `slice_of` made (names checked)
        self.where: Any = sympy_where()

    def classify(self, e: Any) -> tuple[str, Any, tuple[Any, ...]] | None:
        sp = self.sp
        if isinstance(e, sp.Indexed):
            return "indexed", self.element(e), ()
        if isinstance(e, sp.IndexedBase):
            raise FormulaError(
                f"cannot compile the whole IndexedBase {e}: use its elements, {e}[2], or a "
                f"Sum over them"
            )
        if e in self.slices:
            return "slice", self.slice_text(*e.args), ()
        kind = self.reductions.get(type(e))
        if kind is not None:
            return "reduce", kind, (self.lower(e),)
        if isinstance(e, self.where):
            return "piecewise", None, tuple(e.args)
        return None

    def name(self, base: Any) -> str:
        name = self.check_name(str(base.label))
        self.vectors.add(name)
        shape = getattr(base, "shape", None)
        if shape and len(shape) == 1 and shape[0].is_Symbol:
            self.lengths.setdefault(shape[0].name, name)
        return name

    def from_end(self, expr: Any, name: str) -> int | None:
        """d where `expr` is `n + d` for a symbol `n` (then taken as the length of `name`)."""
        symbols = expr.free_symbols
        if len(symbols) != 1:
            return None
        n = next(iter(symbols))
        d = self.sp.expand(expr - n)
        if not (n.is_Symbol and d.is_Integer):
            return None
        self.lengths.setdefault(n.name, name)
        return int(d)

    def element(self, e: Any) -> str:
        """`x[2]`, or `x[-1]` for `x[n - 1]`."""
        name = self.name(e.base)
        if len(e.indices) == 1:
            k = e.indices[0]
            if k.is_Integer and k >= 0:
                return f"{name}[{int(k)}]"
            d = self.from_end(k, name)
            if d is not None and d < 0:
                return f"{name}[{d}]"
        raise FormulaError(
            f"cannot compile {e}: a subscript must be a whole number (x[2]) or the length minus "
            "one (x[n - 1]); an index variable must be bound by a Sum (or Product, Maximum, "
            "Minimum) over a range"
        )

    def lower(self, e: Any) -> Any:
        """A reduction's term with each `x[a*i + c]` made a slice marker (the vector of those
        elements over the range): what `sum(...)` of it prints."""
        sp, what = self.sp, type(e).__name__
        if len(e.limits) != 1 or len(e.limits[0]) != 3:
            raise FormulaError(f"cannot compile a {what} over several indices or without bounds")
        v, lo, hi = e.limits[0]
        if not (lo.is_Integer and lo >= 0):
            raise FormulaError(f"cannot compile {what} over {v} from {lo}: start at a number >= 0")
        body = e.function
        for inner in body.atoms(*self.reductions):
            if v in inner.free_symbols:
                raise FormulaError(f"cannot compile a {what} over {v} with {v} inside {inner}")
        found = {
            item: self.slice_of(item, v, lo, hi)
            for item in body.atoms(sp.Indexed)
            if any(v in k.free_symbols for k in item.indices)
        }
        lowered = body.xreplace(found)
        if not found or v in lowered.free_symbols:
            raise FormulaError(
                f"cannot compile {what} over {v}: {v} may appear only in subscripts "
                f"x[{v} + c] of vectors (and at least once)"
            )
        return lowered

    def slice_of(self, item: Any, v: Any, lo: Any, hi: Any) -> Any:
        """The marker of the slice that `item` = x[a*v + c] runs over for v in [lo, hi]."""
        sp = self.sp
        name = self.name(item.base)
        index = sp.expand(item.indices[0]) if len(item.indices) == 1 else sp.nan
        a = index.coeff(v)
        c = sp.expand(index - a * v)
        if not (a.is_Integer and a >= 1 and c.is_Integer) or a * lo + c < 0:
            raise FormulaError(
                f"cannot compile {item}: in a sum over {v}, a subscript must be {v} + c (or "
                f"a*{v} + c with a >= 1) and stay >= 0"
            )
        start = a * lo + c
        if hi.is_Integer:
            return self.made(self.marker(sp.Symbol(name), start, a * hi + c + 1, a))
        d = self.from_end(hi, name)
        if d is None or a != 1 or d + c + 1 > 0:
            raise FormulaError(
                f"cannot compile {item} for {v} up to {hi}: the upper limit must be a number, "
                "or the length minus a number (n - 1) with the subscript inside the vector"
            )
        stop = sp.oo if d + c + 1 == 0 else d + c + 1
        return self.made(self.marker(sp.Symbol(name), start, stop, 1))

    def made(self, marker: Any) -> Any:
        self.slices.add(marker)
        return marker

    def slice_text(self, name: Any, start: Any, stop: Any, step: Any) -> str:
        """`x[1:]`, `x[:3]`, `x[::2]`; the whole vector (`x[:]`) as `x`."""
        text = f"{start if start else ''}:{'' if stop == self.sp.oo else stop}"
        if text == ":" and step == 1:
            return str(name)
        return f"{name}[{text}{'' if step == 1 else f':{step}'}]"

    def settle(self, nodes: list[Part], symbols: set[str]) -> None:
        """Length symbols read as `len(x)` (not inputs); no name may be a scalar and a
        vector."""
        for k, part in enumerate(nodes):
            vector = self.lengths.get(part.info) if part.kind == "symbol" else None
            if vector is not None:
                nodes[k] = replace(part, kind="len", info=f"len({vector})")
                symbols.discard(part.info)
        both = sorted(self.vectors & {p.info for p in nodes if p.kind == "symbol"})
        if both:
            raise FormulaError(
                f"{', '.join(both)}: used both as a symbol and as an IndexedBase (a vector)"
            )
        symbols.update(self.vectors)
