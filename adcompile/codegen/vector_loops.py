"""The loop bodies of a vector module (`codegen.vector`): which vector nodes are fused,
and the element of a node at an index, as lines of local scalars.

`Loops` is the part of the printer that knows the op kinds (`LOOP_REDUCTIONS`, `BROADCASTS`,
`REMAPS`, `CHEAP`, `VIEWS`, `STATEMENTS`) and writes a loop body: the fused nodes a loop
needs, in id order, each a local (`__e<id>`); an unslice reads its argument at a shifted
index, computed in a nested block (`_Frame`) under the condition that the index is in the
slice. No recursion: blocks are frames of an explicit stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from adcompile.codegen.kernel import Namer
from adcompile.codegen.templates import template, whole_exponent
from adcompile.ir.graph import Graph, NodeId
from adcompile.ir.ops import OPS
from adcompile.ir.shapes import Shapes
from adcompile.ir.vecops import SHAPE_ONLY, bound

#: Reductions computed in a loop: op -> (initial value, update of `acc` by element `x`).
#: max/min propagate NaN (`not x <= acc` is true for a NaN x; a NaN acc stays).
LOOP_REDUCTIONS: Final[dict[str, tuple[str, str]]] = {
    "vsum": ("0.0", "{acc} += {x}"),
    "vprod": ("1.0", "{acc} *= {x}"),
    "vmax": ("-math.inf", "if {acc} == {acc} and not {x} <= {acc}:\n    {acc} = {x}"),
    "vmin": ("math.inf", "if {acc} == {acc} and not {x} >= {acc}:\n    {acc} = {x}"),
}
#: Statements of the ops that are neither elementwise nor loop reductions: `{o}` is the
#: result (a scratch array for a vector), `{0}, {1}, ...` the arguments; bounds and indices
#: are printed as integers (`{i1}`: argument 1 as an integer, `{s1}`: a slice bound).
STATEMENTS: Final[dict[str, str]] = {
    "vindex": "{o} = {0}[{i1}]",
    "vslice": "{o} = {0}[{s1}:{s2}:{s3}]",
    "vlen": "{o} = float(len({0}))",
    "vpick_max": "_vpick_max_into({0}, {o})",
    "vpick_min": "_vpick_min_into({0}, {o})",
    "vprod_except": "_vprod_except_into({0}, {o})",
    "vprod_except_dot": "_vprod_except_dot_into({0}, {1}, {o})",
}
#: Pointwise vector ops that are not elementwise: an element of the result is argument 0
#: (a broadcast), or an element of it or 0 (a scatter, an unslice).
BROADCASTS: Final = frozenset({"vfill"})
REMAPS: Final = {"vscatter": "_scatter", "vunslice": "_unslice"}  # -> the printer's method
#: Ops cheap enough to recompute in every loop that reads them rather than store.
CHEAP: Final = frozenset(
    {"add", "sub", "mul", "div", "neg", "mul0", "where", "lt", "le", "gt", "ge", "eq", "ne"}
    | {"and", "or", "not", "abs", "relu", "min", "max", "sign", "floor", "ceil"}
    | {"stop_gradient", "one_minus_sq", *BROADCASTS, *REMAPS}
)
#: The most nodes a recomputed node may bring into a loop with it.
MAX_RECOMPUTE: Final = 24
#: Vector statements whose result is a view of an argument (no scratch of their own).
VIEWS: Final = frozenset({"vslice"})

#: A line of a unit: text, or ("slot", node): the node's array, placed when slots are known.
Line = str | tuple[str, NodeId]


@dataclass
class _Unit:
    """A piece of the body: a statement, or a loop over one length (several merged)."""

    cls: NodeId | None  # the length class of a loop; None for a statement
    length: str = ""  # the loop's bound
    before: list[Line] = field(default_factory=list)  # slot views, inits, hoisted statements
    body: list[str] = field(default_factory=list)  # the loop body, or the statement
    stored: set[NodeId] = field(default_factory=set)  # arrays written here
    reduced: set[NodeId] = field(default_factory=set)  # reductions' results made here
    reads: set[NodeId] = field(default_factory=set)  # values read here
    shifted: set[NodeId] = field(default_factory=set)  # arrays read at another index
    defined: set[str] = field(default_factory=set)  # loop-body locals at index __k


class Loops:
    """Op kinds and loop bodies (see the module docstring); `codegen.vector._Printer`."""

    graph: Graph
    shape: Shapes
    namer: Namer
    kind: dict[NodeId, str]
    sources: dict[NodeId, int]
    top: list[str]
    variants: int

    def _vector(self, nid: NodeId) -> bool:
        return self.shape.is_vector(nid)

    def _reads(self, nid: NodeId) -> list[NodeId]:
        """The arguments whose values node `nid` reads (not those read for their length)."""
        op, args, _ = self.graph.nodes[nid]
        skip = SHAPE_ONLY.get(op, ())
        return [a for k, a in enumerate(args) if k not in skip]

    def _pointwise(self, nid: NodeId) -> bool:
        op = self.graph.nodes[nid].op
        elementwise = OPS[op].shape == "elementwise"
        return self._vector(nid) and (elementwise or op in BROADCASTS or op in REMAPS)

    def _cheap(self, nid: NodeId) -> bool:
        op, args, _ = self.graph.nodes[nid]
        return op in CHEAP or whole_exponent(self.graph, op, args) is not None

    def _loops(self, reader: NodeId, over: NodeId) -> bool:
        """Whether `reader` reads `over` element by element in a loop."""
        op = self.graph.nodes[reader].op
        if op in LOOP_REDUCTIONS or op in REMAPS:
            return True
        return self._pointwise(reader) and self.shape.of(reader) == self.shape.of(over)

    def _length(self, nid: NodeId) -> str:
        source = self.shape.source[nid]
        assert source is not None
        return f"__n{self.sources.setdefault(source, len(self.sources))}"

    # -- the module -----------------------------------------------------------------------
    def _element(
        self, nid: NodeId, var: str, env: dict[tuple[NodeId, str], str], unit: _Unit
    ) -> str:
        """Element `var` of a node (a scalar: the node itself)."""
        found = env.get((nid, var))
        if found is not None:
            return found
        ref = self.namer.ref(nid)
        if not self._vector(nid):
            unit.reads.add(nid)
            return ref
        unit.reads.add(nid)
        if var != "__k":
            unit.shifted.add(nid)
        return f"{ref}[{var}]"

    def _gather(self, top: NodeId, var: str, include_top: bool) -> list[NodeId]:
        """The fused nodes computed at index `var` for `top` (itself if `include_top`), in id
        order; an unslice's argument is at another index (its own block)."""
        found: set[NodeId] = set()
        stack = [top] if include_top or self.kind.get(top) == "fused" else []
        while stack:
            nid = stack.pop()
            if nid in found:
                continue
            found.add(nid)
            if self.graph.nodes[nid].op not in REMAPS:
                stack.extend(a for a in self._reads(nid) if self.kind.get(a) == "fused")
        return sorted(found)

    def _elements(
        self, top: NodeId, unit: _Unit, env: dict[tuple[NodeId, str], str], include_top: bool
    ) -> list[str]:
        """Lines computing the fused nodes `top` needs at index __k into locals (`env`):
        blocks for shifted indices nested in `if`s, on an explicit stack (no recursion)."""
        lines: list[str] = []
        stack = [_Frame("__k", self._gather(top, "__k", include_top), "")]
        while stack:
            frame = stack[-1]
            if frame.pos == len(frame.todo):
                stack.pop()
                if frame.close is not None:
                    text, node, at = frame.close
                    lines.append(text.format(self._element(node, at, env, unit)))
                continue
            nid = frame.todo[frame.pos]
            frame.pos += 1
            var, ind = frame.var, frame.indent
            local = f"__e{nid}" if var == "__k" else f"__e{nid}_{var[3:]}"
            env[(nid, var)] = local
            op, args, _ = self.graph.nodes[nid]
            if op in REMAPS:
                emitted = getattr(self, REMAPS[op])(nid, var, local, ind, env, unit)
                if isinstance(emitted, _Frame):
                    stack.append(emitted)
                    lines += emitted.head
                    continue
                line = emitted
            elif op in BROADCASTS:
                line = f"{local} = {self._element(args[0], var, env, unit)}"
            else:
                refs = [self._element(a, var, env, unit) for a in args]
                whole = whole_exponent(self.graph, op, args)
                if whole is not None:
                    refs[whole[0]] = str(whole[1])
                line = f"{local} = {template(op, 'numba', whole is not None).format(*refs)}"
            if var == "__k":
                unit.defined.add(line)
            lines.append(f"{ind}{line}")
        return lines

    def _unslice(
        self, nid: NodeId, var: str, local: str, ind: str, env: dict[tuple[NodeId, str], str],
        unit: _Unit,
    ) -> _Frame:  # fmt: skip
        """Element `var` of unslice(b, v, lo, hi, step): b[(var - start) // step] where
        `var` is in the slice, else 0; b's fused nodes at that index in a nested block."""
        _, _, lo, hi, st = self.graph.nodes[nid].args
        n = self._bounds(nid, f"slice({self._int(lo)}, {self._int(hi)}, {self._int(st)})")
        self.variants += 1
        child, q = f"__v{self.variants}", f"__q{self.variants}"
        # the step is a constant: a division by it is a shift or a multiply, by 1 nothing
        step = self._int(st)
        step = "1" if step == "None" else step
        if step in ("1", "-1"):
            head = [
                f"{ind}{q} = {var} - __a{n}",
                f"{ind}{child} = {'-' if step == '-1' else ''}{q}",
            ]
            test = f"0 <= {child} < __c{n}"
        else:
            head = [f"{ind}{q} = {var} - __a{n}", f"{ind}{child} = {q} // {step}"]
            test = f"{q} % {step} == 0 and 0 <= {child} < __c{n}"
        head += [f"{ind}{local} = 0.0", f"{ind}if {test}:"]
        b = self.graph.nodes[nid].args[0]
        inner = ind + "    "
        todo = self._gather(b, child, False)
        return _Frame(child, todo, inner, head, (f"{inner}{local} = {{}}", b, child))

    def _scatter(
        self, nid: NodeId, var: str, local: str, ind: str, env: dict[tuple[NodeId, str], str],
        unit: _Unit,
    ) -> str:  # fmt: skip
        """Element `var` of scatter(b, v, i): b at index i (from the end if negative), else 0."""
        b, _, i = self.graph.nodes[nid].args
        n = self._bounds(nid, self._int(i))
        return f"{local} = {self._element(b, var, env, unit)} if {var} == __i{n} else 0.0"

    def _int(self, nid: NodeId) -> str:
        value = self.graph.const_value(nid)
        assert value is not None
        found = bound(value)
        return "None" if found is None else str(found)

    def _bounds(self, nid: NodeId, what: str) -> NodeId:
        """Define, once per call, where an unslice's slice starts, its step and length (from
        Python's own slice arithmetic), or a scatter's index counted from 0."""
        mark = f"__a{nid}" if what.startswith("slice") else f"__i{nid}"
        if not any(line.startswith(mark) for line in self.top):
            length = self._length(nid)
            if what.startswith("slice"):
                self.top.append(f"__a{nid}, __z{nid}, __d{nid} = {what}.indices({length})")
                self.top.append(f"__c{nid} = len(range(__a{nid}, __z{nid}, __d{nid}))")
            else:
                self.top.append(f"__i{nid} = {what} % max({length}, 1)")
        return nid

    # -- scratch arrays -------------------------------------------------------------------


@dataclass
class _Frame:
    """A block of fused nodes computed at one index (`var`) in `_Printer._elements`."""

    var: str
    todo: list[NodeId]
    indent: str
    head: list[str] = field(default_factory=list)
    close: tuple[str, NodeId, str] | None = None
    pos: int = 0
