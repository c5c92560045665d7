"""The IR: an append-only, hash-consed arena of immutable nodes, plus its verifier and printer.

A `Graph` holds `nodes` (`Node(op, args, attr)`); a node's arguments always have smaller ids,
so creation order is a topological order and every pass is a plain loop (never recursion).
All nodes are created through one door, `Graph.apply`, which checks arity, puts the arguments
of commutative ops in canonical order, applies the exact rewrites of `simplify.RULES` (then,
while `stable` is set, the numerical-stability rewrites of `simplify.STABLE`), folds
constants and interns the node (so equal subexpressions are one node: CSE for free).
Side tables keyed by id (user names, which pass created a node and for which primal node,
notes of the stability rewrites) never take part in interning. `Expr` is an
operator-overloading handle used by the op table's derivative rules.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from adcompile.ir.node import FoldError, Node, NodeId, node_key
from adcompile.ir.ops import OPS
from adcompile.ir.rewrites import NEED_CONSTANT, RULES, STABLE, Rule

__all__ = [
    "Expr",
    "FoldError",
    "Graph",
    "Node",
    "NodeId",
    "Parsed",
    "building",
    "pformat",
    "verify",
]


@contextmanager
def building() -> Iterator[None]:
    """Pause the cycle collector while a pass makes many nodes (parse, AD, schedule, print).

    Nodes are tuples that reference counting frees; they make no cycles. But every node
    stays tracked, and each full collection walks all of them, so collections that a long
    build triggers cost a third of its time. Paused, they are not run; the collector is
    turned back on (if it was on) when the outermost build ends.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


#: What the door needs about an op, looked up once per node: its arity, whether its
#: arguments are sorted, its rules by [an argument is a constant][stable rewrites on] (a rule
#: that needs a constant argument is left out where none is), and the tables they came from.
_Plan = tuple[int, bool, tuple[tuple[tuple[Rule, ...], ...], ...], object, object, bool]
_PLANS: dict[str, _Plan] = {}
_new_node = tuple.__new__  # Node(op, args) without the Python-level __new__ of NamedTuple


def _plan(op: str) -> _Plan:
    opdef = OPS[op]
    rules, stable = RULES.get(op, ()), STABLE.get(op, ())

    def plain(table: tuple[Rule, ...]) -> tuple[Rule, ...]:
        return tuple(r for r in table if r not in NEED_CONSTANT)

    plan = _PLANS[op] = (
        opdef.arity,
        opdef.commutative,
        ((plain(rules), plain(rules) + plain(stable)), (rules, rules + stable)),
        RULES,  # a test may swap the tables: the plan is remade then
        STABLE,
        opdef.shape == "elementwise",  # folds constants (a vector op never has a constant)
    )
    return plan


class Graph:
    """Append-only arena of nodes with an interning table (see module docstring)."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self._index: dict[tuple[object, ...], NodeId] = {}
        self.names: dict[NodeId, str] = {}  # user names of inputs and assigned values
        self.origin: dict[NodeId, tuple[str, NodeId]] = {}  # ("adjoint", primal id), ...
        self.bar: dict[NodeId, NodeId] = {}  # adjoint node -> the primal node it is d out/d of
        self.dot: dict[NodeId, NodeId] = {}  # tangent node -> the node it is the tangent of
        # chain-rule product -> (node, argument, d node / d argument), for the printers
        self.steps: dict[NodeId, tuple[NodeId, NodeId, NodeId]] = {}
        self.tag: tuple[str, NodeId] | None = None  # recorded for nodes created meanwhile
        # what later stages made of this graph, by their own keys (the schedule's programs)
        self.memo: dict[object, object] = {}
        self.strict_fold = False  # raise FoldError when folding makes inf/NaN from finite
        self.stable = True  # apply the stability rewrites of `simplify.STABLE`
        self.notes: dict[NodeId, str] = {}  # node -> what stability rewrite produced it
        # vector inputs (DESIGN.md section 2b): input -> (the input whose length it has,
        # its fixed length or None); empty for a graph of scalars
        self.vectors: dict[NodeId, tuple[NodeId, int | None]] = {}

    def __len__(self) -> int:
        return len(self.nodes)

    def copy(self) -> Graph:
        """An independent graph with the same nodes and side tables (passes append to it)."""
        new = Graph()
        new.nodes = list(self.nodes)
        new._index = dict(self._index)
        new.names = dict(self.names)
        new.origin = dict(self.origin)
        new.bar = dict(self.bar)
        new.stable = self.stable
        new.notes = dict(self.notes)
        new.dot = dict(self.dot)
        new.steps = dict(self.steps)
        new.vectors = dict(self.vectors)
        return new

    # -- the door --------------------------------------------------------------------------
    def _intern(self, node: Node) -> NodeId:
        # a node is a tuple equal to its key, except a constant's (keyed by its bits)
        key = node_key(node) if node.op == "const" else node
        nid = self._index.get(key)
        if nid is None:
            nid = len(self.nodes)
            self.nodes.append(node)
            self._index[key] = nid
            if self.tag is not None:
                self.origin[nid] = self.tag
        return nid

    def const(self, value: float) -> NodeId:
        """The node for a float constant."""
        return self._intern(Node("const", (), float(value)))

    def input(self, name: str) -> NodeId:
        """The node for the input called `name`."""
        return self._intern(Node("input", (), name))

    def apply(self, op: str, *args: NodeId) -> NodeId:
        """Create (or find) the node `op(*args)`: the only way to build non-leaf nodes."""
        plan = _PLANS.get(op)
        if plan is None or plan[3] is not RULES or plan[4] is not STABLE:
            plan = _plan(op)
        arity, commutative, rules, _, _, folds = plan
        if len(args) != arity:
            raise TypeError(f"{op} takes {arity} arguments, got {len(args)}")
        if commutative:
            if arity != 2:
                args = tuple(sorted(args))
            elif args[0] > args[1]:
                args = (args[1], args[0])
        nodes = self.nodes
        constants = 0
        for a in args:
            if nodes[a][0] == "const":
                constants += 1
        for rule in rules[constants > 0][self.stable]:
            found = rule(self, args)
            if found is not None:
                return found
        if constants == len(args) and folds:
            return self.const(self._fold(op, [nodes[a][2] for a in args]))  # type: ignore[misc]
        node = _new_node(Node, (op, args, None))
        index = self._index
        nid = index.get(node)
        if nid is None:
            nid = len(nodes)
            nodes.append(node)
            index[node] = nid
            if self.tag is not None:
                self.origin[nid] = self.tag
        return nid

    def _fold(self, op: str, values: Sequence[float]) -> float:
        with np.errstate(all="ignore"):
            result = float(OPS[op].impl(*(np.float64(v) for v in values)))
        if self.strict_fold and not math.isfinite(result) and all(map(math.isfinite, values)):
            raise FoldError(f"{op}({', '.join(map(repr, values))}) = {result}")
        return result

    def record_step(self, term: NodeId, node: NodeId, arg: NodeId, partial: NodeId) -> None:
        """Note that `term`, made by the pass now running, multiplies a derivative by
        `partial` = d node / d arg (the printers comment the line with that step)."""
        if self.tag is not None and self.origin.get(term) == self.tag:
            self.steps.setdefault(term, (node, arg, partial))

    # -- queries ---------------------------------------------------------------------------
    def const_value(self, nid: NodeId) -> float | None:
        """The value of a constant node, or None for any other node."""
        node = self.nodes[nid]
        return node.attr if node.op == "const" else None  # type: ignore[return-value]

    def is_boolean(self, nid: NodeId) -> bool:
        """Whether the node's value is always exactly 0.0 or 1.0."""
        node = self.nodes[nid]
        return node.op in OPS and OPS[node.op].boolean

    def expr(self, nid: NodeId) -> Expr:
        """An `Expr` handle on node `nid`."""
        return Expr(self, nid)

    def live(self, outputs: Iterable[NodeId]) -> list[bool]:
        """Which nodes the outputs depend on (one descending scan)."""
        live = [False] * len(self.nodes)
        for o in outputs:
            live[o] = True
        for nid in range(len(self.nodes) - 1, -1, -1):
            if live[nid]:
                for a in self.nodes[nid].args:
                    live[a] = True
        return live


class Expr:
    """Arithmetic handle on a node, so derivative rules read like formulas."""

    __slots__ = ("graph", "id")

    def __init__(self, graph: Graph, nid: NodeId) -> None:
        self.graph = graph
        self.id = nid

    def lift(self, other: Expr | float) -> NodeId:
        return other.id if isinstance(other, Expr) else self.graph.const(float(other))

    def apply(self, op: str, *args: Expr | float) -> Expr:
        """`op(*args)` as a new handle (the arguments may include this handle)."""
        graph = self.graph
        if len(args) == 1:
            return Expr(graph, graph.apply(op, self.lift(args[0])))
        return Expr(graph, graph.apply(op, *[self.lift(a) for a in args]))

    def _binary(self, op: str, a: Expr | float, b: Expr | float) -> Expr:
        graph = self.graph
        return Expr(graph, graph.apply(op, self.lift(a), self.lift(b)))

    def __add__(self, o: Expr | float) -> Expr:
        return self._binary("add", self, o)

    def __radd__(self, o: Expr | float) -> Expr:
        return self._binary("add", o, self)

    def __sub__(self, o: Expr | float) -> Expr:
        return self._binary("sub", self, o)

    def __rsub__(self, o: Expr | float) -> Expr:
        return self._binary("sub", o, self)

    def __mul__(self, o: Expr | float) -> Expr:
        return self._binary("mul", self, o)

    def __rmul__(self, o: Expr | float) -> Expr:
        return self._binary("mul", o, self)

    def __truediv__(self, o: Expr | float) -> Expr:
        return self._binary("div", self, o)

    def __rtruediv__(self, o: Expr | float) -> Expr:
        return self._binary("div", o, self)

    def __pow__(self, o: Expr | float) -> Expr:
        return self._binary("pow", self, o)

    def __rpow__(self, o: Expr | float) -> Expr:
        return self._binary("pow", o, self)

    def __neg__(self) -> Expr:
        graph = self.graph
        return Expr(graph, graph.apply("neg", self.id))

    def __repr__(self) -> str:
        return f"Expr({self.graph.nodes[self.id]!r} @ {self.id})"


def verify(graph: Graph, outputs: Iterable[NodeId] = ()) -> None:
    """Check the graph's invariants; raise AssertionError naming the first broken one."""
    for nid, node in enumerate(graph.nodes):
        if node.op == "const":
            assert isinstance(node.attr, float) and not node.args, f"bad const {nid}: {node}"
        elif node.op == "input":
            assert isinstance(node.attr, str) and not node.args, f"bad input {nid}: {node}"
        else:
            assert node.op in OPS, f"unknown op at {nid}: {node.op}"
            assert len(node.args) == OPS[node.op].arity, f"arity at {nid}: {node}"
            assert all(0 <= a < nid for a in node.args), f"args not before {nid}: {node}"
    for o in outputs:
        assert 0 <= o < len(graph.nodes), f"output {o} out of range"


def pformat(graph: Graph, outputs: Sequence[NodeId] | None = None) -> str:
    """One line per node (`%3 = mul %1 %2`), only the live ones when outputs are given."""
    live = graph.live(outputs) if outputs is not None else [True] * len(graph.nodes)
    lines = []
    for nid, node in enumerate(graph.nodes):
        if not live[nid]:
            continue
        if node.op == "const":
            rhs = f"const {node.attr!r}"
        elif node.op == "input":
            rhs = f"input {node.attr}"
        else:
            rhs = node.op + " " + " ".join(f"%{a}" for a in node.args)
        name = graph.names.get(nid)
        lines.append(f"%{nid} = {rhs}" + (f"    # {name}" if name else ""))
    if outputs is not None:
        lines.append("return " + ", ".join(f"%{o}" for o in outputs))
    return "\n".join(lines)


@dataclass(frozen=True)
class Parsed:
    """A parsed formula: its graph, inputs (in order) and outputs (the front ends make it;
    the AD passes and the API read it)."""

    source: str
    graph: Graph
    inputs: tuple[str, ...]
    input_ids: tuple[NodeId, ...]
    outputs: tuple[NodeId, ...]
    output_names: tuple[str, ...]
