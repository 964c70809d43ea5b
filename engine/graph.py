"""Walking a recorded graph."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .value import Value


def topological_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on, inputs before the nodes computed from them.

    Iterative depth-first post-order that visits inputs in argument order, so the order is the
    same on every run (it never depends on ``id()`` or set order) and, for an expression written
    as a tree, it is the order in which the operations were written. No recursion: depth is
    limited by memory only.
    """
    order: list[Value] = []
    discovered = {root}
    stack = [root]
    # Bound methods hoisted out of the loop: this loop runs once per node of every backward().
    discover, push, pop, emit = discovered.add, stack.append, stack.pop, order.append
    while stack:
        node = stack[-1]
        a = node._a
        if a is not None and a not in discovered:
            discover(a)
            push(a)
            continue
        b = node._b
        if b is not None and b not in discovered:
            discover(b)
            push(b)
            continue
        emit(pop())
    return order
