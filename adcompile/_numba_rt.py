"""Numba helpers that generated modules import (`import adcompile` never loads this module).

`at(a, i)` is `a[i]` for an array and `a` itself for a scalar. The batch driver reads every
input through it, so Numba compiles one specialisation per scalar/array pattern of the
arguments, and inputs passed as scalars stay loop invariants the compiler can hoist.
"""

from __future__ import annotations

from typing import Any

from numba.core import types
from numba.extending import overload


def at(a: Any, i: int) -> Any:
    """Pure-Python meaning (used with NUMBA_DISABLE_JIT=1)."""
    return a[i] if hasattr(a, "__getitem__") else a


def _element(a: Any, i: Any) -> Any:
    return a[i]


def _itself(a: Any, i: Any) -> Any:
    return a


@overload(at)
def _at(a: Any, i: Any) -> Any:
    return _element if isinstance(a, types.Array) else _itself
