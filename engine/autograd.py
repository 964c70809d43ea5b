"""Gradients as functions: :func:`gradients`, and the transformations :func:`grad`,
:func:`value_and_grad`, :func:`jacobian` and :func:`hessian` (JAX's shapes).

``backward()`` fills ``.grad``; everything here returns gradients instead and touches no
``.grad``. All of it follows the rules of :mod:`chainrule.engine.chain_rule`. With
``create_graph=True`` every local derivative and every sum is itself a recorded operation, so a
gradient is a Value with a graph of its own and can be differentiated again, which is how
``grad(grad(f))`` works.

Arguments may be numbers, (nested) lists and tuples of numbers, or numpy arrays; gradients come
back with the same nesting (a numpy array for an array). Keyword arguments are passed through
and not differentiated, as in JAX. A transformed function returns floats when called with
numbers, and Values when called with Values (as happens inside another transformation), so
transformations compose in any order.
"""

from __future__ import annotations

import sys
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


def _is_array(x: Any) -> bool:
    """Whether ``x`` is a numpy array (numpy is never imported here: if it is not loaded
    already, nothing can be an array)."""
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(x, numpy.ndarray)


def _has_array(tree: Any) -> bool:
    if isinstance(tree, (list, tuple)):
        return any(_has_array(child) for child in tree)
    return _is_array(tree)


def _as_lists(tree: Any) -> Any:
    """``tree`` with every numpy array in it as (nested) lists."""
    if _is_array(tree):
        return tree.tolist()
    if isinstance(tree, (list, tuple)) and _has_array(tree):
        return type(tree)(_as_lists(child) for child in tree)
    return tree


def _like(template: Any, result: Any) -> Any:
    """``result`` (nested lists, with ``template``'s nesting) with a numpy array wherever
    ``template`` has one: of the array's float type, or of objects if it holds Values."""
    if _is_array(template):
        numpy = sys.modules["numpy"]
        array = numpy.array(result, dtype=object)
        if any(isinstance(item, Value) for item in array.flat):
            return array
        return array.astype(template.dtype if template.dtype.kind == "f" else numpy.float64)
    if isinstance(template, (list, tuple)) and isinstance(result, (list, tuple)):
        return type(result)(_like(t, r) for t, r in zip(template, result, strict=True))
    return result


class _Variables:
    """The differentiated arguments of one call, made Values (each argument's numbers, in
    order), and the call's arguments with them in place."""

    def __init__(self, args: tuple[Any, ...], argnums: Argnums, caller: str) -> None:
        self.numbers = _argnum_tuple(argnums, len(args), caller)
        self.originals = [args[n] for n in self.numbers]
        self.nested = _contains_value(args)
        self.call_args = list(args)
        self.values: list[Value] = []
        self.structures: list[tuple[Any, int]] = []
        for n in self.numbers:
            leaves, structure = flatten(_as_lists(args[n]), caller)
            made = [leaf if isinstance(leaf, Value) else Value(leaf) for leaf in leaves]
            self.values.extend(made)
            self.structures.append((structure, len(made)))
            self.call_args[n] = unflatten(structure, made)

    def per_argument(self, flat: list[Any]) -> list[Any]:
        """A gradient per differentiated argument, from one per variable: each in its
        argument's nesting (an array for an array)."""
        grouped = []
        position = 0
        for (structure, count), original in zip(self.structures, self.originals, strict=True):
            gradient = unflatten(structure, flat[position : position + count])
            grouped.append(_like(original, gradient) if _has_array(original) else gradient)
            position += count
        return grouped


def _differentiate(output: Any, variables: _Variables, outer: frozenset[Value], caller: str,
                   role: str) -> tuple[Any, list[Any]]:
    """``output``'s value and its gradient with respect to each variable: floats, or Values
    where they must stay differentiable (called with Values, or ``output`` depends on the
    variables of an enclosing transformation)."""
    nested = variables.nested
    if not isinstance(output, Value):
        value = as_float(output, caller, role)
        zeros = [constant(0.0) if nested else 0.0 for _ in variables.values]
        return (constant(value) if nested else value), zeros
    # A function that closed over Values of an enclosing transformation keeps its gradients'
    # graphs (they are functions of those Values) but gives its value as the number it is.
    differentiable = nested or _depends_on(output, outer)
    grads = _gradients(output, variables.values, differentiable, caller)
    return (output if nested else output._data), grads


def _split_aux(result: Any, caller: str) -> tuple[Any, Any]:
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise OperandTypeError(
            f"{caller}: with has_aux=True the function must return a pair (output, aux), got "
            f"{type(result).__name__}"
        )
    return result[0], result[1]


def _numbers(aux: Any) -> Any:
    """``aux`` with each Value in its lists, tuples and dicts read as its number (JAX gives
    auxiliary data back as concrete arrays)."""
    if isinstance(aux, Value):
        return aux._data
    if isinstance(aux, (list, tuple)):
        return type(aux)(_numbers(item) for item in aux)
    if isinstance(aux, dict):
        return {key: _numbers(item) for key, item in aux.items()}
    return aux


def value_and_grad(f: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False
                   ) -> Callable[..., Any]:
    """A function that returns ``(f(*args), gradients)``: the gradient of ``f`` with respect
    to argument ``argnums`` (an int), or a tuple of them (a tuple of ints), each with that
    argument's nesting. Keyword arguments are passed to ``f`` and not differentiated.

    With ``has_aux=True``, ``f`` returns a pair ``(output, aux)`` and the result is
    ``((output, aux), gradients)``, as in JAX (``aux`` comes back with its Values as numbers).

    >>> from chainrule.engine import value_and_grad
    >>> value_and_grad(lambda w, x: w * x, argnums=(0, 1))(3.0, 2.0)
    (6.0, (2.0, 3.0))
    >>> value_and_grad(lambda w, x, scale: w * x * scale)(3.0, 2.0, scale=0.5)
    (3.0, 1.0)
    """
    name = getattr(f, "__name__", "f")
    caller = f"value_and_grad({name})"

    def transformed(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        variables = _Variables(args, argnums, "value_and_grad")
        with _differentiating(variables.values) as outer:
            output = f(*variables.call_args, **kwargs)
        aux = None
        if has_aux:
            output, aux = _split_aux(output, caller)
        value, grads = _differentiate(output, variables, outer, caller, " result")
        grouped = variables.per_argument(grads)
        gradient = grouped[0] if isinstance(argnums, int) else tuple(grouped)
        if has_aux:
            return (value, aux if variables.nested else _numbers(aux)), gradient
        return value, gradient

    transformed.__name__ = f"value_and_grad_{name}"
    transformed.__doc__ = f"({name}(*args), its gradient with respect to argument(s) {argnums})."
    if not has_aux:  # what jit and vectorize compile (they know no auxiliary results)
        transformed.__chainrule_transform__ = ("value_and_grad", f, argnums)  # type: ignore[attr-defined]
    return transformed


def grad(f: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False, *,
         argnum: int | None = None) -> Callable[..., Any]:
    """The derivative of ``f`` with respect to argument ``argnums``, as a function (with
    ``has_aux=True``, ``f`` returns ``(output, aux)`` and this gives ``(gradient, aux)``).

    ``grad(f)(x)`` returns a float for a numeric ``x``; called with Values (as happens inside
    another ``grad``), it returns a Value that stays differentiable, so ``grad(grad(f))`` is
    the second derivative, and ``grad(grad(f, 0), 1)`` a mixed one:

    >>> from chainrule.engine import grad, sin
    >>> grad(grad(sin))(0.5) == -sin(0.5)
    True
    """
    if argnum is not None:  # the keyword of chainrule 0.1
        argnums = argnum
    with_value = value_and_grad(f, argnums, has_aux)

    def derivative(*args: Any, **kwargs: Any) -> Any:
        result = with_value(*args, **kwargs)
        if has_aux:
            (_, aux), gradient = result
            return gradient, aux
        return result[1]

    name = getattr(f, "__name__", "f")
    derivative.__name__ = f"grad_{name}"
    derivative.__doc__ = f"Derivative of {name} with respect to argument(s) {argnums}."
    if not has_aux:
        derivative.__chainrule_transform__ = ("grad", f, argnums)  # type: ignore[attr-defined]
    return derivative


class _Row:
    """One output's gradients, one per differentiated argument (told apart from the lists
    the outputs are nested in)."""

    __slots__ = ("per_argument",)

    def __init__(self, per_argument: list[Any]) -> None:
        self.per_argument = per_argument


def _column(table: Any, k: int) -> Any:
    """``table`` (outputs' nesting, a :class:`_Row` for each output) with argument ``k``'s
    gradient for each output."""
    if isinstance(table, _Row):
        return table.per_argument[k]
    return type(table)(_column(row, k) for row in table)


def jacobian(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """The Jacobian of ``f`` with respect to argument ``argnums``: for ``f`` returning a list
    of outputs and an argument that is a list of numbers, ``J[i][j] = d out_i / d x_j``; a
    scalar output gives one row and a scalar argument one column.

    A tuple ``argnums`` gives a tuple of Jacobians, one per argument; an ``f`` returning a
    tuple gives a tuple, one entry per element (so ``hessian(f, (0, 1))`` gives the blocks
    ``((H_xx, H_xy), (H_yx, H_yy))``, as JAX does). A list is one output, as a numpy array is
    (from a list down, everything is one array); an array argument gives an array.

    >>> from chainrule.engine import jacobian
    >>> jacobian(lambda v: [v[0] * v[1], v[0] + v[1]])([2.0, 3.0])
    [[3.0, 2.0], [1.0, 1.0]]
    >>> jacobian(lambda x, y: [x * y, x + y], argnums=(0, 1))(2.0, 3.0)
    ([3.0, 1.0], [2.0, 1.0])
    """
    name = getattr(f, "__name__", "f")
    caller = f"jacobian({name})"

    def transformed(*args: Any, **kwargs: Any) -> Any:
        variables = _Variables(args, argnums, "jacobian")
        with _differentiating(variables.values) as outer:
            outputs = _as_lists(f(*variables.call_args, **kwargs))

        def rows(output: Any) -> Any:
            if isinstance(output, (list, tuple)):
                return type(output)(rows(item) for item in output)
            grads = _differentiate(output, variables, outer, caller, " output")[1]
            return _Row(variables.per_argument(grads))

        def blocks(output: Any) -> Any:
            if isinstance(output, tuple):
                return tuple(blocks(item) for item in output)
            table = rows(output)
            per_argument = [_like(original, _column(table, k)) if _is_array(original)
                            else _column(table, k)
                            for k, original in enumerate(variables.originals)]
            return per_argument[0] if isinstance(argnums, int) else tuple(per_argument)

        return blocks(outputs)

    transformed.__name__ = f"jacobian_{name}"
    transformed.__doc__ = f"The Jacobian of {name} with respect to argument(s) {argnums}."
    return transformed


def hessian(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """The matrix of second derivatives of a scalar ``f``: ``jacobian(grad(f))``; a tuple
    ``argnums`` gives the nested tuple of blocks, as JAX does.

    >>> from chainrule.engine import hessian
    >>> hessian(lambda v: v[0] ** 2 * v[1])([1.0, 3.0])
    [[6.0, 2.0], [2.0, 0.0]]
    >>> hessian(lambda x, y: x ** 2 * y, argnums=(0, 1))(1.0, 3.0)
    ((6.0, 2.0), (2.0, 0.0))
    """
    transformed = jacobian(grad(f, argnums), argnums)
    transformed.__name__ = f"hessian_{getattr(f, '__name__', 'f')}"
    return transformed
