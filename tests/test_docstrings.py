"""Every public name of chainrule.engine and chainrule.nn has a docstring.

Public means: every name in the packages' ``__all__`` (functions, classes, modules), and every
public method or property of an exported class, including ``__call__``. A method that overrides
a documented one inherits its docstring (as ``help()`` and ``inspect.getdoc`` show it); a class
must document itself.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Iterator

import pytest

import chainrule.engine
import chainrule.nn

PACKAGES = [chainrule.engine, chainrule.nn]


def _public_members(cls: type) -> Iterator[tuple[str, object]]:
    """The public methods and properties ``cls`` defines or inherits (from chainrule)."""
    seen: set[str] = set()
    for klass in cls.__mro__:
        if klass is object or not klass.__module__.startswith("chainrule."):
            continue
        for name, member in vars(klass).items():
            if name in seen or (name.startswith("_") and name != "__call__"):
                continue
            seen.add(name)
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            if inspect.isfunction(member) or isinstance(member, property):
                yield name, getattr(cls, name)


def undocumented() -> list[str]:
    missing = []
    for package in PACKAGES:
        for name in package.__all__:
            obj = getattr(package, name)
            where = f"{package.__name__}.{name}"
            if inspect.isclass(obj):
                if not (obj.__doc__ or "").strip():
                    missing.append(where)
                if obj.__module__.startswith("chainrule."):
                    for member_name, member in _public_members(obj):
                        if not (inspect.getdoc(member) or "").strip():
                            missing.append(f"{where}.{member_name}")
            elif ((callable(obj) or isinstance(obj, types.ModuleType))
                  and not (inspect.getdoc(obj) or "").strip()):
                missing.append(where)
    return missing


def test_the_walk_finds_the_public_api():
    """The check below is not vacuous: it sees classes, methods, properties and functions."""
    names = {name for name, _ in _public_members(chainrule.nn.MLP)}
    assert {"__call__", "parameters", "summary", "num_parameters", "nout"} <= names
    assert {"backward", "data", "tanh", "zero_grad"} <= {
        name for name, _ in _public_members(chainrule.engine.Value)}
    assert "fit" in chainrule.nn.__all__ and "gradients" in chainrule.engine.__all__


def test_every_public_name_has_a_docstring():
    missing = undocumented()
    if missing:
        pytest.fail(f"{len(missing)} public names without a docstring:\n  " + "\n  ".join(missing))
