"""Training steps through compiled programs: what ``fit(..., compile=True)`` runs.

The unit of compilation is one sample: a program for ``loss([model(x)], [t])`` and its gradient
with respect to the model's parameters (traced once, by :func:`chainrule.engine.compile.
compile_gradient`), run in a loop over the batch, the per-sample gradients summed and divided
by the batch size. A per-sample program is small, so it is built in a fraction of a second
whatever the batch size, and one program serves every batch (the last, shorter one too); a
whole-batch program would be rebuilt per batch size and grow with it, and CPython compiles a
long function body more slowly than it loops over a short one.

Everything about how to compile is decided once, before the first step, on the first sample:

* **Targets**: a program takes the target as an input (a number, or a list of numbers for a
  model with several outputs) when the loss can compute with a traced one; a loss that reads
  it as a Python value (``cross_entropy`` indexes the outputs with the class label) gets one
  program per target value instead. With few distinct targets (at most
  :data:`MAX_STATIC_TARGETS`, such as class labels) the per-value programs are tried first:
  they fold the target into the program, and a loss that compares its target (binary
  cross-entropy's ``y == 1``) needs no guard on it; with many, the input.
* **Parameters the first sample's loss does not reach** (a module built but not used by
  ``forward``) have the gradient 0, as in eager training: the program returns them beside the
  loss, so that every trace knows them.
* When neither form compiles, the eager step on the first sample runs: its error is raised if
  it fails, else a :class:`ConfigurationError` says that ``compile=False`` is needed.

This relies on the loss of a batch being the mean of the per-sample losses, which holds for
every loss in :mod:`chainrule.nn.losses`; the first step checks it against the eager step and
says so when it does not hold. The numbers then agree with eager training to rounding (about
1e-15 relative per step): the sums are added in another order.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from chainrule.engine import topological_order
from chainrule.engine.compile import Compiled, compile_gradient

from ..data import single
from ..errors import ConfigurationError
from ..losses import l2_penalty
from .steps import EagerSteps, Problem, Step, Steps

#: How closely the first compiled step must agree with the eager one (relative).
AGREEMENT = 1e-9
#: Up to this many distinct target values, a program per value is tried first.
MAX_STATIC_TARGETS = 32
#: ``fit(compile="numpy")`` computes a classifier's loss for every class in one program; with
#: more classes than this, the batches run through the Python programs instead.
MAX_NUMPY_CLASSES = 64


def _target_forms(targets: Sequence[Any]) -> list[bool]:
    """Whether the targets select the program (True) or are its inputs (False), in the order
    to try (see the module notes)."""
    if not all(isinstance(t, Hashable) for t in targets):
        return [False]
    return [True, False] if len(set(targets)) <= MAX_STATIC_TARGETS else [False, True]


class _ProgramSteps(Steps):
    """What the compiled strategies share: the L2 penalty's program, and the first step
    checked against the eager one."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem)
        self.eager = EagerSteps(problem)
        params, l2 = problem.params, problem.l2
        self.penalty: Compiled | None = (
            compile_gradient(lambda: l2_penalty(params, l2), params) if l2 else None
        )
        self.checked = False

    def _cannot_compile(self, failure: Exception | None) -> ConfigurationError:
        """Raises eager's own error on the first sample if eager fails too; otherwise returns
        the error that says to train eagerly."""
        loss, _ = self.problem.sample_objective(0)
        loss.backward()
        self.problem.model.zero_grad()
        return ConfigurationError(
            f"fit(compile=...): this model and loss train eagerly but cannot be compiled "
            f"({type(failure).__name__}: {failure}); use compile=False")

    def _finish(self, batch: list[int], objective: float, grads: list[float],
                outputs: list[Any], batch_targets: list[Any]) -> Step:
        """Add the penalty, check the first step against eager, set the gradients."""
        if self.penalty is not None:
            penalty, penalty_grads = self.penalty()
            objective += penalty
            grads = [g + h for g, h in zip(grads, penalty_grads, strict=True)]
        if not self.checked:
            self._check_against_eager(batch, objective, grads)
        for p, g in zip(self.problem.params, grads, strict=True):
            p.grad = g
        return Step(objective, outputs, batch_targets)

    def _check_against_eager(self, batch: list[int], objective: float, grads: list[float]
                             ) -> None:
        """The first step's numbers against the eager step's, before anything is updated."""
        eager_objective = self.eager.gradients(batch).objective
        eager_grads = [p.grad for p in self.problem.params]
        pairs = [(objective, eager_objective), *zip(grads, eager_grads, strict=True)]
        scale = max(1.0, *(abs(e) for _, e in pairs))
        worst = max(abs(c - e) for c, e in pairs)
        if not math.isfinite(worst) or worst > AGREEMENT * scale:
            raise ConfigurationError(
                "fit(compile=True): the compiled per-sample steps disagree with the eager step "
                f"(by {worst:.3g}): compile=True needs a loss whose value on a batch is the mean "
                "of its values on the samples (as every chainrule loss is); use compile=False"
            )
        self.checked = True


class CompiledSteps(_ProgramSteps):
    """Per-sample programs for one model and loss (see the module docstring)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem)
        self.unreached = self._unreached()
        self.sample, self.static_targets = self._compile()

    def _unreached(self) -> list[Any]:
        """The parameters the first sample's loss does not depend on."""
        loss, _ = self.problem.sample_objective(0)
        reached = set(topological_order(loss))
        return [p for p in self.problem.params if p not in reached]

    def _sample_function(self) -> Callable[[Any, Any], list[Any]]:
        model, loss, unreached = self.problem.model, self.problem.loss, self.unreached

        def sample(x: Any, target: Any) -> list[Any]:
            output = single(model(x))
            return [loss([output], [target]), output, *unreached]

        return sample

    def _compile(self) -> tuple[Compiled, bool]:
        """The per-sample program, and whether the targets select it (see the module notes)."""
        problem = self.problem
        first = (problem.rows[0], problem.targets[0])
        failure: Exception | None = None
        for static in _target_forms(problem.targets):
            compiled = compile_gradient(self._sample_function(), problem.params,
                                        static_argnums=(1,) if static else ())
            try:
                compiled.run_batch([first])
            except Exception as error:  # this form does not compile: try the other
                failure = error
                continue
            return compiled, static
        raise self._cannot_compile(failure) from failure

    def gradients(self, batch: list[int]) -> Step:
        problem = self.problem
        batch_targets = [problem.targets[i] for i in batch]
        results, sums = self.sample.run_batch(
            [(problem.rows[i], target) for i, target in zip(batch, batch_targets, strict=True)])
        total = 0.0
        outputs = []
        for result in results:
            total += result[0]
            outputs.append(result[1])
        size = len(batch)
        return self._finish(batch, total / size, [s / size for s in sums], outputs,
                            batch_targets)


class NumpySteps(_ProgramSteps):
    """``fit(..., compile="numpy")``: the per-sample program as numpy array code, run once per
    batch (see :mod:`chainrule.engine.compile.numpy_backend`).

    Every node is an array over the batch and the parameters are numbers broadcast over it;
    their gradients are summed over the batch by numpy. Targets that select the program (class
    labels, see :class:`CompiledSteps`) cannot be inputs of it, so one trace computes the
    model's output once and the loss for every class, and each sample seeds the backward pass
    only at the loss of its own class: one program for every batch, whatever its labels. Each
    layer's sums of products run as matrix products (the layer is lifted), so the numbers agree
    with the per-sample Python programs to rounding. When a batch leaves the fast path (a guard
    that does not hold for every sample, anything not finite, an error) it runs through the
    Python programs of :class:`CompiledSteps` (built on first need), which give eager's
    numbers or raise eager's error. The form of the program (targets as inputs, or a loss per
    class) is chosen as :class:`CompiledSteps` chooses its own; when neither fits (samples that
    differ in shape, more than :data:`MAX_NUMPY_CLASSES` classes, a loss that neither form
    traces) every batch takes the Python programs, and a ``RuntimeWarning`` says why.
    """

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem)
        try:
            import numpy
        except ImportError:
            raise ImportError("fit(compile='numpy') needs numpy: "
                              "pip install 'chainrule[fast]'") from None
        self.np = numpy
        self._python: CompiledSteps | None = None
        self.fallbacks = 0  # batches that left the fast path (for tests and curiosity)
        #: The label of each class when the targets select the program, else None.
        self.classes: dict[Any, int] | None = None
        #: Every sample's program inputs and the program; None when every batch takes the
        #: Python programs.
        self.leaves: Any = None
        self.program: Any = None
        why: list[str] = []  # why each form of the program failed
        for static in _target_forms(problem.targets):
            self.classes = ({t: k for k, t in enumerate(dict.fromkeys(problem.targets))}
                            if static else None)
            if self.classes is not None and len(self.classes) > MAX_NUMPY_CLASSES:
                why.append(f"{len(self.classes)} classes, more than the {MAX_NUMPY_CLASSES} "
                           f"one numpy program computes the loss for")
                continue
            self.leaves = self._leaf_matrix()
            if self.leaves is None:
                why.append("the samples (or targets) differ in shape or hold Values")
                continue
            try:
                self.program = self._build()
            except Exception as error:  # this form does not trace: try the other
                why.append(f"{type(error).__name__}: {error}")
                self.leaves = None
                continue
            return
        self.classes = None
        self._python = CompiledSteps(problem)  # now: any error of its comes before the first step
        warnings.warn(f"fit(compile='numpy'): {'; '.join(why)}; every batch runs through the "
                      "per-sample Python programs (compile=True) instead", RuntimeWarning,
                      stacklevel=4)

    @property
    def python(self) -> CompiledSteps:
        """The per-sample Python programs, for the batches that leave the fast path (built on
        first use: a run that never needs them never compiles them)."""
        if self._python is None:
            self._python = CompiledSteps(self.problem)
            self._python.checked = self.checked
        return self._python

    def _leaf_matrix(self) -> Any:
        """Every sample's program inputs, one row each (None when samples differ in shape)."""
        from chainrule.engine.autograd import flatten

        matrix, structure = [], None
        for x, t in zip(self.problem.rows, self.problem.targets, strict=True):
            try:
                leaves, shape = flatten(x, "fit")
                if self.classes is None:
                    target_leaves, target_shape = flatten(t, "fit")
                    leaves, shape = leaves + target_leaves, (shape, target_shape)
            except (TypeError, ValueError):  # Values among the data: the Python programs
                return None
            if structure is None:
                structure = shape
            elif shape != structure:
                return None
            matrix.append(leaves)
        return self.np.array(matrix, dtype=self.np.float64)

    def _build(self) -> Any:
        from chainrule.engine.compile import numpy_backend, trace

        problem = self.problem
        model, loss, classes = problem.model, problem.loss, self.classes
        if classes is not None:
            def every_class(x: Any) -> list[Any]:
                output = single(model(x))
                return [*(loss([output], [c]) for c in classes), output]

            traced = trace(every_class, (problem.rows[0],), "sample")
            seeded = list(range(len(classes)))
        else:
            def sample(x: Any, target: Any) -> list[Any]:
                output = single(model(x))
                return [loss([output], [target]), output]

            traced = trace(sample, (problem.rows[0], problem.targets[0]), "sample")
            seeded = [0]
        self.seeded = seeded
        return numpy_backend.generate(traced, problem.params, "batch_step", seeded=seeded)

    def gradients(self, batch: list[int]) -> Step:
        if self.program is not None:
            try:
                objective, outputs, batch_targets, grads = self._numpy_step(batch)
            except Exception:  # a guard, a number not finite, an error: the Python programs
                pass
            else:
                return self._finish(batch, objective, grads, outputs, batch_targets)
        self.fallbacks += 1
        self.python.checked = self.checked
        step = self.python.gradients(batch)
        self.checked = self.python.checked
        return step

    def _numpy_step(self, batch: list[int]) -> tuple[float, list[Any], list[Any], list[float]]:
        np = self.np
        size = len(batch)
        inputs = np.ascontiguousarray(self.leaves[batch].T)
        batch_targets = [self.problem.targets[i] for i in batch]
        if self.classes is not None:
            labels = np.array([self.classes[t] for t in batch_targets])
            seeds = [(labels == k).astype(np.float64) for k in range(len(self.classes))]
        else:
            labels, seeds = None, [1.0]
        outputs, sums = self.program(inputs, seeds)
        count = len(self.seeded)
        losses = [np.broadcast_to(o, (size,)) for o in outputs[:count]]
        per_sample = (np.stack(losses)[labels, np.arange(size)] if labels is not None
                      else losses[0])
        total = 0.0
        for value in per_sample.tolist():  # the Python programs' order of addition
            total += value
        grads = (sums / size).tolist()
        model_outputs = np.stack([np.broadcast_to(o, (size,)) for o in outputs[count:]], axis=1)
        as_lists = model_outputs.tolist()
        results = as_lists if model_outputs.shape[1] > 1 else [row[0] for row in as_lists]
        return total / size, results, batch_targets, grads
