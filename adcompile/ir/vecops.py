"""The vector ops of the op table (DESIGN.md section 2b, docs/vectors.md).

A vector is a node whose value has a trailing element axis (its length known at run time).
Every elementwise op of `ops.py` works on vectors unchanged (`OpDef.shape` "elementwise":
scalar arguments broadcast); the rows here reduce, index, slice and broadcast. Their NumPy
`impl`s take batched values (element axis last). Derivatives: the partial rules where the
product `adjoint * partial` is right (a reduction's partial broadcasts), `OpDef.adjoint` and
`OpDef.tangent` for the ops that move elements (index, slice and their transposes), which
are linear in argument 0: their tangent is the op applied to the tangent, their adjoint term
the transposed op applied to the adjoint.

Index and slice bounds are constant arguments (floats: NaN for an omitted slice bound), so
the one door (`Graph.apply`) and interning stay as they are. `MACROS` are the reductions the
parser writes out from these ops (`mean`, `dot`, `norm`, `logsumexp`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from adcompile.ir.opdef import Arr, defop
from adcompile.ir.spellings import VECTOR_PYTHON
from adcompile.ir.vecnumeric import (
    vfill,
    vpickmax,
    vpickmin,
    vprodexcept,
    vprodexceptdot,
    vscatter,
    vslice,
    vunslice,
)

if TYPE_CHECKING:
    from adcompile.ir.graph import Expr


def bound(value: float) -> int | None:
    """A slice bound or step stored as a float constant: NaN means omitted."""
    return None if math.isnan(value) else int(value)


def as_slice(a: float, b: float, s: float) -> slice:
    return slice(bound(a), bound(b), bound(s))


def _vsum(v: Arr) -> Arr:
    return np.sum(v, axis=-1)


def _vprod(v: Arr) -> Arr:
    return np.prod(v, axis=-1)


def _vmax(v: Arr) -> Arr:
    return np.max(v, axis=-1, initial=-np.inf)


def _vmin(v: Arr) -> Arr:
    return np.min(v, axis=-1, initial=np.inf)


def _vindex(v: Arr, i: Arr) -> Arr:
    return np.asarray(v)[..., int(i)]


def _vlen(v: Arr) -> Arr:
    return np.float64(np.shape(v)[-1])


def _no_third(what: str) -> Callable[..., Any]:
    def rule(*args: Any) -> Any:
        raise NotImplementedError(f"derivatives of {what} beyond the second are not supported")

    return rule


# ---- the SymPy column (codegen.sympy, docs/vectors.md "SymPy and LaTeX") --------------------
# A vector argument arrives as `codegen.sympy.SymVector`, a vector as a function of an index:
# `v[i]` is its element at a SymPy index `i`, `v.length` its length (a symbol `n` or a
# number), `v.at(k)` the element a constant subscript `k` reads (negative: from the end),
# `v.reduce(kind, term)` the `Sum`/`Product`/max/min over its elements (`term(j, v[j])`
# rewrites each term), `v.build(element)` a vector of its length with `element(i)` at index
# `i`, `v.sliced(a, b, s)` and `v.unsliced(b, a, b, s)` the slice and its transpose. Scalar
# arguments are SymPy expressions; subscripts and bounds are SymPy integers (`nan`: omitted).
def _sp_reduce(kind: str) -> Callable[..., Any]:
    return lambda sp, v: v.reduce(kind)


def _sp_pick(kind: str) -> Callable[..., Any]:
    # 1 where the element is the maximum (minimum); every tied element gets 1 in SymPy, where
    # the program picks the first (NumPy's argmax)
    def form(sp: Any, v: Any) -> Any:
        top = v.reduce(kind)
        return v.build(lambda i: sp.Piecewise((1, sp.Eq(v[i], top)), (0, True)))

    return form


def _sp_prod_except(sp: Any, v: Any) -> Any:
    # the product of the others, v[j]^(1 - delta_ij): exact at zeros, like the program's
    # prefix/suffix products (no Piecewise: SymPy's Sum would lift it out of the Product)
    return v.build(lambda i: v.reduce("prod", lambda j, e: e ** (1 - sp.KroneckerDelta(i, j))))


def _sp_prod_except_dot(sp: Any, v: Any, dv: Any) -> Any:
    # d/dt of prod_except(v + t dv): sum over k != i of dv[k] times the product of the rest
    def element(i: Any) -> Any:
        def term(k: Any, e: Any) -> Any:
            others = (1 - sp.KroneckerDelta(i, k)) * dv[k]
            return others * v.reduce(
                "prod",
                lambda j, f: f ** ((1 - sp.KroneckerDelta(i, j)) * (1 - sp.KroneckerDelta(j, k))),
            )

        return v.reduce("sum", term)

    return v.build(element)


_SYMPY_FORMS: Final[dict[str, Callable[..., Any]]] = {
    "vsum": _sp_reduce("sum"), "vprod": _sp_reduce("prod"),
    "vmax": _sp_reduce("max"), "vmin": _sp_reduce("min"),
    "vpick_max": _sp_pick("max"), "vpick_min": _sp_pick("min"),
    "vprod_except": _sp_prod_except, "vprod_except_dot": _sp_prod_except_dot,
    "vindex": lambda sp, v, k: v.at(k),
    "vslice": lambda sp, v, a, b, s: v.sliced(a, b, s),
    "vscatter": lambda sp, b, v, k: v.build(lambda i: b * sp.KroneckerDelta(i, v.position(k))),
    "vunslice": lambda sp, b, v, lo, hi, s: v.unsliced(b, lo, hi, s),
    "vfill": lambda sp, s, v: v.build(lambda i: s),
    "vlen": lambda sp, v: v.length,
}  # fmt: skip


def _sympy_form(name: str) -> Callable[..., Any]:
    return _SYMPY_FORMS[name]


ZERO: Final = None

# fmt: off
# reductions: a scalar from the vector argument; sum's partial 1 broadcasts the adjoint
defop("vsum",  1, _vsum,  (lambda v, o: 1.0,), _sympy_form("vsum"), shape="reduce",
      function=False)
defop("vprod", 1, _vprod, (lambda v, o: v.apply("vprod_except", v),), _sympy_form("vprod"),
      shape="reduce", function=False)
# max/min: the derivative goes to the first maximal (minimal) element (NumPy's argmax)
defop("vmax",  1, _vmax,  (lambda v, o: v.apply("vpick_max", v),), _sympy_form("vmax"),
      shape="reduce", function=False, smooth=False, selects=True)
defop("vmin",  1, _vmin,  (lambda v, o: v.apply("vpick_min", v),), _sympy_form("vmin"),
      shape="reduce", function=False, smooth=False, selects=True)
defop("vpick_max", 1, vpickmax, (ZERO,), _sympy_form("vpick_max"), shape="like0",
      function=False, smooth=False, boolean=True)
defop("vpick_min", 1, vpickmin, (ZERO,), _sympy_form("vpick_min"), shape="like0",
      function=False, smooth=False, boolean=True)
defop("vprod_except", 1, vprodexcept, (_no_third("prod"),), _sympy_form("vprod_except"),
      shape="like0", function=False,
      tangent=lambda dots, v, o: v.apply("vprod_except_dot", v, dots[0]))
defop("vprod_except_dot", 2, vprodexceptdot, (_no_third("prod"), _no_third("prod")),
      _sympy_form("vprod_except_dot"), shape="like0", function=False)
# moving elements: linear in argument 0, the others are constants (index, bounds)
defop("vindex", 2, _vindex, (lambda v, i, o: 1.0, ZERO), _sympy_form("vindex"),
      shape="index", function=False,
      adjoint=lambda bar, v, i, o: [bar.apply("vscatter", bar, v, i), None],
      tangent=lambda dots, v, i, o: dots[0].apply("vindex", dots[0], i))
defop("vslice", 4, vslice, (lambda v, a, b, s, o: 1.0, ZERO, ZERO, ZERO),
      _sympy_form("vslice"), shape="slice", function=False,
      adjoint=lambda bar, v, a, b, s, o: [bar.apply("vunslice", bar, v, a, b, s), None, None, None],
      tangent=lambda dots, v, a, b, s, o: dots[0].apply("vslice", dots[0], a, b, s))
defop("vscatter", 3, vscatter, (lambda b, v, i, o: 1.0, ZERO, ZERO), _sympy_form("vscatter"),
      shape="like1", function=False,
      adjoint=lambda bar, b, v, i, o: [bar.apply("vindex", bar, i), None, None],
      tangent=lambda dots, b, v, i, o: dots[0].apply("vscatter", dots[0], v, i))
defop("vunslice", 5, vunslice, (lambda b, v, lo, hi, s, o: 1.0, ZERO, ZERO, ZERO, ZERO),
      _sympy_form("vunslice"), shape="like1", function=False,
      adjoint=lambda bar, b, v, lo, hi, s, o: [bar.apply("vslice", bar, lo, hi, s),
                                               None, None, None, None],
      tangent=lambda dots, b, v, lo, hi, s, o: dots[0].apply("vunslice", dots[0], v, lo, hi, s))
# vfill(s, v): s in every element of a vector shaped like v (an explicit broadcast)
defop("vfill", 2, vfill, (lambda s, v, o: 1.0, ZERO), _sympy_form("vfill"), shape="like1",
      function=False)
defop("vlen",  1, _vlen, (ZERO,), _sympy_form("vlen"), shape="reduce", function=False,
      smooth=False)
# fmt: on


#: The names of the vector ops (the rows this module adds to the op table).
VECTOR_OPS: Final = frozenset(VECTOR_PYTHON)

#: The reductions of the language by name (one argument; `min`/`max` with two arguments are
#: the elementwise ops), and `len`.
REDUCTIONS: Final[dict[str, str]] = {
    "sum": "vsum", "prod": "vprod", "max": "vmax", "min": "vmin", "len": "vlen",
}  # fmt: skip


def _mean(v: Expr) -> Expr:
    return v.apply("vsum", v) / v.apply("vlen", v)


def _dot(a: Expr, b: Expr) -> Expr:
    return a.apply("vsum", a * b)


def _norm(v: Expr) -> Expr:
    # m * sqrt(sum((v/m)^2)) with m = max|v| (no overflow or underflow); m is constant for
    # the derivative (the value does not depend on it), so d norm = v / norm; 0 where m = 0
    big = v.apply("vmax", v.apply("abs", v))
    m = big.apply("stop_gradient", big)
    scaled = v / m
    total = scaled.apply("vsum", scaled * scaled)
    inner = m * total.apply("sqrt", total)
    return m.apply("where", m.apply("eq", m, 0.0), 0.0, inner)


def _logsumexp(v: Expr) -> Expr:
    # m + log(sum(exp(v - m))), m = max(v) where finite (else 0), constant for the
    # derivative: the gradient is exactly the softmax
    big = v.apply("vmax", v)
    finite = big.apply("lt", big.apply("abs", big), math.inf)
    m = big.apply("stop_gradient", big.apply("where", finite, big, 0.0))
    shifted = (v - m).apply("exp", v - m)
    return m + shifted.apply("log", shifted.apply("vsum", shifted))


#: Reductions written out from the ops above: name -> (arity, builder over `Expr`s).
MACROS: Final[dict[str, tuple[int, Callable[..., Expr]]]] = {
    "mean": (1, _mean),
    "dot": (2, _dot),
    "norm": (1, _norm),
    "logsumexp": (1, _logsumexp),
}

#: Argument positions of each vector op that must be vectors.
VECTOR_ARGS: Final[dict[str, tuple[int, ...]]] = {
    "vsum": (0,), "vprod": (0,), "vmax": (0,), "vmin": (0,), "vlen": (0,), "vindex": (0,),
    "vslice": (0,), "vpick_max": (0,), "vpick_min": (0,), "vprod_except": (0,),
    "vprod_except_dot": (0, 1), "vscatter": (1,), "vunslice": (0, 1), "vfill": (1,),
}  # fmt: skip

#: Ops that read one element: op -> (the vector argument, the index argument).
INDEXED: Final[dict[str, tuple[int, int]]] = {"vindex": (0, 1), "vscatter": (1, 2)}

#: Arguments read only for their length (the result has their shape, not their values).
SHAPE_ONLY: Final[dict[str, tuple[int, ...]]] = {"vfill": (1,), "vscatter": (1,), "vunslice": (1,)}

#: How the vector ops read as formula text (trace tables, graph labels, the chain-rule
#: comments of the generated code; `codegen.formula`): as the user writes them, the internal
#: ops (reverse and forward mode make them) by a readable name. `{k}` is argument k, an index
#: (`INDEXED`) printed as an integer; `{slice}` is `a:b:s` from the three bound arguments
#: that start at `SLICE_BOUNDS[op]`, omitted bounds empty and an omitted step left out.
VECTOR_FORMULA: Final[dict[str, str]] = {
    "vsum": "sum({0})", "vprod": "prod({0})", "vmax": "max({0})", "vmin": "min({0})",
    "vlen": "len({0})", "vindex": "{0}[{1}]", "vslice": "{0}[{slice}]",
    "vpick_max": "pick_max({0})", "vpick_min": "pick_min({0})",
    "vprod_except": "prod_except({0})", "vprod_except_dot": "prod_except_dot({0}, {1})",
    "vscatter": "scatter({0}, {1}, {2})", "vunslice": "unslice({0}, {1}[{slice}])",
    "vfill": "fill({0}, {1})",
}  # fmt: skip

#: The position of the first of the three slice bounds (start, stop, step) of an op.
SLICE_BOUNDS: Final[dict[str, int]] = {"vslice": 1, "vunslice": 2}
