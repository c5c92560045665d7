"""`adc.trace`: every intermediate of a formula at one point, as a table for a slide.

Rows are the nodes in evaluation order (inputs first): the node's name (the user's, or the
`tK` of the generated code), its operation in formula syntax, its forward value, its adjoint
(the derivative of the output with respect to it: reverse mode's `b_v`) and its local partials
(the derivative of the node with respect to each argument: the factors the chain rule
multiplies). Where a stable rewrite (README, "Numerical stability") fused steps the user named (the
neuron's `e = -d; f = exp(e); g = 1 + f; h = 1/g` into `h = sigmoid(d)`), the rows are the
program as written, every step with its value and adjoint, and the fused ones marked with
the node that computes them in the compiled code. The numbers come from the NumPy
interpreter over one graph holding the
program, every adjoint and every partial (as `run.pointwise.at_point`, which graph views
use), so each number is what the compiled code computes.

Vector inputs (docs/vectors.md) are given as 1-D arrays (one point); a vector node's value,
adjoint and partials are arrays, shown abbreviated (`[1.2, 0.8, 1.1, …] (n=1000)`). A
vector op's local partial is elementwise: `dt/dv = [...]` holds d t_i / d v_i for an
elementwise `t`, d t / d v_i for a reduction (`1` for `sum`, one-hot for `max`), and for the
ops that move elements (`x[2]`, `x[1:]`) the sum over the result's elements (a one-hot or a
0/1 mask over `x`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adcompile.api import Formula
from adcompile.api.results import bind
from adcompile.codegen import dot as viz
from adcompile.codegen.formula import formula_text, operand_text, value_text
from adcompile.codegen.kernel import Namer
from adcompile.ir.graph import Graph, NodeId
from adcompile.ir.shapes import shapes
from adcompile.run.pointwise import at_point
from adcompile.schedule import schedule

#: The names the code generator gives unnamed steps (`t0`, `t1`, ...).
_GENERATED = re.compile(r"^t\d+$")
#: A value in a trace: a float, or a 1-D array for a vector node.
Value = Any


@dataclass(frozen=True)
class Row:
    """One node of the trace."""

    name: str
    operation: str  # "input", or the node in formula syntax over the names: "w0 * x0"
    value: Value  # a float, or a 1-D array for a vector node
    adjoint: Value  # d output / d this node (0 where the output does not depend on it)
    partials: dict[str, Value] = field(default_factory=dict)  # d node / d argument, by name
    fused: str = ""  # where a stable rewrite fused this step: the node that computes it


@dataclass(frozen=True)
class Trace:
    """A trace table: `print` it, show it in Jupyter (HTML), or take `to_list()`."""

    output: str
    rows: tuple[Row, ...]
    digits: int = 4
    rewrites: tuple[str, ...] = ()  # stability rewrites in the traced graph (see README)
    view: viz.Dot | None = field(default=None, repr=False, compare=False)

    def graph(self) -> viz.Dot:
        """The traced program as a DOT graph whose nodes show these values and adjoints."""
        if self.view is None:
            raise ValueError("this trace was built without its graph")
        return self.view

    def to_list(self) -> list[dict[str, Any]]:
        """The rows as plain dicts (name, operation, value, adjoint, partials)."""
        return [
            {
                "name": r.name,
                "operation": r.operation,
                "value": r.value,
                "adjoint": r.adjoint,
                "partials": dict(r.partials),
            }
            for r in self.rows
        ]

    def row(self, name: str) -> Row:
        """The row of the node called `name`."""
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"no node '{name}' in this trace; nodes: {', '.join(self.names)}")

    @property
    def names(self) -> tuple[str, ...]:
        """The node names, in evaluation order."""
        return tuple(r.name for r in self.rows)

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        out = "f" if self.output == "value" else self.output
        head = ["node", "operation", "value", f"d{out}/d(node)", "local partials"]
        body = []
        for r in self.rows:
            parts = "  ".join(f"d{r.name}/d{a} = {self._num(v)}" for a, v in r.partials.items())
            if r.fused:
                parts += f"  [fused into {r.fused}]"
            body.append([r.name, r.operation, self._num(r.value), self._num(r.adjoint), parts])
        return head, body

    def _num(self, v: Value) -> str:
        return value_text(v, self.digits)

    def __str__(self) -> str:
        head, body = self._cells()
        rows = [head, *body]
        widths = [max(len(r[c]) for r in rows) for c in range(len(head))]
        right = {2, 3}  # numbers align right
        lines = [
            "  ".join(
                cell.rjust(w) if c in right else cell.ljust(w)
                for c, (cell, w) in enumerate(zip(r, widths))
            ).rstrip()
            for r in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        if self.rewrites:
            lines.append(f"stable rewrites: {'; '.join(self.rewrites)}")
            if any(r.fused for r in self.rows):
                lines.append("(every step is listed as written, with its value; the compiled "
                             "code computes the [fused] ones inside the stable form)")  # fmt: skip
            else:
                lines.append("(compile with stable=False to trace every step as written)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Trace of {self.output}: {len(self.rows)} nodes>\n{self}"

    def _repr_html_(self) -> str:
        """A styled table with a caption (what the output is), and the rewrites' note."""
        head, body = self._cells()
        cell = "padding:2px 10px;border-bottom:1px solid #8884;"
        th = "".join(f'<th style="{cell}text-align:left">{html.escape(h)}</th>' for h in head)
        trs = "".join(
            "<tr>"
            + "".join(
                f'<td style="{cell}text-align:{"right" if c in (2, 3) else "left"};'
                f'font-family:monospace">{html.escape(text)}</td>'
                for c, text in enumerate(r)
            )
            + "</tr>"
            for r in body
        )
        caption = (
            f'<caption style="text-align:left;font-weight:bold;padding:4px 0">Trace of '
            f"{html.escape(self.output)}: every node's value and adjoint "
            f"(d{html.escape(self.output)}/d node), in evaluation order</caption>"
        )
        note = ""
        if self.rewrites:
            note = (
                f'<p style="font-style:italic">stable rewrites: '
                f"{html.escape('; '.join(self.rewrites))} (compile with stable=False to trace "
                "every step as written)</p>"
            )
        table = f'<table style="border-collapse:collapse">{caption}<thead><tr>{th}</tr>'
        return f"{table}</thead><tbody>{trs}</tbody></table>{note}"


def trace(f: Formula | str, *args: Any, digits: int = 4, **kwargs: Any) -> Trace:
    """Every node of `f` at one point: value, adjoint and local partials (see module doc).

    Args:
        f: a `Formula` (or formula text) with a single scalar output.
        args, kwargs: the point, as for calling `f`: numbers, and 1-D arrays for vector
            inputs.
        digits: significant digits shown when printed (the rows keep full floats).

    Example:
        >>> t = trace("a = x*y; b = sin(a); b + x", x=2.0, y=0.5)
        >>> print(t)
        node  operation   value  df/d(node)  local partials
        ----  ---------  ------  ----------  ----------------------
        x     input           2        1.27
        y     input         0.5       1.081
        a     x * y           1      0.5403  da/dx = 0.5  da/dy = 2
        b     sin(a)     0.8415           1  db/da = 0.5403
        t0    x + b       2.841           1  dt0/dx = 1  dt0/db = 1
    """
    from adcompile.api import compile

    formula = compile(f) if isinstance(f, str) else f
    stable = _trace(formula, args, kwargs, digits)
    if not stable.rewrites:
        return stable
    declared = dict(formula._shapes) or None
    written = compile(formula.text, inputs=formula.inputs, stable=False, shapes=declared)
    plain = _trace(written, args, kwargs, digits)
    kept = set(stable.names)
    rows = list(plain.rows)
    for k, r in enumerate(rows):  # a step the rewrite fused: marked with where it went
        if r.name not in kept:
            into = next((q for q in rows[k + 1 :] if q.name in kept), None)
            where = f"{into.name} = {stable.row(into.name).operation}" if into else "the output"
            rows[k] = Row(r.name, r.operation, r.value, r.adjoint, r.partials, where)
    if not any(r.fused and not _GENERATED.match(r.name) for r in rows):
        return stable  # the rewrite replaced no step the user named: its own rows
    return Trace(stable.output, tuple(rows), digits, stable.rewrites, _marked(plain, rows))


def _marked(plain: Trace, rows: list[Row]) -> viz.Dot | None:
    """The as-written trace's graph with the fused steps dashed and saying where they went."""
    view = plain.view
    if view is None:
        return None
    lines = view.source.splitlines()
    for r in rows:
        if not r.fused:
            continue
        start = re.compile(rf'^(\s*n\d+ )\[label="({re.escape(viz.escape(r.name))} = [^"]*)"')
        note = viz.escape(f"(fused into {r.fused})")
        for k, line in enumerate(lines):
            found = start.match(line)
            if found:
                head, label = found.group(1), found.group(2)
                rest = line[found.end() :]
                lines[k] = f'{head}[style="filled,dashed", label="{label}\\n{note}"{rest}'
    return viz.Dot("\n".join(lines) + "\n", view.nodes, view.edges)


def _trace(formula: Formula, args: tuple[Any, ...], kwargs: dict[str, Any], digits: int) -> Trace:
    """The trace of `formula`'s own graph (see `trace`)."""
    program = formula._program
    if len(program.outputs) != 1:
        raise ValueError(
            f"trace needs a single output; this program has {len(program.outputs)} "
            f"({', '.join(program.output_names)})"
        )
    graph = program.graph
    point = _point(formula, graph, program.input_ids, args, kwargs)
    out = program.outputs[0]
    if graph.vectors and shapes(graph).is_vector(out):
        raise ValueError(
            f"trace needs a scalar output; '{program.output_names[0]}' is a vector "
            "(trace sum(...) of it, or one element)"
        )
    order = schedule(graph, program.input_ids, [out]).order
    rows_ids = [*program.input_ids, *order]
    at = at_point(graph, program.input_ids, rows_ids, point, out, partials=True)
    values, adjoints, local = at.values, at.adjoints, at.partials
    namer = Namer(graph, program.input_ids)
    for nid in order:
        namer.define(nid)
    rows = []
    for nid in rows_ids:
        node = graph.nodes[nid]
        operation = "input"
        if node.args:
            operation = formula_text(
                node.op, [operand_text(graph, namer.ref, a) for a in node.args]
            )
        partials = {namer.ref(a): v for a, v in local.get(nid, {}).items()}
        rows.append(Row(namer.ref(nid), operation, values[nid], adjoints[nid], partials))
    notes = [graph.notes[n] for n in order if n in graph.notes]
    outputs = list(zip(program.output_names, program.outputs))
    drawn = viz.drawn_nodes(graph, program.input_ids, [out])
    view = viz.dot_text(graph, namer, drawn, outputs, values, adjoints)
    return Trace(program.output_names[0], tuple(rows), digits, tuple(dict.fromkeys(notes)), view)


def _point(
    formula: Formula,
    graph: Graph,
    inputs: Sequence[NodeId],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> list[Value]:
    """One point: a float per scalar input, a 1-D float array per vector input (checked by
    calling the formula there, which names wrong lengths)."""
    values = bind(formula.inputs, args, kwargs)
    point: list[Value] = []
    for name, nid, v in zip(formula.inputs, inputs, values):
        vector = nid in graph.vectors
        if isinstance(v, (str, bytes)) or np.ndim(v) != (1 if vector else 0):
            what = "a 1-D array (its elements)" if vector else "a number"
            raise TypeError(
                f"trace shows one point: '{name}' must be {what}, got {np.shape(v) or v!r}"
            )
        point.append(np.asarray(v, dtype=np.float64) if vector else float(v))
    if graph.vectors:
        formula(*point)  # a LengthError naming the inputs, where lengths do not fit
    return point
