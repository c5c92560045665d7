"""The `adcompile` command: compile a formula, evaluate value and gradient, show generated code.

    adcompile "2*x^4 + x^3 + 3*x^2 + 5*x + 1" --at x=2
    adcompile model.adc --at w=1,b=0 --wrt w,b
    adcompile "log(x*y)" --show python|numba|ir

A thin layer over `adcompile.api`; errors in the formula are printed with their caret and the
exit status is 2 (never a traceback).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from adcompile.api import compile as compile_formula
from adcompile.errors import FormulaError

SHOW = ("python", "numba", "ir")


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
    p.add_argument("--show", choices=SHOW, help="print the generated Python, Numba module or IR")
    p.add_argument("--backend", choices=("auto", "numba", "vm", "numpy"), default="auto")
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
        f = compile_formula(text, inputs=_names(args.inputs), backend=args.backend)
        wrt = _names(args.wrt)
        single = len(f.outputs) == 1
        if args.show or args.at is None:
            shown = f.value_and_grad(wrt) if single else f.value
            views = {"python": shown.source, "numba": shown.numba_source, "ir": shown.ir}
            print(views[args.show or "python"].rstrip())
        if args.at is not None:
            point = _point(args.at)
            if not single:
                values = f(**point)
                for name, v in zip(f.outputs, values):
                    print(f"{name} = {_fmt(v)}")
                return 0
            value, grad = f.value_and_grad(wrt)(**point)
            print(f"value = {_fmt(value)}")
            for name, g in zip(grad._fields, grad):
                print(f"d/d{name} = {_fmt(g)}")
    except FormulaError as err:
        print(f"adcompile: error: {err}", file=sys.stderr)
        return 2
    except (TypeError, ValueError) as err:
        print(f"adcompile: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
