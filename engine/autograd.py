"""Gradients as functions: :func:`gradients` (no side effects) and :func:`grad` (composable).

``backward()`` is the fast path that fills ``.grad`` with floats. Here the chain rule runs on
Values instead when ``create_graph=True``: every local derivative and every sum is itself a
recorded operation, so a gradient is a Value with a graph of its own and can be differentiated
again, which is how ``grad(grad(f))`` works.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .errors import GradientError, OperandTypeError
from .graph import topological_order
from .value import Value, as_float, constant, describe


def gradients(
    root: Value, wrt: Sequence[Value], create_graph: bool = False
) -> list[Any]:
    """d(root)/d(w) for each ``w`` in ``wrt``, without touching any ``.grad``.

    With ``create_graph=False`` the results are floats; with ``True`` they are Values whose own
    graphs can be differentiated again. A ``w`` that ``root`` does not depend on gets 0.
    """
    if not isinstance(root, Value):
        raise OperandTypeError(f"gradients: root must be a Value, got {type(root).__name__}")
    for w in wrt:
        if not isinstance(w, Value):
            raise OperandTypeError(f"gradients: wrt must hold Values, got {type(w).__name__}")
    if create_graph:
        # Constants enter local derivatives as plain numbers, so that what is built from them
        # (the exponent y - 1 in d/dx x**y) stays constant and is not differentiated.
        def as_operand(node: Value) -> Any:
            return node.data if node.is_constant else node
    else:
        def as_operand(node: Value) -> Any:
            return node.data
    grads: dict[Value, Any] = {root: 1.0}
    for node in reversed(topological_order(root)):
        upstream = grads.get(node)
        if upstream is None or node.is_leaf:
            continue
        inputs = node.inputs
        operands = [as_operand(i) for i in inputs]
        operands.append(as_operand(node))
        for input_node, derivative in zip(inputs, node.primitive.derivatives, strict=True):
            if input_node.is_constant:
                continue
            try:
                contribution = upstream * derivative(*operands)
            except (ArithmeticError, ValueError) as error:
                raise GradientError(
                    f"gradients: the local derivative of {describe(node)} is infinite or "
                    f"undefined ({error})"
                ) from None
            previous = grads.get(input_node)
            grads[input_node] = contribution if previous is None else previous + contribution
    results = []
    for w in wrt:
        g = grads.get(w, 0.0)
        value = g.data if isinstance(g, Value) else g
        if value - value:
            raise GradientError(f"gradients: the gradient with respect to {describe(w)} is {value}")
        if create_graph:
            results.append(g if isinstance(g, Value) else constant(g))
        else:
            results.append(float(g))
    return results


def grad(f: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """The derivative of ``f`` with respect to argument ``argnum``, as a function.

    ``grad(f)(x)`` returns a float for a numeric ``x``. Called with a Value (as happens inside
    another ``grad``), it returns a Value that stays differentiable, so ``grad(grad(f))`` is
    the second derivative:

    >>> from chainrule.engine import grad, sin
    >>> grad(grad(sin))(0.5) == -sin(0.5)
    True
    """

    def derivative(*args: Any) -> Any:
        if not 0 <= argnum < len(args):
            raise OperandTypeError(f"grad: argnum {argnum} but only {len(args)} argument(s)")
        x = args[argnum]
        nested = isinstance(x, Value)
        variable = x if nested else Value(as_float(x, "grad", " argument"))
        output = f(*args[:argnum], variable, *args[argnum + 1 :])
        if not isinstance(output, Value):
            # f did not use its argument in a recorded operation (a constant function).
            as_float(output, "grad", " result of f")
            return constant(0.0) if nested else 0.0
        # Always build the gradient's own graph: f may close over Values of an enclosing
        # grad (grad(lambda x: x * grad(lambda y: x * y)(3.0))), and the derivative must stay
        # a function of them.
        (result,) = gradients(output, [variable], create_graph=True)
        if nested or _depends_on_other_variables(result, variable):
            return result
        return result.data

    derivative.__name__ = f"grad_{getattr(f, '__name__', 'f')}"
    derivative.__doc__ = f"Derivative of {getattr(f, '__name__', 'f')} (argument {argnum})."
    return derivative


def _depends_on_other_variables(result: Value, variable: Value) -> bool:
    return any(
        node.is_leaf and not node.is_constant and node is not variable
        for node in topological_order(result)
    )
