"""The `adcompile` command: compile a formula, evaluate value and gradient, show the work.

    adcompile "2*x^4 + x^3 + 3*x^2 + 5*x + 1" --at x=2
    adcompile model.adc --at w=1,b=0 --wrt w,b
    adcompile "log(x*y)" --show python|numba|ir|latex|sympy
    adcompile neuron.adc --at w0=2,x0=-1 --trace --no-stable
    adcompile "log(x*y)" --at x=2,y=3 --dot graph.svg
    adcompile "log(x*y)" -o model.py [--numba]

A thin layer over `adcompile.api`; errors in the formula are printed with their caret and the
exit status is 2 (never a traceback).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from adcompile.api import Evaluator
from adcompile.api import compile as compile_formula
from adcompile.errors import FormulaError
from adcompile.trace import trace

SHOW = ("python", "numba", "ir", "latex", "sympy")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="adcompile",
        description="Compile a formula to fused value+gradient code and evaluate it.",
        epilog='example: adcompile "2*x^4 + x^3 + 3*x^2 + 5*x + 1" --at x=2',
    )
    p.add_argument("formula", help="formula text, or the path of a file holding a program")
    p.add_argument("--at", metavar="NAME=VALUE,...", help="point to evaluate at, e.g. x=2,y=3")
    p.add_argument("--wrt", metavar="NAME,...", help="inputs to differentiate (default: all)")
    p.add_argument(
        "--inputs", metavar="NAME,...", help="input names in order (default: free names)"
    )
    p.add_argument(
        "--show", choices=SHOW, help="print the generated Python, Numba module, IR, LaTeX or SymPy"
    )
    p.add_argument("--backend", choices=("auto", "numba", "vm", "numpy"), default="auto")
    p.add_argument(
        "--trace", action="store_true", help="print every node's value and adjoint (with --at)"
    )
    p.add_argument(
        "--dot",
        nargs="?",
        const="-",
        metavar="PATH",
        help="write the value-and-gradient graph as DOT to stdout, or to PATH (.dot, or .svg, "
        ".png, .pdf drawn by Graphviz); with --at, nodes show their values",
    )
    p.add_argument("-o", "--output", metavar="MODULE.py", help="write a standalone module")
    p.add_argument(
        "--numba", action="store_true", help="with -o: a Numba module instead of NumPy only"
    )
    p.add_argument(
        "--no-stable",
        action="store_true",
        help="keep every step as written (no numerical-stability rewrites)",
    )
    return p


def _names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


def _point(text: str) -> dict[str, float]:
    point: dict[str, float] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--at: expected NAME=VALUE, got {item!r}")
        try:
            point[name.strip()] = float(value)
        except ValueError:
            raise ValueError(
                f"--at: {value.strip()!r} is not a number (for {name.strip()})"
            ) from None
    return point


def _view(shown: Evaluator, what: str) -> str:
    """The generated code, IR or formula of `shown`, as `--show` names it."""
    views: dict[str, Callable[[], str]] = {
        "python": lambda: shown.source,
        "numba": lambda: shown.numba_source,
        "ir": lambda: shown.ir,
        "latex": shown.latex,
        "sympy": lambda: _sympy_system(shown),
    }
    return views[what]()


def _sympy_system(shown: Evaluator) -> str:
    replacements, exprs = shown.to_sympy(cse=True)
    lines = [f"{k} = {v}" for k, v in replacements]
    return "\n".join([*lines, *(f"{n} = {e}" for n, e in zip(shown.output_names, exprs))])


def _fmt(v: float) -> str:
    return f"{v:.17g}" if math.isfinite(v) else str(v)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 bad formula or arguments)."""
    args = _parser().parse_args(argv)
    text = args.formula
    path = Path(text)
    if "\n" not in text and len(text) < 4096 and path.suffix and path.is_file():
        text = path.read_text(encoding="utf-8")
    try:
        f = compile_formula(
            text, inputs=_names(args.inputs), backend=args.backend, stable=not args.no_stable
        )
        wrt = _names(args.wrt)
        single = len(f.outputs) == 1
        shown = f.value_and_grad(wrt) if single else f.value
        point = _point(args.at) if args.at is not None else None
        if args.trace and point is None:
            raise ValueError("--trace needs a point: --at NAME=VALUE,...")
        acted = bool(args.trace or args.dot or args.output)
        if args.show or (point is None and not acted):
            print(_view(shown, args.show or "python").rstrip())
        if args.output:
            Path(args.output).write_text(shown.module_source(numba=args.numba), encoding="utf-8")
            print(f"wrote {args.output}", file=sys.stderr)
        if args.dot:
            dot = shown.graph(**point) if point is not None else shown.graph()
            if args.dot == "-":
                print(dot.source.rstrip())
            else:
                dot.render(args.dot)
                print(f"wrote {args.dot}", file=sys.stderr)
        if args.trace:
            print(trace(f, **point))  # type: ignore[arg-type]
        elif point is not None and args.dot != "-":  # stdout holds only the DOT text then
            if not single:
                for name, v in zip(f.outputs, f(**point)):
                    print(f"{name} = {_fmt(v)}")
                return 0
            value, grad = f.value_and_grad(wrt)(**point)
            print(f"value = {_fmt(value)}")
            for name, g in zip(grad._fields, grad):
                print(f"d/d{name} = {_fmt(g)}")
    except FormulaError as err:
        print(f"adcompile: error: {err}", file=sys.stderr)
        return 2
    except (TypeError, ValueError, RuntimeError, OSError) as err:
        print(f"adcompile: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
