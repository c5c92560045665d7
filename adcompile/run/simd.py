"""Vectorized elementary functions for the compiled tier (DESIGN.md section 3d).

A generated Numba module imports this module as `math` (`math="simd"`, the default): every
name of Python's `math` is here, and the functions of `VECTOR_FUNCTIONS` are overloaded in
Numba code by a call of the C library's scalar function that carries LLVM's
`vector-function-abi-variant` attribute, naming glibc's libmvec entry points (`_ZGVdN4v_exp`,
`_ZGVeN8v_exp`, ...) as its vector forms. LLVM's loop vectorizer then turns a loop over
such calls (the driver's block loop, `codegen.numba`) into calls of the vector forms, four
or eight points at a time, with the rest of the fused kernel vectorized around them.

The symbols are registered with LLVM at import, before a generated module is compiled or
loaded from Numba's cache (as `run.special` does), so cached machine code stays valid. Where
libmvec or the instruction sets are missing (not glibc, not x86-64, or `ADCOMPILE_MATH=libm`
in the environment), nothing is overloaded: the names are Python's `math` functions, which
Numba calls one point at a time (the C library's results, bit for bit).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math as _math
import os
import platform
from collections.abc import Callable
from typing import Any, Final

import llvmlite.binding
from llvmlite import ir
from numba.core import cgutils, types
from numba.core.extending import intrinsic, overload

from adcompile.run.libm import *  # noqa: F403  (math's names and pow: the scalar fallback)

#: The functions with vector forms: name -> arity. libmvec (glibc 2.35+) has all of them.
VECTOR_FUNCTIONS: Final[dict[str, int]] = {
    "exp": 1, "log": 1, "sin": 1, "cos": 1, "tan": 1, "expm1": 1, "log1p": 1,
    "sinh": 1, "cosh": 1, "tanh": 1, "asin": 1, "acos": 1, "atan": 1, "asinh": 1,
    "acosh": 1, "atanh": 1, "erf": 1, "erfc": 1, "log2": 1, "log10": 1, "exp2": 1,
    "cbrt": 1, "pow": 2, "atan2": 2, "hypot": 2,
}  # fmt: skip
#: (ISA letter of the vector ABI, lanes, the CPU feature LLVM reports for it).
_ISAS: Final = (("b", 2, "sse4.1"), ("d", 4, "avx2"), ("e", 8, "avx512f"))


def _mangled(isa: str, lanes: int, name: str, arity: int) -> str:
    return f"_ZGV{isa}N{lanes}{'v' * arity}_{name}"


def _available() -> tuple[dict[str, list[tuple[int, str]]], str]:
    """The vector forms this machine can call, per function, and why there are none."""
    if os.environ.get("ADCOMPILE_MATH", "") == "libm":
        return {}, "ADCOMPILE_MATH=libm"
    if platform.machine() not in ("x86_64", "AMD64") or platform.system() != "Linux":
        return {}, f"no libmvec on {platform.system()} {platform.machine()}"
    try:
        mvec, libm = ctypes.CDLL("libmvec.so.1"), ctypes.CDLL(ctypes.util.find_library("m"))
    except OSError as exc:
        return {}, f"libmvec not found ({exc})"
    features = llvmlite.binding.get_host_cpu_features()
    isas = [(isa, lanes) for isa, lanes, feature in _ISAS if features.get(feature, False)]
    found: dict[str, list[tuple[int, str]]] = {}
    for name, arity in VECTOR_FUNCTIONS.items():
        forms = []
        for isa, lanes in isas:
            symbol = _mangled(isa, lanes, name, arity)
            address = getattr(mvec, symbol, None)
            if address is not None:
                llvmlite.binding.add_symbol(symbol, ctypes.cast(address, ctypes.c_void_p).value)
                forms.append((lanes, symbol))
        scalar = getattr(libm, name, None)
        if forms and scalar is not None:
            address = ctypes.cast(scalar, ctypes.c_void_p).value
            llvmlite.binding.add_symbol(f"adc_vm_{name}", address)
            found[name] = forms
    return found, "" if found else "no vector forms for this CPU"


#: The vector forms in use, per function: [(lanes, libmvec symbol)]; empty where none.
FORMS, WHY_NOT = _available()
#: "simd" where the functions of `FORMS` are vectorized, else "libm".
KIND: Final = "simd" if FORMS else "libm"
if FORMS:
    # A loop summing in source order (the vector tier's `sum`, `mean`, `dot`: no `reassoc`)
    # may vectorize too: the elements in vector lanes, their sum still added one by one in
    # order (LLVM's ordered reductions), so the result is the same to the bit.
    llvmlite.binding.set_option("adcompile", "-force-ordered-reductions=true")
    # The driver's loop vectorizes only with the kernel inlined into it: LLVM's default
    # threshold (225) stops at about 11 elementary functions in a kernel; 1000 lets kernels
    # of a few dozen through (the bigger ones run point by point, as with math="libm").
    llvmlite.binding.set_option("adcompile", "-inline-threshold=1000")


def _keep(module: Any) -> None:
    """Declare every vector form in `module` and list them in `llvm.compiler.used`: LLVM's
    vectorizer uses a form only if it is declared, and drops unused declarations first."""
    if "llvm.compiler.used" in module.globals:
        return
    double, used = ir.DoubleType(), []
    for name, forms in FORMS.items():
        for lanes, symbol in forms:
            vt = ir.VectorType(double, lanes)
            kind = ir.FunctionType(vt, [vt] * VECTOR_FUNCTIONS[name])
            used.append(cgutils.get_or_insert_function(module, kind, symbol))  # type: ignore[no-untyped-call]
    ptr = ir.PointerType()
    array = ir.ArrayType(ptr, len(used))
    holder = ir.GlobalVariable(module, array, "llvm.compiler.used")
    holder.linkage = "appending"
    holder.section = "llvm.metadata"
    holder.initializer = ir.Constant(array, [f.bitcast(ptr) for f in used])


def _codegen(name: str, arity: int) -> Callable[..., Any]:
    variants = ",".join(
        f"_ZGV_LLVM_N{lanes}{'v' * arity}_adc_vm_{name}({symbol})" for lanes, symbol in FORMS[name]
    )
    variant = f'"vector-function-abi-variant"="{variants}"'
    attributes = ("nounwind", "willreturn", "memory(none)", variant)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        double = ir.DoubleType()
        _keep(builder.module)
        kind = ir.FunctionType(double, [double] * arity)
        fn = cgutils.get_or_insert_function(builder.module, kind, f"adc_vm_{name}")  # type: ignore[no-untyped-call]
        call = builder.call(fn, list(args))
        for attribute in attributes:  # llvmlite knows no attribute with a value: add it raw
            set.add(call.attributes, attribute)
        return call

    return codegen


def _overload1(name: str) -> None:
    codegen = _codegen(name, 1)

    @intrinsic
    def call(typingctx: Any, a: Any) -> Any:
        return types.float64(types.float64), codegen

    def typer(a):  # type: ignore[no-untyped-def]
        if isinstance(a, (types.Float, types.Integer, types.Boolean)):
            return lambda a: call(float(a))  # type: ignore[call-arg]
        return None

    overload(globals()[name])(typer)


def _overload2(name: str) -> None:
    codegen = _codegen(name, 2)

    @intrinsic
    def call(typingctx: Any, a: Any, b: Any) -> Any:
        return types.float64(types.float64, types.float64), codegen

    def typer(a, b):  # type: ignore[no-untyped-def]
        if isinstance(b, types.Integer) and name == "pow":  # a whole exponent: multiplications
            return lambda a, b: float(a) ** b
        if all(isinstance(t, (types.Float, types.Integer, types.Boolean)) for t in (a, b)):
            return lambda a, b: call(float(a), float(b))  # type: ignore[call-arg]
        return None

    overload(globals()[name])(typer)


def _python(name: str) -> Callable[..., float]:
    """A Python function computing what the C library's `name` does (for Numba to overload:
    builtins cannot be), with NumPy's semantics where Python's `math` raises."""
    import numpy as np

    spelled = {"pow": "power", "atan2": "arctan2", "asin": "arcsin", "acos": "arccos"}
    spelled |= {"atan": "arctan", "asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh"}
    ufunc: Any = getattr(np, spelled.get(name, name), None)
    scalar = getattr(_math, name)

    def value(*args: float) -> float:
        try:
            return float(scalar(*args))
        except (ValueError, OverflowError):
            with np.errstate(all="ignore"):
                return float(ufunc(*args)) if ufunc is not None else _math.nan

    value.__name__ = value.__qualname__ = name
    return value


for _name, _arity in VECTOR_FUNCTIONS.items():
    if _name in FORMS:
        globals()[_name] = _python(_name)
        (_overload1 if _arity == 1 else _overload2)(_name)
