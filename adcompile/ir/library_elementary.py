"""The function library (issue "4b"): the elementary family. See `ir.special` for how a row is
declared (`scipy_op`, `library_op`, `no_derivative`)."""

from __future__ import annotations
