"""Every path that computes a gradient follows the chain-rule module's one set of rules:
``backward()``, ``gradients()``, ``grad``/``value_and_grad``, the walkthrough's trace and
compiled code give the same numbers (``==``) or the same error on the same graph."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.engine import (
    ChainruleError,
    GradientError,
    Value,
    gradients,
    jit,
    topological_order,
    trace_backward,
    value_and_grad,
)

from support.explain import HOSTILE_LABELS, apply_operation, graph_recipes, outcome, twisted_nodes


def _outcome(call: Any) -> Any:
    try:
        return call()
    except GradientError:
        return GradientError


def _replay(recipe: dict[str, Any], leaves: list[Value]) -> Value:
    nodes: list[Any] = list(leaves)
    for name, operands in recipe["steps"]:
        args = [nodes[ref] if kind == "node" else ref for kind, ref in operands]
        if not any(isinstance(a, Value) for a in args):
            args[0] = nodes[-1]
        nodes.append(apply_operation(name, args))
    return nodes[-1]


@settings(max_examples=300)
@given(recipe=graph_recipes())
def test_every_gradient_path_gives_the_same_numbers_or_the_same_error(recipe: dict[str, Any]) -> None:
    try:
        root, leaves = _graph(recipe)
    except ChainruleError:
        return  # the forward pass leaves a domain: nothing to differentiate

    def by_backward() -> list[float]:
        root.backward()
        return [leaf.grad for leaf in leaves]

    def by_trace() -> list[float]:
        traced = trace_backward(root, check=False)
        position = {node: i for i, node in enumerate(topological_order(root))}
        return [traced.gradients[position[leaf]] if leaf in position else 0.0
                for leaf in leaves]

    def by_jit() -> list[float]:
        count = len(leaves)
        compiled = jit(value_and_grad(lambda *xs: _replay(recipe, list(xs)), tuple(range(count))))
        return list(compiled(*recipe["leaves"])[1])

    expected = _outcome(lambda: gradients(root, leaves))
    assert _outcome(by_trace) == expected
    assert _outcome(by_jit) == expected
    assert _outcome(by_backward) == expected
    if expected is not GradientError:
        # Gradients built as Values carry the same numbers (they may raise where a gradient is 0
        # at this point but not identically 0: see chain_rule's rule 2).
        second = _outcome(lambda: [g.data for g in gradients(root, leaves, create_graph=True)])
        assert second in (expected, GradientError)


def _graph(recipe: dict[str, Any]) -> tuple[Value, list[Value]]:
    leaves = [Value(x) for x in recipe["leaves"]]
    return _replay(recipe, leaves), leaves


# -- what a traced function may do that a plain graph does not show ----------------------------


@st.composite
def twisted_recipes(draw: Any) -> dict[str, Any]:
    """A random graph whose nodes get hostile labels, some of them detached or computed under
    no_grad, with operations whose results are thrown away."""
    recipe = draw(graph_recipes())
    count = len(recipe["steps"])
    twists = draw(st.lists(st.sampled_from(["plain", "detach", "no_grad"]), min_size=count,
                           max_size=count))
    labels = draw(st.lists(st.sampled_from(HOSTILE_LABELS), min_size=count, max_size=count))
    unused = draw(st.lists(st.tuples(st.sampled_from(["log", "sqrt", "exp", "div"]),
                                     st.integers(0, 50)), max_size=2))
    return {**recipe, "twists": twists, "labels": labels, "unused": unused}


def _twisted(recipe: dict[str, Any]) -> Any:
    def f(*xs: Any) -> Any:
        nodes = twisted_nodes(recipe, list(xs))
        for name, ref in recipe["unused"]:  # computed, then thrown away
            operand = nodes[ref % len(nodes)]
            operand.log() if name == "log" else operand.sqrt() if name == "sqrt" else \
                operand.exp() if name == "exp" else 1.0 / operand
        return nodes[-1]

    return f


def _signed(numbers: Any) -> Any:
    return [(x, math.copysign(1.0, x)) if isinstance(x, float) else x for x in numbers]


@settings(max_examples=200, deadline=None)
@given(recipe=twisted_recipes(),
       fresh=st.lists(st.floats(-3, 3, allow_nan=False), min_size=4, max_size=4))
def test_detach_no_grad_unused_operations_and_hostile_labels_on_every_path(
        recipe: dict[str, Any], fresh: list[float]) -> None:
    f = _twisted(recipe)
    count = len(recipe["leaves"])
    argnums = tuple(range(count))
    compiled = jit(value_and_grad(f, argnums))
    for point in (recipe["leaves"], fresh[:count]):  # traced at the first, replayed at the second
        def by_backward(point: list[float] = point) -> Any:
            leaves = [Value(x) for x in point]
            root = f(*leaves)
            root.backward()
            return root.data, [leaf.grad for leaf in leaves]

        expected = outcome(by_backward)
        got = outcome(lambda point=point: compiled(*point))
        eager = outcome(lambda point=point: value_and_grad(f, argnums)(*point))
        if expected[0] == "error":
            assert got == eager  # the same error as eager's (never a number)
            continue
        assert got[0] == "ok", got
        value, gradients = got[1]
        assert value == expected[1][0] and _signed(gradients) == _signed(expected[1][1])
