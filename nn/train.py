"""The training loop (:func:`fit`) and what you do with a trained model: :func:`predict`,
:func:`accuracy`, :func:`evaluate`.

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
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chainrule.engine import Value, no_grad

from ._checks import non_negative_float, positive_int
from .errors import ConfigurationError, DataError, ShapeError
from .losses import DECISION_THRESHOLDS, l2_penalty
from .module import Module, as_features
from .optim import Optimizer

Loss = Callable[..., Value]
Classifier = Callable[[Any], Any]


@dataclass
class History:
    """What happened during :func:`fit`, one entry per epoch.

    ``loss`` is the training objective averaged over the epoch's batches (including the L2
    penalty, if any); ``accuracy`` is measured on the same forward passes, before each update
    (``None`` when the targets are not class labels). ``val_loss`` and ``val_accuracy`` are
    filled when ``fit`` is given validation data.
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float | None] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float | None] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.loss)

    @property
    def best_accuracy(self) -> float | None:
        measured = [a for a in self.accuracy if a is not None]
        return max(measured) if measured else None

    def __repr__(self) -> str:
        if not self.loss:
            return "History(0 epochs)"
        last = f"loss {self.loss[-1]:.4g}"
        if self.accuracy[-1] is not None:
            last += f", accuracy {self.accuracy[-1]:.1%}"
        return f"History({self.epochs} epochs, last: {last})"


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
    if isinstance(X, (str, bytes)) or not isinstance(X, Sequence):
        raise DataError(f"{who}: X must be a list of samples, got {type(X).__name__}")
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
    if isinstance(y, (str, bytes)) or not isinstance(y, Sequence):
        raise DataError(f"{who}: y must be a list of targets, got {type(y).__name__}")
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


# -- training ----------------------------------------------------------------------------------


def _progress_bar(progress: bool | None, epochs: int) -> Any:
    """A tqdm bar, or None. ``progress=None`` shows one only on a terminal with tqdm installed."""
    if progress is False or (progress is None and not sys.stderr.isatty()):
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if progress:
            raise ImportError("fit(progress=True) needs tqdm: pip install 'chainrule[nn]'") from None
        return None
    return tqdm(total=epochs, desc="training", unit="epoch")


def fit(
    model: Module,
    X: Sequence[Any],
    y: Sequence[Any],
    loss: Loss,
    optimizer: Optimizer,
    epochs: int,
    batch_size: int | None = None,
    *,
    l2: float = 0.0,
    schedule: Callable[[int], float] | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    validation: tuple[Sequence[Any], Sequence[Any]] | None = None,
    progress: bool | None = None,
    callback: Callable[[int, History], bool | None] | None = None,
) -> History:
    """Train ``model`` on ``X, y`` by gradient descent and return the :class:`History`.

    Each step: forward every sample of the batch, ``loss(outputs, targets)`` (plus
    ``l2 * sum(p^2)`` over the model's parameters when ``l2`` > 0), zero the gradients,
    ``backward()``, ``optimizer.step()``.

    * ``batch_size=None`` trains on the whole data set at once (one step per epoch); otherwise
      the samples are shuffled every epoch (with ``seed``) unless ``shuffle`` is false.
    * ``schedule(epoch)`` sets ``optimizer.lr`` at the start of every epoch.
    * ``validation=(X_val, y_val)`` is evaluated after every epoch.
    * ``progress`` shows a tqdm bar with the loss and accuracy (default: only on a terminal).
    * ``callback(epoch, history)`` runs after every epoch; returning True stops training.
    """
    model = _check_model(model, "fit")
    rows, targets = _check_data(model, X, y, "fit")
    if not callable(loss):
        raise ConfigurationError(f"fit: loss must be a loss function, got {loss!r:.40}")
    if not isinstance(optimizer, Optimizer):
        raise ConfigurationError(
            f"fit: optimizer must be a chainrule.nn optimizer (SGD, Adam, AdamW), got {optimizer!r:.40}"
        )
    own = {id(p) for p in model.parameters()}
    strangers = sum(1 for p in optimizer.params if id(p) not in own)
    if strangers:
        raise ConfigurationError(
            f"fit: the optimizer holds {strangers} parameter(s) that are not this model's; "
            f"build it with optimizer(model.parameters(), ...)"
        )
    epochs = positive_int(epochs, "fit: epochs")
    n = len(rows)
    size = n if batch_size is None else min(positive_int(batch_size, "fit: batch_size"), n)
    l2 = non_negative_float(l2, "fit: l2")
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise DataError("fit: validation must be a pair (X_val, y_val)")
        val_rows, val_targets = _check_data(model, validation[0], validation[1], "fit: validation")

    params = model.parameters()
    rng = random.Random(seed)
    history = History()
    bar = _progress_bar(progress, epochs)
    order = list(range(n))
    classify: Classifier | None = None
    try:
        for epoch in range(epochs):
            if schedule is not None:
                optimizer.lr = schedule(epoch)
            if size < n and shuffle:
                rng.shuffle(order)
            total, correct = 0.0, 0
            for start in range(0, n, size):
                batch = order[start : start + size]
                outputs = [_single(model(rows[i])) for i in batch]
                batch_targets = [targets[i] for i in batch]
                objective = loss(outputs, batch_targets)
                if l2:
                    objective = objective + l2_penalty(params, l2)
                model.zero_grad()
                objective.backward()
                optimizer.step()
                total += objective.data * len(batch)
                if epoch == 0 and start == 0:
                    classify = _classifier(isinstance(outputs[0], list), targets, loss)
                if classify is not None:
                    correct += _correct(classify, outputs, batch_targets)
            history.loss.append(total / n)
            history.accuracy.append(None if classify is None else correct / n)
            history.learning_rate.append(optimizer.lr)
            if validation is not None:
                result = evaluate(model, val_rows, val_targets, loss)
                history.val_loss.append(result.loss)
                history.val_accuracy.append(result.accuracy)
            if bar is not None:
                postfix = {"loss": f"{history.loss[-1]:.4f}"}
                if history.accuracy[-1] is not None:
                    postfix["accuracy"] = f"{history.accuracy[-1]:.1%}"
                bar.set_postfix(postfix, refresh=False)
                bar.update(1)
            if callback is not None and callback(epoch, history):
                break
    finally:
        if bar is not None:
            bar.close()
    return history
