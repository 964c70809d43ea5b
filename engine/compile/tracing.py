"""Tracing: run a function once on Values and keep what it computed, and what it relied on.

The graph a call records is the program. Two things a graph does not show are watched while
the function runs:

* **Comparisons** of Values (``x > 0``, ``bool(x)``, Python's ``max`` over Values) decide which
  operations were recorded. Each becomes a *guard*: the compiled program checks that the
  comparison still comes out the same way, and the function is traced again when it does not
  (as TorchDynamo's guards do).
* **Values that stop the gradient**: ``x.detach()`` and what ``no_grad()`` computes inside the
  function are recorded with where their numbers come from, marked as passing no gradient
  on (eager makes them leaves); the program computes them from the arguments at every call.
* **Every node made**, used or not: eager computes them all and may fail on any (``log`` of a
  negative number on a branch whose result is thrown away), so the program does too.
* **Numbers read out of Values** (``x.data``, ``float(x)``, ``x.item()``, ``f"{x:.3f}"``) leave
  the graph: whatever the function did with them would be frozen into the program. Reading one
  while tracing raises :class:`~chainrule.engine.TracingError` (as JAX's tracers do).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import TracingError
from ..pytree import flatten, unflatten
from ..value import Value, enable_grad, observing


@dataclass(frozen=True)
class Guard:
    """A comparison the traced call relied on: ``value <operator> other`` was ``outcome``."""

    value: Value
    operator: str
    other: Value | float
    outcome: bool


@dataclass
class Trace:
    """One traced call: the leaves made from its arguments, its outputs and its guards, and
    every node it made, in order (used or not: eager computes them all, and may fail on any)."""

    inputs: list[Value]
    input_names: list[str]
    outputs: list[Any]  # Values, or numbers the function returned as they are
    output_structure: Any
    guards: list[Guard] = field(default_factory=list)
    made: list[Value] = field(default_factory=list)
    #: Values that flow forward and stop the gradient: each detached leaf with the Value it is
    #: a copy of, each node computed under ``no_grad()`` inside the function with None.
    stopped: dict[Value, Value | None] = field(default_factory=dict)


class _Watcher:
    """Observes one tracing call, in its own thread only."""

    def __init__(self, function_name: str) -> None:
        self.thread = threading.get_ident()
        self.function_name = function_name
        self.guards: list[Guard] = []
        self.made: list[Value] = []
        self.stopped: dict[Value, Value | None] = {}
        self.recording: list[bool] = [True]  # the function's own no_grad/enable_grad blocks

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

    def created(self, node: Value) -> None:
        if threading.get_ident() != self.thread:
            return
        self.made.append(node)
        if not self.recording[-1]:
            self.stopped[node] = None

    def detached(self, value: Value, leaf: Value) -> None:
        if threading.get_ident() != self.thread:
            return
        self.made.append(leaf)
        self.stopped[leaf] = value

    def recording_switched(self, on: bool) -> bool:
        if threading.get_ident() != self.thread:
            return False
        self.recording.append(on)
        return True  # keep recording: what no_grad computes is recorded as stopping the gradient

    def recording_switched_back(self) -> None:
        if threading.get_ident() == self.thread and len(self.recording) > 1:
            self.recording.pop()


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
    # Recorded whatever the caller's no_grad says: the program is the function's graph.
    with enable_grad(), observing(watcher):
        result = function(*call_args)
    outputs, output_structure = flatten_outputs(result, name)
    return Trace(inputs, input_names, outputs, output_structure, watcher.guards, watcher.made,
                 watcher.stopped)


def flatten_outputs(result: Any, name: str) -> tuple[list[Any], Any]:
    """A traced function's results: its Values and numbers, and their nesting."""
    return flatten(result, name, " result")
