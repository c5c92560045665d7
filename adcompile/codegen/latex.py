"""The LaTeX printer: a graph's outputs as the system of `to_sympy(..., cse=True)`, in LaTeX."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

from adcompile.codegen.sympy import to_sympy
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
    printer = _printer()
    lines = [(printer(s), printer(e)) for s, e in replacements]
    lines += [(label, printer(e)) for label, e in zip(labels, exprs)]
    if len(lines) == 1:
        return f"{lines[0][0]} = {lines[0][1]}"
    body = " \\\\\n".join(f"{lhs} &= {rhs}" for lhs, rhs in lines)
    return "\\begin{aligned}\n" + body + "\n\\end{aligned}"


@cache
def _printer() -> Callable[[Any], str]:
    """`sympy.latex`, but with `\\ln\\Gamma(x)` for loggamma, `\\psi(x)` for polygamma(0, x)
    and `\\psi^{(n)}(x)` for polygamma(n, x) (SymPy prints their names)."""
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

    return Printer().doprint  # type: ignore[no-any-return]
