"""numpy programs: :func:`vectorize` (a function of numbers over whole arrays) and
:func:`generate` (a traced call as numpy code, what ``fit(..., compile="numpy")`` runs).

Both read the one plan (:mod:`.plan`) and write it with the numpy emitter (:mod:`.emit_numpy`,
where the numbers and the errors are described); training lifts each layer's sums of
products to matrix products first (:func:`~.plan.lift_layers`). A batch the numpy program
does not finish (a guard that does not hold for every sample, a number that is not finite, an
error) runs sample by sample on the exact path instead: counted, and warned about once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from ..autograd import value_and_grad
from ..pytree import argnum_tuple, contains_value
from ..value import Value
from .cache import MAX_PROGRAMS_PER_STRUCTURE, Fallbacks, ProgramCache
from .emit_numpy import BatchProgram, emit_numpy, require_numpy
from .emit_python import GuardFailed, NonFinite
from .plan import lift_activations, lift_layers, make_plan
from .tracing import Trace, trace

#: The numpy emitter's import check, under the name fit's numpy steps use.
_require_numpy = require_numpy


def generate(trace: Trace, wrt: Sequence[Value] | None, name: str, *,
             seeded: Sequence[int] = (0,), summed: bool = True,
             lift: bool = True) -> BatchProgram:
    """The numpy program of ``trace``, a function ``(inputs, captured, seeds)`` (see
    :func:`~.emit_numpy.emit_numpy`): the gradient of ``sum_k seeds[k] * outputs[seeded[k]]``
    with respect to each of ``wrt``. Several seeded outputs serve several programs at once: a
    classifier's loss for each class, each sample seeding the one of its own class. With
    ``lift`` (and ``summed``), a layer's sums of products run as matrix products."""
    plan = make_plan(trace, wrt, name, seeded)
    if lift and summed and wrt is not None:
        captured = set(plan.captured_slots)  # numbers broadcast over the batch: a matrix W
        plan = lift_activations(
            lift_layers(plan, {s for s in plan.wrt if s is not None and s in captured}))
    return emit_numpy(plan, summed=summed)


# -- functions over batches: vectorize -------------------------------------------------------


class Vectorized:
    """A function compiled by :func:`vectorize`; call it with 1-D arrays (see there)."""

    def __init__(self, function: Callable[..., Any], mode: str,
                 argnums: int | tuple[int, ...] | None) -> None:
        self.function = function
        self.mode = mode  # "value", "value_and_grad" or "grad"
        self.argnums = argnums
        self.name = getattr(function, "__name__", "f")
        self.cache: ProgramCache[BatchProgram] = ProgramCache()
        self.fallbacks = Fallbacks(f"vectorize({self.name})")
        self.__doc__ = getattr(function, "__doc__", None)

    def _eager_one(self, numbers: Sequence[float]) -> Any:
        if self.mode == "value":
            result = self.function(*[Value(x) for x in numbers])
            if not isinstance(result, Value):
                from ..errors import OperandTypeError

                raise OperandTypeError(f"vectorize({self.name}): the function must return one "
                                       f"Value, got {type(result).__name__}")
            return result._data
        result = value_and_grad(self.function, self.argnums)(*numbers)  # type: ignore[arg-type]
        return result if self.mode == "value_and_grad" else result[1]

    def __call__(self, *args: Any) -> Any:
        np = require_numpy()
        if contains_value(args):
            raise TypeError(f"vectorize({self.name}): give numbers or arrays, not Values")
        columns, n = _columns(args, self.name)
        batch = np.ascontiguousarray(np.array(columns, dtype=np.float64).reshape(len(args), n))
        key = len(args)
        reason = "the program could not be built"
        for program in self.cache.programs_for(key):
            try:
                return self._run(program, batch)
            except GuardFailed:
                reason = "a comparison came out differently on some samples"
            except (NonFinite, ArithmeticError) as error:
                reason = f"a number that is not finite, or a domain error ({type(error).__name__})"
                break
        else:
            if not self.cache.full(key):
                built = self._build(batch[:, 0].tolist())
                if built is not None:
                    self.cache.add(key, built)
                    try:
                        return self._run(built, batch)
                    except GuardFailed:
                        reason = "a comparison came out differently on some samples"
                    except (NonFinite, ArithmeticError) as error:
                        reason = ("a number that is not finite, or a domain error "
                                  f"({type(error).__name__})")
                else:
                    reason = "the function does not return one Value"
            else:
                reason = f"{MAX_PROGRAMS_PER_STRUCTURE} traces, each with other comparisons"
        self.fallbacks.record(f"{reason}: the batch ran sample by sample", warn=True)
        return self._per_sample(batch)

    def _build(self, example: list[float]) -> BatchProgram | None:
        traced = trace(self.function, example, self.name)
        if traced.output_structure is not None or not isinstance(traced.outputs[0], Value):
            return None  # not one Value: the per-sample path says what is wrong
        wrt = None
        if self.mode != "value":
            wrt = [traced.inputs[n]
                   for n in argnum_tuple(self.argnums, len(example), "vectorize")]  # type: ignore[arg-type]
        return generate(traced, wrt, self.name, summed=False)

    def _run(self, program: BatchProgram, batch: Any) -> Any:
        np = require_numpy()
        n = batch.shape[1]
        (value,), gradients = program(batch)
        value = np.broadcast_to(value, (n,)).copy()
        if self.mode == "value":
            return value
        grads = tuple(np.broadcast_to(g, (n,)).copy() for g in gradients)
        grouped = grads[0] if isinstance(self.argnums, int) else grads
        return (value, grouped) if self.mode == "value_and_grad" else grouped

    def _per_sample(self, batch: Any) -> Any:
        """Sample by sample on the eager engine: its results, or its error for the first
        sample that has one."""
        np = require_numpy()
        results = [self._eager_one(column) for column in batch.T.tolist()]
        if self.mode == "value":
            return np.array(results, dtype=np.float64)
        if self.mode == "value_and_grad":
            values = np.array([r[0] for r in results], dtype=np.float64)
            gradients = [r[1] for r in results]
        else:
            values, gradients = None, results
        if isinstance(self.argnums, int):
            grouped: Any = np.array(gradients, dtype=np.float64)
        else:
            grouped = tuple(np.array(column, dtype=np.float64) for column in zip(*gradients, strict=True))
        return (values, grouped) if self.mode == "value_and_grad" else grouped

    def source(self, *args: Any) -> str:
        """The numpy program that runs for these arguments (tracing it first if needed)."""
        self(*args)
        programs = self.cache.programs_for(len(args))
        if not programs:
            raise RuntimeError(f"vectorize({self.name}): no numpy program for these arguments")
        return programs[-1].source


def _columns(args: Sequence[Any], name: str) -> tuple[list[list[float]], int]:
    """Each argument as a list of n numbers: 1-D arrays (all of one length n) as they are,
    numbers repeated n times."""
    np = require_numpy()
    arrays = [np.asarray(a) for a in args]
    lengths = {a.shape[0] for a in arrays if a.ndim == 1}
    if any(a.ndim > 1 for a in arrays) or len(lengths) > 1:
        shapes = ", ".join(str(a.shape) for a in arrays)
        raise ValueError(f"vectorize({name}): every argument must be a number or a 1-D array, "
                         f"all of one length; got shapes {shapes}")
    n = lengths.pop() if lengths else 1
    if n == 0:
        raise ValueError(f"vectorize({name}): the arrays are empty")
    columns = []
    for index, a in enumerate(arrays):
        values = a.tolist() if a.ndim == 1 else [a.item()] * n
        for k, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                from ..errors import OperandTypeError

                where = f"argument {index}" + (f"[{k}]" if a.ndim == 1 else "")
                raise OperandTypeError(
                    f"vectorize({name}): {where} must be a finite number, got {v!r:.40}")
        columns.append([float(v) for v in values])
    return columns, n


def vectorize(function: Callable[..., Any]) -> Vectorized:
    """Compile ``function`` to numpy array code that runs it on a whole batch at once.

    ``function`` takes numbers (scalars) and returns one Value. The compiled function takes
    1-D arrays of one length n (numbers are repeated), and gives what calling ``function``
    on each position would: ``vectorize(f)(xs)`` is the array of ``f(x)`` for x in xs, and
    ``vectorize(value_and_grad(f, argnums))(...)`` gives the values and the per-sample
    gradients as arrays (``grad(f)`` too). The program is traced once (on the first sample),
    like :func:`jit`'s, from the same primitive table; a comparison it relied on must come out
    the same on every sample, else (and on any error) the batch runs sample by sample on the
    eager engine, which raises its own error. Needs numpy (``pip install 'chainrule[fast]'``).

    >>> import numpy as np
    >>> from chainrule.engine import value_and_grad
    >>> from chainrule.engine.compile import vectorize
    >>> f = vectorize(value_and_grad(lambda w, x: (w * x).tanh(), argnums=0))
    >>> values, dw = f(np.array([0.5, -1.0]), 2.0)
    >>> dw.shape
    (2,)
    """
    require_numpy()
    transform = getattr(function, "__chainrule_transform__", None)
    if transform is not None:
        mode, inner, argnums = transform[:3]
        return Vectorized(inner, mode, argnums)
    return Vectorized(function, "value", None)

