"""How :func:`~chainrule.nn.fit` computes a step's gradients: a :class:`Steps` strategy, chosen
once per run by :func:`choose_steps` from ``fit(compile=...)``.

Every strategy takes a batch (indices into the data), sets every parameter's ``.grad`` to the
gradient of the batch's objective (the loss, plus the L2 penalty) and returns a :class:`Step`;
``fit`` then calls the optimizer. The strategies differ only in how they compute:

* :class:`EagerSteps` (``compile=False``): forward every sample on Values, ``backward()``;
* :class:`~chainrule.nn.training.compiled.CompiledSteps` (``compile=True`` or ``"python"``):
  a compiled per-sample program looped over the batch;
* :class:`~chainrule.nn.training.compiled.NumpySteps` (``compile="numpy"``): the per-sample
  program as numpy code over the whole batch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from chainrule.engine import Value

from ..data import Loss, single
from ..errors import ConfigurationError
from ..losses import l2_penalty
from ..module import Module


@dataclass(frozen=True)
class Problem:
    """What is trained: the model, its loss and L2 weight, and the checked data."""

    model: Module
    loss: Loss
    params: list[Value]
    l2: float
    rows: list[Any]
    targets: list[Any]

    def sample_objective(self, i: int) -> tuple[Value, Any]:
        """Sample ``i``'s loss as a graph (no penalty) and the model's output."""
        output = single(self.model(self.rows[i]))
        return self.loss([output], [self.targets[i]]), output


@dataclass(frozen=True)
class Step:
    """One step's objective (a number), the model's outputs and the batch's targets."""

    objective: float
    outputs: list[Any]
    targets: list[Any]


class Steps(ABC):
    """A way of computing a batch's gradients (see the module docstring)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem

    @abstractmethod
    def gradients(self, batch: list[int]) -> Step:
        """Set every parameter's ``.grad`` to the gradient of ``batch``'s objective."""


class EagerSteps(Steps):
    """Forward every sample of the batch on Values, ``loss(outputs, targets)`` plus the
    penalty, zero the gradients, ``backward()``."""

    def gradients(self, batch: list[int]) -> Step:
        problem = self.problem
        outputs = [single(problem.model(problem.rows[i])) for i in batch]
        targets = [problem.targets[i] for i in batch]
        objective = problem.loss(outputs, targets)
        if problem.l2:
            objective = objective + l2_penalty(problem.params, problem.l2)
        problem.model.zero_grad()
        objective.backward()
        return Step(objective.data, outputs, targets)


def choose_steps(compile: bool | str | None, problem: Problem) -> Steps:
    """The strategy ``fit(compile=...)`` asks for: False (eager), True or ``"python"``
    (compiled Python programs), ``"numpy"`` (numpy programs over the batch)."""
    from .compiled import CompiledSteps, NumpySteps  # the compiler loads only when asked for

    if compile is False or compile is None:
        return EagerSteps(problem)
    if compile is True or compile == "python":
        return CompiledSteps(problem)
    if compile == "numpy":
        return NumpySteps(problem)
    raise ConfigurationError(
        f"fit: compile must be False, True, 'python' or 'numpy', got {compile!r:.40}")
