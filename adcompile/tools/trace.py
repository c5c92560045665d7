"""`adc.trace`: every intermediate of a formula at one point, as a table for a slide.

Rows are the nodes in evaluation order (inputs first): the node's name (the user's, or the
`tK` of the generated code), its operation in formula syntax, its forward value, its adjoint
(the derivative of the output with respect to it: reverse mode's `b_v`) and its local partials
(the derivative of the node with respect to each argument: the factors the chain rule
multiplies). The numbers come from `run.pointwise.at_point` (the NumPy interpreter over one
graph holding the program, every adjoint and every partial, as graph views show them), so
each number is what the compiled code computes.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

from adcompile.api import Formula
from adcompile.api.results import bind
from adcompile.codegen.formula import formula_text, operand_text
from adcompile.codegen.kernel import Namer
from adcompile.run.pointwise import at_point
from adcompile.schedule import schedule


@dataclass(frozen=True)
class Row:
    """One node of the trace."""

    name: str
    operation: str  # "input", or the node in formula syntax over the names: "w0 * x0"
    value: float
    adjoint: float  # d output / d this node (0 where the output does not depend on it)
    partials: dict[str, float] = field(default_factory=dict)  # d node / d argument, by name


@dataclass(frozen=True)
class Trace:
    """A trace table: `print` it, show it in Jupyter (HTML), or take `to_list()`."""

    output: str
    rows: tuple[Row, ...]
    digits: int = 4
    rewrites: tuple[str, ...] = ()  # stability rewrites in the traced graph (see README)

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
            body.append([r.name, r.operation, self._num(r.value), self._num(r.adjoint), parts])
        return head, body

    def _num(self, v: float) -> str:
        return f"{v:.{self.digits}g}" if math.isfinite(v) else repr(v)

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
            lines.append("(compile with stable=False to trace every step as written)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Trace of {self.output}: {len(self.rows)} nodes>\n{self}"

    def _repr_html_(self) -> str:
        head, body = self._cells()
        th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        trs = "".join(
            "<tr>"
            + "".join(
                f'<td style="text-align:{"right" if c in (2, 3) else "left"}">'
                f"{html.escape(cell)}</td>"
                for c, cell in enumerate(r)
            )
            + "</tr>"
            for r in body
        )
        return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def trace(f: Formula | str, *args: float, digits: int = 4, **kwargs: Any) -> Trace:
    """Every node of `f` at one point: value, adjoint and local partials (see module doc).

    Args:
        f: a `Formula` (or formula text) with a single output.
        args, kwargs: the point, as for calling `f` (numbers).
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
    program = formula._program
    if len(program.outputs) != 1:
        raise ValueError(
            f"trace needs a single output; this program has {len(program.outputs)} "
            f"({', '.join(program.output_names)})"
        )
    point = [float(v) for v in bind(formula.inputs, args, kwargs)]
    graph = program.graph
    out = program.outputs[0]
    order = schedule(graph, program.input_ids, [out]).order
    rows_ids = [*program.input_ids, *order]
    at = at_point(graph, program.input_ids, rows_ids, point, out, partials=True)
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
        partials = {namer.ref(a): v for a, v in at.partials.get(nid, {}).items()}
        rows.append(Row(namer.ref(nid), operation, at.values[nid], at.adjoints[nid], partials))
    notes = [graph.notes[n] for n in order if n in graph.notes]
    return Trace(program.output_names[0], tuple(rows), digits, tuple(dict.fromkeys(notes)))
