"""``jit``: trace a function once per argument structure, then replay generated Python."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..autograd import (
    _argnum_tuple,
    _contains_value,
    _gradients,
    flatten,
    unflatten,
    value_and_grad,
)
from ..value import Value
from .codegen import GuardFailed, generate
from .tracing import Trace, flatten_outputs, trace

#: How many programs (different guard outcomes) one argument structure may have before jit
#: gives up compiling it and runs the function eagerly (TorchDynamo's limit is 8 too).
MAX_PROGRAMS_PER_STRUCTURE = 8


@dataclass
class Program:
    """One compiled program: for one argument structure and one set of guard outcomes."""

    source: str
    #: ``run(leaves, captured)``; in ``"wrt"`` mode ``leaves`` is a list of samples' leaves.
    run: Callable[[tuple[float, ...] | list[tuple[float, ...]], tuple[float, ...]], Any]
    captured: list[Value]
    trace: Trace
    build_seconds: float  # trace + generate + compile
    line_count: int


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
        self._programs: dict[Any, list[Program]] = {}
        self._given_up: set[Any] = set()
        self.__name__ = f"jit_{name}"
        self.__doc__ = getattr(function, "__doc__", None)

    # -- calling ------------------------------------------------------------------------------------

    def __call__(self, *args: Any) -> Any:
        if _contains_value(args):
            return self._eager(*args)  # inside another transformation: no compiling
        leaves, key = self._flatten(args)
        if key in self._given_up:
            return self._eager(*args)
        for program in self._programs.get(key, ()):
            try:
                return self._run(program, leaves, args)
            except GuardFailed:
                continue
            except Exception:
                # Something the program does not check step by step went wrong (a domain
                # error, an overflow): the eager engine raises exactly its own error, or, in
                # the rare case the program's check was too cautious, gives the result.
                return self._eager(*args)
        return self._trace_and_run(key, leaves, args)

    def _flatten(self, args: Sequence[Any]) -> tuple[list[float], Any]:
        leaves: list[float] = []
        structures: list[Any] = []
        for index, arg in enumerate(args):
            if index in self.static_argnums:
                structures.append(("static", arg))  # its value selects the program
                continue
            flat, structure = flatten(arg, f"jit({self.name})")
            leaves.extend(flat)
            structures.append(structure)
        return leaves, tuple(structures)

    def _eager(self, *args: Any) -> Any:
        if self.mode in ("value", "wrt"):
            if _contains_value(args) and self.mode == "value":
                return self.function(*args)
            # What the program computes: the function on Values, its results as numbers.
            values = _as_values(args, self.name, self.static_argnums)
            outputs, structure = flatten_outputs(self.function(*values), self.name)
            numbers = unflatten(structure, [o._data if isinstance(o, Value) else o
                                            for o in outputs])
            if self.mode == "value":
                return numbers
            first = outputs[0] if outputs else None
            if not isinstance(first, Value):
                return numbers, tuple(0.0 for _ in self.wrt)
            return numbers, tuple(_gradients(first, self.wrt, False, f"jit({self.name})"))
        result = value_and_grad(self.function, self.argnums)(*args)  # type: ignore[arg-type]
        return result if self.mode == "value_and_grad" else result[1]

    def _run(self, program: Program, leaves: list[float], args: Sequence[Any]) -> Any:
        captured = tuple(c._data for c in program.captured)
        result = program.run([tuple(leaves)] if self.mode == "wrt" else tuple(leaves), captured)
        structure = program.trace.output_structure
        if self.mode == "value":
            return unflatten(structure, result)
        outputs, flat_gradients = result
        if self.mode == "wrt":  # a batch of one sample
            return unflatten(structure, outputs[0]), flat_gradients
        gradients = self._regroup(flat_gradients, args)
        if self.mode == "grad":
            return gradients
        return unflatten(structure, outputs), gradients

    def _regroup(self, flat: Sequence[float], args: Sequence[Any]) -> Any:
        grouped = []
        position = 0
        for n in _argnum_tuple(self.argnums, len(args), "jit"):  # type: ignore[arg-type]
            leaves, structure = flatten(args[n], "jit")
            grouped.append(unflatten(structure, list(flat[position : position + len(leaves)])))
            position += len(leaves)
        return grouped[0] if isinstance(self.argnums, int) else tuple(grouped)

    # -- tracing ------------------------------------------------------------------------------------

    def _trace_and_run(self, key: Any, leaves: list[float], args: Sequence[Any]) -> Any:
        programs = self._programs.setdefault(key, [])
        if len(programs) >= MAX_PROGRAMS_PER_STRUCTURE:
            warnings.warn(
                f"jit({self.name}): {len(programs)} traces for one argument structure, each "
                "with different outcomes of its comparisons; running it eagerly from now on",
                RuntimeWarning, stacklevel=3,
            )
            self._given_up.add(key)
            return self._eager(*args)
        program = self._build(args)
        if program is None:  # the traced result is not something a program can return
            return self._eager(*args)
        programs.append(program)
        try:
            return self._run(program, leaves, args)
        except Exception:
            return self._eager(*args)

    def _build(self, args: Sequence[Any]) -> Program | None:
        started = time.perf_counter()
        traced = trace(self.function, args, self.name, self.static_argnums)
        wrt: list[Value] | None = None
        if self.mode == "wrt":
            wrt = self.wrt
        elif self.mode != "value":
            if traced.output_structure is not None:
                return None  # value_and_grad needs one number: eager says so
            wrt = []
            offsets = [0]
            for arg in args:
                offsets.append(offsets[-1] + len(flatten(arg, "jit")[0]))
            for n in _argnum_tuple(self.argnums, len(args), "jit"):  # type: ignore[arg-type]
                wrt.extend(traced.inputs[offsets[n] : offsets[n + 1]])
        generated = generate(traced, wrt, _identifier(self.name), accumulate=self.mode == "wrt")
        run = generated.compile()
        return Program(generated.source, run, generated.captured, traced,
                       time.perf_counter() - started, generated.line_count)

    def run_batch(self, samples: Sequence[Sequence[Any]]) -> tuple[list[Any], list[float]]:
        """Mode ``compile_gradient`` only: call on every argument tuple of ``samples``; returns
        each call's results and the sums of their gradients. Samples with the same structure
        run in one loop inside the generated program."""
        if self.mode != "wrt":
            raise TypeError("run_batch is for functions compiled with compile_gradient")
        groups: dict[Any, list[tuple[int, list[float], Sequence[Any]]]] = {}
        for index, args in enumerate(samples):
            leaves, key = self._flatten(args)
            groups.setdefault(key, []).append((index, leaves, args))
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
        programs = self._programs.get(key)
        if not programs:
            if key in self._given_up:
                return None
            self(*members[0][2])  # traces it
            programs = self._programs.get(key)
            if not programs:
                return None
        for program in programs:
            try:
                outputs, gradients = program.run([tuple(m[1]) for m in members],
                                                 tuple(c._data for c in program.captured))
            except Exception:  # GuardFailed or an anomaly: let the sample-by-sample path decide
                continue
            structure = program.trace.output_structure
            return [unflatten(structure, o) for o in outputs], list(gradients)
        return None

    # -- looking at it -----------------------------------------------------------------------------

    def source(self, *args: Any) -> str:
        """The generated program that runs for arguments shaped like ``args``: one line per
        operation, each backward line commented with its derivative formula."""
        return self.program(*args).source

    def program(self, *args: Any) -> Program:
        """The :class:`Program` that runs for ``args`` (tracing it first if needed)."""
        if _contains_value(args):
            raise TypeError(f"jit({self.name}).program: give numbers, not Values")
        leaves, key = self._flatten(args)
        for _ in range(2):
            for program in self._programs.get(key, ()):
                try:
                    program.run([tuple(leaves)] if self.mode == "wrt" else tuple(leaves),
                                tuple(c._data for c in program.captured))
                except GuardFailed:
                    continue
                except Exception:
                    pass
                return program
            self(*args)
        raise RuntimeError(f"jit({self.name}): no program for these arguments (see warnings)")

    @property
    def programs(self) -> list[Program]:
        """Every program compiled so far."""
        return [p for programs in self._programs.values() for p in programs]

    def clear(self) -> None:
        """Forget every compiled program (for example after rebinding a captured Value)."""
        self._programs.clear()
        self._given_up.clear()

    def __repr__(self) -> str:
        return f"<jit {self.mode} of {self.name}: {len(self.programs)} program(s)>"


def _as_values(args: Sequence[Any], name: str, static: frozenset[int]) -> list[Any]:
    made = []
    for index, arg in enumerate(args):
        if index in static:
            made.append(arg)
            continue
        leaves, structure = flatten(arg, f"jit({name})")
        made.append(unflatten(structure, [Value(leaf) for leaf in leaves]))
    return made


def _identifier(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in name) or "f"
    return cleaned if not cleaned[0].isdigit() else f"f_{cleaned}"


def jit(function: Callable[..., Any]) -> Compiled:
    """Compile ``function`` to straight-line Python, traced once per argument structure.

    Arguments are numbers or (nested) lists and tuples of numbers; the numbers are the
    variables, their nesting and lengths select the program. ``jit(f)`` runs f's forward pass;
    ``jit(value_and_grad(f, argnums))`` and ``jit(grad(f, argnums))`` run the forward and the
    backward pass together, generated from the primitive table. Results are floats, equal to
    what the eager engine computes on the same numbers.

    Values the function uses without taking them as arguments (a model's parameters) are
    captured: each call reads their current ``.data``. Comparisons of Values are guarded (the
    function is traced again when one comes out differently); reading a number out of a traced
    Value raises :class:`~chainrule.engine.TracingError`. Bad input raises the same errors as
    the eager engine. Called with Values (inside ``grad``), the function runs eagerly.
    Operations whose results the function throws away are not part of the program (as in
    JAX): they are not computed, so they cannot fail either.

    >>> from chainrule.engine import jit, value_and_grad
    >>> step = jit(value_and_grad(lambda w, x: (w * x).tanh()))
    >>> step(0.5, 2.0) == value_and_grad(lambda w, x: (w * x).tanh())(0.5, 2.0)
    True
    """
    transform = getattr(function, "__chainrule_transform__", None)
    if isinstance(function, Compiled):
        return function
    if transform is not None:
        mode, inner, argnums = transform
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
