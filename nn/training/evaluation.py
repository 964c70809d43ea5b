"""What you do with a model: :func:`predict`, :func:`accuracy`, :func:`evaluate` (the data
checks and the output-to-label rules they share with :func:`~chainrule.nn.fit` are in
:mod:`chainrule.nn.data`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from chainrule.engine import no_grad

from ..data import (
    Classifier,
    Loss,
    check_data,
    check_inputs,
    check_model,
    classifier,
    count_correct,
    single,
)
from ..errors import DataError
from ..module import Module

__all__ = ["Classifier", "Evaluation", "Loss", "accuracy", "evaluate", "predict"]


@dataclass(frozen=True)
class Evaluation:
    """A model's mean loss and accuracy (``None`` for regression) on a data set."""

    loss: float
    accuracy: float | None


@contextlib.contextmanager
def evaluation_mode(model: Module) -> Iterator[None]:
    """``model.eval()`` and no graph recorded, for the block; the model's mode is restored."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            yield
    finally:
        model.train(was_training)


# -- using a model -----------------------------------------------------------------------------


def predict(model: Module, X: Sequence[Any]) -> list[Any]:
    """The model's outputs for every sample, as floats (lists of floats for several outputs).
    No graph is recorded, and the model runs in eval mode (its own mode is restored)."""
    model = check_model(model, "predict")
    rows = check_inputs(model, X, "predict")
    with evaluation_mode(model):
        outputs = [single(model(x)) for x in rows]
    return [[o.data for o in out] if isinstance(out, list) else out.data for out in outputs]


def accuracy(
    model: Module, X: Sequence[Any], y: Sequence[Any], *, loss: Loss | None = None
) -> float:
    """The fraction of samples classified correctly (see the module notes for how outputs
    become labels; pass the training ``loss`` so that its decision threshold is used)."""
    model = check_model(model, "accuracy")
    rows, targets = check_data(model, X, y, "accuracy")
    outputs = predict(model, rows)
    classify = classifier(isinstance(outputs[0], list), targets, loss)
    if classify is None:
        raise DataError("accuracy: the targets are not class labels (integers; two values for a "
                        "model with one output), so accuracy is undefined; use evaluate()")
    return count_correct(classify, outputs, targets) / len(targets)


def evaluate(model: Module, X: Sequence[Any], y: Sequence[Any], loss: Loss) -> Evaluation:
    """Mean ``loss`` and accuracy (``None`` for regression targets) on ``X, y``; records no
    graph and runs the model in eval mode (its own mode is restored)."""
    model = check_model(model, "evaluate")
    rows, targets = check_data(model, X, y, "evaluate")
    with evaluation_mode(model):
        outputs = [single(model(x)) for x in rows]
        value = loss(outputs, targets).data
    classify = classifier(isinstance(outputs[0], list), targets, loss)
    acc = None if classify is None else count_correct(classify, outputs, targets) / len(targets)
    return Evaluation(value, acc)
