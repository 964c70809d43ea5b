"""The primitives as functions that accept Values or plain numbers, generated from the table.

A Value in gives a recorded Value out; plain numbers in give a plain float out (checked the
same way), like HIPS autograd's wrapped numpy functions. So one function serves for computing
with numbers, for building graphs, and for writing derivatives. There is one function per
primitive that has a ``function`` name in :data:`~chainrule.engine.primitives.PRIMITIVES`
(``exp``, ``tanh``, ``power``, ``maximum``...), and one per n-ary :class:`Family` (``dot``,
``add_n``), which takes sequences; adding a primitive adds its function here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import OperandTypeError
from .primitives import FAMILIES, PRIMITIVES, Family, Primitive
from .value import apply, apply_family


def _function(op: Primitive) -> Callable[..., Any]:
    names = op.input_names
    defaults = op.defaults

    def function(*operands: Any, **named: Any) -> Any:
        if named or len(operands) < len(names):
            bound = signature.bind(*operands, **named)
            bound.apply_defaults()
            operands = tuple(bound.arguments.values())
        return apply(op, operands)

    signature = inspect.Signature(
        [
            inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                              default=defaults.get(name, inspect.Parameter.empty),
                              annotation="Value | float")
            for name in names
        ],
        return_annotation="Value | float",
    )
    assert op.function is not None
    function.__signature__ = signature  # type: ignore[attr-defined]
    function.__name__ = function.__qualname__ = op.function
    function.__module__ = __name__
    function.__doc__ = (
        f"{op.doc or op.write(*names)}\n\nA Value among the operands gives a recorded Value; "
        f"numbers give a float. Local derivatives: "
        + "; ".join(op.derivative_formula(i) for i in range(op.arity))
    )
    return function


def _family_function(family: Family) -> Callable[..., Any]:
    def function(*groups: Any) -> Any:
        if len(groups) != len(family.parameters):
            raise OperandTypeError(
                f"{family.name} takes {len(family.parameters)} sequence(s) "
                f"({', '.join(family.parameters)}), got {len(groups)} argument(s)"
            )
        return apply_family(family, groups)

    function.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(name, inspect.Parameter.POSITIONAL_ONLY,
                           annotation="Sequence[Value | float]")
         for name in family.parameters],
        return_annotation="Value | float",
    )
    function.__name__ = function.__qualname__ = family.function
    function.__module__ = __name__
    indexed = [f"{g}_i" for g in family.groups]
    function.__doc__ = (
        f"{family.doc}\n\nA Value among the operands gives one recorded node; numbers give a "
        "float. Local derivatives: "
        + "; ".join(f"d/d{name} = {formula}"
                    for name, formula in zip(indexed, family.general_formulas(), strict=True))
    )
    return function


#: Every generated function, by name.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    op.function: _function(op) for op in PRIMITIVES.values() if op.function is not None
}
FUNCTIONS.update({family.function: _family_function(family) for family in FAMILIES.values()})
globals().update(FUNCTIONS)
__all__ = sorted(FUNCTIONS)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Protocol, overload

    from .value import Value

    class Function(Protocol):
        """A generated function as type checkers see it: a Value among the operands gives a
        recorded Value, numbers alone give a float."""

        @overload
        def __call__(self, x: Value, /, *more: Value | float, **named: Value | float) -> Value: ...
        @overload
        def __call__(self, x: float, y: Value, /, **named: Value | float) -> Value: ...
        @overload
        def __call__(self, x: float, /, *more: float, **named: float) -> float: ...

    def __getattr__(name: str) -> Function: ...

    # The n-ary operations take sequences: a Value among the operands gives a Value.
    @overload
    def dot(weights: Sequence[Value], inputs: Sequence[Value | float], /) -> Value: ...
    @overload
    def dot(weights: Sequence[Value | float], inputs: Sequence[Value], /) -> Value: ...
    @overload
    def dot(weights: Sequence[float], inputs: Sequence[float], /) -> float: ...
    @overload
    def dot(weights: Sequence[Value | float], inputs: Sequence[Value | float], /
            ) -> Value | float: ...
    def dot(weights: Sequence[Value | float], inputs: Sequence[Value | float], /
            ) -> Value | float: ...

    @overload
    def add_n(terms: Sequence[Value], /) -> Value: ...
    @overload
    def add_n(terms: Sequence[float], /) -> float: ...
    @overload
    def add_n(terms: Sequence[Value | float], /) -> Value | float: ...
    def add_n(terms: Sequence[Value | float], /) -> Value | float: ...
