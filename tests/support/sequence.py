"""Finite-difference checks for modules: gradients with respect to inputs and parameters."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from chainrule.engine import Value, no_grad, topological_order

from support.gradcheck import assert_gradient_close, step_for


def weighted_sum(outputs: Sequence[Value], weights: Sequence[float]) -> Value:
    """A scalar that depends on every output: ``sum(c_i * y_i)``."""
    total = outputs[0] * weights[0]
    for y, c in zip(outputs[1:], weights[1:], strict=True):
        total = total + y * c
    return total


def nearest_kink(root: Value) -> float:
    """How close the graph comes to a kink: the smallest |input| of a relu (inf if none)."""
    return min((abs(node.inputs[0].data) for node in topological_order(root)
                if node.op == "relu"), default=float("inf"))


def assert_module_gradients(
    loss_of: Callable[[list[Value]], Value],
    inputs: Sequence[float],
    parameters: Sequence[Value],
) -> None:
    """``loss_of(input leaves)``'s gradients, with respect to every input and every one of
    ``parameters``, agree with central differences in float64 (see tests/support/gradcheck.py)."""
    leaves = [Value(x) for x in inputs]
    for p in parameters:
        p.grad = 0.0
    loss_of(leaves).backward()
    analytic_inputs = [leaf.grad for leaf in leaves]
    analytic_parameters = [p.grad for p in parameters]

    def evaluate(xs: Sequence[float]) -> float:
        with no_grad():
            return loss_of([Value(x) for x in xs]).data

    for i, x in enumerate(inputs):
        h = step_for(x)
        up, down = list(inputs), list(inputs)
        up[i], down[i] = x + h, x - h
        numeric = (evaluate(up) - evaluate(down)) / (2 * h)
        assert_gradient_close(analytic_inputs[i], numeric, f"input {i}")
    for j, p in enumerate(parameters):
        original = p.data
        h = step_for(original)
        try:
            p.data = original + h
            up_value = evaluate(inputs)
            p.data = original - h
            down_value = evaluate(inputs)
        finally:
            p.data = original
        numeric = (up_value - down_value) / (2 * h)
        assert_gradient_close(analytic_parameters[j], numeric, f"parameter {p.label}")
