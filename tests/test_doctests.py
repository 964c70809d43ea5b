"""The examples in the docstrings of chainrule.engine and chainrule.nn run, and print what they
say they print: every module of both packages is searched, as installed."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import chainrule.engine
import chainrule.nn


def _modules() -> list[str]:
    names = []
    for package in (chainrule.engine, chainrule.nn):
        names.append(package.__name__)
        names += [info.name for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")]
    return sorted(names)


def _examples(name: str) -> list[doctest.DocTest]:
    """The docstrings with examples in module ``name`` (not in what it imports)."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [test for test in finder.find(importlib.import_module(name), name) if test.examples]


MODULES = _modules()
WITH_EXAMPLES = [name for name in MODULES if _examples(name)]


def test_the_search_finds_the_modules_and_their_examples():
    assert {"chainrule.engine.value", "chainrule.nn.module", "chainrule.engine.compile.jit",
            "chainrule.nn.training.loop"} <= set(MODULES)
    assert {"chainrule.engine", "chainrule.engine.value", "chainrule.nn",
            "chainrule.nn.module"} <= set(WITH_EXAMPLES)


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples(name: str) -> None:
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    for test in _examples(name):
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
