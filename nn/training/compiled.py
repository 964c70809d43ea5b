"""Training steps through compiled programs: what ``fit(..., compile=True)`` runs.

The unit of compilation is one sample: a program for ``loss([model(x)], [t])`` and its gradient
with respect to the model's parameters (traced once, by :func:`chainrule.engine.compile.
compile_gradient`), run in a loop over the batch, the per-sample gradients summed and divided
by the batch size. A per-sample program is small, so it is built in a fraction of a second
whatever the batch size, and one program serves every batch (the last, shorter one too); a
whole-batch program would be rebuilt per batch size and grow with it, and CPython compiles a
long function body more slowly than it loops over a short one.

This relies on the loss of a batch being the mean of the per-sample losses, which holds for
every loss in :mod:`chainrule.nn.losses`; the first step checks it against the eager step and
says so when it does not hold. The numbers then agree with eager training to rounding (about
1e-15 relative per step): the sums are added in another order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from chainrule.engine import Value
from chainrule.engine.compile import Compiled, compile_gradient

from ..errors import ConfigurationError
from ..losses import l2_penalty
from ..module import Module
from ..optim import Optimizer
from .evaluation import _is_integral, _single

#: How closely the first compiled step must agree with the eager one (relative).
AGREEMENT = 1e-9
#: Up to this many distinct target values, each gets a program of its own.
MAX_STATIC_TARGETS = 32


class CompiledSteps:
    """Per-sample programs for one model and loss (see the module docstring)."""

    def __init__(self, model: Module, loss: Any, params: list[Value], l2: float,
                 targets: Sequence[Any]) -> None:
        self.params = params
        self.l2 = l2
        # A few distinct targets (class labels: a loss may index with them) select a program
        # each; many (regression) are numbers the program takes as inputs.
        static = len(set(targets)) <= MAX_STATIC_TARGETS

        def sample(x: Any, target: Any) -> list[Any]:
            output = _single(model(x))
            return [loss([output], [target]), output]

        self.sample: Compiled = compile_gradient(sample, params,
                                                 static_argnums=(1,) if static else ())
        self.penalty: Compiled | None = (
            compile_gradient(lambda: l2_penalty(params, l2), params) if l2 else None
        )
        self.checked = False

    def step(self, rows: list[Any], targets: list[Any], batch: list[int],
             optimizer: Optimizer, eager_step: Any) -> tuple[float, list[Any], list[Any]]:
        """One step on ``batch``: returns the objective, the outputs and the targets."""
        batch_targets = [targets[i] for i in batch]
        results, sums = self.sample.run_batch(
            [(rows[i], target) for i, target in zip(batch, batch_targets, strict=True)])
        total = 0.0
        outputs = []
        for loss_i, output in results:
            total += loss_i
            outputs.append(output)
        size = len(batch)
        objective = total / size
        grads = [s / size for s in sums]
        if self.penalty is not None:
            penalty, penalty_grads = self.penalty()
            objective += penalty
            grads = [g + h for g, h in zip(grads, penalty_grads, strict=True)]
        if not self.checked:
            self._check_against(eager_step, objective, grads)
        for p, g in zip(self.params, grads, strict=True):
            p.grad = g
        optimizer.step()
        return objective, outputs, batch_targets

    def _check_against(self, eager_step: Any, objective: float, grads: list[float]) -> None:
        """The first step's numbers against the eager step's, before anything is updated."""
        eager_objective = eager_step()
        eager_grads = [p.grad for p in self.params]
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


class NumpySteps:
    """``fit(..., compile="numpy")``: the per-sample program as numpy array code, run once per
    batch (see :mod:`chainrule.engine.compile.numpy_backend`).

    Every node is an array over the batch and the parameters are numbers broadcast over it;
    their gradients are summed over the batch by numpy. Class labels cannot be inputs of a
    program (a loss indexes with them), so for a classifier one trace computes the model's
    output once and the loss for every class, and each sample seeds the backward pass only at
    the loss of its own class: one program for every batch, whatever its labels. Each layer's
    sums of products run as matrix products (the layer is lifted), so the numbers agree with
    the per-sample Python programs to rounding. When a batch leaves the fast path (a guard that does not
    hold for every sample, anything not finite, an error) it runs through the Python
    programs of :class:`CompiledSteps`, which give eager's numbers or raise eager's error.
    """

    def __init__(self, model: Module, loss: Any, params: list[Value], l2: float,
                 rows: Sequence[Any], targets: Sequence[Any]) -> None:
        from chainrule.engine.compile import numpy_backend

        self.np = numpy_backend._require_numpy()
        self.python = CompiledSteps(model, loss, params, l2, targets)
        self.params = params
        self.model, self.loss = model, loss
        self.classes: list[int] | None = None
        if all(_is_integral(t) and isinstance(t, int) for t in targets):
            self.classes = sorted(set(targets))
        self.leaves = self._leaf_matrix(rows, targets)
        self.program: Any = None
        self.fallbacks = 0  # batches that left the fast path (for tests and curiosity)

    def _leaf_matrix(self, rows: Sequence[Any], targets: Sequence[Any]) -> Any:
        """Every sample's program inputs, one row each (None when samples differ in shape)."""
        from chainrule.engine.autograd import flatten

        matrix, structure = [], None
        for x, t in zip(rows, targets, strict=True):
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

    def _build(self, rows: Sequence[Any], targets: Sequence[Any]) -> Any:
        from chainrule.engine.compile import numpy_backend, trace

        model, loss, classes = self.model, self.loss, self.classes
        if classes is not None:
            def every_class(x: Any) -> list[Any]:
                output = _single(model(x))
                return [*(loss([output], [c]) for c in classes), output]

            traced = trace(every_class, (rows[0],), "sample")
            seeded = list(range(len(classes)))
        else:
            def sample(x: Any, target: Any) -> list[Any]:
                output = _single(model(x))
                return [loss([output], [target]), output]

            traced = trace(sample, (rows[0], targets[0]), "sample")
            seeded = [0]
        self.seeded = seeded
        return numpy_backend.generate(traced, self.params, "batch_step", seeded=seeded)

    def step(self, rows: list[Any], targets: list[Any], batch: list[int],
             optimizer: Optimizer, eager_step: Any) -> tuple[float, list[Any], list[Any]]:
        """One step on ``batch`` (as :meth:`CompiledSteps.step`)."""
        if self.leaves is not None:
            try:
                if self.program is None:
                    self.program = self._build(rows, targets)
                computed = self._numpy_step(targets, batch)
            except Exception:
                computed = None
            if computed is not None:
                objective, outputs, batch_targets, grads = computed
                if not self.python.checked:
                    self.python._check_against(eager_step, objective, grads)
                for p, g in zip(self.params, grads, strict=True):
                    p.grad = g
                optimizer.step()
                return objective, outputs, batch_targets
        self.fallbacks += 1
        return self.python.step(rows, targets, batch, optimizer, eager_step)

    def _numpy_step(self, targets: list[Any], batch: list[int]
                    ) -> tuple[float, list[Any], list[Any], list[float]]:
        np = self.np
        size = len(batch)
        inputs = np.ascontiguousarray(self.leaves[batch].T)
        batch_targets = [targets[i] for i in batch]
        if self.classes is not None:
            labels = np.array([self.classes.index(t) for t in batch_targets])
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
        objective = total / size
        grads = (sums / size).tolist()
        if self.python.penalty is not None:
            penalty, penalty_grads = self.python.penalty()
            objective += penalty
            grads = [g + h for g, h in zip(grads, penalty_grads, strict=True)]
        model_outputs = np.stack([np.broadcast_to(o, (size,)) for o in outputs[count:]], axis=1)
        as_lists = model_outputs.tolist()
        results = as_lists if model_outputs.shape[1] > 1 else [row[0] for row in as_lists]
        return objective, results, batch_targets, grads
