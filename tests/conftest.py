"""Shared test setup: a per-session cache directory for generated modules, Hypothesis profiles."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

# Generated modules and Numba's cache go to a fresh directory unless the caller chose one;
# the process that made it removes it at exit (pytest-xdist workers inherit the variable).
if "ADCOMPILE_CACHE_DIR" not in os.environ:
    os.environ["ADCOMPILE_CACHE_DIR"] = tempfile.mkdtemp(prefix="adcompile-tests-")
    atexit.register(shutil.rmtree, os.environ["ADCOMPILE_CACHE_DIR"], ignore_errors=True)

# Compiled tiers build synchronously, before the first result (DESIGN.md section 3b): the
# tests check the compiled kernels; tests/api/test_tiers.py turns the background back on.
os.environ.setdefault("ADCOMPILE_BACKGROUND", "0")

settings.register_profile(
    "default", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=60,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else "default")

ROOT = Path(__file__).resolve().parent.parent
#: The public acceptance corpus, copied from the project's shared/acceptance (the repository
#: carries its own copy: a fresh clone with nothing beside it passes the tests).
ACCEPTANCE = ROOT / "tests" / "data"


def load_acceptance(name: str) -> list[dict[str, Any]]:
    """Entries of tests/data/<name> (cases.json or errors.json)."""
    with (ACCEPTANCE / name).open(encoding="utf-8") as fh:
        data: list[dict[str, Any]] = json.load(fh)
    return data
