"""The examples in the public docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["adcompile", "adcompile.api.formula", "adcompile.api.results", "adcompile.tools.trace"]


@pytest.mark.parametrize("module", [importlib.import_module(m) for m in MODULES], ids=MODULES)
def test_docstring_examples(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{module.__name__} has no examples"
    assert result.failed == 0
