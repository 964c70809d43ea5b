"""What you do with a model: :func:`predict`, :func:`accuracy`, :func:`evaluate`, and the data
checks and output-to-label rules that :func:`~chainrule.nn.fit` shares with them.

Accuracy is reported whenever the targets are class labels. How an output becomes a label:

* a model with several outputs: the index of the largest (argmax), against integer targets;
* a model with one output and two labels (0/1 or -1/+1, or any two integers): the higher label
  when the output exceeds a threshold, the lower one otherwise. The threshold comes from the
  loss (0.5 for :func:`binary_cross_entropy`, 0 for :func:`bce_with_logits` and :func:`hinge`),
  or is the midpoint of the two labels (for :func:`mse` or a loss of your own).

Regression targets (not integers, or more than two values for a single output) get no accuracy.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chainrule.engine import Value, no_grad

from ..errors import ConfigurationError, DataError, ShapeError
from ..losses import DECISION_THRESHOLDS
from ..module import Module, as_features, as_plain

Loss = Callable[..., Value]
Classifier = Callable[[Any], Any]


@dataclass(frozen=True)
class Evaluation:
    """A model's mean loss and accuracy (``None`` for regression) on a data set."""

    loss: float
    accuracy: float | None


# -- data checks -------------------------------------------------------------------------------


def _check_model(model: Any, who: str) -> Module:
    if not isinstance(model, Module):
        raise ConfigurationError(
            f"{who}: model must be a chainrule.nn Module (Neuron, Layer, MLP...), "
            f"got {type(model).__name__}"
        )
    return model


def _check_inputs(model: Module, X: Any, who: str) -> list[Sequence[Any]]:
    X = as_plain(X)  # a numpy array (or anything with tolist()) as nested lists
    if isinstance(X, (str, bytes)) or not isinstance(X, Sequence):
        raise DataError(
            f"{who}: X must be a list of samples (lists of numbers, or a numpy array), "
            f"got {type(X).__name__}"
        )
    if not X:
        raise DataError(f"{who}: the data set is empty (X has no samples)")
    rows = []
    for i, x in enumerate(X):
        try:
            row = as_features(x, model.nin, f"{who}: the model ({type(model).__name__})")
        except ShapeError as error:
            raise ShapeError(f"{error} (in sample X[{i}])") from None
        for k, coordinate in enumerate(row):
            if isinstance(coordinate, Value):
                continue
            if (isinstance(coordinate, bool) or not isinstance(coordinate, numbers.Real)
                    or not math.isfinite(coordinate)):
                raise DataError(f"{who}: X[{i}][{k}] must be a finite number, got {coordinate!r:.40}")
        rows.append(row)
    return rows


def _check_data(model: Module, X: Any, y: Any, who: str) -> tuple[list[Any], list[Any]]:
    rows = _check_inputs(model, X, who)
    y = as_plain(y)
    if isinstance(y, (str, bytes)) or not isinstance(y, Sequence):
        raise DataError(
            f"{who}: y must be a list of targets (or a numpy array), got {type(y).__name__}"
        )
    if len(y) != len(rows):
        raise DataError(f"{who}: X has {len(rows)} samples but y has {len(y)} targets")
    return rows, list(y)


def _single(output: Any) -> Any:
    """A one-element output list (a Layer of one neuron) as its element."""
    return output[0] if isinstance(output, list) and len(output) == 1 else output


# -- classification ----------------------------------------------------------------------------


def _is_integral(t: Any) -> bool:
    return (isinstance(t, numbers.Real) and not isinstance(t, bool) and math.isfinite(t)
            and float(t).is_integer())


def _classifier(vector_output: bool, y: list[Any], loss: Loss | None) -> Classifier | None:
    """How to turn one output into a label, or None when the targets are not class labels."""
    if not all(_is_integral(t) for t in y):
        return None
    if vector_output:
        def argmax(output: Any) -> int:
            data = [float(o) for o in output]
            return max(range(len(data)), key=data.__getitem__)
        return argmax
    labels = {int(t) for t in y}
    if labels <= {0, 1}:
        low, high = 0, 1
    elif labels <= {-1, 1}:
        low, high = -1, 1
    elif len(labels) == 2:
        low, high = sorted(labels)
    else:
        return None
    threshold = DECISION_THRESHOLDS.get(loss, (low + high) / 2)  # type: ignore[arg-type]

    def thresholded(output: Any) -> int:
        return high if float(output) > threshold else low
    return thresholded


def _correct(classify: Classifier, outputs: list[Any], targets: list[Any]) -> int:
    return sum(1 for o, t in zip(outputs, targets, strict=True) if classify(o) == int(t))


# -- using a model -----------------------------------------------------------------------------


def predict(model: Module, X: Sequence[Any]) -> list[Any]:
    """The model's outputs for every sample, as floats (lists of floats for several outputs).
    No graph is recorded."""
    model = _check_model(model, "predict")
    rows = _check_inputs(model, X, "predict")
    with no_grad():
        outputs = [_single(model(x)) for x in rows]
    return [[o.data for o in out] if isinstance(out, list) else out.data for out in outputs]


def accuracy(
    model: Module, X: Sequence[Any], y: Sequence[Any], *, loss: Loss | None = None
) -> float:
    """The fraction of samples classified correctly (see the module notes for how outputs
    become labels; pass the training ``loss`` so that its decision threshold is used)."""
    model = _check_model(model, "accuracy")
    rows, targets = _check_data(model, X, y, "accuracy")
    outputs = predict(model, rows)
    classify = _classifier(isinstance(outputs[0], list), targets, loss)
    if classify is None:
        raise DataError("accuracy: the targets are not class labels (integers; two values for a "
                        "model with one output), so accuracy is undefined; use evaluate()")
    return _correct(classify, outputs, targets) / len(targets)


def evaluate(model: Module, X: Sequence[Any], y: Sequence[Any], loss: Loss) -> Evaluation:
    """Mean ``loss`` and accuracy (``None`` for regression targets) on ``X, y``; records no graph."""
    model = _check_model(model, "evaluate")
    rows, targets = _check_data(model, X, y, "evaluate")
    with no_grad():
        outputs = [_single(model(x)) for x in rows]
        value = loss(outputs, targets).data
    classify = _classifier(isinstance(outputs[0], list), targets, loss)
    acc = None if classify is None else _correct(classify, outputs, targets) / len(targets)
    return Evaluation(value, acc)
