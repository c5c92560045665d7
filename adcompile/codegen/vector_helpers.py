"""Loops of the whole-vector ops of a vector module (`codegen.vector`): the one-hot of the
first maximum (minimum), and the products of all other elements with their tangent."""

from __future__ import annotations

from typing import Final

#: Loops of the whole-vector ops, Numba-compiled with the module (no strings: only
#: compiler text reaches generated code).
VECTOR_HELPERS: Final = """
@numba.njit(cache=True)
def _vpick_max_into(v, out):
    out[:] = 0.0
    best = 0
    for k in range(1, len(v)):
        if v[best] == v[best] and not v[k] <= v[best]:
            best = k
    if len(v):
        out[best] = 1.0


@numba.njit(cache=True)
def _vpick_min_into(v, out):
    out[:] = 0.0
    best = 0
    for k in range(1, len(v)):
        if v[best] == v[best] and not v[k] >= v[best]:
            best = k
    if len(v):
        out[best] = 1.0


@numba.njit(cache=True)
def _vprod_except_into(v, out):
    p = 1.0
    for k in range(len(v)):
        out[k] = p
        p *= v[k]
    p = 1.0
    for k in range(len(v) - 1, -1, -1):
        out[k] *= p
        p *= v[k]


@numba.njit(cache=True)
def _vprod_except_dot_into(v, dv, out):
    n = len(v)
    before = np.empty(n)
    dbefore = np.empty(n)
    p = 1.0
    dp = 0.0
    for k in range(n):
        before[k] = p
        dbefore[k] = dp
        dp = dp * v[k] + p * dv[k]
        p *= v[k]
    p = 1.0
    dp = 0.0
    for k in range(n - 1, -1, -1):
        out[k] = dbefore[k] * p + before[k] * dp
        dp = dp * v[k] + p * dv[k]
        p *= v[k]
"""

__all__ = ["VECTOR_HELPERS"]
