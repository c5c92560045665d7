"""The Numba module: the scalar kernel, compiled on import, and parallel drivers over batches.

`numba_source` is what `run.jit` loads (its drivers read the inputs through
`adcompile.run._numba_rt`); `standalone_source` makes it a module that needs no adcompile.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from adcompile.codegen.kernel import Kernel, function_lines


def numba_source(kernel: Kernel, fname: str, header: Sequence[str]) -> str:
    """The Numba module: the scalar kernel and parallel drivers over a batch of points.

    The scalar kernel `fname` has an explicit all-float64 signature: it is compiled once, on
    import, and rejects arrays with a `TypeError` instead of compiling new specialisations.
    The drivers read every input through `at` (a float, or an array element widened to
    float64), so Numba compiles one specialisation per scalar/array pattern of the inputs and
    inputs given as scalars stay loop invariants:

    - `batch(n, in0, ..., out0, ...)`: 1-D inputs of length n; writes output j of point i
      to `outj[i]` (outputs of any float dtype: float32 outputs are rounded once, on store);
    - `batch2(n, m, ...)`: the same over 2-D inputs and outputs (broadcast views with zero
      strides need no copy), parallel over the n rows;
    - `total(n, ...)` and `total2(n, m, ...)`: the sums over the points of every output, as a
      tuple (a fused reduction: no per-point arrays). Only their own additions may be
      reassociated (`fastmath={"reassoc"}`: ~2x faster sums); the kernel keeps IEEE order.
    """
    opts = 'cache=True, error_model="numpy"'
    signature = "(" + ", ".join("float64" for _ in kernel.params) + ",)"
    lines = [*header, "import math", "", "import numba", "import numpy as np", ""]
    lines += [_RT_IMPORT, "", ""]
    lines += function_lines(kernel, fname, [f'@numba.njit("{signature}", {opts})'])
    if kernel.params:
        for dims, reduce in ((1, False), (2, False), (1, True), (2, True)):
            # Reductions may reassociate their own additions (as any parallel sum does), so
            # LLVM can vectorise them; the kernel, compiled on its own, keeps strict IEEE.
            fast = ', fastmath={"reassoc"}' if reduce else ""
            lines += ["", "", f"@numba.njit(parallel=True, {opts}{fast})"]
            lines += _driver(kernel, fname, dims, reduce)
    return "\n".join(lines) + "\n"


def _driver(kernel: Kernel, fname: str, dims: int, reduce: bool) -> list[str]:
    """A prange loop calling the scalar kernel per point (see `numba_source`)."""
    ins = [f"in{k}" for k in range(len(kernel.params))]
    outs = [] if reduce else [f"out{j}" for j in range(len(kernel.returns))]
    sizes, index = (["n"], "i") if dims == 1 else (["n", "m"], "i, j")
    name = ("total" if reduce else "batch") + ("2" if dims == 2 else "")
    getter = "at" if dims == 1 else "at2"
    call = ", ".join(f"{getter}({a}, {index})" for a in ins)
    body = [f"def {name}({', '.join([*sizes, *ins, *outs])}):"]
    if reduce:
        body += [f"    acc{j} = 0.0" for j in range(len(kernel.returns))]
    body.append("    for i in numba.prange(n):")
    pad = "        "
    if dims == 2:
        body.append("        for j in range(m):")
        pad += "    "
    body.append(f"{pad}r = {fname}({call})")
    for j in range(len(kernel.returns)):
        body.append(f"{pad}acc{j} += r[{j}]" if reduce else f"{pad}out{j}[{index}] = r[{j}]")
    if reduce:
        accs = ", ".join(f"acc{j}" for j in range(len(kernel.returns)))
        body.append(f"    return {accs}{',' if len(kernel.returns) == 1 else ''}")
    return body


def standalone_source(numba_module: str, n_out: int) -> str:
    """`numba_source`'s text made standalone (its helpers inlined) plus `evaluate`, a
    broadcasting wrapper around its batch driver returning a tuple of the `n_out` outputs."""
    body = numba_module.replace(_RT_IMPORT, _RT_INLINE)
    return body + _EVALUATE.format(n_out=n_out)


_RT_IMPORT: Final = "from adcompile.run._numba_rt import at, at2"
_RT_INLINE: Final = """from numba.core import types
from numba.extending import overload


def at(a, i):
    return np.float64(a[i] if hasattr(a, "__getitem__") else a)


def at2(a, i, j):
    return np.float64(a[i, j] if hasattr(a, "__getitem__") else a)


@overload(at)
def _at(a, i):
    if isinstance(a, types.Array):
        return lambda a, i: np.float64(a[i])
    return lambda a, i: np.float64(a)


@overload(at2)
def _at2(a, i, j):
    if isinstance(a, types.Array):
        return lambda a, i, j: np.float64(a[i, j])
    return lambda a, i, j: np.float64(a)"""
_EVALUATE: Final = '''

def evaluate(*inputs):
    """The outputs at broadcast inputs (numbers or arrays), as float64 arrays."""
    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in inputs))
    shape = arrays[0].shape if arrays else ()
    flat = [np.ascontiguousarray(a).reshape(-1) for a in arrays]
    size = flat[0].size if flat else 1
    outs = [np.empty(size) for _ in range({n_out})]
    batch(size, *flat, *outs)
    return tuple(o.reshape(shape) for o in outs)
'''
