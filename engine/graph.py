"""Walking a recorded graph."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .value import Value


def topological_order(root: Value, *more_roots: Value) -> list[Value]:
    """Every node ``root`` (and ``more_roots``) depend on, inputs before the nodes computed
    from them.

    Iterative depth-first post-order that visits inputs in argument order, so the order is the
    same on every run (it never depends on ``id()`` or set order) and, for an expression written
    as a tree, it is the order in which the operations were written. No recursion: depth is
    limited by memory only. Several roots are walked one after the other, sharing what they
    have in common.
    """
    order: list[Value] = []
    discovered = {root}
    _walk(root, discovered, order)
    for another in more_roots:
        if another not in discovered:
            discovered.add(another)
            _walk(another, discovered, order)
    return order


def _walk(root: Value, discovered: set[Value], order: list[Value]) -> None:
    stack = [root]  # the path from root down to the node being explored
    # Bound methods hoisted out of the loops: they run a few times per node of every backward().
    discover, push, pop, emit = discovered.add, stack.append, stack.pop, order.append
    node = root
    while True:
        # Go down through first inputs as long as they are new: a long chain of operations
        # (a sum, a deep network) is walked here without going round the outer loop.
        a = node._a
        while a is not None and a not in discovered:
            discover(a)
            push(a)
            node, a = a, a._a
        # `node`'s first input is finished (or it has none). Emit it if its second input is
        # finished too; then do the same for the node below it on the stack, whose first input
        # is also finished now (the node just emitted was its first or its second input), and
        # so on until one has a second input not yet discovered.
        while True:
            b = node._b
            if b is not None and b not in discovered:
                break
            emit(pop())
            if not stack:
                return
            node = stack[-1]
        discover(b)
        push(b)
        node = b
