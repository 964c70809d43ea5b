"""Whole graphs: random composites with shared subexpressions, fan-out, depth, determinism."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.engine import PRIMITIVES, Value, gradients, topological_order

from support.gradcheck import assert_gradient_close, partial_difference
from support.strategies import reals

P = PRIMITIVES

# Steps of a random graph: each keeps values in a range where every gradient is well-posed,
# using only primitives (applied to floats or Values alike, so one recipe serves both).
STEPS = {
    "add": (2, lambda x, y: P["add"](x, y)),
    "sub": (2, lambda x, y: P["sub"](x, y)),
    "mul": (2, lambda x, y: P["mul"](x, y)),
    "tanh": (1, lambda x: P["tanh"](x)),
    "sigmoid": (1, lambda x: P["sigmoid"](x)),
    "sin": (1, lambda x: P["sin"](x)),
    "cos": (1, lambda x: P["cos"](x)),
    "neg": (1, lambda x: P["neg"](x)),
    "softplus": (1, lambda x: P["softplus"](P["tanh"](x))),
    "exp_of_tanh": (1, lambda x: P["exp"](P["tanh"](x))),
    "log_of_square": (1, lambda x: P["log"](P["add"](1.0, P["mul"](x, x)))),
    "sqrt_of_square": (1, lambda x: P["sqrt"](P["add"](0.5, P["mul"](x, x)))),
    "div_bounded": (2, lambda x, y: P["div"](x, P["add"](2.0, P["sin"](y)))),
    "pow_positive": (2, lambda x, y: P["pow"](P["add"](1.5, P["sin"](x)), P["tanh"](y))),
    "square": (1, lambda x: P["pow"](x, 2.0)),
}


@st.composite
def recipes(draw: st.DrawFn) -> tuple[list[float], list[tuple[str, tuple[int, ...]]]]:
    """Leaf values and a list of steps, each naming earlier nodes (leaves or steps) as operands.

    Operands are drawn with replacement and biased towards recent nodes, so nodes are reused
    (fan-out) and the same node can be both operands (``x * x``).
    """
    leaves = draw(st.lists(reals(-2.0, 2.0), min_size=1, max_size=4))
    steps = []
    for k in range(draw(st.integers(1, 14))):
        name = draw(st.sampled_from(sorted(STEPS)))
        available = len(leaves) + k
        operands = tuple(
            draw(st.integers(0, available - 1)) for _ in range(STEPS[name][0])
        )
        steps.append((name, operands))
    return leaves, steps


def run(recipe_steps, inputs):  # type: ignore[no-untyped-def]
    """Evaluate a recipe on floats or on Values; the output sums every step (all of them matter)."""
    nodes = list(inputs)
    for name, operands in recipe_steps:
        nodes.append(STEPS[name][1](*(nodes[i] for i in operands)))
    total = nodes[len(inputs)]
    for node in nodes[len(inputs) + 1 :]:
        total = P["add"](total, node)
    return total


@settings(max_examples=300)
@given(recipes())
def test_random_graphs_match_finite_differences_leaf_by_leaf(recipe) -> None:  # type: ignore[no-untyped-def]
    values, recipe_steps = recipe
    leaves = [Value(v, label=f"x{i}") for i, v in enumerate(values)]
    out = run(recipe_steps, leaves)
    assert out.data == run(recipe_steps, values)  # recording changes nothing numerically
    out.backward()

    def on_floats(*point: float) -> float:
        return run(recipe_steps, point)

    for i, leaf in enumerate(leaves):
        numeric = partial_difference(on_floats, values, i)
        assert_gradient_close(leaf.grad, numeric, f"leaf x{i} of {recipe_steps}")


@given(recipes())
def test_gradients_function_agrees_with_backward_and_has_no_side_effects(recipe) -> None:  # type: ignore[no-untyped-def]
    values, recipe_steps = recipe
    leaves = [Value(v) for v in values]
    out = run(recipe_steps, leaves)
    functional = gradients(out, leaves)
    assert all(leaf.grad == 0.0 for leaf in leaves)
    out.backward()
    assert functional == pytest.approx([leaf.grad for leaf in leaves], rel=1e-12, abs=1e-15)


def test_fan_out_accumulates() -> None:
    a = Value(3.0, label="a")
    b = a + a
    assert b.inputs == (a, a)
    c = b * b + a  # a reaches c along five paths
    c.backward()
    assert a.grad == 2 * b.data * 2 + 1
    assert b.grad == 2 * b.data


def test_a_node_used_by_many_consumers() -> None:
    x = Value(0.5)
    terms = [x * k for k in range(1, 101)]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    total.backward()
    assert x.grad == sum(range(1, 101))


def test_deep_chain_of_a_million_operations_at_the_default_recursion_limit() -> None:
    assert sys.getrecursionlimit() <= 10_000
    x = Value(1.0)
    y = x
    factor = 1.0 + 1e-7
    for _ in range(1_000_000):
        y = y * factor
    y.backward()
    assert x.grad == pytest.approx(factor**1_000_000, rel=1e-9)
    assert len(y.inputs) == 2
    del y  # freeing a million-deep chain must not overflow the C stack either


def test_deep_chain_like_the_one_that_breaks_micrograd() -> None:
    x = Value(0.3)
    y = x
    for _ in range(2_000):  # ~6,000 nodes deep; micrograd fails from about 1,000
        y = (y * 0.9 + 0.1).tanh()
    y.backward()
    assert 0.0 < x.grad < 1.0


def test_topological_order_puts_inputs_first_and_follows_the_written_order() -> None:
    a, b, c = Value(1.0, label="a"), Value(2.0, label="b"), Value(3.0, label="c")
    ab = a * b
    out = ab + c
    order = topological_order(out)
    assert order == [a, b, ab, c, out]
    position = {node: i for i, node in enumerate(order)}
    assert all(position[i] < position[n] for n in order for i in n.inputs)


def test_topological_order_is_the_same_in_every_process() -> None:
    program = textwrap.dedent(
        """
        from chainrule.engine import Value, topological_order
        xs = [Value(float(i), label=f"x{i}") for i in range(6)]
        shared = xs[0] * xs[1]
        out = (shared + xs[2]).tanh() * shared + sum(xs[3:], start=shared) - xs[0]
        print([(n.label, n.op, n.data) for n in topological_order(out)])
        """
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", program], capture_output=True, text=True, check=True,
            env={"PYTHONHASHSEED": str(seed), "PATH": ""},
        ).stdout
        for seed in (0, 1, 2)
    }
    assert len(runs) == 1
