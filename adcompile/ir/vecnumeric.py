"""The NumPy kernels of the vector ops that are not one NumPy call (`ir.vecops`), written
once as source text, as `numeric.HELPERS` are: the interpreter runs them (`impl` of the op
table), and the printers paste the same text into the readable code they generate
(`codegen.templates.helper_lines`). Values have their elements on the last axis; any axes
before it are batch axes. A slice bound or step is a float, NaN where it was omitted."""

from __future__ import annotations

from typing import Final

import numpy as np

from adcompile.ir.numeric import helper_functions

#: Helpers by name: (the helpers they call, their source). No strings, no docstrings: only
#: compiler text reaches generated code.
VECTOR_HELPERS: Final[dict[str, tuple[tuple[str, ...], str]]] = {
    "_vbound": (
        (),
        """
def _vbound(a):
    # a slice bound or step: None or NaN where omitted
    return None if a is None or a != a else int(a)
""",
    ),
    "_vslice": (
        ("_vbound",),
        """
def _vslice(v, a, b, s):
    return np.asarray(v)[..., _vbound(a) : _vbound(b) : _vbound(s)]
""",
    ),
    "_vfill": (
        (),
        """
def _vfill(s, v):
    s = np.asarray(s, dtype=np.float64)
    shape = np.broadcast_shapes(np.shape(s) + (1,), np.shape(v))
    return np.broadcast_to(s[..., None], shape).copy()
""",
    ),
    "_vscatter": (
        (),
        """
def _vscatter(b, v, i):
    out = np.zeros(np.broadcast_shapes(np.shape(b) + (1,), np.shape(v)))
    out[..., int(i)] = b
    return out
""",
    ),
    "_vunslice": (
        ("_vbound",),
        """
def _vunslice(b, v, lo, hi, s):
    out = np.zeros(np.broadcast_shapes(np.shape(b)[:-1], np.shape(v)[:-1]) + np.shape(v)[-1:])
    out[..., _vbound(lo) : _vbound(hi) : _vbound(s)] = b
    return out
""",
    ),
    "_vpickmax": (
        ("_vpick",),
        """
def _vpickmax(v):
    # 1 at the first maximal element (NumPy's argmax: a NaN is maximal), 0 elsewhere
    v = np.asarray(v, dtype=np.float64)
    return _vpick(v, np.argmax(v, axis=-1)) if np.shape(v)[-1] else np.zeros(np.shape(v))
""",
    ),
    "_vpickmin": (
        ("_vpick",),
        """
def _vpickmin(v):
    v = np.asarray(v, dtype=np.float64)
    return _vpick(v, np.argmin(v, axis=-1)) if np.shape(v)[-1] else np.zeros(np.shape(v))
""",
    ),
    "_vpick": (
        (),
        """
def _vpick(v, at):
    out = np.zeros(np.shape(v))
    np.put_along_axis(out, np.asarray(at)[..., None], 1.0, axis=-1)
    return out
""",
    ),
    "_vprodexcept": (
        (),
        """
def _vprodexcept(v):
    # the product of all the other elements, for each element: prefix times suffix
    # products, exact at zeros (no division)
    v = np.asarray(v, dtype=np.float64)
    before = np.ones(v.shape)
    after = np.ones(v.shape)
    if v.shape[-1] > 1:
        before[..., 1:] = np.cumprod(v[..., :-1], axis=-1)
        after[..., :-1] = np.cumprod(v[..., :0:-1], axis=-1)[..., ::-1]
    return before * after
""",
    ),
    "_vprodexceptdot": (
        (),
        """
def _vprodexceptdot(v, dv):
    # the tangent of _vprodexcept(v) along dv: the same products in dual numbers
    v, dv = np.broadcast_arrays(np.asarray(v, np.float64), np.asarray(dv, np.float64))
    p, dp = np.ones(v.shape[:-1]), np.zeros(v.shape[:-1])
    before, dbefore = np.ones(v.shape), np.zeros(v.shape)
    for k in range(v.shape[-1]):
        before[..., k], dbefore[..., k] = p, dp
        p, dp = p * v[..., k], dp * v[..., k] + p * dv[..., k]
    p, dp = np.ones(v.shape[:-1]), np.zeros(v.shape[:-1])
    out = np.zeros(v.shape)
    for k in range(v.shape[-1] - 1, -1, -1):
        out[..., k] = dbefore[..., k] * p + before[..., k] * dp
        p, dp = p * v[..., k], dp * v[..., k] + p * dv[..., k]
    return out
""",
    ),
}


_FUNCTIONS: Final = helper_functions(VECTOR_HELPERS, np=np)
vslice = _FUNCTIONS["_vslice"]
vfill = _FUNCTIONS["_vfill"]
vscatter = _FUNCTIONS["_vscatter"]
vunslice = _FUNCTIONS["_vunslice"]
vpickmax = _FUNCTIONS["_vpickmax"]
vpickmin = _FUNCTIONS["_vpickmin"]
vprodexcept = _FUNCTIONS["_vprodexcept"]
vprodexceptdot = _FUNCTIONS["_vprodexceptdot"]
