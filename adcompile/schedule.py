"""The schedule stage: IR graph and wanted outputs -> `Program` (order, last uses, slots, chunks).

Every consumer below the API reads one `Program` instead of recomputing liveness: the code
printers (which nodes to emit, in which order), the NumPy interpreter (when a value can be
dropped), the VM (which register a value lives in), the SymPy and DOT printers. A `Program`
is made once per graph and set of outputs (`schedule(graph, inputs, outputs)` returns the
same object to every consumer); a pass over the IR is a loop over `order`, never a recursion.

- `order`: the live nodes with arguments (computations), in id order, which is topological;
- `live`: whether each node id is needed for some wanted output (leaves included);
- `last_use`: for each node read by a computation or wanted as an output, the position in
  `order` of its last reader (`len(order)` for an output: it lives to the end);
- `slots(reads)`: storage slots with reuse after the last use (the VM's registers);
- `chunks(size)`: `order` cut into consecutive pieces of at most `size` computations, for
  printers that emit bounded-size functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import compress

from adcompile.ir.graph import Graph, building
from adcompile.ir.node import NodeId

#: Which arguments of a node a consumer reads from storage (the VM reads some as immediates).
Reads = Callable[[NodeId], Iterable[NodeId]]


@dataclass(frozen=True)
class Program:
    """A scheduled graph: what to compute for `outputs`, in which order, and for how long each
    value must be kept (see the module docstring)."""

    graph: Graph
    inputs: tuple[NodeId, ...]
    outputs: tuple[NodeId | None, ...]
    order: tuple[NodeId, ...]
    live: tuple[bool, ...]
    last_use: dict[NodeId, int] = field(repr=False)

    @property
    def wanted(self) -> list[NodeId]:
        """The outputs that are nodes (None stands for an identically zero output)."""
        return [o for o in self.outputs if o is not None]

    def constants(self) -> list[NodeId]:
        """The live constant leaves, in id order."""
        nodes = self.graph.nodes
        return [n for n, alive in enumerate(self.live) if alive and nodes[n].op == "const"]

    def dead_after(self) -> list[tuple[NodeId, ...]]:
        """For each position in `order`, the values read there for the last time (not
        outputs): what an interpreter may drop after that step."""
        with building():
            return self._dead_after()

    def _dead_after(self) -> list[tuple[NodeId, ...]]:
        nodes, last_use = self.graph.nodes, self.last_use
        keep = set(self.wanted)
        found: list[tuple[NodeId, ...]] = []
        add = found.append
        for pos, nid in enumerate(self.order):
            args = nodes[nid][1]
            if len(args) == 1:
                a = args[0]
                add((a,) if last_use[a] == pos and a not in keep else ())
            elif len(args) == 2 and args[0] != args[1]:
                a, b = args
                if last_use[a] == pos and a not in keep:
                    add((a, b) if last_use[b] == pos and b not in keep else (a,))
                else:
                    add((b,) if last_use[b] == pos and b not in keep else ())
            else:  # each argument once, in order
                add(tuple(a for a in dict.fromkeys(args) if last_use[a] == pos and a not in keep))
        return found

    def slots(self, reads: Reads | None = None) -> tuple[dict[NodeId, int], int]:
        """A storage slot for every value read from storage (and every output), reusing a
        slot once its value has been read for the last time; and the number of slots.

        Values are placed in id order, leaves where they first come; a destination is taken
        before its arguments' slots are freed, so it never shares a slot with an argument
        (the VM's loops stay vectorisable). `reads(nid)` says which arguments of a node are
        read from storage (default: all; the VM reads constants inline as immediates).
        """
        nodes = self.graph.nodes
        read = reads or (lambda nid: nodes[nid].args)
        end = len(nodes)
        last: dict[NodeId, int] = {}  # the id of a value's last reader (end: an output)
        for nid in self.order:
            for a in read(nid):
                last[a] = nid
        for o in self.wanted:
            last[o] = end
        slot: dict[NodeId, int] = {}
        free: list[int] = []  # slots free for reuse, the last freed on top
        count = 0
        for nid in sorted(last):
            if free:
                slot[nid] = free.pop()
            else:
                slot[nid], count = count, count + 1
            if nodes[nid].args:
                free.extend(slot[a] for a in dict.fromkeys(read(nid)) if last[a] == nid)
        return slot, count

    def chunks(self, size: int) -> list[tuple[NodeId, ...]]:
        """`order` in consecutive pieces of at most `size` computations."""
        if size < 1:
            raise ValueError(f"chunk size must be positive, not {size}")
        return [self.order[k : k + size] for k in range(0, len(self.order), size)]


def schedule(graph: Graph, inputs: Sequence[NodeId], outputs: Sequence[NodeId | None]) -> Program:
    """The `Program` computing `outputs` (None: an identically zero output) of `graph`,
    made once per graph, size, inputs and outputs: an evaluator's kernel printer,
    interpreter and VM get the one object (kept in `graph.memo`; the graph is append-only,
    so a program made at a given size stays right, and the size is part of the key)."""
    key = ("schedule", len(graph.nodes), tuple(inputs), tuple(outputs))
    found = graph.memo.get(key)
    if not isinstance(found, Program):
        with building():
            found = graph.memo[key] = _schedule(graph, inputs, outputs)
    return found


def _schedule(graph: Graph, inputs: Sequence[NodeId], outputs: Sequence[NodeId | None]) -> Program:
    wanted = [o for o in outputs if o is not None]
    live = graph.live(wanted)
    nodes = graph.nodes
    order = tuple(compress(range(len(nodes)), [a and n[1] != () for a, n in zip(live, nodes)]))
    last_use: dict[NodeId, int] = {}
    for pos, nid in enumerate(order):
        for a in nodes[nid][1]:
            last_use[a] = pos
    for o in wanted:
        last_use[o] = len(order)
    return Program(graph, tuple(inputs), tuple(outputs), order, tuple(live), last_use)
