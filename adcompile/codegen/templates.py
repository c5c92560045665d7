"""What every code printer reads: an op's template in a target's column, whole exponents,
literals and safe names.

The templates are columns of the op table (`OpDef.python`, `OpDef.numpy`, declared in
`adcompile.ir.spellings`): `template(op, target)` reads one. User text never reaches the
code: only names that match the identifier grammar (`safe_name`) and numbers printed by
`repr(float)` (`literal`).
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from collections.abc import Iterable, Sequence
from typing import Final, Literal

from adcompile.ir.graph import Graph, NodeId
from adcompile.ir.numeric import HELPERS as SCALAR_HELPERS
from adcompile.ir.ops import OPS
from adcompile.ir.special import LIBRARY_HELPERS
from adcompile.ir.spellings import MAX_INTEGER_POWER
from adcompile.ir.vecnumeric import VECTOR_HELPERS

#: Every helper a template may call: scalar ones (`numeric.HELPERS`, Numba-compiled in a
#: Numba module) and the NumPy kernels of vector ops (`vecnumeric.VECTOR_HELPERS`).
HELPERS: Final = {**SCALAR_HELPERS, **LIBRARY_HELPERS, **VECTOR_HELPERS}

#: Which column a printer spells ops from: `OpDef.python` (scalar code: the readable kernels,
#: the VM), `OpDef.numba` (a Numba module: `python` where it has no entry) or `OpDef.numpy`
#: (code over arrays: the standalone module).
Target = Literal["python", "numba", "numpy"]


def template(op: str, target: Target = "python", whole: bool = False) -> str:
    """The op's template over `{0}, {1}, ...` in the target's column of the op table
    (`whole`: its integer-power argument is printed as a whole number, which every scalar
    target spells as the Python column does: `x ** 3` is multiplications in Numba)."""
    spec = OPS[op]
    if target == "numpy":
        return spec.numpy
    return spec.numba or spec.python if target == "numba" and not whole else spec.python


def whole_exponent(graph: Graph, op: str, args: Sequence[NodeId]) -> tuple[int, int] | None:
    """(argument index, value) where `op`'s integer-power argument (`OpDef.integer_power`)
    is a whole constant in 0..MAX_INTEGER_POWER: the printers write it as an integer
    literal, the VM takes it as an immediate. None for other ops (and leaves)."""
    spec = OPS.get(op)
    k = spec.integer_power if spec is not None else None
    if k is None:
        return None
    value = graph.const_value(args[k])
    if value is None or not value.is_integer() or not 0 <= value <= MAX_INTEGER_POWER:
        return None
    return k, int(value)


#: Names a user's name may not be printed as (keywords, builtins, names the generated code
#: uses) and the patterns of generated names: `safe_name` adds a trailing `_`.
_RESERVED: Final = frozenset(
    set(keyword.kwlist)
    | set(keyword.softkwlist)
    | set(dir(builtins))
    | {"math", "np", "numba", "batch", "n", "i", "r", "at", "out", "sp", "scipy"}
    | {"value", "grad", "value_and_grad"}
    | {"_erf", "_erfc", *HELPERS}
)
_GENERATED: Final = re.compile(r"^(t\d+|b_.*|d_.*|in\d+)$")


#: A name of `numeric.HELPERS` in printed code.
_HELPER_NAME: Final = re.compile(r"\b_[a-z]+\b")
#: The decorator of a helper in a Numba module: compiled into the kernels that call it (and
#: cached with them, so it has no cache files of its own).
NJIT_HELPER: Final = '@numba.njit(cache=True, error_model="numpy")'


def helper_lines(code: Iterable[str], decorator: str | None = None) -> list[str]:
    """The scalar helpers of `numeric.HELPERS` that `code` (printed lines or templates) calls,
    with the helpers those call, as module lines: each `def` under `decorator` (none: plain
    Python), then two blank lines. Empty when it calls none (so other modules are unchanged)."""
    wanted = {n for line in code for n in _HELPER_NAME.findall(line) if n in HELPERS}
    stack = list(wanted)
    while stack:
        for dep in HELPERS[stack.pop()][0]:
            if dep not in wanted:
                wanted.add(dep)
                stack.append(dep)
    lines: list[str] = []
    for name in (n for n in HELPERS if n in wanted):
        lines += [decorator] if decorator else []
        lines += [*HELPERS[name][1].strip("\n").splitlines(), "", ""]
    return lines


#: The library's SciPy functions in printed code (`sp.j0(x)`), and the import they need.
_SPECIAL_CALL: Final = re.compile(r"\bsp\.[a-z]")
SPECIAL_IMPORT: Final = "from adcompile.run import special as sp"


def special_imports(code: Iterable[str]) -> list[str]:
    """The import line of `adcompile.run.special` where `code` calls one of its functions
    (`sp.<name>`), else nothing (other modules are unchanged)."""
    return [SPECIAL_IMPORT] if any(_SPECIAL_CALL.search(line) for line in code) else []


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


def check_tables() -> None:
    """Assert every op of the table has a template in each column (printer totality)."""
    for target in ("python", "numba", "numpy"):
        missing = [op for op in OPS if not template(op, target)]
        assert not missing, f"ops without a {target} template: {missing}"
