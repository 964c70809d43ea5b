"""Data as the training loop, the evaluation functions, the explorer and the diagnosis read it:
checked samples and targets, one-element outputs and targets as their element, and the rule
that turns an output into a class label.

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
from typing import Any

from chainrule.engine import Value

from .errors import ConfigurationError, DataError, ShapeError
from .losses import DECISION_THRESHOLDS
from .module import Module, as_features, as_plain

Loss = Callable[..., Value]
#: Turns one model output into a class label.
Classifier = Callable[[Any], Any]


def check_model(model: Any, who: str) -> Module:
    """``model`` if it is a chainrule Module, else a :class:`ConfigurationError`."""
    if not isinstance(model, Module):
        raise ConfigurationError(
            f"{who}: model must be a chainrule.nn Module (Neuron, Layer, MLP...), "
            f"got {type(model).__name__}"
        )
    return model


def check_inputs(model: Module, X: Any, who: str) -> list[Any]:
    """The samples of ``X`` (a list, or a numpy array) as plain Python, each checked.

    A model with ``nin`` (every built-in one) gets ``nin`` finite numbers per sample; a model
    without it (a torch-style subclass that defines only ``forward``) gets each sample as it is
    given, with any numbers in it checked to be finite."""
    X = as_plain(X)  # a numpy array (or anything with tolist()) as nested lists
    if isinstance(X, (str, bytes)) or not isinstance(X, Sequence):
        raise DataError(
            f"{who}: X must be a list of samples (lists of numbers, or a numpy array), "
            f"got {type(X).__name__}"
        )
    if not X:
        raise DataError(f"{who}: the data set is empty (X has no samples)")
    nin = getattr(model, "nin", None)
    rows = []
    for i, x in enumerate(X):
        if nin is None:
            row = as_plain(x)
        else:
            try:
                row = as_features(x, nin, f"{who}: the model ({type(model).__name__})")
            except ShapeError as error:
                raise ShapeError(f"{error} (in sample X[{i}])") from None
        for k, coordinate in enumerate(row if isinstance(row, (list, tuple)) else [row]):
            if isinstance(coordinate, Value) or (nin is None and isinstance(coordinate, list)):
                continue  # nested samples: the model's forward says what it accepts
            if (isinstance(coordinate, bool) or not isinstance(coordinate, numbers.Real)
                    or not math.isfinite(coordinate)):
                raise DataError(f"{who}: X[{i}][{k}] must be a finite number, got {coordinate!r:.40}")
        rows.append(row)
    return rows


def check_data(model: Module, X: Any, y: Any, who: str) -> tuple[list[Any], list[Any]]:
    """Checked samples and targets (see :func:`check_inputs` and :func:`check_targets`)."""
    rows = check_inputs(model, X, who)
    return rows, check_targets(y, len(rows), who)


def check_targets(y: Any, count: int, who: str) -> list[Any]:
    """``y`` (a list or a numpy array) as a list of ``count`` targets.

    Targets of shape (N, 1), each a one-element row (as scikit-learn's and PyTorch's
    regression targets often are), are taken as their elements: the target of a model with one
    output is a number, as that output is (see :func:`single`)."""
    y = as_plain(y)
    if isinstance(y, (str, bytes)) or not isinstance(y, Sequence):
        raise DataError(
            f"{who}: y must be a list of targets (or a numpy array), got {type(y).__name__}"
        )
    if len(y) != count:
        raise DataError(f"{who}: X has {count} samples but y has {len(y)} targets")
    rows = [as_plain(t) for t in y]
    if rows and all(isinstance(t, (list, tuple)) and len(t) == 1 for t in rows):
        return [t[0] for t in rows]
    return rows


def single(output: Any) -> Any:
    """A one-element output list (a Layer of one neuron) as its element."""
    return output[0] if isinstance(output, list) and len(output) == 1 else output


def is_integral(t: Any) -> bool:
    """Whether ``t`` is a finite real number with an integer value (a class label)."""
    return (isinstance(t, numbers.Real) and not isinstance(t, bool) and math.isfinite(t)
            and float(t).is_integer())


def classifier(vector_output: bool, y: list[Any], loss: Loss | None) -> Classifier | None:
    """How to turn one output into a label, or None when the targets are not class labels
    (see the module notes)."""
    if not all(is_integral(t) for t in y):
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


def count_correct(classify: Classifier, outputs: list[Any], targets: list[Any]) -> int:
    """How many ``outputs`` ``classify`` labels as their target."""
    return sum(1 for o, t in zip(outputs, targets, strict=True) if classify(o) == int(t))
