"""The function library's machinery (issue "4b"): rows of the op table whose kernels are
SciPy's, and derivatives that do not exist in closed form.

A SciPy-backed op is declared with `scipy_op`: one row of the op table (`ops.OPS`) whose
- NumPy `impl` is the `scipy.special` ufunc (imported on first use: `import adcompile` stays
  fast), so the interpreter tier and constant folding compute exactly SciPy's numbers;
- Python template calls `sp.<name>(...)`, a function of `adcompile.run.special` that is
  SciPy's ufunc in plain Python and, inside Numba code (the compiled tier, the VM), a direct
  call of the C function `scipy.special.cython_special` exports (`CFUNCTIONS` says which and
  with what C signature), so the compiled tiers compute the same numbers too;
- NumPy template calls `scipy.special.<ufunc>(...)` (the standalone NumPy module).

`no_derivative(function, parameter, why)` is the partial rule of an argument with no
closed-form derivative (an order, a shape parameter): reverse and forward mode call a rule
only for an argument that depends on what is differentiated, so `jv(2, x)` differentiates
and `jv(v, x)` with respect to `v` raises `DerivativeError` naming the parameter, when the
evaluator is built. The family modules (`ir/library_*.py`) declare their rows here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import numpy as np

from adcompile.errors import DerivativeError
from adcompile.ir.opdef import Arr, Interval, Partial, defop


@dataclass(frozen=True)
class CFunction:
    """A C function of `scipy.special.cython_special` (its `__pyx_capi__` name) and its C
    argument types: `d` a double, `l` a C long (a float argument truncated: an integer
    order), `s` Cython's `skip_dispatch` int (passed as 0), `o` a pointer to a double the
    function writes (`pick` says which of those is the result); the return is a double (or
    void with outputs)."""

    capsule: str
    args: str
    ufunc: str  # the `scipy.special` ufunc of the same function (Python, NumPy)
    pick: int = -1  # with output pointers: which output (`sici`'s 0 is Si, 1 is Ci)


#: The SciPy-backed functions by their name in `adcompile.run.special` (`sp.<name>`).
CFUNCTIONS: Final[dict[str, CFunction]] = {}
#: The ops of the function library (issue "4b"), SciPy-backed or not: each family's tests
#: (`tests/ir/test_library_*.py`) check them against mpmath, not the generic per-op tests.
LIBRARY: Final[set[str]] = set()
#: How SymPy functions that are not one op read as formula text (`front.from_sympy`): SymPy's
#: function name -> a template over its arguments `{0}, {1}, ...` (`lowergamma(a, x)` is
#: `gamma({0}) * gammainc({0}, {1})`).
SYMPY_IMPORTS: Final[dict[str, str]] = {}
#: Helper functions the library's templates call, written once as source text (as
#: `numeric.HELPERS`: name -> (the helpers they call, their source)); the printers paste the
#: ones a module calls (`codegen.templates.HELPERS` merges them).
LIBRARY_HELPERS: Final[dict[str, tuple[tuple[str, ...], str]]] = {}
#: Trailing arguments a call may leave out, by op: `lambertw(x)` is `lambertw(x, 0)` (the
#: principal branch), `heaviside(x)` is `heaviside(x, 0.5)` (SymPy's Heaviside).
DEFAULTS: Final[dict[str, tuple[float, ...]]] = {}
#: Their spelling columns, merged into the op table with the others (`ops.py`).
SPECIAL_PYTHON: Final[dict[str, str]] = {}
SPECIAL_NUMPY: Final[dict[str, str]] = {}
SPECIAL_ALIASES: Final[dict[str, tuple[str, ...]]] = {}


@cache
def scipy_special() -> Any:
    """`scipy.special`, imported on first use (it costs ~0.2 s)."""
    import scipy.special

    return scipy.special


def _ufunc(ufunc: str, pick: int) -> Callable[..., Arr]:
    def impl(*args: Arr) -> Arr:
        with np.errstate(all="ignore"):
            found = getattr(scipy_special(), ufunc)(*args)
        return (
            np.float64(found[pick])
            if pick >= 0 and np.ndim(found[pick]) == 0
            else (found[pick] if pick >= 0 else found)
        )

    return impl


def scipy_op(
    name: str,
    arity: int,
    cfunction: CFunction,
    partials: tuple[Partial, ...],
    sympy: Callable[..., Any],
    domain: tuple[Interval, ...] | None = None,
    aliases: tuple[str, ...] = (),
    **flags: Any,
) -> None:
    """Declare op `name`, computed by SciPy (see the module docstring)."""
    CFUNCTIONS[name] = cfunction
    args = ", ".join(f"{{{k}}}" for k in range(arity))
    picked = f"[{cfunction.pick}]" if cfunction.pick >= 0 else ""
    numpy = f"scipy.special.{cfunction.ufunc}({args}){picked}"
    impl = _ufunc(cfunction.ufunc, cfunction.pick)
    library_op(name, arity, impl, partials, sympy, domain,
               python=f"sp.{name}({args})", numpy=numpy, aliases=aliases, **flags)  # fmt: skip


def library_op(
    name: str,
    arity: int,
    impl: Callable[..., Arr],
    partials: tuple[Partial, ...],
    sympy: Callable[..., Any],
    domain: tuple[Interval, ...] | None = None,
    *,
    python: str,
    numpy: str | None = None,
    aliases: tuple[str, ...] = (),
    **flags: Any,
) -> None:
    """Declare op `name` of the function library with its spellings: `python` (scalar code:
    the compiled tiers and the readable source) and `numpy` (over arrays; default: the
    same), and other names it is called by."""
    LIBRARY.add(name)
    SPECIAL_PYTHON[name] = python
    SPECIAL_NUMPY[name] = numpy or python
    if aliases:
        SPECIAL_ALIASES[name] = aliases
    defop(name, arity, impl, partials, sympy, domain, **flags)


def no_derivative(function: str, parameter: str, why: str) -> Partial:
    """The partial rule of an argument without a closed-form derivative: raises."""

    def rule(*args: Any) -> Any:  # `no_closed_form`: the per-op tests leave it out
        raise DerivativeError(
            f"{function}: no derivative with respect to its {parameter} ({why}); "
            f"differentiate with respect to the other inputs (wrt=...), or make the "
            f"{parameter} a constant"
        )

    rule.no_closed_form = True  # type: ignore[attr-defined]
    return rule
