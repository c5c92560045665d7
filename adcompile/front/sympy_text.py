"""Formula text from a DAG of SymPy subexpressions, with minimal parentheses and assignments.

`TextPrinter(sp, parts, taken).render(roots)` prints the parts `from_sympy` read (`Part`s in
post-order) as text of the language of `grammar/adcompile.lark`: one expression with minimal
parentheses when it is small; a part used more than once (unless its text is tiny) or longer
than `MAX_INLINE` characters becomes an assignment `t0 = ...` first (in `statements`), so the
text stays linear in the size of the DAG and shallow. One loop in topological order, no
recursion.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from adcompile.ir.opdef import AND, ATOM, CMP, NOT, OR, POW, PROD, SUM, UNARY
from adcompile.ir.ops import OPS

#: A subexpression whose text is longer than this becomes an assignment.
MAX_INLINE: Final = 80
#: A subexpression used more than once is inlined anyway when its text is at most this long
#: (`x*y`, `sin(x)`): repeating it costs nothing, parsing interns it again.
MAX_REPEATED: Final = 12
#: Integers (numerators, denominators) up to this size are exact in a float64.
EXACT_INTEGER: Final = 2**53


@dataclass(frozen=True, slots=True)
class Part:
    """A distinct subexpression: how to print it (`kind`, `info`) and its arguments."""

    kind: str  # symbol number const bool add mul pow func template piecewise rel and or not, and
    # for vectors (`sympy_vectors`): indexed slice len (leaves printed as `info`) reduce
    info: Any  # the name, the SymPy number, the op name, a template or the relational operator
    args: tuple[int, ...]
    obj: Any  # the (first) SymPy object it stands for
    small: bool  # whether its tree is small and shallow enough for SymPy's recursive methods


@dataclass(frozen=True, slots=True)
class Text:
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
    if number.is_Rational and max(abs(number.p), number.q) <= EXACT_INTEGER:
        return f"{number.p}/{number.q}", PROD
    value = float(number)
    if not math.isfinite(value):
        raise ValueError(f"the number {number} is not a finite float64")
    text = repr(value)
    return text, (UNARY if text.startswith("-") else ATOM)


_PLACEHOLDER: Final = re.compile(r"\{(\d+)\}")
_CALL: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\(")


def template_arity(template: str) -> int:
    """How many arguments a template of `special.SYMPY_IMPORTS` takes (`{0}`, `{1}`, ...)."""
    return 1 + max((int(k) for k in _PLACEHOLDER.findall(template)), default=-1)


def _template_level(template: str) -> int:
    """The precedence level a template's text binds at: the loosest operator outside
    parentheses (`gamma({0}) * gammainc({0}, {1})` is a product, `lambertw({0}, 0)` an
    atom); a comparison or a logical word counts as the loosest level of all."""
    depth, level, operand = 0, ATOM, False
    for k, ch in enumerate(template):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if depth or ch in ")]":
            operand = True
            continue
        if ch in "<>=!" or template.startswith(("and ", "or ", "not "), k):
            return OR
        if ch == "+" or (ch == "-" and operand):
            level = min(level, SUM)
        elif ch in "*/":
            level = min(level, PROD)
        elif ch == "-":
            level = min(level, UNARY)
        elif ch == "^":
            level = min(level, POW)
        if not ch.isspace():
            operand = ch not in "+-*/^"
    return level


class TextPrinter:
    """Parts to statements of the language (see the module doc); `taken` names are avoided."""

    def __init__(self, sp: Any, parts: list[Part], taken: set[str]) -> None:
        self.sp = sp
        self.nodes = parts
        self.taken = taken
        self.statements: list[str] = []
        self.temps = 0

    # -- text in topological order -----------------------------------------------------------
    def fresh(self) -> str:
        while f"t{self.temps}" in self.taken:
            self.temps += 1
        name = f"t{self.temps}"
        self.taken.add(name)
        return name

    def assign(self, text: str) -> Text:
        name = self.fresh()
        self.statements.append(f"{name} = {text}")
        return Text(name, ATOM)

    def render(self, roots: Sequence[int]) -> list[Text]:
        uses = [0] * len(self.nodes)
        for node in self.nodes:
            for a in node.args:
                uses[a] += 1
        as_root = [0] * len(self.nodes)
        for r in roots:
            uses[r] += 1
            as_root[r] += 1
        texts: list[Text] = []
        for k, node in enumerate(self.nodes):
            text = _PRINTERS[node.kind](self, node, [texts[a] for a in node.args])
            if node.args and not (uses[k] == 1 and as_root[k] == 1):
                shared = uses[k] >= 2 and len(text.text) > MAX_REPEATED
                if shared or len(text.text) > MAX_INLINE:
                    text = self.assign(text.text)
            texts.append(text)
        return [texts[r] for r in roots]

    # -- one printer per kind ---------------------------------------------------------------
    def p_leaf(self, node: Part, args: list[Text]) -> Text:
        return Text(node.info, ATOM)

    def p_reduce(self, node: Part, args: list[Text]) -> Text:
        return Text(f"{node.info}({args[0].text})", ATOM)

    def p_number(self, node: Part, args: list[Text]) -> Text:
        text, prec = _number_text(self.sp, node.info)
        neg = _number_text(self.sp, -node.info) if node.info < 0 else None
        return Text(text, prec, neg=neg)

    def p_add(self, node: Part, args: list[Text]) -> Text:
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
        return Text("".join(parts), SUM)

    def term_order(self, node: Part) -> list[int]:
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

    def p_mul(self, node: Part, args: list[Text]) -> Text:
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
            if c.is_Rational and max(c.p, c.q) <= EXACT_INTEGER:
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
            return Text(*body)
        if body[1] >= PROD:
            return Text("-" + body[0], min(body[1], UNARY), neg=body)
        return Text(f"-({body[0]})", UNARY, neg=body)

    def power(self, base: Text, exponent: Any) -> tuple[str, int]:
        """`base ^ exponent` for a SymPy number exponent > 0."""
        if exponent == 1:
            return base.text, base.prec
        for value, name in ((self.sp.Rational(1, 2), "sqrt"), (self.sp.Rational(1, 3), "cbrt")):
            if exponent == value:
                return f"{name}({base.text})", ATOM
        power = _wrap(*_number_text(self.sp, exponent), UNARY)
        return f"{_wrap(base.text, base.prec, ATOM)}^{power}", POW

    def p_pow(self, node: Part, args: list[Text]) -> Text:
        base, exponent = args
        e = self.nodes[node.args[1]]
        if e.kind != "number":
            power = _wrap(exponent.text, exponent.prec, UNARY)
            return Text(f"{_wrap(base.text, base.prec, ATOM)}^{power}", POW)
        if e.info < 0:
            den = self.power(base, -e.info)
            return Text(f"1/{_wrap(*den, UNARY)}", PROD, den=den)
        return Text(*self.power(base, e.info))

    def p_func(self, node: Part, args: list[Text]) -> Text:
        texts = [a.text for a in args]
        while len(texts) > OPS[node.info].arity:  # n-ary Min/Max: a balanced tree of the op
            pairs = [texts[k : k + 2] for k in range(0, len(texts), 2)]
            texts = [f"{node.info}({', '.join(p)})" if len(p) == 2 else p[0] for p in pairs]
        return Text(f"{node.info}({', '.join(texts)})", ATOM)

    def p_template(self, node: Part, args: list[Text]) -> Text:
        """A SymPy function as the formula text of `special.SYMPY_IMPORTS` (`info`): an
        argument in parentheses unless it binds like an atom or is a whole argument of a
        call in the template; the text at the level of its loosest operator."""
        template: str = node.info
        pieces: list[str] = []
        end = 0
        for m in _PLACEHOLDER.finditer(template):
            arg = args[int(m.group(1))]
            before = template[: m.start()].rstrip()[-1:]
            after = template[m.end() :].lstrip()[:1]
            whole = before in ("(", ",") and after in (")", ",")
            pieces += [
                template[end : m.start()],
                arg.text if whole else _wrap(arg.text, arg.prec, ATOM),
            ]
            end = m.end()
        text = "".join([*pieces, template[end:]])
        return Text(text, _template_level(template))

    def p_piecewise(self, node: Part, args: list[Text]) -> Text:
        text = args[-1].text
        for k in range(len(args) - 3, -1, -2):
            text = f"where({args[k + 1].text}, {args[k].text}, {text})"
            if k and len(text) > MAX_INLINE:
                text = self.assign(text).text
        return Text(text, ATOM)

    def p_rel(self, node: Part, args: list[Text]) -> Text:
        a, b = (_wrap(t.text, t.prec, SUM) for t in args)
        return Text(f"{a} {node.info} {b}", CMP)

    def p_and(self, node: Part, args: list[Text]) -> Text:
        return Text(" and ".join(_wrap(t.text, t.prec, NOT) for t in args), AND)

    def p_or(self, node: Part, args: list[Text]) -> Text:
        return Text(" or ".join(_wrap(t.text, t.prec, AND) for t in args), OR)

    def p_not(self, node: Part, args: list[Text]) -> Text:
        return Text("not " + _wrap(args[0].text, args[0].prec, NOT), NOT)


_PRINTERS: Final[dict[str, Callable[[TextPrinter, Part, list[Text]], Text]]] = {
    "symbol": TextPrinter.p_leaf,
    "const": TextPrinter.p_leaf,
    "bool": TextPrinter.p_leaf,
    "indexed": TextPrinter.p_leaf,
    "slice": TextPrinter.p_leaf,
    "len": TextPrinter.p_leaf,
    "reduce": TextPrinter.p_reduce,
    "number": TextPrinter.p_number,
    "add": TextPrinter.p_add,
    "mul": TextPrinter.p_mul,
    "pow": TextPrinter.p_pow,
    "func": TextPrinter.p_func,
    "template": TextPrinter.p_template,
    "piecewise": TextPrinter.p_piecewise,
    "rel": TextPrinter.p_rel,
    "and": TextPrinter.p_and,
    "or": TextPrinter.p_or,
    "not": TextPrinter.p_not,
}
