"""``jit``: trace a function once per argument structure, then replay generated Python."""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from ..autograd import _gradients, value_and_grad
from ..pytree import (
    argnum_tuple,
    contains_value,
    count_leaves,
    flat_leaves,
    flatten,
    unflatten,
)
from ..value import Value
from .cache import MAX_PROGRAMS_PER_STRUCTURE, Fallbacks, ProgramCache
from .emit_python import GuardFailed, emit_python
from .plan import lift_layers, make_plan
from .tracing import Trace, flatten_outputs, trace

_data_of = attrgetter("_data")
#: From how many products a sum is computed by a C loop rather than line by line (below, the
#: loop's own cost is about what it saves).
LOOP_PRODUCTS = 4


@dataclass
class Program:
    """One compiled program: for one argument structure and one set of guard outcomes."""

    source: str
    #: ``run(leaves, captured)``; in ``"wrt"`` mode ``leaves`` is a list of samples' leaves.
    run: Callable[[Any, Any], Any]
    captured: list[Value]
    trace: Trace
    build_seconds: float  # trace + plan + emit + compile
    line_count: int
    #: How the flat gradients are regrouped: (structure, count) per differentiated argument.
    groups: list[tuple[Any, int]] = field(default_factory=list)


class Compiled:
    """A function compiled by :func:`jit`; call it like the function."""

    def __init__(self, function: Callable[..., Any], name: str, mode: str,
                 argnums: int | tuple[int, ...] | None, *, wrt: Sequence[Value] = (),
                 static_argnums: Sequence[int] = ()) -> None:
        self.function = function
        self.name = name
        self.mode = mode  # "value", "value_and_grad", "grad" or "wrt"
        self.argnums = argnums
        self.wrt = list(wrt)  # mode "wrt": the Values (captured) to differentiate with respect to
        self.static_argnums = frozenset(static_argnums)
        #: Whether a layer's sums of products run as C loops (the same floats, in eager's order).
        self.lift = True
        self.cache: ProgramCache[Program] = ProgramCache()
        self.fallbacks = Fallbacks(f"jit({name})")
        self.__name__ = f"jit_{name}"
        self.__doc__ = getattr(function, "__doc__", None)

    # -- calling ------------------------------------------------------------------------------------

    def __call__(self, *args: Any, **keywords: Any) -> Any:
        found = self._leaves_and_key(args, keywords)
        if found is None:  # Values among the arguments (inside another transformation)
            return self._eager(args, keywords)
        leaves, key = found
        for program in self.cache.programs_for(key):
            try:
                return self._run(program, leaves, args)
            except GuardFailed:
                continue
            except Exception:
                # Something the program does not check step by step went wrong (a domain
                # error, an overflow): the eager engine raises exactly its own error, or, in
                # the rare case the program's check was too cautious, gives the result.
                self.fallbacks.record("an error or a number that is not finite", warn=False)
                return self._eager(args, keywords)
        if self.cache.given_up(key):
            self.fallbacks.record("too many traces for one argument structure", warn=False)
            return self._eager(args, keywords)
        return self._trace_and_run(key, leaves, args, keywords)

    def _leaves_and_key(self, args: Sequence[Any], keywords: dict[str, Any]
                        ) -> tuple[list[float], Hashable] | None:
        """The arguments' numbers and the key of their program: the nesting and lengths of
        the arguments, the values of the static ones and of the keyword arguments. None when
        the call runs eagerly: an argument holds a Value (inside another transformation), or
        a static or keyword argument cannot be a key."""
        if not self.static_argnums and not keywords:
            fast = flat_leaves(args)
            if fast is not None:
                return fast
        leaves: list[Any] = []
        structures: list[Any] = []
        for index, arg in enumerate(args):
            if index in self.static_argnums:
                try:
                    structures.append(("static", _hashable(arg)))  # its value selects the program
                except TypeError:
                    self.fallbacks.record(f"static argument {index} is not hashable, so it "
                                          "cannot select a program", warn=True, stacklevel=4)
                    return None
                continue
            flat, structure = flatten(arg, f"jit({self.name})")
            leaves.extend(flat)
            structures.append(structure)
        if any(isinstance(leaf, Value) for leaf in leaves):
            return None
        if keywords:
            try:
                structures.append(("keywords", tuple(sorted(
                    (k, _hashable(v)) for k, v in keywords.items()))))
            except TypeError:
                self.fallbacks.record("a keyword argument is not hashable, so it cannot select "
                                      "a program", warn=True, stacklevel=4)
                return None
        return leaves, tuple(structures)

    def _bound(self, keywords: dict[str, Any]) -> Callable[..., Any]:
        return functools.partial(self.function, **keywords) if keywords else self.function

    def _eager(self, args: Sequence[Any], keywords: dict[str, Any]) -> Any:
        function = self._bound(keywords)
        if self.mode in ("value", "wrt"):
            if self.mode == "value" and contains_value(args):
                return function(*args)
            # What the program computes: the function on Values, its results as numbers.
            values = _as_values(args, self.name, self.static_argnums)
            outputs, structure = flatten_outputs(function(*values), self.name)
            numbers = unflatten(structure, [o._data if isinstance(o, Value) else o
                                            for o in outputs])
            if self.mode == "value":
                return numbers
            first = outputs[0] if outputs else None
            if not isinstance(first, Value):
                return numbers, tuple(0.0 for _ in self.wrt)
            return numbers, tuple(_gradients(first, self.wrt, False, f"jit({self.name})"))
        result = value_and_grad(function, self.argnums)(*args)  # type: ignore[arg-type]
        return result if self.mode == "value_and_grad" else result[1]

    def _run(self, program: Program, leaves: list[float], args: Sequence[Any]) -> Any:
        captured = list(map(_data_of, program.captured)) if program.captured else ()
        if self.mode == "wrt":  # a batch of one sample
            outputs, gradients = program.run((leaves,), captured)
            return unflatten(program.trace.output_structure, outputs[0]), gradients
        result = program.run(leaves, captured)
        structure = program.trace.output_structure
        if self.mode == "value":
            return unflatten(structure, result)
        outputs, flat = result
        if isinstance(self.argnums, int):
            gradients = unflatten(program.groups[0][0], flat)
        else:
            gradients = _regroup(flat, program.groups)
        if self.mode == "grad":
            return gradients
        return unflatten(structure, outputs), gradients

    # -- tracing ------------------------------------------------------------------------------------

    def _trace_and_run(self, key: Hashable, leaves: list[float], args: Sequence[Any],
                       keywords: dict[str, Any]) -> Any:
        if self.cache.full(key):
            warnings.warn(
                f"jit({self.name}): {MAX_PROGRAMS_PER_STRUCTURE} traces for one argument "
                "structure, each with different outcomes of its comparisons; running it "
                "eagerly from now on",
                RuntimeWarning, stacklevel=3,
            )
            self.cache.give_up(key)
            self.fallbacks.record("too many traces for one argument structure", warn=False)
            return self._eager(args, keywords)
        program = self._build(args, keywords)
        if program is None:  # the traced result is not something a program can return
            return self._eager(args, keywords)
        self.cache.add(key, program)
        try:
            return self._run(program, leaves, args)
        except Exception:
            self.fallbacks.record("an error or a number that is not finite", warn=False)
            return self._eager(args, keywords)

    def _build(self, args: Sequence[Any], keywords: dict[str, Any]) -> Program | None:
        started = time.perf_counter()
        traced = trace(self._bound(keywords), args, self.name, self.static_argnums)
        wrt: list[Value] | None = None
        groups: list[tuple[Any, int]] = []
        if self.mode == "wrt":
            wrt = self.wrt
        elif self.mode != "value":
            if traced.output_structure is not None:
                return None  # value_and_grad needs one number: eager says so
            wrt = []
            offsets = [0]
            structures = []
            for index, arg in enumerate(args):
                structure = None if index in self.static_argnums else flatten(arg, "jit")[1]
                structures.append(structure)
                count = 0 if index in self.static_argnums else count_leaves(structure)
                offsets.append(offsets[-1] + count)
            for n in argnum_tuple(self.argnums, len(args), "jit"):  # type: ignore[arg-type]
                wrt.extend(traced.inputs[offsets[n] : offsets[n + 1]])
                groups.append((structures[n], offsets[n + 1] - offsets[n]))
        plan = make_plan(traced, wrt, self.name)
        if self.lift and plan.backward is not None:
            plan = lift_layers(plan, {s for s in plan.wrt if s is not None}, exact=True,
                               min_products=LOOP_PRODUCTS)
        generated = emit_python(plan, accumulate=self.mode == "wrt")
        run = generated.compile()
        return Program(generated.source, run, generated.captured, traced,
                       time.perf_counter() - started, generated.line_count, groups)

    def run_batch(self, samples: Sequence[Sequence[Any]]) -> tuple[list[Any], list[float]]:
        """Mode ``compile_gradient`` only: call on every argument tuple of ``samples``; returns
        each call's results and the sums of their gradients. Samples with the same structure
        run in one loop inside the generated program."""
        if self.mode != "wrt":
            raise TypeError("run_batch is for functions compiled with compile_gradient")
        groups: dict[Any, list[tuple[int, list[float], Sequence[Any]]]] = {}
        for index, args in enumerate(samples):
            found = self._leaves_and_key(args, {})
            key = found[1] if found is not None else ("values", index)
            groups.setdefault(key, []).append((index, found[0] if found else [], args))
        results: list[Any] = [None] * len(samples)
        sums = [0.0] * len(self.wrt)
        for key, members in groups.items():
            grouped = self._run_group(key, members)
            if grouped is None:  # a guard or an anomaly: sample by sample, retracing as needed
                grouped = ([], [0.0] * len(self.wrt))
                for _, _, args in members:
                    outputs, gradients = self(*args)
                    grouped[0].append(outputs)
                    grouped[1][:] = [s + g for s, g in zip(grouped[1], gradients, strict=True)]
            outputs, gradients = grouped
            for (index, _, _), output in zip(members, outputs, strict=True):
                results[index] = output
            sums = [s + g for s, g in zip(sums, gradients, strict=True)]
        return results, sums

    def _run_group(self, key: Any, members: list[tuple[int, list[float], Sequence[Any]]]
                   ) -> tuple[list[Any], list[float]] | None:
        if isinstance(key, tuple) and key[:1] == ("values",):
            return None
        programs = self.cache.programs_for(key)
        if not programs:
            if self.cache.given_up(key):
                return None
            self(*members[0][2])  # traces it
            programs = self.cache.programs_for(key)
            if not programs:
                return None
        for program in programs:
            try:
                outputs, gradients = program.run([m[1] for m in members],
                                                 list(map(_data_of, program.captured)))
            except Exception:  # GuardFailed or an anomaly: let the sample-by-sample path decide
                continue
            structure = program.trace.output_structure
            return [unflatten(structure, o) for o in outputs], list(gradients)
        return None

    # -- looking at it -----------------------------------------------------------------------------

    def source(self, *args: Any, **keywords: Any) -> str:
        """The generated program that runs for arguments shaped like ``args``: one line per
        operation, each backward line commented with its derivative formula."""
        return self.program(*args, **keywords).source

    def program(self, *args: Any, **keywords: Any) -> Program:
        """The :class:`Program` that runs for ``args`` (tracing it first if needed)."""
        found = self._leaves_and_key(args, keywords)
        if found is None:
            raise TypeError(f"jit({self.name}).program: give numbers, not Values")
        leaves, key = found
        for _ in range(2):
            for program in self.cache.programs_for(key):
                try:
                    program.run([leaves] if self.mode == "wrt" else leaves,
                                list(map(_data_of, program.captured)))
                except GuardFailed:
                    continue
                except Exception:
                    pass
                return program
            self(*args, **keywords)
        raise RuntimeError(f"jit({self.name}): no program for these arguments (see warnings)")

    @property
    def programs(self) -> list[Program]:
        """Every program compiled so far (the cache keeps the most recently used structures)."""
        return list(self.cache)

    def clear(self) -> None:
        """Forget every compiled program (for example after rebinding a captured Value)."""
        self.cache.clear()

    def __repr__(self) -> str:
        return f"<jit {self.mode} of {self.name}: {len(self.programs)} program(s)>"


def _regroup(flat: Sequence[float], groups: list[tuple[Any, int]]) -> tuple[Any, ...]:
    grouped = []
    position = 0
    for structure, count in groups:
        grouped.append(unflatten(structure, flat[position : position + count]))
        position += count
    return tuple(grouped)


def _hashable(value: Any) -> Hashable:
    """A static argument as a key: lists (of lists...) as tagged tuples, so a list target
    selects a program like a tuple would."""
    if isinstance(value, (list, tuple)):
        return (type(value), tuple(_hashable(v) for v in value))
    hash(value)  # a TypeError for a dict, a set...: the caller runs the function eagerly
    hashable: Hashable = value
    return hashable


def _as_values(args: Sequence[Any], name: str, static: frozenset[int]) -> list[Any]:
    made = []
    for index, arg in enumerate(args):
        if index in static:
            made.append(arg)
            continue
        leaves, structure = flatten(arg, f"jit({name})")
        made.append(unflatten(structure, [Value(leaf) for leaf in leaves]))
    return made


def jit(function: Callable[..., Any]) -> Compiled:
    """Compile ``function`` to straight-line Python, traced once per argument structure.

    Arguments are numbers or (nested) lists and tuples of numbers; the numbers are the
    variables, their nesting and lengths select the program. Keyword arguments are passed
    through as they are, not differentiated: their values select the program too (JAX's
    static arguments). ``jit(f)`` runs f's forward pass; ``jit(value_and_grad(f,
    argnums))`` and ``jit(grad(f, argnums))`` run the forward and the backward pass together,
    generated from the primitive table. Results are floats, equal to what the eager engine
    computes on the same numbers (signed zeros included).

    Values the function uses without taking them as arguments (a model's parameters) are
    captured: each call reads their current ``.data``. Comparisons of Values are guarded (the
    function is traced again when one comes out differently); reading a number out of a traced
    Value raises :class:`~chainrule.engine.TracingError`; ``detach()`` and ``no_grad()``
    inside the function are recorded as values that flow forward and pass no gradient back.
    Every operation the function performs is in the program, used or not, so bad input raises
    the same errors as the eager engine. Called with Values (inside ``grad``), the function
    runs eagerly.

    >>> from chainrule.engine import jit, value_and_grad
    >>> step = jit(value_and_grad(lambda w, x: (w * x).tanh()))
    >>> step(0.5, 2.0) == value_and_grad(lambda w, x: (w * x).tanh())(0.5, 2.0)
    True
    """
    transform = getattr(function, "__chainrule_transform__", None)
    if isinstance(function, Compiled):
        return function
    if transform is not None:
        mode, inner, argnums = transform[:3]
        name = getattr(inner, "__name__", "f")
        return Compiled(inner, name, mode, argnums)
    return Compiled(function, getattr(function, "__name__", "f"), "value", None)


def compile_gradient(function: Callable[..., Any], wrt: Sequence[Value], *,
                     static_argnums: Sequence[int] = ()) -> Compiled:
    """Compile ``function`` and the gradient of its (first) result with respect to ``wrt``,
    Values it uses without taking them as arguments (a model's parameters).

    Called with numbers, the compiled function returns ``(results, gradients)``: ``function``'s
    results as numbers (in its nesting; the first one is differentiated, the others come along,
    such as a model's outputs next to its loss) and a tuple of one gradient per ``wrt``. The
    arguments in ``static_argnums`` are passed as they are (class labels, for example) and each
    value of theirs gets a program of its own. This is what ``fit(..., compile=True)`` runs
    once per sample.
    """
    name = getattr(function, "__name__", "f")
    return Compiled(function, name, "wrt", None, wrt=wrt, static_argnums=static_argnums)
