"""The vector part of the text front end (DESIGN.md section 2b): subscripts, slices,
reductions and the functions written out from them, and deciding which inputs are vectors.

`VectorCalls` is mixed into the parser's IR builder (`front.parse._BuildIR`): its callbacks
make the vector ops of `ir.vecops` through the one door; `settle_vectors` runs after a parse:
it marks the vector inputs on the graph (`Graph.vectors`) and reports a vector operation on
a scalar with the caret at the place it was written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from adcompile.errors import ArityError, FormulaError
from adcompile.ir.graph import Expr, Graph
from adcompile.ir.node import NodeId
from adcompile.ir.ops import OPS
from adcompile.ir.shapes import shapes, vector_inputs
from adcompile.ir.vecops import MACROS, REDUCTIONS

#: What a callback returns: (node, offset, name) as in `front.parse`.
Val = tuple[NodeId, int, "str | None"]
#: A shape given in `compile(shapes=...)`: a length, None (a vector of any length), ().
ShapeSpec = Any


class VectorCalls:
    """Callbacks for the vector syntax (see the module docstring)."""

    graph: Graph
    text: str

    def at(self, offset: int) -> tuple[int, int]:  # pragma: no cover - the parser's
        raise NotImplementedError

    def _init_vectors(self) -> None:
        # (node, offset, what was written) of every vector operation, for the messages
        self.vector_uses: list[tuple[NodeId, int, str]] = []

    def vector_call(self, name: str, args: Sequence[Val], offset: int) -> Val | None:
        """A call of a vector function (`sum(x)`, `dot(a, b)`, ...), or None if `name` with
        this many arguments is not one (`max(a, b)` is the elementwise op)."""
        op = REDUCTIONS.get(name) if len(args) == 1 else None
        if op is not None:
            nid = self.graph.apply(op, args[0][0])
        elif name in MACROS:
            arity, build = MACROS[name]
            if len(args) != arity:
                plural = "s" if arity != 1 else ""
                raise ArityError(
                    f"{name}() takes {arity} argument{plural}, {len(args)} given", *self.at(offset)
                )
            nid = build(*(Expr(self.graph, a[0]) for a in args)).id
        else:
            return None
        for a in args:
            self.vector_uses.append((a[0], offset, f"{name}(...)"))
        return (nid, offset, None)

    def _constant(self, value: Val | None, what: str, offset: int) -> float:
        """A subscript's constant integer (NaN where omitted)."""
        if value is None:
            return math.nan
        found = self.graph.const_value(value[0])
        if found is None or not math.isfinite(found) or found != int(found):
            shown = "" if found is None else f" (it is {found!r})"
            raise FormulaError(
                f"{what} must be an integer constant{shown}: subscripts are fixed when the "
                "formula is compiled",
                *self.at(value[1]),
            )
        return float(found)

    def subscript(self, children: Sequence[Any]) -> Val:
        vector, index = children
        i = self._constant(index, "an index", index[1])
        graph = self.graph
        nid = graph.apply("vindex", vector[0], graph.const(i))
        self.vector_uses.append((vector[0], vector[1], "a subscript"))
        return (nid, vector[1], None)

    def slicing(self, children: Sequence[Any]) -> Val:
        vector = children[0]
        bounds: list[Val | None] = [None, None, None]
        k = 0
        for child in children[1:]:
            if isinstance(child[0], str):  # a COLON token
                k += 1
            else:
                bounds[k] = child
        lo, hi, step = (
            self._constant(b, what, vector[1])
            for b, what in zip(bounds, ("a slice bound", "a slice bound", "a slice step"))
        )
        if step == 0:
            where = bounds[2][1] if bounds[2] is not None else vector[1]
            raise FormulaError("a slice step cannot be zero", *self.at(where))
        graph = self.graph
        nid = graph.apply("vslice", vector[0], *(graph.const(v) for v in (lo, hi, step)))
        self.vector_uses.append((vector[0], vector[1], "a slice"))
        return (nid, vector[1], None)

    def settle_vectors(
        self, outputs: Sequence[NodeId], inputs: Sequence[str], declared: Mapping[str, ShapeSpec]
    ) -> None:
        """Mark the vector inputs (`Graph.vectors`) and check every vector operation has a
        vector: a `FormulaError` at the place written, else."""
        graph = self.graph
        by_name = {str(graph.nodes[graph.input(n)].attr): graph.input(n) for n in inputs}
        fixed: dict[NodeId, int | None] = {}
        flags: dict[NodeId, bool] = {}
        for input_name, spec in declared.items():
            nid = by_name[input_name]
            vector, length = _spec(input_name, spec)
            flags[nid] = vector
            if vector:
                fixed[nid] = length
        if not self.vector_uses and not any(flags.values()):
            return
        for nid in sorted(vector_inputs(graph, outputs, flags)):
            graph.vectors[nid] = (nid, fixed.get(nid))
        found = shapes(graph)
        for arg, offset, what in sorted(self.vector_uses, key=lambda u: u[1]):
            if not found.is_vector(arg):
                raise self._scalar_error(arg, offset, what)
        for nid, k in found.scalar_args:  # an op the parser did not record (none yet)
            raise self._scalar_error(graph.nodes[nid].args[k], 0, OPS[graph.nodes[nid].op].name)

    def _scalar_error(self, arg: NodeId, offset: int, what: str) -> FormulaError:
        graph = self.graph
        name: str | None = graph.names.get(arg)
        if name is None and graph.nodes[arg].op == "input":
            name = str(graph.nodes[arg].attr)
        subject = f"'{name}'" if name else "its argument"
        value = graph.const_value(arg)
        if graph.nodes[arg].op == "input":
            reason = " (declared a scalar in shapes=)"
        elif value is not None:  # `x^0` is 1 for every x: the door folds it
            reason = f" (it simplifies to the constant {value!r}, whatever the inputs)"
        else:
            reason = " (it does not depend on a vector input)"
        return FormulaError(f"{what} needs a vector, but {subject} is a scalar{reason}",
                            *self.at(offset))  # fmt: skip


def _spec(name: str, spec: ShapeSpec) -> tuple[bool, int | None]:
    """(is a vector, its fixed length) from a `shapes=` entry."""
    if spec == () or spec == "scalar":
        return False, None
    if spec is None or spec == "vector":
        return True, None
    if isinstance(spec, tuple) and len(spec) == 1:
        spec = spec[0]
        if spec is None:
            return True, None
    if isinstance(spec, int) and not isinstance(spec, bool) and spec >= 0:
        return True, spec
    raise FormulaError(
        f"shapes['{name}'] = {spec!r}: expected a length (an int >= 0), None (a vector of "
        "any length) or () (a scalar)"
    )
