"""The live page's Python side: the graph of a walkthrough rebuilt with other leaf values, and
its numbers computed by eager Python (what the page's JavaScript program must agree with, and
what :meth:`~chainrule.engine.explain.Walkthrough.widget` reports back to Python).

Nodes are numbered as the page numbers them: node ``i`` is the ``i``-th node of
:func:`~chainrule.engine.graph.topological_order` of the root, and the editable leaves are the
leaves that are not constants, in that order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..graph import topological_order
from ..value import Value, apply

__all__ = ["EagerNumbers", "eager_numbers", "editable_leaves", "rebuilt", "rebuilt_order"]


def editable_leaves(order: list[Value]) -> list[int]:
    """The positions in ``order`` of the leaves a learner can change: every leaf but the
    constants (the numbers written into the expression, ``x * 2``)."""
    return [i for i, node in enumerate(order) if node.is_leaf and not node.is_constant]


def rebuilt_order(order: list[Value], leaves: Mapping[int, float]) -> list[Value]:
    """A new graph with the operations of the graph whose topological order is ``order``, each
    leaf ``i`` of ``leaves`` set to its new value and every other leaf as it is now; returned
    as its own topological order (node ``i`` of the copy is node ``i`` of ``order``). The
    original graph is not touched. Raises the engine's own error (a
    :class:`~chainrule.engine.errors.DomainError`...) when an operation leaves its domain, as
    building the graph by hand with those numbers would."""
    position = {id(node): i for i, node in enumerate(order)}
    made: list[Value] = []
    for i, node in enumerate(order):
        primitive = node.primitive
        if node.is_constant:
            made.append(node)  # a number of the expression: shared, never changed
        elif primitive is None:
            made.append(Value(leaves.get(i, node.data), label=node.label))
        else:
            result = apply(primitive, tuple(made[position[id(x)]] for x in node.inputs))
            if node.label is not None:
                result.label = node.label
            made.append(result)
    return made


def rebuilt(root: Value, leaves: Mapping[int, float], order: list[Value] | None = None) -> Value:
    """The root of :func:`rebuilt_order` for ``root``'s graph (``order`` is its topological
    order when the caller has it)."""
    return rebuilt_order(topological_order(root) if order is None else order, leaves)[-1]


@dataclass(frozen=True)
class EagerNumbers:
    """Every node's value and gradient (None for a constant), numbered as the page numbers
    them."""

    values: tuple[float, ...]
    grads: tuple[float | None, ...]


def eager_numbers(root: Value, leaves: Mapping[int, float],
                  order: list[Value] | None = None) -> EagerNumbers:
    """The values and gradients of :func:`rebuilt` ``(root, leaves, order)``, by
    ``backward()``."""
    new_root = rebuilt(root, leaves, order)
    new_root.backward()
    order = topological_order(new_root)
    return EagerNumbers(tuple(node.data for node in order),
                        tuple(None if node.is_constant else node.grad for node in order))
