"""The Numba module of a graph with vectors (DESIGN.md section 2b): loops over elements.

One compiled function, `drive(__P, __steps, __lens, *inputs, *outputs)`, evaluates the graph at
the P points of a batch. A scalar input is a float64 array of P numbers (or one, with step
0); a vector input a (P, n) array (or (1, n), step 0), read a row per point without a copy;
`lens` holds the lengths of the vectors (one per length source: an input, or a slice),
measured and checked by the caller (`ir.shapes.lengths`). Results go to float64 arrays of P
numbers, or (P, n) for a vector result.

Inside, a scalar node is a local variable; a vector node is a loop over its elements:

- pointwise nodes (elementwise ops, broadcasts, and the scatter/unslice of reverse mode,
  whose element k is an element of their argument or 0) are *fused* into the loops that
  read them: computed per element as local scalars, never stored. A node read by one loop
  is always fused; one read by several is recomputed in each when it is cheap (arithmetic,
  comparisons: `CHEAP`), else stored. `sum((y - a*t)^2)` is one loop with no array at all;
  an unslice reads its argument at a shifted index (`(k - start) // step`), so Rosenbrock's
  gradient `x[1:]`/`x[:-1]` coupling needs no zero-filled arrays;
- consecutive loops over vectors of one length are *merged* into one pass (unless one reads
  what another computes at another index, or a reduction's result);
- the other vector nodes are *stored* in scratch arrays, views of the one float64 buffer
  `__scratch` the caller keeps between calls (fresh allocations of large arrays cost their
  page faults on every call), reused once dead; a vector output is stored straight into
  its row of the output array; input rows and slices are views;
- reductions accumulate in their loop (`LOOP_REDUCTIONS`); `x[i]` and the few whole-vector
  ops (`vector_helpers.VECTOR_HELPERS`) are statements.

The signature is explicit: importing the module compiles `drive` once for every length.
The names the printer makes start with `__` (no input may) or are `in<k>` (which user
names are never printed as), so they cannot clash with the inputs' names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from adcompile.codegen.kernel import Namer
from adcompile.codegen.numba import MATH_IMPORTS, Math, effective_math, plain_math
from adcompile.codegen.templates import (
    NJIT_HELPER,
    helper_lines,
    special_imports,
    template,
    whole_exponent,
)
from adcompile.codegen.vector_helpers import VECTOR_HELPERS
from adcompile.codegen.vector_loops import (
    LOOP_REDUCTIONS,
    MAX_RECOMPUTE,
    STATEMENTS,
    VIEWS,
    Line,
    Loops,
    _Unit,
)
from adcompile.ir.graph import Graph, NodeId, building
from adcompile.ir.shapes import shapes
from adcompile.ir.vecops import bound
from adcompile.schedule import schedule


@dataclass(frozen=True)
class VectorModule:
    """The module's text, and what its caller needs: each parameter and output a vector or
    not, the length sources `lens` lists (in order), and the scratch arrays' lengths."""

    source: str
    vector_params: tuple[bool, ...]
    vector_outputs: tuple[bool, ...]
    sources: tuple[NodeId, ...]
    output_sources: tuple[int | None, ...]  # index into `sources` of a vector output
    scratch: tuple[int, ...]  # the scratch arrays' lengths, as indices into `sources`


def vector_module(
    graph: Graph,
    params: Sequence[NodeId],
    outputs: Sequence[NodeId | None],
    header: Sequence[str] = (),
    math: Math = "simd",
) -> VectorModule:
    """Print the module (see the module docstring); its elementary functions come from
    `math` as in `codegen.numba.numba_source`."""
    with building():
        return _Printer(graph, params, outputs).module(header, math)


class _Printer(Loops):
    def __init__(
        self, graph: Graph, params: Sequence[NodeId], outputs: Sequence[NodeId | None]
    ) -> None:
        self.graph = graph
        self.params = tuple(params)
        self.outputs = tuple(outputs)
        self.shape = shapes(graph)
        self.program = schedule(graph, params, outputs)
        self.namer = Namer(graph, params)
        self.sources: dict[NodeId, int] = {}  # raw length source -> index in `lens`
        self.variants = 0
        self.top: list[str] = []  # per-call definitions (slice bounds, scatter indices)
        nodes = graph.nodes
        readers: dict[NodeId, list[NodeId]] = {}
        for nid in self.program.order:
            for a in dict.fromkeys(self._reads(nid)):
                readers.setdefault(a, []).append(nid)
        wanted = set(self.program.wanted)
        self.kind: dict[NodeId, str] = {p: "view" for p in params if self._vector(p)}
        size: dict[NodeId, int] = {}
        for nid in self.program.order:
            if not self._vector(nid):
                continue
            if nodes[nid].op in VIEWS:
                self.kind[nid] = "view"
                continue
            if nid not in wanted and self._pointwise(nid):
                found = readers.get(nid, [])
                fused = [a for a in self._reads(nid) if self.kind.get(a) == "fused"]
                closure = 1 + sum(size[a] for a in fused)
                cheap = self._cheap(nid) and closure <= MAX_RECOMPUTE
                if all(self._loops(r, nid) for r in found) and (len(found) <= 1 or cheap):
                    self.kind[nid], size[nid] = "fused", closure
                    continue
            self.kind[nid] = "stored"

    # -- what kind of node --------------------------------------------------------------
    def module(self, header: Sequence[str], math: Math = "simd") -> VectorModule:
        units = self._units()
        body = self._place(units)
        vp = tuple(self._vector(p) for p in self.params)
        vo = tuple(o is not None and self._vector(o) for o in self.outputs)
        out_sources = tuple(
            int(self._length(o)[3:]) if v and o is not None else None
            for o, v in zip(self.outputs, vo)
        )
        types = ["int64", "int64[::1]", "int64[::1]", "float64[::1]"]
        types += ["float64[:, ::1]" if v else "float64[::1]" for v in (*vp, *vo)]
        args = ["__P", "__steps", "__lens", "__scratch", *(f"in{k}" for k in range(len(vp)))]
        args += [f"__out{k}" for k in range(len(self.outputs))]
        lines = [
            *header,
            MATH_IMPORTS[effective_math(math)],
            "",
            "import numba",
            "import numpy as np",
        ]
        lines += [*special_imports(body), "", ""]
        lines += helper_lines(body, NJIT_HELPER)
        lines += [*VECTOR_HELPERS.strip("\n").splitlines(), "", ""]
        lines.append(f'@numba.njit("void({", ".join(types)})", nogil=True, cache=True, '
                     'error_model="numpy")')  # fmt: skip
        lines.append(f"def drive({', '.join(args)}):")
        lines += [f"    __n{k} = __lens[{k}]" for k in range(len(self.sources))]
        lines.append("    __at = 0")
        for k, length in enumerate(self.scratch):
            lines.append(f"    __s{k} = __scratch[__at : __at + __n{length}]")
            lines.append(f"    __at += __n{length}")
        lines += [f"    {line}" for line in self.top]
        lines.append("    for __p in range(__P):")
        for k, nid in enumerate(self.params):
            lines.append(f"        {self.namer.names[nid]} = in{k}[__p * __steps[{k}]]")
        lines += [f"        {line}" for line in body]
        for k, (o, v) in enumerate(zip(self.outputs, vo)):
            value = "0.0" if o is None else self.namer.ref(o)
            if not v:
                lines.append(f"        __out{k}[__p] = {value}")
            elif self.into.get(o) != k:  # type: ignore[arg-type]
                lines += [f"        __o = __out{k}[__p]", "        for __k in range(len(__o)):"]
                lines.append(f"            __o[__k] = {value}[__k]")
        order = tuple(sorted(self.sources, key=self.sources.__getitem__))
        source = "\n".join(lines) + "\n"
        return VectorModule(source, vp, vo, order, out_sources, tuple(self.scratch))

    # -- units: statements and (merged) loops ----------------------------------------------
    def _units(self) -> list[_Unit]:
        nodes, namer = self.graph.nodes, self.namer
        units: list[_Unit] = []
        group: _Unit | None = None
        for nid in self.program.order:
            kind = self.kind.get(nid)
            if kind == "fused":
                continue
            op = nodes[nid].op
            name = namer.define(nid)
            if self._pointwise(nid) or op in LOOP_REDUCTIONS:
                unit = self._loop(nid, name)
                same = (
                    group is not None
                    and group.cls is not None
                    and unit.cls is not None
                    and self.shape.find(group.cls) == self.shape.find(unit.cls)
                )
                if (
                    group is not None
                    and same
                    and not (unit.reads & group.reduced or unit.shifted & group.stored)
                ):
                    group.before += unit.before
                    group.body += [line for line in unit.body if line not in group.defined]
                    for part in ("stored", "reduced", "reads", "shifted", "defined"):
                        getattr(group, part).update(getattr(unit, part))
                    continue
                group = unit
                units.append(unit)
                continue
            unit = self._statement(nid, name)
            if group is not None and not unit.reads & (group.reduced | group.stored):
                group.before += [*unit.before, *unit.body]  # hoisted before the loop
                group.stored |= unit.stored
                group.reads |= unit.reads
                continue
            group = None
            units.append(unit)
        return units

    def _statement(self, nid: NodeId, name: str) -> _Unit:
        op, args, _ = self.graph.nodes[nid]
        reads = set(self._reads(nid))
        if op not in STATEMENTS:  # a scalar op on scalars
            refs = [self.namer.ref(a) for a in args]
            whole = whole_exponent(self.graph, op, args)
            if whole is not None:
                refs[whole[0]] = str(whole[1])
            text = template(op, "numba", whole is not None).format(*refs)
            return _Unit(None, body=[f"{name} = {text}"], reads=reads)
        ints: dict[str, str] = {}
        for k, a in enumerate(args):
            value = self.graph.const_value(a)
            if value is not None:
                b = bound(value)
                ints[f"i{k}"] = "0" if b is None else str(b)
                ints[f"s{k}"] = "" if b is None else str(b)
        refs = [self.namer.ref(a) for a in args]
        text = STATEMENTS[op].format(*refs, o=name, **ints)
        stored = self._vector(nid) and self.kind.get(nid) == "stored"
        before: list[Line] = [("slot", nid)] if stored else []
        return _Unit(None, before=before, body=text.splitlines(), stored={nid} if stored else set(),
                     reads=reads)  # fmt: skip

    def _loop(self, nid: NodeId, name: str) -> _Unit:
        """The loop computing pointwise node `nid` into its array, or reducing argument 0."""
        op, args, _ = self.graph.nodes[nid]
        reduce = LOOP_REDUCTIONS.get(op)
        over = args[0] if reduce is not None else nid
        unit = _Unit(self.shape.of(over), length=self._length(over))
        env: dict[tuple[NodeId, str], str] = {}
        unit.body = self._elements(over, unit, env, include_top=reduce is None)
        x = self._element(over, "__k", env, unit)
        if reduce is None:
            unit.before.append(("slot", nid))
            unit.stored.add(nid)
            unit.body.append(f"{name}[__k] = {x}")
        else:
            unit.before.append(f"{name} = {reduce[0]}")
            unit.reduced.add(nid)
            unit.body += reduce[1].format(acc=name, x=x).splitlines()
        return unit

    def _place(self, units: list[_Unit]) -> list[str]:
        """Give every stored array its place (a scratch array of its length, reused once
        dead, or its row of the output), and print the units."""
        nodes = self.graph.nodes
        owner: dict[NodeId, NodeId] = {}  # a view -> the array it looks into
        for nid in self.program.order:
            if self.kind.get(nid) == "view" and nodes[nid].args:
                a = nodes[nid].args[0]
                owner[nid] = owner.get(a, a)
        last: dict[NodeId, int] = {}
        for pos, unit in enumerate(units):
            for a in unit.reads:
                last[owner.get(a, a)] = pos
        wanted = self.program.wanted
        self.into: dict[NodeId, int] = {}  # stored outputs -> the output they are written to
        for k, o in enumerate(self.outputs):
            if o is not None and self.kind.get(o) == "stored" and o not in self.into:
                self.into[o] = k
        self.scratch: list[int] = []  # each scratch array's length (its `lens` index)
        place: dict[NodeId, str] = {}
        free: dict[int, list[str]] = {}
        lines: list[str] = []
        for pos, unit in enumerate(units):
            for nid in sorted(unit.stored):
                length = self._length(nid)
                if nid in self.into:
                    place[nid] = f"__out{self.into[nid]}[__p]"
                    continue
                pool = free.setdefault(int(length[3:]), [])
                if pool:
                    place[nid] = pool.pop()
                else:
                    place[nid] = f"__s{len(self.scratch)}[:{length}]"
                    self.scratch.append(int(length[3:]))
            lines.extend(
                line if isinstance(line, str) else self._slot_line(line[1], place)
                for line in unit.before
            )
            if unit.cls is not None:
                lines.append(f"for __k in range({unit.length}):")
                lines += [f"    {line}" for line in unit.body]
            else:
                lines += unit.body
            for a in {owner.get(r, r) for r in unit.reads} | unit.stored:
                if last.get(a, -1) <= pos and a in place and a not in self.into and a not in wanted:
                    free.setdefault(int(self._length(a)[3:]), []).append(place.pop(a))
        return lines

    def _slot_line(self, nid: NodeId, place: dict[NodeId, str]) -> str:
        return f"{self.namer.names[nid]} = {place[nid]}"


def vector_standalone(module: VectorModule, graph: Graph, params: Sequence[NodeId]) -> str:
    """`module`'s text plus `evaluate(*inputs)`: the outputs at one point or a batch (a vector
    input's elements on its last axis; batch axes broadcast), with the lengths worked out as
    the caller of `drive` does (but not checked: that is adcompile's job)."""
    nodes, shape = graph.nodes, shapes(graph)
    needed, stack = set(), list(module.sources)
    while stack:  # the sources and the sources their slices are slices of
        s = stack.pop()
        if s not in needed:
            needed.add(s)
            if nodes[s].args:
                parent = shape.source[nodes[s].args[0]]
                assert parent is not None
                stack.append(parent)
    where = {p: k for k, p in enumerate(params)}
    lines = ["", "", "def evaluate(*inputs):"]
    lines.append('    """The outputs (float64 arrays) at one point or a batch of points."""')
    lines.append(f"    vector = {tuple(module.vector_params)!r}")
    lines += [
        "    arrays = [np.asarray(a, dtype=np.float64) for a in inputs]",
        "    heads = [a.shape[:-1] if v else a.shape for a, v in zip(arrays, vector)]",
        "    batch = np.broadcast_shapes(*heads)",
        "    size = int(np.prod(batch))",
    ]
    for s in sorted(needed):  # a slice's source comes before it (smaller id)
        if s in where:
            lines.append(f"    n{s} = arrays[{where[s]}].shape[-1]")
        else:
            parent, lo, hi, st = nodes[s].args
            bounds = ", ".join(str(bound(float(nodes[b].attr))) for b in (lo, hi, st))  # type: ignore[arg-type]
            lines.append(
                f"    n{s} = len(range(*slice({bounds}).indices(n{shape.source[parent]})))"
            )
    lines.append(
        f"    lens = np.array([{', '.join(f'n{s}' for s in module.sources)}], dtype=np.int64)"
    )
    lines += [
        "    ins = [",
        "        np.broadcast_to(a, batch + a.shape[-1:] if v else batch).copy()",
        "        .reshape((size, a.shape[-1]) if v else (size,))",
        "        for a, v in zip(arrays, vector)",
        "    ]",
        f"    outs = [np.empty((size, lens[j])) if j is not None else np.empty(size) for j in "
        f"{tuple(module.output_sources)!r}]",
        f"    scratch = np.empty(max(1, sum(int(lens[j]) for j in {tuple(module.scratch)!r})))",
        "    if size:",
        "        drive(size, np.ones(len(ins), dtype=np.int64), lens, scratch, *ins, *outs)",
        "    return tuple(o.reshape(batch + o.shape[1:]) for o in outs)",
    ]
    return plain_math(module.source) + "\n".join(lines) + "\n"


__all__ = ["VectorModule", "vector_module", "vector_standalone"]
