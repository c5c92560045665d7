"""The examples in the public docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

import adcompile
from adcompile.api import evaluator as api

trace_module = importlib.import_module("adcompile.tools.trace")


@pytest.mark.parametrize("module", [adcompile, api, trace_module], ids=lambda m: m.__name__)
def test_docstring_examples(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{module.__name__} has no examples"
    assert result.failed == 0
