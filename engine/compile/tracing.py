"""Tracing: run a function once on Values and keep what it computed, and what it relied on.

The graph a call records is the program. Two things a graph does not show are watched while
the function runs:

* **Comparisons** of Values (``x > 0``, ``bool(x)``, Python's ``max`` over Values) decide which
  operations were recorded. Each becomes a *guard*: the compiled program checks that the
  comparison still comes out the same way, and the function is traced again when it does not
  (as TorchDynamo's guards do).
* **Numbers read out of Values** (``x.data``, ``float(x)``, ``x.item()``, ``f"{x:.3f}"``) leave
  the graph: whatever the function did with them would be frozen into the program. Reading one
  while tracing raises :class:`~chainrule.engine.TracingError` (as JAX's tracers do).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..autograd import flatten, unflatten
from ..errors import TracingError
from ..value import Value, observing


@dataclass(frozen=True)
class Guard:
    """A comparison the traced call relied on: ``value <operator> other`` was ``outcome``."""

    value: Value
    operator: str
    other: Value | float
    outcome: bool


@dataclass
class Trace:
    """One traced call: the leaves made from its arguments, its outputs and its guards."""

    inputs: list[Value]
    input_names: list[str]
    outputs: list[Any]  # Values, or numbers the function returned as they are
    output_structure: Any
    guards: list[Guard] = field(default_factory=list)


class _Watcher:
    """Observes one tracing call, in its own thread only."""

    def __init__(self, function_name: str) -> None:
        self.thread = threading.get_ident()
        self.function_name = function_name
        self.guards: list[Guard] = []

    def number_read(self, value: Value, how: str) -> None:
        if threading.get_ident() != self.thread:
            return
        raise TracingError(
            f"jit: {self.function_name} read the number of a traced Value ({how}, "
            f"{value._data!r}); a compiled program cannot follow what Python then does with it. "
            "Compute with Value operations instead (maximum, relu, abs... record the choice in "
            "the graph; comparisons like x > 0 are guarded and retraced), or call the function "
            "without jit"
        )

    def compared(self, value: Value, operator: str, other: object, outcome: bool) -> None:
        if threading.get_ident() != self.thread:
            return
        if not isinstance(other, Value):
            other = float(other)  # type: ignore[arg-type]
        self.guards.append(Guard(value, operator, other, outcome))


def argument_names(function: Callable[..., Any], count: int) -> list[str]:
    """The names of ``function``'s first ``count`` positional parameters (``a0``, ``a1``...
    where it has none, as for ``*args``)."""
    import inspect

    try:
        parameters = [
            p.name for p in inspect.signature(function).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        parameters = []
    return [parameters[i] if i < len(parameters) else f"a{i}" for i in range(count)]


def trace(function: Callable[..., Any], args: Sequence[Any], name: str,
          static_argnums: frozenset[int] = frozenset()) -> Trace:
    """Call ``function`` on Values made from the numbers in ``args`` (except the static ones,
    passed as they are) and record the call."""
    call_args = []
    inputs: list[Value] = []
    input_names: list[str] = []
    for index, (arg_name, arg) in enumerate(
        zip(argument_names(function, len(args)), args, strict=True)
    ):
        if index in static_argnums:
            call_args.append(arg)
            continue
        leaves, structure = flatten(arg, name)
        scalar = structure is None
        made = [
            Value(leaf, label=arg_name if scalar else f"{arg_name}_{i}")
            for i, leaf in enumerate(leaves)
        ]
        inputs.extend(made)
        input_names.extend(v.label for v in made)  # type: ignore[misc]
        call_args.append(unflatten(structure, made))
    watcher = _Watcher(name)
    with observing(watcher):
        result = function(*call_args)
    outputs, output_structure = flatten_outputs(result, name)
    return Trace(inputs, input_names, outputs, output_structure, watcher.guards)


def flatten_outputs(result: Any, name: str) -> tuple[list[Any], Any]:
    outputs: list[Any] = []

    def walk(node: Any) -> Any:
        if isinstance(node, (list, tuple)):
            return (type(node), tuple(walk(child) for child in node))
        if isinstance(node, Value):
            outputs.append(node)
        else:
            from ..value import as_float

            outputs.append(as_float(node, name, " result"))
        return None

    return outputs, walk(result)
