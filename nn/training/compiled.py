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
from .evaluation import _single

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
