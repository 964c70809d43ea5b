"""The engine's fast paths give exactly what the general paths give.

backward() skips calling a derivative when the primitive table already says what it is
(``constant_derivatives``, ``swaps_inputs``, derived from the formulas), and the topological
sort walks first-input chains in an inner loop. Both must be invisible: same order, same floats.
"""

from __future__ import annotations

import random
import sys

import pytest

from chainrule.engine import PRIMITIVES, Primitive, Value, gradients, topological_order


def test_derived_fields_come_from_the_derivative_code() -> None:
    derived = {
        name: (p.constant_derivatives, p.swaps_inputs)
        for name, p in PRIMITIVES.items()
        if p.constant_derivatives is not None or p.swaps_inputs
    }
    assert derived == {
        "add": ((1.0, 1.0), False),
        "sub": ((1.0, -1.0), False),
        "neg": ((-1.0,), False),
        "mul": (None, True),
    }


def test_fast_path_fields_follow_the_code_of_a_new_primitive() -> None:
    twice = Primitive("twice", "2 * {x}", "2.0 * x", ("2.0",), ("2",))
    assert twice.constant_derivatives == (2.0,) and twice.derivatives[0](5.0, 10.0) == 2.0
    swapped = Primitive("times", "{a} . {b}", "a * b", ("b", "a"), ("b", "a"), ("a", "b"))
    assert swapped.swaps_inputs and swapped.forward(2.0, 3.0) == 6.0
    not_swapped = Primitive("other", "{a} . {b}", "a * b", ("b", "b"), ("b", "b"), ("a", "b"))
    assert not not_swapped.swaps_inputs and not_swapped.constant_derivatives is None
    with pytest.raises(ValueError, match="one derivative and formula per input"):
        Primitive("broken", "{x} . {y}", "x * y", ("y",), ("y",), ("x", "y"))


#: Operations with and without a fast path, constants on either side, repeated operands.
OPERATIONS = [
    lambda x, y: x + y, lambda x, y: x - y, lambda x, y: x * y, lambda x, y: x * x,
    lambda x, y: -x, lambda x, y: 1.5 * x, lambda x, y: x - 0.25, lambda x, y: 2.0 - y,
    lambda x, y: x.tanh(), lambda x, y: x / (y * y + 1.0),
]


def random_graph(rng: random.Random) -> tuple[Value, list[Value]]:
    """A random expression over a few leaves, with shared subexpressions."""
    leaves = [Value(rng.uniform(0.5, 2.0)) for _ in range(rng.randint(1, 4))]
    pool = list(leaves)
    for _ in range(rng.randint(1, 40)):
        pool.append(rng.choice(OPERATIONS)(rng.choice(pool), rng.choice(pool)))
    root = pool[-1] if rng.random() < 0.5 else sum(pool[-4:], pool[0])
    return root, leaves


def recursive_order(root: Value) -> list[Value]:
    """The definition: depth-first post-order, inputs in argument order, each node once."""
    order: list[Value] = []
    seen: set[Value] = set()

    def visit(node: Value) -> None:
        if node in seen:
            return
        seen.add(node)
        for child in node.inputs:
            visit(child)
        order.append(node)

    visit(root)
    return order


@pytest.mark.parametrize("seed", range(60))
def test_backward_matches_the_general_chain_rule_exactly(seed: int) -> None:
    root, leaves = random_graph(random.Random(seed))
    expected = gradients(root, leaves)  # calls every derivative function
    root.backward()
    assert [leaf.grad for leaf in leaves] == expected


@pytest.mark.parametrize("seed", range(60))
def test_topological_order_is_the_depth_first_post_order(seed: int) -> None:
    root, _ = random_graph(random.Random(seed))
    assert topological_order(root) == recursive_order(root)


def test_topological_order_of_a_deep_chain_with_side_branches() -> None:
    # Deeper than the recursion limit, and every link has a second input to come back for.
    x = Value(0.5)
    for i in range(3 * sys.getrecursionlimit()):
        x = x * Value(0.5) + (x * 0.5 if i % 2 else 0.25)
    order = topological_order(x)
    assert order[-1] is x and len(order) == len(set(order))
    position = {node: index for index, node in enumerate(order)}
    assert all(position[i] < position[node] for node in order for i in node.inputs)


def _fields(node: Value) -> dict[str, object]:
    fields = {name: getattr(node, name) for name in Value.__slots__}  # AttributeError if unset
    return {**fields, "label": node.label, "scope": node.scope}


def test_every_construction_path_sets_every_node_field() -> None:
    from chainrule.engine import constant, no_grad, scope
    from chainrule.engine.primitives import ADD, MUL, TANH
    from chainrule.engine.value import _binary, _operand, _unary

    a, b = Value(1.5, label="a"), Value(-0.5)
    for recording in (True, False):
        context = no_grad() if not recording else scope("layer0")
        with context:
            made = {
                "Value()": Value(2.0), "constant()": constant(3.0), "operand": _operand(MUL, 4.0),
                "_unary": _unary(TANH, a), "_binary": _binary(ADD, a, b), "__add__": a + b,
                "__mul__": a * b, "__radd__": 1.0 + a, "__rmul__": 2.0 * a, "method": a.exp(),
                "detach": a.detach(),
            }
        for path, node in made.items():
            fields = _fields(node)
            assert fields["grad"] == 0.0, path
            assert fields["scope"] == (("layer0",) if recording else ()), path
    # The operators that build their node themselves make exactly the node _binary makes.
    for op, inline in ((ADD, lambda x, y: x + y), (MUL, lambda x, y: x * y)):
        expected, got = _fields(_binary(op, a, b)), _fields(inline(a, b))
        assert expected == got and expected["_tag"] is got["_tag"]


def test_a_constant_made_inside_no_grad_stays_a_constant() -> None:
    from chainrule.engine import constant, no_grad

    with no_grad():
        c = constant(3.0)
    x = Value(2.0)
    y = c.exp() * x
    y.backward()
    assert c.is_constant and c.grad == 0.0 and x.grad == y.data / 2.0
