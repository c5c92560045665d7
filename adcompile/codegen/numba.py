"""The Numba module: the scalar kernel and one driver over batches, compiled together on import.

`numba_source` is what `run.jit` loads (its driver reads and writes memory through the typed
pointers of `adcompile.run._numba_rt`); `standalone_source` makes it a module that needs no
adcompile.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from adcompile.codegen.kernel import Kernel, function_lines
from adcompile.codegen.templates import NJIT_HELPER, helper_lines, special_imports

#: The driver's name in every generated module.
DRIVER: Final = "drive"
#: What the driver does with the outputs (the first int64 of its parameter block).
STORE, SUM = 0, 1
#: int64s per array in the parameter block: address, stride along i, stride along j
#: (strides in elements; 0 for an axis the array is broadcast along).
PER_ARRAY: Final = 3


def param_count(n_in: int, n_out: int) -> int:
    """The length of the driver's int64 parameter block (see `numba_source`)."""
    return 2 + PER_ARRAY * (n_in + n_out)


def numba_source(
    kernel: Kernel, fname: str, header: Sequence[str], scalars: frozenset[int] = frozenset()
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

    Only the driver's own additions may be reassociated (`fastmath={"reassoc"}`, so LLVM
    can vectorise sums); the kernel, a function of its own, keeps strict IEEE order.
    """
    opts = 'cache=True, error_model="numpy"'
    signature = "(" + ", ".join("float64" for _ in kernel.params) + ",)"
    lines = [*header, "import math", "", "import numba", "import numpy as np", ""]
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
    slot = 2
    for k in range(n_in):
        if k in scalars:
            body.append(f"    in{k}v = f64_at(p[{slot}])[0]  # one number in every call")
        else:
            body += [f"    in{k} = f64_at(p[{slot}])", f"    in{k}i = p[{slot + 1}]"]
            body += [f"    in{k}j = p[{slot + 2}]"]
        slot += PER_ARRAY
    for k in range(n_out):
        body += [f"    out{k} = f64_at(p[{slot}])", f"    out{k}i = p[{slot + 1}]"]
        body += [f"    out{k}j = p[{slot + 2}]"]
        slot += PER_ARRAY
    call = ", ".join(
        f"in{k}v" if k in scalars else f"in{k}[i * in{k}i + j * in{k}j]" for k in range(n_in)
    )
    loop = [
        "for i in range(i0, i1):",
        "    for j in range(j0, j1):",
        f"        r = {fname}({call})",
    ]
    body.append(f"    if p[0] == {STORE}:")
    body += [f"        {line}" for line in loop]
    body += [f"                out{k}[i * out{k}i + j * out{k}j] = r[{k}]" for k in range(n_out)]
    body.append("    else:")
    body += [f"        acc{k} = 0.0" for k in range(n_out)]
    body += [f"        {line}" for line in loop]
    body += [f"                acc{k} += r[{k}]" for k in range(n_out)]
    body.append(f"        sums = f64_at(p[1] + 8 * {n_out} * slot)")
    body += [f"        sums[{k}] = acc{k}" for k in range(n_out)]
    return body


def standalone_source(numba_module: str, n_out: int) -> str:
    """`numba_source`'s text made standalone (its helpers inlined) plus `evaluate`, a
    broadcasting wrapper around its driver returning a tuple of the `n_out` outputs."""
    body = numba_module.replace(_RT_IMPORT, _RT_INLINE)
    return body + _EVALUATE.format(n_out=n_out, per=PER_ARRAY, store=STORE)


_RT_IMPORT: Final = "from adcompile.run._numba_rt import f64_at, i64_at"
_RT_INLINE: Final = """from numba.core import types
from numba.extending import intrinsic


def _pointer(dtype):
    ptr = types.CPointer(dtype)

    def typer(typingctx, addr):
        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(ptr))

        return ptr(types.int64), codegen

    return typer


f64_at = intrinsic(_pointer(types.float64))
i64_at = intrinsic(_pointer(types.int64))"""
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
