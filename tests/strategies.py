"""Hypothesis strategies: random formulas as text, built from the op table.

A generated formula is fully parenthesized text over the inputs x, y, z and small constants.
Every subexpression carries a bound on its absolute value for inputs in [-INPUT_MAX, INPUT_MAX];
the bounds keep each argument inside its op's domain (`OpDef.domain`) by construction:

- an argument whose domain is the whole line, and whose bound fits the domain, goes in as is;
- otherwise it is squashed into the domain: `mid + half*tanh(u)` for any interval, or a
  hand-written form such as `1 + u*u`, `1.5 + sin(u)`, `0.5*sin(u)`, `2 + 0.9*sin(u)`;
- a subexpression whose bound grows past LIMIT is wrapped in `atan(...)`,

so intermediate values stay moderate and the formulas are well conditioned (a float64 result
can then be held to ~1e-9 of an exact reference). `formulas(smooth=True)` uses only the ops
that are differentiable everywhere on their domain (for derivative checks); `smooth=False`
adds the piecewise ops, comparisons, logic, `where` and `stop_gradient`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
from hypothesis import strategies as st

from adcompile.ir.ops import CORE_OPS, OPS, Interval

INPUTS = ("x", "y", "z")
INPUT_MAX = 2.0
LIMIT = 50.0
CONSTANTS = (0.5, 1.0, 2.0, 3.0, 0.25, 1.5, 0.1)

#: Spelling of the ops the language has as operators (function ops are spelled `name(...)`).
INFIX = {
    "add": "({0} + {1})", "sub": "({0} - {1})", "mul": "({0} * {1})", "div": "({0} / {1})",
    "neg": "(-{0})", "pow": "({0} ^ {1})",
    "lt": "({0} < {1})", "le": "({0} <= {1})", "gt": "({0} > {1})", "ge": "({0} >= {1})",
    "eq": "({0} == {1})", "ne": "({0} != {1})",
    "and": "({0} and {1})", "or": "({0} or {1})", "not": "(not {0})",
}  # fmt: skip

#: Ops left out of derivative-accuracy formulas: kinks, jumps, or a zero-by-convention rule.
NON_SMOOTH = frozenset(
    name for name, op in CORE_OPS.items() if not op.smooth or op.boolean or name == "where"
)


@dataclass(frozen=True)
class Term:
    """A piece of formula text and a bound on |its value|."""

    text: str
    bound: float


#: Special functions stay out of random formulas: tests/ir/test_special_functions.py checks
#: them against mpmath, and SymPy's derivatives of random compositions with them (through
#: its assumption system) can take minutes per example.
SPECIAL = frozenset({"gamma", "lgamma", "digamma", "polygamma"})


def _smooth_functions() -> list[str]:
    return [
        n for n, op in CORE_OPS.items() if op.function and n not in NON_SMOOTH and n not in SPECIAL
    ]


def _rough_functions() -> list[str]:
    return [n for n, op in CORE_OPS.items() if op.function and n in NON_SMOOTH and n not in SPECIAL]


def _num(value: float) -> str:
    return repr(float(value))


def _squash(u: Term, domain: Interval) -> Term:
    """`u` mapped strictly inside `domain` with tanh (the generic squash)."""
    mid, half = (domain.lo + domain.hi) / 2, (domain.hi - domain.lo) / 2 * 0.98
    inner = f"{_num(half)}*tanh({u.text})"
    text = f"({inner})" if mid == 0 else f"({_num(mid)} + {inner})"
    return Term(text, max(abs(mid - half), abs(mid + half)))


def _alternatives(u: Term, domain: Interval) -> list[Term]:
    """Ways to put `u` inside `domain` (the first is always valid)."""
    ways = [_squash(u, domain)]
    if domain.lo <= -u.bound and u.bound <= domain.hi:
        ways.append(u)
    lo, hi = domain.lo, domain.hi
    if lo <= 0.5 and hi >= 2.5:
        ways.append(Term(f"(1.5 + sin({u.text}))", 2.5))
    if lo <= 1.0 and 1.0 + u.bound**2 <= hi:
        ways.append(Term(f"(1 + {u.text}*{u.text})", 1.0 + u.bound**2))
    if lo <= -0.5 and hi >= 0.5:
        ways.append(Term(f"(0.5*sin({u.text}))", 0.5))
    if lo <= 1.1 and hi >= 2.9:
        ways.append(Term(f"(2 + 0.9*sin({u.text}))", 2.9))
    return ways


@st.composite
def _inside(draw: st.DrawFn, u: Term, domain: Interval) -> tuple[Term, tuple[float, float]]:
    """`u` put inside `domain`, and the range its value can take."""
    term = draw(st.sampled_from(_alternatives(u, domain)))
    if term is u:
        return term, (-u.bound, u.bound)
    return term, (max(domain.lo, -term.bound), min(domain.hi, term.bound))


@cache
def _grid_bound(name: str, ranges: tuple[tuple[float, float], ...]) -> float:
    """max |op(args)| over a grid of the argument ranges, with a margin."""
    axes = [np.linspace(lo, hi, 41) for lo, hi in ranges]
    with np.errstate(all="ignore"):
        values = np.asarray(OPS[name].impl(*np.meshgrid(*axes)), dtype=np.float64)
    finite = values[np.isfinite(values)]
    return float(np.max(np.abs(finite))) * 1.25 + 0.1 if finite.size else LIMIT * 2


def _limit(term: Term) -> Term:
    return term if term.bound <= LIMIT else Term(f"atan({term.text})", math.pi / 2)


@st.composite
def leaves(draw: st.DrawFn) -> Term:
    """An input or a small constant."""
    if draw(st.integers(0, 4)):
        return Term(draw(st.sampled_from(INPUTS)), INPUT_MAX)
    c = draw(st.sampled_from(CONSTANTS))
    return Term(_num(c), c)


@st.composite
def terms(draw: st.DrawFn, depth: int, smooth: bool = True, top: bool = False) -> Term:
    """A random subexpression of at most `depth` levels of ops (never a bare leaf on top)."""
    if depth == 0 or (not top and draw(st.integers(0, 4)) == 0):
        return draw(leaves())
    sub = terms(depth - 1, smooth)
    kinds = ["arith"] * 3 + ["neg", "pow"] + ["function"] * 3
    if not smooth:
        kinds += ["rough", "rough", "logic", "where"]
    kind = draw(st.sampled_from(kinds))
    if kind == "arith":
        name = draw(st.sampled_from(["add", "sub", "mul", "div"]))
        u, v = draw(sub), draw(sub)
        if name == "div":
            den, _ = draw(_inside(v, Interval(0.5, 3.0)))
            return _limit(Term(INFIX["div"].format(u.text, den.text), u.bound / 0.5))
        bound = u.bound * v.bound if name == "mul" else u.bound + v.bound
        return _limit(Term(INFIX[name].format(u.text, v.text), bound))
    if kind == "neg":
        u = draw(sub)
        return Term(INFIX["neg"].format(u.text), u.bound)
    if kind == "logic":
        name = draw(st.sampled_from([n for n, op in CORE_OPS.items() if op.boolean]))
        args = [draw(sub) for _ in range(OPS[name].arity)]
        return Term(INFIX[name].format(*(a.text for a in args)), 1.0)
    if kind == "where":
        c, a, b = draw(sub), draw(sub), draw(sub)
        return Term(f"where({c.text}, {a.text}, {b.text})", max(a.bound, b.bound))
    if kind == "pow":
        name = "pow"
    else:
        pool = _smooth_functions() if kind == "function" else _rough_functions()
        name = draw(st.sampled_from(pool))
    op = OPS[name]
    args, ranges = [], []
    for domain in op.domain:
        term, span = draw(_inside(draw(sub), domain))
        args.append(term.text)
        ranges.append(span)
    if name == "pow" and draw(st.booleans()):
        text = INFIX["pow"].format(*args)
    else:
        text = f"{draw(st.sampled_from(_spellings(name)))}({', '.join(args)})"
    return _limit(Term(text, _grid_bound(name, tuple(ranges))))


def _spellings(name: str) -> list[str]:
    from adcompile.ir.ops import ALIASES

    return [name, *(alias for alias, target in ALIASES.items() if target == name)]


def formulas(smooth: bool = True, max_depth: int = 4) -> st.SearchStrategy[str]:
    """Formula text over INPUTS (see the module docstring)."""
    return terms(max_depth, smooth, top=True).map(lambda t: t.text)


def points() -> st.SearchStrategy[tuple[float, float, float]]:
    """Values for (x, y, z) in [-INPUT_MAX, INPUT_MAX]."""
    coordinate = st.floats(-INPUT_MAX, INPUT_MAX, allow_nan=False, allow_infinity=False)
    return st.tuples(coordinate, coordinate, coordinate)
