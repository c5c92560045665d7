"""Numba helpers that generated modules import (`import adcompile` never loads this module).

`at(a, i)` is `a[i]` for an array and `a` itself for a scalar, as float64 (float32 elements
are widened on load, so all arithmetic is float64); `at2(a, i, j)` is the same for 2-D
arrays. The batch drivers read every input through them, so Numba compiles one
specialisation per scalar/array pattern of the arguments, and inputs passed as scalars stay
loop invariants the compiler can hoist.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba.core import types
from numba.extending import overload


def at(a: Any, i: int) -> Any:
    """Pure-Python meaning (used with NUMBA_DISABLE_JIT=1)."""
    return np.float64(a[i] if hasattr(a, "__getitem__") else a)


def at2(a: Any, i: int, j: int) -> Any:
    """Pure-Python meaning (used with NUMBA_DISABLE_JIT=1)."""
    return np.float64(a[i, j] if hasattr(a, "__getitem__") else a)


def _element(a: Any, i: Any) -> Any:
    return np.float64(a[i])


def _element2(a: Any, i: Any, j: Any) -> Any:
    return np.float64(a[i, j])


def _itself(a: Any, i: Any) -> Any:
    return np.float64(a)


def _itself2(a: Any, i: Any, j: Any) -> Any:
    return np.float64(a)


@overload(at)
def _at(a: Any, i: Any) -> Any:
    return _element if isinstance(a, types.Array) else _itself


@overload(at2)
def _at2(a: Any, i: Any, j: Any) -> Any:
    return _element2 if isinstance(a, types.Array) else _itself2
