"""Walking a recorded graph."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .value import Value


#: The type of an n-ary node's ``_a``: the tuple of its inputs. (The slot is declared a Value,
#: as it is for every other node; comparing with this name keeps type checkers content.)
INPUT_TUPLE: type = tuple


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


def topological_order_until(roots: Sequence[Value], leaves: Collection[Value]) -> list[Value]:
    """:func:`topological_order` of ``roots`` (the same depth-first post-order, inputs in
    argument order) with the nodes in ``leaves`` taken as leaves: their inputs are not walked
    (a compiled program's detached values). A general walk, for code built once per trace;
    the one above is the engine's hot path."""
    order: list[Value] = []
    discovered: set[Value] = set()
    for root in roots:
        if root in discovered:
            continue
        discovered.add(root)
        stack = [(root, iter(() if root in leaves else root.inputs))]
        while stack:
            node, pending = stack[-1]
            for child in pending:
                if child not in discovered:
                    discovered.add(child)
                    stack.append((child, iter(() if child in leaves else child.inputs)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def size_in_binary_nodes(order: list[Value]) -> int:
    """How many nodes ``order`` would be with every operation binary: an n-ary node (``dot`` of
    n pairs, a sum of n terms) counts as the nodes its chain would be (2n - 1, n - 1). What a
    step-by-step explanation writes grows with this, not with the count of nodes."""
    return sum(max(1, len(node.inputs) - 1) for node in order)


def _walk(root: Value, discovered: set[Value], order: list[Value]) -> None:
    stack = [root]  # the path from root down to the node being explored
    # Bound methods hoisted out of the loops: they run a few times per node of every backward().
    discover, push, pop, emit = discovered.add, stack.append, stack.pop, order.append
    # For an n-ary node on the stack (its inputs are a tuple in _a): the next input to look at.
    resume: dict[Value, int] = {}
    node = root
    while True:
        # Go down through first inputs as long as they are new: a long chain of operations
        # (a sum, a deep network) is walked here without going round the outer loop.
        a = node._a
        if type(a) is INPUT_TUPLE:
            a = a[0]  # type: ignore[index]  # the first of its inputs
        while a is not None and a not in discovered:
            discover(a)
            push(a)
            node, a = a, a._a
            if type(a) is INPUT_TUPLE:
                a = a[0]  # type: ignore[index]
        # `node`'s first input is finished (or it has none). Emit it if its other inputs are
        # finished too; then do the same for the node below it on the stack, whose input just
        # emitted is finished now, and so on until one has an input not yet discovered.
        while True:
            b = node._b
            if b is None and type(node._a) is INPUT_TUPLE:
                inputs: tuple[Value, ...] = node._a  # type: ignore[assignment]
                # Every input before `resume` was discovered, and a discovered input of a node
                # on the stack is finished (the graph has no cycles).
                i = resume.get(node, 1)
                while i < len(inputs) and inputs[i] in discovered:
                    i += 1
                if i < len(inputs):
                    resume[node] = i + 1
                    b = inputs[i]
                    break
            elif b is not None and b not in discovered:
                break
            emit(pop())
            if not stack:
                return
            node = stack[-1]
        discover(b)
        push(b)
        node = b
