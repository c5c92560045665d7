"""The Numba module: the scalar kernel and one driver over batches, compiled together on import.

`numba_source` is what `run.jit` loads (its driver reads and writes memory through the typed
pointers of `adcompile.run._numba_rt`); `standalone_source` makes it a module that needs no
adcompile.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Final, Literal

from adcompile.codegen.kernel import Kernel, function_lines
from adcompile.codegen.templates import NJIT_HELPER, helper_lines, special_imports

#: The driver's name in every generated module.
DRIVER: Final = "drive"
#: Where a Numba module's `math` comes from, by `compile(..., math=...)`.
Math = Literal["simd", "libm"]
MATH_IMPORTS: Final[dict[str, str]] = {
    "simd": "from adcompile.run import simd as math  # libmvec's vector forms where found",
    "libm": "from adcompile.run import libm as math  # the C library's functions",
}
#: What the driver does with the outputs (the first int64 of its parameter block).
STORE, SUM = 0, 1
#: Points the driver computes in one block, and the multiple it rounds a block up to: lanes
#: past the batch's end compute on 1.0 and are not stored, so no point goes through a scalar
#: remainder loop (results do not depend on a point's place in the batch).
BLOCK: Final = 128
_LANES: Final = 16
#: The most pairs of arrays LLVM checks for overlap before it vectorizes a loop (its
#: `-vectorize-memory-check-threshold`): a block writes its outputs in place only where the
#: pairs (output, input or other output) fit, otherwise through buffers on the stack, which
#: need no check. Measured: exp(x0+...+x8), 10 outputs x 9 inputs + 45 = 135 pairs, is not
#: vectorized in place, exp(x0+...+x7), 108 pairs, is.
_MEMORY_CHECKS: Final = 128
#: int64s per array in the parameter block: address, stride along i, stride along j
#: (strides in elements; 0 for an axis the array is broadcast along).
PER_ARRAY: Final = 3


def effective_math(math: Math) -> Math:
    """`math`, or "libm" where `ADCOMPILE_MATH=libm` is set: the module's text says which, so
    code Numba cached for one is never loaded for the other."""
    return "libm" if os.environ.get("ADCOMPILE_MATH", "") == "libm" else math


def param_count(n_in: int, n_out: int) -> int:
    """The length of the driver's int64 parameter block (see `numba_source`)."""
    return 2 + PER_ARRAY * (n_in + n_out)


def numba_source(
    kernel: Kernel,
    fname: str,
    header: Sequence[str],
    scalars: frozenset[int] = frozenset(),
    math: Math = "simd",
) -> str:
    """The Numba module: the scalar kernel and one driver over a batch of points.

    Both have explicit signatures, so importing the module compiles them once (one compile
    per formula: no specialisation is made later, whatever the call) or loads both from
    Numba's disk cache. The scalar kernel `fname` takes float64s and rejects arrays with a
    `TypeError`. The driver `drive(p, i0, i1, j0, j1, slot)` (no GIL held) runs the kernel
    at the points (i, j), i0 <= i < i1, j0 <= j < j1, of a batch described by the int64
    parameter block at address p:

    - `p[0]`: `STORE` (write output k of point (i, j) to its array) or `SUM` (add the
      outputs of these points into row `slot` of the float64 sums at address `p[1]`);
    - then for every input, then every output: the address of its float64 data and its
      strides along i and along j, in elements (0 where it is broadcast: one number is an
      array of one element with both strides 0), so broadcasting copies nothing.

    Inputs listed in `scalars` (by position) are one number in every call the module serves:
    the driver reads each once, before its loops, so LLVM sees loop invariants and hoists what
    depends on them alone (a module per such pattern; the runner checks calls fit it).

    The kernel (printed for the "numba" target) calls the elementary functions of the
    module's `math`, which is `adcompile.run.simd` (`math="simd"`: vectorized where the
    machine has libmvec) or `adcompile.run.libm` (the C library's, one point at a time). The
    driver works in blocks of `BLOCK` points and LLVM vectorizes the loop over a block,
    kernel and elementary functions included: contiguous inputs are read in place (others
    are copied to buffers on the stack), outputs are written in place where LLVM can check
    them for overlap at run time (see `_MEMORY_CHECKS`; where they overlap an input, the
    block runs point by point), through stack buffers otherwise. The last block is padded
    to a multiple of `_LANES` points, so every point takes the same vector code.

    Only the driver's own additions may be reassociated (`fastmath={"reassoc"}`, so LLVM
    can vectorise sums); the kernel, a function of its own, keeps strict IEEE order.
    """
    opts = 'cache=True, error_model="numpy"'
    math = effective_math(math)
    signature = "(" + ", ".join("float64" for _ in kernel.params) + ",)"
    lines = [*header, MATH_IMPORTS[math], "", "import numba", "import numpy as np", ""]
    lines += [_RT_IMPORT, *special_imports(kernel.lines), "", ""]
    lines += helper_lines(kernel.lines, NJIT_HELPER)  # only where the kernel calls one
    lines += function_lines(kernel, fname, [f'@numba.njit("{signature}", {opts})'])
    if kernel.params:
        lines += ["", "", _DRIVER_DECORATOR.format(opts=opts)]
        lines += _driver(kernel, fname, scalars)
    return "\n".join(lines) + "\n"


_DRIVER_DECORATOR: Final = (
    '@numba.njit("void(int64, int64, int64, int64, int64, int64)", nogil=True, {opts}, '
    'fastmath={{"reassoc"}})'
)


def _driver(kernel: Kernel, fname: str, scalars: frozenset[int]) -> list[str]:
    """The loops over a block of the batch calling the scalar kernel (see `numba_source`)."""
    n_in, n_out = len(kernel.params), len(kernel.returns)
    body = [f"def {DRIVER}(p_at, i0, i1, j0, j1, slot):", "    p = i64_at(p_at)"]

    def add(depth: int, *lines: str) -> None:
        body.extend("    " * depth + line for line in lines)

    slot = 2
    for k in range(n_in):
        if k in scalars:
            add(1, f"in{k}v = f64_at(p[{slot}])[0]  # one number in every call")
        else:
            add(1, f"in{k}a = p[{slot}]", f"in{k} = f64_at(in{k}a)", f"in{k}i = p[{slot + 1}]")
            add(1, f"in{k}j = p[{slot + 2}]", f"a{k} = block()")
        slot += PER_ARRAY
    for k in range(n_out):
        add(1, f"out{k}a = p[{slot}]", f"out{k} = f64_at(out{k}a)", f"out{k}i = p[{slot + 1}]")
        add(1, f"out{k}j = p[{slot + 2}]", f"r{k} = block()", f"acc{k} = 0.0")
        slot += PER_ARRAY
    arrays = [k for k in range(n_in) if k not in scalars]
    call = ", ".join(f"in{k}v" if k in scalars else f"s{k}[q]" for k in range(n_in))
    add(1, f"store = p[0] == {STORE}", "for i in range(i0, i1):")
    add(2, f"for jb in range(j0, j1, {BLOCK}):")
    add(3, f"m = min({BLOCK}, j1 - jb)", f"w = (m + {_LANES - 1}) & -{_LANES}  # whole lanes")
    if arrays:
        unit = " and ".join(f"in{k}j == 1" for k in arrays)
        add(3, f"if m == w and {unit}:  # read contiguous inputs in place")
        add(4, *(f"s{k} = f64_at(in{k}a + 8 * (i * in{k}i + jb))" for k in arrays))
        add(3, "else:  # a copy (padded with 1.0 past the end)", "    for q in range(m):")
        add(5, *(f"a{k}[q] = in{k}[i * in{k}i + (jb + q) * in{k}j]" for k in arrays))
        add(4, "for q in range(m, w):", *(f"    a{k}[q] = 1.0" for k in arrays))
        add(4, *(f"s{k} = a{k}" for k in arrays))
    if n_out * len(arrays) + n_out * (n_out - 1) // 2 <= _MEMORY_CHECKS:
        unit = " and ".join(f"out{k}j == 1" for k in range(n_out))
        add(3, f"if store and m == w and {unit}:  # write in place")
        add(4, *(f"o{k} = f64_at(out{k}a + 8 * (i * out{k}i + jb))" for k in range(n_out)))
        add(4, "for q in range(w):", f"    r = {fname}({call})")
        add(5, *(f"o{k}[q] = r[{k}]" for k in range(n_out)))
        add(4, "continue")
    add(3, "for q in range(w):", f"    r = {fname}({call})")
    add(4, *(f"r{k}[q] = r[{k}]" for k in range(n_out)))
    add(3, "if store:")
    for k in range(n_out):  # a loop per output: no two stores LLVM must prove apart
        add(4, "for q in range(m):", f"    out{k}[i * out{k}i + (jb + q) * out{k}j] = r{k}[q]")
    add(3, "else:", "    for q in range(m):", *(f"        acc{k} += r{k}[q]" for k in range(n_out)))
    add(1, "if not store:", f"    sums = f64_at(p[1] + 8 * {n_out} * slot)")
    add(2, *(f"sums[{k}] = acc{k}" for k in range(n_out)))
    return body


def plain_math(source: str) -> str:
    """A generated module's text with Python's `math` (in Numba: the C library's functions,
    not vectorized) for `adcompile.run.simd`/`libm`, and NumPy's `cbrt` and `exp2`, which
    Numba knows in NumPy and not in `math`."""
    for line in MATH_IMPORTS.values():
        source = source.replace(line, "import math")
    return source.replace("math.cbrt(", "np.cbrt(").replace("math.exp2(", "np.exp2(")


def standalone_source(numba_module: str, n_out: int) -> str:
    """`numba_source`'s text made standalone (its helpers inlined, Python's `math`: the C
    library's functions, not vectorized) plus `evaluate`, a broadcasting wrapper around its
    driver returning a tuple of the `n_out` outputs."""
    body = plain_math(numba_module.replace(_RT_IMPORT, _RT_INLINE))
    return body + _EVALUATE.format(n_out=n_out, per=PER_ARRAY, store=STORE)


_RT_IMPORT: Final = "from adcompile.run._numba_rt import block, f64_at, i64_at"
_RT_INLINE: Final = f"""from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

BLOCK = {BLOCK}


def _pointer(dtype):
    ptr = types.CPointer(dtype)

    def typer(typingctx, addr):
        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(ptr))

        return ptr(types.int64), codegen

    return typer


f64_at = intrinsic(_pointer(types.float64))
i64_at = intrinsic(_pointer(types.int64))


@intrinsic
def block(typingctx):
    ptr = types.CPointer(types.float64)

    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once(builder, ir.ArrayType(ir.DoubleType(), BLOCK))
        return builder.bitcast(slot, context.get_value_type(ptr))

    return ptr(), codegen"""
_EVALUATE: Final = '''

def evaluate(*inputs):
    """The outputs at broadcast inputs (numbers or arrays), as float64 arrays."""
    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in inputs))
    shape = arrays[0].shape if arrays else ()
    flat = [np.ascontiguousarray(a).reshape(-1) for a in arrays]
    size = flat[0].size if flat else 1
    outs = [np.empty(size) for _ in range({n_out})]
    p = np.zeros(2 + {per} * (len(flat) + len(outs)), dtype=np.int64)
    p[0] = {store}
    for k, a in enumerate([*flat, *outs]):
        p[2 + {per} * k] = a.ctypes.data
        p[4 + {per} * k] = 1
    drive(p.ctypes.data, 0, 1, 0, size, 0)
    return tuple(o.reshape(shape) for o in outs)
'''
