"""Printers: IR to readable Python source and to the Numba module that is compiled.

Both targets emit flat SSA, one assignment per node (nested expressions hit CPython's parser
limits), in id order, which is topological. Names: inputs and assigned values keep the user's
names (made safe: keywords, builtins and generated-name patterns get a trailing `_`), other
values are `t0, t1, ...` and the adjoint of `v` is `b_v`. Adjoint lines come in blocks headed
by the forward statement they differentiate; a value made by a stability rewrite gets a
`# stable rewrite: ...` line just above it (`graph.notes`). Target syntax lives in the
template table `PYTHON`, one entry per op (a test checks it covers `OPS`). User text never
reaches the code: only names that match the identifier grammar and numbers printed by
`repr(float)`.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from adcompile.ir.graph import Graph, NodeId
from adcompile.ir.ops import OPS

#: Veltkamp's split of x: its high 26 bits (x - high is exact, and so is high * high).
_AH: Final = "(134217729.0 * {0} - (134217729.0 * {0} - {0}))"

# fmt: off
PYTHON: Final[dict[str, str]] = {
    "add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0} * {1}", "div": "{0} / {1}",
    "neg": "-{0}", "pow": "{0} ** {1}", "mul0": "0.0 if {0} == 0.0 else {0} * {1}",
    "lt": "1.0 if {0} < {1} else 0.0", "le": "1.0 if {0} <= {1} else 0.0",
    "gt": "1.0 if {0} > {1} else 0.0", "ge": "1.0 if {0} >= {1} else 0.0",
    "eq": "1.0 if {0} == {1} else 0.0", "ne": "1.0 if {0} != {1} else 0.0",
    "and": "1.0 if {0} != 0.0 and {1} != 0.0 else 0.0",
    "or": "1.0 if {0} != 0.0 or {1} != 0.0 else 0.0",
    "not": "1.0 if {0} == 0.0 else 0.0",
    "where": "{1} if {0} != 0.0 else {2}",
    "sin": "math.sin({0})", "cos": "math.cos({0})", "tan": "math.tan({0})",
    "asin": "math.asin({0})", "acos": "math.acos({0})", "atan": "math.atan({0})",
    "atan2": "math.atan2({0}, {1})",
    "sinh": "math.sinh({0})", "cosh": "math.cosh({0})", "tanh": "math.tanh({0})",
    # 1/cosh(x)^2 as 4t/(1+t)^2, t = exp(-2|x|) (ops.py); LLVM computes the exp once
    "sech2": "4.0 * math.exp(-2.0 * abs({0})) / (1.0 + math.exp(-2.0 * abs({0}))) ** 2",
    "asinh": "math.asinh({0})", "acosh": "math.acosh({0})", "atanh": "math.atanh({0})",
    "exp": "math.exp({0})", "expm1": "math.expm1({0})", "log": "math.log({0})",
    "log1p": "math.log1p({0})", "log2": "math.log2({0})", "log10": "math.log10({0})",
    "sqrt": "math.sqrt({0})", "cbrt": "np.cbrt({0})",
    "erf": "math.erf({0})", "erfc": "math.erfc({0})", "hypot": "math.hypot({0}, {1})",
    # exp(-x^2) from x^2 = hi + lo exactly (ops._expmx2: Veltkamp's split of x, a*b - hi
    # exact); past |x| = 28 it is 0 (and the split could overflow)
    "expmx2": "math.exp(-({0} * {0})) * (1.0 - ((" + _AH + " * " + _AH + " - {0} * {0}) + ({0}"
              " - " + _AH + ") * (" + _AH + " + {0}))) if abs({0}) < 28.0 else "
              "math.exp(-({0} * {0}))",
    "one_minus_sq": "(1.0 - {0}) * (1.0 + {0})",
    # x/hypot(x, y), 0 at the origin; the hypot is the one hypot's own template computes
    "hypot_ratio": "0.0 if math.hypot({0}, {1}) == 0.0 else {0} / math.hypot({0}, {1})",
    # sigmoid, its slope and softplus all from t = exp(-|x|), computed unconditionally first
    # so that LLVM computes it once for the value and every derivative (the branch's exp is
    # the same call, dominated by the first); sigmoid = 1/(1 + t), times t where x < 0
    "sigmoid": "(1.0 / (1.0 + math.exp(-abs({0})))) * (1.0 if {0} >= 0.0 else "
               "math.exp(-abs({0})))",
    "sigmoid_slope": "math.exp(-abs({0})) / (1.0 + math.exp(-abs({0}))) ** 2",
    # the base-2 family (logaddexp2' and its derivatives) from t = 2^-|x|, the same way
    "sigmoid2": "(1.0 / (1.0 + 2.0 ** -abs({0}))) * (1.0 if {0} >= 0.0 else 2.0 ** -abs({0}))",
    "sigmoid2_slope": "2.0 ** -abs({0}) / (1.0 + 2.0 ** -abs({0})) ** 2",
    "softplus": "math.log1p(math.exp(-abs({0}))) + np.maximum({0}, 0.0)",
    # NumPy's npy_logaddexp / npy_logaddexp2: a tie (equal infinities too) is a + log(2)
    # (a + 1); else max + log1p(exp(-|a - b|)); NaN propagates through np.maximum
    "logaddexp": "{0} + 0.6931471805599453 if {0} == {1} else np.maximum({0}, {1}) + "
                 "math.log1p(math.exp(-abs({0} - {1})))",
    "logaddexp2": "{0} + 1.0 if {0} == {1} else np.maximum({0}, {1}) + "
                  "math.log1p(2.0 ** -abs({0} - {1})) * 1.4426950408889634",
    # NumPy's minimum/maximum propagate NaN (the builtins would not)
    "abs": "abs({0})", "relu": "np.maximum({0}, 0.0)",
    "min": "np.minimum({0}, {1})", "max": "np.maximum({0}, {1})",
    "sign": "np.sign({0})", "floor": "np.floor({0})", "ceil": "np.ceil({0})",
    "stop_gradient": "{0}",
}
# fmt: on

#: The ops as NumPy expressions that work on arrays and scalars alike (the standalone module
#: `module_source` writes), derived from the scalar templates: `math.f` -> `np.f`, and
#: `a if c else b` -> `np.where(c, a, b)`; NumPy spells these functions differently.
_NUMPY_NAMES: Final[dict[str, str]] = {
    "asin": "np.arcsin({0})", "acos": "np.arccos({0})", "atan": "np.arctan({0})",
    "atan2": "np.arctan2({0}, {1})", "asinh": "np.arcsinh({0})", "acosh": "np.arccosh({0})",
    "atanh": "np.arctanh({0})", "erf": "_erf({0})", "erfc": "_erfc({0})",
    "abs": "np.abs({0})", "pow": "np.power({0}, {1})",
    "sigmoid": "(1.0 / (1.0 + np.exp(-np.abs({0})))) * np.where({0} >= 0.0, 1.0, "
               "np.exp(-np.abs({0})))",
    "sigmoid2": "(1.0 / (1.0 + 2.0 ** -np.abs({0}))) * np.where({0} >= 0.0, 1.0, "
                "2.0 ** -np.abs({0}))",
}  # fmt: skip
_CONDITIONAL: Final = re.compile(r"^(.*) if (.*) else (.*)$")


def _numpy_template(text: str) -> str:
    """A scalar template as a NumPy one (see `NUMPY`)."""
    match = _CONDITIONAL.match(text)
    if match is None:
        return _numpy_calls(text)
    taken, cond, other = (_numpy_calls(part) for part in match.groups())
    for word, op in ((" and ", " & "), (" or ", " | ")):
        if word in cond:
            cond = op.join(f"({part})" for part in cond.split(word))
    return f"np.where({cond}, {taken}, {other})"


def _numpy_calls(text: str) -> str:
    """`math.f(` -> `np.f(` and the builtin `abs(` -> `np.abs(` (not inside `np.abs(`)."""
    return _BUILTIN_ABS.sub("np.abs(", text.replace("math.", "np."))


_BUILTIN_ABS: Final = re.compile(r"(?<![\w.])abs\(")


NUMPY: Final[dict[str, str]] = {
    op: _NUMPY_NAMES.get(op) or _numpy_template(text) for op, text in PYTHON.items()
}

#: One op in the formula language, for people (trace tables, graph labels, comments):
#: the infix ops, and `name(args)` for the rest (`formula_text`).
FORMULA: Final[dict[str, str]] = {
    "add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0} * {1}", "div": "{0} / {1}",
    "neg": "-{0}", "pow": "{0}^{1}", "mul0": "{0} * {1}",
    "lt": "{0} < {1}", "le": "{0} <= {1}", "gt": "{0} > {1}", "ge": "{0} >= {1}",
    "eq": "{0} == {1}", "ne": "{0} != {1}", "and": "{0} and {1}", "or": "{0} or {1}",
    "not": "not {0}",
}  # fmt: skip


def formula_text(op: str, args: Sequence[str]) -> str:
    """One node as formula-language text: `a * b`, `exp(e)`, `where(c, a, b)`."""
    template = FORMULA.get(op)
    return template.format(*args) if template else f"{op}({', '.join(args)})"


#: Arguments printed as integer literals when they are small whole constants: Numba turns
#: `x ** 4` into multiplications but calls the general pow() for `x ** 4.0` (~30x slower).
#: Negative exponents stay float: Numba's integer power raises ZeroDivisionError at x = 0.
#: The comment heading each run of lines a pass made, by the pass's tag.
SECTIONS: Final[dict[str, str]] = {
    "adjoint": "# reverse: b_v is the derivative of the output with respect to v",
    "tangent": "# forward mode: d_v is the derivative of v along the seed direction",
}
INTEGER_ARGS: Final[dict[str, int]] = {"pow": 1}
MAX_INTEGER_POWER: Final = 64

_RESERVED: Final = frozenset(
    set(keyword.kwlist)
    | set(keyword.softkwlist)
    | set(dir(builtins))
    | {"math", "np", "numba", "batch", "n", "i", "r", "at", "out"}
    | {"value", "grad", "value_and_grad"}
)
_GENERATED: Final = re.compile(r"^(t\d+|b_.*|d_.*|in\d+)$")
#: Input nodes whose name starts with this are seeds a pass made (tangents `'d_x`, adjoint
#: seeds `'b_f`): printed without it. No name from the language starts with it.
SEED_MARK: Final = "'"
_MAX_NAME: Final = 40


def literal(value: float) -> str:
    """A float as Python source: `2.0`, `(-0.5)`, `math.inf`, `math.nan`."""
    if math.isnan(value):
        return "math.nan"
    if math.isinf(value):
        return "math.inf" if value > 0 else "(-math.inf)"
    text = repr(value)
    return f"({text})" if text.startswith("-") else text


def safe_name(name: str) -> str:
    """A user name made safe as a Python identifier that cannot clash with generated ones."""
    if name in _RESERVED or _GENERATED.match(name) or name.startswith("__"):
        return name + "_"
    return name


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
        node = self.graph.nodes[nid]
        return literal(float(node.attr)) if node.op == "const" else self.names[nid]  # type: ignore[arg-type]

    def define(self, nid: NodeId) -> str:
        user = self.graph.names.get(nid)
        primal = self.graph.bar.get(nid)
        of = self.graph.dot.get(nid)
        if user is not None and len(user) <= _MAX_NAME:
            name = safe_name(user)
        elif nid not in self.graph.origin:  # a forward value, even if it is also a derivative
            name, self.temps = f"t{self.temps}", self.temps + 1
        elif primal is not None and primal in self.names:
            name = "b_" + self.names[primal].rstrip("_")
        elif of is not None and of in self.names:
            name = "d_" + self.names[of].rstrip("_")
        else:
            name, self.temps = f"t{self.temps}", self.temps + 1
        self.names[nid] = self.claim(name)
        return self.names[nid]


def build_kernel(
    graph: Graph,
    inputs: Sequence[NodeId],
    outputs: Sequence[NodeId | None],
    grad_of: Sequence[NodeId | None] = (),
    templates: dict[str, str] = PYTHON,
) -> Kernel:
    """Schedule and name the nodes that `outputs` need (None outputs are the constant 0).

    `grad_of[j]`, when given, is the input whose derivative output j is: where that value
    already has another name, an alias line `b_x = ...` makes the returned names say so.
    """
    namer = Namer(graph, inputs)
    live = graph.live([o for o in outputs if o is not None])
    lines: list[str] = []
    text: dict[NodeId, str] = {}  # the statement that computed each emitted node
    section = ""
    group: tuple[str, NodeId] | None = None
    uses_np = False
    for nid, node in enumerate(graph.nodes):
        if not live[nid] or not node.args:
            continue
        template = templates[node.op]
        uses_np = uses_np or "np." in template
        rhs = template.format(*_operands(graph, namer, node.op, node.args))
        origin = graph.origin.get(nid)
        if origin is None and section != "forward":
            section = "forward"
            lines.append("# forward")
        if origin is not None and section != origin[0]:
            section = origin[0]
            lines.append(SECTIONS[section])
        if origin is not None and origin != group:
            group = origin
            of = origin[1]
            lines.append(f"# from {text.get(of) or _unemitted(graph, namer, of)}")
        note = graph.notes.get(nid)
        if note is not None:
            lines.append(f"# stable rewrite: {note}")
        name = namer.define(nid)
        statement = f"{name} = {rhs}"
        text[nid] = statement
        step = graph.steps.get(nid)
        if step is not None:  # the chain-rule factor this line multiplies by
            of, arg, partial = step
            statement += f"  # d {_label(graph, namer, of)} / d {_label(graph, namer, arg)}"
            statement += f" = {step_text(graph, namer, partial, origin)}"
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


#: Binding strength of the infix ops in formula text (function calls and leaves bind tightest).
PRECEDENCE: Final[dict[str, int]] = {
    "or": 1, "and": 2, "not": 3, "lt": 4, "le": 4, "gt": 4, "ge": 4, "eq": 4, "ne": 4,
    "add": 5, "sub": 5, "mul": 6, "div": 6, "mul0": 6, "neg": 7, "pow": 8,
}  # fmt: skip
_ATOM: Final = 10


def _label(graph: Graph, namer: Namer, nid: NodeId) -> str:
    """A node's name in the code; for one this kernel does not compute, the name it would
    have as a derivative (`b_x`), else `%id`."""
    if nid in namer.names:
        return namer.names[nid]
    for prefix, table in (("b_", graph.bar), ("d_", graph.dot)):
        if nid in graph.origin and table.get(nid) in namer.names:
            return prefix + namer.names[table[nid]].rstrip("_")
    return _number(graph, nid) or f"%{nid}"


def _number(graph: Graph, nid: NodeId) -> str | None:
    value = graph.const_value(nid)
    if value is None:
        return None
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else literal(value)


def step_text(
    graph: Graph, namer: Namer, root: NodeId, group: tuple[str, NodeId] | None, depth: int = 4
) -> str:
    """`root` in formula syntax, for a comment: nodes the same pass step made (`group`) are
    spelled out up to `depth` levels, others are referred to by name."""
    order: list[tuple[NodeId, int]] = []
    stack = [(root, 0)]
    while stack:  # preorder, reversed below: arguments before their users (no recursion)
        nid, d = stack.pop()
        order.append((nid, d))
        if d < depth and graph.nodes[nid].args and graph.origin.get(nid) == group:
            stack.extend((a, d + 1) for a in graph.nodes[nid].args)
    done: dict[tuple[NodeId, int], tuple[str, int]] = {}
    for nid, d in reversed(order):
        node = graph.nodes[nid]
        if (nid, d) in done:
            continue
        if not (d < depth and node.args and graph.origin.get(nid) == group):
            leaf = _number(graph, nid) or _label(graph, namer, nid)
            signed = d > 0 and leaf.startswith("-")
            done[(nid, d)] = (f"({leaf})" if signed else leaf, _ATOM)
            continue
        prec = PRECEDENCE.get(node.op, _ATOM)
        parts = []
        for k, a in enumerate(node.args):
            t, p = done[(a, d + 1)]
            tight = prec == _ATOM or p > prec or (p == prec and k == 0 and node.op != "pow")
            parts.append(t if tight else f"({t})")
        done[(nid, d)] = (formula_text(node.op, parts), prec)
    return done[(root, 0)][0]


def _unemitted(graph: Graph, namer: Namer, nid: NodeId) -> str:
    """A node this kernel does not compute, as its formula over what it can name."""
    node = graph.nodes[nid]
    rhs = PYTHON[node.op].format(*(_label(graph, namer, a) for a in node.args))
    label = _label(graph, namer, nid)
    return (rhs if label.startswith("%") else f"{label} = {rhs}") + "  (not computed here)"


def _operands(graph: Graph, namer: Namer, op: str, args: Sequence[NodeId]) -> list[str]:
    refs = [namer.ref(a) for a in args]
    k = INTEGER_ARGS.get(op)
    if k is not None:
        value = graph.const_value(args[k])
        if value is not None and value.is_integer() and 0 <= value <= MAX_INTEGER_POWER:
            refs[k] = str(int(value))
    return refs


def header_comment(source: str, what: str, max_lines: int = 12, width: int = 90) -> list[str]:
    """Comment lines describing the generated code (the formula shown, shortened if long).

    User text appears only inside comment lines, and only printable text (else its repr).
    """
    from adcompile._version import __version__

    shown = []
    lines = source.splitlines()
    for line in lines[:max_lines]:
        text = line if line.isprintable() else repr(line)
        shown.append("#     " + (text if len(text) <= width else text[:width] + " ..."))
    if len(lines) > max_lines:
        shown.append(f"#     ... ({len(lines) - max_lines} more lines)")
    head = [f"# Generated by adcompile {__version__}: {what} of", "#"]
    return [*head, *shown, "#", "# Do not edit: regenerate it from the formula instead."]


def python_source(kernel: Kernel, fname: str, header: Sequence[str]) -> str:
    """The kernel as a readable, self-contained Python function."""
    imports = ["import math"] + (["", "import numpy as np"] if kernel.uses_np else [])
    return "\n".join([*header, *imports, "", "", *_function(kernel, fname, [])]) + "\n"


def numba_source(kernel: Kernel, fname: str, header: Sequence[str]) -> str:
    """The Numba module: the scalar kernel and parallel drivers over a batch of points.

    The scalar kernel `fname` has an explicit all-float64 signature: it is compiled once, on
    import, and rejects arrays with a `TypeError` instead of compiling new specialisations.
    The drivers read every input through `at` (a float, or an array element widened to
    float64), so Numba compiles one specialisation per scalar/array pattern of the inputs and
    inputs given as scalars stay loop invariants:

    - `batch(n, in0, ..., out0, ...)`: 1-D inputs of length n; writes output j of point i
      to `outj[i]` (outputs of any float dtype: float32 outputs are rounded once, on store);
    - `batch2(n, m, ...)`: the same over 2-D inputs and outputs (broadcast views with zero
      strides need no copy), parallel over the n rows;
    - `total(n, ...)` and `total2(n, m, ...)`: the sums over the points of every output, as a
      tuple (a fused reduction: no per-point arrays). Only their own additions may be
      reassociated (`fastmath={"reassoc"}`: ~2x faster sums); the kernel keeps IEEE order.
    """
    opts = 'cache=True, error_model="numpy"'
    signature = "(" + ", ".join("float64" for _ in kernel.params) + ",)"
    lines = [*header, "import math", "", "import numba", "import numpy as np", ""]
    lines += ["from adcompile.run._numba_rt import at, at2", "", ""]
    lines += _function(kernel, fname, [f'@numba.njit("{signature}", {opts})'])
    if kernel.params:
        for dims, reduce in ((1, False), (2, False), (1, True), (2, True)):
            # Reductions may reassociate their own additions (as any parallel sum does), so
            # LLVM can vectorise them; the kernel, compiled on its own, keeps strict IEEE.
            fast = ', fastmath={"reassoc"}' if reduce else ""
            lines += ["", "", f"@numba.njit(parallel=True, {opts}{fast})"]
            lines += _driver(kernel, fname, dims, reduce)
    return "\n".join(lines) + "\n"


def _driver(kernel: Kernel, fname: str, dims: int, reduce: bool) -> list[str]:
    """A prange loop calling the scalar kernel per point (see `numba_source`)."""
    ins = [f"in{k}" for k in range(len(kernel.params))]
    outs = [] if reduce else [f"out{j}" for j in range(len(kernel.returns))]
    sizes, index = (["n"], "i") if dims == 1 else (["n", "m"], "i, j")
    name = ("total" if reduce else "batch") + ("2" if dims == 2 else "")
    getter = "at" if dims == 1 else "at2"
    call = ", ".join(f"{getter}({a}, {index})" for a in ins)
    body = [f"def {name}({', '.join([*sizes, *ins, *outs])}):"]
    if reduce:
        body += [f"    acc{j} = 0.0" for j in range(len(kernel.returns))]
    body.append("    for i in numba.prange(n):")
    pad = "        "
    if dims == 2:
        body.append("        for j in range(m):")
        pad += "    "
    body.append(f"{pad}r = {fname}({call})")
    for j in range(len(kernel.returns)):
        body.append(f"{pad}acc{j} += r[{j}]" if reduce else f"{pad}out{j}[{index}] = r[{j}]")
    if reduce:
        accs = ", ".join(f"acc{j}" for j in range(len(kernel.returns)))
        body.append(f"    return {accs}{',' if len(kernel.returns) == 1 else ''}")
    return body


def _function(kernel: Kernel, fname: str, decorators: list[str]) -> list[str]:
    body = [("    " + line) for line in kernel.lines]
    ret = ", ".join(kernel.returns) + ("," if len(kernel.returns) == 1 else "")
    signature = f"def {fname}({', '.join(kernel.params)}):"
    return [*decorators, signature, *body, f"    return {ret}"]


def module_source(
    kernel: Kernel, fname: str, header: Sequence[str], numba_module: str | None = None
) -> str:
    """A standalone module: `kernel` (printed with `NUMPY` templates) as a function of NumPy
    arrays or numbers, needing only NumPy; or, given `numba_module` (`numba_source`'s text),
    that module made standalone (its helpers inlined) plus `evaluate`, a broadcasting
    wrapper around its batch driver. Both return a tuple of the kernel's outputs."""
    doc = f'"""{fname}(...) as generated by adcompile; see the comments above."""'
    if numba_module is not None:
        body = numba_module.replace(_RT_IMPORT, _RT_INLINE)
        n_out = len(kernel.returns)
        return body + _EVALUATE.format(n_out=n_out)
    params = ", ".join(kernel.params)
    lines = [*header, doc, "", "import math", "", "import numpy as np", ""]
    lines += [
        '_erf = np.vectorize(math.erf, otypes=["float64"])',
        '_erfc = np.vectorize(math.erfc, otypes=["float64"])',
        "",
        "",
        f"def {fname}({params}):",
        '    """Inputs: numbers or arrays (they broadcast); outputs: float64 arrays."""',
    ]
    lines += [f"    {p} = np.asarray({p}, dtype=np.float64)" for p in kernel.params]
    lines.append('    with np.errstate(all="ignore"):  # IEEE results (inf, nan), no warnings')
    lines += [f"        {line}" for line in kernel.lines]
    ret = ", ".join(r if r.isidentifier() else f"np.float64({r})" for r in kernel.returns)
    lines.append(f"    return ({ret}{',' if len(kernel.returns) == 1 else ''})")
    return "\n".join(lines) + "\n"


_RT_IMPORT: Final = "from adcompile.run._numba_rt import at, at2"
_RT_INLINE: Final = """from numba.core import types
from numba.extending import overload


def at(a, i):
    return np.float64(a[i] if hasattr(a, "__getitem__") else a)


def at2(a, i, j):
    return np.float64(a[i, j] if hasattr(a, "__getitem__") else a)


@overload(at)
def _at(a, i):
    if isinstance(a, types.Array):
        return lambda a, i: np.float64(a[i])
    return lambda a, i: np.float64(a)


@overload(at2)
def _at2(a, i, j):
    if isinstance(a, types.Array):
        return lambda a, i, j: np.float64(a[i, j])
    return lambda a, i, j: np.float64(a)"""
_EVALUATE: Final = '''

def evaluate(*inputs):
    """The outputs at broadcast inputs (numbers or arrays), as float64 arrays."""
    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in inputs))
    shape = arrays[0].shape if arrays else ()
    flat = [np.ascontiguousarray(a).reshape(-1) for a in arrays]
    size = flat[0].size if flat else 1
    outs = [np.empty(size) for _ in range({n_out})]
    batch(size, *flat, *outs)
    return tuple(o.reshape(shape) for o in outs)
'''


def check_tables() -> None:
    """Assert every op of the table has a template (printer totality)."""
    missing = set(OPS) - set(PYTHON)
    assert not missing, f"ops without a Python template: {sorted(missing)}"
    missing = set(OPS) - set(NUMPY)
    assert not missing, f"ops without a NumPy template: {sorted(missing)}"
