"""SciPy's special functions in generated code: `sp.<name>(...)` (`ir.special`).

Each function of `ir.special.CFUNCTIONS` is a module attribute here. Called from Python (the
readable source, the interpreter's constant folding) it is SciPy's ufunc on numbers; inside
Numba code (the compiled tier's module, the VM) it is overloaded by a direct call of the C
function `scipy.special.cython_special` exports, by a symbol this module registers with LLVM
(`adc_sp_<capsule>`, at import, before any generated module is compiled or loaded from
Numba's cache), so cached machine code stays valid from one process to the next. Outputs a C
function writes through pointers (`sici`, `fresnel`) are stack slots of the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import llvmlite.binding
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.core.extending import get_cython_function_address, intrinsic, overload

from adcompile.ir.ops import OPS  # noqa: F401  (the op table: its library rows are declared)
from adcompile.ir.special import CFUNCTIONS, CFunction, scipy_special

_MODULE = "scipy.special.cython_special"


def _codegen(cf: CFunction) -> Callable[..., Any]:
    """LLVM code calling `cf` with its C argument types (see `ir.special.CFunction`)."""
    symbol = f"adc_sp_{cf.capsule}"

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        double, given = ir.DoubleType(), iter(args)
        params: list[Any] = []
        values: list[Any] = []
        outs: list[Any] = []
        for kind in cf.args:
            if kind == "d":
                params.append(double)
                values.append(next(given))
            elif kind == "l":
                params.append(ir.IntType(64))
                values.append(builder.fptosi(next(given), ir.IntType(64)))
            elif kind == "s":
                params.append(ir.IntType(32))
                values.append(ir.Constant(ir.IntType(32), 0))
            else:  # "o": an output written through a pointer
                slot = cgutils.alloca_once(builder, double)  # type: ignore[no-untyped-call]
                params.append(double.as_pointer())
                values.append(slot)
                outs.append(slot)
        kind_of_return = ir.VoidType() if outs else double
        kind = ir.FunctionType(kind_of_return, params)
        fn = cgutils.get_or_insert_function(builder.module, kind, symbol)  # type: ignore[no-untyped-call]
        result = builder.call(fn, values)
        return builder.load(outs[cf.pick]) if outs else result

    return codegen


def _declare(name: str, cf: CFunction, arity: int) -> Callable[..., float]:
    """The Python function `sp.<name>` and its Numba overload."""
    address = get_cython_function_address(_MODULE, cf.capsule)
    llvmlite.binding.add_symbol(f"adc_sp_{cf.capsule}", address)
    ufunc = getattr(scipy_special(), cf.ufunc)

    def value(*args: float) -> float:
        with np.errstate(all="ignore"):
            found = ufunc(*args)
        return float(found[cf.pick] if cf.pick >= 0 else found)

    python = _FIXED[arity](value)
    python.__name__ = python.__qualname__ = name
    call = _INTRINSICS[arity](_codegen(cf))
    overload(python)(_TYPERS[arity](call))
    return python


def _intrinsic1(codegen: Callable[..., Any]) -> Any:
    @intrinsic
    def call(typingctx: Any, a: Any) -> Any:
        return types.float64(types.float64), codegen

    return call


def _intrinsic2(codegen: Callable[..., Any]) -> Any:
    @intrinsic
    def call(typingctx: Any, a: Any, b: Any) -> Any:
        return types.float64(types.float64, types.float64), codegen

    return call


def _intrinsic3(codegen: Callable[..., Any]) -> Any:
    @intrinsic
    def call(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
        return types.float64(types.float64, types.float64, types.float64), codegen

    return call


def _numbers(*argtys: Any) -> bool:
    return all(isinstance(t, (types.Float, types.Integer, types.Boolean)) for t in argtys)


# The typers' parameters carry no annotations: Numba compares them with the implementation's.
def _typer1(call: Any) -> Callable[..., Any]:
    def typer(a):  # type: ignore[no-untyped-def]
        return (lambda a: call(float(a))) if _numbers(a) else None

    return typer


def _typer2(call: Any) -> Callable[..., Any]:
    def typer(a, b):  # type: ignore[no-untyped-def]
        return (lambda a, b: call(float(a), float(b))) if _numbers(a, b) else None

    return typer


def _typer3(call: Any) -> Callable[..., Any]:
    def typer(a, b, c):  # type: ignore[no-untyped-def]
        return (lambda a, b, c: call(float(a), float(b), float(c))) if _numbers(a, b, c) else None

    return typer


def _fixed1(value: Callable[..., float]) -> Callable[..., float]:
    def python(a: float) -> float:
        return value(a)

    return python


def _fixed2(value: Callable[..., float]) -> Callable[..., float]:
    def python(a: float, b: float) -> float:
        return value(a, b)

    return python


def _fixed3(value: Callable[..., float]) -> Callable[..., float]:
    def python(a: float, b: float, c: float) -> float:
        return value(a, b, c)

    return python


_INTRINSICS = {1: _intrinsic1, 2: _intrinsic2, 3: _intrinsic3}
_TYPERS = {1: _typer1, 2: _typer2, 3: _typer3}
_FIXED = {1: _fixed1, 2: _fixed2, 3: _fixed3}


def _arity(cf: CFunction) -> int:
    return sum(1 for kind in cf.args if kind in "dl")


for _name, _cf in CFUNCTIONS.items():
    globals()[_name] = _declare(_name, _cf, _arity(_cf))
