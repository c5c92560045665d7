"""The function library (issue "4b"): the gamma family. See `ir.special` for how a row is
declared (`scipy_op`, `library_op`, `no_derivative`).

gamma, lgamma, digamma and polygamma (issue "4 of 7") come first: C-library values for gamma
and lgamma, the Numba-compatible helpers of `numeric.HELPERS` for digamma and polygamma.
"""

from __future__ import annotations

import math
from typing import Any

from adcompile.ir.builders import digamma, polygamma
from adcompile.ir.numeric import _digamma, _gamma, _lgamma, _polygamma
from adcompile.ir.opdef import POSITIVE, Interval, defop
from adcompile.ir.special import LIBRARY, no_derivative


def _order(sp: Any, n: Any) -> Any:
    """polygamma's order as SymPy sees it: a whole number (NaN if n is not one); for a
    symbol n, n itself at 0, 1, ..., 8 and NaN elsewhere, piecewise constant (so d/dn is 0,
    as in the table). Exported formulas have a constant order, which needs none of this."""
    if n.is_Number:
        v = float(n)
        return sp.Integer(int(v)) if math.isfinite(v) and v == int(v) and v >= 0 else sp.nan
    return sp.Piecewise(*[(k, sp.Eq(n, k)) for k in range(9)], (sp.nan, True))


# fmt: off
# ---- special functions ---------------------------------------------------------------------------
# gamma' = gamma psi (o * digamma: a product, as accurate as its factors), lgamma' = psi
# (lgamma = ln|gamma|, the C library's and SciPy's gammaln; SymPy's loggamma is the same for
# x > 0), psi' = polygamma(1, x), and polygamma(n, x)' = polygamma(n + 1, x): the chain
# closes in one row, to every order. Its order n is a whole number (n not whole: NaN), a
# constant in every rule; d/dn does not exist: a `DerivativeError` if n depends on what is
# differentiated (issue "4b"; SymPy: `_order`). The
# values are the C library's (gamma, lgamma) and numeric.HELPERS (digamma, polygamma).
defop("gamma",   1, _gamma,   (lambda x, o: o * digamma(x),),
      lambda sp, x: sp.gamma(x), (POSITIVE,))
defop("lgamma",  1, _lgamma,  (lambda x, o: digamma(x),),
      lambda sp, x: sp.loggamma(x), (POSITIVE,))
defop("digamma", 1, _digamma, (lambda x, o: polygamma(1.0, x),),
      lambda sp, x: sp.polygamma(0, x), (POSITIVE,))
defop("polygamma", 2, _polygamma, (no_derivative("polygamma", "order n", "a whole number"),
                                   lambda n, x, o: polygamma(n + 1.0, x)),
      lambda sp, n, x: sp.polygamma(_order(sp, n), x), (Interval(1.0, 1.0), POSITIVE))
# fmt: on
LIBRARY.update({"gamma", "lgamma", "digamma", "polygamma"})
