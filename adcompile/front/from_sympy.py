"""SymPy -> formula text: SymPy expressions read into a DAG of printable parts, then printed.

- `from_sympy(expr)`: a SymPy expression (or several) as formula text in the language of
  `grammar/adcompile.lark`, with minimal parentheses; shared or long subexpressions become
  assignments `t0 = ...`, so the text stays linear in size and shallow (the printing is
  `sympy_text.TextPrinter`'s; this module reads SymPy: which class is which op).
- `sympy_expr_type(obj)`: whether `obj` is SymPy input for `from_sympy` (without importing
  SymPy).
- `check_name(name)`: whether a SymPy symbol's name can name an input.
- `sympy_constant(sp, value)`: a float as a SymPy number of exactly its value (also used by
  the IR -> SymPy printer, `codegen.sympy`).

Vectors (`IndexedBase` elements `x[2]`, `Sum`s over them) are read by
`sympy_vectors.VectorReads`.

SymPy trees are read with an explicit post-order stack memoised by object identity and
hash-consed by (class, converted arguments), so DAG-shaped and 10,000-level-deep expressions
are fine. SymPy is imported only inside the functions.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, Final

from adcompile.errors import FormulaError
from adcompile.front.names import check_input_name
from adcompile.front.sympy_text import EXACT_INTEGER, Part, TextPrinter, template_arity
from adcompile.front.sympy_vectors import VectorReads
from adcompile.ir.ops import CONSTANTS, OPS
from adcompile.ir.special import SYMPY_IMPORTS

# Sums up to this tree size and height print their terms in SymPy's order (`Part.small`).
_SMALL_SIZE: Final = 200
_SMALL_HEIGHT: Final = 16
_RELATIONS: Final = frozenset({"<", "<=", ">", ">=", "==", "!="})


def _sympy_float(sp: Any, value: float) -> Any:
    """A finite float as a SymPy Float of exactly the same value, printed with its repr's digits."""
    mantissa = repr(value).lstrip("-").split("e")[0].replace(".", "").lstrip("0")
    return sp.Float(value, max(15, len(mantissa)))


def sympy_constant(sp: Any, value: float) -> Any:
    """A float constant as a SymPy number: Integer when whole and exact, else Float, oo, nan."""
    if math.isnan(value):
        return sp.nan
    if math.isinf(value):
        return sp.oo if value > 0 else -sp.oo
    if value.is_integer() and abs(value) < EXACT_INTEGER:
        return sp.Integer(int(value))
    return _sympy_float(sp, value)


def sympy_expr_type(obj: Any) -> bool:
    """Whether `obj` is a SymPy object (`Basic`, a matrix) or a non-empty list/tuple of them
    (Python numbers allowed beside at least one SymPy object). Never imports SymPy: without
    it in `sys.modules`, nothing can be a SymPy object."""
    sp = sys.modules.get("sympy")
    if sp is None:
        return False
    kinds = (sp.Basic, sp.MatrixBase)
    if isinstance(obj, kinds):
        return True
    if isinstance(obj, (list, tuple)) and obj:
        return all(isinstance(o, (*kinds, int, float)) for o in obj) and any(
            isinstance(o, kinds) for o in obj
        )
    return False


@cache
def _function_table() -> dict[type, str]:
    """SymPy function class -> op name, read off the op table: every callable op whose SymPy
    form is a plain application of that class to its arguments (`sin`, `Abs`, `Max`, ...),
    plus `ITE` -> `where`."""
    import sympy

    table: dict[type, str] = {}
    for name, op in OPS.items():
        if not op.function:
            continue
        dummies = tuple(sympy.Symbol(f"_arg{k}") for k in range(op.arity))
        form = op.sympy(sympy, *dummies)
        if form.args == dummies and not (form.is_Add or form.is_Mul or form.is_Pow):
            table.setdefault(type(form), name)
    # SymPy's boolean if-then-else, which it makes of Piecewise conditions by itself.
    table[sympy.ITE] = "where"
    # polygamma(n, x), digamma's SymPy form polygamma(0, x) included (its order is a number)
    table[sympy.polygamma] = "polygamma"
    return table


#: A lowering: the SymPy function's arguments to an equal expression the converter reads.
Lowering = Callable[..., Any]


@cache
def _codegen_table() -> dict[type, str | Lowering]:
    """SymPy's code-generation functions (`sympy.codegen.cfunctions`, `numpy_nodes`,
    `scipy_nodes`: what `sympy.codegen.rewriting.optimize(expr, optims_c99)` makes of an
    expression to keep its digits): each is an op of the language, or is lowered to an
    equally stable expression (`fma(x, y, z)` -> `x*y + z`); `exp2`, `powm1` and `cosm1` are
    the function library's ops (SciPy's kernels)."""
    import sympy
    from sympy.codegen import cfunctions as c
    from sympy.codegen import numpy_nodes as n
    from sympy.codegen import scipy_nodes as s

    table: dict[type, str | Lowering] = {
        c.expm1: "expm1", c.log1p: "log1p", c.log2: "log2", c.log10: "log10",
        c.hypot: "hypot", c.Sqrt: "sqrt", c.Cbrt: "cbrt",
        n.logaddexp: "logaddexp", n.logaddexp2: "logaddexp2",
        n.minimum: "min", n.maximum: "max",
        c.exp2: "exp2", s.powm1: "powm1", s.cosm1: "cosm1",  # the library's kernels (4b)
        c.fma: lambda x, y, z: sympy.Add(sympy.Mul(x, y), z),
    }  # fmt: skip
    return {cls: op for cls, op in table.items() if not isinstance(op, str) or op in OPS}


def _supported() -> str:
    names = [cls.__name__ for cls in (*_function_table(), *_codegen_table())]
    names += ["sqrt", "cbrt", "Piecewise", "relationals", "And", "Or", "Not"]
    names += ["Indexed (x[2])", "Sum", "Product", "Maximum", "Minimum", *SYMPY_IMPORTS]
    return "+, -, *, /, ^, numbers, pi, E, " + ", ".join(sorted(names, key=str.lower))


def check_name(name: str) -> str:
    """`name` if it can stand for an input of the formula language; else a `FormulaError`
    (a ValueError) naming it: `names.check_input_name`, the one door for names, and not a
    constant of the language (the symbol would read as the constant)."""
    if name in CONSTANTS:
        raise FormulaError(
            f"symbol name {name!r} is a constant of the formula language; rename the symbol"
        )
    return check_input_name(name, "symbol")


class _Reader:
    """SymPy expressions to a DAG of `Part`s in post-order (see `from_sympy`)."""

    def __init__(self, sp: Any) -> None:
        self.sp = sp
        self.functions = _function_table()
        self.codegen = _codegen_table()
        self.nodes: list[Part] = []
        self.symbols: set[str] = set()
        self.by_id: dict[int, int] = {}  # id of a SymPy object -> its node
        self.by_key: dict[Any, int] = {}  # (kind, class, info, argument nodes) -> node
        self.keep: list[Any] = []  # the objects whose ids are in by_id, kept alive
        self.sizes: list[int] = []  # tree size of each node, saturated
        self.heights: list[int] = []  # tree height of each node, saturated
        self.vectors = VectorReads(sp, check_name)

    # -- distinct subexpressions in post-order ------------------------------------------------
    def classify(self, e: Any) -> tuple[str, Any, tuple[Any, ...]]:
        """How to print `e`, and the SymPy objects it is printed from; ValueError if none."""
        sp = self.sp
        vector = self.vectors.classify(e)
        if vector is not None:
            return vector
        if isinstance(e, sp.Symbol):
            return "symbol", check_name(e.name), ()
        if e is sp.true or e is sp.false:
            return "bool", "1" if e is sp.true else "0", ()
        if e is sp.nan or e is sp.oo:
            return "const", "nan" if e is sp.nan else "inf", ()
        if e is sp.S.NegativeInfinity:
            return "mul", None, (sp.S.NegativeOne, sp.oo)
        if e.is_Number:
            return "number", e, ()
        if isinstance(e, sp.NumberSymbol):
            return "const", {sp.pi: "pi", sp.E: "e"}.get(e) or repr(float(e)), ()
        if e.is_Add:
            return "add", None, e.args
        if e.is_Mul:
            return "mul", None, e.args
        if e.is_Pow:
            return "pow", None, e.args
        if isinstance(e, sp.Piecewise):
            # without a default branch (expr, True): nan where no condition holds, as
            # `lambdify` computes it
            last = e.args[-1].expr if e.args[-1].cond is sp.true else sp.nan
            pairs = e.args[:-1] if e.args[-1].cond is sp.true else e.args
            return "piecewise", None, (*[p for pair in pairs for p in pair.args], last)
        if isinstance(e, sp.core.relational.Relational) and e.rel_op in _RELATIONS:
            return "rel", e.rel_op, e.args
        for kind, cls in (("and", sp.And), ("or", sp.Or), ("not", sp.Not)):
            if isinstance(e, cls):
                return kind, None, e.args
        lowered = self.codegen.get(type(e))
        if callable(lowered):
            return self.classify(lowered(*e.args))
        op = self.functions.get(type(e)) or lowered
        if op is not None:
            arity = OPS[op].arity
            if len(e.args) == arity or (arity == 2 and OPS[op].commutative and e.args):
                return "func", op, e.args
        template = SYMPY_IMPORTS.get(type(e).__name__)
        if template is not None and template_arity(template) == len(e.args):
            return "template", template, e.args
        if e is sp.I or e is sp.zoo:
            raise ValueError(
                f"cannot compile the SymPy number {e}: the formula language is real-valued"
            )
        raise ValueError(
            f"cannot compile the SymPy function {type(e).__name__}: supported are {_supported()}"
        )

    def add_tree(self, root: Any) -> int:
        """Convert `root` (post-order, explicit stack); return its node index."""
        by_id = self.by_id
        stack: list[tuple[Any, tuple[str, Any, tuple[Any, ...]] | None]] = [(root, None)]
        while stack:
            e, found = stack.pop()
            if id(e) in by_id:
                continue
            if found is None:
                found = self.classify(e)
                stack.append((e, found))
                stack.extend((a, None) for a in reversed(found[2]) if id(a) not in by_id)
                continue
            kind, info, args = found
            ids = tuple(by_id[id(a)] for a in args)
            key = (kind, info) if not args else (kind, type(e), info, ids)
            index = self.by_key.get(key)
            if index is None:
                index = self.by_key[key] = len(self.nodes)
                size = 1 + sum(self.sizes[a] for a in ids)
                height = 1 + max((self.heights[a] for a in ids), default=0)
                self.sizes.append(min(size, _SMALL_SIZE + 1))
                self.heights.append(min(height, _SMALL_HEIGHT + 1))
                small = size <= _SMALL_SIZE and height <= _SMALL_HEIGHT
                self.nodes.append(Part(kind, info, ids, e, small))
                if kind == "symbol":
                    self.symbols.add(info)
            by_id[id(e)] = index
            self.keep.append(e)  # ids stay unique while the objects are alive
        return by_id[id(root)]


def _as_exprs(sp: Any, obj: Any) -> list[Any]:
    """The expressions to print: one, a list/tuple, or a matrix (row-major)."""
    items = list(obj) if isinstance(obj, (list, tuple, sp.MatrixBase, sp.Tuple)) else [obj]
    exprs: list[Any] = []
    for item in items:
        if isinstance(item, sp.MatrixBase):
            exprs.extend(item)
        elif isinstance(item, bool):
            exprs.append(sp.true if item else sp.false)
        elif isinstance(item, int):
            exprs.append(sp.Integer(item))
        elif isinstance(item, float):
            exprs.append(sympy_constant(sp, item))
        elif isinstance(item, sp.Basic):
            exprs.append(item)
        else:
            raise TypeError(f"from_sympy takes SymPy expressions, not {type(item).__name__}")
    if not exprs:
        raise ValueError("from_sympy needs at least one expression")
    return exprs


def from_sympy(
    expr: Any | Sequence[Any], inputs: Sequence[str] | None = None
) -> tuple[str, tuple[str, ...]]:
    """SymPy expression(s) as formula text, and the input names in order.

    `expr` is one expression, a list/tuple of them or a matrix (several outputs, row-major).
    The inputs are `inputs` (every free symbol must be among them) or else the free symbols
    sorted by name. The text parses with `parse(text, inputs)` and computes the same function:
    one expression with minimal parentheses when it is small; a subexpression used more than
    once (unless its text is tiny) or longer than `sympy_text.MAX_INLINE` characters becomes
    an assignment `t0 = ...` first, so the text is linear in the size of the expression DAG
    and shallow.
    Several outputs are assigned to `out0, out1, ...` and listed on the last line.

    Mapping: Add, Mul (negative powers as a denominator), Pow (`^`; exponent 1/2 is `sqrt`,
    1/3 is `cbrt`: the real cube root, which differs from SymPy's principal root for a
    negative base), numbers (`p/q` for rationals, `repr(float)` for Floats), pi and E, the
    functions of the op table (`Abs` is `abs`, `ceiling` is `ceil`, n-ary `Min`/`Max` nest),
    Piecewise (nested `where`; without a final `(expr, True)` branch, `nan` where no
    condition holds, as `lambdify` computes it), relationals, And, Or, Not, True/False (1/0),
    nan, oo and -oo (`nan`, `inf`, `-inf`); SymPy functions that are not one op, by their
    templates in `special.SYMPY_IMPORTS` (`LambertW(x)` is `lambertw(x, 0)`); vectors: `x[2]`
    (an `Indexed` of an `IndexedBase`; `x[n - 1]` is `x[-1]`), `Sum`/`Product` (and
    adcompile's `Maximum`/`Minimum`) over one index whose subscripts are `x[i + c]`
    (`sum(x[1:])`), a length symbol as `len(x)` (`sympy_vectors`). Anything else raises
    ValueError naming it.
    """
    import sympy

    if isinstance(inputs, str):
        raise TypeError("inputs must be a sequence of names, e.g. ['x', 'y']")
    declared = tuple(check_name(n) for n in inputs) if inputs is not None else None
    if declared is not None and len(set(declared)) != len(declared):
        raise ValueError(f"inputs: repeated names in {list(declared)}")
    exprs = _as_exprs(sympy, expr)
    reader = _Reader(sympy)
    roots = [reader.add_tree(e) for e in exprs]
    reader.vectors.settle(reader.nodes, reader.symbols)
    if declared is None:
        names = tuple(sorted(reader.symbols))
    else:
        missing = sorted(reader.symbols - set(declared))
        if missing:
            raise ValueError(
                f"free symbol{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                f"not among the inputs ({', '.join(declared) or 'none'})"
            )
        names = declared
    printer = TextPrinter(sympy, reader.nodes, set(names))
    texts = printer.render(roots)
    lines = printer.statements
    if len(texts) == 1:
        return "\n".join([*lines, texts[0].text]), names
    outs = []
    for k, text in enumerate(texts):
        name = f"out{k}"
        while name in printer.taken:
            name += "_"
        printer.taken.add(name)
        lines.append(f"{name} = {text.text}")
        outs.append(name)
    return "\n".join([*lines, ", ".join(outs)]), names
