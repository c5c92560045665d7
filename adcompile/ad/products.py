"""Derivative products as graphs: what each evaluator computes, built from the two AD passes.

`derive(program, kind, wrt)` copies the program's graph and appends what `kind` needs:

| kind             | seeds (extra inputs)    | kernel outputs                  | pass         |
|------------------|-------------------------|---------------------------------|--------------|
| `value`          |                         | the values                      |              |
| `value_and_grad` |                         | value, d value / d w            | reverse      |
| `grad`           |                         | value, d value / d w            | reverse      |
| `jvp`            | a tangent `d_w` per wrt | the values, their tangents      | forward      |
| `vjp`            | a seed `b_o` per output | the values, sum_o b_o d o / d w | reverse      |
| `jacobian`       |                         | d o / d w, row by row           | the cheaper  |
| `hessian`        |                         | d2 value / d w_i d w_j, by rows | fwd over rev |
| `hvp`            | a tangent `d_w` per wrt | H d, one per wrt                | fwd over rev |

Seeds are input nodes whose names carry `ir.node.SEED_MARK` (no language name does), so they
never collide with the user's inputs. `Derived.layout` says how the flat kernel outputs form
the result: nested tuples of output indices (a `Grad` level is marked by the wrt names), or a
matrix shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from adcompile.ad.forward import forward
from adcompile.ad.reverse import reverse
from adcompile.ir.graph import Graph, NodeId, Parsed, building
from adcompile.ir.node import SEED_MARK
from adcompile.ir.shapes import shapes

Kind = Literal["value", "value_and_grad", "grad", "jvp", "vjp", "jacobian", "hessian", "hvp"]


@dataclass(frozen=True)
class Grads:
    """Layout marker: these output indices form a gradient (a `Grad`, or bare when `bare`)."""

    indices: tuple[int, ...]
    bare: bool


@dataclass(frozen=True)
class Matrix:
    """Layout marker: the outputs, row-major, form a (rows, cols) matrix per point."""

    rows: int
    cols: int


Layout = Any  # an int, a tuple of layouts, Grads or Matrix


@dataclass
class Derived:
    """A graph with everything an evaluator computes, and how to present it."""

    graph: Graph
    params: tuple[NodeId, ...]  # kernel inputs: the program's inputs, then any seeds
    seeds: tuple[str, ...]  # what each seed input is for (wrt or output names)
    outputs: list[NodeId | None]
    grad_of: list[NodeId | None]  # for gradient outputs: the input it is the derivative of
    layout: Layout
    what: str  # for the header comment: "value and gradient with respect to x, y"
    labels: tuple[str, ...] = ()  # LaTeX of what each output is (`latex()`), set by derive
    names: tuple[str, ...] = ()  # the same in plain text (`dvalue/dx`), set by derive


_GREEK = frozenset(
    ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa")
) | frozenset(("lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi"))
_GREEK |= frozenset(("chi", "psi", "omega"))


def tex_name(name: str) -> str:
    """A name in LaTeX: `w0` -> `w_{0}`, `sigma_1` -> `\\sigma_{1}`, `value` -> `f`."""
    if name == "value":
        return "f"
    match = re.fullmatch(r"([A-Za-z]+?)_?(\d+)|([A-Za-z]+)_(\w+)", name)
    if match is None:
        base, sub = name, ""
    else:
        base, sub = (match[1], match[2]) if match[1] else (match[3], match[4])
    base = "\\" + base if base in _GREEK else base.replace("_", "\\_")
    return base + (f"_{{{sub.replace('_', ' ')}}}" if sub else "")


def _tex_partial(of: str, *wrt: str) -> str:
    if len(wrt) == 1:
        return f"\\frac{{\\partial {of}}}{{\\partial {wrt[0]}}}"
    below = (
        f"\\partial {wrt[0]}^{{2}}"
        if wrt[0] == wrt[1]
        else f"\\partial {wrt[0]} \\partial {wrt[1]}"
    )
    return f"\\frac{{\\partial^{{2}} {of}}}{{{below}}}"


@dataclass(frozen=True)
class Style:
    """How output names are spelled: a name, d of/d w (and second), tangent, adjoint, H v."""

    name: Callable[[str], str]
    partial: Callable[..., str]  # (of, w) or (of, a, b)
    tangent: Callable[[str], str]
    adjoint: Callable[[str], str]
    hvp: Callable[[str], str]


#: Plain text (graph labels, the CLI) and LaTeX (`latex()`).
PLAIN: Final = Style(
    name=lambda n: n,
    partial=lambda of, *w: ("d" if len(w) == 1 else "d2") + of + "/" + "".join(f"d{x}" for x in w),
    tangent=lambda o: f"d_{o}",
    adjoint=lambda w: f"b_{w}",
    hvp=lambda w: f"(H v)_{w}",
)
TEX: Final = Style(
    name=tex_name,
    partial=_tex_partial,
    tangent=lambda o: f"\\dot{{{o}}}",
    adjoint=lambda w: f"\\bar{{{w}}}",
    hvp=lambda w: f"(H \\dot{{x}})_{{{w}}}",
)


def labels(
    kind: str, outputs: Sequence[str], wrt: Sequence[str], style: Style = TEX
) -> tuple[str, ...]:
    """The names of the kernel outputs of evaluator `kind`, in order, in `style`."""
    outs = [style.name(o) for o in outputs]
    ws = [style.name(w) for w in wrt]
    f, d = outs[0], style.partial
    table: dict[str, Callable[[], list[str]]] = {  # built only for `kind` (Hessians: n^2)
        "value": lambda: outs,
        "value_and_grad": lambda: [f, *(d(f, w) for w in ws)],
        "grad": lambda: [f, *(d(f, w) for w in ws)],
        "jvp": lambda: [*outs, *(style.tangent(o) for o in outs)],
        "vjp": lambda: [*outs, *(style.adjoint(w) for w in ws)],
        "jacobian": lambda: [d(o, w) for o in outs for w in ws],
        "hessian": lambda: [d(f, a, b) for a in ws for b in ws],
        "hvp": lambda: [style.hvp(w) for w in ws],
    }
    return tuple(table[kind]())


def _values(program: Parsed, first: int = 0) -> Layout:
    n = len(program.outputs)
    return first if n == 1 else tuple(range(first, first + n))


def _seed_inputs(
    graph: Graph, prefix: str, names: Sequence[str], like: Sequence[NodeId]
) -> list[NodeId]:
    """Seed inputs, one per name; each has the shape of its node in `like` (a vector's
    seed is a vector of its length)."""
    sources = [shapes(graph).source[n] for n in like] if graph.vectors else [None] * len(names)
    seeds = []
    for name, source in zip(names, sources):
        seed = graph.input(f"{SEED_MARK}{prefix}_{name}")
        if source is not None:  # before any pass asks for the seed's shape
            graph.vectors[seed] = (source, None)
        seeds.append(seed)
    return seeds


def _listed(wrt: Sequence[str]) -> str:
    return ", ".join(wrt) if len(wrt) <= 8 else f"{len(wrt)} inputs"


def _value(program: Parsed, wrt: tuple[str, ...], bare: bool) -> Derived:
    graph = program.graph.copy()
    outputs: list[NodeId | None] = list(program.outputs)
    return Derived(
        graph, program.input_ids, (), outputs, [None] * len(outputs), _values(program), "value"
    )


def _gradient(kind: str) -> Callable[[Parsed, tuple[str, ...], bool], Derived]:
    def build(program: Parsed, wrt: tuple[str, ...], bare: bool) -> Derived:
        graph = program.graph.copy()
        ids = _ids(program, wrt)
        outputs = [program.outputs[0], *reverse(graph, program.outputs[0], ids)]
        grads = Grads(tuple(range(1, 1 + len(wrt))), bare)
        layout = (0, grads) if kind == "value_and_grad" else grads
        what = ("value and gradient" if kind == "value_and_grad" else "gradient") + (
            " with respect to " + _listed(wrt)
        )
        return Derived(graph, program.input_ids, (), outputs, [None, *ids], layout, what)

    return build


def _jvp(program: Parsed, wrt: tuple[str, ...], bare: bool) -> Derived:
    graph = program.graph.copy()
    ids = _ids(program, wrt)
    dots = _seed_inputs(graph, "d", wrt, ids)
    values = list(program.outputs)
    tangents = forward(graph, dict(zip(ids, dots)), values)
    n = len(values)
    layout = (_values(program), _values(program, n))
    what = "value and tangent (forward mode) along directions of " + _listed(wrt)
    return Derived(
        graph,
        (*program.input_ids, *dots),
        wrt,
        [*values, *tangents],
        [None] * (2 * n),
        layout,
        what,
    )


def _vjp(program: Parsed, wrt: tuple[str, ...], bare: bool) -> Derived:
    graph = program.graph.copy()
    ids = _ids(program, wrt)
    names = _unique(program.output_names)
    bars = _seed_inputs(graph, "b", names, program.outputs)
    seeds: dict[NodeId, NodeId] = {}
    for out, seed in zip(program.outputs, bars):
        seeds[out] = graph.apply("add", seeds[out], seed) if out in seeds else seed
    values = list(program.outputs)
    n = len(values)
    outputs = [*values, *reverse(graph, seeds, ids)]
    layout = (_values(program), Grads(tuple(range(n, n + len(wrt))), bare))
    what = "value and vector-Jacobian product with respect to " + _listed(wrt)
    return Derived(
        graph, (*program.input_ids, *bars), names, outputs, [None] * n + ids, layout, what
    )


def _jacobian(program: Parsed, wrt: tuple[str, ...], bare: bool) -> Derived:
    graph = program.graph.copy()
    ids = _ids(program, wrt)
    values = list(program.outputs)
    one = graph.const(1.0)
    if len(ids) < len(values):  # a forward sweep per column
        columns = [forward(graph, {w: one}, values) for w in ids]
        entries = [columns[j][i] for i in range(len(values)) for j in range(len(ids))]
    else:  # a reverse sweep per row
        entries = [e for v in values for e in reverse(graph, v, ids)]
    what = "Jacobian with respect to " + _listed(wrt)
    layout = Matrix(len(values), len(ids))
    return Derived(graph, program.input_ids, (), entries, [None] * len(entries), layout, what)


def _hessian(program: Parsed, wrt: tuple[str, ...], bare: bool) -> Derived:
    graph, ids, along = _over_gradient(program, wrt)
    one = graph.const(1.0)
    columns = [along({w: one}) for w in ids]
    entries = [columns[j][i] for i in range(len(ids)) for j in range(len(ids))]
    what = "Hessian (forward over reverse) with respect to " + _listed(wrt)
    layout = Matrix(len(ids), len(ids))
    return Derived(graph, program.input_ids, (), entries, [None] * len(entries), layout, what)


def _hvp(program: Parsed, wrt: tuple[str, ...], bare: bool) -> Derived:
    graph, ids, along = _over_gradient(program, wrt)
    dots = _seed_inputs(graph, "d", wrt, ids)
    products = along(dict(zip(ids, dots)))
    what = "Hessian-vector product (forward over reverse) with respect to " + _listed(wrt)
    layout = Grads(tuple(range(len(wrt))), bare)
    return Derived(
        graph, (*program.input_ids, *dots), wrt, products, [None] * len(wrt), layout, what
    )


def _over_gradient(
    program: Parsed, wrt: tuple[str, ...]
) -> tuple[Graph, list[NodeId], Callable[[dict[NodeId, NodeId]], list[NodeId | None]]]:
    """A copy of the graph with the gradient appended, and forward mode over that gradient:
    `along(seeds)` gives the tangent of each gradient entry (a Hessian column for a unit
    seed), None where it is identically zero."""
    graph = program.graph.copy()
    ids = _ids(program, wrt)
    grads = reverse(graph, program.outputs[0], ids)
    moving = [g for g in grads if g is not None]

    def along(seeds: dict[NodeId, NodeId]) -> list[NodeId | None]:
        return _through(forward(graph, seeds, moving), grads)

    return graph, ids, along


def _unique(names: Sequence[str]) -> tuple[str, ...]:
    """Output names made distinct (two outputs may be one node, under one name)."""
    seen: set[str] = set()
    out = []
    for k, name in enumerate(names):
        name = name if name not in seen else f"{name}_{k}"
        seen.add(name)
        out.append(name)
    return tuple(out)


def _through(found: list[NodeId | None], wanted: list[NodeId | None]) -> list[NodeId | None]:
    """`found` (for the non-None entries of `wanted`) spread back over `wanted`."""
    it = iter(found)
    return [next(it) if w is not None else None for w in wanted]


def _ids(program: Parsed, wrt: Sequence[str]) -> list[NodeId]:
    where = dict(zip(program.inputs, program.input_ids))  # a dict: linear in the inputs
    return [where[w] for w in wrt]


BUILDERS: dict[str, Callable[[Parsed, tuple[str, ...], bool], Derived]] = {
    "value": _value,
    "value_and_grad": _gradient("value_and_grad"),
    "grad": _gradient("grad"),
    "jvp": _jvp,
    "vjp": _vjp,
    "jacobian": _jacobian,
    "hessian": _hessian,
    "hvp": _hvp,
}

#: Kinds that need a program with a single output.
SINGLE_OUTPUT = frozenset({"value_and_grad", "grad", "hessian", "hvp"})


def derive(program: Parsed, kind: Kind, wrt: tuple[str, ...], bare: bool) -> Derived:
    """The graph and layout of evaluator `kind` (see the module docstring)."""
    with building():
        derived = BUILDERS[kind](program, wrt, bare)
    outputs = program.output_names
    return replace(
        derived,
        labels=labels(kind, outputs, wrt, TEX),
        names=labels(kind, outputs, wrt, PLAIN),
    )
