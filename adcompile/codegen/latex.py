"""The LaTeX printer: a graph's outputs as the system of `to_sympy(..., cse=True)`, in LaTeX.

Vectors read as in a textbook: `\\sum_{i=0}^{n - 1} x_{i}`, `\\max_{0 \\le i \\le n - 1} x_{i}`,
and a vector output (a gradient with respect to a vector) is its element at the free index:
`\\frac{\\partial f}{\\partial x_{i}} = ...`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any, Final

from adcompile.codegen.sympy import to_sympy
from adcompile.codegen.sympy_vectors import vector_element
from adcompile.ir.graph import Graph, NodeId


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
    if len(labels) != len(outputs):
        raise ValueError(f"{len(labels)} labels for {len(outputs)} outputs")
    replacements, exprs = to_sympy(graph, outputs, names, cse=True)
    return latex_system(replacements, exprs, labels)


def latex_system(replacements: Sequence[Any], exprs: Sequence[Any], labels: Sequence[str]) -> str:
    """A SymPy system `(replacements, exprs)` (as `sympy.cse` gives it) in LaTeX: one line per
    replacement and one per expression under its label, as an `aligned` block."""
    symbols = {str(s) for s, _ in replacements}
    for e in (*(r for _, r in replacements), *exprs):
        symbols |= {str(s) for s in getattr(e, "free_symbols", ())}
    printer = _printer("e" in symbols)  # a variable e: exp(e) as \exp(e), not e^{e}
    lines = [(printer(s), printer(e)) for s, e in replacements]
    outs = [_output_line(label, e, printer) for label, e in zip(labels, exprs)]
    lines += [line for line in outs if line[0] != line[1]]  # not `h = h` for a named output
    if len(lines) == 1:
        return f"{lines[0][0]} = {lines[0][1]}"
    body = " \\\\\n".join(f"{lhs} &= {rhs}" for lhs, rhs in lines)
    return "\\begin{aligned}\n" + body + "\n\\end{aligned}"


#: The last `\\partial x}` of a derivative's label, where a vector output's index goes.
_LAST_PARTIAL: Final = re.compile(r"(\\partial [^{}]+)\}$")
#: A label ending in the input's name as a subscript (`(H \\dot{x})_{x}`): the same place.
_LAST_SUBSCRIPT: Final = re.compile(r"(_\{[^{}]+)\}$")


def _output_line(label: str, expr: Any, printer: Callable[[Any], str]) -> tuple[str, str]:
    """(label, expr) in LaTeX; a vector output `Lambda(i, e)` (`codegen.sympy`) as its element
    `e` under the label at index i: `\\frac{\\partial f}{\\partial x_{i}}`,
    `(H \\dot{x})_{x_{i}}`, `\\left(\\bar{x}\\right)_{i}`."""
    found = vector_element(expr)
    if found is None:
        return label, printer(expr)
    index, element = found
    sub = f"_{{{printer(index)}}}"
    for pattern in (_LAST_PARTIAL, _LAST_SUBSCRIPT):
        if pattern.search(label):
            return pattern.sub(lambda m: m.group(1) + sub + "}", label), printer(element)
    return f"\\left({label}\\right){sub}", printer(element)


@cache
def _printer(exp_function: bool = False) -> Callable[[Any], str]:
    """`sympy.latex`, but with `\\exp\\left(x\\right)` for exp(x) where `exp_function`
    (a program with a variable named e), `\\ln\\Gamma(x)` for loggamma, `\\psi(x)` for
    polygamma(0, x) and `\\psi^{(n)}(x)` for polygamma(n, x) (SymPy prints their names), and
    `\\max_{0 \\le i \\le n - 1} x_{i}` for the `Maximum` (`Minimum`) of `codegen.sympy`."""
    from sympy.printing.latex import LatexPrinter

    class Printer(LatexPrinter):  # type: ignore[misc]
        def _special(self, head: str, arg: Any, exp: str | None) -> str:
            text = f"{head}\\left({self._print(arg)}\\right)"
            return f"\\left({text}\\right)^{{{exp}}}" if exp is not None else text

        def _print_loggamma(self, e: Any, exp: str | None = None) -> str:
            return self._special("\\ln\\Gamma", e.args[0], exp)

        def _print_polygamma(self, e: Any, exp: str | None = None) -> str:
            n, x = e.args
            head = "\\psi" if n == 0 else f"\\psi^{{({self._print(n)})}}"
            return self._special(head, x, exp)

        def _extremum(self, head: str, e: Any, exp: str | None) -> str:
            v, lo, hi = (self._print(part) for part in e.limits[0])
            body = self._print(e.function)
            if e.function.is_Add or e.function.is_Mul:
                body = f"\\left({body}\\right)"
            text = f"\\{head}_{{{lo} \\le {v} \\le {hi}}} {body}"
            return f"\\left({text}\\right)^{{{exp}}}" if exp is not None else text

        def _print_Where(self, e: Any, exp: str | None = None) -> str:
            from sympy import Piecewise

            text = self._print(Piecewise(*e.pairs(), evaluate=False))
            return f"\\left({text}\\right)^{{{exp}}}" if exp is not None else text

        def _print_ExpBase(self, e: Any, exp: str | None = None) -> str:
            if not exp_function:
                return str(super()._print_ExpBase(e, exp))
            return self._special("\\exp", e.args[0], exp)

        def _print_Maximum(self, e: Any, exp: str | None = None) -> str:
            return self._extremum("max", e, exp)

        def _print_Minimum(self, e: Any, exp: str | None = None) -> str:
            return self._extremum("min", e, exp)

    return Printer().doprint  # type: ignore[no-any-return]
