"""The `adcompile` command: compile a formula, evaluate value and gradient, show the work.

    adcompile "2*x^4 + x^3 + 3*x^2 + 5*x + 1" --at x=2
    adcompile model.adc --at w=1,b=0 --wrt w,b
    adcompile "log(x*y)" --show python|numba|ir|latex|sympy
    adcompile neuron.adc --at w0=2,x0=-1 --trace --no-stable
    adcompile "log(x*y)" --at x=2,y=3 --dot graph.svg
    adcompile "log(x*y)" -o model.py [--numba]
    adcompile --version

A thin layer over the public API. Every bad input (formula, argument, missing file) prints one
`adcompile: error: ...` line (a formula error adds its line and caret) and exits with status 2,
never a traceback; a reader that closes the pipe early (`| head -1`) ends it quietly.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from adcompile._version import __version__
from adcompile.api import BACKEND_NAMES, Evaluator
from adcompile.api import compile as compile_formula
from adcompile.errors import FormulaError, ParseError
from adcompile.front.parse import parse
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
    p.add_argument("--at", metavar="NAME=VALUE,...", help="point to evaluate at, e.g. x=2,y=3")
    p.add_argument("--wrt", metavar="NAME,...", help="inputs to differentiate (default: all)")
    p.add_argument(
        "--inputs", metavar="NAME,...", help="input names in order (default: free names)"
    )
    p.add_argument(
        "--show", choices=SHOW, help="print the generated Python, Numba module, IR, LaTeX or SymPy"
    )
    p.add_argument("--backend", choices=BACKEND_NAMES, default="auto")
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
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or argparse's own usage error
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    try:
        if args.numba and not args.output:
            raise _UsageError("--numba needs -o MODULE.py (it chooses the module -o writes)")
        text = _formula_text(args.formula)
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
    except BrokenPipeError:
        raise  # not a bad input: main ends quietly
    except (FormulaError, _UsageError, TypeError, ValueError, RuntimeError, OSError) as err:
        print(f"adcompile: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
