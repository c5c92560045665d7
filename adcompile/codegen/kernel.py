"""Kernels: the nodes some outputs need, scheduled, named and printed as flat SSA statements.

Flat SSA, one assignment per node (nested expressions hit CPython's parser limits), in id
order, which is topological; the statements are printed from a template column of the op
table (`OpDef.python` by default, `OpDef.numpy` for code over arrays). Names: inputs and
assigned values keep the user's names (made safe: keywords, builtins and generated-name
patterns get a trailing `_`), other values are `t0, t1, ...` and the adjoint of `v` is `b_v`.
Adjoint lines come in blocks headed by the forward statement they differentiate; a line
multiplying by a chain-rule factor says which (`# d f / d x = ...`); a value made by a
stability rewrite gets a `# stable rewrite: ...` line just above it (`graph.notes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from adcompile.codegen.formula import number_text, step_text, subscripted
from adcompile.codegen.templates import Target, literal, safe_name, template, whole_exponent
from adcompile.ir.graph import Graph, NodeId, building
from adcompile.ir.node import SEED_MARK
from adcompile.ir.ops import OPS
from adcompile.ir.shapes import shapes
from adcompile.ir.vecops import INDEXED, SLICE_BOUNDS
from adcompile.schedule import schedule

#: The comment heading each run of lines a pass made, by the pass's tag.
SECTIONS: Final[dict[str, str]] = {
    "adjoint": "# reverse: b_v is the derivative of the output with respect to v",
    "tangent": "# forward mode: d_v is the derivative of v along the seed direction",
}
#: Ops whose constant subscripts and slice bounds are printed as written (`x[..., 1:]`).
SUBSCRIPTED: Final = frozenset(INDEXED) | frozenset(SLICE_BOUNDS)
#: User names longer than this are not used in the code (`in0`, `t0`, ... instead).
_MAX_NAME: Final = 40


@dataclass(frozen=True)
class Kernel:
    """Flat SSA for some outputs of a graph: the statement lines and what is returned."""

    params: tuple[str, ...]
    lines: tuple[str, ...]
    returns: tuple[str, ...]
    uses_np: bool

    @property
    def statements(self) -> int:
        """How many assignments the kernel body has (comments not counted)."""
        return sum(1 for line in self.lines if not line.startswith("#"))


class Namer:
    """Assigns each emitted node its SSA name, deterministically, in emission order."""

    def __init__(self, graph: Graph, inputs: Sequence[NodeId]) -> None:
        self.graph = graph
        self.names: dict[NodeId, str] = {}
        self.used: set[str] = set()
        self.temps = 0
        self._literals: dict[NodeId, str] = {}
        for k, nid in enumerate(inputs):
            user = str(graph.nodes[nid].attr)
            if user.startswith(SEED_MARK):
                self.names[nid] = self.claim(user[len(SEED_MARK) :])
            else:
                self.names[nid] = self.claim(
                    safe_name(user) if len(user) <= _MAX_NAME else f"in{k}"
                )

    def claim(self, name: str) -> str:
        base, k = name, 2
        while name in self.used:
            name, k = f"{base}_{k}", k + 1
        self.used.add(name)
        return name

    def ref(self, nid: NodeId) -> str:
        found = self.names.get(nid)  # constants are never defined: they are literals
        if found is None:
            found = self._literals.get(nid)
            if found is None:
                node = self.graph.nodes[nid]
                if node.op != "const":
                    raise KeyError(nid)
                found = self._literals[nid] = literal(float(node.attr))  # type: ignore[arg-type]
        return found

    def define(self, nid: NodeId) -> str:
        graph = self.graph
        user = graph.names.get(nid)
        if user is not None and len(user) <= _MAX_NAME:
            name = safe_name(user)
        elif nid not in graph.origin:  # a forward value, even if it is also a derivative
            name, self.temps = f"t{self.temps}", self.temps + 1
        else:
            primal = graph.bar.get(nid)
            of = graph.dot.get(nid) if primal is None or primal not in self.names else None
            if primal is not None and primal in self.names:
                name = "b_" + self.names[primal].rstrip("_")
            elif of is not None and of in self.names:
                name = "d_" + self.names[of].rstrip("_")
            else:
                name, self.temps = f"t{self.temps}", self.temps + 1
        self.names[nid] = name = self.claim(name)
        return name


def build_kernel(
    graph: Graph,
    inputs: Sequence[NodeId],
    outputs: Sequence[NodeId | None],
    grad_of: Sequence[NodeId | None] = (),
    target: Target = "python",
) -> Kernel:
    """Schedule and name the nodes that `outputs` need (None outputs are the constant 0).

    `grad_of[j]`, when given, is the input whose derivative output j is: where that value
    already has another name, an alias line `b_x = ...` makes the returned names say so.
    """
    with building():
        return _build_kernel(graph, inputs, outputs, grad_of, target)


def _build_kernel(
    graph: Graph,
    inputs: Sequence[NodeId],
    outputs: Sequence[NodeId | None],
    grad_of: Sequence[NodeId | None],
    target: Target,
) -> Kernel:
    namer = Namer(graph, inputs)

    def label(nid: NodeId) -> str:
        return _label(graph, namer, nid)

    program = schedule(graph, inputs, outputs)
    lines: list[str] = []
    text: dict[NodeId, str] = {}  # the statement that computed each emitted node
    section = ""
    group: tuple[str, NodeId] | None = None
    uses_np = False
    # (op, over vectors) -> (template, has an integer power); a vector's statement is
    # NumPy code over its elements (a 1-D array in a one-point kernel)
    spellings: dict[tuple[str, bool], tuple[str, bool]] = {}
    vector = shapes(graph).is_vector if graph.vectors else None
    nodes, origins, notes, steps = graph.nodes, graph.origin, graph.notes, graph.steps
    ref = namer.ref
    for nid in program.order:
        op, args, _ = nodes[nid]
        over = vector is not None and (vector(nid) or any(vector(a) for a in args))
        spelled = spellings.get((op, over))
        if spelled is None:
            spelling = template(op, "numpy" if over else target)
            spelled = spellings[(op, over)] = (spelling, OPS[op].integer_power is not None)
            uses_np = uses_np or "np." in spelled[0]
        spelling, power = spelled
        if over and op in SUBSCRIPTED:
            rhs = subscripted(spelling, op, [ref(a) for a in args])
        elif power:
            refs, whole = _operands(graph, namer, op, args)
            rhs = (template(op, target, whole) if whole else spelling).format(*refs)
        elif len(args) == 1:
            rhs = spelling.format(ref(args[0]))
        else:
            rhs = spelling.format(*[ref(a) for a in args])
        origin = origins.get(nid)
        if origin is None:
            if section != "forward":
                section = "forward"
                lines.append("# forward")
        elif origin != group or section != origin[0]:
            if section != origin[0]:
                section = origin[0]
                lines.append(SECTIONS[section])
            if origin != group:
                group = origin
                of = origin[1]
                lines.append(f"# from {text.get(of) or _unemitted(graph, namer, of)}")
        note = notes.get(nid)
        if note is not None:
            lines.append(f"# stable rewrite: {note}")
        statement = f"{namer.define(nid)} = {rhs}"
        text[nid] = statement
        step = steps.get(nid)
        if step is not None:  # the chain-rule factor this line multiplies by
            of, arg, partial = step
            statement += f"  # d {label(of)} / d {label(arg)}"
            statement += f" = {step_text(graph, partial, origin, label)}"
        lines.append(statement)
    returns = [namer.ref(o) if o is not None else "0.0" for o in outputs]
    aliases = [
        (j, "b_" + namer.names[w].rstrip("_")) for j, w in enumerate(grad_of) if w is not None
    ]
    aliases = [(j, w) for j, w in aliases if w != returns[j] and w not in namer.used]
    if aliases:
        lines.append("# gradient")
    for j, w in aliases:
        lines.append(f"{namer.claim(w)} = {returns[j]}")
        returns[j] = w
    return Kernel(tuple(namer.names[i] for i in inputs), tuple(lines), tuple(returns), uses_np)


def _label(graph: Graph, namer: Namer, nid: NodeId) -> str:
    """A node's name in the code; for one this kernel does not compute, the name it would
    have as a derivative (`b_x`), else `%id`."""
    if nid in namer.names:
        return namer.names[nid]
    for prefix, table in (("b_", graph.bar), ("d_", graph.dot)):
        if nid in graph.origin and table.get(nid) in namer.names:
            return prefix + namer.names[table[nid]].rstrip("_")
    return number_text(graph, nid) or f"%{nid}"


def _unemitted(graph: Graph, namer: Namer, nid: NodeId) -> str:
    """A node this kernel does not compute, as its formula over what it can name."""
    node = graph.nodes[nid]
    rhs = subscripted(template(node.op), node.op, [_label(graph, namer, a) for a in node.args])
    label = _label(graph, namer, nid)
    return (rhs if label.startswith("%") else f"{label} = {rhs}") + "  (not computed here)"


def _operands(
    graph: Graph, namer: Namer, op: str, args: Sequence[NodeId]
) -> tuple[list[str], bool]:
    """The arguments' names, a whole exponent as an integer literal; and whether it was."""
    refs = [namer.ref(a) for a in args]
    whole = whole_exponent(graph, op, args)
    if whole is not None:
        refs[whole[0]] = str(whole[1])
    return refs, whole is not None


def function_lines(kernel: Kernel, fname: str, decorators: list[str]) -> list[str]:
    """The kernel as a Python function (its lines), under `decorators`."""
    body = [("    " + line) for line in kernel.lines]
    ret = ", ".join(kernel.returns) + ("," if len(kernel.returns) == 1 else "")
    signature = f"def {fname}({', '.join(kernel.params)}):"
    return [*decorators, signature, *body, f"    return {ret}"]
