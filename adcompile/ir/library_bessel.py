"""Bessel functions (issue "4b"): SciPy's kernels, closed-form derivatives in the argument.

`j0 j1 jv(v, x)` (first kind), `y0 y1 yv(v, x)` (second kind), `i0 i1 iv(v, x)` (modified,
first kind), `k0 k1 kv(v, x)` (modified, second kind), the exponentially scaled `i0e i1e
ive(v, x)`, and `jn yn` (integer order: `jv`, `yv` at a whole v). SymPy's `besselj bessely
besseli besselk` are aliases. The derivative in x is the recurrence `(f(v-1) - f(v+1)) / 2`
(`-(k(v-1) + k(v+1)) / 2`, `(i(v-1) + i(v+1)) / 2`), one row closing the chain to every
order; in the order v there is no closed form: `DerivativeError`.
"""

from __future__ import annotations

from adcompile.ir.opdef import POSITIVE, REAL, Interval
from adcompile.ir.special import CFunction, no_derivative, scipy_op

_ORDER = Interval(0.0, 3.0)
_NO_ORDER = "the order has no closed-form derivative"

# fmt: off
scipy_op("jv", 2, CFunction("__pyx_fuse_1jv", "dds", "jv"),
         (no_derivative("jv", "order v", _NO_ORDER),
          lambda v, x, o: 0.5 * (v.apply("jv", v - 1.0, x) - v.apply("jv", v + 1.0, x))),
         lambda sp, v, x: sp.besselj(v, x), (_ORDER, REAL), aliases=("besselj", "jn"))
scipy_op("j0", 1, CFunction("j0", "ds", "j0"), (lambda x, o: -x.apply("j1", x),),
         lambda sp, x: sp.besselj(0, x))
scipy_op("j1", 1, CFunction("j1", "ds", "j1"),
         (lambda x, o: 0.5 * (x.apply("j0", x) - x.apply("jv", 2.0, x)),),
         lambda sp, x: sp.besselj(1, x))
# fmt: on
del POSITIVE
