"""Shapes: which nodes are vectors, which have equal lengths, and the lengths at call time.

A node is a scalar or a vector (DESIGN.md section 2b). A vector's length is not in the IR: it
is known when a call binds its inputs. So a vector node carries a *length source*: the input
it takes its length from, or the slice that makes a new length. Elementwise ops between
vectors of different sources require equal lengths: the pair is recorded as a check, run at
call time, and the two sources are merged into one class (union-find), so that the printers
know the two loops have one length. One pass in id order, extended as passes append nodes
(`shapes(graph)` keeps the result in `graph.memo`); graphs without vector inputs skip it.

`vector_inputs` decides which inputs are vectors after a parse: those used where a vector
is needed (indexed, sliced, reduced, `len`), through elementwise ops, unless declared
scalar; `Lengths` evaluates the sources' lengths for given input lengths and checks them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from adcompile.ir.graph import Graph, NodeId
from adcompile.ir.node import SEED_MARK
from adcompile.ir.ops import OPS
from adcompile.ir.vecops import INDEXED, VECTOR_ARGS, as_slice


class Shapes:
    """The shape of every node of a graph (see the module docstring)."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.source: list[NodeId | None] = []  # the node's length source (None: a scalar)
        self.parent: dict[NodeId, NodeId] = {}  # union-find over length sources
        self.checks: list[tuple[NodeId, NodeId, NodeId]] = []  # (source, source, node)
        self.scalar_args: list[tuple[NodeId, int]] = []  # (node, argument) not a vector

    def find(self, s: NodeId) -> NodeId:
        parent = self.parent
        while parent.get(s, s) != s:
            s = parent[s]
        return s

    def extend(self) -> Shapes:
        nodes, source = self.graph.nodes, self.source
        vectors = self.graph.vectors
        for nid in range(len(source), len(nodes)):
            op, args, _ = nodes[nid]
            if not args:
                found = vectors.get(nid)
                source.append(found[0] if found is not None else None)
                continue
            spec = OPS[op]
            rule = spec.shape
            for k in VECTOR_ARGS.get(op, ()):
                if source[args[k]] is None:
                    self.scalar_args.append((nid, k))
            if rule == "elementwise":
                first: NodeId | None = None
                for a in args:
                    s = source[a]
                    if s is None:
                        continue
                    if first is None:
                        first = s
                    elif self.find(s) != self.find(first):
                        self.checks.append((first, s, nid))
                        self.parent[self.find(s)] = self.find(first)
                    elif s != first:
                        self.checks.append((first, s, nid))
                source.append(first)
            elif rule == "slice":
                source.append(nid)
            elif rule == "like0":
                source.append(source[args[0]])
            elif rule == "like1":
                source.append(source[args[1]])
            else:  # reduce, index
                source.append(None)
        return self

    def of(self, nid: NodeId) -> NodeId | None:
        """The length class of a vector node (None for a scalar)."""
        if nid >= len(self.source):
            self.extend()
        s = self.source[nid]
        return None if s is None else self.find(s)

    def is_vector(self, nid: NodeId) -> bool:
        if nid >= len(self.source):
            self.extend()
        return self.source[nid] is not None

    def describe(self, s: NodeId) -> str:
        """A length source as the user wrote it: `x`, `x[1:]`, `tangents[x]`."""
        graph = self.graph
        node = graph.nodes[s]
        if node.op == "input":
            name = str(node.attr)
            if name.startswith(SEED_MARK):
                return f"the seed for {name.split('_', 1)[-1]}"
            return name
        inner = self.source[node.args[0]]
        a, b, st = (graph.const_value(x) for x in node.args[1:])
        bounds = [("" if v is None or math.isnan(v) else str(int(v))) for v in (a, b, st)]
        text = f"{bounds[0]}:{bounds[1]}" + (f":{bounds[2]}" if bounds[2] else "")
        base = self.describe(inner) if inner is not None else "?"
        return f"{base}[{text}]"


def shapes(graph: Graph) -> Shapes:
    """The graph's `Shapes`, brought up to date with its nodes."""
    found = graph.memo.get("shapes")
    if not isinstance(found, Shapes):
        found = graph.memo["shapes"] = Shapes(graph)
    return found.extend()


def vector_inputs(
    graph: Graph, outputs: Sequence[NodeId], declared: Mapping[NodeId, bool]
) -> set[NodeId]:
    """The inputs that are vectors: those a vector op needs as a vector (through elementwise
    ops: `sum(x*y)` makes both vectors), unless `declared` says (input -> is a vector)."""
    nodes = graph.nodes
    top = max([*outputs, *declared, -1])
    wanted = [False] * (top + 1)
    for nid in range(top, -1, -1):
        op, args, _ = nodes[nid]
        if not args:
            continue
        if wanted[nid] and OPS[op].shape == "elementwise":
            for a in args:
                wanted[a] = True
        for k in VECTOR_ARGS.get(op, ()):
            wanted[args[k]] = True
    found = {n for n in range(top + 1) if wanted[n] and nodes[n].op == "input"}
    found.difference_update(n for n, vector in declared.items() if not vector)
    found.update(n for n, vector in declared.items() if vector)
    return found


class LengthError(ValueError):
    """Vector inputs whose lengths do not fit the formula (named in the message)."""


@dataclass(frozen=True)
class Lengths:
    """The length of every length source, for the lengths of the vector inputs."""

    of: dict[NodeId, int]

    def cls(self, shapes: Shapes, nid: NodeId) -> int:
        """The length of a vector node."""
        s = shapes.source[nid]
        assert s is not None
        return self.of[s]


def lengths(shapes: Shapes, given: Mapping[NodeId, int], live: Iterable[NodeId]) -> Lengths:
    """The lengths of the sources the `live` nodes use, with the checks: equal lengths where
    vectors meet, indices in range, fixed lengths kept. Raises `LengthError` naming them."""
    graph = shapes.graph
    nodes = graph.nodes
    of: dict[NodeId, int] = {}
    vectors = graph.vectors
    for nid, (src, fixed) in vectors.items():
        n = given.get(nid)
        if n is not None and src == nid:
            if fixed is not None and n != fixed:
                raise LengthError(
                    f"input '{nodes[nid].attr}' has length {n}; the formula was compiled "
                    f"for length {fixed} (shapes=)"
                )
            of[nid] = n
    for nid in live:
        op, args, _ = nodes[nid]
        if not args:
            continue
        if OPS[op].shape == "slice":
            n = of[shapes.source[args[0]]]  # type: ignore[index]
            a, b, s = (float(nodes[x].attr) for x in args[1:])  # type: ignore[arg-type]
            if s == 0:
                raise LengthError(f"{shapes.describe(nid)}: slice step cannot be zero")
            of[nid] = len(range(*as_slice(a, b, s).indices(n)))
        elif op in INDEXED:
            v, k = INDEXED[op]
            found = shapes.source[args[v]]
            assert found is not None
            length, src = of[found], found
            i = int(float(nodes[args[k]].attr))  # type: ignore[arg-type]
            if not -length <= i < length:
                where = shapes.describe(src)
                raise LengthError(
                    f"{where}[{i}]: index out of range for {where} of length {length}"
                )
    for nid, (src, _) in vectors.items():
        n = given.get(nid)
        if n is not None and src != nid and of.get(src, n) != n:
            raise LengthError(
                f"{shapes.describe(nid)} has length {n}, but {shapes.describe(src)} has "
                f"length {of[src]}: they need equal lengths"
            )
    for a, b, _ in shapes.checks:
        if a in of and b in of and of[a] != of[b]:
            raise LengthError(
                f"{shapes.describe(a)} has length {of[a]} and {shapes.describe(b)} has length "
                f"{of[b]}: an elementwise operation between them needs equal lengths"
            )
    return Lengths(of)
