"""IR nodes: `Node(op, args, attr)`, node ids, and the naming conventions every layer shares.

A leaf of the IR, imported by every other module of `ir` and above: no imports of its own
beyond the standard library.
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

NodeId = int

#: Input nodes whose name starts with this are seeds a pass made (tangents `'d_x`, adjoint
#: seeds `'b_f`): printed without it. No name from the language starts with it.
SEED_MARK: Final = "'"


class Node(NamedTuple):
    """One SSA value: `op` applied to `args` (ids); `attr` is the value or name of a leaf."""

    op: str
    args: tuple[NodeId, ...]
    attr: float | str | None = None


class FoldError(ArithmeticError):
    """Constant folding of finite constants produced inf or NaN (raised in strict mode)."""


def node_key(node: Node) -> tuple[object, ...]:
    """The interning key of a node: equal keys are one node."""
    if node.op == "const":
        # IEEE bits: 0.0 and -0.0 stay apart, NaN interns.
        return ("const", struct.pack("<d", node.attr))
    return (node.op, node.args, node.attr)
