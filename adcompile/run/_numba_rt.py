"""Numba helpers that generated modules import (`import adcompile` never loads this module).

`block()` is a float64 buffer of `BLOCK` elements on the stack: the drivers copy a block of
inputs or outputs that they cannot use in place into such buffers (buffers on the stack
alias nothing, so LLVM vectorizes the loop over them with no runtime checks).

`f64_at(address)`, `f32_at`, `i64_at` and `i32_at` are the memory at an address (an int64) as
a typed pointer that indexes like a 1-D array: the generated driver reads its parameter
block, its inputs and its outputs through them (and the VM, `run.vm.source`, its code,
registers and buffers), so one compiled driver serves every strided or broadcast layout the
runner hands it (`adcompile.run.compiled.NumbaRunner`).
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from adcompile.codegen.numba import BLOCK


def _pointer(dtype: Any) -> Any:
    ptr = types.CPointer(dtype)  # type: ignore[no-untyped-call]

    def typer(typingctx: Any, addr: Any) -> Any:
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            return builder.inttoptr(args[0], context.get_value_type(ptr))

        return ptr(types.int64), codegen

    return typer


f64_at = intrinsic(_pointer(types.float64))
f32_at = intrinsic(_pointer(types.float32))
i64_at = intrinsic(_pointer(types.int64))
i32_at = intrinsic(_pointer(types.int32))


@intrinsic
def block(typingctx: Any) -> Any:
    """A float64 buffer of `BLOCK` elements on the caller's stack, as a pointer."""
    ptr = types.CPointer(types.float64)  # type: ignore[no-untyped-call]

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        slot = cgutils.alloca_once(builder, ir.ArrayType(ir.DoubleType(), BLOCK))  # type: ignore[no-untyped-call]
        return builder.bitcast(slot, context.get_value_type(ptr))

    return ptr(), codegen
