"""The VM's instruction set and encoder: opcodes, and a graph's outputs as a register program.

Encoding (`encode`): two linear scans over the live nodes in id order (ids are topological):
an int32 array of instructions `(opcode, dest, r0, r1, r2)` and a float64 constant pool.
Every value lives in a register. A register is freed after the last read of its value
(outputs are kept) and reused, last freed first, so a 10,000-step chain needs a handful of
registers for its value (its gradient needs the forward values the reverse sweep reads). A
destination is allocated before its arguments are freed, so it never overlaps them and the
VM's loops stay vectorisable. Constants and inputs are loaded by `loadc` and `loadin`
instructions at their place in id order. An op with an integer-power argument in the op
table (`OpDef.integer_power`: `pow`'s exponent) where it is a whole constant in 0..64 gets
the opcode `pow:imm` with the exponent as an immediate: it multiplies by repeated squaring
exactly as Numba does for the printer's integer literal (the same products in the same
order), one vector pass per product.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from adcompile.codegen.templates import whole_exponent
from adcompile.ir.graph import Graph, NodeId
from adcompile.ir.ops import SCALAR_OPS as OPS  # the VM runs scalars (vectors: interpreter)
from adcompile.schedule import schedule

#: Opcodes of the two load instructions; the ops of `OPS` and their immediate forms follow.
LOADC: Final = 0  # dest <- consts[arg0]
LOADIN: Final = 1  # dest <- input arg0 (a scalar, or the block's slice of an array)
IMMEDIATE_SUFFIX: Final = ":imm"


def opcode_names() -> tuple[str, ...]:
    """Every opcode's name, by opcode: the loads, the ops of `OPS`, their immediate forms."""
    names = ["loadc", "loadin", *OPS]
    names += [op + IMMEDIATE_SUFFIX for op, spec in OPS.items() if spec.integer_power is not None]
    return tuple(names)


#: Opcode number of every op of `OPS` (and `op:imm` for the immediate forms).
OPCODES: Final[dict[str, int]] = {name: code for code, name in enumerate(opcode_names())}


def check_tables() -> None:
    """Assert every op has an opcode and a template the VM source is printed from."""
    missing = sorted(op for op, spec in OPS.items() if not spec.python)
    assert not missing, f"ops without a Python template: {missing}"
    missing = sorted(set(OPS) - set(OPCODES))
    assert not missing, f"ops without a VM opcode: {missing}"
    for op, spec in OPS.items():
        k = spec.integer_power
        assert k is None or 0 <= k < spec.arity, f"bad integer_power of {op}: {k}"


@dataclass(frozen=True)
class Encoded:
    """A graph's outputs as a VM program (see the module docstring)."""

    code: np.ndarray  # int32 (instructions, 5): opcode, dest, arg0, arg1, arg2
    consts: np.ndarray  # float64 constant pool, indexed by LOADC's arg0
    registers: int  # registers needed (the most live at once)
    out_regs: np.ndarray  # int64: the register holding output j at the end
    n_inputs: int


def by_squaring(op: str, k: int) -> bool:
    """Whether op's immediate form (argument k) is the power by squaring (it needs a scratch
    register): with a whole exponent as an immediate, the VM multiplies by repeated squaring
    like Numba's integer power (the same products in the same order)."""
    return OPS[op].integer_power == k


def encode(graph: Graph, inputs: Sequence[NodeId], outputs: Sequence[NodeId | None]) -> Encoded:
    """The VM program computing `outputs` (None: the constant 0.0) from the `inputs` nodes.

    The schedule (`schedule.Program`) gives the live values and their registers (`slots`:
    reads of an immediate do not count, a register is reused after its value's last read);
    one scan in id order emits the instructions.
    """
    nodes = graph.nodes
    program = schedule(graph, inputs, outputs)
    input_index: dict[NodeId, int] = {}
    for k, nid in enumerate(inputs):
        input_index.setdefault(nid, k)
    immediates: dict[NodeId, tuple[int, int]] = {}
    for nid in program.order:
        op, args, _ = nodes[nid]
        imm = whole_exponent(graph, op, args)
        if imm is not None:
            immediates[nid] = imm

    def reads(nid: NodeId) -> list[NodeId]:  # the arguments read from registers
        imm = immediates.get(nid)
        args = nodes[nid].args
        return [a for pos, a in enumerate(args) if imm is None or pos != imm[0]]

    reg, registers = program.slots(reads)
    flat: list[int] = []  # the instructions, 5 ints each
    scratch_rows: list[int] = []  # instructions whose arg2 is the scratch register
    pool: dict[bytes, int] = {}
    for nid in sorted(reg):  # every value kept in a register, in id order
        op, args, attr = nodes[nid]
        dest = reg[nid]
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
        operands = [reg.get(a, 0) for a in args]
        if imm is None:
            flat.append(OPCODES[op])
        else:
            flat.append(OPCODES[op + IMMEDIATE_SUFFIX])
            operands[imm[0]] = imm[1]
            if by_squaring(op, imm[0]):
                scratch_rows.append(len(flat) // 5)
        flat.append(dest)
        flat += operands
        flat += (0, 0, 0)[len(operands) :]
    zero = -1
    if None in outputs:  # the constant 0.0, loaded last, in a register of its own
        zero, registers = registers, registers + 1
        flat += (LOADC, zero, pool.setdefault(struct.pack("<d", 0.0), len(pool)), 0, 0)
    code = np.array(flat, dtype=np.int32).reshape(-1, 5)
    if scratch_rows:
        code[scratch_rows, 4] = registers
        registers += 1
    consts = np.array([struct.unpack("<d", bits)[0] for bits in pool], dtype=np.float64)
    out_regs = np.array([reg[o] if o is not None else zero for o in outputs], dtype=np.int64)
    return Encoded(code, consts, max(registers, 1), out_regs, len(inputs))
