"""The `adcompile` command: compile a formula, evaluate value and gradient, show the work.

    adcompile "2*x^4 + x^3 + 3*x^2 + 5*x + 1" --at x=2
    adcompile model.adc --at w=1,b=0 --wrt w,b
    adcompile "log(x*y)" --show python|numba|ir|latex|sympy
    adcompile neuron.adc --at w0=2,x0=-1 --trace --no-stable
    adcompile "log(x*y)" --at x=2,y=3 --dot graph.svg
    adcompile explain neuron.adc --at w0=2,x0=-1,w1=-3,x1=-2,w2=-3 --no-stable -o neuron.html
    adcompile "sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)" --at "x=[1.2,0.8,1.1]"
    adcompile "log(x*y)" -o model.py [--numba]
    adcompile --version

A thin layer over the public API. Every bad input (formula, argument, missing file) prints one
`adcompile: error: ...` line (a formula error adds its line and caret) and exits with status 2,
never a traceback; a reader that closes the pipe early (`| head -1`) ends it quietly.

A vector input (docs/vectors.md) is given in brackets: `--at "x=[1,2,3],w=2"` (commas or
spaces between the elements; quote it for the shell). Its derivative prints the same way,
every element: `d/dx = [307.6, -275.6, 92]`.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from adcompile._version import __version__
from adcompile.api import BACKEND_NAMES, Evaluator, Formula
from adcompile.api import compile as compile_formula
from adcompile.codegen.dot import Dot
from adcompile.codegen.sympy_vectors import vector_element
from adcompile.errors import FormulaError, ParseError
from adcompile.front.parse import parse
from adcompile.tools.explain import explain
from adcompile.tools.trace import trace

SHOW = ("python", "numba", "ir", "latex", "sympy")

#: Bad formula or arguments (argparse's status too).
EXIT_USAGE = 2
#: stdout was closed by its reader (`| head -1`): 128 + SIGPIPE, what a shell reports for a
#: tool killed by the signal, so `set -o pipefail` scripts see the usual status.
EXIT_PIPE = 141

#: Path characters only (no operators, spaces or parentheses), and a suffix that starts
#: with a letter (`.adc`, `.txt`; not the `.5` of `2.5`): see `_formula_text`.
_PATHLIKE = re.compile(r"[\w.~:/\\-]+")
_SUFFIX = re.compile(r"\.[A-Za-z]\w*$")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="adcompile",
        description="Compile a formula to fused value+gradient code and evaluate it.",
        epilog='example: adcompile "2*x^4 + x^3 + 3*x^2 + 5*x + 1" --at x=2',
    )
    p.add_argument("--version", action="version", version=f"adcompile {__version__}")
    p.add_argument("formula", help="formula text, or the path of a file holding a program")
    p.add_argument(
        "--at",
        metavar="NAME=VALUE,...",
        help='point to evaluate at, e.g. x=2,y=3; a vector in brackets: "x=[1,2,3],y=2"',
    )
    p.add_argument("--wrt", metavar="NAME,...", help="inputs to differentiate (default: all)")
    p.add_argument(
        "--inputs", metavar="NAME,...", help="input names in order (default: free names)"
    )
    p.add_argument(
        "--show", choices=SHOW, help="print the generated Python, Numba module, IR, LaTeX or SymPy"
    )
    p.add_argument("--backend", choices=BACKEND_NAMES, default="auto")
    p.add_argument(
        "--math",
        choices=("simd", "libm"),
        default="simd",
        help="the compiled tier's elementary functions: vectorized (libmvec) or the C library's",
    )
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


class _UsageError(Exception):
    """A bad argument: printed as one `adcompile: error:` line."""


def _formula_text(arg: str) -> str:
    """The formula: `arg` itself, or the program in the file it names.

    An argument with a directory part or a suffix such as `.adc` is read when it names a file.
    When it does not, it is still a formula if it parses as one (`x/y` divides); if it is
    nothing but path characters and does not parse, it is reported as a missing file rather
    than as a syntax error.
    """
    if "\n" in arg or len(arg) >= 4096:
        return arg
    if not (_SUFFIX.search(arg) or "/" in arg or "\\" in arg or arg.startswith("~")):
        return arg
    path = Path(arg).expanduser()
    if path.is_file():
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise _UsageError(f"{arg!r} is not a UTF-8 text file") from None
    if not _PATHLIKE.fullmatch(arg):
        return arg  # operators, spaces, parentheses: a formula (its errors have a caret)
    try:
        parse(arg)
    except ParseError:  # not formula syntax: the user meant a file
        raise _UsageError(
            f"not a file: {arg!r}" if path.exists() else f"no such file: {arg!r}"
        ) from None
    except FormulaError:
        pass  # formula syntax, with an error that compiling reports
    return arg


def _names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


def _items(text: str) -> list[str]:
    """`--at`'s text split at the commas outside brackets."""
    items, depth, start = [], 0, 0
    for k, char in enumerate(text):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if depth not in (0, 1):
            raise ValueError(f"--at: brackets do not match (or nest) in {text!r}")
        if char == "," and depth == 0:
            items.append(text[start:k])
            start = k + 1
    if depth:
        raise ValueError(f"--at: a '[' is not closed in {text!r}")
    return [*items, text[start:]]


def _number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"--at: {text.strip()!r} is not a number (for {name})") from None


def _point(text: str) -> dict[str, Any]:
    """`x=2,y=3` as numbers; `x=[1,2,3]` (or `[1 2 3]`) as a vector's elements."""
    point: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in _items(text))):
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep:
            raise ValueError(f"--at: expected NAME=VALUE, got {item!r}")
        if value.startswith("[") and value.endswith("]"):
            parts = value[1:-1].replace(",", " ").split()
            point[name] = [_number(v, name) for v in parts]
        else:
            point[name] = _number(value, name)
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
    for name, e in zip(shown.output_names, exprs):
        found = vector_element(e)  # a vector output: its element at index i, `dvalue/dx[i]`
        lines.append(f"{name} = {e}" if found is None else f"{name}[{found[0]}] = {found[1]}")
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    """A number at full precision, or a vector's elements so: `[1.2, 0.8, 1.1]`."""
    if np.ndim(v):
        return "[" + ", ".join(_fmt(e) for e in np.ravel(v)) + "]"
    v = float(v)
    return f"{v:.17g}" if math.isfinite(v) else str(v)


def _graph(f: Formula, shown: Evaluator, point: dict[str, Any] | None) -> Dot:
    """The graph `--dot` writes: the evaluator's (with its values at a point); at a point
    with vectors, the formula's graph with the values and adjoints of its trace (graph
    views at a point take numbers only)."""
    if point is None:
        return shown.graph()
    if any(np.ndim(v) for v in point.values()) and len(f.outputs) == 1:
        return trace(f, **point).graph()
    return shown.graph(**point)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    0: done; 2: a bad formula, argument or file (one `adcompile: error:` line on stderr);
    141: stdout was closed before everything was written (`adcompile ... | head -1`).
    """
    try:
        status = _run(argv)
        sys.stdout.flush()  # inside the try: a closed pipe shows up at the flush
    except BrokenPipeError:
        # The Python docs' recipe (library/signal.html, "Note on SIGPIPE"): point stdout at
        # devnull so that the interpreter's final flush does not raise again at exit.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass  # stdout has no file descriptor (replaced in-process): nothing to flush
        return EXIT_PIPE
    return status


def _run(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    explaining = bool(argv) and argv[0] == "explain"  # `adcompile explain F --at ... -o P`
    try:
        args = _parser().parse_args(argv[1:] if explaining else argv)
    except SystemExit as exc:  # --help, --version, or argparse's own usage error
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    try:
        if args.numba and not args.output:
            raise _UsageError("--numba needs -o MODULE.py (it chooses the module -o writes)")
        text = _formula_text(args.formula)
        f = compile_formula(
            text,
            inputs=_names(args.inputs),
            backend=args.backend,
            stable=not args.no_stable,
            math=args.math,
        )
        wrt = _names(args.wrt)
        single = len(f.outputs) == 1
        shown = f.value_and_grad(wrt) if single else f.value
        point = _point(args.at) if args.at is not None else None
        if explaining:
            if point is None or not args.output:
                raise _UsageError("explain needs a point and a page: --at NAME=VALUE,... -o P.html")
            explain(f, **point).save(args.output)
            print(f"wrote {args.output}", file=sys.stderr)
            return 0
        if args.trace and point is None:
            raise ValueError("--trace needs a point: --at NAME=VALUE,...")
        acted = bool(args.trace or args.dot or args.output)
        if args.show or (point is None and not acted):
            print(_view(shown, args.show or "python").rstrip())
        if args.output:
            Path(args.output).write_text(shown.module_source(numba=args.numba), encoding="utf-8")
            print(f"wrote {args.output}", file=sys.stderr)
        if args.dot:
            dot = _graph(f, shown, point)
            if args.dot == "-":
                print(dot.source.rstrip())
            else:
                dot.render(args.dot)
                print(f"wrote {args.dot}", file=sys.stderr)
        if args.trace:
            assert point is not None
            print(trace(f, **point))
        elif point is not None and args.dot != "-":  # stdout holds only the DOT text then
            if not single:
                for name, v in zip(f.outputs, f(**point)):
                    print(f"{name} = {_fmt(v)}")
                return 0
            value, grad = f.value_and_grad(wrt)(**point)
            print(f"value = {_fmt(value)}")
            for name, g in zip(grad._fields, grad):
                print(f"d/d{name} = {_fmt(g)}")
    except BrokenPipeError:
        raise  # not a bad input: main ends quietly
    except (FormulaError, _UsageError, TypeError, ValueError, RuntimeError, OSError) as err:
        print(f"adcompile: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
