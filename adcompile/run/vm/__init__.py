"""The precompiled block interpreter: `encode` (instruction set, register allocation),
`source` (the interpreter's Numba source), `machine` (loading it and running programs).
"""

from adcompile.run.vm.encode import OPCODES, Encoded, check_tables, encode
from adcompile.run.vm.machine import Machine, block_size, load
from adcompile.run.vm.source import LOOP_OPS, PARAMS, vm_source

__all__ = [
    "LOOP_OPS",
    "OPCODES",
    "PARAMS",
    "Encoded",
    "Machine",
    "block_size",
    "check_tables",
    "encode",
    "load",
    "vm_source",
]
