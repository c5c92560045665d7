"""The direction of a derivative product, as a call gives it (`tangents=`, `cotangents=`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from adcompile.errors import did_you_mean


def seed_values(
    kind: str, keyword: str | None, seeds: Sequence[str], kwargs: dict[str, Any]
) -> list[Any]:
    """The direction of a product given by `keyword` (`tangents=`/`cotangents=`), one value
    per seed, taken out of `kwargs`: a sequence in order, a dict by name (missing: 0), or
    one value (or array) when there is one seed."""
    if keyword is None:
        return []
    if keyword not in kwargs:
        raise TypeError(f"{kind} needs {keyword}= (one per {', '.join(seeds)})")
    given = kwargs.pop(keyword)
    if isinstance(given, dict):
        unknown = [k for k in given if k not in seeds]
        if unknown:
            raise TypeError(
                f"{keyword}: unknown name '{unknown[0]}'"
                f"{did_you_mean(str(unknown[0]), seeds)}; expected {', '.join(seeds)}"
            )
        return [given.get(k, 0.0) for k in seeds]
    if len(seeds) == 1 and not isinstance(given, (tuple, list)):
        return [given]  # one value, or one array: a seed per point
    if isinstance(given, np.ndarray) and given.ndim >= 1:
        given = list(given)  # a direction vector, or one row of seeds per entry
    if not isinstance(given, (tuple, list)) or len(given) != len(seeds):
        got = len(given) if isinstance(given, (tuple, list)) else "one value"
        raise ValueError(f"{keyword}: expected {len(seeds)} values ({', '.join(seeds)}), got {got}")
    return list(given)
