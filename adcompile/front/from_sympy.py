"""The SymPy bridge, both ways, and LaTeX.

- `to_sympy(graph, outputs)`: the SymPy expressions of some outputs of a graph (inputs become
  real `Symbol`s, every other node `OPS[op].sympy(...)`), or with `cse=True` a system of
  replacements `(symbol, expr)` plus the outputs, taken from the IR's own sharing (linear in
  the size of the graph, never `sympy.cse`).
- `latex(graph, outputs, labels)`: that system as a LaTeX `aligned` block.
- `from_sympy(expr)`: a SymPy expression (or several) as formula text in the language of
  `grammar/adcompile.lark`, with minimal parentheses; shared or long subexpressions become
  assignments `t0 = ...`, so the text stays linear in size and shallow.
- `sympy_expr_type(obj)`: whether `obj` is SymPy input for `from_sympy` (without importing
  SymPy).

Comparisons of Piecewise values (`where`, `relu`, 0/1 comparison results) are folded over
the branches while converting, as SymPy's own handling of a Piecewise inside a condition
(`as_set`, `simplify`) can take minutes or fail.

Every walk is a loop: the IR in id order, SymPy trees with an explicit post-order stack
memoised by object identity and hash-consed by (class, converted arguments), so DAG-shaped
and 10,000-level-deep expressions are fine. SymPy is imported only inside the functions.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from adcompile.errors import FormulaError
from adcompile.ir.graph import Graph, NodeId
from adcompile.ir.ops import CONSTANTS, OPS

#: In `to_sympy(cse=True)`, an expression nested deeper than this (in SymPy levels, estimated
#: from the op templates) becomes a replacement: SymPy's printers recurse over the tree.
MAX_SYMPY_DEPTH: Final = 16
#: In `from_sympy`, a subexpression whose text is longer than this becomes an assignment.
MAX_INLINE: Final = 80
#: In `from_sympy`, a subexpression used more than once is inlined anyway when its text is at
#: most this long (`x*y`, `sin(x)`): repeating it costs nothing, parsing interns it again.
MAX_REPEATED: Final = 12

_EXACT_INTEGER: Final = 2**53
# Sums up to this tree size and height print their terms in SymPy's order (see term_order).
_SMALL_SIZE: Final = 200
_SMALL_HEIGHT: Final = 16

# Precedence levels of the formula language, loosest first (see the grammar).
OR, AND, NOT, CMP, SUM, PROD, UNARY, POW, ATOM = range(9)


# --- IR -> SymPy ---------------------------------------------------------------------------


def _sympy_float(sp: Any, value: float) -> Any:
    """A finite float as a SymPy Float of exactly the same value, printed with its repr's digits."""
    mantissa = repr(value).lstrip("-").split("e")[0].replace(".", "").lstrip("0")
    return sp.Float(value, max(15, len(mantissa)))


def _sympy_constant(sp: Any, value: float) -> Any:
    """A float constant as a SymPy number: Integer when whole and exact, else Float, oo, nan."""
    if math.isnan(value):
        return sp.nan
    if math.isinf(value):
        return sp.oo if value > 0 else -sp.oo
    if value.is_integer() and abs(value) < _EXACT_INTEGER:
        return sp.Integer(int(value))
    return _sympy_float(sp, value)


def _walk(root: Any) -> list[tuple[Any, int]]:
    """Every node of a (small) SymPy tree with its depth, without recursion."""
    found, stack = [], [(root, 0)]
    while stack:
        expr, depth = stack.pop()
        found.append((expr, depth))
        stack.extend((a, depth + 1) for a in expr.args)
    return found


@cache
def _template_shape(op: str) -> tuple[tuple[int, ...], int]:
    """For `OPS[op].sympy`: how many times each argument occurs, and how deep at most."""
    import sympy

    dummies = [sympy.Symbol(f"_arg{k}") for k in range(OPS[op].arity)]
    template = OPS[op].sympy(sympy, *dummies)
    counts = [0] * len(dummies)
    depth = 0
    for expr, level in _walk(template):
        for k, d in enumerate(dummies):
            if expr == d:
                counts[k] += 1
                depth = max(depth, level)
    return tuple(counts), max(depth, 1)


@cache
def _template(op: str) -> tuple[tuple[Any, ...], Any]:
    """`OPS[op].sympy` applied to fresh dummies: (dummies, form)."""
    import sympy

    dummies = tuple(sympy.Dummy(f"arg{k}") for k in range(OPS[op].arity))
    return dummies, OPS[op].sympy(sympy, *dummies)


def _postorder(root: Any) -> list[Any]:
    """The distinct nodes of a small SymPy tree, children first (explicit stack)."""
    order: list[Any] = []
    seen: set[Any] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((a, False) for a in node.args)
    return order


def _compare(sp: Any, relation: Any, a: Any, b: Any) -> Any:
    """`relation(a, b)`, folded over the branches of Piecewise operands (one level each):
    `ITE(c1, relation(e1, b), ITE(c2, ...))`. SymPy itself rewrites a condition holding a
    Piecewise through `as_set` and `simplify`, which can take minutes, recurse without end or
    fail; comparisons of `where`, `relu` and of comparisons (0/1 indicators) are common."""

    def fold(value: Any, make: Callable[[Any], Any]) -> Any:
        if not isinstance(value, sp.Piecewise) or value.args[-1].cond is not sp.true:
            return make(value)
        out = make(value.args[-1].expr)
        for expr, cond in reversed(value.args[:-1]):
            out = sp.ITE(cond, make(expr), out)
        return out

    return fold(a, lambda u: fold(b, lambda v: relation(u, v)))


def _apply(sp: Any, op: str, args: Sequence[Any]) -> Any:
    """`OPS[op].sympy(sp, *args)`; where an argument is a Piecewise, the op's form is built on
    dummies and rebuilt with the arguments (walking only the small form, never into them),
    its comparisons folded over the Piecewise branches (see `_compare`). An indicator
    `Piecewise((1, C), (0, True))` tested with `!= 0` thus becomes C itself."""
    if not any(isinstance(a, sp.Piecewise) for a in args):
        return OPS[op].sympy(sp, *args)
    dummies, form = _template(op)
    built: dict[Any, Any] = dict(zip(dummies, args))
    for node in _postorder(form):
        if node in built:
            continue
        new = [built[a] for a in node.args]
        if isinstance(node, sp.core.relational.Relational):
            built[node] = _compare(sp, node.func, *new)
        else:
            built[node] = node.func(*new) if node.args else node
    return built[form]


def to_sympy(
    graph: Graph,
    outputs: Sequence[NodeId],
    names: Mapping[NodeId, str] | None = None,
    cse: bool = False,
) -> Any:
    """The outputs as SymPy expressions (only the nodes they depend on are converted).

    Inputs are `Symbol(name, real=True)`; whole constants below 2**53 are `Integer`s, other
    constants `Float`s of exactly the float's value (`oo`, `-oo`, `nan` for non-finite ones);
    every other node is `OPS[op].sympy(sympy, *args)`, except that comparisons of Piecewise
    values are folded over their branches (`_apply`): `where(x > 0, ...)` becomes
    `Piecewise((..., x > 0), ...)`, not a condition `Ne(Piecewise(...), 0)` that SymPy would
    send through `simplify`.

    With `cse=False`, returns the list of output expressions. With `cse=True`, returns
    `(replacements, exprs)` like `sympy.cse`: `(Symbol, expr)` pairs in dependency order and
    the output expressions in terms of them. A non-leaf node becomes a replacement when it is
    used twice or more (by live nodes or as outputs), when it has a user name in `names`
    (default `graph.names`) and is used by another node (its symbol takes that name), or when
    its expression would nest deeper than `MAX_SYMPY_DEPTH` (SymPy's printers recurse).
    Other replacements are `t0, t1, ...`, avoiding input and user names. The result is
    linear in the size of the graph.
    """
    import sympy

    outputs = list(outputs)
    live = graph.live(outputs)
    nodes = graph.nodes
    value: dict[NodeId, Any] = {}

    def leaf(nid: NodeId) -> Any:
        node = nodes[nid]
        if node.op == "const":
            return _sympy_constant(sympy, float(node.attr))  # type: ignore[arg-type]
        return sympy.Symbol(str(node.attr), real=True)

    if not cse:
        for nid, node in enumerate(nodes):
            if live[nid]:
                if node.args:
                    value[nid] = _apply(sympy, node.op, [value[a] for a in node.args])
                else:
                    value[nid] = leaf(nid)
        return [value[o] for o in outputs]

    user = graph.names if names is None else names
    uses = [0] * len(nodes)
    for nid, node in enumerate(nodes):
        if live[nid] and node.args:
            for a, count in zip(node.args, _template_shape(node.op)[0]):
                uses[a] += count
    in_outputs = [0] * len(nodes)
    for o in outputs:
        in_outputs[o] += 1
    input_names = {str(n.attr) for nid, n in enumerate(nodes) if live[nid] and n.op == "input"}
    reserved = input_names | {
        user[nid] for nid, n in enumerate(nodes) if live[nid] and n.args and nid in user
    }
    claimed: set[str] = set()
    temps = 0

    def claim(nid: NodeId) -> str:
        """The replacement symbol's name: the user's (made unique) or the next free `tK`."""
        nonlocal temps
        base = user.get(nid)
        if base is None:
            while f"t{temps}" in reserved or f"t{temps}" in claimed:
                temps += 1
            name = f"t{temps}"
        else:
            name, k = base, 2
            while name in claimed or name in input_names:
                name, k = f"{base}_{k}", k + 1
        claimed.add(name)
        return name

    # Depth of each node's expression below the nearest replacement symbol (estimated).
    depth = [0] * len(nodes)
    replacements: list[tuple[Any, Any]] = []
    for nid, node in enumerate(nodes):
        if not live[nid]:
            continue
        if not node.args:
            value[nid] = leaf(nid)
            continue
        expr = _apply(sympy, node.op, [value[a] for a in node.args])
        depth[nid] = _template_shape(node.op)[1] + max(depth[a] for a in node.args)
        shared = uses[nid] + in_outputs[nid] >= 2
        named = nid in user and uses[nid] >= 1
        if (shared or named or depth[nid] >= MAX_SYMPY_DEPTH) and not expr.is_Atom:
            symbol = sympy.Symbol(claim(nid), real=True)
            replacements.append((symbol, expr))
            expr, depth[nid] = symbol, 0
        value[nid] = expr
    return replacements, [value[o] for o in outputs]


def latex(
    graph: Graph,
    outputs: Sequence[NodeId],
    labels: Sequence[str],
    names: Mapping[NodeId, str] | None = None,
) -> str:
    """LaTeX of the outputs as the system of `to_sympy(..., cse=True)`.

    One line per replacement (`t_{0} = ...`) and one per output (`labels[k] = ...`; labels
    are LaTeX already), as an `aligned` block; a lone output without replacements is just
    `label = expr`.
    """
    import sympy

    if len(labels) != len(outputs):
        raise ValueError(f"{len(labels)} labels for {len(outputs)} outputs")
    replacements, exprs = to_sympy(graph, outputs, names, cse=True)
    lines = [(sympy.latex(s), sympy.latex(e)) for s, e in replacements]
    lines += [(label, sympy.latex(e)) for label, e in zip(labels, exprs)]
    if len(lines) == 1:
        return f"{lines[0][0]} = {lines[0][1]}"
    body = " \\\\\n".join(f"{lhs} &= {rhs}" for lhs, rhs in lines)
    return "\\begin{aligned}\n" + body + "\n\\end{aligned}"


# --- SymPy -> formula text -----------------------------------------------------------------


def sympy_expr_type(obj: Any) -> bool:
    """Whether `obj` is a SymPy object (`Basic`, a matrix) or a non-empty list/tuple of them
    (Python numbers allowed beside at least one SymPy object). Never imports SymPy: without
    it in `sys.modules`, nothing can be a SymPy object."""
    sp = sys.modules.get("sympy")
    if sp is None:
        return False
    kinds = (sp.Basic, sp.MatrixBase)
    if isinstance(obj, kinds):
        return True
    if isinstance(obj, (list, tuple)) and obj:
        return all(isinstance(o, (*kinds, int, float)) for o in obj) and any(
            isinstance(o, kinds) for o in obj
        )
    return False


@cache
def _function_table() -> dict[type, str]:
    """SymPy function class -> op name, read off the op table: every callable op whose SymPy
    form is a plain application of that class to its arguments (`sin`, `Abs`, `Max`, ...),
    plus `ITE` -> `where`."""
    import sympy

    table: dict[type, str] = {}
    for name, op in OPS.items():
        if not op.function:
            continue
        dummies = tuple(sympy.Symbol(f"_arg{k}") for k in range(op.arity))
        form = op.sympy(sympy, *dummies)
        if form.args == dummies and not (form.is_Add or form.is_Mul or form.is_Pow):
            table.setdefault(type(form), name)
    # SymPy's boolean if-then-else, which it makes of Piecewise conditions by itself.
    table[sympy.ITE] = "where"
    return table


#: A lowering: the SymPy function's arguments to an equal expression the converter reads.
Lowering = Callable[..., Any]


@cache
def _codegen_table() -> dict[type, str | Lowering]:
    """SymPy's code-generation functions (`sympy.codegen.cfunctions`, `numpy_nodes`,
    `scipy_nodes`: what `sympy.codegen.rewriting.optimize(expr, optims_c99)` makes of an
    expression to keep its digits): each is an op of the language, or is lowered to an
    equally stable expression (`powm1(x, y)` -> `expm1(y*log(x))`, `cosm1(x)` ->
    `-2*sin(x/2)^2`, which do not cancel where the plain forms do)."""
    import sympy
    from sympy.codegen import cfunctions as c
    from sympy.codegen import numpy_nodes as n
    from sympy.codegen import scipy_nodes as s

    table: dict[type, str | Lowering] = {
        c.expm1: "expm1", c.log1p: "log1p", c.log2: "log2", c.log10: "log10",
        c.hypot: "hypot", c.Sqrt: "sqrt", c.Cbrt: "cbrt",
        n.logaddexp: "logaddexp", n.logaddexp2: "logaddexp2",
        n.minimum: "min", n.maximum: "max",
        c.exp2: lambda x: sympy.Integer(2) ** x,
        c.fma: lambda x, y, z: sympy.Add(sympy.Mul(x, y), z),
        s.powm1: lambda x, y: c.expm1(y * sympy.log(x)),
        s.cosm1: lambda x: -2 * sympy.sin(x / 2) ** 2,
    }  # fmt: skip
    return {cls: op for cls, op in table.items() if not isinstance(op, str) or op in OPS}


def _supported() -> str:
    names = [cls.__name__ for cls in (*_function_table(), *_codegen_table())]
    names += ["sqrt", "cbrt", "Piecewise", "relationals", "And", "Or", "Not"]
    return "+, -, *, /, ^, numbers, pi, E, " + ", ".join(sorted(names, key=str.lower))


def check_name(name: str) -> str:
    """`name` if it can stand for an input of the formula language; else a `FormulaError`
    (a ValueError) naming it: `parse.check_input_name`, the one door for names, and not a
    constant of the language (the symbol would read as the constant)."""
    from adcompile.front.parse import check_input_name

    if name in CONSTANTS:
        raise FormulaError(
            f"symbol name {name!r} is a constant of the formula language; rename the symbol"
        )
    return check_input_name(name, "symbol")


@dataclass(frozen=True, slots=True)
class _Node:
    """A distinct subexpression: how to print it (`kind`, `info`) and its arguments."""

    kind: str  # symbol number const bool add mul pow func piecewise rel and or not
    info: Any  # the name, the SymPy number, the op name or the relational operator
    args: tuple[int, ...]
    obj: Any  # the (first) SymPy object it stands for
    small: bool  # whether its tree is small and shallow enough for SymPy's recursive methods


@dataclass(frozen=True, slots=True)
class _Text:
    """Printed text at a precedence level; `neg` prints minus it, `den` one over it."""

    text: str
    prec: int
    neg: tuple[str, int] | None = None
    den: tuple[str, int] | None = None


def _wrap(text: str, prec: int, need: int) -> str:
    return text if prec >= need else f"({text})"


def _number_text(sp: Any, number: Any) -> tuple[str, int]:
    """A SymPy number (finite) as a literal of the language, with its precedence."""
    if number.is_Integer:
        p = int(number)
        if abs(p) > sys.float_info.max:
            digits = int(p.bit_length() * math.log10(2)) + 1  # str(p) may be refused
            raise ValueError(f"an integer of about {digits} digits is outside the float64 range")
        return str(p), (UNARY if p < 0 else ATOM)
    if number.is_Rational and max(abs(number.p), number.q) <= _EXACT_INTEGER:
        return f"{number.p}/{number.q}", PROD
    value = float(number)
    if not math.isfinite(value):
        raise ValueError(f"the number {number} is not a finite float64")
    text = repr(value)
    return text, (UNARY if text.startswith("-") else ATOM)


class _Printer:
    """SymPy expressions to statements of the language (see `from_sympy`)."""

    def __init__(self, sp: Any, taken: set[str]) -> None:
        self.sp = sp
        self.functions = _function_table()
        self.codegen = _codegen_table()
        self.nodes: list[_Node] = []
        self.symbols: set[str] = set()
        self.taken = taken
        self.statements: list[str] = []
        self.temps = 0
        self.by_id: dict[int, int] = {}  # id of a SymPy object -> its node
        self.by_key: dict[Any, int] = {}  # (kind, class, info, argument nodes) -> node
        self.keep: list[Any] = []  # the objects whose ids are in by_id, kept alive
        self.sizes: list[int] = []  # tree size of each node, saturated
        self.heights: list[int] = []  # tree height of each node, saturated

    # -- pass 1: distinct subexpressions in post-order --------------------------------------
    def classify(self, e: Any) -> tuple[str, Any, tuple[Any, ...]]:
        """How to print `e`, and the SymPy objects it is printed from; ValueError if none."""
        sp = self.sp
        if isinstance(e, sp.Symbol):
            return "symbol", check_name(e.name), ()
        if e is sp.true or e is sp.false:
            return "bool", "1" if e is sp.true else "0", ()
        if e.is_Number:
            if e.is_finite is not True:
                raise ValueError(
                    f"cannot compile the SymPy number {e}: the formula language has no "
                    "infinite or NaN literals"
                )
            return "number", e, ()
        if isinstance(e, sp.NumberSymbol):
            return "const", {sp.pi: "pi", sp.E: "e"}.get(e) or repr(float(e)), ()
        if e.is_Add:
            return "add", None, e.args
        if e.is_Mul:
            return "mul", None, e.args
        if e.is_Pow:
            return "pow", None, e.args
        if isinstance(e, sp.Piecewise):
            if e.args[-1].cond is not sp.true:
                raise ValueError(
                    "cannot compile a Piecewise without a default branch (expr, True): "
                    "it is undefined where no condition holds"
                )
            flat = [part for pair in e.args[:-1] for part in pair.args]
            return "piecewise", None, (*flat, e.args[-1].expr)
        if isinstance(e, sp.core.relational.Relational) and e.rel_op in _RELATIONS:
            return "rel", e.rel_op, e.args
        for kind, cls in (("and", sp.And), ("or", sp.Or), ("not", sp.Not)):
            if isinstance(e, cls):
                return kind, None, e.args
        lowered = self.codegen.get(type(e))
        if callable(lowered):
            return self.classify(lowered(*e.args))
        op = self.functions.get(type(e)) or lowered
        if op is not None:
            arity = OPS[op].arity
            if len(e.args) == arity or (arity == 2 and OPS[op].commutative and e.args):
                return "func", op, e.args
        if e is sp.I or e is sp.zoo:
            raise ValueError(
                f"cannot compile the SymPy number {e}: the formula language is real-valued"
            )
        raise ValueError(
            f"cannot compile the SymPy function {type(e).__name__}: supported are {_supported()}"
        )

    def add_tree(self, root: Any) -> int:
        """Convert `root` (post-order, explicit stack); return its node index."""
        by_id = self.by_id
        stack: list[tuple[Any, tuple[str, Any, tuple[Any, ...]] | None]] = [(root, None)]
        while stack:
            e, found = stack.pop()
            if id(e) in by_id:
                continue
            if found is None:
                found = self.classify(e)
                stack.append((e, found))
                stack.extend((a, None) for a in reversed(found[2]) if id(a) not in by_id)
                continue
            kind, info, args = found
            ids = tuple(by_id[id(a)] for a in args)
            key = (kind, info) if not args else (kind, type(e), info, ids)
            index = self.by_key.get(key)
            if index is None:
                index = self.by_key[key] = len(self.nodes)
                size = 1 + sum(self.sizes[a] for a in ids)
                height = 1 + max((self.heights[a] for a in ids), default=0)
                self.sizes.append(min(size, _SMALL_SIZE + 1))
                self.heights.append(min(height, _SMALL_HEIGHT + 1))
                small = size <= _SMALL_SIZE and height <= _SMALL_HEIGHT
                self.nodes.append(_Node(kind, info, ids, e, small))
                if kind == "symbol":
                    self.symbols.add(info)
            by_id[id(e)] = index
            self.keep.append(e)  # ids stay unique while the objects are alive
        return by_id[id(root)]

    # -- pass 2: text in topological order ----------------------------------------------------
    def fresh(self) -> str:
        while f"t{self.temps}" in self.taken:
            self.temps += 1
        name = f"t{self.temps}"
        self.taken.add(name)
        return name

    def assign(self, text: str) -> _Text:
        name = self.fresh()
        self.statements.append(f"{name} = {text}")
        return _Text(name, ATOM)

    def render(self, roots: Sequence[int]) -> list[_Text]:
        uses = [0] * len(self.nodes)
        for node in self.nodes:
            for a in node.args:
                uses[a] += 1
        as_root = [0] * len(self.nodes)
        for r in roots:
            uses[r] += 1
            as_root[r] += 1
        texts: list[_Text] = []
        for k, node in enumerate(self.nodes):
            text = _PRINTERS[node.kind](self, node, [texts[a] for a in node.args])
            if node.args and not (uses[k] == 1 and as_root[k] == 1):
                shared = uses[k] >= 2 and len(text.text) > MAX_REPEATED
                if shared or len(text.text) > MAX_INLINE:
                    text = self.assign(text.text)
            texts.append(text)
        return [texts[r] for r in roots]

    # -- one printer per kind ---------------------------------------------------------------
    def p_leaf(self, node: _Node, args: list[_Text]) -> _Text:
        return _Text(node.info, ATOM)

    def p_number(self, node: _Node, args: list[_Text]) -> _Text:
        text, prec = _number_text(self.sp, node.info)
        neg = _number_text(self.sp, -node.info) if node.info < 0 else None
        return _Text(text, prec, neg=neg)

    def p_add(self, node: _Node, args: list[_Text]) -> _Text:
        terms = [args[k] for k in self.term_order(node)]
        if terms[0].neg is not None:  # start with a positive term where there is one
            first = next((k for k, t in enumerate(terms) if t.neg is None), 0)
            terms.insert(0, terms.pop(first))
        parts = [_wrap(terms[0].text, terms[0].prec, SUM)]
        for t in terms[1:]:
            if t.neg is not None:
                parts.append(f" - {_wrap(*t.neg, PROD)}")
            else:
                parts.append(f" + {_wrap(t.text, t.prec, PROD)}")
        return _Text("".join(parts), SUM)

    def term_order(self, node: _Node) -> list[int]:
        """Positions of an Add's terms in print order: SymPy's own (`x^2 + 2*x + 1`) when the
        sum is small (SymPy's ordering recurses and is not cheap), else numbers last."""
        if node.small:
            position = {id(a): k for k, a in enumerate(node.obj.args)}
            try:
                order = [position[id(t)] for t in node.obj.as_ordered_terms()]
            except (KeyError, RecursionError, TypeError, ValueError):
                order = []
            if sorted(order) == list(range(len(node.args))):
                return order
        numbers = [self.nodes[a].kind == "number" for a in node.args]
        return [k for k, n in enumerate(numbers) if not n] + [k for k, n in enumerate(numbers) if n]

    def p_mul(self, node: _Node, args: list[_Text]) -> _Text:
        sign = False
        num: list[tuple[str, int]] = []
        den: list[tuple[str, int]] = []
        for a, t in zip(node.args, args):
            c = self.nodes[a].info if self.nodes[a].kind == "number" else None
            if c is None:
                if t.den is not None:
                    den.append(t.den)
                else:
                    num.append((t.text, t.prec))
                continue
            sign, c = bool(c < 0), abs(c)
            if c.is_Rational and max(c.p, c.q) <= _EXACT_INTEGER:
                num[:0] = [(str(c.p), ATOM)] if c.p != 1 else []
                den[:0] = [(str(c.q), ATOM)] if c.q != 1 else []
            elif float(c) != 1.0:
                num.insert(0, _number_text(self.sp, c))
        if len(num) == 1 and not den:
            body = num[0]
        else:
            text = "*".join(_wrap(t, p, UNARY) for t, p in num) or "1"
            if den:
                under = "*".join(_wrap(t, p, UNARY) for t, p in den)
                text += "/" + (under if len(den) == 1 and den[0][1] >= UNARY else f"({under})")
            body = (text, PROD)
        if not sign:
            return _Text(*body)
        if body[1] >= PROD:
            return _Text("-" + body[0], min(body[1], UNARY), neg=body)
        return _Text(f"-({body[0]})", UNARY, neg=body)

    def power(self, base: _Text, exponent: Any) -> tuple[str, int]:
        """`base ^ exponent` for a SymPy number exponent > 0."""
        if exponent == 1:
            return base.text, base.prec
        for value, name in ((self.sp.Rational(1, 2), "sqrt"), (self.sp.Rational(1, 3), "cbrt")):
            if exponent == value:
                return f"{name}({base.text})", ATOM
        power = _wrap(*_number_text(self.sp, exponent), UNARY)
        return f"{_wrap(base.text, base.prec, ATOM)}^{power}", POW

    def p_pow(self, node: _Node, args: list[_Text]) -> _Text:
        base, exponent = args
        e = self.nodes[node.args[1]]
        if e.kind != "number":
            power = _wrap(exponent.text, exponent.prec, UNARY)
            return _Text(f"{_wrap(base.text, base.prec, ATOM)}^{power}", POW)
        if e.info < 0:
            den = self.power(base, -e.info)
            return _Text(f"1/{_wrap(*den, UNARY)}", PROD, den=den)
        return _Text(*self.power(base, e.info))

    def p_func(self, node: _Node, args: list[_Text]) -> _Text:
        texts = [a.text for a in args]
        while len(texts) > OPS[node.info].arity:  # n-ary Min/Max: a balanced tree of the op
            pairs = [texts[k : k + 2] for k in range(0, len(texts), 2)]
            texts = [f"{node.info}({', '.join(p)})" if len(p) == 2 else p[0] for p in pairs]
        return _Text(f"{node.info}({', '.join(texts)})", ATOM)

    def p_piecewise(self, node: _Node, args: list[_Text]) -> _Text:
        text = args[-1].text
        for k in range(len(args) - 3, -1, -2):
            text = f"where({args[k + 1].text}, {args[k].text}, {text})"
            if k and len(text) > MAX_INLINE:
                text = self.assign(text).text
        return _Text(text, ATOM)

    def p_rel(self, node: _Node, args: list[_Text]) -> _Text:
        a, b = (_wrap(t.text, t.prec, SUM) for t in args)
        return _Text(f"{a} {node.info} {b}", CMP)

    def p_and(self, node: _Node, args: list[_Text]) -> _Text:
        return _Text(" and ".join(_wrap(t.text, t.prec, NOT) for t in args), AND)

    def p_or(self, node: _Node, args: list[_Text]) -> _Text:
        return _Text(" or ".join(_wrap(t.text, t.prec, AND) for t in args), OR)

    def p_not(self, node: _Node, args: list[_Text]) -> _Text:
        return _Text("not " + _wrap(args[0].text, args[0].prec, NOT), NOT)


_RELATIONS: Final = frozenset({"<", "<=", ">", ">=", "==", "!="})
_PRINTERS: Final[dict[str, Callable[[_Printer, _Node, list[_Text]], _Text]]] = {
    "symbol": _Printer.p_leaf,
    "const": _Printer.p_leaf,
    "bool": _Printer.p_leaf,
    "number": _Printer.p_number,
    "add": _Printer.p_add,
    "mul": _Printer.p_mul,
    "pow": _Printer.p_pow,
    "func": _Printer.p_func,
    "piecewise": _Printer.p_piecewise,
    "rel": _Printer.p_rel,
    "and": _Printer.p_and,
    "or": _Printer.p_or,
    "not": _Printer.p_not,
}


def _as_exprs(sp: Any, obj: Any) -> list[Any]:
    """The expressions to print: one, a list/tuple, or a matrix (row-major)."""
    items = list(obj) if isinstance(obj, (list, tuple, sp.MatrixBase, sp.Tuple)) else [obj]
    exprs: list[Any] = []
    for item in items:
        if isinstance(item, sp.MatrixBase):
            exprs.extend(item)
        elif isinstance(item, bool):
            exprs.append(sp.true if item else sp.false)
        elif isinstance(item, int):
            exprs.append(sp.Integer(item))
        elif isinstance(item, float):
            exprs.append(_sympy_constant(sp, item))
        elif isinstance(item, sp.Basic):
            exprs.append(item)
        else:
            raise TypeError(f"from_sympy takes SymPy expressions, not {type(item).__name__}")
    if not exprs:
        raise ValueError("from_sympy needs at least one expression")
    return exprs


def from_sympy(
    expr: Any | Sequence[Any], inputs: Sequence[str] | None = None
) -> tuple[str, tuple[str, ...]]:
    """SymPy expression(s) as formula text, and the input names in order.

    `expr` is one expression, a list/tuple of them or a matrix (several outputs, row-major).
    The inputs are `inputs` (every free symbol must be among them) or else the free symbols
    sorted by name. The text parses with `parse(text, inputs)` and computes the same function:
    one expression with minimal parentheses when it is small; a subexpression used more than
    once (unless its text is tiny) or longer than `MAX_INLINE` characters becomes an assignment
    `t0 = ...` first, so the text is linear in the size of the expression DAG and shallow.
    Several outputs are assigned to `out0, out1, ...` and listed on the last line.

    Mapping: Add, Mul (negative powers as a denominator), Pow (`^`; exponent 1/2 is `sqrt`,
    1/3 is `cbrt`: the real cube root, which differs from SymPy's principal root for a
    negative base), numbers (`p/q` for rationals, `repr(float)` for Floats), pi and E, the
    functions of the op table (`Abs` is `abs`, `ceiling` is `ceil`, n-ary `Min`/`Max` nest),
    Piecewise (nested `where`; it needs a final `(expr, True)` branch), relationals, And, Or,
    Not, and True/False (1/0). Anything else raises ValueError naming it.
    """
    import sympy

    if isinstance(inputs, str):
        raise TypeError("inputs must be a sequence of names, e.g. ['x', 'y']")
    declared = tuple(check_name(n) for n in inputs) if inputs is not None else None
    if declared is not None and len(set(declared)) != len(declared):
        raise ValueError(f"inputs: repeated names in {list(declared)}")
    exprs = _as_exprs(sympy, expr)
    printer = _Printer(sympy, set())
    roots = [printer.add_tree(e) for e in exprs]
    if declared is None:
        names = tuple(sorted(printer.symbols))
    else:
        missing = sorted(printer.symbols - set(declared))
        if missing:
            raise ValueError(
                f"free symbol{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                f"not among the inputs ({', '.join(declared) or 'none'})"
            )
        names = declared
    printer.taken.update(names)
    texts = printer.render(roots)
    lines = printer.statements
    if len(texts) == 1:
        return "\n".join([*lines, texts[0].text]), names
    outs = []
    for k, text in enumerate(texts):
        name = f"out{k}"
        while name in printer.taken:
            name += "_"
        printer.taken.add(name)
        lines.append(f"{name} = {text.text}")
        outs.append(name)
    return "\n".join([*lines, ", ".join(outs)]), names
