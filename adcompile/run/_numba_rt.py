"""Numba helpers that generated modules import (`import adcompile` never loads this module).

`f64_at(address)`, `f32_at`, `i64_at` and `i32_at` are the memory at an address (an int64) as
a typed pointer that indexes like a 1-D array: the generated driver reads its parameter
block, its inputs and its outputs through them (and the VM, `run.vm.source`, its code,
registers and buffers), so one compiled driver serves every strided or broadcast layout the
runner hands it (`adcompile.run.compiled.NumbaRunner`).
"""

from __future__ import annotations

from typing import Any

from numba.core import types
from numba.extending import intrinsic


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
