"""A precompiled block interpreter (the "VM"): any IR program, no per-formula Numba compile.

Numba's compile time grows faster than linearly with the size of a straight-line kernel
(DESIGN.md section 1b), so big formulas run here instead: ONE generic Numba module, printed
from the op template table `codegen.PYTHON` (so every op of `OPS` is covered by construction
and computes exactly what the Numba printer's code computes), compiled once per adcompile
version and loaded from Numba's disk cache by later processes (`jit.load`).

Encoding (`encode`): two linear scans over the live nodes in id order (ids are topological):
an int32 array of instructions `(opcode, dest, r0, r1, r2)` and a float64 constant pool.
Every value lives in a register. A register is freed after the last read of its value
(outputs are kept) and reused, last freed first, so a 10,000-step chain needs a handful of
registers for its value (its gradient needs the forward values the reverse sweep reads). A
destination is allocated before its arguments are freed, so it never overlaps them and the
VM's loops stay vectorisable. Constants and inputs are loaded by `loadc` and `loadin`
instructions at their place in id order. An op of `codegen.INTEGER_ARGS` (`pow`) whose
argument is a whole constant in 0..64 gets the opcode `pow:imm` with the exponent as an
immediate: it multiplies by repeated squaring exactly as Numba does for the printer's
integer literal (the same products in the same order), one vector pass per product.

Execution: points run in blocks of B (`block_size`); for each instruction, one loop over the
B points of the block, so dispatch is paid once per instruction and block. Cheap ops and the
most common functions (`LOOP_OPS`) have a loop each; the others share one loop that switches
on the opcode at every point, which keeps the compile time down. Three compiled entry points,
all taking int64s (addresses and sizes), so one specialisation serves every call:

- `run_block` (a C callback): the instructions on one block, registers at a given address;
- `run_chunk` (a C callback): the blocks of one chunk of a batch, then the outputs stored
  (float64 or float32) or summed; called directly (ctypes) for one point or a small batch;
- `run_batch`: `run_chunk` for every chunk under `numba.prange`, one chunk per Numba thread
  (`numba.set_num_threads` applies), each with its own register file.

They call each other through function pointers, so no compiled function links in and
re-optimises another one's code. A `Machine` keeps per-thread buffers (parameter block,
input descriptors, register files) so a call writes a few numbers and makes one call.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Final

import numpy as np

from adcompile.codegen import python as codegen
from adcompile.ir.graph import Graph, NodeId
from adcompile.ir.ops import OPS
from adcompile.run import jit

#: Opcodes of the two load instructions; the ops of `OPS` and their immediate forms follow.
LOADC: Final = 0  # dest <- consts[arg0]
LOADIN: Final = 1  # dest <- input arg0 (a scalar, or the block's slice of an array)
_IMMEDIATE_SUFFIX: Final = ":imm"

#: Block size B (points): the register file (registers x B float64s, per thread) is aimed
#: at REGISTER_BYTES (about the L2 cache), with B in [BLOCK_MIN, BLOCK_MAX]; below
#: BLOCK_MIN the dispatch cost per instruction shows more than the cache misses (measured on
#: 1,000- and 10,000-step chains). B shrinks below BLOCK_MIN only to keep the register file
#: under REGISTER_LIMIT.
REGISTER_BYTES: Final = 2 << 20
REGISTER_LIMIT: Final = 64 << 20
BLOCK_MIN: Final = 32
BLOCK_MAX: Final = 512

#: Inputs and outputs are passed to the VM as (kind, address): a scalar value or an array.
SCALAR, FLOAT64, FLOAT32 = 0, 1, 2
#: What the batch driver does with the outputs: store them (float64 / float32) or sum them.
STORE64, STORE32, SUM = 0, 1, 2


def _opcode_names() -> tuple[str, ...]:
    names = ["loadc", "loadin", *OPS]
    names += [op + _IMMEDIATE_SUFFIX for op in codegen.INTEGER_ARGS]
    return tuple(names)


#: Opcode number of every op of `OPS` (and `op:imm` for the immediate forms).
OPCODES: Final[dict[str, int]] = {name: code for code, name in enumerate(_opcode_names())}


def check_tables() -> None:
    """Assert every op has an opcode and a template the VM source is printed from."""
    missing = set(OPS) - set(codegen.PYTHON)
    assert not missing, f"ops without a Python template: {sorted(missing)}"
    missing = set(OPS) - set(OPCODES)
    assert not missing, f"ops without a VM opcode: {sorted(missing)}"
    for op, k in codegen.INTEGER_ARGS.items():
        assert op in OPS and 0 <= k < OPS[op].arity, f"bad INTEGER_ARGS entry {op}: {k}"


# --- encoding -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Encoded:
    """A graph's outputs as a VM program (see the module docstring)."""

    code: np.ndarray  # int32 (instructions, 5): opcode, dest, arg0, arg1, arg2
    consts: np.ndarray  # float64 constant pool, indexed by LOADC's arg0
    registers: int  # registers needed (the most live at once)
    out_regs: np.ndarray  # int64: the register holding output j at the end
    n_inputs: int


def _immediate(graph: Graph, op: str, args: Sequence[NodeId]) -> tuple[int, int] | None:
    """(argument index, value) when the printer would print that argument as an integer."""
    k = codegen.INTEGER_ARGS.get(op)
    if k is None:
        return None
    value = graph.const_value(args[k])
    if value is None or not value.is_integer() or not 0 <= value <= codegen.MAX_INTEGER_POWER:
        return None
    return k, int(value)


#: The power template: with a whole exponent as an immediate, the VM multiplies by
#: repeated squaring like Numba's integer power (the same products in the same order).
_POWER: Final = "{0} ** {1}"


_WITH_IMMEDIATE: Final = frozenset(codegen.INTEGER_ARGS)


def _by_squaring(op: str, k: int) -> bool:
    """Whether op's immediate form is the power by squaring (it needs a scratch register)."""
    return codegen.PYTHON[op] == _POWER and k == 1


def encode(graph: Graph, inputs: Sequence[NodeId], outputs: Sequence[NodeId | None]) -> Encoded:
    """The VM program computing `outputs` (None: the constant 0.0) from the `inputs` nodes.

    Two linear scans in id order: the first finds each value's last reader (reads of an
    immediate do not count), the second allocates registers and emits the instructions.
    """
    nodes = graph.nodes
    size = len(nodes)
    wanted = [o for o in outputs if o is not None]
    live = graph.live(wanted)
    input_index: dict[NodeId, int] = {}
    for k, nid in enumerate(inputs):
        input_index.setdefault(nid, k)
    # last[v]: the id of the last node reading v from a register (-1: none; size: an output)
    last = [-1] * size
    immediates: dict[NodeId, tuple[int, int]] = {}
    for nid in range(size):
        args = nodes[nid].args
        if not args or not live[nid]:
            continue
        imm = _immediate(graph, nodes[nid].op, args) if nodes[nid].op in _WITH_IMMEDIATE else None
        if imm is None:
            for a in args:
                last[a] = nid
        else:
            immediates[nid] = imm
            for pos, a in enumerate(args):
                if pos != imm[0]:
                    last[a] = nid
    for o in wanted:
        last[o] = size

    flat: list[int] = []  # the instructions, 5 ints each
    scratch_rows: list[int] = []  # instructions whose arg2 is the scratch register
    pool: dict[bytes, int] = {}
    reg = [-1] * size  # the register of each value while it is live
    free: list[int] = []  # registers free for reuse, the last freed on top
    registers = 0
    for nid in range(size):
        if last[nid] < 0:
            continue  # not live, or read only as an immediate
        op, args, attr = nodes[nid]
        # The destination is taken before the arguments' registers are freed: it never
        # overlaps an argument, which keeps the VM's loops vectorisable.
        if free:
            dest = free.pop()
        else:
            dest, registers = registers, registers + 1
        reg[nid] = dest
        if not args:
            if op == "const":
                bits = struct.pack("<d", attr)
                flat += (LOADC, dest, pool.setdefault(bits, len(pool)), 0, 0)
            elif nid in input_index:
                flat += (LOADIN, dest, input_index[nid], 0, 0)
            else:
                raise ValueError(f"the outputs depend on input node {nid}, not in `inputs`")
            continue
        imm = immediates.get(nid)
        operands = [reg[a] for a in args]
        if imm is None:
            flat.append(OPCODES[op])
        else:
            flat.append(OPCODES[op + _IMMEDIATE_SUFFIX])
            operands[imm[0]] = imm[1]
            if _by_squaring(op, imm[0]):
                scratch_rows.append(len(flat) // 5)
        flat.append(dest)
        flat += operands
        flat += (0, 0, 0)[len(operands) :]
        for pos, a in enumerate(args):  # free the registers of values read for the last time
            if last[a] == nid and a not in args[:pos]:
                free.append(reg[a])
    zero = -1
    if None in outputs:  # the constant 0.0, loaded last
        zero = free.pop() if free else registers
        registers = max(registers, zero + 1)
        flat += (LOADC, zero, pool.setdefault(struct.pack("<d", 0.0), len(pool)), 0, 0)
    code = np.array(flat, dtype=np.int32).reshape(-1, 5)
    if scratch_rows:
        code[scratch_rows, 4] = registers
        registers += 1
    consts = np.array([struct.unpack("<d", bits)[0] for bits in pool], dtype=np.float64)
    out_regs = np.array([reg[o] if o is not None else zero for o in outputs], dtype=np.int64)
    return Encoded(code, consts, max(registers, 1), out_regs, len(inputs))


def block_size(registers: int) -> int:
    """Points per block for a program of `registers` registers (a multiple of 8)."""
    row = 8 * max(registers, 1)
    block = max(BLOCK_MIN, min(BLOCK_MAX, REGISTER_BYTES // row))
    block = min(block, max(8, REGISTER_LIMIT // row))
    return block - block % 8


# --- the VM source --------------------------------------------------------------------------

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
    "add", "sub", "mul", "div", "neg", "mul0", "pow" + _IMMEDIATE_SUFFIX, "where",
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
    table: dict[str, tuple[str, int | None]] = {op: (codegen.PYTHON[op], None) for op in OPS}
    for op, k in codegen.INTEGER_ARGS.items():
        table[op + _IMMEDIATE_SUFFIX] = (codegen.PYTHON[op], k)
    return table


def _dispatch(indent: str) -> list[str]:
    """The body of the instruction loop: `if op == k:` branches (LLVM makes jump tables)."""
    table = _templates()
    looped = [name for name in LOOP_OPS if name in table]
    branches = list(_LOADS)
    for name in looped:
        template, imm = table[name]
        if imm is not None and _by_squaring(name.removesuffix(_IMMEDIATE_SUFFIX), imm):
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
    return _opcode_names()[opcode]


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


def _pointer(dtype):
    ptr = types.CPointer(dtype)

    def typer(typingctx, addr):
        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(ptr))

        return ptr(types.int64), codegen

    return typer


# The memory at an address (an int64) as a typed pointer, indexable like a 1-D array.
_f64_at = intrinsic(_pointer(types.float64))
_f32_at = intrinsic(_pointer(types.float32))
_i64_at = intrinsic(_pointer(types.int64))
_i32_at = intrinsic(_pointer(types.int32))

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
        _BLOCK + "\n".join(_dispatch("        ")),
        "",
        "",
        _CHUNK.replace("{unpack}", unpack),
    ]
    return "\n".join(lines)


_lock = threading.Lock()
_module: ModuleType | None = None


def load() -> ModuleType:
    """The compiled VM module (compiled on first use, then loaded from Numba's disk cache)."""
    global _module
    if _module is None:
        with _lock:
            if _module is None:
                _module = jit.load(vm_source())
    return _module


# --- the machine ----------------------------------------------------------------------------

#: Batches of at most this many blocks run on the calling thread (no parallel launch).
SERIAL_BLOCKS: Final = 4
_NO_OUTPUT: Final = 3  # run_chunk's mode that leaves the outputs in the registers
_SLOT: Final = {name: k for k, name in enumerate(PARAMS)}


def _address(a: np.ndarray) -> int:
    return int(a.__array_interface__["data"][0])


class _State:
    """One thread's buffers for a machine (parameter blocks, input descriptors, register
    files) and their addresses, taken once: a call then only writes a few numbers."""

    def __init__(self, program: Encoded, n_outputs: int) -> None:
        vm = load()
        self.run_chunk = vm.run_chunk.ctypes
        self.run_batch = vm.run_batch
        self.chunk_fn = int(vm.run_chunk.address)
        n_in = program.n_inputs
        self.kinds = np.zeros(n_in, dtype=np.int64)
        self.addrs = np.zeros(n_in, dtype=np.int64)
        self.scalars = np.zeros(n_in, dtype=np.float64)
        self.no_kinds = np.zeros(n_in, dtype=np.int64)  # every input a scalar
        self.out_addrs = np.zeros(n_outputs, dtype=np.int64)
        self.sums = np.zeros((1, n_outputs))  # one row per chunk
        self.point = np.zeros(program.registers)  # the register file of `scalar`
        self.files = np.zeros(0)
        self.params = np.zeros(len(PARAMS), dtype=np.int64)
        self.params_at = _address(self.params)
        fixed = {
            "block_fn": int(vm.run_block.address),
            "code": _address(program.code),
            "ninstr": len(program.code),
            "consts": _address(program.consts),
            "kinds": _address(self.kinds),
            "addrs": _address(self.addrs),
            "scalars": _address(self.scalars),
            "registers": program.registers,
            "out_regs": _address(program.out_regs),
            "nout": n_outputs,
            "out_addrs": _address(self.out_addrs),
        }
        for name, value in fixed.items():
            self.params[_SLOT[name]] = value
        # the parameters of one point (the `scalar` path) never change
        self.point_params = self.params.copy()
        point = {"kinds": _address(self.no_kinds), "files": _address(self.point)}
        point |= {"block": 1, "pitch": 1, "n": 1, "chunks": 1, "mode": _NO_OUTPUT}
        for name, value in point.items():
            self.point_params[_SLOT[name]] = value
        self.point_params_at = _address(self.point_params)

    def register_files(self, size: int) -> int:
        """The address of at least `size` float64s of register file (kept for reuse)."""
        if self.files.size < size:
            self.files = np.empty(size)
        return _address(self.files)


class Machine:
    """Evaluate `outputs` (None: the constant 0.0) as functions of the `inputs` nodes.

    Thread-safe: each calling thread gets its own buffers.
    """

    def __init__(
        self, graph: Graph, inputs: Sequence[NodeId], outputs: Sequence[NodeId | None]
    ) -> None:
        self.program = encode(graph, inputs, outputs)
        self.block = block_size(self.program.registers)
        self.n_inputs = len(inputs)
        self.n_outputs = len(outputs)
        self._local = threading.local()

    def __repr__(self) -> str:
        p = self.program
        return (
            f"<Machine {len(p.code)} instructions, {p.registers} registers, "
            f"block {self.block}, {self.n_inputs} inputs, {self.n_outputs} outputs>"
        )

    def _state(self) -> _State:
        state: _State | None = getattr(self._local, "state", None)
        if state is None:
            state = self._local.state = _State(self.program, self.n_outputs)
        return state

    def scalar(self, *values: float) -> tuple[float, ...]:
        """The outputs at one point."""
        if len(values) != self.n_inputs:
            raise TypeError(f"expected {self.n_inputs} input values, got {len(values)}")
        state = self._state()
        state.scalars[:] = values
        state.run_chunk(state.point_params_at, 0)
        return tuple(state.point[self.program.out_regs].tolist())

    def batch(self, n: int, ins: Sequence[float | np.ndarray], outs: Sequence[np.ndarray]) -> None:
        """Write output j at point i to `outs[j][i]`.

        `ins[k]` is a float (the same at every point) or a 1-D array of length n (float32
        arrays are widened on load, other dtypes converted to float64); `outs` are 1-D
        C-contiguous writable arrays of length n, all float64 or all float32.
        """
        n = _count(n)
        if len(outs) != self.n_outputs:
            raise ValueError(f"expected {self.n_outputs} output arrays, got {len(outs)}")
        dtypes = {np.dtype(o.dtype) for o in outs}
        if len(dtypes) > 1 or not dtypes <= {np.dtype(np.float64), np.dtype(np.float32)}:
            raise TypeError(f"outputs must be all float64 or all float32, got {dtypes}")
        for o in outs:
            if o.shape != (n,) or not o.flags.c_contiguous or not o.flags.writeable:
                raise ValueError(f"each output must be a writable contiguous ({n},) array")
        state = self._state()
        keep = _inputs(state, n, ins)
        if n == 0:
            return
        for j, o in enumerate(outs):
            state.out_addrs[j] = _address(o)
        self._run(state, n, STORE32 if dtypes == {np.dtype(np.float32)} else STORE64)
        del keep  # the input arrays stay alive (their addresses valid) until here

    def reduce_sum(self, n: int, ins: Sequence[float | np.ndarray]) -> tuple[float, ...]:
        """The sum over the n points of each output (no per-point arrays are made)."""
        n = _count(n)
        state = self._state()
        keep = _inputs(state, n, ins)
        if n == 0:
            return (0.0,) * self.n_outputs
        chunks = self._run(state, n, SUM)
        del keep
        return tuple(state.sums[:chunks].sum(axis=0).tolist())

    def _run(self, state: _State, n: int, mode: int) -> int:
        """Run the batch of n points described by `state`; return the number of chunks."""
        block = min(self.block, -(-n // 8) * 8)
        blocks = -(-n // block)
        if blocks <= SERIAL_BLOCKS:
            chunks = 1
        else:
            import numba

            chunks = min(blocks, numba.get_num_threads())
        pitch = block
        params = state.params
        params[_SLOT["files"]] = state.register_files(chunks * self.program.registers * pitch)
        params[_SLOT["block"]] = block
        params[_SLOT["pitch"]] = pitch
        params[_SLOT["n"]] = n
        params[_SLOT["chunks"]] = chunks
        params[_SLOT["mode"]] = mode
        if mode == SUM:
            if len(state.sums) < chunks:
                state.sums = np.zeros((chunks, self.n_outputs))
            state.sums[:chunks] = -0.0  # -0.0 + x is x for every x, -0.0 included
            params[_SLOT["sums"]] = _address(state.sums)
        if chunks == 1:
            state.run_chunk(state.params_at, 0)
        else:
            state.run_batch(state.chunk_fn, state.params_at, chunks)
        return chunks


def _count(n: int) -> int:
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return n


def _inputs(state: _State, n: int, ins: Sequence[float | np.ndarray]) -> list[np.ndarray]:
    """Describe the inputs in `state` (kind, address or value); return the arrays read.

    Each input is a float (the same at every point) or a 1-D array of length n; float32
    arrays are read as they are (widened on load), other arrays are converted to float64.
    """
    count = len(state.kinds)
    if len(ins) != count:
        raise ValueError(f"expected {count} inputs, got {len(ins)}")
    keep: list[np.ndarray] = []
    for k, value in enumerate(ins):
        if isinstance(value, float | int):
            state.kinds[k], state.scalars[k] = SCALAR, value
            continue
        a = np.asarray(value)
        if a.ndim == 0:
            state.kinds[k], state.scalars[k] = SCALAR, float(a)
            continue
        if a.shape != (n,):
            raise ValueError(f"input {k}: expected a float or shape ({n},), got {a.shape}")
        if a.dtype == np.float32:
            a = np.ascontiguousarray(a)
            state.kinds[k] = FLOAT32
        else:
            a = np.ascontiguousarray(a, dtype=np.float64)
            state.kinds[k] = FLOAT64
        keep.append(a)
        state.addrs[k] = _address(a)
    return keep


__all__ = ["OPCODES", "Encoded", "Machine", "block_size", "encode", "load", "vm_source"]
