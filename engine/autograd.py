"""Gradients as functions: :func:`gradients`, and the transformations :func:`grad`,
:func:`value_and_grad`, :func:`jacobian` and :func:`hessian` (JAX's shapes).

``backward()`` fills ``.grad``; everything here returns gradients instead and touches no
``.grad``. All of it follows the rules of :mod:`chainrule.engine.chain_rule`. With
``create_graph=True`` every local derivative and every sum is itself a recorded operation, so a
gradient is a Value with a graph of its own and can be differentiated again, which is how
``grad(grad(f))`` works.

Arguments may be numbers or (nested) lists and tuples of numbers; gradients come back with the
same nesting. A transformed function returns floats when called with numbers, and Values when
called with Values (as happens inside another transformation), so transformations compose in
any order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from .chain_rule import check_root, gradient_map
from .errors import GradientError, OperandTypeError
from .graph import topological_order
from .pytree import Argnums, flatten, unflatten
from .pytree import argnum_tuple as _argnum_tuple
from .pytree import contains_value as _contains_value
from .value import Value, as_float, constant, describe, enable_grad

__all__ = [
    "Argnums",
    "flatten",
    "grad",
    "gradients",
    "hessian",
    "jacobian",
    "unflatten",
    "value_and_grad",
]


def gradients(root: Value, wrt: Sequence[Value], create_graph: bool = False) -> list[Any]:
    """d(root)/d(w) for each ``w`` in ``wrt``, without touching any ``.grad``.

    With ``create_graph=False`` the results are floats (the same floats ``backward()`` gives);
    with ``True`` they are Values whose own graphs can be differentiated again, recorded even
    inside ``no_grad()`` (as ``torch.autograd.grad(create_graph=True)`` does). A ``w`` that
    ``root`` does not depend on gets 0.

    >>> from chainrule.engine import Value, gradients
    >>> x = Value(2.0)
    >>> gradients(x ** 3, [x])                              # 3x^2
    [12.0]
    >>> (slope,) = gradients(x ** 3, [x], create_graph=True)
    >>> gradients(slope, [x])                               # 6x
    [12.0]
    """
    return _gradients(root, wrt, create_graph, "gradients")


def _gradients(root: Value, wrt: Sequence[Value], create_graph: bool, caller: str) -> list[Any]:
    check_root(root, caller)
    for w in wrt:
        if not isinstance(w, Value):
            raise OperandTypeError(f"{caller}: wrt must hold Values, got {type(w).__name__}")
    grads = gradient_map(root, 1.0, create_graph, caller)
    results: list[Value | float] = []
    for w in wrt:
        g = grads.get(w, 0.0)
        value = g._data if isinstance(g, Value) else g
        if value - value:
            raise GradientError(f"{caller}: the gradient with respect to {describe(w)} is {value}")
        if create_graph:
            results.append(g if isinstance(g, Value) else constant(g))
        else:
            results.append(float(g))
    return results


#: The variables of the transformations being evaluated right now (per thread and task): a
#: function may close over them (grad(lambda x: x * grad(lambda y: x * y)(3.0))), and a
#: derivative that depends on them must stay a Value for the enclosing transformation.
_ACTIVE_VARIABLES: ContextVar[frozenset[Value]] = ContextVar(
    "chainrule_active_variables", default=frozenset()
)


@contextmanager
def _differentiating(variables: Sequence[Value]) -> Iterator[frozenset[Value]]:
    """Mark ``variables`` as being differentiated; give the outer transformations' ones."""
    outer = _ACTIVE_VARIABLES.get()
    token = _ACTIVE_VARIABLES.set(outer | frozenset(variables))
    try:
        with enable_grad():
            yield outer
    finally:
        _ACTIVE_VARIABLES.reset(token)


def _depends_on(output: Value, outer: frozenset[Value]) -> bool:
    """Whether ``output`` depends on a variable of an enclosing transformation."""
    return bool(outer) and any(node in outer for node in topological_order(output))


# -- transformations -------------------------------------------------------------------------------


def value_and_grad(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """A function that returns ``(f(*args), gradients)``: the gradient of ``f`` with respect
    to argument ``argnums`` (an int), or a tuple of them (a tuple of ints), each with that
    argument's nesting.

    >>> from chainrule.engine import value_and_grad
    >>> value_and_grad(lambda w, x: w * x, argnums=(0, 1))(3.0, 2.0)
    (6.0, (2.0, 3.0))
    """
    name = getattr(f, "__name__", "f")

    def transformed(*args: Any) -> tuple[Any, Any]:
        numbers = _argnum_tuple(argnums, len(args), "value_and_grad")
        nested = _contains_value(args)
        call_args = list(args)
        variables: list[Value] = []
        structures = []
        for n in numbers:
            leaves, structure = flatten(args[n], "value_and_grad")
            made = [leaf if isinstance(leaf, Value) else Value(leaf) for leaf in leaves]
            variables.extend(made)
            structures.append((structure, len(made)))
            call_args[n] = unflatten(structure, made)
        with _differentiating(variables) as outer:
            output = f(*call_args)
        if not isinstance(output, Value):
            value = as_float(output, name, " result")
            zeros = [constant(0.0) if nested else 0.0 for _ in variables]
            return (constant(value) if nested else value), _regroup(zeros, structures, argnums)
        differentiable = nested or _depends_on(output, outer)
        grads = _gradients(output, variables, differentiable, f"value_and_grad({name})")
        if differentiable and not nested:
            # f closed over Values of an enclosing transformation: keep the gradients' graphs
            # (they are functions of those Values) but the value as the plain number it is.
            return output._data, _regroup(grads, structures, argnums)
        return (output if nested else output._data), _regroup(grads, structures, argnums)

    transformed.__name__ = f"value_and_grad_{name}"
    transformed.__doc__ = f"({name}(*args), its gradient with respect to argument(s) {argnums})."
    transformed.__chainrule_transform__ = ("value_and_grad", f, argnums)  # type: ignore[attr-defined]
    return transformed


def _regroup(flat: list[Any], structures: list[tuple[Any, int]], argnums: Argnums) -> Any:
    grouped = []
    position = 0
    for structure, count in structures:
        grouped.append(unflatten(structure, flat[position : position + count]))
        position += count
    return grouped[0] if isinstance(argnums, int) else tuple(grouped)


def grad(f: Callable[..., Any], argnums: Argnums = 0, *, argnum: int | None = None
         ) -> Callable[..., Any]:
    """The derivative of ``f`` with respect to argument ``argnums``, as a function.

    ``grad(f)(x)`` returns a float for a numeric ``x``; called with Values (as happens inside
    another ``grad``), it returns a Value that stays differentiable, so ``grad(grad(f))`` is
    the second derivative, and ``grad(grad(f, 0), 1)`` a mixed one:

    >>> from chainrule.engine import grad, sin
    >>> grad(grad(sin))(0.5) == -sin(0.5)
    True
    """
    if argnum is not None:  # the keyword of chainrule 0.1
        argnums = argnum
    with_value = value_and_grad(f, argnums)

    def derivative(*args: Any) -> Any:
        return with_value(*args)[1]

    name = getattr(f, "__name__", "f")
    derivative.__name__ = f"grad_{name}"
    derivative.__doc__ = f"Derivative of {name} with respect to argument(s) {argnums}."
    derivative.__chainrule_transform__ = ("grad", f, argnums)  # type: ignore[attr-defined]
    return derivative


def jacobian(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """The Jacobian of ``f`` with respect to argument ``argnums``: for ``f`` returning a list
    of outputs and an argument that is a list of numbers, ``J[i][j] = d out_i / d x_j``; a
    scalar output gives one row and a scalar argument one column.

    >>> from chainrule.engine import jacobian
    >>> jacobian(lambda v: [v[0] * v[1], v[0] + v[1]])([2.0, 3.0])
    [[3.0, 2.0], [1.0, 1.0]]
    """
    name = getattr(f, "__name__", "f")

    def transformed(*args: Any) -> Any:
        (n,) = _argnum_tuple(argnums, len(args), "jacobian")
        nested = _contains_value(args)
        leaves, structure = flatten(args[n], "jacobian")
        variables = [leaf if isinstance(leaf, Value) else Value(leaf) for leaf in leaves]
        call_args = list(args)
        call_args[n] = unflatten(structure, variables)
        with _differentiating(variables) as outer:
            outputs = f(*call_args)
        scalar_out = not isinstance(outputs, (list, tuple))
        rows = []
        for output in [outputs] if scalar_out else outputs:
            if not isinstance(output, Value):
                as_float(output, name, " output")
                row: list[Any] = [constant(0.0) if nested else 0.0 for _ in variables]
            else:
                differentiable = nested or _depends_on(output, outer)
                row = _gradients(output, variables, differentiable, f"jacobian({name})")
            rows.append(unflatten(structure, row))
        return rows[0] if scalar_out else rows

    transformed.__name__ = f"jacobian_{name}"
    transformed.__doc__ = f"The Jacobian of {name} with respect to argument {argnums}."
    return transformed


def hessian(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """The matrix of second derivatives of a scalar ``f``: ``jacobian(grad(f))``.

    >>> from chainrule.engine import hessian
    >>> hessian(lambda v: v[0] ** 2 * v[1])([1.0, 3.0])
    [[6.0, 2.0], [2.0, 0.0]]
    """
    transformed = jacobian(grad(f, argnums), argnums)
    transformed.__name__ = f"hessian_{getattr(f, '__name__', 'f')}"
    return transformed
