"""Why a network does not learn, in plain words: :func:`diagnose`.

Each check (:mod:`.checks`) looks at the model on the data (its outputs, its units' outputs,
the gradient reaching each layer, its weights), at the data themselves, or at the training
:class:`~chainrule.nn.History`, and reports a :class:`Finding` only when the evidence is clear,
with the numbers and a fix that fits the model. The ranking (:mod:`.ranking`) then puts the
root cause first and says of every other finding what it follows from. A run no better than
chance always gets a finding; a healthy run gets none (or only a note). The thresholds are the
constants of :mod:`.checks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..data import Loss
from ..module import Module
from ..training.history import History
from .checks import (
    CHANCE_MARGIN,
    CHECKS,
    DEAD_SHARE,
    MIN_EPOCHS,
    OSCILLATION_SHARE,
    OSCILLATION_SIZE,
    RISE,
    SATURATED_SAMPLES,
    SATURATED_SLOPE,
    SATURATED_UNITS,
    STALLED_CHANGE,
    UNSCALED,
    VANISHING_RATIO,
    layer_gradient_norms,
)
from .evidence import gather
from .findings import Diagnosis, Finding, Severity
from .ranking import rank

__all__ = [
    "CHANCE_MARGIN", "DEAD_SHARE", "MIN_EPOCHS", "OSCILLATION_SHARE", "OSCILLATION_SIZE", "RISE",
    "SATURATED_SAMPLES", "SATURATED_SLOPE", "SATURATED_UNITS", "STALLED_CHANGE", "UNSCALED",
    "VANISHING_RATIO", "Diagnosis", "Finding", "Severity", "diagnose", "layer_gradient_norms",
]


def diagnose(model: Module, X: Sequence[Any], y: Sequence[Any], loss: Loss,
             history: History | None = None) -> Diagnosis:
    """Check ``model`` on the data ``X, y`` (and the run's ``history``, when given) for the
    usual reasons a network does not learn; returns the findings ranked, the root cause first,
    each with its evidence and a fix (an empty :class:`Diagnosis` when nothing is wrong).

    Checked: a result no better than chance (always reported: the majority class's accuracy,
    the loss of the best constant output), labels that do not fit the loss (0/1 with hinge),
    identical inputs with different labels, labels unrelated to the inputs, unscaled inputs, a
    single neuron on data no line separates (XOR), dead relu units, saturated sigmoid or tanh
    units, identical neurons (symmetric initialisation), vanishing or exploding gradients
    between layers, and from the history a learning rate too small (the loss barely moves) or
    too large (it rises or oscillates). A finding that follows from another says so in its
    ``cause`` and ``because``. Nothing in the model is changed; no ``.grad`` is touched.
    """
    run = gather(model, X, y, loss, history)
    return Diagnosis(rank(run, [f for check in CHECKS if (f := check(run)) is not None]))
