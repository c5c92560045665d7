"""The shape of the op table: `OpDef` (one primitive), `defop`, domains, precedence levels,
and `OPS` itself.

`adcompile.ir.ops` fills `OPS` with the table (and merges in the spelling columns of
`adcompile.ir.spellings`); every pass and printer reads it from there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from adcompile.ir.graph import Expr

Partial = Callable[..., "Expr | float"] | None
Arr = Any  # a float or a NumPy array


@dataclass(frozen=True, slots=True)
class Interval:
    """An open interval of valid (well-conditioned) inputs for an argument."""

    lo: float
    hi: float


REAL: Final = Interval(-3.0, 3.0)
POSITIVE: Final = Interval(0.1, 3.0)
UNIT: Final = Interval(-0.9, 0.9)
ABOVE_ONE: Final = Interval(1.1, 3.0)

#: Precedence levels of the formula language, loosest first (the grammar's rules): the
#: `precedence` column, and what the printers of formula text compare. A function call
#: `name(args)`, a name and a number bind like an atom.
OR, AND, NOT, CMP, SUM, PROD, UNARY, POW, ATOM = range(9)


@dataclass(frozen=True, slots=True)
class OpDef:
    """One primitive: see the module docstring."""

    name: str
    arity: int
    impl: Callable[..., Arr]
    partials: tuple[Partial, ...]
    sympy: Callable[..., Any]
    domain: tuple[Interval, ...]
    commutative: bool = False
    boolean: bool = False  # result is always exactly 0.0 or 1.0
    function: bool = True  # callable by name in the formula language
    smooth: bool = True  # differentiable almost everywhere with a nonzero derivative
    selects: bool = False  # a partial is exactly 0 where an argument is not selected
    # the spelling columns (adcompile.ir.spellings, merged in by adcompile.ir.ops):
    aliases: tuple[str, ...] = ()  # other spellings in the language
    python: str = ""  # scalar Python (and Numba) expression over `{0}, {1}, ...`
    numpy: str = ""  # the same over arrays: NumPy functions, `np.where` for a branch
    numba: str = ""  # the scalar expression in a Numba module, where not `python`
    infix: str | None = None  # operator spelling in formula text; None: `name(args)`
    precedence: int = ATOM  # binding strength of `infix` in formula text
    integer_power: int | None = None  # the argument printed as a whole exponent, 0..64
    # vectors (DESIGN.md section 2b, adcompile.ir.vecops): how the result's shape follows
    # from the arguments' (see `SHAPE_RULES`), and for ops whose derivative is not a product
    # of the adjoint (tangent) with a partial, the rules that replace it
    shape: str = "elementwise"
    adjoint: Callable[..., list[Any]] | None = None  # (bar, *args, out) -> term per argument
    tangent: Callable[..., Any] | None = None  # (tangents, *args, out) -> the tangent


#: The shape rules (`OpDef.shape`): "elementwise" (a vector if any argument is, scalar
#: arguments broadcast), "reduce" (a scalar from the vector argument 0), "index" (a scalar
#: element of argument 0), "slice" (a vector of its own length), "like1" (the shape of
#: argument 1), "like0" (the shape of argument 0, computed from the whole of it).
SHAPE_RULES: Final = ("elementwise", "reduce", "index", "slice", "like0", "like1")

OPS: Final[dict[str, OpDef]] = {}


def defop(
    name: str,
    arity: int,
    impl: Callable[..., Arr],
    partials: tuple[Partial, ...],
    sympy: Callable[..., Any],
    domain: tuple[Interval, ...] | None = None,
    **flags: Any,
) -> None:
    """Declare an op in `OPS` (flags: the boolean fields of `OpDef`; the spelling columns
    are merged in afterwards)."""
    assert len(partials) == arity, name
    OPS[name] = OpDef(name, arity, impl, partials, sympy, domain or (REAL,) * arity, **flags)
