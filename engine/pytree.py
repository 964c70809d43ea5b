"""Argument structures: nested lists, tuples and dicts of numbers (or Values), as JAX's pytrees.

The transformations (:mod:`~chainrule.engine.autograd`) and the compiler
(:mod:`~chainrule.engine.compile`) take arguments such as ``[w1, w2, [b]]``: :func:`flatten`
gives their leaves and a *structure*, a hashable description of the nesting, and
:func:`unflatten` puts leaves back in that nesting. A sequence whose children are all leaves
(the common flat list of parameters) is described by its type and its length alone, which is
what lets :func:`flat_leaves` recognise one without looking at each leaf twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import OperandTypeError
from .value import Value, as_float

#: ``argnums`` as the transformations take it: one position, or several.
Argnums = int | Sequence[int]


class _Keys(tuple[Any, ...]):
    """The keys of a dict in a structure (in the dict's order), standing where a list's or a
    tuple's type stands."""

    def build(self, values: Any) -> dict[Any, Any]:
        return dict(zip(self, values, strict=True))


def _make(kind: Any, values: Any) -> Any:
    if isinstance(kind, _Keys):
        return kind.build(values)
    return values if type(values) is kind else kind(values)


def flatten(tree: Any, caller: str, role: str = " argument") -> tuple[list[Any], Any]:
    """The numbers (or Values) of a nested list/tuple, and a description of its nesting:
    ``None`` for a single leaf, ``(type, n)`` for a sequence of n leaves, ``(type,
    (children...))`` otherwise. A leaf that is not a number is an error naming ``caller``
    and ``role``."""
    leaves: list[Any] = []

    def walk(node: Any) -> Any:
        if isinstance(node, (list, tuple, dict)):
            kind = _Keys(node) if isinstance(node, dict) else type(node)
            children = tuple(walk(child) for child in (node.values() if isinstance(node, dict)
                                                        else node))
            if all(child is None for child in children):
                return (kind, len(children))
            return (kind, children)
        if isinstance(node, Value):
            leaves.append(node)
        else:
            leaves.append(as_float(node, caller, role))
        return None

    return leaves, walk(tree)


def unflatten(structure: Any, leaves: Sequence[Any]) -> Any:
    """The inverse of :func:`flatten`: ``leaves`` in the nesting ``structure`` describes."""
    if structure is None:
        return leaves[0]
    kind, children = structure
    if type(children) is int:
        return _make(kind, leaves[:children])
    position = 0

    def build(node: Any) -> Any:
        nonlocal position
        if node is None:
            position += 1
            return leaves[position - 1]
        kind, children = node
        if type(children) is int:
            position += children
            return _make(kind, leaves[position - children : position])
        return _make(kind, [build(child) for child in children])

    return build(structure)


def count_leaves(structure: Any) -> int:
    """How many leaves a structure holds."""
    if structure is None:
        return 1
    children = structure[1]
    if type(children) is int:
        return int(children)
    return sum(count_leaves(child) for child in children)


def flat_leaves(args: Sequence[Any]) -> tuple[list[float], tuple[Any, ...]] | None:
    """The fast path of :func:`flatten` over several arguments: their leaves and structures
    when every argument is a float or a flat list or tuple of floats, all finite (what a
    training loop passes); ``None`` for anything else (then :func:`flatten` validates and
    says what is wrong). The same structures as :func:`flatten`'s, so both find the same
    cached program."""
    leaves: list[float] = []
    structures: list[Any] = []
    for arg in args:
        kind = type(arg)
        if kind is float:
            leaves.append(arg)
            structures.append(None)
        elif kind is list or kind is tuple:
            if arg and set(map(type, arg)) != {float}:
                return None
            leaves.extend(arg)
            structures.append((kind, len(arg)))
        else:
            return None
    total = sum(leaves)
    if total - total:  # an infinity or a NaN among them (or an overflowing sum): validate
        return None
    return leaves, tuple(structures)


def argnum_tuple(argnums: Argnums, count: int, caller: str) -> tuple[int, ...]:
    """``argnums`` as a tuple of non-negative positions among ``count`` arguments."""
    numbers = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not numbers or not all(isinstance(n, int) for n in numbers):
        raise OperandTypeError(f"{caller}: argnums must be an int or a tuple of ints, got {argnums!r}")
    for n in numbers:
        if not -count <= n < count:
            raise OperandTypeError(f"{caller}: argnums {n} but only {count} argument(s)")
    return tuple(n % count for n in numbers)


def contains_value(tree: Any) -> bool:
    """Whether a nested list/tuple holds a Value anywhere."""
    if isinstance(tree, Value):
        return True
    if isinstance(tree, (list, tuple)):
        return any(contains_value(child) for child in tree)
    if isinstance(tree, dict):
        return any(contains_value(child) for child in tree.values())
    return False
