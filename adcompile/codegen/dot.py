"""Computational graphs as DOT text: the forward DAG, with any derivative nodes styled apart.

`draw(graph, inputs, outputs)` names the nodes as the generated code does (`codegen.Namer`:
the same names as `evaluator.source`), labels each with its operation in formula syntax
(`a = w0 * x0`; constants are folded into the labels of their users) and, when given the
numbers at a point (`run.pointwise.at_point`, as `adc.trace` shows them), with its value and
adjoint `b_v`: nothing is evaluated here. A vector node (docs/vectors.md) has a double
border, and its numbers are shown abbreviated (`= [1.2, 0.8, 1.1, …] (n=1000)`, the first
`codegen.formula.SHOWN_ELEMENTS`). Nodes that reverse or forward mode made
(`graph.origin`) go into clusters of their own, styled from the tables below. The text is
built by one loop over node ids (no recursion; the same text in every process). `Dot` holds
it: `.source`, Jupyter's SVG view, and `.render(path)` (the only part that needs Graphviz's
`dot` program).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from adcompile.codegen.formula import formula_text, operand_text, value_text
from adcompile.codegen.kernel import Namer
from adcompile.ir.graph import Graph, NodeId
from adcompile.ir.node import SEED_MARK
from adcompile.ir.shapes import shapes
from adcompile.schedule import schedule

#: Graph-wide settings and the defaults every node and edge starts from: drawn at most
#: 10 x 7.5 inches (720 x 540 pt: a slide; Graphviz scales a bigger drawing down).
HEADER: Final = (
    'graph [rankdir=LR, size="10,7.5", fontname=Helvetica, fontsize=11];',
    "node [shape=box, style=filled, fillcolor=white, fontname=Helvetica, fontsize=11];",
    'edge [color="#555555", arrowsize=0.7];',
)
#: Attributes of a node by (side, shape), on top of the defaults in `HEADER`. The side is
#: "forward", or the pass that made the node ("adjoint", "tangent"); the shape says whether it
#: is an input (a seed, on a derivative side), an operation or a constant shown on its own.
STYLES: Final[dict[tuple[str, str], dict[str, str]]] = {
    ("forward", "input"): {"shape": "ellipse", "fillcolor": "#eeeeee"},
    ("forward", "op"): {},
    ("adjoint", "input"): {"shape": "ellipse", "fillcolor": "#ffe0b2"},
    ("adjoint", "op"): {"fillcolor": "#ffe0b2"},
    ("tangent", "input"): {"shape": "ellipse", "fillcolor": "#d6eaf8"},
    ("tangent", "op"): {"fillcolor": "#d6eaf8"},
}
#: Attributes of a constant shown on its own (an output that is a constant or zero).
CONST_STYLE: Final[dict[str, str]] = {"shape": "plaintext"}
#: What marks an output node (its label also names the output).
OUTPUT_STYLE: Final[dict[str, str]] = {"penwidth": "2.5"}
#: What marks a vector node (an input whose elements are its last axis, and what follows).
VECTOR_STYLE: Final[dict[str, str]] = {"peripheries": "2"}
#: Edges from one side to another (a derivative reading a forward value): drawn dashed.
CROSS_EDGE_STYLE: Final[dict[str, str]] = {"style": "dashed"}
#: The cluster of each side (label, border colour), in the order they are written; clusters
#: are drawn only when the graph has derivative nodes.
CLUSTERS: Final[dict[str, tuple[str, str]]] = {
    "forward": ("forward", "#999999"),
    "adjoint": ("reverse (adjoints b_v)", "#e67e22"),
    "tangent": ("forward mode (tangents d_v)", "#2e86c1"),
}
#: The side of a seed input, by the prefix of its name (see `products`).
SEED_SIDES: Final[dict[str, str]] = {"b_": "adjoint", "d_": "tangent"}
#: Significant digits of the values in labels.
DIGITS: Final = 4
#: Jupyter draws graphs up to this many nodes (`dot` takes minutes on much larger ones).
MAX_SVG_NODES: Final = 2000
#: Seconds `dot` may take before `render` gives up.
DOT_TIMEOUT_S: Final = 120
#: Output formats of `Dot.render`, by file suffix (None: the DOT text itself).
FORMATS: Final[dict[str, str | None]] = {
    ".svg": "svg",
    ".png": "png",
    ".pdf": "pdf",
    ".dot": None,
    ".gv": None,
}
_BARE: Final = re.compile(r"[A-Za-z_][A-Za-z_0-9]*|-?[0-9]*\.?[0-9]+")
_INSTALL: Final = (
    "Graphviz's `dot` program is not installed (not on PATH): install Graphviz "
    "(`apt install graphviz`, `conda install graphviz` or `brew install graphviz`), "
    'or write the DOT text with render("graph.dot")'
)


class Dot:
    """A graph as DOT text: `.source` (or `str()`), drawn by Jupyter, `.render(path)`."""

    def __init__(self, source: str, nodes: int, edges: int) -> None:
        self.source = source
        self.nodes = nodes
        self.edges = edges

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"<Dot: {self.nodes} nodes, {self.edges} edges>"

    def _repr_svg_(self) -> str | None:
        """The drawing as SVG, for Jupyter; None (the text view) without Graphviz."""
        if shutil.which("dot") is None or self.nodes > MAX_SVG_NODES:
            return None
        return _run_dot(self.source, "svg").decode("utf-8")

    def render(self, path: str | os.PathLike[str]) -> Path:
        """Write the graph to `path`, in the format its suffix names (.svg, .png, .pdf, or
        .dot / .gv for the DOT text); return the path. All but .dot need Graphviz."""
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix not in FORMATS:
            raise ValueError(
                f"render: unknown format '{target.suffix}'; use one of {', '.join(FORMATS)}"
            )
        fmt = FORMATS[suffix]
        if fmt is None:
            target.write_text(self.source, encoding="utf-8")
        else:
            target.write_bytes(_run_dot(self.source, fmt))
        return target


def _run_dot(source: str, fmt: str) -> bytes:
    """The output of `dot -T<fmt>` on `source` (RuntimeError when it is missing or fails)."""
    program = shutil.which("dot")
    if program is None:
        raise RuntimeError(_INSTALL)
    try:
        done = subprocess.run(
            [program, f"-T{fmt}"],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"dot took more than {DOT_TIMEOUT_S} s; write the DOT text with "
            'render("graph.dot") and lay it out yourself (e.g. `sfdp`)'
        ) from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"dot failed (exit status {done.returncode}): {message}")
    return done.stdout


# -- building the text -----------------------------------------------------------------------
def draw(
    graph: Graph,
    inputs: Sequence[NodeId],
    outputs: Sequence[tuple[str, NodeId | None]],
    values: Mapping[NodeId, Any] | None = None,
    adjoints: Mapping[NodeId, Any] | None = None,
) -> Dot:
    """The graph of `outputs` (name, node; None is identically zero) over kernel `inputs`.

    Labels show each drawn node's value in `values` and its adjoint (the derivative of the
    output with respect to it) in `adjoints`, where given: the numbers of `drawn_nodes` at a
    point, from `run.pointwise.at_point` (floats, or arrays for vector nodes).
    """
    nodes = drawn_nodes(graph, inputs, [o for _, o in outputs])
    namer = Namer(graph, inputs)
    for nid in nodes:
        if graph.nodes[nid].args:
            namer.define(nid)
    return dot_text(graph, namer, nodes, outputs, values, adjoints)


def drawn_nodes(
    graph: Graph, inputs: Sequence[NodeId], outputs: Sequence[NodeId | None]
) -> list[NodeId]:
    """The nodes a graph shows, in id order: the inputs, the operations the outputs need and
    constants that are outputs themselves (other constants are folded into labels)."""
    live = schedule(graph, inputs, outputs).live
    shown = set(inputs) | {o for o in outputs if o is not None}
    return [
        nid for nid, node in enumerate(graph.nodes) if nid in shown or (live[nid] and node.args)
    ]


def dot_text(
    graph: Graph,
    namer: Namer,
    nodes: Sequence[NodeId],
    outputs: Sequence[tuple[str, NodeId | None]],
    values: Mapping[NodeId, Any] | None = None,
    bars: Mapping[NodeId, Any] | None = None,
) -> Dot:
    """The DOT text of `nodes` (in id order) named by `namer`, labelled with any values and
    adjoints; `outputs` (name, node) are marked, identically zero ones as nodes `0`."""
    values, bars = values or {}, bars or {}
    marked: dict[NodeId, list[str]] = {}
    zeros: list[str] = []
    for name, nid in outputs:
        if nid is None:
            zeros.append(name)
        else:
            marked.setdefault(nid, []).append(name)
    sides = {nid: _side(graph, nid) for nid in nodes}
    vector = shapes(graph).is_vector if graph.vectors else None
    grouped = any(side != "forward" for side in sides.values())
    blocks: dict[str, list[str]] = {side: [] for side in CLUSTERS}
    loose: list[str] = []
    for nid in nodes:
        lines = _label(graph, namer, nid, values.get(nid), bars.get(nid), marked.get(nid, []))
        const = graph.nodes[nid].op == "const"
        style = CONST_STYLE if const else STYLES[(sides[nid], _shape(graph, nid))]
        attrs = {"label": _join(lines), **style}
        if nid in marked:
            attrs.update(OUTPUT_STYLE)
        if vector is not None and vector(nid):
            attrs.update(VECTOR_STYLE)
        statement = f"n{nid} [{_attrs(attrs)}];"
        (blocks[sides[nid]] if grouped and not const else loose).append(statement)
    for k, name in enumerate(zeros):
        loose.append(f"z{k} [{_attrs({'label': _join(['0', f'output {name}']), **CONST_STYLE})}];")
    edges = [
        f"n{a} -> n{nid}{_edge_attrs(sides[a], sides[nid])};"
        for nid in nodes
        for a in dict.fromkeys(graph.nodes[nid].args)
        if graph.nodes[a].op != "const"
    ]
    body = [*HEADER]
    for side, statements in blocks.items():
        if statements:
            body += _cluster(side, statements)
    body += [*loose, *edges]
    source = "digraph adcompile {\n" + "".join(f"  {line}\n" for line in body) + "}\n"
    return Dot(source, len(nodes) + len(zeros), len(edges))


def _cluster(side: str, statements: list[str]) -> list[str]:
    label, color = CLUSTERS[side]
    head = f'subgraph cluster_{side} {{ label="{escape(label)}"; style=rounded; color="{color}";'
    return [head, *(f"  {s}" for s in statements), "}"]


def _edge_attrs(source: str, target: str) -> str:
    return "" if source == target else f" [{_attrs(CROSS_EDGE_STYLE)}]"


def _side(graph: Graph, nid: NodeId) -> str:
    """Which pass made the node ("forward" for the program and its inputs)."""
    origin = graph.origin.get(nid)
    if origin is not None:
        return origin[0]
    name = graph.nodes[nid].attr
    if isinstance(name, str) and name.startswith(SEED_MARK):
        return SEED_SIDES.get(name[len(SEED_MARK) : len(SEED_MARK) + 2], "forward")
    return "forward"


def _shape(graph: Graph, nid: NodeId) -> str:
    return "op" if graph.nodes[nid].args else "input"


def _label(
    graph: Graph,
    namer: Namer,
    nid: NodeId,
    value: Any,
    bar: Any,
    outputs: list[str],
) -> list[str]:
    """The lines of a node's label: `t0 = x * y`, `= 6`, `b_t0 = 1`, `output value`."""
    node = graph.nodes[nid]
    name = operand_text(graph, namer.ref, nid)
    lines = [name]
    if node.args:
        operands = [operand_text(graph, namer.ref, a) for a in node.args]
        lines = [f"{name} = {formula_text(node.op, operands)}"]
    if value is not None and node.op != "const":
        lines.append(f"= {_value_text(value)}")
    if bar is not None and node.op != "const":
        lines.append(f"b_{name.rstrip('_')} = {_value_text(bar)}")
    if outputs and outputs != [name]:  # an input that is an output: said so, not a label
        what = ", ".join(outputs)  # of an edge into it
        lines.append(
            f"output {what}" if node.args or node.op == "const" else f"(is the output {what})"
        )
    return lines


def _value_text(value: Any) -> str:
    return value_text(value, DIGITS)


def escape(text: str) -> str:
    """Text for a quoted DOT string: backslashes and quotes escaped, line breaks as `\\n`."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def _join(lines: Sequence[str]) -> str:
    """Label lines as one escaped DOT string body."""
    return "\\n".join(escape(line) for line in lines)


def _attrs(attrs: Mapping[str, str]) -> str:
    """`key=value, ...`; the label and anything not a plain word or number quoted."""
    return ", ".join(
        f"{k}={v}" if k != "label" and _BARE.fullmatch(v) else f'{k}="{v}"'
        for k, v in attrs.items()
    )
