"""The block interpreter's Numba source, printed from the op templates (`vm_source`).

Execution: points run in blocks of B (`machine.block_size`); for each instruction, one loop
over the B points of the block, so dispatch is paid once per instruction and block. Cheap ops
and the most common functions (`LOOP_OPS`) have a loop each; the others share one loop that
switches on the opcode at every point, which keeps the compile time down. Every op of `OPS`
is covered by construction and computes exactly what the Numba printer's code computes.
Three compiled entry points, all taking int64s (addresses and sizes), so one specialisation
serves every call:

- `run_block` (a C callback): the instructions on one block, registers at a given address;
- `run_chunk` (a C callback): the blocks of one chunk of a batch, then the outputs stored
  (float64 or float32) or summed; called directly (ctypes) for one point or a small batch;
- `run_batch`: `run_chunk` for every chunk under `numba.prange`, one chunk per Numba thread
  (`numba.set_num_threads` applies), each with its own register file.

They call each other through function pointers, so no compiled function links in and
re-optimises another one's code.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Final

from adcompile.codegen.templates import NJIT_HELPER, helper_lines
from adcompile.ir.ops import SCALAR_OPS as OPS  # the VM runs scalars (vectors: interpreter)
from adcompile.run.vm.encode import (
    IMMEDIATE_SUFFIX,
    LOADC,
    LOADIN,
    OPCODES,
    by_squaring,
    check_tables,
    opcode_names,
)

_OPERANDS: Final = ("r0", "r1", "r2")


def _operands(template: str, immediate: int | None, refs: Sequence[str]) -> str:
    """`template` with `{k}` replaced by refs[k], or by the immediate operand."""
    names = list(refs)
    if immediate is not None:
        names[immediate] = _OPERANDS[immediate]
    return template.format(*names)


#: Ops with a loop of their own (vectorisable where the op is): the cheap ones, where a
#: dispatch per point would cost more than the op, and the most common functions. The
#: others share one loop that dispatches on the opcode at every point (~2 ns a point,
#: small next to their own cost), which keeps the VM's compile time down.
LOOP_OPS: Final = (
    "add", "sub", "mul", "div", "neg", "mul0", "pow" + IMMEDIATE_SUFFIX, "where",
    "lt", "le", "gt", "ge", "eq", "ne", "and", "or", "not",
    "abs", "relu", "min", "max", "sign", "floor", "ceil", "stop_gradient",
    "sin", "cos", "exp", "log", "sqrt", "tanh", "sech2", "sigmoid", "sigmoid_slope",
)  # fmt: skip


_LOADS: Final = [
    (LOADC, ["v = consts[r0]", "for i in range(m):", "    o[i] = v"]),
    (
        LOADIN,
        [
            "kind = kinds[r0]",
            "if kind == 0:",
            "    v = scalars[r0]",
            "    for i in range(m):",
            "        o[i] = v",
            "elif kind == 1:",
            "    p = _f64_at(addrs[r0] + 8 * start)",
            "    for i in range(m):",
            "        o[i] = p[i]",
            "else:",
            "    q = _f32_at(addrs[r0] + 4 * start)",
            "    for i in range(m):",
            "        o[i] = np.float64(q[i])",
        ],
    ),
]


#: x ** e for a whole e >= 0 (immediate r1) as Numba computes it (r = 1; for each bit of e
#: from the lowest: r *= a if the bit is set, a *= a), one vector pass per multiplication;
#: a lives in the scratch register z.
_SQUARING: Final = [
    "for i in range(m):",
    "    o[i] = 1.0",
    "    z[i] = x[i]",
    "e = r1",
    "while e != 0:",
    "    if e & 1:",
    "        for i in range(m):",
    "            o[i] = o[i] * z[i]",
    "    e >>= 1",
    "    if e != 0:",
    "        for i in range(m):",
    "            z[i] = z[i] * z[i]",
]


def _templates() -> dict[str, tuple[str, int | None]]:
    """Every opcode name but the loads: (its template, the immediate argument or None)."""
    check_tables()
    table: dict[str, tuple[str, int | None]] = {op: (spec.python, None) for op, spec in OPS.items()}
    for op, spec in OPS.items():
        if spec.integer_power is not None:
            table[op + IMMEDIATE_SUFFIX] = (spec.python, spec.integer_power)
    return table


def _dispatch(indent: str) -> list[str]:
    """The body of the instruction loop: `if op == k:` branches (LLVM makes jump tables)."""
    table = _templates()
    looped = [name for name in LOOP_OPS if name in table]
    branches = list(_LOADS)
    for name in looped:
        template, imm = table[name]
        if imm is not None and by_squaring(name.removesuffix(IMMEDIATE_SUFFIX), imm):
            branches.append((OPCODES[name], _SQUARING))
            continue
        expr = _operands(template, imm, ["x[i]", "y[i]", "z[i]"])
        branches.append((OPCODES[name], ["for i in range(m):", f"    o[i] = {expr}"]))
    lines = []
    for n, (opcode, body) in enumerate(branches):
        lines.append(f"{indent}{'if' if n == 0 else 'elif'} op == {opcode}:  # {_name(opcode)}")
        lines += [f"{indent}    {line}" for line in body]
    generic = [name for name in table if name not in looped]
    if not generic:
        return lines
    inner = indent + "        "
    lines += [f"{indent}else:", f"{indent}    for i in range(m):"]
    lines += [f"{inner}a = x[i]", f"{inner}b = y[i]", f"{inner}c = z[i]"]
    for n, name in enumerate(generic):
        template, imm = table[name]
        expr = _operands(template, imm, ["a", "b", "c"])
        lines.append(f"{inner}{'if' if n == 0 else 'elif'} op == {OPCODES[name]}:  # {name}")
        lines.append(f"{inner}    v = {expr}")
    lines += [f"{inner}else:", f"{inner}    v = math.nan", f"{inner}o[i] = v"]
    return lines


def _name(opcode: int) -> str:
    return opcode_names()[opcode]


def _caller(name: str, count: int) -> str:
    """Source of an intrinsic calling the C function `void f(int64 x count)` at an address."""
    params = ", ".join(f"a{k}" for k in range(count))
    return f"""
@intrinsic
def {name}(typingctx, fn, {params}):
    def codegen(context, builder, signature, args):
        i64 = llvmlite.ir.IntType(64)
        fnty = llvmlite.ir.FunctionType(llvmlite.ir.VoidType(), [i64] * {count})
        builder.call(builder.inttoptr(args[0], fnty.as_pointer()), args[1:])
        return context.get_dummy_value()

    return types.none(*([types.int64] * {count + 1})), codegen
"""


_PRELUDE: Final = """\
import math

import llvmlite.ir
import numba
import numpy as np
from numba.core import types
from numba.extending import intrinsic

# The memory at an address (an int64) as a typed pointer, indexable like a 1-D array.
from adcompile.run._numba_rt import f32_at as _f32_at
from adcompile.run._numba_rt import f64_at as _f64_at
from adcompile.run._numba_rt import i32_at as _i32_at
from adcompile.run._numba_rt import i64_at as _i64_at
from adcompile.run import special as sp

# Indirect calls of the C entry points below (their addresses are passed in at run time),
# so that no function links in, and re-optimises, another one's code.
"""

#: Layout of the int64 parameter array of `run_chunk` (and `run_batch`).
PARAMS: Final = (
    "block_fn", "code", "ninstr", "consts", "kinds", "addrs", "scalars", "files",
    "registers", "block", "pitch", "n", "chunks", "out_regs", "nout", "mode", "out_addrs",
    "sums",
)  # fmt: skip

_BLOCK: Final = """\
@numba.cfunc("void(" + ", ".join(["int64"] * 10) + ")", cache=True, error_model="numpy")
def run_block(code_at, ninstr, consts_at, kinds_at, addrs_at, scalars_at, regs_at, pitch,
              start, m):
    \"\"\"Run `ninstr` instructions on the m points from `start` on: register r of point i
    is the float64 at regs_at + 8 * (r * pitch + i).\"\"\"
    code = _i32_at(code_at)
    consts = _f64_at(consts_at)
    kinds = _i64_at(kinds_at)
    addrs = _i64_at(addrs_at)
    scalars = _f64_at(scalars_at)
    stride = 8 * pitch
    for k in range(ninstr):
        op = code[5 * k]
        r0 = code[5 * k + 2]
        r1 = code[5 * k + 3]
        r2 = code[5 * k + 4]
        o = _f64_at(regs_at + stride * code[5 * k + 1])
        x = _f64_at(regs_at + stride * r0)
        y = _f64_at(regs_at + stride * r1)
        z = _f64_at(regs_at + stride * r2)
"""

_CHUNK: Final = """\
@numba.cfunc("void(int64, int64)", cache=True, error_model="numpy")
def run_chunk(params_at, t):
    \"\"\"Run chunk t of the batch described by the int64 parameters at `params_at`: its
    blocks, then store (mode 0: float64, 1: float32) or sum (mode 2) the outputs; mode 3
    leaves them in the registers.\"\"\"
    {unpack}
    blocks = (n + block - 1) // block
    regs_at = files + 8 * t * registers * pitch
    R = _f64_at(regs_at)
    out_reg = _i64_at(out_regs)
    out_at = _i64_at(out_addrs)
    total = _f64_at(sums)
    for b in range(t * blocks // chunks, (t + 1) * blocks // chunks):
        start = b * block
        m = min(block, n - start)
        _call_block(block_fn, code, ninstr, consts, kinds, addrs, scalars, regs_at, pitch,
                    start, m)
        for j in range(nout):
            row = out_reg[j] * pitch
            if mode == 0:
                p = _f64_at(out_at[j] + 8 * start)
                for i in range(m):
                    p[i] = R[row + i]
            elif mode == 1:
                q = _f32_at(out_at[j] + 4 * start)
                for i in range(m):
                    q[i] = np.float32(R[row + i])
            elif mode == 2:
                s = -0.0
                for i in range(m):
                    s += R[row + i]
                total[t * nout + j] += s


@numba.njit("void(int64, int64, int64)", parallel=True, cache=True, nogil=True)
def run_batch(chunk_fn, params_at, chunks):
    \"\"\"run_chunk(params_at, t) for every chunk t, in parallel.\"\"\"
    for t in numba.prange(chunks):
        _call_chunk(chunk_fn, params_at, t)
"""


@cache
def vm_source() -> str:
    """The VM module's source (deterministic: it depends only on adcompile's tables)."""
    from adcompile._version import __version__

    unpack = "\n    ".join(f"{name} = _i64_at(params_at)[{k}]" for k, name in enumerate(PARAMS))
    lines = [
        f"# Generated by adcompile {__version__}: the block interpreter (adcompile.run.vm).",
        "# One row of `code` per instruction: opcode, dest, r0, r1, r2 (registers or an",
        "# immediate); x, y, z point at the registers r0, r1, r2 and o at dest.",
        "# Do not edit: it is printed from adcompile's op table.",
        _PRELUDE + _caller("_call_block", 10) + _caller("_call_chunk", 2),
        "",
        *helper_lines([spec.python for spec in OPS.values()], NJIT_HELPER),  # numeric.HELPERS
        _BLOCK + "\n".join(_dispatch("        ")),
        "",
        "",
        _CHUNK.replace("{unpack}", unpack),
    ]
    return "\n".join(lines)
